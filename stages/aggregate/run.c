/* run.c — aggregate's parts as the runner's callbacks (main.c) use them
 * (run.h): opening the engine and feature store, --merge's caught-up test,
 * the reasons of the records it dead-letters, and its figures for the done
 * line and Prometheus. */
#include "run.h"
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include "seen.h"
#include "sizes.h"
#include "timefmt.h"

/* The Kafka key is the series' (record_key): one series, one partition. */
static int agg_emit(void *ctx, const Metric *m)
{
    agg_main *a = ctx;
    return stream_write(a->out, &Metric_desc, m, NULL, 0);
}

/* The feature store lives in the --state database (or in memory without
 * it) and the engine writes into it: both exist before a checkpoint loads. */
int agg_open(agg_main *a, const agg_flags *fl, state *st)
{
    if (fl->cfg.features && !a->partials) {
        a->fs = agg_features_new(st ? state_db(st) : NULL, &fl->features);
        if (!a->fs) return RUNNER_FAIL;
    }
    if (!a->partials) a->eng = agg_engine_new(&fl->cfg, a->fs, agg_emit, a);
    /* an emitter repeats an idle partition's mark every --idle-timeout:
     * three missed, it may be gone (parts.c) */
    if (a->merge) agg_engine_set_idle_lease(a->eng, 3 * fl->common.idle_timeout);
    return RUNNER_OK;
}

/* --merge over Kafka: every partition of the partials topic owned is at
 * its end: every partial sent so far was read, so the sources marked idle
 * may be passed (agg_engine_merge_live). */
int agg_merge_caught_up(stream_in *in)
{
    stream_part sp;
    int k = 0;
    for (; stream_in_owned(in, k, &sp); k++) if (!sp.eof) return 0;
    return k > 0;
}

void agg_main_free(agg_main *a)
{
    agg_engine_free(a->eng);
    agg_parts_free(&a->parts);
    agg_pscratch_free(&a->psc);
    agg_features_free(a->fs);
    agg_menc_free(a->menc);
}

void agg_reject(agg_main *a, agg_engine *eng, const stream_rec *r, int ar)
{
    char detail[160], t1[40], t2[40];
    if (ar == AGG_LATE) {
        int64_t ts = r->type == &Event_desc ? r->as.event.ts : r->as.sample.ts;
        time_format_iso(ts, t1);
        time_format_iso(agg_engine_watermark(eng), t2);
        snprintf(detail, sizeof detail, "event time %s is behind the watermark %s: its window is closed", t1, t2);
        stream_reject(a->in, &r->pos, "late_event", detail, r->data, r->len);
    } else if (ar == AGG_FUTURE) {
        int64_t ts = r->type == &Event_desc ? r->as.event.ts : r->as.sample.ts;
        time_format_iso(ts, t1);
        snprintf(detail, sizeof detail, "event time %s is more than --max-future ahead of the clock", t1);
        stream_reject(a->in, &r->pos, "future_event", detail, r->data, r->len);
    } else if (ar == AGG_BADTS) {
        int64_t ts = r->type == &Event_desc ? r->as.event.ts : r->as.sample.ts;
        snprintf(detail, sizeof detail, "event time %lld µs is outside +-%lld µs (years -1200 to 5100)",
                 (long long)ts, (long long)AGG_MAX_TS);
        stream_reject(a->in, &r->pos, "bad_timestamp", detail, r->data, r->len);
    } else if (ar == AGG_TOO_MANY_LABELS) {
        snprintf(detail, sizeof detail, "%u labels, more than %d (schemas/SIZES.md)", r->as.sample.labels_count,
                 STREAMREC_MAX_LABELS);
        stream_reject(a->in, &r->pos, "too_many_labels", detail, r->data, r->len);
    } else {
        stream_reject(a->in, &r->pos, "bad_value", "value is NaN or infinite", r->data, r->len);
    }
}

/* The figures of one process: the done line's (d), and Prometheus' (m),
 * which --emit partials leaves at zero (its engines are per partition). */
typedef struct agg_figures {
    uint64_t events, samples, late, windows, metrics, series_dropped, ignored, duplicates, dedup_untracked;
    uint64_t partials, repeats, late_partials;
    uint64_t series, features_dropped, checkpoints;
    double watermark_s;     /* NaN: none yet */
} agg_figures;
typedef struct agg_snap { agg_figures m, d; } agg_snap;

void agg_stats_fill(void *ctx, runner *r, void *snap)
{
    agg_main *a = ctx;
    agg_snap *s = snap;
    agg_figures *d = &s->d;
    agg_counters c;
    uint64_t dups = 0, untracked = 0;
    if (a->eng) {
        c = *agg_engine_counters(a->eng);
        agg_seen *seen = agg_engine_seen(a->eng);
        if (seen) { dups = agg_seen_duplicates(seen); untracked = agg_seen_untracked(seen); }
    } else agg_parts_sum(&a->parts, &c, &dups, &untracked);
    d->events = c.events; d->samples = c.samples; d->late = c.late;
    d->windows = c.windows_emitted; d->metrics = c.metrics_emitted; d->series_dropped = c.series_dropped;
    d->ignored = a->ignored; d->duplicates = dups; d->dedup_untracked = untracked;
    d->partials = a->merge ? a->merged : a->parts.partials;
    if (!a->eng) return;
    if (a->merge) { d->repeats = agg_engine_merge_repeats(a->eng); d->late_partials = agg_engine_merge_late(a->eng); }
    d->series = agg_engine_series(a->eng);
    d->features_dropped = a->fs ? agg_features_dropped(a->fs) : 0;
    d->checkpoints = runner_checkpoints(r);
    int64_t wm = agg_engine_watermark(a->eng);
    d->watermark_s = wm == INT64_MIN ? NAN : (double)wm / 1e6;
    s->m = *d;
}

#define M(f) offsetof(agg_snap, m.f)
#define D(f) offsetof(agg_snap, d.f)
/* STATUS= words: none with --emit partials */
#define AGG_METRIC_ROWS(series_word, windows_word) \
    { COUNTER_GAUGE, "streamrec_aggregate_series", "series held in open windows and buckets", M(series), NULL, \
      series_word }, \
    { COUNTER_TOTAL, "streamrec_aggregate_series_dropped_total", "new series refused past --max-series", \
      M(series_dropped) }, \
    { COUNTER_TOTAL, "streamrec_aggregate_windows_total", "windows closed and emitted", M(windows), NULL, \
      windows_word }, \
    { COUNTER_TOTAL, "streamrec_aggregate_features_dropped_total", \
      "feature updates refused past --max-features (no --state)", M(features_dropped) }, \
    { COUNTER_TOTAL, "streamrec_aggregate_ignored_total", "records of other types ignored", M(ignored) }, \
    { COUNTER_GAUGE, "streamrec_aggregate_watermark_seconds", "current watermark, Unix seconds", M(watermark_s), \
      NULL, NULL, COUNTER_F64 }, \
    { COUNTER_TOTAL, "streamrec_aggregate_checkpoints_total", "state checkpoints written", M(checkpoints) }, \
    { COUNTER_TOTAL, "streamrec_aggregate_duplicates_total", \
      "events and samples dropped: their event_id (sample_id) was already counted in an open window", \
      M(duplicates) }, \
    { COUNTER_TOTAL, "streamrec_aggregate_dedup_untracked_total", \
      "event_ids and sample_ids not remembered for dedup: --dedup-ids held at once", M(dedup_untracked) }
#define AGG_DONE_ROWS \
    { COUNTER_DONE_ONLY, NULL, NULL, D(events), "events" }, \
    { COUNTER_DONE_ONLY, NULL, NULL, D(samples), "samples" }, \
    { COUNTER_DONE_ONLY, NULL, NULL, D(late), "late" }, \
    { COUNTER_DONE_ONLY, NULL, NULL, D(windows), "windows" }, \
    { COUNTER_DONE_ONLY, NULL, NULL, D(metrics), "metrics" }, \
    { COUNTER_DONE_ONLY, NULL, NULL, D(series_dropped), "series_dropped" }, \
    { COUNTER_DONE_ONLY, NULL, NULL, D(ignored), "ignored" }, \
    { COUNTER_DONE_ONLY, NULL, NULL, D(duplicates), "duplicates" }, \
    { COUNTER_DONE_ONLY, NULL, NULL, D(dedup_untracked), "dedup_untracked" }
const counter_def agg_table[] = { AGG_METRIC_ROWS("series", "windows emitted"), AGG_DONE_ROWS, { 0 } };
const counter_def agg_table_partials[] = {
    AGG_METRIC_ROWS(NULL, NULL), AGG_DONE_ROWS,
    { COUNTER_DONE_ONLY, NULL, NULL, D(partials), "partials" },
    { 0 }
};
const counter_def agg_table_merge[] = {
    AGG_METRIC_ROWS("series", "windows emitted"), AGG_DONE_ROWS,
    { COUNTER_DONE_ONLY, NULL, NULL, D(partials), "partials" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(repeats), "repeats" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(late_partials), "late_partials" },
    { 0 }
};
#undef M
#undef D

size_t agg_stats_size(void) { return sizeof(agg_snap); }
