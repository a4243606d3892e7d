/* test_srm_seq.c — the sequential sample-ratio check under continuous
 * monitoring, by seeded simulation:
 *  - 2,000 fair 50/50 splits of 20,000 users, looked at every 16 users (as
 *    the engine does): at every look, the share of experiments ever flagged
 *    stays within the binomial bound of alpha (0.05 and the engine's 0.001),
 *    while Pearson's chi-square read at the same looks (the old check) does
 *    not, which shows the simulation can tell the two apart;
 *  - 200 experiments split 52/48 are all flagged at 0.001 within 50,000 users;
 *  - through the engine: srm_p_value is the running minimum of the
 *    factor's p over the looks, never rises, and a flag stays once raised
 *    (no decision comes back when balanced traffic dilutes the imbalance).
 * Takes about 2 s (6 s under ASan). */
#include <stdint.h>
#include <stdio.h>
#include "../testhelp.h"
#include "../testrng.h"
#include "../../../stages/experiment-analyzer/analyze.h"
#include "../../../stages/experiment-analyzer/config.h"
#include "../../../stages/experiment-analyzer/stats.h"

static uint64_t rng_state;

#define LOOK_EVERY 16
#define FAIR_EXPERIMENTS 2000
#define FAIR_USERS 20000
#define FAIR_LOOKS (FAIR_USERS / LOOK_EVERY)

/* largest count of flags among n experiments still consistent with a rate
 * of at most alpha: mean + 3.1 sd (one-sided, about 1 in 1,000 by chance) */
static double flag_bound(double alpha, int n)
{
    return alpha * n + 3.1 * sqrt(alpha * (1 - alpha) * n) + 1;
}

static void test_fair_splits(void)
{
    static int seq05[FAIR_LOOKS], seq001[FAIR_LOOKS], chi05[FAIR_LOOKS];
    const double half[2] = { 0.5, 0.5 };
    rng_state = 18;
    for (int x = 0; x < FAIR_EXPERIMENTS; x++) {
        uint64_t n[2] = { 0, 0 }, bits = 0;
        int f05 = 0, f001 = 0, fchi = 0;
        for (int l = 0; l < FAIR_LOOKS; l++) {
            /* 16 users, each arm with probability 1/2: 16 random bits */
            if (l % 4 == 0) bits = trng_next(&rng_state);
            uint64_t a = (uint64_t)__builtin_popcountll(bits & 0xffff);
            bits >>= 16;
            n[0] += a; n[1] += LOOK_EVERY - a;
            double p = st_srm_seq_p(n, half, 2, ST_SRM_CONCENTRATION);
            if (p < 0.05) f05 = 1;
            if (p < 0.001) f001 = 1;
            if (!fchi && st_srm_p_value(n, half, 2) < 0.05) fchi = 1;
            seq05[l] += f05; seq001[l] += f001; chi05[l] += fchi;
        }
    }
    double b05 = flag_bound(0.05, FAIR_EXPERIMENTS), b001 = flag_bound(0.001, FAIR_EXPERIMENTS);
    int bad05 = 0, bad001 = 0;
    for (int l = 0; l < FAIR_LOOKS; l++) {
        bad05 += seq05[l] > b05;
        bad001 += seq001[l] > b001;
    }
    CHECK_MSG(bad05 == 0, "alpha 0.05: %d looks over the bound %.0f (flagged by the end: %d of %d)",
              bad05, b05, seq05[FAIR_LOOKS - 1], FAIR_EXPERIMENTS);
    CHECK_MSG(bad001 == 0, "alpha 0.001: %d looks over the bound %.0f (flagged by the end: %d of %d)",
              bad001, b001, seq001[FAIR_LOOKS - 1], FAIR_EXPERIMENTS);
    /* the fixed-horizon check read at every look is flagged far more often */
    CHECK_MSG(chi05[FAIR_LOOKS - 1] > 3 * b05, "chi-square at every look: %d flagged",
              chi05[FAIR_LOOKS - 1]);
    fprintf(stderr, "fair splits, %d experiments of %d users, a look every %d: ever flagged at "
            "0.05: %d (bound %.0f), at 0.001: %d (bound %.0f); chi-square at 0.05: %d\n",
            FAIR_EXPERIMENTS, FAIR_USERS, LOOK_EVERY, seq05[FAIR_LOOKS - 1], b05,
            seq001[FAIR_LOOKS - 1], b001, chi05[FAIR_LOOKS - 1]);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void test_imbalance_found(void)
{
    enum { EXPERIMENTS = 200, MAX_USERS = 50000 };
    static uint64_t when[EXPERIMENTS];
    const double half[2] = { 0.5, 0.5 };
    rng_state = 52;
    int found = 0;
    for (int x = 0; x < EXPERIMENTS; x++) {
        uint64_t n[2] = { 0, 0 };
        when[x] = UINT64_MAX;
        for (int u = 1; u <= MAX_USERS; u++) {
            n[trng_unif(&rng_state) < 0.52 ? 0 : 1]++;
            if (u % LOOK_EVERY) continue;
            if (st_srm_seq_p(n, half, 2, ST_SRM_CONCENTRATION) < EA_SRM_ALPHA) {
                when[x] = (uint64_t)u; found++;
                break;
            }
        }
    }
    CHECK_MSG(found == EXPERIMENTS, "52/48: %d of %d flagged within %d users", found, EXPERIMENTS, MAX_USERS);
    qsort(when, EXPERIMENTS, sizeof when[0], cmp_u64);
    fprintf(stderr, "52/48 splits: %d of %d flagged at %g within %d users; median %llu users, "
            "90th percentile %llu\n", found, EXPERIMENTS, EA_SRM_ALPHA, MAX_USERS,
            (unsigned long long)when[EXPERIMENTS / 2], (unsigned long long)when[EXPERIMENTS * 9 / 10]);
}

/* ---- through the engine ---- */
static ea_config cfg;
static const char yaml[] =
    "experiments:\n  - name: e\n    control: a\n    min_sample_size: 10\n"
    "    variants: [{name: a, allocation: 0.5}, {name: b, allocation: 0.5}]\n"
    "    metrics: [{name: m, type: conversion, event: purchase, tau: 0.05}]\n";

static void expose(ea_engine *ea, uint64_t i, int variant)
{
    char id[32];
    snprintf(id, sizeof id, "u%llu", (unsigned long long)i);
    Event e;
    Event_init(&e);
    e.ts = (int64_t)(1000 + i) * 1000000;
    e.user_id = FB_STR(id);
    e.type = EventType_exposure;
    e.experiment = FB_STR("e");
    e.variant = FB_STR(variant ? "b" : "a");
    CHECK_EQ_INT(ea_event(ea, &e), EA_OK);
}

static const ea_row *treatment_row(ea_engine *ea)
{
    const ea_row *rows;
    int n = ea_results(ea, &rows);
    for (int i = 0; i < n; i++)
        if (rows[i].variant == 1) return &rows[i];
    CHECK(0);
    static ea_row none;
    return &none;
}

static void test_engine(void)
{
    char err[512];
    int rc = ea_config_load_string("srm.yaml", yaml, &cfg, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc) return;
    ea_engine *ea = ea_new(&cfg, 0);
    const double half[2] = { 0.5, 0.5 };
    uint64_t n[2] = { 0, 0 }, i = 0;
    double want = 1, last = 1;
    int mismatches = 0, rises = 0, flag_lost = 0, flagged_at = 0;
    rng_state = 7;
    /* 30,000 users at 52/48, then 200,000 alternating: the imbalance is
     * found, and the balanced tail dilutes it until a fixed-horizon check
     * would call the split healthy again (the flag must stay) */
    for (; i < 230000; i++) {
        int v = i < 30000 ? !(trng_unif(&rng_state) < 0.52) : (int)(i & 1);
        expose(ea, i, v);
        n[v]++;
        if ((i + 1) % LOOK_EVERY == 0) {   /* exposures only: a look every 16 */
            double p = st_srm_seq_p(n, half, 2, ST_SRM_CONCENTRATION);
            if (p < want) want = p;
        }
        if ((i + 1) % 1000 == 0) {
            const ea_row *r = treatment_row(ea);
            mismatches += r->srm_p != want;
            rises += r->srm_p > last;
            last = r->srm_p;
            if (r->srm_flag && !flagged_at) flagged_at = (int)i + 1;
            if (flagged_at && (!r->srm_flag || r->decision != Decision_keep_running)) flag_lost++;
        }
    }
    CHECK_MSG(mismatches == 0, "srm_p differs from the running minimum at %d reports", mismatches);
    CHECK_EQ_INT(rises, 0);
    CHECK_MSG(flagged_at > 0 && flagged_at <= 30000, "52/48 flagged at %d users", flagged_at);
    CHECK_EQ_INT(flag_lost, 0);
    CHECK(st_srm_p_value(n, half, 2) > EA_SRM_ALPHA);   /* the old check would have withdrawn the flag */
    CHECK(strstr(treatment_row(ea)->reason, "sample ratio mismatch") != NULL);
    ea_free(ea);
    ea_config_free(&cfg);
}

TEST_MAIN(test_fair_splits, test_imbalance_found, test_engine)
