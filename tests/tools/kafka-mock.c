/* kafka-mock — a Kafka cluster for tests and local runs, on librdkafka's
 * mock cluster (rdkafka_mock.h): in-memory brokers on loopback ports that any
 * Kafka client in any process (kcat, our stages) can use.
 *
 *   kafka-mock [--brokers N] TOPIC:PARTITIONS ...
 *
 * Creates the topics, prints the bootstrap servers as the first stdout line
 * (flushed), then runs until SIGTERM or SIGINT and exits 0. Data lives in
 * memory only. Consumer groups, committed offsets and idempotent producers
 * work; a member that dies without leaving keeps its partitions until its
 * session.timeout.ms passes. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static void kmock_usage(FILE *f)
{
    fprintf(f,
            "usage: kafka-mock [--brokers N] TOPIC:PARTITIONS ...\n"
            "Starts an in-memory Kafka cluster (librdkafka mock), creates the topics,\n"
            "prints the bootstrap servers on the first line, runs until SIGTERM/SIGINT.\n"
            "example: kafka-mock events:4 metrics:2\n");
}

static int kmock_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    long brokers = 1;
    int first = 1;
    for (; first < argc; first++) {
        const char *a = argv[first];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { kmock_usage(stdout); return 0; }
        if (!strcmp(a, "--brokers") && first + 1 < argc) {
            if (kmock_int(argv[++first], 1, 16, &brokers)) {
                fprintf(stderr, "kafka-mock: --brokers: expected 1..16, got '%s'\n", argv[first]);
                return 2;
            }
        } else if (!strncmp(a, "--brokers=", 10)) {
            if (kmock_int(a + 10, 1, 16, &brokers)) {
                fprintf(stderr, "kafka-mock: --brokers: expected 1..16, got '%s'\n", a + 10);
                return 2;
            }
        } else if (!strcmp(a, "--")) { first++; break; }
        else if (a[0] == '-') {
            fprintf(stderr, "kafka-mock: unknown flag %s\n", a);
            kmock_usage(stderr);
            return 2;
        } else break;
    }
    if (first >= argc) { kmock_usage(stderr); return 2; }
    for (int i = first; i < argc; i++) {
        const char *colon = strrchr(argv[i], ':');
        long np;
        if (!colon || colon == argv[i] || kmock_int(colon + 1, 1, 10000, &np)) {
            fprintf(stderr, "kafka-mock: %s: expected TOPIC:PARTITIONS\n", argv[i]);
            return 2;
        }
    }

    /* Block the signals before librdkafka starts its threads (they inherit
     * the mask), then wait for them here with sigwait. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* the handle only hosts the cluster: quiet its "no bootstrap.servers" notice */
    rd_kafka_conf_set(conf, "log_level", "4", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) { fprintf(stderr, "kafka-mock: %s\n", err); rd_kafka_conf_destroy(conf); return 1; }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
    if (!mc) { fprintf(stderr, "kafka-mock: could not start the mock cluster\n"); rd_kafka_destroy(rk); return 1; }
    for (int i = first; i < argc; i++) {
        char topic[256];
        const char *colon = strrchr(argv[i], ':');
        long np;
        kmock_int(colon + 1, 1, 10000, &np);
        snprintf(topic, sizeof topic, "%.*s", (int)(colon - argv[i]), argv[i]);
        rd_kafka_resp_err_t re = rd_kafka_mock_topic_create(mc, topic, (int)np, 1);
        if (re) {
            fprintf(stderr, "kafka-mock: topic %s: %s\n", topic, rd_kafka_err2str(re));
            rd_kafka_mock_cluster_destroy(mc);
            rd_kafka_destroy(rk);
            return 1;
        }
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    int sig = 0;
    while (sigwait(&set, &sig) != 0) {}
    fprintf(stderr, "kafka-mock: signal %d, stopping\n", sig);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
