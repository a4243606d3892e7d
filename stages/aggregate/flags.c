/* flags.c — aggregate's flag table and the engine's config built from it
 * (flags.h). The rows write into agg_flags (cli.h's CLI_FIELD); what the
 * table cannot say (lists into arrays, limits between flags) is checked
 * after parsing. */
#include "flags.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --features is a set: name value v sets bit 1 << v of cfg.features.
 * "none" is a name of its own, alone: its bit is not a feature */
_Static_assert(AGG_FEAT_USER == 1 << 0 && AGG_FEAT_ITEM == 1 << 1, "--features bits are the engine's");
#define FEAT_NONE_BIT 2
static const cli_name feature_names[] = { { "user", 0 }, { "item", 1 }, { "none", FEAT_NONE_BIT }, { 0 } };
static const cli_name emit_names[] = { { "metrics", AGG_MODE_METRICS }, { "partials", AGG_MODE_PARTIALS }, { 0 } };

#define AT(member, dv) CLI_FIELD(agg_flags, member, dv)
static const cli_opt agg_opts[] = {
    { "window", 'w', CLI_LIST, AT(window, NULL), "DURATION,...",
      "window sizes, several at once (default: 60s)", 0, 0 },
    { "hop", 0, CLI_LIST, AT(hop, NULL), "DURATION,...",
      "hopping windows: one hop for every window, or one per window (default: tumbling)", 0, 0 },
    { "allowed-lateness", 'l', CLI_DURATION, AT(cfg.lateness, "5s"), "DURATION",
      "watermark = input event time (Kafka: minimum over partitions) - this; events of closed windows are late (dead-lettered)", 0, 0 },
    { "max-future", 0, CLI_DURATION, AT(max_future, "1d"), "DURATION",
      "records timed more than this ahead of the clock are refused (future_event), so one bad "
      "timestamp cannot close every window (0: no check)", 0, 0 },
    { "by", 'b', CLI_LIST, AT(by, NULL), "KEY,...",
      "grouping keys: sample series keep only these labels; events{} gets these fields/attrs", 0, 0 },
    { "max-series", 0, CLI_INT, AT(cfg.max_series, "1000000"), "N",
      "series held at once over all open windows and feature buckets; past it new series are dropped (counted)", 1, 1e12 },
    { "top-k", 'k', CLI_INT, AT(topk, "10"), "N",
      "items in the per-window top.clicks / top.purchases leaderboards (0: none)", 0, 100000 },
    { "features", 0, CLI_ENUM_SET, AT(cfg.features, "user,item"), "user,item|none",
      "feature store: which keys get user.* / item.* features", 0, 0, .names = feature_names },
    { "max-features", 0, CLI_INT, AT(features.max_keys, "1000000"), "N",
      "feature rows cached in memory (without --state: tracked at all)", 1, 1e12 },
    { "relative-accuracy", 0, CLI_DOUBLE, AT(cfg.alpha, "0.01"), "X",
      "quantile sketch relative error bound", 0.0001, 0.5 },
    { "quantiles", 'q', CLI_LIST, AT(quantiles, NULL), "Q,...",
      "quantiles emitted per sample series (default: 0.5,0.9,0.95,0.99,0.999)", 0, 0 },
    { "dedup-ids", 0, CLI_INT, AT(cfg.dedup_ids, "1000000"), "N",
      "event_ids and sample_ids held at once (24-48 bytes each) to drop an Event or Sample already "
      "counted in an open window, as an upstream replay resends it (0: no dedup)", 0, 1e10 },
    { "checkpoint-interval", 0, CLI_DURATION, AT(checkpoint_every, "10s"), "DURATION",
      "with --state: save windows, features and offsets this often (and at exit)", 0, 0 },
    { "pass-through", 0, CLI_BOOL, AT(pass_through, NULL), NULL,
      "write records of other types through unchanged (default: ignore and count them)", 0, 0 },
    { "activity-half-life", 0, CLI_DURATION, AT(features.activity_hl, "7d"), "DURATION",
      "half-life of activity_score", 1, 0 },
    { "recency-half-life", 0, CLI_DURATION, AT(features.recency_hl, "1d"), "DURATION",
      "half-life of recency_score", 1, 0 },
    { "popularity-half-life", 0, CLI_DURATION, AT(features.popularity_hl, "1d"), "DURATION",
      "half-life of item popularity", 1, 0 },
    { "emit", 0, CLI_ENUM, AT(cfg.mode, "metrics"), "metrics|partials",
      "partials: per input partition, each series' mergeable state per window (MetricPartial) for "
      "aggregate --merge, so N instances in one consumer group give one process's metrics", 0, 0,
      .names = emit_names },
    { "merge", 0, CLI_BOOL, AT(merge, NULL), NULL,
      "read the MetricPartials of aggregate --emit partials; emit each window's Metrics once every "
      "source partition has passed it", 0, 0 },
    { "input-partition", 0, CLI_STR, AT(in_part_text, "0/1"), "I/P",
      "--emit partials from a file or pipe: it holds partition I of P of the stream", 0, 0 },
    { "crash-after", 0, CLI_INT, AT(crash_after, "0"), "N",
      "testing: kill -9 itself after N input records (0: never); with --emit partials at the first "
      "window closed after them, its partials delivered but not committed", 0, 1e15 },
    { 0 }
};

#undef AT

static cli_spec agg_spec = {
    .stage = "aggregate",
    .summary = "event-time windowed metrics (counts, CTR, distinct users, latency quantiles) and the feature store",
    .usage = "aggregate [FLAGS]",
    .example = "ingest < events.jsonl | aggregate --window 60s --format json | jq 'select(.name==\"request.duration_ms\")'",
    .opts = agg_opts,
};

/* What the table cannot say: the lists into the config's arrays, and the
 * limits between flags. */
static void agg_build_config(agg_flags *f)
{
    agg_config *c = &f->cfg;
    const char *def_window = "60s";
    int nw = f->window.n ? f->window.n : 1;
    if (nw > AGG_MAX_SPECS) cli_usage_error(&agg_spec, "--window: at most %d windows", AGG_MAX_SPECS);
    if (f->hop.n > 1 && f->hop.n != nw)
        cli_usage_error(&agg_spec, "--hop: give one hop, or one per window (%d)", nw);
    for (int i = 0; i < nw; i++) {
        const char *w = f->window.n ? f->window.items[i] : def_window;
        if (cli_parse_duration(w, &c->specs[i].size) < 0)
            cli_usage_error(&agg_spec, "--window: \"%s\" is not a duration", w);
        c->specs[i].hop = c->specs[i].size;
        if (f->hop.n) {
            const char *h = f->hop.items[f->hop.n > 1 ? i : 0];
            if (cli_parse_duration(h, &c->specs[i].hop) < 0)
                cli_usage_error(&agg_spec, "--hop: \"%s\" is not a duration", h);
        }
        const char *why;
        if (agg_wspec_check(&c->specs[i], &why) < 0)
            cli_usage_error(&agg_spec, "--window %s: %s", w, why);
    }
    c->nspecs = nw;
    if (f->features.activity_hl <= 0 || f->features.recency_hl <= 0 || f->features.popularity_hl <= 0)
        cli_usage_error(&agg_spec, "--activity/recency/popularity-half-life must be positive");
    if (f->by.n > AGG_MAX_BY) cli_usage_error(&agg_spec, "--by: at most %d keys", AGG_MAX_BY);
    for (int i = 0; i < f->by.n; i++) c->by[i] = f->by.items[i];
    c->nby = f->by.n;
    c->topk = (int)f->topk;
    if (f->merge) {
        if (c->mode) cli_usage_error(&agg_spec, "--merge reads partials and emits metrics: not with --emit partials");
        c->mode = AGG_MODE_MERGE;
        c->lateness = 0;        /* the emitters applied it: a partial's watermark is final */
        c->dedup_ids = 0;       /* events were deduplicated per partition by the emitters */
    }
    if (c->mode != AGG_MODE_PARTIALS && cli_given(&agg_spec, "input-partition"))
        cli_usage_error(&agg_spec, "--input-partition: only with --emit partials (which partition of the "
                        "stream a file or pipe holds)");
    if (c->mode == AGG_MODE_PARTIALS && f->common.state)
        cli_usage_error(&agg_spec, "--emit partials keeps no --state: the input topic is its changelog "
                        "(offsets are committed no further than its open windows need)");
    if ((c->features & (1 << FEAT_NONE_BIT)) && c->features != 1 << FEAT_NONE_BIT)
        cli_usage_error(&agg_spec, "--features: none goes alone, not with user or item");
    c->features &= AGG_FEAT_USER | AGG_FEAT_ITEM;
    static const double defq[] = { 0.5, 0.9, 0.95, 0.99, 0.999 };
    if (!f->quantiles.n) { memcpy(c->quantiles, defq, sizeof defq); c->nq = 5; }
    if (f->quantiles.n > AGG_MAX_QUANTILES) cli_usage_error(&agg_spec, "--quantiles: at most %d", AGG_MAX_QUANTILES);
    for (int i = 0; i < f->quantiles.n; i++) {
        char *end;
        double q = strtod(f->quantiles.items[i], &end);
        if (*end || end == f->quantiles.items[i] || !(q >= 0 && q <= 1))
            cli_usage_error(&agg_spec, "--quantiles: \"%s\" is not a number in [0,1]", f->quantiles.items[i]);
        c->quantiles[c->nq++] = q;
    }
}

void agg_flags_start(int argc, char **argv, agg_flags *f)
{
    memset(f, 0, sizeof *f);
    agg_spec.conf = f;
    cli_parse(argc, argv, &agg_spec, &f->common);
    agg_build_config(f);
    cli_start(&agg_spec, &f->common);
    /* checked after cli_start, so the shared flags' errors come first */
    if (f->cfg.mode == AGG_MODE_PARTIALS) {
        char slash;
        if (sscanf(f->in_part_text, "%d/%d%c", &f->in_part, &f->in_parts, &slash) != 2 || f->in_part < 0 ||
            f->in_parts < 1 || f->in_part >= f->in_parts || f->in_parts > AGG_MAX_SOURCES)
            cli_usage_error(&agg_spec, "--input-partition: \"%s\" is not I/P with 0 <= I < P <= %d",
                            f->in_part_text, AGG_MAX_SOURCES);
    }
}
