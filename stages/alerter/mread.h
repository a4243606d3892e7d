/* mread.h — a Metric read straight from a FlatBuffer the verifier has
 * accepted (stream_in_set_verify_only): the fields fbrec_decode would give,
 * without the decoder's second walk, its arena and its clearing of every
 * field first. Most of the alerter's input is Metrics; Drift and
 * ExperimentResult records still go through fbrec_decode.
 *
 * Memory: a fixed array of AL_MAX_LABELS label pairs (130 KiB) and one of
 * quantiles grown to the most a record held (16 bytes each, so bounded by
 * --max-record). */
#ifndef ALERTER_MREAD_H
#define ALERTER_MREAD_H
#include <stddef.h>
#include <stdint.h>
#include "fbrec.h"
#include "rules.h"

typedef struct al_mread {
    KeyValue labels[AL_MAX_LABELS];
    Quantile *q; uint32_t capq;
} al_mread;

/* buf (len bytes, no size prefix) must be a Metric that fbrec_verify accepts.
 * Fills *out as fbrec_decode would; its strings point into buf, its arrays
 * into mr (valid until the next call). A Metric with more than
 * AL_MAX_LABELS labels gets labels NULL with its true labels_count: the
 * engine refuses it (AL_TOO_MANY_LABELS) before it reads one. 0, or -1 out
 * of memory. */
int al_metric_read(al_mread *mr, const uint8_t *buf, size_t len, Metric *out);
void al_mread_free(al_mread *mr);
/* Do a and b hold the same Metric (strings and arrays by content, NULL and
 * empty told apart for strings, doubles bit for bit)? For the test and the
 * fuzz target that hold al_metric_read to fbrec_decode. */
int al_metric_same(const Metric *a, const Metric *b);
#endif
