/* test_kafka.c — kafka.c against an in-process librdkafka mock cluster:
 * produce and acknowledge, consume a group to EOF, commits and resume from
 * the committed offset, start offsets from the caller, a rebalance with the
 * revoke hook, order and acks through the sink's batched delivery reports,
 * delivery failure, bad -X keys, an unreachable broker, URIs. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "kafka.h"
#include "log.h"
#include "testhelp.h"

#define N1 2000
#define N2 500

static mock_cluster tk_mock;
static rd_kafka_mock_cluster_t *tk_mc;
static const char *tk_boot;

/* -X for every consumer: fast group joins and session expiry */
static const char *tk_cons_items[] = { MOCK_CONSUMER_X };
static cli_list tk_cons = { tk_cons_items, sizeof tk_cons_items / sizeof tk_cons_items[0],
                            sizeof tk_cons_items / sizeof tk_cons_items[0] };

static void tk_start(void)
{
    if (mock_cluster_start(&tk_mock, "t", 4)) exit(1);
    tk_mc = tk_mock.mc;
    tk_boot = tk_mock.boot;
    CHECK_EQ_INT(rd_kafka_mock_topic_create(tk_mc, "down", 1, 1), 0);
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

/* ---- alignment (kafka_src_set_align) ----
 * Topic "al", 4 partitions, each in time order, produced to each partition
 * directly: p0 9000 messages 10 ms apart, p1 600 150 ms apart, p2 180 500 ms apart, p3 empty. Value
 * "P:SEQ:TIME_MS". Read whole, librdkafka hands out a partition's batch at a
 * time: time goes back by a minute and more. Aligned at 1 s, it goes back at
 * most 1 s + the largest step of one partition (500 ms). A hold of 64
 * messages makes the source pause and resume partitions many times: each
 * resume must go on right after the last message held (nothing skipped,
 * nothing twice). */
#define AL_PARTS 4
static const int al_count[AL_PARTS] = { 9000, 600, 180, 0 };
static const int al_step[AL_PARTS] = { 10, 150, 500, 1 };
#define AL_TOTAL (9000 + 600 + 180)
#define AL_SKEW 1000
#define AL_MAX_STEP 500
#define AL_HOLD 64           /* a small hold: partitions are paused and resumed again and again */

static void al_produce(void)
{
    char err[256];
    rd_kafka_mock_topic_create(tk_mc, "al", AL_PARTS, 1);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", tk_boot, err, sizeof err);
    rd_kafka_conf_set(c, "log_level", "3", err, sizeof err);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    if (!p) return;
    for (int part = 0; part < AL_PARTS; part++)
        for (int i = 0; i < al_count[part]; i++) {
            char v[48];
            int vl = snprintf(v, sizeof v, "%d:%d:%d", part, i, i * al_step[part]);
            rd_kafka_resp_err_t re;
            while ((re = rd_kafka_producev(p, RD_KAFKA_V_TOPIC("al"), RD_KAFKA_V_PARTITION(part),
                                           RD_KAFKA_V_VALUE(v, (size_t)vl), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(p, 10);
            CHECK_EQ_INT(re, 0);
        }
    CHECK_EQ_INT(rd_kafka_flush(p, 20000), 0);
    rd_kafka_destroy(p);
}

typedef struct al_read {
    int next[AL_PARTS];       /* the sequence number expected next per partition */
    int got, bad, dup;
    int64_t hi, worst;        /* largest time returned so far; most it went back */
} al_read;

/* Read from s until rc 2 (every assigned partition at its end), max
 * messages, or quiet_polls polls of 100 ms in a row without a message;
 * notes each message's time. */
static int al_consume(kafka_src *s, al_read *r, int max, int quiet_polls)
{
    int rc = 0, n = 0;
    for (int quiet = 0; quiet < quiet_polls && n < max; quiet++) {
        kafka_msg m;
        rc = kafka_src_poll(s, 100, &m);
        if (rc != 1) { if (rc != 0) break; continue; }
        quiet = -1;
        int part, seq, t;
        char buf[48];
        CHECK(m.len < sizeof buf);
        memcpy(buf, m.val, m.len < sizeof buf ? m.len : sizeof buf - 1);
        buf[m.len < sizeof buf ? m.len : sizeof buf - 1] = 0;
        if (sscanf(buf, "%d:%d:%d", &part, &seq, &t) != 3 || part != m.partition || part < 0 || part >= AL_PARTS) {
            r->bad++;
            continue;
        }
        /* in order within a partition, nothing skipped; a seq below the
         * expected one is a redelivery (after a rebalance), counted */
        if (seq < r->next[part]) r->dup++;
        else if (seq > r->next[part]) r->bad++;
        if (seq >= r->next[part]) r->next[part] = seq + 1;
        kafka_src_note_time(s, m.topic, m.partition, t);
        if (n || r->got) { if (r->hi - t > r->worst) r->worst = r->hi - t; }
        if (t > r->hi) r->hi = t;
        r->got++;
        n++;
    }
    return rc;
}

static void al_check_all(const al_read *r, const char *what)
{
    for (int p = 0; p < AL_PARTS; p++)
        CHECK_MSG(r->next[p] == al_count[p], "%s: partition %d read to %d of %d", what, p, r->next[p], al_count[p]);
    CHECK_MSG(r->bad == 0, "%s: %d messages out of order, skipped or unreadable", what, r->bad);
}

static void test_align(void)
{
    al_produce();
    char err[256];
    /* without alignment: the content is skewed as read (the fault) */
    al_read off = { { 0 }, 0, 0, 0, INT64_MIN, 0 };
    kafka_src *s = kafka_src_open(tk_boot, "al", "al-off", 1, &tk_cons, err, sizeof err);
    CHECK_MSG(s != NULL, "%s", err);
    if (!s) return;
    CHECK_EQ_INT(al_consume(s, &off, 1 << 30, 300), 2);
    kafka_src_close(s);
    al_check_all(&off, "unaligned");
    CHECK_EQ_INT(off.dup, 0);
    CHECK_MSG(off.worst > 10 * (AL_SKEW + AL_MAX_STEP), "unaligned: time went back %lld ms only", (long long)off.worst);

    /* aligned at 1 s; partition 3 is empty and at its end: it must not
     * hold the others back (the read ends, rc 2) */
    al_read on = { { 0 }, 0, 0, 0, INT64_MIN, 0 };
    s = kafka_src_open(tk_boot, "al", "al-on", 1, &tk_cons, err, sizeof err);
    CHECK_MSG(s != NULL, "%s", err);
    if (!s) return;
    kafka_src_set_align(s, AL_SKEW, 10000, AL_HOLD);
    CHECK_EQ_INT(al_consume(s, &on, 1 << 30, 300), 2);
    stream_align_stats st;
    kafka_src_align_stats(s, &st);
    kafka_src_close(s);
    al_check_all(&on, "aligned");
    CHECK_EQ_INT(on.dup, 0);
    CHECK_EQ_INT(on.got, AL_TOTAL);
    CHECK_MSG(on.worst <= AL_SKEW + AL_MAX_STEP, "aligned: time went back %lld ms", (long long)on.worst);
    CHECK(st.held > 0);
    CHECK_MSG(st.pauses > 0 && st.resumes == st.pauses, "pauses %llu, resumes %llu",
              (unsigned long long)st.pauses, (unsigned long long)st.resumes);
    CHECK_EQ_INT(st.held_now, 0);
    CHECK_EQ_INT(st.paused_now, 0);
    fprintf(stderr, "align: unaligned back %lld ms, aligned %lld ms; held %llu, pauses %llu\n",
            (long long)off.worst, (long long)on.worst, (unsigned long long)st.held, (unsigned long long)st.pauses);
}

/* A rebalance while partitions are held and paused: A reads part of "al"
 * aligned (partition 0 gets paused: it is far ahead of the empty
 * partition 3 until that one is seen at its end, and of the others), B
 * joins, then leaves, and A (given every partition back) reads all to
 * the end: librdkafka 2.0.2 keeps an application pause across an
 * unassignment, so a pause not lifted on revoke would leave partition 0
 * unread for good. Every message arrives at least once. */
static kafka_src *al_rb_src;
static int al_paused_at_revoke = -1;
static void al_revoke(void *ctx)
{
    (void)ctx;
    stream_align_stats st;
    kafka_src_align_stats(al_rb_src, &st);
    if (al_paused_at_revoke < 0) al_paused_at_revoke = st.paused_now;
}

static void test_align_rebalance(void)
{
    char err[256];
    al_read ra = { { 0 }, 0, 0, 0, INT64_MIN, 0 }, rb = { { 0 }, 0, 0, 0, INT64_MIN, 0 };
    kafka_src *a = kafka_src_open(tk_boot, "al", "al-rb", 1, &tk_cons, err, sizeof err);
    CHECK_MSG(a != NULL, "%s", err);
    if (!a) return;
    kafka_src_set_align(a, AL_SKEW, 10000, AL_HOLD);
    al_rb_src = a;
    kafka_src_set_revoke(a, al_revoke, NULL);
    al_consume(a, &ra, 1500, 300);
    stream_align_stats st;
    kafka_src_align_stats(a, &st);
    int paused_before = st.paused_now;
    kafka_src *b = kafka_src_open(tk_boot, "al", "al-rb", 0, &tk_cons, err, sizeof err);
    CHECK_MSG(b != NULL, "%s", err);
    if (!b) { kafka_src_close(a); return; }
    kafka_src_set_align(b, AL_SKEW, 10000, AL_HOLD);
    /* until both own partitions: A's poll serves its revoke and assign */
    stream_part sp;
    for (int i = 0; i < 600 && !kafka_src_owned(b, 0, 10000, &sp); i++) {
        al_consume(a, &ra, 1, 1);
        al_consume(b, &rb, 1, 1);
    }
    CHECK(kafka_src_owned(b, 0, 10000, &sp));
    al_consume(b, &rb, 500, 10);
    kafka_src_close(b);
    /* A gets all four back and reads to the end of each */
    int rc = 0;
    for (int i = 0; i < 3 && rc != 2; i++) rc = al_consume(a, &ra, 1 << 30, 100);
    CHECK_EQ_INT(rc, 2);
    kafka_src_align_stats(a, &st);
    CHECK_EQ_INT(st.paused_now, 0);
    CHECK_EQ_INT(st.held_now, 0);
    int owned = 0;
    while (kafka_src_owned(a, owned, 10000, &sp)) owned++;
    CHECK_EQ_INT(owned, AL_PARTS);
    kafka_src_close(a);
    for (int p = 0; p < AL_PARTS; p++) {
        int seen = ra.next[p] > rb.next[p] ? ra.next[p] : rb.next[p];
        CHECK_MSG(seen == al_count[p], "partition %d: read to %d of %d", p, seen, al_count[p]);
    }
    fprintf(stderr, "align rebalance: A had %d partition(s) paused before B joined, %d at the revoke; "
            "A read %d, B %d (redelivered to A: %d)\n", paused_before, al_paused_at_revoke, ra.got, rb.got, ra.dup);
    CHECK_MSG(al_paused_at_revoke > 0, "nothing was paused at the revoke: the test did not test it");
}

/* The sink serves delivery reports every KAFKA_SINK_POLL_EVERY messages,
 * not per message: 3,001 messages (not a multiple of it) through both
 * produce calls, keyed ones (13 keys) and, every 7th, to a partition
 * without a key; all acknowledged after the flush, and read back each
 * once, in produce order per key and per partition (value "KEY:SEQ",
 * KEY 13..16 for partition KEY-13 without a key). */
#define SO_N 3001
#define SO_KEYS 17
static void test_sink_order(void)
{
    char err[256];
    rd_kafka_mock_topic_create(tk_mc, "ord", 4, 1);
    kafka_sink *k = kafka_sink_open(tk_boot, "ord", NULL, err, sizeof err);
    CHECK_MSG(k != NULL, "%s", err);
    if (!k) return;
    int sent[SO_KEYS] = { 0 };
    for (int i = 0; i < SO_N; i++) {
        char v[32], key[16];
        int kk = i % 7 == 6 ? 13 + i % 4 : i % 13;
        int vl = snprintf(v, sizeof v, "%d:%d", kk, sent[kk]++);
        if (kk >= 13) {
            CHECK_EQ_INT(kafka_sink_produce_to(k, kk - 13, v, (size_t)vl), 0);
        } else {
            int kl = snprintf(key, sizeof key, "k%d", kk);
            CHECK_EQ_INT(kafka_sink_produce(k, v, (size_t)vl, key, (size_t)kl), 0);
        }
    }
    CHECK_EQ_INT(kafka_sink_flush(k, 10000), 0);
    CHECK_EQ_INT(kafka_sink_acked(k), SO_N);
    CHECK_EQ_INT(kafka_sink_failed(k), 0);
    CHECK_EQ_INT(kafka_sink_close(k), 0);

    kafka_src *s = kafka_src_open(tk_boot, "ord", "so", 1, &tk_cons, err, sizeof err);
    CHECK_MSG(s != NULL, "%s", err);
    if (!s) return;
    int next[SO_KEYS] = { 0 }, got = 0, bad = 0, rc = 0;
    int32_t part_of[SO_KEYS];
    for (int i = 0; i < SO_KEYS; i++) part_of[i] = i >= 13 ? i - 13 : -1;
    for (int quiet = 0; quiet < 300 && rc != 2; quiet++) {
        kafka_msg m;
        rc = kafka_src_poll(s, 100, &m);
        if (rc != 1) { if (rc < 0) break; continue; }
        quiet = -1;
        char buf[32];
        int kk = -1, seq = -1;
        if (m.len < sizeof buf) {
            memcpy(buf, m.val, m.len); buf[m.len] = 0;
            if (sscanf(buf, "%d:%d", &kk, &seq) != 2) kk = -1;
        }
        if (kk < 0 || kk >= SO_KEYS) { bad++; continue; }
        /* a key stays on one partition; the next in its order, nothing skipped or twice */
        if (part_of[kk] < 0) part_of[kk] = m.partition;
        if (part_of[kk] != m.partition || seq != next[kk]) bad++;
        next[kk] = seq + 1;
        got++;
    }
    CHECK_EQ_INT(rc, 2);
    kafka_src_close(s);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(got, SO_N);
    for (int i = 0; i < SO_KEYS; i++) CHECK_MSG(next[i] == sent[i], "key %d: read to %d of %d", i, next[i], sent[i]);
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
static void tk_teardown(void) { mock_cluster_stop(&tk_mock); }

TEST_MAIN(tk_setup, test_uri, test_bad_conf, test_produce_consume_commit_resume, test_lag,
          test_start_offsets, test_rebalance, test_align, test_align_rebalance, test_sink_order, test_delivery_failure,
          test_unreachable, tk_teardown)
