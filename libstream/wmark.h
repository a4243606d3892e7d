/* wmark.h — watermark marks (schemas/watermark.fbs): how far in event time
 * the producers writing a Kafka topic have come, carried in the topic
 * itself, as Flink carries watermarks across channels.
 *
 * A producer (ingest, Kafka in and out) writes into every partition of its
 * output topic a Watermark naming each input partition it owns, with the
 * largest event time before that partition's committed offset (and whether
 * it is idle: read to its end, all of it committed). What it writes later
 * is not older than that, less the input's own disorder; nor is what the
 * next owner of the input partition writes after a rebalance or a kill -9,
 * since it starts at the committed offset. So the promise is kept per input
 * partition, not per producer: a producer that dies needs no lease, its
 * input partitions' times stay where it committed them until their new
 * owner moves them on.
 *
 * A reader keeps one wmark_table per partition it reads: per input
 * partition (topic, partition) the largest time named (a new owner's first
 * mark, which knows no time yet, never moves it back) and the newest idle
 * flag. The partition's time is the minimum over the input partitions that
 * are not idle, once every partition of every input topic named has been
 * heard of (INT64_MIN before: a producer not heard from yet may hold old
 * records); WMARK_IDLE when all are idle. A reader that starts mid-topic
 * learns the table again from the marks that follow (producers repeat them
 * at least every second).
 *
 * Memory: one table per partition read, 16 bytes per input partition named
 * (at most WMARK_MAX_PARTITIONS per input topic, WMARK_MAX_TOPICS topics):
 * a mark beyond those bounds is refused, the table stays as it was. */
#ifndef STREAMREC_WMARK_H
#define STREAMREC_WMARK_H
#include <stddef.h>
#include <stdint.h>
#include "fbrec.h"

#define WMARK_IDLE INT64_MAX        /* every input partition idle: holds nothing back */
#define WMARK_MAX_PARTITIONS 4096
#define WMARK_MAX_TOPICS 16
#define WMARK_IDENT "WMRK"

typedef struct wmark_table wmark_table;

wmark_table *wmark_table_new(void);   /* NULL: out of memory */
void wmark_table_free(wmark_table *t);
/* Forget everything (the partition is read again from another offset). */
void wmark_table_reset(wmark_table *t);
/* 0 noted; -1 refused (a bad or oversized mark), the reason in err. */
int wmark_table_note(wmark_table *t, const Watermark *m, char *err, size_t n);
/* Marks noted since the last reset (0: the partition has none: its time is
 * its records', as without marks). */
uint64_t wmark_table_marks(const wmark_table *t);
/* The partition's event time: INT64_MIN (not every input partition heard
 * of, or one not idle without a time yet), WMARK_IDLE, or the minimum. */
int64_t wmark_table_time(wmark_table *t);
/* The largest time named (INT64_MIN none): where an idle partition is. */
int64_t wmark_table_max(const wmark_table *t);

/* A message value that is a mark (its identifier), without decoding it. */
static inline int wmark_is_mark(const void *val, size_t len)
{
    return len >= 8 && !memcmp((const char *)val + 4, WMARK_IDENT, 4);
}

#endif
