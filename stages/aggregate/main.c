/* main.c — aggregate: Event and Sample records in, windowed Metric records
 * (and feature-store metrics) out. The logic lives in engine.c (one
 * engine), parts.c (--emit partials), partial.c (--merge) and
 * checkpoint.c; this file is the flags, the runner's callbacks (runner.h)
 * and the counter table. See README.md. */
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "checkpoint.h"
#include "cli.h"
#include "engine.h"
#include "log.h"
#include "menc.h"
#include "partial.h"
#include "parts.h"
#include "runner.h"
#include "sizes.h"
#include "seen.h"
#include "sig.h"
#include "stream.h"
#include "timefmt.h"

static cli_common common;
static cli_list opt_window, opt_hop, opt_by, opt_quantiles;
static int64_t opt_lateness, opt_max_series, opt_topk, opt_max_features, opt_ckpt_every, opt_crash_after;
static int64_t opt_act_hl, opt_rec_hl, opt_pop_hl, opt_max_future, opt_dedup_ids;
static double opt_alpha;
static const char *opt_features, *opt_emit, *opt_in_part;
static int opt_pass, opt_merge;

static const cli_opt agg_opts[] = {
    { "window", 'w', CLI_LIST, &opt_window, NULL, "DURATION,...",
      "window sizes, several at once (default: 60s)", 0, 0 },
    { "hop", 0, CLI_LIST, &opt_hop, NULL, "DURATION,...",
      "hopping windows: one hop for every window, or one per window (default: tumbling)", 0, 0 },
    { "allowed-lateness", 'l', CLI_DURATION, &opt_lateness, "5s", "DURATION",
      "watermark = input event time (Kafka: minimum over partitions) - this; events of closed windows are late (dead-lettered)", 0, 0 },
    { "max-future", 0, CLI_DURATION, &opt_max_future, "1d", "DURATION",
      "records timed more than this ahead of the clock are refused (future_event), so one bad "
      "timestamp cannot close every window (0: no check)", 0, 0 },
    { "by", 'b', CLI_LIST, &opt_by, NULL, "KEY,...",
      "grouping keys: sample series keep only these labels; events{} gets these fields/attrs", 0, 0 },
    { "max-series", 0, CLI_INT, &opt_max_series, "1000000", "N",
      "series held at once over all open windows; past it new series are dropped (counted)", 1, 1e12 },
    { "top-k", 'k', CLI_INT, &opt_topk, "10", "N",
      "items in the per-window top.clicks / top.purchases leaderboards (0: none)", 0, 100000 },
    { "features", 0, CLI_STR, &opt_features, "user,item", "user,item|none",
      "feature store: which keys get user.* / item.* features", 0, 0 },
    { "max-features", 0, CLI_INT, &opt_max_features, "1000000", "N",
      "feature rows cached in memory (without --state: tracked at all)", 1, 1e12 },
    { "relative-accuracy", 0, CLI_DOUBLE, &opt_alpha, "0.01", "X",
      "quantile sketch relative error bound", 0.0001, 0.5 },
    { "quantiles", 'q', CLI_LIST, &opt_quantiles, NULL, "Q,...",
      "quantiles emitted per sample series (default: 0.5,0.9,0.95,0.99,0.999)", 0, 0 },
    { "dedup-ids", 0, CLI_INT, &opt_dedup_ids, "1000000", "N",
      "event_ids and sample_ids held at once (24-48 bytes each) to drop an Event or Sample already "
      "counted in an open window, as an upstream replay resends it (0: no dedup)", 0, 1e10 },
    { "checkpoint-interval", 0, CLI_DURATION, &opt_ckpt_every, "10s", "DURATION",
      "with --state: save windows, features and offsets this often (and at exit)", 0, 0 },
    { "pass-through", 0, CLI_BOOL, &opt_pass, NULL, NULL,
      "write records of other types through unchanged (default: ignore and count them)", 0, 0 },
    { "activity-half-life", 0, CLI_DURATION, &opt_act_hl, "7d", "DURATION",
      "half-life of activity_score", 1, 0 },
    { "recency-half-life", 0, CLI_DURATION, &opt_rec_hl, "1d", "DURATION",
      "half-life of recency_score", 1, 0 },
    { "popularity-half-life", 0, CLI_DURATION, &opt_pop_hl, "1d", "DURATION",
      "half-life of item popularity", 1, 0 },
    { "emit", 0, CLI_STR, &opt_emit, "metrics", "metrics|partials",
      "partials: per input partition, each series' mergeable state per window (MetricPartial) for "
      "aggregate --merge, so N instances in one consumer group give one process's metrics", 0, 0 },
    { "merge", 0, CLI_BOOL, &opt_merge, NULL, NULL,
      "read the MetricPartials of aggregate --emit partials; emit each window's Metrics once every "
      "source partition has passed it", 0, 0 },
    { "input-partition", 0, CLI_STR, &opt_in_part, "0/1", "I/P",
      "--emit partials from a file or pipe: it holds partition I of P of the stream", 0, 0 },
    { "crash-after", 0, CLI_INT, &opt_crash_after, "0", "N",
      "testing: kill -9 itself after N input records (0: never); with --emit partials at the first "
      "window closed after them, its partials delivered but not committed", 0, 1e15 },
    { 0 }
};

static const cli_spec agg_spec = {
    .stage = "aggregate",
    .summary = "event-time windowed metrics (counts, CTR, distinct users, latency quantiles) and the feature store",
    .usage = "aggregate [FLAGS]",
    .example = "ingest < events.jsonl | aggregate --window 60s --format json | jq 'select(.name==\"request.duration_ms\")'",
    .opts = agg_opts,
};

typedef struct agg_main {
    agg_config cfg;
    int partials, merge;    /* cfg.mode */
    agg_parts parts;        /* --emit partials */
    agg_pscratch psc;       /* --merge */
    int32_t in_part, in_parts;
    stream_in *in;
    stream_out *out;
    agg_engine *eng;        /* not with --emit partials (one per partition: parts) */
    agg_features *fs;
    agg_menc *menc;         /* Metrics encoded by template (menc.h) */
    uint64_t ignored, merged;
} agg_main;

/* The Kafka key is the series' (record_key): one series, one partition. */
static int agg_emit(void *ctx, const Metric *m)
{
    agg_main *a = ctx;
    return stream_write(a->out, &Metric_desc, m, NULL, 0);
}

static void agg_build_config(agg_config *c)
{
    memset(c, 0, sizeof *c);
    const char *def_window = "60s";
    int nw = opt_window.n ? opt_window.n : 1;
    if (nw > AGG_MAX_SPECS) cli_usage_error(&agg_spec, "--window: at most %d windows", AGG_MAX_SPECS);
    if (opt_hop.n > 1 && opt_hop.n != nw)
        cli_usage_error(&agg_spec, "--hop: give one hop, or one per window (%d)", nw);
    for (int i = 0; i < nw; i++) {
        const char *w = opt_window.n ? opt_window.items[i] : def_window;
        if (cli_parse_duration(w, &c->specs[i].size) < 0)
            cli_usage_error(&agg_spec, "--window: \"%s\" is not a duration", w);
        c->specs[i].hop = c->specs[i].size;
        if (opt_hop.n) {
            const char *h = opt_hop.items[opt_hop.n > 1 ? i : 0];
            if (cli_parse_duration(h, &c->specs[i].hop) < 0)
                cli_usage_error(&agg_spec, "--hop: \"%s\" is not a duration", h);
        }
        const char *why;
        if (agg_wspec_check(&c->specs[i], &why) < 0)
            cli_usage_error(&agg_spec, "--window %s: %s", w, why);
    }
    c->nspecs = nw;
    if (opt_act_hl <= 0 || opt_rec_hl <= 0 || opt_pop_hl <= 0)
        cli_usage_error(&agg_spec, "--activity/recency/popularity-half-life must be positive");
    c->lateness = opt_lateness;
    c->max_series = opt_max_series;
    if (opt_by.n > AGG_MAX_BY) cli_usage_error(&agg_spec, "--by: at most %d keys", AGG_MAX_BY);
    for (int i = 0; i < opt_by.n; i++) c->by[i] = opt_by.items[i];
    c->nby = opt_by.n;
    c->topk = (int)opt_topk;
    c->alpha = opt_alpha;
    c->dedup_ids = (uint64_t)opt_dedup_ids;
    if (!strcmp(opt_emit, "partials")) c->mode = AGG_MODE_PARTIALS;
    else if (strcmp(opt_emit, "metrics")) cli_usage_error(&agg_spec, "--emit: \"%s\" is not metrics or partials", opt_emit);
    if (opt_merge) {
        if (c->mode) cli_usage_error(&agg_spec, "--merge reads partials and emits metrics: not with --emit partials");
        c->mode = AGG_MODE_MERGE;
        c->lateness = 0;        /* the emitters applied it: a partial's watermark is final */
        c->dedup_ids = 0;       /* events were deduplicated per partition by the emitters */
    }
    if (c->mode == AGG_MODE_PARTIALS && common.state)
        cli_usage_error(&agg_spec, "--emit partials keeps no --state: the input topic is its changelog "
                        "(offsets are committed no further than its open windows need)");
    if (strcmp(opt_features, "none") != 0) {
        char *dup = strdup(opt_features);
        for (char *t = strtok(dup, ","); t; t = strtok(NULL, ",")) {
            if (!strcmp(t, "user")) c->features |= AGG_FEAT_USER;
            else if (!strcmp(t, "item")) c->features |= AGG_FEAT_ITEM;
            else {
                char bad[64];
                snprintf(bad, sizeof bad, "%s", t);
                free(dup);
                cli_usage_error(&agg_spec, "--features: \"%s\" is not user, item or none", bad);
            }
        }
        free(dup);
    }
    static const double defq[] = { 0.5, 0.9, 0.95, 0.99, 0.999 };
    if (!opt_quantiles.n) { memcpy(c->quantiles, defq, sizeof defq); c->nq = 5; }
    if (opt_quantiles.n > AGG_MAX_QUANTILES) cli_usage_error(&agg_spec, "--quantiles: at most %d", AGG_MAX_QUANTILES);
    for (int i = 0; i < opt_quantiles.n; i++) {
        char *end;
        double q = strtod(opt_quantiles.items[i], &end);
        if (*end || end == opt_quantiles.items[i] || !(q >= 0 && q <= 1))
            cli_usage_error(&agg_spec, "--quantiles: \"%s\" is not a number in [0,1]", opt_quantiles.items[i]);
        c->quantiles[c->nq++] = q;
    }
}

static void agg_reject(agg_main *a, agg_engine *eng, const stream_rec *r, int ar)
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

/* The feature store lives in the --state database (or in memory without
 * it) and the engine writes into it: both exist before a checkpoint loads. */
static int agg_open(agg_main *a, state *st)
{
    if (a->cfg.features && !a->partials) {
        agg_fcfg fc = { opt_act_hl, opt_rec_hl, opt_pop_hl, opt_max_features };
        a->fs = agg_features_new(st ? state_db(st) : NULL, &fc);
        if (!a->fs) return RUNNER_FAIL;
    }
    if (!a->partials) a->eng = agg_engine_new(&a->cfg, a->fs, agg_emit, a);
    /* an emitter repeats an idle partition's mark every --idle-timeout:
     * three missed, it may be gone (parts.c) */
    if (a->merge) agg_engine_set_idle_lease(a->eng, 3 * common.idle_timeout);
    return RUNNER_OK;
}

static int agg_restore(void *ctx, runner *r, state *st)
{
    agg_main *a = ctx;
    if (agg_open(a, st) < 0) return RUNNER_FAIL;
    int lr = agg_checkpoint_load(st, a->eng);
    if (lr == -2) return RUNNER_USAGE;
    if (lr < 0) return RUNNER_FAIL;
    if (lr == 1) log_info("resumed from %s: %llu series in open windows", common.state,
                          (unsigned long long)agg_engine_series(a->eng));
    return RUNNER_OK;
}

static int agg_init(void *ctx, runner *r)
{
    agg_main *a = ctx;
    a->in = runner_in(r);
    a->out = runner_out(r);
    if (!runner_state(r) && agg_open(a, NULL) < 0) return RUNNER_FAIL;
    a->menc = agg_menc_new();
    stream_out_set_encoder(a->out, &Metric_desc, agg_menc_stream, a->menc);
    if (a->partials) agg_parts_start(&a->parts, a->in, a->out, a->in_part, a->in_parts);
    else if (!runner_state(r) && stream_in_is_kafka(a->in))
        log_warn("Kafka input without --state: offsets are committed as records are read, so the "
                 "events of open windows are lost if the process dies (use --state for at-least-once)");
    return RUNNER_OK;
}

static int64_t agg_ts(const stream_rec *r) { return r->type == &Event_desc ? r->as.event.ts : r->as.sample.ts; }

static int agg_record(void *ctx, runner *rn, stream_rec *r)
{
    agg_main *a = ctx;
    int ar = AGG_OK;
    agg_engine *eng = a->eng;
    int data = (r->type == &Event_desc || r->type == &Sample_desc) && !a->merge;
    if (data && opt_max_future && agg_ts(r) > now_us() + opt_max_future) ar = AGG_FUTURE;
    else if (data && a->partials) ar = agg_parts_record(&a->parts, r, &eng);
    else if (data && r->type == &Event_desc) ar = agg_engine_event(a->eng, &r->as.event);
    else if (data) ar = agg_engine_sample(a->eng, &r->as.sample);
    else if (a->merge && r->type == &MetricPartial_desc) {
        const char *why = "";
        int mr = agg_partial_merge(a->eng, &r->as.metric_partial, &a->psc, &why);
        if (mr == AGG_ERR) return RUNNER_FAIL;
        if (mr == AGG_BADVALUE) stream_reject(a->in, &r->pos, "bad_partial", why, r->data, r->len);
        else a->merged++;
    }
    else if (opt_pass) { if (stream_write_rec(a->out, r) < 0) return RUNNER_FAIL; }
    else a->ignored++;
    if (ar == AGG_ERR) return RUNNER_FAIL;
    if (ar != AGG_OK && ar != AGG_DUP) agg_reject(a, eng, r, ar);
    else if (ar == AGG_OK && data && !a->partials) {
        stream_in_note_time(a->in, &r->pos, agg_ts(r));
        if (agg_engine_advance(a->eng, stream_in_event_time(a->in)) != AGG_OK) return RUNNER_FAIL;
    }
    if (opt_crash_after && !a->partials && stream_in_count(a->in) >= (uint64_t)opt_crash_after) raise(SIGKILL);
    /* the feature cache is full: its rows go to --state now */
    return a->fs && agg_features_want_save(a->fs) ? RUNNER_SYNC : RUNNER_OK;
}

/* --merge over Kafka: every partition of the partials topic owned is at
 * its end: every partial sent so far was read, so the sources marked idle
 * may be passed (agg_engine_merge_live). */
static int merge_caught_up(stream_in *in)
{
    stream_part sp;
    int k = 0;
    for (; stream_in_owned(in, k, &sp); k++) if (!sp.eof) return 0;
    return k > 0;
}

/* A quiet input: a partition that went idle may let the watermark on. */
static int agg_idle(void *ctx, runner *r)
{
    agg_main *a = ctx;
    if (a->merge) return merge_caught_up(a->in) && agg_engine_merge_live(a->eng) != AGG_OK ? RUNNER_FAIL : RUNNER_OK;
    if (a->partials) return RUNNER_OK;
    return agg_engine_advance(a->eng, stream_in_event_time(a->in)) != AGG_OK ? RUNNER_FAIL : RUNNER_OK;
}

/* --emit partials, at each sync point and quiet tick: partitions moved,
 * and partitions idle while others are busy (agg_parts_tick). */
static int agg_tick(void *ctx, runner *r)
{
    agg_main *a = ctx;
    return a->partials && agg_parts_tick(&a->parts) < 0 ? RUNNER_FAIL : RUNNER_OK;
}

/* Partitions are about to move: --emit partials checks its partitions'
 * windows at the next record (with --state the runner then saves and
 * commits: the commit never runs past the checkpoint). */
static int agg_revoke(void *ctx, runner *r)
{
    ((agg_main *)ctx)->parts.rebalanced = 1;
    return 0;
}

/* End of input closes every window. A stop request with --state keeps them
 * open in the checkpoint instead, for the next run to continue; a stopped
 * Kafka member of --emit partials leaves them to the next owner, who re-reads
 * them from the committed offset. */
static int agg_finish(void *ctx, runner *r)
{
    agg_main *a = ctx;
    if (a->partials)
        return !(stream_in_is_kafka(a->in) && sig_stop_requested()) && agg_parts_finish(&a->parts) < 0 ? -1 : 0;
    return !(runner_state(r) && sig_stop_requested()) && agg_engine_flush(a->eng) != AGG_OK ? -1 : 0;
}

static int agg_save(void *ctx, runner *r, state *st)
{
    agg_main *a = ctx;
    return agg_checkpoint_put(st, a->eng, a->fs);
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

static void agg_stats_fill(void *ctx, runner *r, void *snap)
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
static const counter_def agg_table[] = { AGG_METRIC_ROWS("series", "windows emitted"), AGG_DONE_ROWS, { 0 } };
static const counter_def agg_table_partials[] = {
    AGG_METRIC_ROWS(NULL, NULL), AGG_DONE_ROWS,
    { COUNTER_DONE_ONLY, NULL, NULL, D(partials), "partials" },
    { 0 }
};
static const counter_def agg_table_merge[] = {
    AGG_METRIC_ROWS("series", "windows emitted"), AGG_DONE_ROWS,
    { COUNTER_DONE_ONLY, NULL, NULL, D(partials), "partials" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(repeats), "repeats" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(late_partials), "late_partials" },
    { 0 }
};
#undef M
#undef D

int main(int argc, char **argv)
{
    cli_parse(argc, argv, &agg_spec, &common);
    agg_main a = {0};
    agg_build_config(&a.cfg);
    cli_start(&agg_spec, &common);

    a.partials = a.cfg.mode == AGG_MODE_PARTIALS;
    a.merge = a.cfg.mode == AGG_MODE_MERGE;
    if (a.partials) {
        char slash;
        if (sscanf(opt_in_part, "%d/%d%c", &a.in_part, &a.in_parts, &slash) != 2 || a.in_part < 0 ||
            a.in_parts < 1 || a.in_part >= a.in_parts || a.in_parts > AGG_MAX_SOURCES)
            cli_usage_error(&agg_spec, "--input-partition: \"%s\" is not I/P with 0 <= I < P <= %d", opt_in_part,
                            AGG_MAX_SOURCES);
        agg_parts_init(&a.parts, &a.cfg, (uint64_t)opt_crash_after);
        a.parts.heartbeat_us = common.idle_timeout;
    }
    const runner_def def = {
        .stage = "aggregate", .state_version = AGG_STATE_VERSION, .state_schema = agg_state_schema,
        .tick_ms = 500, .checkpoint_us = opt_ckpt_every, .quiet_sync_us = opt_ckpt_every,
        .counters = a.partials ? agg_table_partials : a.merge ? agg_table_merge : agg_table,
        .stats_size = sizeof(agg_snap), .stats = agg_stats_fill,
        .restore = agg_restore, .init = agg_init, .record = agg_record, .idle = agg_idle, .tick = agg_tick,
        .revoke = agg_revoke, .finish = agg_finish, .save = agg_save,
    };
    int status = runner_main(&def, &common, &a);
    agg_engine_free(a.eng);
    agg_parts_free(&a.parts);
    agg_pscratch_free(&a.psc);
    agg_features_free(a.fs);
    agg_menc_free(a.menc);
    return status;
}
