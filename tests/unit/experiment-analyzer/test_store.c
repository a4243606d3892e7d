/* test_store.c — the engine's user store under load: users exposed to many
 * experiments (their blocks grow and move), incremental state saves between
 * the moves, restarts from the state in the middle of the stream. A run
 * with saves and restarts must end with the same statistics and the same
 * per-user rows in the state database as one run saved once at the end;
 * and the memory held per user must stay within ea_bytes_per_user. */
#include <stdio.h>
#include <unistd.h>
#include "../testhelp.h"
#include "../../../stages/experiment-analyzer/analyze.h"
#include "../../../stages/experiment-analyzer/config.h"
#include "state.h"

#define NEXP 8
#define NUSERS 700
#define NEVENTS 30000

static char cfg_text[8192];

static void make_cfg(void)
{
    size_t n = (size_t)snprintf(cfg_text, sizeof cfg_text, "experiments:\n");
    for (int x = 0; x < NEXP; x++)
        n += (size_t)snprintf(cfg_text + n, sizeof cfg_text - n,
            "  - name: e%d\n    control: c\n    min_sample_size: 5\n"
            "    variants: [{name: c, allocation: 0.5}, {name: t, allocation: 0.3}, {name: u, allocation: 0.2}]\n"
            "    metrics:\n"
            "      - {name: buy, type: conversion, event: purchase}\n"
            "      - {name: rev, type: numeric, event: purchase, aggregate: sum, tau: 2}\n"
            "%s",
            x, x % 2 ? "      - {name: rating, type: numeric, event: rating, aggregate: mean, tau: 1}\n"
                       "      - {name: ttc, type: duration, event: click, tau: 5}\n" : "");
}

/* A deterministic event stream: exposures to random experiments (a few
 * with a variant different from the first one: mixed users; some without
 * a variant: hashed), purchases, ratings, clicks, views. */
typedef struct { uint64_t s; } rng;
static uint32_t rnd(rng *r, uint32_t n)
{
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((r->s >> 33) % n);
}

static char users[NUSERS][40];
static const char *exps[NEXP] = { "e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7" };
static const char *vars[3] = { "c", "t", "u" };

static Event event_at(rng *r, int i)
{
    Event e;
    Event_init(&e);
    e.ts = 1795000000000000LL + (int64_t)i * 1000000;
    const char *user = users[rnd(r, NUSERS)];   /* FB_STR evaluates its argument twice */
    e.user_id = FB_STR(user);
    uint32_t k = rnd(r, 100);
    if (k < 30) {
        e.type = EventType_exposure;
        const char *x = exps[rnd(r, NEXP)], *v = vars[rnd(r, 3)];
        e.experiment = FB_STR(x);
        if (rnd(r, 10)) e.variant = FB_STR(v);
    } else if (k < 45) {
        e.type = EventType_purchase;
        e.value = rnd(r, 10000) / 100.0;
    } else if (k < 55) {
        e.type = EventType_rating;
        e.value = 1 + rnd(r, 5);
    } else if (k < 70) {
        e.type = EventType_click;
    } else {
        e.type = EventType_view;
    }
    return e;
}

static void rm_db(const char *path)
{
    char side[300];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path); unlink(side);
    snprintf(side, sizeof side, "%s-shm", path); unlink(side);
}

static void save(ea_engine *ea, state *s)
{
    CHECK(state_begin(s) == 0 && ea_state_save(ea, s) == 0 && state_commit(s) == 0);
}

static void test_restarts(void)
{
    make_cfg();
    for (int i = 0; i < NUSERS; i++)
        snprintf(users[i], sizeof users[i], i % 7 ? "user-%d" : "a-much-longer-user-identifier-%d", i);
    ea_config cfg;
    char err[256];
    CHECK_MSG(ea_config_load_string("store.yaml", cfg_text, &cfg, err, sizeof err) == 0, "%s", err);
    const char *pa = "/tmp/ea_store_a.db", *pb = "/tmp/ea_store_b.db";
    rm_db(pa); rm_db(pb);

    /* A: one run, one save at the end */
    state *sa = state_open(pa, "experiment-analyzer", 1, ea_state_schema);
    CHECK(sa != NULL);
    ea_engine *a = ea_new(&cfg, 0);
    CHECK(ea_state_load(a, sa) == 0);
    rng r = { 42 };
    for (int i = 0; i < NEVENTS; i++) { Event e = event_at(&r, i); CHECK(ea_event(a, &e) == EA_OK); }
    save(a, sa);

    /* B: saves every 517 events, a restart every 4,000 */
    state *sb = state_open(pb, "experiment-analyzer", 1, ea_state_schema);
    ea_engine *b = ea_new(&cfg, 0);
    CHECK(ea_state_load(b, sb) == 0);
    r.s = 42;
    int restarts = 0;
    for (int i = 0; i < NEVENTS; i++) {
        Event e = event_at(&r, i);
        CHECK(ea_event(b, &e) == EA_OK);
        if (i % 517 == 516) save(b, sb);
        if (i % 4000 == 3999) {
            save(b, sb);
            ea_free(b);
            state_close(sb);
            sb = state_open(pb, "experiment-analyzer", 1, ea_state_schema);
            b = ea_new(&cfg, 0);
            CHECK(ea_state_load(b, sb) == 0);
            restarts++;
        }
    }
    save(b, sb);
    CHECK_EQ_INT(restarts, NEVENTS / 4000);
    CHECK_EQ_INT(ea_users(a), ea_users(b));
    CHECK(ea_users(a) <= NUSERS);
    uint64_t mixed = 0, exposed = 0;
    for (int x = 0; x < NEXP; x++) {
        CHECK_MSG(memcmp(ea_stats(a, x), ea_stats(b, x), sizeof(ea_exp_stats)) == 0,
                  "experiment e%d: statistics differ after restarts", x);
        mixed += ea_stats(a, x)->mixed;
        for (int v = 0; v < 3; v++) exposed += ea_stats(a, x)->users[v];
    }
    CHECK(mixed > 100);                        /* the stream does exercise mixed users */
    CHECK(exposed > NUSERS * NEXP / 2);        /* and users in many experiments */

    /* per-user rows: identical in both databases */
    sqlite3 *db = state_db(sb);
    char sql[512];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS a", pa);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_stmt *q;
    CHECK(sqlite3_prepare_v2(db,
        "SELECT (SELECT count(*) FROM main.ea_user), (SELECT count(*) FROM a.ea_user),"
        " (SELECT count(*) FROM (SELECT * FROM main.ea_user EXCEPT SELECT * FROM a.ea_user)),"
        " (SELECT count(*) FROM (SELECT * FROM a.ea_user EXCEPT SELECT * FROM main.ea_user))",
        -1, &q, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(q) == SQLITE_ROW);
    CHECK_EQ_INT(sqlite3_column_int64(q, 0), (long long)exposed);
    CHECK_EQ_INT(sqlite3_column_int64(q, 1), (long long)exposed);
    CHECK_EQ_INT(sqlite3_column_int64(q, 2), 0);
    CHECK_EQ_INT(sqlite3_column_int64(q, 3), 0);
    sqlite3_finalize(q);

    ea_free(a); ea_free(b);
    state_close(sa); state_close(sb);
    rm_db(pa); rm_db(pb);
    ea_config_free(&cfg);
}

/* Memory: 100,000 users, each exposed to all 8 experiments one after the
 * other (every block grows through several classes), within the bound. */
static void test_memory_bound(void)
{
    make_cfg();
    ea_config cfg;
    char err[256];
    CHECK(ea_config_load_string("store.yaml", cfg_text, &cfg, err, sizeof err) == 0);
    ea_engine *ea = ea_new(&cfg, 0);
    const int N = 100000;
    char id[32];
    for (int x = 0; x < NEXP; x++)
        for (int i = 0; i < N; i++) {
            Event e;
            Event_init(&e);
            e.ts = 1795000000000000LL + i;
            snprintf(id, sizeof id, "user%07d", i);   /* 11 bytes */
            e.user_id = FB_STR(id);
            e.type = EventType_exposure;
            e.experiment = FB_STR(exps[x]);
            CHECK(ea_event(ea, &e) == EA_OK);
        }
    CHECK_EQ_INT(ea_users(ea), N);
    size_t slots = 0;
    for (int x = 0; x < NEXP; x++) slots += 16 + 16 * (size_t)cfg.experiments[x].nmetrics;
    size_t bound = ea_bytes_per_user(11, slots);
    double per_user = (double)ea_memory(ea) / N;
    printf("memory: %.0f bytes per user (bound %zu, need %zu)\n", per_user, bound, 16 + 16 + slots);
    CHECK_MSG(per_user <= (double)bound, "%.0f bytes per user > bound %zu", per_user, bound);
    CHECK(per_user >= (double)(16 + 16 + slots));
    /* a bounded store: at max_users, new users are counted and ignored */
    ea_engine *small = ea_new(&cfg, 10);
    for (int i = 0; i < 20; i++) {
        Event e;
        Event_init(&e);
        snprintf(id, sizeof id, "u%d", i);
        e.user_id = FB_STR(id);
        e.type = EventType_exposure;
        e.experiment = FB_STR("e0");
        CHECK(ea_event(small, &e) == EA_OK);
    }
    CHECK_EQ_INT(ea_users(small), 10);
    CHECK_EQ_INT(ea_stats(small, 0)->dropped, 10);
    ea_free(small);
    ea_free(ea);
    ea_config_free(&cfg);
}

TEST_MAIN(test_restarts, test_memory_bound)
