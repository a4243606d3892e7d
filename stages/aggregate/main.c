/* main.c — aggregate: Event and Sample records in, windowed Metric records
 * (and feature-store metrics) out. The logic lives in engine.c; this file
 * wires flags, streams, state and checkpoints. See README.md. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "checkpoint.h"
#include "cli.h"
#include "engine.h"
#include "log.h"
#include "menc.h"
#include "metrics.h"
#include "partial.h"
#include "parts.h"
#include "sizes.h"
#include "sdnotify.h"
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
    agg_parts parts;        /* --emit partials */
    agg_pscratch psc;       /* --merge */
    int32_t in_part, in_parts;
    stream_in *in;
    stream_out *out;
    state *st;
    agg_engine *eng;
    agg_features *fs;
    agg_menc *menc;         /* Metrics encoded by template (menc.h) */
    metrics_series *m_series, *m_dropped, *m_windows, *m_fdropped, *m_ignored, *m_wm, *m_ckpt;
    metrics_series *m_dups, *m_untracked;
    agg_counters last;
    uint64_t ignored, last_ignored, last_fdropped, last_dups, last_untracked;
    int failed;             /* emitting from the idle tick failed */
    int64_t last_sync;      /* mono_us of the last agg_sync */
    uint64_t synced;        /* input records covered by it */
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

static void agg_update_metrics(agg_main *a)
{
    if (!a->eng) { metrics_tick(); return; }   /* --emit partials: the shared records counters only */
    const agg_counters *c = agg_engine_counters(a->eng);
    metrics_set(a->m_series, (double)agg_engine_series(a->eng));
    metrics_add(a->m_dropped, (double)(c->series_dropped - a->last.series_dropped));
    metrics_add(a->m_windows, (double)(c->windows_emitted - a->last.windows_emitted));
    metrics_add(a->m_ignored, (double)(a->ignored - a->last_ignored));
    uint64_t fd = a->fs ? agg_features_dropped(a->fs) : 0;
    metrics_add(a->m_fdropped, (double)(fd - a->last_fdropped));
    int64_t wm = agg_engine_watermark(a->eng);
    if (wm != INT64_MIN) metrics_set(a->m_wm, (double)wm / 1e6);
    agg_seen *seen = agg_engine_seen(a->eng);
    if (seen) {
        metrics_add(a->m_dups, (double)(agg_seen_duplicates(seen) - a->last_dups));
        metrics_add(a->m_untracked, (double)(agg_seen_untracked(seen) - a->last_untracked));
        a->last_dups = agg_seen_duplicates(seen);
        a->last_untracked = agg_seen_untracked(seen);
    }
    a->last = *c;
    a->last_ignored = a->ignored;
    a->last_fdropped = fd;
    metrics_tick();
}

/* Deliver output; with --state save everything with the input offsets
 * first, so the committed offsets never run ahead of the saved state. */
static int agg_sync(agg_main *a)
{
    if (a->st) {
        if (agg_checkpoint_save(a->st, a->in, a->out, a->eng, a->fs) < 0) return -1;
        metrics_add(a->m_ckpt, 1);
    }
    a->last_sync = mono_us();
    a->synced = stream_in_count(a->in);
    return stream_sync(a->in, a->out);
}

/* Partitions are about to move: save the state with the offsets before
 * they are committed, so the commit never runs past the checkpoint (the
 * next owner starts at the commit; a restart of this one, at the later of
 * its checkpoint and the commit: kafka.h). Nonzero: nothing is committed. */
static int agg_before_revoke(void *ctx)
{
    agg_main *a = ctx;
    a->parts.rebalanced = 1;   /* --emit partials: the partitions' windows are checked at the next record */
    return a->st ? agg_sync(a) : 0;
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
static void agg_on_tick(void *ctx)
{
    agg_main *a = ctx;
    if (a->failed) return;
    if (a->cfg.mode == AGG_MODE_MERGE && merge_caught_up(a->in) && agg_engine_merge_live(a->eng) != AGG_OK) {
        a->failed = 1;
        sig_request_stop();
        return;
    }
    /* ... and what was read last is saved and committed once due, so a
     * quiet input has nothing uncommitted when its partitions move */
    int bad = a->cfg.mode == AGG_MODE_PARTIALS ? agg_parts_tick(&a->parts) < 0 :
              a->cfg.mode == AGG_MODE_METRICS && agg_engine_advance(a->eng, stream_in_event_time(a->in)) != AGG_OK;
    if (bad || (stream_in_count(a->in) != a->synced && mono_us() - a->last_sync >= opt_ckpt_every &&
         agg_sync(a) < 0)) {
        a->failed = 1;
        sig_request_stop();
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

int main(int argc, char **argv)
{
    cli_parse(argc, argv, &agg_spec, &common);
    agg_config cfg;
    agg_build_config(&cfg);
    cli_start(&agg_spec, &common);

    agg_main a = {0};
    a.cfg = cfg;
    int partials = cfg.mode == AGG_MODE_PARTIALS, merge = cfg.mode == AGG_MODE_MERGE;
    if (partials) {
        char slash;
        if (sscanf(opt_in_part, "%d/%d%c", &a.in_part, &a.in_parts, &slash) != 2 || a.in_part < 0 ||
            a.in_parts < 1 || a.in_part >= a.in_parts || a.in_parts > AGG_MAX_SOURCES)
            cli_usage_error(&agg_spec, "--input-partition: \"%s\" is not I/P with 0 <= I < P <= %d", opt_in_part,
                            AGG_MAX_SOURCES);
        agg_parts_init(&a.parts, &cfg, (uint64_t)opt_crash_after);
        a.parts.heartbeat_us = common.idle_timeout;
    }
    a.m_series = metrics_gauge("streamrec_aggregate_series", "series held in open windows and buckets");
    a.m_dropped = metrics_counter("streamrec_aggregate_series_dropped_total", "new series refused past --max-series");
    a.m_windows = metrics_counter("streamrec_aggregate_windows_total", "windows closed and emitted");
    a.m_fdropped = metrics_counter("streamrec_aggregate_features_dropped_total", "feature updates refused past --max-features (no --state)");
    a.m_ignored = metrics_counter("streamrec_aggregate_ignored_total", "records of other types ignored");
    a.m_wm = metrics_gauge("streamrec_aggregate_watermark_seconds", "current watermark, Unix seconds");
    a.m_ckpt = metrics_counter("streamrec_aggregate_checkpoints_total", "state checkpoints written");
    a.m_dups = metrics_counter("streamrec_aggregate_duplicates_total",
                               "events and samples dropped: their event_id (sample_id) was already counted in an open window");
    a.m_untracked = metrics_counter("streamrec_aggregate_dedup_untracked_total",
                                    "event_ids and sample_ids not remembered for dedup: --dedup-ids held at once");
    int status = 1, rc = 0;
    if (common.state) {
        a.st = state_open(common.state, "aggregate", AGG_STATE_VERSION, agg_state_schema);
        if (!a.st) goto done;
    }
    if (cfg.features && !partials) {
        agg_fcfg fc = { opt_act_hl, opt_rec_hl, opt_pop_hl, opt_max_features };
        a.fs = agg_features_new(a.st ? state_db(a.st) : NULL, &fc);
        if (!a.fs) goto done;
    }
    if (!partials) a.eng = agg_engine_new(&cfg, a.fs, agg_emit, &a);
    /* an emitter repeats an idle partition's mark every --idle-timeout:
     * three missed, it may be gone (parts.c) */
    if (merge) agg_engine_set_idle_lease(a.eng, 3 * common.idle_timeout);
    if (a.st) {
        int lr = agg_checkpoint_load(a.st, a.eng);
        if (lr == -2) { status = 2; goto done; }
        if (lr < 0) goto done;
        if (lr == 1) log_info("resumed from %s: %llu series in open windows", common.state,
                              (unsigned long long)agg_engine_series(a.eng));
        a.last = *agg_engine_counters(a.eng);   /* Prometheus counters count this process only */
        if (agg_engine_seen(a.eng)) {
            a.last_dups = agg_seen_duplicates(agg_engine_seen(a.eng));
            a.last_untracked = agg_seen_untracked(agg_engine_seen(a.eng));
        }
    }
    a.in = stream_in_open(common.in, &common);
    if (!a.in) goto done;
    if (a.st) stream_in_set_start(a.in, state_start_offset, a.st);
    stream_in_set_tick(a.in, 500, agg_on_tick, &a);
    stream_in_set_before_revoke(a.in, agg_before_revoke, &a);
    a.out = stream_out_open(common.out, &common);
    if (!a.out) goto done;
    a.menc = agg_menc_new();
    stream_out_set_encoder(a.out, &Metric_desc, agg_menc_stream, a.menc);
    if (partials) agg_parts_start(&a.parts, a.in, a.out, a.in_part, a.in_parts);
    else if (!a.st && stream_in_is_kafka(a.in))
        log_warn("Kafka input without --state: offsets are committed as records are read, so the "
                 "events of open windows are lost if the process dies (use --state for at-least-once)");
    sd_ready();
    a.last_sync = mono_us();

    stream_rec r;
    uint64_t merged = 0;
    while ((rc = stream_in_next(a.in, &r)) == 1) {
        int ar = AGG_OK;
        agg_engine *eng = a.eng;
        int data = (r.type == &Event_desc || r.type == &Sample_desc) && !merge;
        if (data && opt_max_future &&
            (r.type == &Event_desc ? r.as.event.ts : r.as.sample.ts) > now_us() + opt_max_future)
            ar = AGG_FUTURE;
        else if (data && partials) ar = agg_parts_record(&a.parts, &r, &eng);
        else if (data && r.type == &Event_desc) ar = agg_engine_event(a.eng, &r.as.event);
        else if (data) ar = agg_engine_sample(a.eng, &r.as.sample);
        else if (merge && r.type == &MetricPartial_desc) {
            const char *why = "";
            int mr = agg_partial_merge(a.eng, &r.as.metric_partial, &a.psc, &why);
            if (mr == AGG_ERR) { rc = -1; break; }
            if (mr == AGG_BADVALUE) stream_reject(a.in, &r.pos, "bad_partial", why, r.data, r.len);
            else merged++;
        }
        else if (opt_pass) { if (stream_write_rec(a.out, &r) < 0) { rc = -1; break; } }
        else a.ignored++;
        if (ar == AGG_ERR) { rc = -1; break; }
        if (ar != AGG_OK && ar != AGG_DUP) agg_reject(&a, eng, &r, ar);
        else if (ar == AGG_OK && data && !partials) {
            stream_in_note_time(a.in, &r.pos, r.type == &Event_desc ? r.as.event.ts : r.as.sample.ts);
            if (agg_engine_advance(a.eng, stream_in_event_time(a.in)) != AGG_OK) { rc = -1; break; }
        }
        if (opt_crash_after && !partials && stream_in_count(a.in) >= (uint64_t)opt_crash_after) raise(SIGKILL);
        int want = a.fs && agg_features_want_save(a.fs);
        if (stream_sync_due(a.in) || want) {
            /* and partitions idle while others are busy */
            if (partials && agg_parts_tick(&a.parts) < 0) { rc = -1; break; }
            if (!a.st || want || mono_us() - a.last_sync >= opt_ckpt_every)
                if (agg_sync(&a) < 0) { rc = -1; break; }
            agg_update_metrics(&a);
            if (a.eng)
                sd_status("%llu series, %llu windows emitted", (unsigned long long)agg_engine_series(a.eng),
                          (unsigned long long)agg_engine_counters(a.eng)->windows_emitted);
        }
    }
    /* End of input closes every window. A stop request with --state keeps
     * them open in the checkpoint instead, for the next run to continue. */
    if (a.failed) rc = -1;
    if (partials) {
        /* a stopped Kafka member leaves its open windows to the next owner,
         * who re-reads them from the committed offset */
        if (rc == 0 && !(stream_in_is_kafka(a.in) && sig_stop_requested()) && agg_parts_finish(&a.parts) < 0) rc = -1;
    } else if (rc == 0 && !(a.st && sig_stop_requested()) && agg_engine_flush(a.eng) != AGG_OK) rc = -1;
    if (rc == 0 && agg_sync(&a) < 0) rc = -1;
    agg_update_metrics(&a);
    if (rc == 0) status = 0;
    agg_counters sum;
    uint64_t dups, untracked;
    agg_parts_sum(&a.parts, &sum, &dups, &untracked);
    const agg_counters *c = a.eng ? agg_engine_counters(a.eng) : &sum;
    agg_seen *seen = a.eng ? agg_engine_seen(a.eng) : NULL;
    if (seen) { dups = agg_seen_duplicates(seen); untracked = agg_seen_untracked(seen); }
    char extra[160] = "";
    if (partials) snprintf(extra, sizeof extra, ",\"partials\":%llu", (unsigned long long)a.parts.partials);
    if (merge)
        snprintf(extra, sizeof extra, ",\"partials\":%llu,\"repeats\":%llu,\"late_partials\":%llu",
                 (unsigned long long)merged, (unsigned long long)agg_engine_merge_repeats(a.eng),
                 (unsigned long long)agg_engine_merge_late(a.eng));
    log_kv(LOG_INFO, "done", "\"events\":%llu,\"samples\":%llu,\"late\":%llu,\"windows\":%llu,"
           "\"metrics\":%llu,\"series_dropped\":%llu,\"ignored\":%llu,\"duplicates\":%llu,"
           "\"dedup_untracked\":%llu%s",
           (unsigned long long)c->events, (unsigned long long)c->samples, (unsigned long long)c->late,
           (unsigned long long)c->windows_emitted, (unsigned long long)c->metrics_emitted,
           (unsigned long long)c->series_dropped, (unsigned long long)a.ignored,
           (unsigned long long)dups, (unsigned long long)untracked, extra);
done:
    if (a.in) stream_in_close(a.in);
    if (a.out && stream_out_close(a.out) != 0) status = 1;
    agg_engine_free(a.eng);
    agg_parts_free(&a.parts);
    agg_pscratch_free(&a.psc);
    agg_features_free(a.fs);
    agg_menc_free(a.menc);
    if (a.st) state_close(a.st);
    metrics_shutdown();
    return status;
}
