/* parts.h — `aggregate --emit partials`: one engine per input partition
 * owned, each writing its windows' MetricPartials (partial.h) and its
 * watermark, keyed by its source partition. Partitions that move lose their
 * windows: the next owner rebuilds them from the committed offset, which
 * goes no further than their open windows need (agg_parts_start). */
#ifndef AGG_PARTS_H
#define AGG_PARTS_H
#include "engine.h"
#include "partial.h"
#include "stream.h"

typedef struct agg_part agg_part;

typedef struct agg_parts {
    agg_config cfg;
    uint64_t config_hash;   /* agg_engine_config_hash, carried by every partial */
    uint64_t crash_after;   /* testing: see --crash-after (0: never) */
    stream_in *in;
    stream_out *out;
    agg_part **v; int n, cap;
    agg_counters gone;      /* counters of partitions dropped */
    agg_pscratch psc;
    uint64_t partials;      /* written */
    int rebalanced;         /* partitions moved: checked at the next record or tick */
    int64_t heartbeat_us;   /* an idle partition's mark is repeated this often (--idle-timeout) */
} agg_parts;

void agg_parts_init(agg_parts *ps, const agg_config *cfg, uint64_t crash_after);
/* Kafka input: its commits limited to what open windows need; a file or
 * pipe: partition part of parts. */
void agg_parts_start(agg_parts *ps, stream_in *in, stream_out *out, int32_t part, int32_t parts);
/* One Event or Sample into its partition's engine (*eng: which one, for the
 * refusal). An AGG_ code. */
int agg_parts_record(agg_parts *ps, stream_rec *r, agg_engine **eng);
/* Now and then (a quiet input's tick, a due sync): partitions moved are
 * dropped or added, idle ones let their watermark on and, the first time,
 * send their open windows and an idle watermark for the merge. -1: writing
 * failed. */
int agg_parts_tick(agg_parts *ps);
/* End of input: every window out, then a watermark past all time. */
int agg_parts_finish(agg_parts *ps);
/* Counters over every partition, dropped ones included. */
void agg_parts_sum(const agg_parts *ps, agg_counters *sum, uint64_t *dups, uint64_t *untracked);
void agg_parts_free(agg_parts *ps);
#endif
