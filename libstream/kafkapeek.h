/* kafkapeek.h — read a Kafka topic the way a person looks at it (fbcat,
 * kcat -C): no consumer group, the partitions assigned directly, from the
 * beginning, the end, an offset or a time, nothing ever committed. The
 * stages' consumer-group source is kafka.h; this one moves no offsets, so
 * peeking never disturbs a group.
 *
 * End: with stop_at_eof, kafka_peek_poll returns 2 once every partition read
 * has been at its end (librdkafka's partition EOF, after the last message
 * or at once for an empty partition); without it, reading waits for new
 * messages until the caller stops (a signal). */
#ifndef STREAMREC_KAFKAPEEK_H
#define STREAMREC_KAFKAPEEK_H
#include <stddef.h>
#include <stdint.h>
#include "cli.h"
#include "kafka.h"

/* Where each partition starts, as kcat's -o: "beginning", "end", an offset
 * N, -N (N before the end), or s@MS (the first message at or after MS
 * milliseconds since the epoch). */
typedef enum { KAFKA_PEEK_BEGINNING, KAFKA_PEEK_END, KAFKA_PEEK_OFFSET, KAFKA_PEEK_TAIL,
               KAFKA_PEEK_TIME } kafka_peek_from;
typedef struct kafka_peek_start { kafka_peek_from from; int64_t value; } kafka_peek_start;
/* 0, or -1 with the reason in err. */
int kafka_peek_parse_start(const char *s, kafka_peek_start *st, char *err, size_t n);

typedef struct kafka_peek kafka_peek;

/* brokers "host:port[,…]"; partition -1 reads every partition of the topic.
 * conf: -X key=value (KEY=@FILE reads a secret, secret.h). Asks the broker
 * for the topic's partitions, for at most timeout_ms. NULL on error (an
 * unknown topic or partition, no broker answering), reason in err. */
kafka_peek *kafka_peek_open(const char *brokers, const char *topic, int32_t partition,
                            kafka_peek_start start, int stop_at_eof, const cli_list *conf,
                            int64_t timeout_ms, char *err, size_t n);
/* 1: a message in *m (kafka.h's, valid until the next poll or close);
 * 0: nothing within timeout_ms; 2: every partition at its end (stop_at_eof
 * only); -1: an error (reason in err). */
int kafka_peek_poll(kafka_peek *p, int timeout_ms, kafka_msg *m, char *err, size_t n);
/* Partitions read. */
int kafka_peek_partitions(const kafka_peek *p);
void kafka_peek_close(kafka_peek *p);   /* NULL is fine */

#endif
