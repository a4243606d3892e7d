/* test_kafka.c — kafka.c against an in-process librdkafka mock cluster:
 * produce and acknowledge, consume a group to EOF, commits and resume from
 * the committed offset, start offsets from the caller, a rebalance with the
 * revoke hook, delivery failure, bad -X keys, an unreachable broker, URIs. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include "kafka.h"
#include "log.h"
#include "testhelp.h"

#define N1 2000
#define N2 500

static rd_kafka_t *tk_rk;
static rd_kafka_mock_cluster_t *tk_mc;
static const char *tk_boot;

/* -X for every consumer: fast group joins and session expiry */
static const char *tk_cons_items[] = { "session.timeout.ms=3000", "heartbeat.interval.ms=300",
                                       "topic.metadata.refresh.interval.ms=1000" };
static cli_list tk_cons = { tk_cons_items, 3, 3 };

static void tk_start(void)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "log_level", "3", err, sizeof err);
    tk_rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    tk_mc = rd_kafka_mock_cluster_new(tk_rk, 1);
    rd_kafka_mock_topic_create(tk_mc, "t", 4, 1);
    rd_kafka_mock_topic_create(tk_mc, "down", 1, 1);
    tk_boot = rd_kafka_mock_cluster_bootstraps(tk_mc);
}

static int tk_produce(int from, int to)
{
    char err[256];
    kafka_sink *k = kafka_sink_open(tk_boot, "t", NULL, err, sizeof err);
    CHECK_MSG(k != NULL, "%s", err);
    if (!k) return -1;
    for (int i = from; i < to; i++) {
        char v[32], key[32];
        int vl = snprintf(v, sizeof v, "v%d", i), kl = snprintf(key, sizeof key, "k%d", i % 97);
        CHECK_EQ_INT(kafka_sink_produce(k, v, (size_t)vl, key, (size_t)kl), 0);
    }
    CHECK_EQ_INT(kafka_sink_flush(k, 10000), 0);
    CHECK_EQ_INT(kafka_sink_acked(k), to - from);
    CHECK_EQ_INT(kafka_sink_failed(k), 0);
    return kafka_sink_close(k);
}

/* seen[i] counts deliveries of "v<i>"; returns messages read. Reads until
 * EOF of every assigned partition (rc 2), max messages, or polls empty
 * polls of 100 ms. */
static int tk_consume_polls(kafka_src *s, unsigned char *seen, int nseen, int max, int polls)
{
    int got = 0;
    for (int iter = 0; iter < polls && got < max; iter++) {
        kafka_msg m;
        int rc = kafka_src_poll(s, 100, &m);
        if (rc == 2 || rc < 0) { CHECK(rc == 2); break; }
        if (rc == 0) continue;
        iter--;
        int id = -1;
        char buf[32];
        if (m.len < sizeof buf) {
            memcpy(buf, m.val, m.len); buf[m.len] = 0;
            if (sscanf(buf, "v%d", &id) != 1) id = -1;
        }
        CHECK(id >= 0 && id < nseen);
        CHECK(m.key != NULL && m.keylen >= 2);
        CHECK_EQ_STR(m.topic, "t");
        if (id >= 0 && id < nseen && seen[id] < 255) seen[id]++;
        got++;
    }
    return got;
}

static int tk_consume(kafka_src *s, unsigned char *seen, int nseen, int max)
{
    return tk_consume_polls(s, seen, nseen, max, 300);
}

static int tk_distinct(const unsigned char *seen, int from, int to)
{
    int d = 0;
    for (int i = from; i < to; i++) d += seen[i] > 0;
    return d;
}

static kafka_src *tk_open(const char *group, int eof)
{
    char err[256];
    kafka_src *s = kafka_src_open(tk_boot, "t", group, eof, &tk_cons, err, sizeof err);
    CHECK_MSG(s != NULL, "%s", err);
    return s;
}

/* One group through three members in turn: the first reads everything and
 * commits; after more data, the second commits part of what it read and
 * leaves; the third gets exactly what was not committed. */
static void test_produce_consume_commit_resume(void)
{
    static unsigned char seen[N1 + N2], seen2[N1 + N2];
    CHECK_EQ_INT(tk_produce(0, N1), 0);

    kafka_src *s = tk_open("g1", 1);
    if (!s) return;
    int got = tk_consume(s, seen, N1 + N2, 1 << 30);
    CHECK_EQ_INT(got, N1);
    CHECK_EQ_INT(tk_distinct(seen, 0, N1), N1);
    CHECK_EQ_INT(kafka_src_count(s), N1);
    stream_offset off[8];
    int no = kafka_src_offsets(s, off, 8);
    CHECK_EQ_INT(no, 4);
    int64_t sum = 0;
    for (int i = 0; i < no; i++) sum += off[i].next;   /* partitions start at 0 */
    CHECK_EQ_INT(sum, N1);
    CHECK_EQ_INT(kafka_src_commit(s), 0);
    CHECK_EQ_INT(kafka_src_commit(s), 0);   /* nothing new: still fine */
    kafka_src_close(s);

    CHECK_EQ_INT(tk_produce(N1, N1 + N2), 0);
    memset(seen, 0, sizeof seen);
    s = tk_open("g1", 1);
    if (!s) return;
    CHECK_EQ_INT(tk_consume(s, seen, N1 + N2, 300), 300);
    CHECK_EQ_INT(kafka_src_commit(s), 0);
    CHECK_EQ_INT(tk_consume(s, seen2, N1 + N2, 100), 100);   /* read, never committed */
    kafka_src_close(s);
    CHECK_EQ_INT(tk_distinct(seen, 0, N1), 0);

    s = tk_open("g1", 1);
    if (!s) return;
    static unsigned char seen3[N1 + N2];
    got = tk_consume(s, seen3, N1 + N2, 1 << 30);
    CHECK_EQ_INT(got, N2 - 300);
    int lost = 0, twice = 0, redelivered = 0;
    for (int i = N1; i < N1 + N2; i++) {
        lost += !seen[i] && !seen3[i];
        twice += seen[i] && seen3[i];
        redelivered += seen2[i] && seen3[i];
    }
    CHECK_EQ_INT(lost, 0);
    CHECK_EQ_INT(twice, 0);
    CHECK_EQ_INT(redelivered, 100);
    CHECK_EQ_INT(tk_distinct(seen3, 0, N1), 0);
    kafka_src_close(s);
}

/* Lag: a one-partition topic with 1000 messages; after reading 250 the
 * lag is 750 (the high watermark comes with the fetches), at the end 0. */
static void tk_lag_each(void *ctx, const char *topic, int32_t partition, int64_t lag)
{
    CHECK(!strcmp(topic, "lagt"));
    if (partition >= 0 && partition < 4) ((int64_t *)ctx)[partition] = lag;
}

static void test_lag(void)
{
    char err[256];
    rd_kafka_mock_topic_create(tk_mc, "lagt", 1, 1);
    kafka_sink *k = kafka_sink_open(tk_boot, "lagt", NULL, err, sizeof err);
    CHECK_MSG(k != NULL, "%s", err);
    if (!k) return;
    for (int i = 0; i < 1000; i++)
        CHECK_EQ_INT(kafka_sink_produce(k, "x", 1, NULL, 0), 0);
    CHECK_EQ_INT(kafka_sink_close(k), 0);
    kafka_src *s = kafka_src_open(tk_boot, "lagt", "glag", 1, &tk_cons, err, sizeof err);
    CHECK_MSG(s != NULL, "%s", err);
    if (!s) return;
    int64_t each[4] = { -2, -2, -2, -2 };
    kafka_src_lag_each(s, tk_lag_each, each);
    CHECK(each[0] == -2 || each[0] == -1);   /* nothing returned yet: not assigned or unknown */
    int got = 0, rc = 0;
    kafka_msg m;
    for (int polls = 0; got < 250 && polls < 300; polls++)
        if ((rc = kafka_src_poll(s, 100, &m)) == 1) { got++; polls--; }
    CHECK_EQ_INT(got, 250);
    kafka_src_lag_each(s, tk_lag_each, each);
    CHECK_EQ_INT(each[0], 750);
    for (int polls = 0; polls < 300; polls++) {
        rc = kafka_src_poll(s, 100, &m);
        if (rc == 1) { got++; polls--; }
        else if (rc != 0) break;
    }
    CHECK_EQ_INT(rc, 2);
    CHECK_EQ_INT(got, 1000);
    kafka_src_lag_each(s, tk_lag_each, each);
    CHECK_EQ_INT(each[0], 0);
    kafka_src_close(s);
}

static int64_t tk_start_calls;
static int64_t tk_start_fn(void *ctx, const char *topic, int32_t p)
{
    (void)ctx;
    tk_start_calls++;
    CHECK_EQ_STR(topic, "t");
    return p == 0 ? 10 : p == 1 ? -1 : 3;   /* -1: committed (none: earliest) */
}

static void test_start_offsets(void)
{
    static unsigned char seen[N1 + N2];
    kafka_src *s = tk_open("g3", 1);
    if (!s) return;
    kafka_src_set_start(s, tk_start_fn, NULL);
    int got = tk_consume(s, seen, N1 + N2, 1 << 30);
    /* skipped: 10 on partition 0, 3 each on partitions 2 and 3 */
    CHECK_EQ_INT(got, N1 + N2 - 16);
    CHECK_EQ_INT(tk_start_calls, 4);
    stream_offset off[8];
    int no = kafka_src_offsets(s, off, 8);
    int64_t sum = 0;
    for (int i = 0; i < no; i++) sum += off[i].next;
    CHECK_EQ_INT(sum, N1 + N2);
    kafka_src_close(s);
}

/* Two members, the second joins mid-stream: the first is revoked (hook runs
 * with its partitions still assigned and commits), then both share the
 * topic; every record arrives at least once. */
static kafka_src *tk_hook_src;
static int tk_hook_calls, tk_hook_commit_rc;
static void tk_revoke(void *ctx)
{
    (void)ctx;
    tk_hook_calls++;
    stream_offset off[8];
    CHECK(kafka_src_offsets(tk_hook_src, off, 8) > 0);
    tk_hook_commit_rc |= kafka_src_commit(tk_hook_src);
}

static void test_rebalance(void)
{
    static unsigned char seen[N1 + N2];
    kafka_src *a = tk_open("g4", 0);
    if (!a) return;
    tk_hook_src = a;
    kafka_src_set_revoke(a, tk_revoke, NULL);
    int got = tk_consume(a, seen, N1 + N2, 200);
    CHECK_EQ_INT(got, 200);
    kafka_src *b = tk_open("g4", 0);
    if (!b) { kafka_src_close(a); return; }
    int na = 0, nb = 0;
    for (int iter = 0; iter < 600; iter++) {   /* at most ~2 min; done in seconds when the group settles */
        na += tk_consume_polls(a, seen, N1 + N2, 50, 1);
        nb += tk_consume_polls(b, seen, N1 + N2, 50, 1);
        if (tk_hook_calls && nb > 0 && tk_distinct(seen, 0, N1 + N2) == N1 + N2) break;
    }
    CHECK(tk_hook_calls >= 1);
    CHECK_EQ_INT(tk_hook_commit_rc, 0);
    CHECK(nb > 0);
    CHECK_EQ_INT(tk_distinct(seen, 0, N1 + N2), N1 + N2);
    CHECK(200 + na + nb >= N1 + N2);
    kafka_src_set_revoke(a, NULL, NULL);
    kafka_src_close(b);
    kafka_src_close(a);
}

static void test_delivery_failure(void)
{
    char err[256];
    const char *items[] = { "message.timeout.ms=1500", "enable.idempotence=false" };
    cli_list conf = { items, 2, 2 };
    kafka_sink *k = kafka_sink_open(tk_boot, "down", &conf, err, sizeof err);
    CHECK_MSG(k != NULL, "%s", err);
    if (!k) return;
    rd_kafka_mock_partition_set_leader(tk_mc, "down", 0, -1);   /* no leader: nothing can be acked */
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(kafka_sink_produce(k, "x", 1, NULL, 0), 0);
    CHECK_EQ_INT(kafka_sink_flush(k, 10000), -1);
    CHECK_EQ_INT(kafka_sink_failed(k), 5);
    CHECK_EQ_INT(kafka_sink_acked(k), 0);
    CHECK_EQ_INT(kafka_sink_close(k), -1);
}

static void test_bad_conf(void)
{
    char err[256] = "";
    const char *bad[] = { "no.such.property=1" };
    cli_list l = { bad, 1, 1 };
    CHECK(kafka_sink_open(tk_boot, "t", &l, err, sizeof err) == NULL);
    CHECK_MSG(strstr(err, "no.such.property") && strstr(err, "No such configuration property"), "%s", err);
    const char *noeq[] = { "acks" };
    cli_list l2 = { noeq, 1, 1 };
    CHECK(kafka_src_open(tk_boot, "t", "g", 0, &l2, err, sizeof err) == NULL);
    CHECK_MSG(strstr(err, "key=value") != NULL, "%s", err);
    const char *badval[] = { "compression.type=lz99" };
    cli_list l3 = { badval, 1, 1 };
    CHECK(kafka_sink_open(tk_boot, "t", &l3, err, sizeof err) == NULL);
    CHECK_MSG(strstr(err, "compression.type") != NULL, "%s", err);
    CHECK(kafka_src_open(tk_boot, "t", "", 0, NULL, err, sizeof err) == NULL);
    CHECK_MSG(strstr(err, "group") != NULL, "%s", err);
    const char *badown[] = { "streamrec.down.timeout.ms=soon" };
    cli_list l4 = { badown, 1, 1 };
    CHECK(kafka_src_open(tk_boot, "t", "g", 0, &l4, err, sizeof err) == NULL);
    CHECK_MSG(strstr(err, "streamrec.down.timeout.ms") != NULL, "%s", err);
}

/* Nothing listens on the port: poll must end with -1, not hang. */
static void test_unreachable(void)
{
    char err[256];
    const char *items[] = { "streamrec.down.timeout.ms=1000", "reconnect.backoff.ms=50" };
    cli_list l = { items, 2, 2 };
    kafka_src *s = kafka_src_open("127.0.0.1:1", "t", "g", 0, &l, err, sizeof err);
    CHECK_MSG(s != NULL, "%s", err);
    if (!s) return;
    int rc = 0;
    kafka_msg m;
    for (int i = 0; i < 100 && rc == 0; i++) rc = kafka_src_poll(s, 100, &m);
    CHECK_EQ_INT(rc, -1);
    kafka_src_close(s);
}

static void test_uri(void)
{
    char b[128], t[64], g[64], err[256];
    int eof = -1;
    CHECK_EQ_INT(kafka_uri_parse("kafka://h1:9092,h2:9093/events.raw?group=agg&eof=1", b, sizeof b,
                                 t, sizeof t, g, sizeof g, &eof, err, sizeof err), 0);
    CHECK_EQ_STR(b, "h1:9092,h2:9093");
    CHECK_EQ_STR(t, "events.raw");
    CHECK_EQ_STR(g, "agg");
    CHECK_EQ_INT(eof, 1);
    CHECK_EQ_INT(kafka_uri_parse("kafka://h:1/x", b, sizeof b, t, sizeof t, g, sizeof g, &eof, err, sizeof err), 0);
    CHECK_EQ_STR(g, "");
    CHECK_EQ_INT(eof, 0);
    const char *bad[] = { "kafka://h:1", "kafka:///t", "kafka://h:1/", "kafka://h:1/t?group=",
                          "kafka://h:1/t?colour=red", "kafka://h:1/t?eof=2", "kafka://h:1/a b",
                          "kafka://h:1/t?group" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(kafka_uri_parse(bad[i], b, sizeof b, t, sizeof t, g, sizeof g, &eof, err, sizeof err) == -1,
                  "%s accepted", bad[i]);
    char small[4];
    CHECK_EQ_INT(kafka_uri_parse("kafka://h:1/longtopic", b, sizeof b, small, sizeof small, g, sizeof g,
                                 &eof, err, sizeof err), -1);
}

static void tk_setup(void) { log_init("test_kafka", getenv("TEST_LOG") ? "debug" : "error"); tk_start(); }
static void tk_teardown(void)
{
    rd_kafka_mock_cluster_destroy(tk_mc);
    rd_kafka_destroy(tk_rk);
}

TEST_MAIN(tk_setup, test_uri, test_bad_conf, test_produce_consume_commit_resume, test_lag,
          test_start_offsets, test_rebalance, test_delivery_failure, test_unreachable, tk_teardown)
