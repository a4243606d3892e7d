/* reckey.h — the Kafka partitioning key of a record: the one function every
 * producer uses (stream_write when the caller gives no key), so that one
 * series, user or experiment lands on one partition whichever stage writes
 * it (schemas/README.md "Production topology").
 *
 *   Event, Recommendation   user_id
 *   Sample, Metric          name, or name{k=v,...} with the labels sorted by
 *                           key (then value): the same series whatever order
 *                           a producer put its labels in; no labels: name
 *   Drift                   series, or series{k=v,...} the same way
 *   ExperimentResult        experiment
 *   ExperimentPartial       experiment (one merge reads all of it in order)
 *   MetricPartial           topic/partition of its source: one input
 *                           partition's partials (its series, then the
 *                           watermark that passes them) stay in order
 *   Alert                   fingerprint
 *   anything else           no key (0)
 *
 * Labels beyond RECKEY_MAX_SORT keep their record order after the sorted
 * first ones (no allocation here). The key is cut at n bytes: keys that
 * share their first n bytes share a partition, which is still consistent. */
#ifndef STREAMREC_RECKEY_H
#define STREAMREC_RECKEY_H
#include <stddef.h>
#include "fbrec.h"

#define RECKEY_MAX_SORT 64

/* rec points at the decoded record of type d (AnyRecord member). Writes at
 * most n bytes (not NUL-terminated) and returns the length (0: no key). */
size_t record_key(const fbrec_desc *d, const void *rec, char *buf, size_t n);
#endif
