/* engine.h — the aggregation engine: open windows per spec, their series,
 * the feature buckets, the watermark, and emission of Metric records when
 * windows close. No I/O: records come in through agg_engine_event/_sample,
 * Metric records go out through the emit callback.
 *
 * Per window: events{event_type[,--by labels]} counts; per item
 * item.events{item_id,event_type}, item.ctr and item.conversion; distinct
 * users and sessions (HyperLogLog); experiment.exposures/conversions
 * {experiment,variant}; per sample series (name + labels, or only the
 * --by labels): count, sum, min, max, mean, stddev and quantiles; top-K
 * items by clicks and by purchases (top.clicks, top.purchases {item_id}).
 *
 * Feature buckets are tumbling windows of the first spec's hop: the deltas
 * they collect per user and item are applied to the feature store when the
 * bucket closes, and user.* / item.* metrics are emitted for those keys.
 *
 * Emission order is deterministic: windows by (end, spec, start), feature
 * buckets after the windows ending at the same time, series within a window
 * in key order. Memory: at most max_series series (all open windows and
 * buckets together); a record that would create one more is still counted
 * in the series that exist, the new series is not created (counted in
 * series_dropped). */
#ifndef AGG_ENGINE_H
#define AGG_ENGINE_H
#include <stdint.h>
#include "buf.h"
#include "features.h"
#include "fbrec.h"
#include "hll.h"
#include "series.h"
#include "window.h"

#define AGG_MAX_QUANTILES 16
#define AGG_MAX_BY 16

typedef struct agg_config {
    agg_wspec specs[AGG_MAX_SPECS];
    int nspecs;
    int64_t lateness;
    int64_t max_series;
    const char *by[AGG_MAX_BY];
    int nby;                    /* 0: samples keep all their labels */
    int features;               /* bit 1 users, bit 2 items */
    int topk;
    double alpha;               /* sketch relative accuracy */
    double quantiles[AGG_MAX_QUANTILES];
    int nq;
    uint64_t dedup_ids;         /* event_ids held at once for dropping duplicates; 0: no dedup */
    int mode;                   /* AGG_MODE_*: what closing a window writes */
} agg_config;

/* METRICS: Metric records (the default). PARTIALS: a window's mergeable
 * state goes to the partial callback instead (aggregate --emit partials,
 * one engine per input partition). MERGE: partials come in through
 * agg_engine_merge_*, kept per source partition, combined when every
 * source's watermark has passed the window, then emitted as METRICS does
 * (aggregate --merge). */
enum { AGG_MODE_METRICS = 0, AGG_MODE_PARTIALS = 1, AGG_MODE_MERGE = 2 };
#define AGG_BUCKET_SPEC AGG_MAX_SPECS   /* spec index of feature buckets */

enum { AGG_FEAT_USER = 1, AGG_FEAT_ITEM = 2 };
enum { AGG_OK = 0, AGG_LATE = 1, AGG_BADVALUE = 2, AGG_FUTURE = 3, AGG_BADTS = 4, AGG_TOO_MANY_LABELS = 5,
       AGG_DUP = 6, AGG_ERR = -1 };

/* Event times outside +-AGG_MAX_TS µs (about 3,000 years around 1970) are
 * refused (AGG_BADTS): window arithmetic near the int64 limits would
 * overflow. */
#define AGG_MAX_TS 100000000000000000LL

typedef int (*agg_emit_fn)(void *ctx, const Metric *m);

typedef struct agg_counters {
    uint64_t events, samples, late, bad_value, series_dropped;
    uint64_t windows_emitted, metrics_emitted;
} agg_counters;

typedef struct agg_engine agg_engine;

/* fs may be NULL (no features even if cfg->features asks). */
agg_engine *agg_engine_new(const agg_config *cfg, agg_features *fs, agg_emit_fn emit, void *ctx);
void agg_engine_free(agg_engine *e);
/* AGG_OK, AGG_LATE (counted in late; the caller rejects the record),
 * AGG_DUP (an event_id already counted in an open window: seen.h; counted
 * there, the record is dropped, not an error),
 * AGG_BADVALUE (NaN or infinite value), AGG_BADTS (time out of range),
 * AGG_TOO_MANY_LABELS (a Sample over STREAMREC_MAX_LABELS; all three
 * counted in bad_value),
 * AGG_ERR (emit or feature store failed). */
int agg_engine_event(agg_engine *e, const Event *ev);
int agg_engine_sample(agg_engine *e, const Sample *s);
/* The input is complete up to event time t (stream_in_event_time: the
 * minimum over the Kafka partitions owned, not the largest time accepted):
 * the watermark moves to t - allowed lateness if that is later, and the
 * windows it passes close. Records do not move it by themselves, so a
 * partition read ahead cannot close the windows of another. INT64_MIN:
 * nothing known, no change. AGG_OK or AGG_ERR. */
int agg_engine_advance(agg_engine *e, int64_t t);
/* End of input: close every open window and bucket. AGG_OK or AGG_ERR. */
int agg_engine_flush(agg_engine *e);
const agg_counters *agg_engine_counters(const agg_engine *e);
uint64_t agg_engine_series(const agg_engine *e);
int64_t agg_engine_watermark(const agg_engine *e);
/* The event_ids held for dedup (seen.h), NULL when cfg->dedup_ids is 0. */
struct agg_seen *agg_engine_seen(agg_engine *e);

/* ---- partials (AGG_MODE_PARTIALS) ---- */
/* One window as the partial callback sees it. */
typedef struct agg_wview {
    int spec;
    int64_t start, end;
    uint64_t events;
    const agg_hll *users, *sessions;    /* NULL: none */
    int64_t first_off;                  /* agg_engine_set_offset of its earliest record */
} agg_wview;
/* Called per series of a closing window (en), in key order, then once with
 * en NULL for the window's own state when it has events. 0 or -1. */
typedef int (*agg_partial_fn)(void *ctx, const agg_wview *w, const agg_entry *en);
void agg_engine_set_partial(agg_engine *e, agg_partial_fn fn, void *ctx);
/* Every open window's partials as they stand, the windows kept open (a
 * partition gone idle: the merge may close them without waiting for it;
 * a later, larger partial of the same window replaces these). 0 or -1. */
int agg_engine_emit_open(agg_engine *e);
/* Input offset of the records given next (for agg_engine_first_offset). */
void agg_engine_set_offset(agg_engine *e, int64_t off);
/* The earliest input offset a record of an open window came from: where a
 * new owner of the partition must start reading to rebuild them. INT64_MAX
 * when no window is open. */
int64_t agg_engine_first_offset(const agg_engine *e);
/* Windows ending at or before wm were closed by an earlier owner: records
 * of theirs now are late (a re-read, not counted again). */
void agg_engine_resume_watermark(agg_engine *e, int64_t wm);
/* 64-bit hash of the settings a partial must agree on (windows, --by,
 * --features, accuracy). */
uint64_t agg_engine_config_hash(const agg_engine *e);

/* ---- merge (AGG_MODE_MERGE) ---- */
/* The index of source (topic, partition), which has `partitions`
 * partitions; -1 past AGG_MAX_SOURCES. */
#define AGG_MAX_SOURCES 65536
int agg_engine_source(agg_engine *e, const char *topic, uint32_t tlen, int32_t partition, int32_t partitions);
/* Source src is complete up to watermark wm; idle: it is at its end, its
 * open windows' partials sent (agg_engine_emit_open). The merge watermark
 * is the minimum over the sources, once every partition of every topic has
 * been heard from; windows it passes are combined and emitted.
 * AGG_OK/AGG_ERR. */
int agg_engine_source_progress(agg_engine *e, int src, int64_t wm, int idle);
/* The merge has read every partial there is (its input at its end): the
 * sources idle, with a fresh mark (agg_engine_set_idle_lease), hold nothing
 * back; the watermark is the minimum over the others, the maximum when all
 * are idle. AGG_OK/AGG_ERR. */
int agg_engine_merge_live(agg_engine *e);
/* How long an idle mark counts after it was read (its emitter repeats it
 * every --idle-timeout while idle); past it the source holds the merge
 * again, as one whose emitter may be gone. 0 (the default): not at all. */
void agg_engine_set_idle_lease(agg_engine *e, int64_t us);
/* Fold one partial in: the window's own state (events, HLLs), or one
 * series (key as series.h encodes it, val the entry's state). cov: the
 * input offsets it was built from; per (series, window, source) one
 * partial is kept: of two, one whose emitter started reading after the
 * other's first record of the window loses (it missed records); else the
 * one read further; an equal one is a repeat.
 * AGG_OK; AGG_DUP (a repeat or an older one); AGG_LATE (the window was
 * emitted already); AGG_BADVALUE (spec out of range). */
int agg_engine_merge_window(agg_engine *e, int src, int spec, int64_t start, const agg_cover *cov,
                            uint64_t events, const agg_hll *users, const agg_hll *sessions);
int agg_engine_merge_entry(agg_engine *e, int src, int spec, int64_t start, const agg_cover *cov,
                           const uint8_t *key, uint32_t klen, const agg_entry *val);
const agg_ddparams *agg_engine_ddparams(const agg_engine *e);
uint64_t agg_engine_merge_repeats(const agg_engine *e);
uint64_t agg_engine_merge_late(const agg_engine *e);

/* Checkpoint of the open windows, buckets, watermark and counters. load:
 * into a fresh engine with the same config; -1 with err on a blob written
 * with another configuration or a corrupt one. */
#define AGG_CKPT_SEED 0x636b7074ULL    /* checksum: hash_seeded64(blob minus 8, seed) */
void agg_engine_save(const agg_engine *e, agg_buf *b);
int agg_engine_load(agg_engine *e, const uint8_t *p, size_t n, char *err, size_t errlen);
#endif
