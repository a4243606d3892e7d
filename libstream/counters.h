/* counters.h — a stage's counter table: one row per figure it reports,
 * read from a snapshot struct the stage fills (offsetof into it), and from
 * that one table the Prometheus series (registered at zero, so alerts exist
 * before the first event), their deltas, the systemd STATUS= text and the
 * "done" line.
 *
 * Counters in the snapshot are totals (they may include what a checkpoint
 * restored); the Prometheus counter counts this process only: it gets the
 * difference to the snapshot taken by counters_baseline, then to the
 * previous counters_publish. Gauges are set to the value. A field is a
 * uint64_t (COUNTER_U64), a double (COUNTER_F64: a gauge NaN leaves as it
 * was, e.g. no watermark yet; the done line prints .decimals digits after
 * the point, 0 by default), or a
 * uint64_t the done line prints as true or false (COUNTER_BOOL, done only).
 * Not thread-safe: the main thread, as metrics.h. */
#ifndef STREAMREC_COUNTERS_H
#define STREAMREC_COUNTERS_H
#include <stddef.h>
#include <stdint.h>
#include "metrics.h"

typedef enum { COUNTER_TOTAL, COUNTER_GAUGE, COUNTER_DONE_ONLY } counter_kind;
typedef enum { COUNTER_U64, COUNTER_F64, COUNTER_BOOL } counter_value;

typedef struct counter_def {
    counter_kind kind;
    const char *metric;     /* Prometheus name; NULL (COUNTER_DONE_ONLY): none */
    const char *help;
    size_t offset;          /* offsetof(the stage's snapshot struct, a uint64_t field) */
    const char *done;       /* key in the "done" line, in table order; NULL: not there */
    const char *status;     /* word after the number in sd_status ("series"); NULL: not there */
    counter_value value;    /* the field's type (default COUNTER_U64) */
    /* Named members from here on (the rows above are positional). */
    const char *label, *label_value;  /* one label pair: rows of one metric split by it */
    int decimals;           /* COUNTER_F64: digits after the point in the done line and STATUS= */
} counter_def;

#define COUNTERS_MAX 48

typedef struct counters {
    const counter_def *defs;    /* ended by a row with offset 0 and no names (a { 0 } row) */
    int n;
    metrics_series *series[COUNTERS_MAX];
    uint64_t last[COUNTERS_MAX];   /* value at the last publish (baseline first) */
} counters;

/* Register every metric of the table at zero. The table must outlive c. */
void counters_init(counters *c, const counter_def *defs);
/* This process starts counting from snap (a checkpoint's totals). */
void counters_baseline(counters *c, const void *snap);
/* Add each counter's growth since the last call, set each gauge. */
void counters_publish(counters *c, const void *snap);
/* "N word, N word" for sd_status; "done" fields as JSON ("\"k\":N,...");
 * both truncated to n bytes. */
void counters_status(const counters *c, const void *snap, char *buf, size_t n);
void counters_done(const counters *c, const void *snap, char *buf, size_t n);
#endif
