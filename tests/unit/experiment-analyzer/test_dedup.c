/* test_dedup.c — copies of counted events die in the analyzer: a stream
 * with blocks of events sent again (an upstream replay after a crash) ends
 * with statistics identical to the stream without them, also with state
 * saves and restarts between an event and its copy, and with a smaller
 * window after a restart; the window is the last N events (a copy older
 * than that counts again: the documented bound); without dedup the same
 * copies change the statistics (so the comparison can fail). */
#include <stdio.h>
#include <unistd.h>
#include "../testhelp.h"
#include "../../../stages/experiment-analyzer/analyze.h"
#include "../../../stages/experiment-analyzer/config.h"
#include "state.h"

#define NEXP 3
#define NUSERS 500
#define NEVENTS 20000
#define WINDOW 5000

static const char cfg_text[] =
    "experiments:\n"
    "  - name: e0\n    control: c\n    min_sample_size: 5\n"
    "    variants: [{name: c, allocation: 0.5}, {name: t, allocation: 0.5}]\n"
    "    metrics:\n"
    "      - {name: buy, type: conversion, event: purchase}\n"
    "      - {name: rev, type: numeric, event: purchase, aggregate: sum, tau: 2}\n"
    "      - {name: rating, type: numeric, event: rating, aggregate: mean, tau: 1}\n"
    "      - {name: ttc, type: duration, event: click, tau: 5}\n"
    "  - name: e1\n    control: c\n    min_sample_size: 5\n"
    "    variants: [{name: c, allocation: 0.6}, {name: t, allocation: 0.4}]\n"
    "    metrics:\n"
    "      - {name: rev, type: numeric, event: purchase, aggregate: sum, tau: 2}\n"
    "  - name: e2\n    control: c\n    min_sample_size: 5\n"
    "    variants: [{name: c, allocation: 0.5}, {name: t, allocation: 0.5}]\n"
    "    metrics:\n"
    "      - {name: rating, type: numeric, event: rating, aggregate: mean, tau: 1}\n";

static char users[NUSERS][16], ids[NEVENTS][16];
static Event evs[NEVENTS];
static const char *exps[NEXP] = { "e0", "e1", "e2" };

static uint64_t rs = 77;
static uint32_t rnd(uint32_t n)
{
    rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((rs >> 33) % n);
}

static void make_events(void)
{
    for (int i = 0; i < NUSERS; i++) snprintf(users[i], sizeof users[i], "user-%d", i);
    for (int i = 0; i < NEVENTS; i++) {
        Event *e = &evs[i];
        Event_init(e);
        snprintf(ids[i], sizeof ids[i], "ev%d", i);
        e->event_id = FB_STR(ids[i]);
        e->ts = 1795000000000000LL + (int64_t)i * 1000000;
        const char *user = users[rnd(NUSERS)];
        e->user_id = FB_STR(user);
        uint32_t k = rnd(100);
        if (k < 20) {
            e->type = EventType_exposure;
            const char *x = exps[rnd(NEXP)];
            e->experiment = FB_STR(x);
        } else if (k < 40) {
            e->type = EventType_purchase;
            e->value = rnd(10000) / 100.0;
        } else if (k < 55) {
            e->type = EventType_rating;
            e->value = 1 + rnd(5);
        } else if (k < 70) {
            e->type = EventType_click;
        } else {
            e->type = EventType_view;       /* no metric: never remembered */
        }
    }
}

/* after event `at`, the `len` before it again */
static const struct { int at, len; } replays[] = { { 3000, 300 }, { 9000, 2000 }, { 15000, 4000 }, { NEVENTS, 100 } };

static int relevant(const Event *e) { return e->type != EventType_view; }

static uint64_t feed_with_replays(ea_engine *ea, int with_replays)
{
    uint64_t dups = 0;
    size_t k = 0;
    for (int i = 0; i <= NEVENTS; i++) {
        while (with_replays && k < sizeof replays / sizeof replays[0] && replays[k].at == i) {
            for (int j = i - replays[k].len; j < i; j++) {
                int rc = ea_event(ea, &evs[j]);
                CHECK(rc == (relevant(&evs[j]) ? EA_DUPLICATE : EA_OK));
                dups += rc == EA_DUPLICATE;
            }
            k++;
        }
        if (i < NEVENTS) CHECK(ea_event(ea, &evs[i]) == EA_OK);
    }
    return dups;
}

static int same_stats(const ea_engine *a, const ea_engine *b)
{
    for (int x = 0; x < NEXP; x++)
        if (memcmp(ea_stats(a, x), ea_stats(b, x), sizeof(ea_exp_stats))) return 0;
    return 1;
}

static void test_replays(void)
{
    make_events();
    ea_config cfg;
    char err[256];
    CHECK_MSG(ea_config_load_string("dedup.yaml", cfg_text, &cfg, err, sizeof err) == 0, "%s", err);
    uint64_t copies = 0;
    for (size_t k = 0; k < sizeof replays / sizeof replays[0]; k++)
        for (int j = replays[k].at - replays[k].len; j < replays[k].at; j++) copies += relevant(&evs[j]);

    ea_engine *a = ea_new(&cfg, 0), *b = ea_new(&cfg, 0), *off = ea_new(&cfg, 0);
    CHECK(ea_set_dedup(a, WINDOW, 0) == 0 && ea_set_dedup(b, WINDOW, 0) == 0);
    CHECK_EQ_INT(feed_with_replays(a, 0), 0);
    CHECK_EQ_INT(feed_with_replays(b, 1), copies);
    CHECK_EQ_INT(ea_duplicates(b), copies);
    CHECK(same_stats(a, b));
    CHECK(ea_stats(a, 1)->arm[0][0].n > 50);   /* revenue per user was computed */
    /* ea_is_duplicate: the same answer, without feeding */
    CHECK(ea_is_duplicate(b, &evs[NEVENTS - 1]));
    CHECK(!ea_is_duplicate(b, &evs[0]));       /* out of the window by now */
    /* without dedup the copies add revenue and ratings again */
    size_t k = 0;
    for (int i = 0; i <= NEVENTS; i++) {
        while (k < sizeof replays / sizeof replays[0] && replays[k].at == i) {
            for (int j = i - replays[k].len; j < i; j++) CHECK(ea_event(off, &evs[j]) == EA_OK);
            k++;
        }
        if (i < NEVENTS) ea_event(off, &evs[i]);
    }
    CHECK(!same_stats(a, off));
    ea_free(a); ea_free(b); ea_free(off);

    /* the bound: a copy of an event WINDOW relevant events old counts again */
    ea_engine *w = ea_new(&cfg, 0);
    CHECK(ea_set_dedup(w, 100, 0) == 0);
    int n = 0, i = 0;
    while (n < 101) n += relevant(&evs[i]) && ea_event(w, &evs[i]) == EA_OK, i++;
    int first = 0;
    while (!relevant(&evs[first])) first++;
    CHECK(ea_event(w, &evs[first]) == EA_OK);          /* forgotten: counted again */
    CHECK(ea_event(w, &evs[i - 1]) == EA_DUPLICATE);   /* the newest is held */
    ea_free(w);
    ea_config_free(&cfg);
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

/* Restarts between events and their copies: the window comes back from the state. */
static void test_restarts(void)
{
    ea_config cfg;
    char err[256];
    CHECK(ea_config_load_string("dedup.yaml", cfg_text, &cfg, err, sizeof err) == 0);
    ea_engine *a = ea_new(&cfg, 0);
    CHECK(ea_set_dedup(a, WINDOW, 0) == 0);
    feed_with_replays(a, 0);

    const char *path = "/tmp/ea_dedup_test.db";
    rm_db(path);
    state *st = state_open(path, "experiment-analyzer", 1, ea_state_schema);
    CHECK(st != NULL);
    if (!st) return;
    ea_engine *b = ea_new(&cfg, 0);
    CHECK(ea_set_dedup(b, WINDOW, 0) == 0);
    CHECK(ea_state_load(b, st) == 0);
    uint64_t dups = 0, copies = 0;
    int restarts = 0;
    for (int i = 0; i < NEVENTS; i++) {
        CHECK(ea_event(b, &evs[i]) == EA_OK);
        if (i % 611 == 610) save(b, st);
        if (i % 3000 == 2999) {
            /* crash after a save, restart (every other time with a smaller window),
             * then the 700 events before the crash come again */
            save(b, st);
            ea_free(b);
            state_close(st);
            st = state_open(path, "experiment-analyzer", 1, ea_state_schema);
            b = ea_new(&cfg, 0);
            CHECK(ea_set_dedup(b, restarts % 2 ? WINDOW / 2 : WINDOW, 0) == 0);
            CHECK(ea_state_load(b, st) == 0);
            for (int j = i - 699; j <= i; j++) {
                copies += relevant(&evs[j]);
                dups += ea_event(b, &evs[j]) == EA_DUPLICATE;
            }
            restarts++;
        }
    }
    save(b, st);
    CHECK_EQ_INT(restarts, NEVENTS / 3000);
    CHECK_EQ_INT(dups, copies);
    CHECK_EQ_INT(ea_duplicates(b), copies);      /* the counter survives restarts */
    CHECK(same_stats(a, b));
    sqlite3_stmt *q;
    CHECK(sqlite3_prepare_v2(state_db(st), "SELECT count(*) FROM ea_seen", -1, &q, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(q) == SQLITE_ROW);
    long long rows = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    CHECK_MSG(rows > 0 && rows <= WINDOW, "%lld rows in ea_seen", rows);
    ea_free(a); ea_free(b);
    state_close(st);
    rm_db(path);
    ea_config_free(&cfg);
}

TEST_MAIN(test_replays, test_restarts)
