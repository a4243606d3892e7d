/* testhelp.h — the smallest unit-test harness: CHECK records a failure with
 * file:line and goes on; TEST_MAIN runs the listed functions and exits 1 if
 * any check failed. Output: one line per failure, then "name: N checks, M failed". */
#ifndef STREAMREC_TESTHELP_H
#define STREAMREC_TESTHELP_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static int th_checks, th_failed;
#define CHECK(cond) do { th_checks++; if (!(cond)) { th_failed++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_MSG(cond, ...) do { th_checks++; if (!(cond)) { th_failed++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define CHECK_EQ_INT(a, b) do { long long th_a = (long long)(a), th_b = (long long)(b); th_checks++; \
    if (th_a != th_b) { th_failed++; fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n", \
    __FILE__, __LINE__, #a, #b, th_a, th_b); } } while (0)
#define CHECK_EQ_STR(a, b) do { const char *th_a = (a), *th_b = (b); th_checks++; \
    if (!th_a || !th_b || strcmp(th_a, th_b)) { th_failed++; fprintf(stderr, \
    "%s:%d: %s == %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b, \
    th_a ? th_a : "(null)", th_b ? th_b : "(null)"); } } while (0)
#define CHECK_NEAR(a, b, tol) do { double th_a = (a), th_b = (b); th_checks++; \
    if (!(fabs(th_a - th_b) <= (tol))) { th_failed++; fprintf(stderr, \
    "%s:%d: %s ~ %s: %.17g vs %.17g (tol %g)\n", __FILE__, __LINE__, #a, #b, th_a, th_b, (double)(tol)); } } while (0)

/* A Kafka cluster of one broker inside the test process (librdkafka's mock
 * cluster, which lives in a producer handle) with one topic, for tests that
 * read or write kafka://. mock_cluster_start returns 0, or -1 with a failed
 * CHECK. The mock's group coordinator waits 3 s for a group's first member
 * and session.timeout.ms - 1 s for members after a join or leave
 * (rdkafka_mock_cgrp.c, 2.0.2). It expires a member that waits for its
 * JoinGroup answer once the session is up, and librdkafka then waits
 * max.poll.interval.ms + 3 s (~5 min) for that answer: a session of 3 s
 * races the first 3 s (microseconds apart; 2 s lost every join), so 4 s. */
#define MOCK_CONSUMER_X "session.timeout.ms=4000", "heartbeat.interval.ms=300", \
                        "topic.metadata.refresh.interval.ms=1000"

typedef struct mock_cluster {
    rd_kafka_t *rk;                  /* the handle the cluster lives in */
    rd_kafka_mock_cluster_t *mc;
    const char *boot;                /* bootstrap.servers of the cluster */
} mock_cluster;

static inline int mock_cluster_start(mock_cluster *m, const char *topic, int partitions)
{
    char err[256];
    memset(m, 0, sizeof *m);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "log_level", "3", err, sizeof err);
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    CHECK_MSG(m->rk != NULL, "%s", err);
    if (!m->rk) return -1;
    m->mc = rd_kafka_mock_cluster_new(m->rk, 1);
    CHECK(m->mc != NULL);
    if (!m->mc) { rd_kafka_destroy(m->rk); m->rk = NULL; return -1; }
    if (topic) CHECK_EQ_INT(rd_kafka_mock_topic_create(m->mc, topic, partitions, 1), 0);
    m->boot = rd_kafka_mock_cluster_bootstraps(m->mc);
    return 0;
}

/* MOCK_CONSUMER_X on a consumer made with librdkafka directly */
static inline void mock_consumer_conf(rd_kafka_conf_t *c)
{
    static const char *const items[] = { MOCK_CONSUMER_X };
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        char key[64], err[256];
        const char *eq = strchr(items[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - items[i]), items[i]);
        CHECK_MSG(rd_kafka_conf_set(c, key, eq + 1, err, sizeof err) == RD_KAFKA_CONF_OK, "%s", err);
    }
}

static inline void mock_cluster_stop(mock_cluster *m)
{
    if (m->mc) rd_kafka_mock_cluster_destroy(m->mc);
    if (m->rk) rd_kafka_destroy(m->rk);
    memset(m, 0, sizeof *m);
}

#define TEST_MAIN(...) int main(void) { void (*th_fns[])(void) = { __VA_ARGS__ }; \
    for (size_t th_i = 0; th_i < sizeof th_fns / sizeof th_fns[0]; th_i++) th_fns[th_i](); \
    fprintf(stderr, "%s: %d checks, %d failed\n", __FILE__, th_checks, th_failed); \
    return th_failed ? 1 : 0; }
#endif
