/* test_runner2.c — what the runner (runner.h) and the counter table
 * (counters.h) gained for the recommender: a flush that declines
 * (RUNNER_SKIP: nothing saved, the next sync point tries again), a stage
 * that keeps --state itself (own_state: the runner opens it and calls
 * restore, but never saves), the STATUS= hook, and counter rows split by a
 * label or printed with decimals. */
#define _GNU_SOURCE
#include <stddef.h>
#include <unistd.h>

#include <sqlite3.h>

#include "counters.h"
#include "metrics.h"
#include "runner.h"
#include "testhelp.h"

static char dir[] = "/tmp/test_runner2.XXXXXX";

/* ---- counter rows with a label, and with decimals ---- */

typedef struct lsnap { uint64_t a, b; double secs; } lsnap;

static void test_counter_labels_decimals(void)
{
    static const counter_def table[] = {
        { COUNTER_TOTAL, "t2_ignored_total", "ignored", offsetof(lsnap, a), "a", .label = "reason", .label_value = "x" },
        { COUNTER_TOTAL, "t2_ignored_total", "ignored", offsetof(lsnap, b), "b", .label = "reason", .label_value = "y" },
        { COUNTER_DONE_ONLY, NULL, NULL, offsetof(lsnap, secs), "secs", .value = COUNTER_F64, .decimals = 3 },
        { 0 }
    };
    counters c;
    counters_init(&c, table);
    metrics_series *x = metrics_counter_l("t2_ignored_total", "ignored", "reason", "x");
    metrics_series *y = metrics_counter_l("t2_ignored_total", "ignored", "reason", "y");
    metrics_series *plain = metrics_counter("t2_ignored_total", "ignored");
    counters_baseline(&c, &(lsnap){ 0, 0, 0 });
    counters_publish(&c, &(lsnap){ 5, 7, 0 });
    CHECK(metrics_get(x) == 5);
    CHECK(metrics_get(y) == 7);
    CHECK(metrics_get(plain) == 0);        /* the rows went to their labelled series, not the bare name */
    char buf[200];
    counters_done(&c, &(lsnap){ 5, 7, 1.23456 }, buf, sizeof buf);
    CHECK_EQ_STR(buf, "\"a\":5,\"b\":7,\"secs\":1.235");
}

/* ---- a stage whose flush declines, and one that keeps --state ---- */

typedef struct t2 {
    uint64_t records;
    int flushes, declined, saves, restores, status_calls, status_ok;
    int pending;                  /* records since the last accepted flush */
    int max_pending_at_save;      /* pending when a save ran: must be 0 */
    state *st;
} t2;

static t2 ts;

static int t2_record(void *ctx, runner *r, stream_rec *rec)
{
    t2 *t = ctx;
    t->records++;
    t->pending++;
    return RUNNER_SYNC;           /* every record a sync point */
}

/* declines until ten records are pending (as the recommender while a
 * micro-batch is open) */
static int t2_flush(void *ctx, runner *r)
{
    t2 *t = ctx;
    t->flushes++;
    if (t->pending && t->pending < 10) { t->declined++; return RUNNER_SKIP; }
    t->pending = 0;
    return 0;
}

static int t2_finish(void *ctx, runner *r) { ((t2 *)ctx)->pending = 10; return 0; }   /* the last batch is due */

static int t2_save(void *ctx, runner *r, state *st)
{
    t2 *t = ctx;
    t->saves++;
    if (t->pending > t->max_pending_at_save) t->max_pending_at_save = t->pending;
    return state_put(st, "n", &t->records, sizeof t->records);
}

static int t2_restore(void *ctx, runner *r, state *st)
{
    ((t2 *)ctx)->restores++;
    ((t2 *)ctx)->st = st;
    return RUNNER_OK;
}

typedef struct t2snap { uint64_t records; } t2snap;
static void t2_stats(void *ctx, runner *r, void *p) { ((t2snap *)p)->records = ((t2 *)ctx)->records; }

static void t2_status(void *ctx, runner *r, char *buf, size_t n)
{
    t2 *t = ctx;
    t->status_calls++;
    /* the counter table's words come first; the stage appends */
    if (!buf[0] || !strstr(buf, " records")) return;
    t->status_ok++;
    size_t l = strlen(buf);
    snprintf(buf + l, n - l, ", model x");
}

static const counter_def t2_table[] = {
    { COUNTER_TOTAL, "t2_records_total", "records", offsetof(t2snap, records), "records", "records" },
    { 0 }
};

static const runner_def t2_def = {
    .stage = "t2", .state_version = 1, .tick_ms = 50, .checkpoint_us = 0,
    .counters = t2_table, .stats_size = sizeof(t2snap), .stats = t2_stats, .status = t2_status,
    .restore = t2_restore, .record = t2_record, .flush = t2_flush, .finish = t2_finish, .save = t2_save,
};

static cli_common tc;

static void write_events(const char *uri, int n)
{
    stream_out *out = stream_out_open(uri, &tc);
    CHECK(out != NULL);
    if (!out) return;
    for (int i = 0; i < n; i++) {
        Event e;
        Event_init(&e);
        char uid[32];
        e.user_id = (fb_str){ uid, (uint32_t)snprintf(uid, sizeof uid, "u%d", i) };
        e.ts = 1000000 + i;
        CHECK_EQ_INT(stream_write(out, &Event_desc, &e, NULL, 0), 0);
    }
    CHECK_EQ_INT(stream_out_close(out), 0);
}

static int64_t count_rows(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *q = NULL;
    int64_t n = -1;
    if (sqlite3_open(db, &h) == SQLITE_OK && sqlite3_prepare_v2(h, sql, -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(h);
    return n;
}

static void test_flush_declines(void)
{
    CHECK(mkdtemp(dir) != NULL);
    memset(&tc, 0, sizeof tc);
    tc.in = tc.out = "-";
    tc.format = "records";
    tc.log_level = "warn";
    tc.max_record = 16 << 20;
    char in[200], out[200], db[200];
    snprintf(in, sizeof in, "%s/in.rec", dir);
    snprintf(out, sizeof out, "%s/out.rec", dir);
    snprintf(db, sizeof db, "%s/t2.db", dir);
    write_events(in, 95);
    tc.in = in; tc.out = out; tc.state = db;

    /* the runner's own checkpoint: saves only after an accepted flush */
    memset(&ts, 0, sizeof ts);
    CHECK_EQ_INT(runner_main(&t2_def, &tc, &ts), 0);
    CHECK_EQ_INT(ts.records, 95);
    CHECK(ts.declined >= 80);                 /* 9 of every 10 records' sync points */
    CHECK_EQ_INT(ts.saves, ts.flushes - ts.declined);
    CHECK_EQ_INT(ts.saves, 10);               /* 9 full batches and the last one */
    CHECK_EQ_INT(ts.max_pending_at_save, 0);
    CHECK(ts.status_calls >= 1 && ts.status_ok == ts.status_calls);
    CHECK_EQ_INT(count_rows(db, "SELECT count(*) FROM streamrec_blobs WHERE key = 'n'"), 1);

    /* own_state: the runner opens --state and restores, but saves nothing */
    char db2[200];
    snprintf(db2, sizeof db2, "%s/own.db", dir);
    tc.state = db2;
    runner_def own = t2_def;
    own.own_state = 1;
    memset(&ts, 0, sizeof ts);
    CHECK_EQ_INT(runner_main(&own, &tc, &ts), 0);
    CHECK_EQ_INT(ts.restores, 1);
    CHECK(ts.st != NULL);
    CHECK_EQ_INT(ts.records, 95);
    CHECK_EQ_INT(ts.saves, 0);
    CHECK_EQ_INT(count_rows(db2, "SELECT count(*) FROM streamrec_blobs"), 0);
    tc.state = NULL;
}

static void test_cleanup(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    metrics_shutdown();
}

TEST_MAIN(test_counter_labels_decimals, test_flush_declines, test_cleanup)
