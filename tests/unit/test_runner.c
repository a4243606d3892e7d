/* test_runner.c — the stage life cycle (runner.h) and the counter table
 * (counters.h): the checkpoint is saved before the input is committed, the
 * end of input runs finish and a last sync (flush, save, commit), and the
 * Prometheus counters get every delta, from the restored baseline on. */
#define _GNU_SOURCE
#include <math.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <sqlite3.h>

#include "counters.h"
#include "metrics.h"
#include "runner.h"
#include "sig.h"
#include "testhelp.h"

static char dir[] = "/tmp/test_runner.XXXXXX";

/* ---- the counter table on its own ---- */

typedef struct snap { uint64_t seen, held, only_done; } snap;

static const counter_def table[] = {
    { COUNTER_TOTAL, "t_seen_total", "records seen", offsetof(snap, seen), "seen", "seen" },
    { COUNTER_GAUGE, "t_held", "held now", offsetof(snap, held), NULL, "held" },
    { COUNTER_DONE_ONLY, NULL, NULL, offsetof(snap, only_done), "only_done", NULL },
    { 0 }
};

static void test_counters(void)
{
    counters c;
    counters_init(&c, table);
    CHECK_EQ_INT(c.n, 3);
    metrics_series *seen = metrics_counter("t_seen_total", "records seen"), *held = metrics_gauge("t_held", "");
    CHECK(metrics_get(seen) == 0);
    counters_baseline(&c, &(snap){ 100, 5, 1 });      /* restored from a checkpoint */
    counters_publish(&c, &(snap){ 130, 7, 2 });
    CHECK(metrics_get(seen) == 30);
    CHECK(metrics_get(held) == 7);
    counters_publish(&c, &(snap){ 135, 3, 2 });
    CHECK(metrics_get(seen) == 35);
    CHECK(metrics_get(held) == 3);
    counters_publish(&c, &(snap){ 135, 3, 2 });       /* nothing new: nothing added */
    CHECK(metrics_get(seen) == 35);
    char buf[200];
    counters_status(&c, &(snap){ 135, 3, 2 }, buf, sizeof buf);
    CHECK_EQ_STR(buf, "135 seen, 3 held");
    counters_done(&c, &(snap){ 135, 3, 2 }, buf, sizeof buf);
    CHECK_EQ_STR(buf, "\"seen\":135,\"only_done\":2");
    counters_done(&c, &(snap){ 135, 3, 2 }, buf, 8);   /* truncated, still a string */
    CHECK_EQ_INT(strlen(buf), 7);

    /* a double: a gauge NaN leaves as it was, the done line rounds it; a
     * bool: true or false */
    typedef struct rsnap { double wm, per_user; uint64_t final; } rsnap;
    static const counter_def rtable[] = {
        { COUNTER_GAUGE, "t_wm_seconds", "watermark", offsetof(rsnap, wm), NULL, NULL, COUNTER_F64 },
        { COUNTER_DONE_ONLY, NULL, NULL, offsetof(rsnap, per_user), "per_user", NULL, COUNTER_F64 },
        { COUNTER_DONE_ONLY, NULL, NULL, offsetof(rsnap, final), "final", NULL, COUNTER_BOOL },
        { 0 }
    };
    counters r;
    counters_init(&r, rtable);
    metrics_series *wm = metrics_gauge("t_wm_seconds", "");
    counters_baseline(&r, &(rsnap){ NAN, 0 });
    counters_publish(&r, &(rsnap){ 1795428394.576, 0 });
    CHECK(metrics_get(wm) == 1795428394.576);
    counters_publish(&r, &(rsnap){ NAN, 0 });
    CHECK(metrics_get(wm) == 1795428394.576);
    counters_done(&r, &(rsnap){ 0, 41.6, 1 }, buf, sizeof buf);
    CHECK_EQ_STR(buf, "\"per_user\":42,\"final\":true");
    counters_done(&r, &(rsnap){ 0, 0, 0 }, buf, sizeof buf);
    CHECK_EQ_STR(buf, "\"per_user\":0,\"final\":false");
}

/* ---- a stage on the runner ---- */

#define N 600

typedef struct tstage {
    uint64_t records, restored;   /* records: restored + read here */
    int flushes, finishes, saves;
    int flushed_since_save;       /* flush ran since the last save */
    int finished_before_save;     /* finish ran before the last save */
    uint64_t saved_records;       /* records at the last save */
    long out_bytes_at_save;       /* --out's size at the last save */
    const char *out_path;
    /* Kafka: what the group had committed at each save, and what the
     * checkpoint before held */
    rd_kafka_t *peek; const char *topic; int parts;
    int64_t committed_at_save, bad_commit;
    int refuse;                   /* restore: a checkpoint of other settings */
    uint64_t sync_at;             /* record: ask for a sync at this record (0: never) */
    int synced_at;                /* a save covered exactly sync_at records */
    int idles, ticks, idle_sync;  /* idle: calls; tick: calls; idle asks for a sync (once) */
    int stats_calls, revokes;
    rd_kafka_t *joiner;           /* test_kafka_revoke: a second member of the group */
    int joined;
} tstage;

static tstage ts;

static long file_size(const char *p)
{
    FILE *f = fopen(p, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* Offsets the group has committed, summed over partitions (records
 * committed, as every partition starts at 0). */
static int64_t committed_total(rd_kafka_t *rk, const char *topic, int parts)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++) rd_kafka_topic_partition_list_add(l, topic, p);
    int64_t sum = -1;
    if (rd_kafka_committed(rk, l, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        sum = 0;
        for (int i = 0; i < l->cnt; i++) if (l->elems[i].offset > 0) sum += l->elems[i].offset;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return sum;
}

/* before any stream opens */
static int t_restore(void *ctx, runner *r, state *st)
{
    tstage *t = ctx;
    CHECK(runner_in(r) == NULL && runner_out(r) == NULL);
    void *data = NULL;
    size_t len = 0;
    if (state_get(st, "n", &data, &len) == 1 && len == sizeof t->records) memcpy(&t->records, data, len);
    free(data);
    t->restored = t->records;
    return t->refuse ? RUNNER_USAGE : RUNNER_OK;
}

static int t_record(void *ctx, runner *r, stream_rec *rec)
{
    tstage *t = ctx;
    t->records++;
    if (stream_write_rec(runner_out(r), rec) < 0) return RUNNER_FAIL;
    return t->sync_at && t->records == t->sync_at ? RUNNER_SYNC : RUNNER_OK;
}

static int t_flush(void *ctx, runner *r) { ((tstage *)ctx)->flushes++; ((tstage *)ctx)->flushed_since_save = 1; return 0; }
static int t_finish(void *ctx, runner *r) { ((tstage *)ctx)->finishes++; return 0; }

static int t_save(void *ctx, runner *r, state *st)
{
    tstage *t = ctx;
    t->saves++;
    CHECK_MSG(t->flushed_since_save, "save %d: no flush before it", t->saves);
    t->flushed_since_save = 0;
    t->finished_before_save = t->finishes;
    t->out_bytes_at_save = t->out_path ? file_size(t->out_path) : -1;
    if (t->peek) {
        /* the commit comes after this checkpoint: Kafka may hold no more
         * than what the previous one saved */
        int64_t c = committed_total(t->peek, t->topic, t->parts);
        if (c < 0 || (uint64_t)c > t->saved_records - t->restored) t->bad_commit++;
        t->committed_at_save = c;
    }
    t->saved_records = t->records;
    if (t->sync_at && t->records == t->sync_at) t->synced_at = 1;
    return state_put(st, "n", &t->records, sizeof t->records);
}

typedef struct tsnap { uint64_t records, checkpoints; } tsnap;

static void t_stats(void *ctx, runner *r, void *p)
{
    tsnap *s = p;
    ((tstage *)ctx)->stats_calls++;
    s->records = ((tstage *)ctx)->records;
    s->checkpoints = runner_checkpoints(r);
}

static const counter_def t_table[] = {
    { COUNTER_TOTAL, "t_records_total", "records", offsetof(tsnap, records), "records", "records" },
    { COUNTER_TOTAL, "t_checkpoints_total", "checkpoints", offsetof(tsnap, checkpoints), NULL, NULL },
    { 0 }
};

static const runner_def t_def = {
    .stage = "t", .state_version = 1, .tick_ms = 50, .checkpoint_us = 0,
    .counters = t_table, .stats_size = sizeof(tsnap), .stats = t_stats,
    .restore = t_restore, .record = t_record, .flush = t_flush, .finish = t_finish, .save = t_save,
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
        char uid[32], eid[32];
        e.user_id = (fb_str){ uid, (uint32_t)snprintf(uid, sizeof uid, "u%d", i % 50) };
        e.event_id = (fb_str){ eid, (uint32_t)snprintf(eid, sizeof eid, "%d", i) };
        e.ts = 1000000 + i;
        CHECK_EQ_INT(stream_write(out, &Event_desc, &e, e.user_id.ptr, e.user_id.len), 0);
    }
    CHECK_EQ_INT(stream_out_close(out), 0);
}

static void common_defaults(void)
{
    memset(&tc, 0, sizeof tc);
    tc.in = tc.out = "-";
    tc.format = "records";
    tc.log_level = "warn";
    tc.max_record = 16 << 20;
}

/* A file in, a file out, --state: at the end finish runs, then one last
 * sync with everything written out before the save, and the counter
 * carries this run's records only (the state restored the earlier ones). */
static void test_file_run(void)
{
    CHECK(mkdtemp(dir) != NULL);
    common_defaults();
    char in[200], out[200], db[200];
    snprintf(in, sizeof in, "%s/in.rec", dir);
    snprintf(out, sizeof out, "%s/out.rec", dir);
    snprintf(db, sizeof db, "%s/t.db", dir);
    write_events(in, N);
    long in_bytes = file_size(in);

    for (int run = 1; run <= 2; run++) {
        memset(&ts, 0, sizeof ts);
        ts.out_path = out;
        tc.in = in; tc.out = out; tc.state = db;
        metrics_series *rec = metrics_counter("t_records_total", "records");
        double before = metrics_get(rec);
        CHECK_EQ_INT(runner_main(&t_def, &tc, &ts), 0);
        CHECK_EQ_INT(ts.records, (uint64_t)N * run);          /* run 2 restored run 1's count */
        CHECK_EQ_INT(ts.finishes, 1);
        CHECK(ts.saves >= 1);
        CHECK_EQ_INT(ts.finished_before_save, 1);             /* the last save came after finish */
        CHECK_EQ_INT(ts.saved_records, (uint64_t)N * run);    /* ... and covers every record */
        CHECK_EQ_INT(ts.out_bytes_at_save, in_bytes);         /* --out was flushed before it */
        CHECK_EQ_INT(file_size(out), in_bytes);
        /* the Prometheus counter got this process's records, no more, no fewer */
        CHECK(metrics_get(rec) - before == N);
        CHECK(metrics_get(metrics_counter("t_checkpoints_total", "")) >= run);
    }
    /* a refused checkpoint: exit 2, and --out is not even opened */
    char out3[200];
    snprintf(out3, sizeof out3, "%s/out3.rec", dir);
    memset(&ts, 0, sizeof ts);
    ts.refuse = 1;
    tc.out = out3;
    CHECK_EQ_INT(runner_main(&t_def, &tc, &ts), 2);
    CHECK(access(out3, F_OK) != 0);
    CHECK_EQ_INT(ts.saves, 0);

    state *st = state_open(db, "t", 1, NULL);
    CHECK(st != NULL);
    void *data = NULL;
    size_t len = 0;
    uint64_t saved = 0;
    if (st && state_get(st, "n", &data, &len) == 1 && len == sizeof saved) memcpy(&saved, data, len);
    CHECK_EQ_INT(saved, (uint64_t)2 * N);
    free(data);
    if (st) state_close(st);
    tc.state = NULL;
}

/* Without --state there is no save, but finish and the flush still run,
 * and a failing record stops the run with exit 1 and no last sync. */
static int t_fail_at_10(void *ctx, runner *r, stream_rec *rec)
{
    return ++((tstage *)ctx)->records == 10 ? RUNNER_FAIL : RUNNER_OK;
}

static void test_no_state_and_failure(void)
{
    char in[200], out[200];
    snprintf(in, sizeof in, "%s/in.rec", dir);
    snprintf(out, sizeof out, "%s/out2.rec", dir);
    memset(&ts, 0, sizeof ts);
    tc.in = in; tc.out = out; tc.state = NULL;
    CHECK_EQ_INT(runner_main(&t_def, &tc, &ts), 0);
    CHECK_EQ_INT(ts.saves, 0);
    CHECK_EQ_INT(ts.finishes, 1);
    CHECK(ts.flushes >= 1);
    runner_def d = t_def;
    d.record = t_fail_at_10;
    memset(&ts, 0, sizeof ts);
    CHECK_EQ_INT(runner_main(&d, &tc, &ts), 1);
    CHECK_EQ_INT(ts.records, 10);
    CHECK_EQ_INT(ts.finishes, 0);
    CHECK_EQ_INT(ts.flushes, 0);
}

/* Kafka in (librdkafka's mock cluster), --state: at every save the group
 * has committed no more than the previous checkpoint held, and at the end
 * everything is committed. A runner committing before it saves fails here. */
#define KPARTS 3
static const char *kconf[] = { MOCK_CONSUMER_X };
#define KCONF_N ((int)(sizeof kconf / sizeof kconf[0]))

static void test_kafka_commit_after_checkpoint(void)
{
    char err[256];
    mock_cluster mk;
    if (mock_cluster_start(&mk, "ev", KPARTS)) return;
    const char *boot = mk.boot;
    tc.kafka_conf = (cli_list){ kconf, KCONF_N, KCONF_N };
    char uri[256], out[200], db[200];
    snprintf(uri, sizeof uri, "kafka://%s/ev", boot);
    write_events(uri, N);

    /* a second handle of the same group, only to read its committed offsets */
    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    rd_kafka_conf_set(pc, "bootstrap.servers", boot, err, sizeof err);
    rd_kafka_conf_set(pc, "group.id", "g", err, sizeof err);
    rd_kafka_conf_set(pc, "log_level", "3", err, sizeof err);
    rd_kafka_t *peek = rd_kafka_new(RD_KAFKA_CONSUMER, pc, err, sizeof err);
    CHECK(peek != NULL);

    snprintf(out, sizeof out, "%s/kout.rec", dir);
    snprintf(db, sizeof db, "%s/k.db", dir);
    snprintf(uri, sizeof uri, "kafka://%s/ev?group=g&eof=1", boot);
    memset(&ts, 0, sizeof ts);
    ts.peek = peek; ts.topic = "ev"; ts.parts = KPARTS;
    tc.in = uri; tc.out = out; tc.state = db;
    CHECK_EQ_INT(runner_main(&t_def, &tc, &ts), 0);
    CHECK_EQ_INT(ts.records, N);
    CHECK(ts.saves >= 1);
    CHECK_EQ_INT(ts.bad_commit, 0);
    CHECK_EQ_INT(ts.saved_records, N);
    CHECK_EQ_INT(committed_total(peek, "ev", KPARTS), N);

    /* no_commit: the same run in another group commits nothing, and its
     * checkpoint holds no offsets (the stage starts where it chooses) */
    rd_kafka_conf_t *pc2 = rd_kafka_conf_new();
    rd_kafka_conf_set(pc2, "bootstrap.servers", boot, err, sizeof err);
    rd_kafka_conf_set(pc2, "group.id", "gn", err, sizeof err);
    rd_kafka_conf_set(pc2, "log_level", "3", err, sizeof err);
    rd_kafka_t *peek2 = rd_kafka_new(RD_KAFKA_CONSUMER, pc2, err, sizeof err);
    CHECK(peek2 != NULL);
    runner_def d = t_def;
    d.no_commit = 1;
    snprintf(db, sizeof db, "%s/kn.db", dir);
    snprintf(uri, sizeof uri, "kafka://%s/ev?group=gn&eof=1", boot);
    memset(&ts, 0, sizeof ts);
    tc.in = uri;
    CHECK_EQ_INT(runner_main(&d, &tc, &ts), 0);
    CHECK_EQ_INT(ts.records, N);
    CHECK(ts.saves >= 1);
    if (peek2) {
        CHECK_EQ_INT(committed_total(peek2, "ev", KPARTS), 0);
        rd_kafka_destroy(peek2);
    }
    state *st = state_open(db, "t", 1, NULL);
    CHECK(st != NULL);
    if (st) {
        sqlite3_stmt *q = NULL;
        CHECK(sqlite3_prepare_v2(state_db(st), "SELECT count(*) FROM streamrec_offsets", -1, &q, NULL) == SQLITE_OK);
        CHECK(q && sqlite3_step(q) == SQLITE_ROW);
        if (q) CHECK_EQ_INT(sqlite3_column_int(q, 0), 0);
        sqlite3_finalize(q);
        state_close(st);
    }
    tc.state = NULL;
    tc.kafka_conf = (cli_list){ 0 };
    if (peek) rd_kafka_destroy(peek);
    mock_cluster_stop(&mk);
}

/* A record's RUNNER_SYNC: a checkpoint right after that record, though the
 * checkpoint interval (an hour) is not due; and while no checkpoint is due,
 * every record past stream_sync_due's count is a sync point: the counters
 * are refreshed now and then, not for each of them. */
static void test_record_sync(void)
{
    char in[200], out[200], db[200];
    snprintf(in, sizeof in, "%s/in30k.rec", dir);
    snprintf(out, sizeof out, "%s/out30k.rec", dir);
    snprintf(db, sizeof db, "%s/sync.db", dir);
    write_events(in, 30000);
    runner_def d = t_def;
    d.checkpoint_us = 3600LL * 1000000;
    memset(&ts, 0, sizeof ts);
    ts.sync_at = 123;
    tc.in = in; tc.out = out; tc.state = db;
    CHECK_EQ_INT(runner_main(&d, &tc, &ts), 0);
    CHECK_EQ_INT(ts.records, 30000);
    CHECK_EQ_INT(ts.synced_at, 1);
    CHECK_EQ_INT(ts.saves, 2);               /* record 123's, the last one */
    CHECK_MSG(ts.stats_calls < 1000, "the counters were read %d times for 30,000 records", ts.stats_calls);
    tc.state = NULL;
}

/* A quiet pipe: idle runs (before tick) on each quiet tick; the records
 * that came sync only quiet_sync_us after the last sync, unless idle asks. */
static int t_idle(void *ctx, runner *r)
{
    tstage *t = ctx;
    t->idles++;
    CHECK_MSG(t->ticks == t->idles - 1, "idle %d after %d ticks", t->idles, t->ticks);
    if (t->idle_sync == 1) { t->idle_sync = 2; return RUNNER_SYNC; }
    return RUNNER_OK;
}

static int t_tick(void *ctx, runner *r) { ((tstage *)ctx)->ticks++; return RUNNER_OK; }

static void run_quiet_pipe(const runner_def *d, const char *db)
{
    char in[200], fifo[200], out[200];
    snprintf(in, sizeof in, "%s/in.rec", dir);      /* N records */
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(out, sizeof out, "%s/outq.rec", dir);
    unlink(fifo);
    CHECK(mkfifo(fifo, 0600) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        /* N records, a quiet second, N again */
        char cmd[700];
        snprintf(cmd, sizeof cmd, "exec >'%s'; cat '%s'; sleep 1; cat '%s'", fifo, in, in);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    tc.in = fifo; tc.out = out; tc.state = db;
    CHECK_EQ_INT(runner_main(d, &tc, &ts), 0);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK_EQ_INT(ts.records, 2 * N);
    CHECK(ts.idles >= 1);
    tc.state = NULL;
}

static void test_quiet_input(void)
{
    char db[200];
    runner_def d = t_def;
    d.tick_ms = 50;
    d.idle = t_idle;
    d.tick = t_tick;
    d.checkpoint_us = 3600LL * 1000000;
    /* quiet_sync_us not reached: no sync in the quiet second, one at the end */
    d.quiet_sync_us = 3600LL * 1000000;
    snprintf(db, sizeof db, "%s/q1.db", dir);
    memset(&ts, 0, sizeof ts);
    run_quiet_pipe(&d, db);
    CHECK_EQ_INT(ts.saves, 1);
    /* ... but idle asks for one */
    snprintf(db, sizeof db, "%s/q2.db", dir);
    memset(&ts, 0, sizeof ts);
    ts.idle_sync = 1;
    run_quiet_pipe(&d, db);
    CHECK_EQ_INT(ts.saves, 2);
    /* quiet_sync_us 0: the first quiet tick syncs what came */
    d.quiet_sync_us = 0;
    snprintf(db, sizeof db, "%s/q3.db", dir);
    memset(&ts, 0, sizeof ts);
    run_quiet_pipe(&d, db);
    CHECK_EQ_INT(ts.saves, 2);
}

/* Without --state a rebalance still runs the stage's revoke (e.g.
 * aggregate --emit partials drops the windows of partitions it loses). A
 * second member joins the group while the runner's input is quiet. */
static int t_revoke(void *ctx, runner *r) { ((tstage *)ctx)->revokes++; return 0; }

static int t_join_tick(void *ctx, runner *r)
{
    tstage *t = ctx;
    t->ticks++;
    if (t->records && !t->joined) {
        /* the runner owns every partition and read them: now the join */
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, "rv", RD_KAFKA_PARTITION_UA);
        CHECK_EQ_INT(rd_kafka_subscribe(t->joiner, sub), 0);
        rd_kafka_topic_partition_list_destroy(sub);
        t->joined = 1;
    }
    rd_kafka_message_t *m = rd_kafka_consumer_poll(t->joiner, 20);
    if (m) rd_kafka_message_destroy(m);
    if (t->revokes || t->ticks > 400) sig_request_stop();   /* the last test: a stop stays requested */
    return RUNNER_OK;
}

static void test_kafka_revoke(void)
{
    char err[256];
    mock_cluster mk;
    if (mock_cluster_start(&mk, "rv", KPARTS)) return;
    const char *boot = mk.boot;
    tc.kafka_conf = (cli_list){ kconf, KCONF_N, KCONF_N };
    char uri[256], out[200];
    snprintf(uri, sizeof uri, "kafka://%s/rv", boot);
    write_events(uri, 60);

    rd_kafka_conf_t *jc = rd_kafka_conf_new();
    rd_kafka_conf_set(jc, "bootstrap.servers", boot, err, sizeof err);
    rd_kafka_conf_set(jc, "group.id", "gr", err, sizeof err);
    mock_consumer_conf(jc);   /* its session sets the mock's rebalance delay after its join */
    rd_kafka_conf_set(jc, "log_level", "3", err, sizeof err);
    memset(&ts, 0, sizeof ts);
    ts.joiner = rd_kafka_new(RD_KAFKA_CONSUMER, jc, err, sizeof err);
    CHECK(ts.joiner != NULL);
    if (!ts.joiner) { mock_cluster_stop(&mk); return; }
    rd_kafka_poll_set_consumer(ts.joiner);

    runner_def d = t_def;
    d.tick_ms = 50;
    d.tick = t_join_tick;
    d.revoke = t_revoke;
    snprintf(out, sizeof out, "%s/rvout.rec", dir);
    snprintf(uri, sizeof uri, "kafka://%s/rv?group=gr", boot);
    tc.in = uri; tc.out = out; tc.state = NULL;
    CHECK_EQ_INT(runner_main(&d, &tc, &ts), 0);
    CHECK_MSG(ts.revokes >= 1, "no revoke in %d ticks", ts.ticks);
    CHECK(ts.records >= 1);
    CHECK_EQ_INT(ts.saves, 0);
    rd_kafka_consumer_close(ts.joiner);
    rd_kafka_destroy(ts.joiner);
    tc.kafka_conf = (cli_list){ 0 };
    mock_cluster_stop(&mk);
}

static void test_cleanup(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    metrics_shutdown();
}

TEST_MAIN(test_counters, test_file_run, test_no_state_and_failure, test_kafka_commit_after_checkpoint,
          test_record_sync, test_quiet_input, test_kafka_revoke, test_cleanup)
