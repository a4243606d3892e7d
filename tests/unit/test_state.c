/* test_state.c — the SQLite state helper: WAL, transactions, version and
 * owner checks, offsets and blobs surviving close and reopen, and a reader on
 * a second connection while the stage writes. */
#define _GNU_SOURCE
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "state.h"
#include "testhelp.h"

static char dir[] = "/tmp/test_state.XXXXXX";
static char path[160];

static const char *schema =
    "CREATE TABLE IF NOT EXISTS counts(k TEXT PRIMARY KEY, n INTEGER NOT NULL);";

/* one integer from a query on a fresh, independent connection */
static long long query_int(const char *sql)
{
    sqlite3 *db;
    long long v = -999;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) return v;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

static void test_lifecycle(void)
{
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/agg.db", dir);

    state *s = state_open(path, "aggregate", 2, schema);
    CHECK(s != NULL);
    if (!s) return;
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(state_db(s), "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), "wal"));
    sqlite3_finalize(st);

    CHECK_EQ_INT(state_begin(s), 0);
    CHECK_EQ_INT(state_begin(s), -1);                  /* no nesting */
    CHECK_EQ_INT(state_exec(s, "INSERT INTO counts VALUES('a', 1), ('b', 2)"), 0);
    CHECK_EQ_INT(state_exec(s, "INSERT INTO streamrec_offsets VALUES('events', 3, 1234, 0)"), 0);
    unsigned char blob[100000];
    for (size_t i = 0; i < sizeof blob; i++) blob[i] = (unsigned char)(i * 7 + 3);
    CHECK_EQ_INT(state_put(s, "sketch", blob, sizeof blob), 0);
    CHECK_EQ_INT(state_put(s, "empty", "", 0), 0);
    /* uncommitted: another connection does not see it (and is not blocked: WAL) */
    CHECK_EQ_INT(query_int("SELECT count(*) FROM counts"), 0);
    CHECK_EQ_INT(state_commit(s), 0);
    CHECK_EQ_INT(query_int("SELECT count(*) FROM counts"), 2);

    /* rollback discards */
    CHECK_EQ_INT(state_begin(s), 0);
    CHECK_EQ_INT(state_exec(s, "INSERT INTO counts VALUES('c', 3)"), 0);
    CHECK_EQ_INT(state_put(s, "sketch", "x", 1), 0);
    CHECK_EQ_INT(state_rollback(s), 0);
    CHECK_EQ_INT(query_int("SELECT count(*) FROM counts"), 2);

    /* a bad statement is an error, not a crash */
    CHECK_EQ_INT(state_exec(s, "INSERT INTO nosuchtable VALUES(1)"), -1);
    state_close(s);

    /* reopen: everything is there */
    s = state_open(path, "aggregate", 2, schema);
    CHECK(s != NULL);
    if (!s) return;
    CHECK_EQ_INT(query_int("SELECT sum(n) FROM counts"), 3);
    void *data;
    size_t len;
    CHECK_EQ_INT(state_get(s, "sketch", &data, &len), 1);
    CHECK_EQ_INT(len, sizeof blob);
    CHECK(data && !memcmp(data, blob, sizeof blob));
    free(data);
    CHECK_EQ_INT(state_get(s, "empty", &data, &len), 1);
    CHECK_EQ_INT(len, 0);
    free(data);
    CHECK_EQ_INT(state_get(s, "absent", &data, &len), 0);
    CHECK(data == NULL);
    CHECK_EQ_INT(state_start_offset(s, "events", 3), 1234);
    CHECK_EQ_INT(state_start_offset(s, "events", 4), -1);
    CHECK_EQ_INT(state_start_offset(s, "other", 3), -1);
    /* a file input has no Kafka offsets: nothing is written, no error */
    CHECK_EQ_INT(state_save_offsets(s, NULL), 0);
    state_close(s);
}

static void test_guards(void)
{
    /* a newer database is refused; an older one is upgraded */
    CHECK(state_open(path, "aggregate", 1, schema) == NULL);
    state *s = state_open(path, "aggregate", 3, schema);
    CHECK(s != NULL);
    state_close(s);
    CHECK_EQ_INT(query_int("SELECT CAST(value AS INTEGER) FROM streamrec_meta WHERE key = 'version'"), 3);
    /* another stage's file is refused */
    CHECK(state_open(path, "drift", 3, NULL) == NULL);
    /* unopenable path */
    CHECK(state_open("/nonexistent-dir/x.db", "aggregate", 1, NULL) == NULL);
    /* bad schema SQL fails the open and leaves no half-made meta behind */
    char p2[200];
    snprintf(p2, sizeof p2, "%s/bad.db", dir);
    CHECK(state_open(p2, "drift", 1, "CREATE TABLE oops(") == NULL);
    s = state_open(p2, "other", 1, NULL);     /* owner was not recorded */
    CHECK(s != NULL);
    state_close(s);
}

/* Offsets through a real Kafka input (librdkafka's in-process mock cluster):
 * read part of a topic, save the offsets with the state, then a consumer in
 * a group that never committed resumes exactly there through
 * state_start_offset: every record once, none twice. */
#define KN 600
#define KPARTS 3

static cli_common kc;
static const char *kconf[] = { MOCK_CONSUMER_X };
#define KCONF_N ((int)(sizeof kconf / sizeof kconf[0]))

static void test_kafka_offsets(void)
{
    mock_cluster mk;
    if (mock_cluster_start(&mk, "ev", KPARTS)) return;
    const char *boot = mk.boot;

    kc.in = kc.out = "-";
    kc.format = "records";
    kc.log_level = "info";
    kc.max_record = 16 << 20;
    kc.kafka_conf = (cli_list){ kconf, KCONF_N, KCONF_N };
    char uri[256];
    snprintf(uri, sizeof uri, "kafka://%s/ev", boot);
    stream_out *out = stream_out_open(uri, &kc);
    CHECK(out != NULL);
    if (!out) goto done;
    for (int i = 0; i < KN; i++) {
        Event e;
        Event_init(&e);
        char uid[32], eid[32];
        e.user_id = (fb_str){ uid, (uint32_t)snprintf(uid, sizeof uid, "u%d", i % 50) };
        e.event_id = (fb_str){ eid, (uint32_t)snprintf(eid, sizeof eid, "%d", i) };
        e.ts = 1000000 + i;
        CHECK_EQ_INT(stream_write(out, &Event_desc, &e, e.user_id.ptr, e.user_id.len), 0);
    }
    CHECK_EQ_INT(stream_out_close(out), 0);

    /* first consumer: read 250 records, save offsets with the state, stop
     * without committing anything to Kafka */
    snprintf(path, sizeof path, "%s/k.db", dir);
    state *st = state_open(path, "ktest", 1, NULL);
    CHECK(st != NULL);
    if (!st) goto done;
    snprintf(uri, sizeof uri, "kafka://%s/ev?group=first&eof=1", boot);
    stream_in *in = stream_in_open(uri, &kc);
    CHECK(in != NULL);
    static unsigned char seen[KN];
    int64_t next[KPARTS] = { 0 };       /* our own count: last offset read + 1 */
    int got = 0;
    stream_rec r;
    while (in && got < 250 && stream_in_next(in, &r) == 1) {
        int id = atoi(r.as.event.event_id.ptr);
        if (id >= 0 && id < KN) seen[id]++;
        if (r.pos.partition >= 0 && r.pos.partition < KPARTS) next[r.pos.partition] = r.pos.offset + 1;
        got++;
    }
    CHECK_EQ_INT(got, 250);
    CHECK_EQ_INT(state_begin(st), 0);
    CHECK_EQ_INT(state_save_offsets(st, in), 0);
    CHECK_EQ_INT(state_commit(st), 0);
    for (int p = 0; p < KPARTS; p++) {
        int64_t want = next[p] ? next[p] : -1;   /* a partition not read from has no row */
        int64_t have = state_start_offset(st, "ev", p);
        CHECK_MSG(have == want || (want == -1 && have == 0), "partition %d: saved %lld, read up to %lld",
                  p, (long long)have, (long long)want);
    }
    stream_in_close(in);
    state_close(st);

    /* restart: reopened state, a group with no commits, start from the state */
    st = state_open(path, "ktest", 1, NULL);
    CHECK(st != NULL);
    if (!st) goto done;
    snprintf(uri, sizeof uri, "kafka://%s/ev?group=second&eof=1", boot);
    in = stream_in_open(uri, &kc);
    CHECK(in != NULL);
    if (in) stream_in_set_start(in, state_start_offset, st);
    int rc;
    while (in && (rc = stream_in_next(in, &r)) == 1) {
        int id = atoi(r.as.event.event_id.ptr);
        if (id >= 0 && id < KN) seen[id]++;
        got++;
    }
    if (in) stream_in_close(in);
    state_close(st);
    int missing = 0, twice = 0;
    for (int i = 0; i < KN; i++) { missing += seen[i] == 0; twice += seen[i] > 1; }
    CHECK_EQ_INT(got, KN);
    CHECK_EQ_INT(missing, 0);
    CHECK_EQ_INT(twice, 0);
done:
    mock_cluster_stop(&mk);
}

static void test_cleanup(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

TEST_MAIN(test_lifecycle, test_guards, test_kafka_offsets, test_cleanup)
