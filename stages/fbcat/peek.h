/* peek.h — fbcat on unprefixed FlatBuffers, one per message: a Kafka topic
 * read without a consumer group (libstream/kafkapeek.h), or the output of
 * `kcat -C -f '%R%s'` (each message as a 4-byte big-endian length and its
 * bytes). Each buffer is copied to an aligned one (kcat writes them at any
 * byte position; FlatBuffers' alignment counts from the buffer's start),
 * told apart by its identifier, verified and decoded, then printed or
 * written as a record like any fbcat input. */
#ifndef FBCAT_PEEK_H
#define FBCAT_PEEK_H
#include "cli.h"
#include "fbcount.h"
#include "kafkapeek.h"
#include "stream.h"

typedef struct fbcat_peek_conf {
    const cli_common *common;
    int count_mode;          /* --count: count, write nothing per record */
    int meta;                /* --meta: "_kafka":{topic, partition, offset, key, ts_ms, ts_iso} in JSON */
    /* Kafka only */
    const char *brokers, *topic;
    int32_t partition;       /* -1: all */
    kafka_peek_start start;
    int stop_at_eof;
} fbcat_peek_conf;

/* Read until the end (-e, or the end of kcat's stream) or a stop signal.
 * Bad messages are counted, logged as TOPIC/PARTITION@OFFSET (or "byte N")
 * and dead-lettered; --strict makes the first one fatal (exit 1).
 * 0 done, -1 failed (logged). */
int fbcat_peek_kafka(const fbcat_peek_conf *c, fbcount *fc, stream_out *out);
int fbcat_peek_kcat(const fbcat_peek_conf *c, fbcount *fc, stream_out *out);
/* The mode: the Kafka topic (kafka) or kcat's output to --out, then with
 * --count the counts (json_counts: as JSON). A broker that does not
 * resolve exits 2, one that does not answer 1 (cli_die). The exit status. */
int fbcat_peek_main(const fbcat_peek_conf *c, fbcount *fc, int kafka, int json_counts);

#endif
