/* test_rules.c — the engine's rules end to end on hand-built events:
 * `exposure: exposure`, start/end, the sample-ratio flag in every row,
 * decisions (control wins under goal minimize, no difference within
 * min_effect, waiting for min_sample_size), sequential: off, and the
 * Holm / Bonferroni / no correction across three arms. */
#include <stdio.h>
#include "../testhelp.h"
#include "../../../stages/experiment-analyzer/analyze.h"
#include "../../../stages/experiment-analyzer/config.h"
#include "../../../stages/experiment-analyzer/stats.h"

static ea_config cfg;

static ea_engine *load(const char *yaml)
{
    char err[512];
    int rc = ea_config_load_string("rules.yaml", yaml, &cfg, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    return rc == 0 ? ea_new(&cfg, 0) : NULL;
}

static void done(ea_engine *ea) { ea_free(ea); ea_config_free(&cfg); }

static void ev(ea_engine *ea, int64_t ts_s, const char *user, int type, const char *exp, const char *variant)
{
    Event e;
    Event_init(&e);
    e.ts = ts_s * 1000000;
    e.user_id = FB_STR(user);
    e.type = (EventType)type;
    e.value = 1;
    if (exp) e.experiment = FB_STR(exp);
    if (variant) e.variant = FB_STR(variant);
    CHECK_EQ_INT(ea_event(ea, &e), EA_OK);
}

/* k arms of one experiment, their users interleaved (user i of every arm
 * in turn, 1 s apart from t0), the first conv[j] of arm j purchasing 10 s
 * after exposure: a split as an assignment makes it, so that the sequential
 * sample-ratio check, which sees the order, stays quiet unless the counts
 * say otherwise. Ids: EXP-VARIANT-i. */
static void arms(ea_engine *ea, const char *exp, int k, const char *const *v, const int *n,
                 const int *conv, int64_t t0)
{
    char id[64];
    int most = 0;
    for (int j = 0; j < k; j++) if (n[j] > most) most = n[j];
    for (int i = 0; i < most; i++)
        for (int j = 0; j < k; j++) {
            if (i >= n[j]) continue;
            snprintf(id, sizeof id, "%s-%s-%d", exp, v[j], i);
            ev(ea, t0, id, EventType_exposure, exp, v[j]);
            if (i < conv[j]) ev(ea, t0 + 10, id, EventType_purchase, NULL, NULL);
            t0++;
        }
}
#define ARMS2(ea, exp, na, ca, nb, cb, t0) \
    arms(ea, exp, 2, (const char *const[]){ "a", "b" }, (const int[]){ na, nb }, (const int[]){ ca, cb }, t0)

static const ea_row *row(ea_engine *ea, int exp, int metric, int variant)
{
    const ea_row *rows;
    int n = ea_results(ea, &rows);
    for (int i = 0; i < n; i++)
        if (rows[i].exp == exp && rows[i].metric == metric && rows[i].variant == variant) return &rows[i];
    CHECK_MSG(0, "no row %d/%d/%d", exp, metric, variant);
    static ea_row none;
    return &none;
}

static void test_exposure_only(void)
{
    ea_engine *ea = load("experiments:\n  - name: e\n    control: a\n    exposure: exposure\n"
        "    variants: [{name: a, allocation: 0.5}, {name: b, allocation: 0.5}]\n"
        "    metrics: [{name: m, type: conversion, event: purchase}]\n");
    if (!ea) return;
    ev(ea, 1, "u1", EventType_view, "e", "a");        /* carries it, does not expose */
    ev(ea, 2, "u1", EventType_purchase, NULL, NULL);
    ev(ea, 3, "u2", EventType_exposure, "e", "b");
    ev(ea, 4, "u2", EventType_purchase, NULL, NULL);
    CHECK_EQ_INT(ea_stats(ea, 0)->users[0], 0);
    CHECK_EQ_INT(ea_stats(ea, 0)->users[1], 1);
    CHECK_EQ_INT(ea_stats(ea, 0)->arm[1][0].conversions, 1);
    CHECK_EQ_INT(ea_users(ea), 1);
    done(ea);
}

static void test_start_end(void)
{
    /* 2026-11-23T00:00:00Z = 1795392000 */
    ea_engine *ea = load("experiments:\n  - name: e\n    control: a\n"
        "    start: 2026-11-23T00:00:00Z\n    end: 2026-11-24T00:00:00Z\n"
        "    variants: [{name: a, allocation: 0.5}, {name: b, allocation: 0.5}]\n"
        "    metrics:\n      - {name: m, type: conversion, event: purchase}\n"
        "      - {name: w, type: conversion, event: purchase, window: 2d}\n");
    if (!ea) return;
    const int64_t S = 1795392000, E = S + 86400;
    ev(ea, S - 1, "early", EventType_exposure, "e", "a");   /* before start: ignored */
    ev(ea, S, "u1", EventType_exposure, "e", "a");
    ev(ea, E, "late", EventType_exposure, "e", "a");        /* at end: ignored */
    ev(ea, E + 10, "u1", EventType_purchase, NULL, NULL);   /* after end: only the windowed metric */
    ev(ea, S + 5, "early", EventType_purchase, NULL, NULL);
    const ea_exp_stats *st = ea_stats(ea, 0);
    CHECK_EQ_INT(st->users[0], 1);
    CHECK_EQ_INT(st->arm[0][0].conversions, 0);
    CHECK_EQ_INT(st->arm[0][1].conversions, 1);
    done(ea);
}

static void test_srm_everywhere(void)
{
    ea_engine *ea = load("experiments:\n  - name: e\n    control: a\n    min_sample_size: 10\n"
        "    variants: [{name: a, allocation: 0.5}, {name: b, allocation: 0.5}]\n"
        "    metrics:\n      - {name: m, type: conversion, event: purchase}\n"
        "      - {name: r, type: numeric, event: purchase, tau: 1}\n");
    if (!ea) return;
    ARMS2(ea, "e", 300, 30, 150, 150, 1000);     /* a huge lift, but a broken split */
    uint64_t obs[2] = { 300, 150 };
    double al[2] = { 0.5, 0.5 };
    /* the always-valid p is the running minimum over looks: after a look
     * at the last counts, at most their p */
    ea_look_all(ea);
    double p = st_srm_seq_p(obs, al, 2, ST_SRM_CONCENTRATION);
    CHECK(p < EA_SRM_ALPHA);
    for (int m = 0; m < 2; m++)
        for (int v = 0; v < 2; v++) {
            const ea_row *r = row(ea, 0, m, v);
            CHECK(r->srm_flag);
            CHECK_MSG(r->srm_p <= p, "%g > %g", r->srm_p, p);
            CHECK_EQ_INT(r->decision, 0);
            CHECK_MSG(strstr(r->reason, "sample ratio mismatch"), "row %d/%d reason: %s", m, v, r->reason);
        }
    CHECK(row(ea, 0, 0, 1)->p_value < 1e-10);      /* the test itself still says so */
    done(ea);
}

static void test_decisions_fixed_horizon(void)
{
    ea_engine *ea = load("experiments:\n"
        "  - name: lower\n    control: a\n    sequential: off\n    min_sample_size: 50\n"
        "    variants: [{name: a, allocation: 0.5}, {name: b, allocation: 0.5}]\n"
        "    metrics: [{name: errors, type: conversion, event: purchase, goal: minimize}]\n"
        "  - name: same\n    control: a\n    sequential: off\n    min_sample_size: 50\n"
        "    variants: [{name: a, allocation: 0.5}, {name: b, allocation: 0.5}]\n"
        "    metrics: [{name: m, type: conversion, event: purchase, min_effect: 0.05}]\n"
        "  - name: small\n    control: a\n    sequential: off\n    min_sample_size: 1000\n"
        "    variants: [{name: a, allocation: 0.5}, {name: b, allocation: 0.5}]\n"
        "    metrics: [{name: m, type: conversion, event: purchase}]\n");
    if (!ea) return;
    ARMS2(ea, "lower", 400, 20, 400, 60, 1000);     /* 5%, 15%: worse, the goal is to minimize */
    ARMS2(ea, "same", 2000, 200, 2000, 204, 3000);  /* 10%, 10.2% */
    ARMS2(ea, "small", 400, 20, 400, 60, 20000);
    const ea_row *r = row(ea, 0, 0, 1);
    CHECK(r->p_value < 1e-5 && r->lift > 0);
    CHECK_EQ_INT(r->decision, 2);                                    /* control wins */
    CHECK_MSG(strstr(r->reason, "fixed-horizon") && strstr(r->reason, "control"), "%s", r->reason);
    r = row(ea, 1, 0, 1);
    CHECK(r->lift_ci_low > -0.05 && r->lift_ci_high < 0.05 && r->p_value > 0.05);
    CHECK_EQ_INT(r->decision, 3);                                    /* no difference */
    CHECK_MSG(strstr(r->reason, "minimum effect"), "%s", r->reason);
    r = row(ea, 2, 0, 1);
    CHECK(r->p_value < 1e-5);
    CHECK_EQ_INT(r->decision, 0);                                    /* too few users yet */
    CHECK_MSG(strstr(r->reason, "min_sample_size"), "%s", r->reason);
    CHECK(r->significant);
    done(ea);
}

static void test_corrections(void)
{
    static const char *const corr[] = { "holm", "bonferroni", "none" };
    for (int k = 0; k < 3; k++) {
        char yaml[1024];
        snprintf(yaml, sizeof yaml, "experiments:\n  - name: e\n    control: a\n    correction: %s\n"
            "    sequential: off\n    min_sample_size: 10\n"
            "    variants: [{name: a, allocation: 0.34}, {name: b, allocation: 0.33}, {name: c, allocation: 0.33}]\n"
            "    metrics: [{name: m, type: conversion, event: purchase}]\n", corr[k]);
        ea_engine *ea = load(yaml);
        if (!ea) return;
        arms(ea, "e", 3, (const char *const[]){ "a", "b", "c" }, (const int[]){ 500, 500, 500 },
             (const int[]){ 50, 70, 75 }, 1000);
        double p[2] = { row(ea, 0, 0, 1)->p_value, row(ea, 0, 0, 2)->p_value }, want[2];
        if (k == 0) st_holm(p, want, 2);
        else if (k == 1) { want[0] = p[0] * 2 > 1 ? 1 : p[0] * 2; want[1] = p[1] * 2 > 1 ? 1 : p[1] * 2; }
        else { want[0] = p[0]; want[1] = p[1]; }
        for (int t = 0; t < 2; t++) {
            const ea_row *r = row(ea, 0, 0, t + 1);
            CHECK_MSG(fabs(r->p_adj - want[t]) <= 1e-15, "%s arm %d: %g want %g", corr[k], t, r->p_adj, want[t]);
            CHECK_EQ_INT(r->significant, want[t] < 0.05);
        }
        int lo = p[1] < p[0];                                   /* the arm with the smaller p */
        if (k < 2) CHECK(row(ea, 0, 0, 1 + lo)->p_adj > p[lo]); /* it does adjust */
        /* Holm: the smaller p times 2, the larger kept if bigger */
        if (k == 0) CHECK_NEAR(row(ea, 0, 0, 2)->p_adj, (p[1] < p[0] ? 2 * p[1] : (p[1] > 2 * p[0] ? p[1] : 2 * p[0])), 1e-15);
        done(ea);
    }
}

TEST_MAIN(test_exposure_only, test_start_end, test_srm_everywhere, test_decisions_fixed_horizon, test_corrections)
