/* kafkapeek.c — a topic read without a consumer group (kafkapeek.h).
 *
 * librdkafka's simple (legacy) consumer, as kcat -C without -G: the topic's
 * partitions come from a metadata request and each is started at its offset
 * onto one queue (rd_kafka_consume_start_queue). There is no group.id, so
 * nothing joins a group or commits (assign() without a group.id is refused
 * by librdkafka 2.0: "Unknown group"), and enable.partition.eof tells when
 * each partition has been read to its end. */
#include "kafkapeek.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kafka.h"
#include "log.h"
#include "timefmt.h"

struct kafka_peek {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    rd_kafka_queue_t *q;        /* every partition's messages */
    rd_kafka_message_t *cur;    /* the message last returned */
    int nparts, started;        /* started: partitions consume_start()ed */
    int32_t *parts;             /* partition ids read */
    uint8_t *at_eof;            /* per entry of parts */
    int stop_at_eof;
};

int kafka_peek_parse_start(const char *s, kafka_peek_start *st, char *err, size_t n)
{
    char *end;
    if (!strcmp(s, "beginning")) { st->from = KAFKA_PEEK_BEGINNING; st->value = 0; return 0; }
    if (!strcmp(s, "end")) { st->from = KAFKA_PEEK_END; st->value = 0; return 0; }
    int time = !strncmp(s, "s@", 2);
    const char *num = time ? s + 2 : s;
    errno = 0;
    long long v = strtoll(num, &end, 10);
    if (errno || end == num || *end || (time && v < 0)) {
        snprintf(err, n, "'%s' is not beginning, end, an offset N, -N (N before the end) or s@MS "
                 "(a time, ms since the epoch)", s);
        return -1;
    }
    if (time) { st->from = KAFKA_PEEK_TIME; st->value = v; }
    else if (v < 0 || num[0] == '-') { st->from = KAFKA_PEEK_TAIL; st->value = -v; }
    else { st->from = KAFKA_PEEK_OFFSET; st->value = v; }
    return 0;
}

/* librdkafka's own messages into our JSON logs instead of its "%4|…" lines */
static void kafka_peek_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= 3)
        log_error("kafka: %s: %s", fac, buf);
    else if (level <= 5)
        log_warn("kafka: %s: %s", fac, buf);
}

/* The topic's partitions, asking until the broker knows them or timeout_ms
 * passes (a topic just created may have no leader yet). */
static int kafka_peek_partitions_of(kafka_peek *p, const char *topic, int32_t want, int64_t timeout_ms,
                                    char *err, size_t n)
{
    rd_kafka_topic_t *rkt = p->rkt = rd_kafka_topic_new(p->rk, topic, NULL);
    if (!rkt) {
        snprintf(err, n, "topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    int64_t deadline = mono_us() / 1000 + timeout_ms;
    int rc = -1;
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        int64_t left = deadline - mono_us() / 1000;
        rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 0, rkt, &md, (int)(left > 1000 ? 1000 : left > 0 ? left : 1));
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1)
            e = md->topics[0].err;
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].partition_cnt > 0) {
            const struct rd_kafka_metadata_topic *t = &md->topics[0];
            p->parts = calloc((size_t)t->partition_cnt, sizeof *p->parts);
            p->at_eof = calloc((size_t)t->partition_cnt, 1);
            if (!p->parts || !p->at_eof) {
                snprintf(err, n, "out of memory");
            } else {
                for (int i = 0; i < t->partition_cnt; i++)
                    if (want < 0 || t->partitions[i].id == want)
                        p->parts[p->nparts++] = t->partitions[i].id;
                if (p->nparts)
                    rc = 0;
                else
                    snprintf(err, n, "topic %s has no partition %d (it has %d)", topic, (int)want,
                             t->partition_cnt);
            }
            rd_kafka_metadata_destroy(md);
            break;
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        if (mono_us() / 1000 >= deadline) {
            if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
                snprintf(err, n, "topic %s does not exist", topic);
            else
                snprintf(err, n, "topic %s: no answer from the brokers in %lld ms (%s)", topic,
                         (long long)timeout_ms, rd_kafka_err2str(e));
            break;
        }
        struct timespec pause = { 0, 100 * 1000000 };
        nanosleep(&pause, NULL);
    }
    return rc;
}

kafka_peek *kafka_peek_open(const char *brokers, const char *topic, int32_t partition,
                            kafka_peek_start start, int stop_at_eof, const cli_list *conf,
                            int64_t timeout_ms, char *err, size_t n)
{
    char e[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", brokers, e, sizeof e) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "enable.partition.eof", "true", e, sizeof e) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "client.id", "streamrec-peek", e, sizeof e) != RD_KAFKA_CONF_OK) {
        snprintf(err, n, "%s", e);
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(c, kafka_peek_log);
    /* -X after our settings, so the user's win; streamrec.down.timeout.ms is
     * the stages' (a peek waits at most timeout_ms for the brokers) */
    if (kafka_conf_apply(c, conf, NULL, err, n) < 0) {
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    kafka_peek *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, n, "out of memory");
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    p->stop_at_eof = stop_at_eof;
    p->rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof e);   /* owns c only on success */
    if (!p->rk) {
        snprintf(err, n, "%s", e);
        rd_kafka_conf_destroy(c);
        free(p);
        return NULL;
    }
    if (kafka_peek_partitions_of(p, topic, partition, timeout_ms, err, n) < 0) {
        kafka_peek_close(p);
        return NULL;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(p->nparts);
    for (int i = 0; i < p->nparts; i++) {
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(l, topic, p->parts[i]);
        switch (start.from) {
        case KAFKA_PEEK_BEGINNING: tp->offset = RD_KAFKA_OFFSET_BEGINNING; break;
        case KAFKA_PEEK_END: tp->offset = RD_KAFKA_OFFSET_END; break;
        case KAFKA_PEEK_OFFSET: tp->offset = start.value; break;
        case KAFKA_PEEK_TAIL: tp->offset = RD_KAFKA_OFFSET_TAIL(start.value); break;
        case KAFKA_PEEK_TIME: tp->offset = start.value; break;
        }
    }
    rd_kafka_resp_err_t rc = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (start.from == KAFKA_PEEK_TIME) {
        /* each partition's first offset at or after the time; none: its end */
        rc = rd_kafka_offsets_for_times(p->rk, l, (int)(timeout_ms > 0 ? timeout_ms : 1));
        for (int i = 0; rc == RD_KAFKA_RESP_ERR_NO_ERROR && i < l->cnt; i++)
            if (l->elems[i].offset < 0)
                l->elems[i].offset = RD_KAFKA_OFFSET_END;
    }
    if (rc == RD_KAFKA_RESP_ERR_NO_ERROR) {
        p->q = rd_kafka_queue_new(p->rk);
        if (!p->q)
            rc = rd_kafka_last_error();
    }
    for (int i = 0; rc == RD_KAFKA_RESP_ERR_NO_ERROR && i < l->cnt; i++) {
        if (rd_kafka_consume_start_queue(p->rkt, l->elems[i].partition, l->elems[i].offset, p->q) < 0)
            rc = rd_kafka_last_error();
        else
            p->started = i + 1;
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, n, "topic %s: %s", topic, rd_kafka_err2str(rc));
        kafka_peek_close(p);
        return NULL;
    }
    return p;
}

static int kafka_peek_index(const kafka_peek *p, int32_t partition)
{
    for (int i = 0; i < p->nparts; i++)
        if (p->parts[i] == partition)
            return i;
    return -1;
}

int kafka_peek_poll(kafka_peek *p, int timeout_ms, kafka_msg *m, char *err, size_t n)
{
    if (p->cur) {
        rd_kafka_message_destroy(p->cur);
        p->cur = NULL;
    }
    int64_t deadline = mono_us() / 1000 + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (p->stop_at_eof && memchr(p->at_eof, 0, (size_t)p->nparts) == NULL)
            return 2;
        int64_t left = deadline - mono_us() / 1000;
        if (left < 0)
            return 0;
        rd_kafka_message_t *msg = rd_kafka_consume_queue(p->q, (int)left);
        if (!msg)
            return 0;
        int i = kafka_peek_index(p, msg->partition);
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (i >= 0)
                p->at_eof[i] = 1;
            rd_kafka_message_destroy(msg);
            continue;
        }
        if (msg->err) {
            char fatal[256];
            int is_fatal = rd_kafka_fatal_error(p->rk, fatal, sizeof fatal) != RD_KAFKA_RESP_ERR_NO_ERROR;
            int gone = msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                       msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
                       msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                       msg->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE;
            if (is_fatal || gone) {
                snprintf(err, n, "partition %d: %s", (int)msg->partition,
                         is_fatal ? fatal : rd_kafka_message_errstr(msg));
                rd_kafka_message_destroy(msg);
                return -1;
            }
            /* a broker away for a moment: librdkafka retries by itself */
            log_warn("kafka: partition %d: %s", (int)msg->partition, rd_kafka_message_errstr(msg));
            rd_kafka_message_destroy(msg);
            continue;
        }
        if (i >= 0)
            p->at_eof[i] = 0;
        p->cur = msg;
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(msg, &tt);   /* -1 when not available */
        *m = (kafka_msg){
            .val = msg->payload, .len = msg->len, .key = msg->key, .keylen = msg->key_len,
            .topic = rd_kafka_topic_name(msg->rkt), .partition = msg->partition, .offset = msg->offset,
            .ts_ms = ts, .ts_is_log_append = tt == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME,
        };
        return 1;
    }
}

int kafka_peek_partitions(const kafka_peek *p) { return p->nparts; }

void kafka_peek_close(kafka_peek *p)
{
    if (!p)
        return;
    if (p->cur)
        rd_kafka_message_destroy(p->cur);
    for (int i = 0; i < p->started; i++)
        rd_kafka_consume_stop(p->rkt, p->parts[i]);
    if (p->q)
        rd_kafka_queue_destroy(p->q);
    if (p->rkt)
        rd_kafka_topic_destroy(p->rkt);
    rd_kafka_destroy(p->rk);
    free(p->parts);
    free(p->at_eof);
    free(p);
}
