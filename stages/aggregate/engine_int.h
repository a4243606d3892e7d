/* engine_int.h — the aggregation engine's insides (engine.c), shared with
 * the files that emit its windows (emit.c), merge partials into it
 * (merge.c) and save and load it (checkpoint.c), and with nothing else:
 * callers use engine.h. */
#ifndef AGG_ENGINE_INT_H
#define AGG_ENGINE_INT_H
#include "engine.h"
#include "sizes.h"
#include "seen.h"

typedef struct agg_win {
    int spec;
    int src;                /* --merge: the source partition (agg_source) */
    agg_cover cov;          /* --merge: what its window partial covers (to -1: none) */
    int64_t first_off;      /* earliest input offset of its records (INT64_MAX: none known) */
    int64_t start, end;
    agg_map map;
    agg_hll *users, *sessions;
    uint64_t events;
    struct agg_win *next;
} agg_win;

/* --merge: a source partition and how far it is complete. */
typedef struct agg_source {
    char *topic;
    uint32_t tlen;
    int32_t partition, partitions;
    int64_t wm;             /* INT64_MIN: not heard from yet */
    int idle;
    int64_t idle_until;     /* mono_us its last idle mark holds to (idle_lease after it was read) */
} agg_source;

struct agg_engine {
    agg_config cfg;
    agg_partial_fn pfn; void *pctx;
    int64_t cur_off;
    agg_source *srcs; int nsrc, capsrc;
    int64_t idle_lease;         /* µs an idle mark counts for (agg_engine_set_idle_lease) */
    uint64_t merge_repeats, merge_late;
    agg_ddparams dd;
    agg_features *fs;
    agg_emit_fn emit;
    void *ctx;
    agg_watermark wm;
    agg_win *wins;
    agg_seen *seen;             /* event_ids counted in open windows (seen.h) */
    uint64_t nseries;
    agg_counters c;
    agg_key key;
    /* emission scratch */
    KeyValue *kv; size_t kvcap;
    Quantile q[AGG_MAX_QUANTILES];
    char numbuf[AGG_MAX_QUANTILES][8];
    const KeyValue *lab[STREAMREC_MAX_LABELS];   /* a Sample's labels, in key order */
};

/* The spec of a window: a --window, or the feature buckets' tumbling one. */
static inline const agg_wspec *spec_of(const agg_engine *e, int spec, agg_wspec *tmp)
{
    if (spec < AGG_BUCKET_SPEC) return &e->cfg.specs[spec];
    tmp->size = tmp->hop = e->cfg.specs[0].hop;
    return tmp;
}

/* engine.c: the window (spec, start) of source src, created if new. */
agg_win *agg_get_win_src(agg_engine *e, int spec, int64_t start, int src);
/* engine.c: a new series in w, if the series bound allows (NULL: dropped,
 * counted). */
agg_entry *agg_series_new(agg_engine *e, agg_win *w, const uint8_t *key, uint32_t klen, uint64_t h);

/* emit.c: a closed window's Metric records (AGG_MODE_METRICS, --merge), a
 * feature bucket's user.* / item.* records, or a window's partials
 * (AGG_MODE_PARTIALS: its series, then its own state). 0 or -1. */
int agg_emit_window(agg_engine *e, agg_win *w);
int agg_emit_bucket(agg_engine *e, agg_win *b);
int agg_emit_partials(agg_engine *e, const agg_win *w);
#endif
