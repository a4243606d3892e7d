/* flags.c — aggregate's flag table and the engine's config built from it
 * (flags.h). */
#include "flags.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void agg_build_config(agg_config *c, const cli_common *common)
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
    if (c->mode == AGG_MODE_PARTIALS && common->state)
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

void agg_flags_start(int argc, char **argv, agg_flags *f)
{
    memset(f, 0, sizeof *f);
    cli_parse(argc, argv, &agg_spec, &f->common);
    agg_build_config(&f->cfg, &f->common);
    cli_start(&agg_spec, &f->common);
    /* checked after cli_start, so the shared flags' errors come first */
    if (f->cfg.mode == AGG_MODE_PARTIALS) {
        char slash;
        if (sscanf(opt_in_part, "%d/%d%c", &f->in_part, &f->in_parts, &slash) != 2 || f->in_part < 0 ||
            f->in_parts < 1 || f->in_part >= f->in_parts || f->in_parts > AGG_MAX_SOURCES)
            cli_usage_error(&agg_spec, "--input-partition: \"%s\" is not I/P with 0 <= I < P <= %d", opt_in_part,
                            AGG_MAX_SOURCES);
    }
    f->features = (agg_fcfg){ opt_act_hl, opt_rec_hl, opt_pop_hl, opt_max_features };
    f->max_future = opt_max_future;
    f->checkpoint_every = opt_ckpt_every;
    f->crash_after = opt_crash_after;
    f->pass_through = opt_pass;
}
