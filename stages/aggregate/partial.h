/* partial.h — MetricPartial records (schemas/metric_partial.fbs) to and
 * from the engine's state: what `aggregate --emit partials` writes per
 * (series, window, source partition) and `aggregate --merge` folds in. */
#ifndef AGG_PARTIAL_H
#define AGG_PARTIAL_H
#include "engine.h"

/* Where a partial's records came from. */
typedef struct agg_psrc {
    const char *topic;          /* "-" for a byte stream */
    int32_t partition, partitions;
    int64_t from, to;           /* offsets read: first since assigned, next to read */
    int64_t watermark;          /* the partition's: windows ending at or before it are emitted */
    int idle;
    uint64_t config;            /* agg_engine_config_hash */
} agg_psrc;

/* Vectors a partial points into; reused, freed by agg_pscratch_free. */
typedef struct agg_pscratch {
    KeyValue *kv; size_t kvcap;
    uint32_t *users, *sessions;
    uint64_t counts[AGG_NTYPES];
    agg_key key;
    agg_hll *hu, *hs;
    agg_entry *en;              /* a decoded series (sample sketch bins owned) */
    uint64_t config; int has_config;   /* the merge engine's agg_engine_config_hash */
} agg_pscratch;
void agg_pscratch_free(agg_pscratch *sc);

/* The partial of one series en of window w, or (en NULL) of the window's
 * own state; valid until the next call with sc. */
void agg_partial_build(const agg_psrc *src, const agg_wview *w, const agg_entry *en,
                       agg_pscratch *sc, MetricPartial *out);
/* A watermark-only partial. */
void agg_partial_watermark(const agg_psrc *src, MetricPartial *out);
/* Fold a decoded partial into a merge engine: its source's progress, then
 * its state. AGG_OK, AGG_DUP (a repeat), AGG_LATE (its window was emitted
 * already), or AGG_BADVALUE with the reason in *why (refused). */
int agg_partial_merge(agg_engine *e, const MetricPartial *p, agg_pscratch *sc, const char **why);
#endif
