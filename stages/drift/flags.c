/* flags.c — drift's flag table and the checks between flags (flags.h). */
#include "flags.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)      /* a default below from its macro in engine.h */

static drift_flags fl;

static const cli_name detector_names[] = {
    { "ph", Detector_page_hinkley }, { "cusum", Detector_cusum }, { "adwin", Detector_adwin },
    { "zscore", Detector_zscore }, { "psi", Detector_psi }, { "ks", Detector_ks },
    { "page_hinkley", Detector_page_hinkley }, { 0 }
};

#define AT(member, dv) CLI_FIELD(drift_flags, member, dv)
/* --field: the observation (DRIFT_F_*), and for pQ the quantile q in
 * [0,1]; -1 for neither a summary's name nor pQ. */
static int field_parse(const char *v, double *q)
{
    static const char *const fields[] = { "value", "mean", "count", "sum", "min", "max", "stddev" };
    for (int i = 0; i < 7; i++) if (!strcmp(v, fields[i])) return i;
    char *end;
    double p = v[0] == 'p' ? strtod(v + 1, &end) : NAN;
    if (!(p >= 0 && p <= 100) || *end || end == v + 1) return -1;
    *q = p / 100;
    return DRIFT_F_QUANTILE;
}

static int field_check(const char *v, char *why, size_t n)
{
    double q;
    if (field_parse(v, &q) >= 0) return 0;
    snprintf(why, n, "'%s' is not value, mean, count, sum, min, max, stddev or pQ (p50, p99, p99.9)", v);
    return -1;
}

/* One --horizons item: none, or a duration from 1us to 3650d ('none' with
 * others and the count are relations between items: check_config). */
static int horizon_check(const char *v, char *why, size_t n)
{
    int64_t us;
    if (!strcmp(v, "none") ||
        (cli_parse_duration(v, &us) == 0 && us > 0 && us <= (int64_t)3650 * 86400 * 1000000))
        return 0;
    snprintf(why, n, "'%s' is not a duration from 1us to 3650d", v);
    return -1;
}

static const cli_opt drift_opts[] = {
    { "detectors", 'd', CLI_ENUM_SET, AT(cfg.detectors, "ph,cusum,adwin,zscore,psi,ks"), NULL,
      "detectors to run", .names = detector_names },
    { "field", 'f', CLI_STR, AT(field, "value"), "FIELD",
      "the observation: value, mean, count, sum, min, max, stddev or pQ (quantile Q%, e.g. p99, p99.9)", 0, 0,
      .check = field_check },
    { "threshold", 't', CLI_DOUBLE, AT(cfg.threshold, "2.5"), "Z",
      "zscore: the smallest threshold of |x - median| / robust sd (it adapts above to keep --anomaly-rate)", 0.1, 1000 },
    { "anomaly-rate", 0, CLI_DOUBLE, AT(cfg.anomaly_rate, STR(DRIFT_ANOMALY_RATE)), "R",
      "zscore: target anomalies per point on a stationary series", 1e-7, 0.5 },
    { "ewma-alpha", 0, CLI_DOUBLE, AT(cfg.ewma_alpha, "0.05"), "A",
      "unused since the zscore baseline became a median/MAD window (kept so configs still start)", 0.0001, 1 },
    { "warmup", 0, CLI_INT, AT(cfg.warmup, "50"), "N",
      "observations per series before any alert or forecast (also the ph/cusum baseline length)", 2, 1e9 },
    { "cooldown", 0, CLI_INT, AT(cfg.cooldown, "50"), "N",
      "ph, cusum, adwin: observations after a drift before the same detector reports again", 0, 1e12 },
    { "recovery", 0, CLI_INT, AT(cfg.recovery, "3"), "N",
      "zscore: consecutive observations within the threshold that end an anomaly (recovery)", 1, 1e9 },
    { "ph-delta", 0, CLI_DOUBLE, AT(cfg.ph_delta, STR(DRIFT_PH_DELTA)), "SD",
      "Page-Hinkley: tolerated change, in baseline standard deviations", 0, 100 },
    { "ph-lambda", 0, CLI_DOUBLE, AT(cfg.ph_lambda, STR(DRIFT_PH_LAMBDA)), "SD",
      "Page-Hinkley: alarm threshold, in baseline standard deviations", 0.01, 1e6 },
    { "cusum-k", 0, CLI_DOUBLE, AT(cfg.cusum_k, STR(DRIFT_CUSUM_K)), "SD",
      "CUSUM: reference value (slack), in baseline standard deviations", 0, 100 },
    { "cusum-h", 0, CLI_DOUBLE, AT(cfg.cusum_h, STR(DRIFT_CUSUM_H)), "SD",
      "CUSUM: decision interval, in baseline standard deviations", 0.01, 1e6 },
    { "adwin-delta", 0, CLI_DOUBLE, AT(cfg.adwin_delta, "0.002"), "P",
      "ADWIN: confidence parameter delta", 1e-12, 0.5 },
    { "adwin-max", 0, CLI_INT, AT(cfg.adwin_max, "128"), "N",
      "ADWIN: most observations kept per series", 10, 100000 },
    { "adwin-min", 0, CLI_INT, AT(cfg.adwin_min, "5"), "N",
      "ADWIN: fewest observations on each side of a cut", 1, 10000 },
    { "window", 'w', CLI_INT, AT(cfg.window, "100"), "N",
      "psi, ks: size of the reference window (the first N observations) and of the current one (the last N)", 5, 10000 },
    { "every", 0, CLI_INT, AT(cfg.every, "10"), "N",
      "psi, ks: compare the windows every N observations", 1, 1e9 },
    { "psi-bins", 0, CLI_INT, AT(cfg.bins, "5"), "N",
      "psi: bins, at the reference window's quantiles", 2, 100 },
    { "psi-threshold", 0, CLI_DOUBLE, AT(cfg.psi_threshold, "0.25"), "X",
      "psi: a PSI above this is drift", 1e-6, 1e6 },
    { "ks-alpha", 0, CLI_DOUBLE, AT(cfg.ks_alpha, "0.001"), "P",
      "ks: a p-value below this is drift", 1e-300, 0.5 },
    { "horizons", 0, CLI_LIST, AT(horizons, NULL), "DURATION,...|none",
      "Holt forecasts this far past each observation's window_end (default: 15m,30m,60m,120m)", 0, 0,
      .check = horizon_check },
    { "holt-alpha", 0, CLI_DOUBLE, AT(cfg.holt_alpha, "0.5"), "A",
      "Holt: level smoothing", 0.0001, 1 },
    { "holt-beta", 0, CLI_DOUBLE, AT(cfg.holt_beta, "0.1"), "B",
      "Holt: trend smoothing", 0, 1 },
    { "max-series", 0, CLI_INT, AT(cfg.max_series, "100000"), "N",
      "series tracked at once; records of series past it are counted (untracked) and produce nothing", 1, 1e9 },
    { "checkpoint-interval", 0, CLI_DURATION, AT(checkpoint_every, "10s"), "DURATION",
      "with --state or --changelog: save the detectors' state and input offsets this often (and at exit)", 0, 0 },
    { "changelog", 0, CLI_STR, AT(changelog, NULL), "kafka://HOST:PORT/TOPIC",
      "Kafka input in a group: write each series' state to this compacted topic (as many partitions as the "
      "input) and read it back when its partition is assigned, so the series follows its partition "
      "(instead of --state)", 0, 0 },
    { "pass-through", 0, CLI_BOOL, AT(pass_through, NULL), NULL,
      "write the input records through too (default: only Drift and forecasts; other record types are rejected)", 0, 0 },
    { "crash-after", 0, CLI_INT, AT(crash_after, "0"), "N",
      "testing: kill -9 itself after N input records (0: never)", 0, 1e15 },
    { 0 }
};
#undef AT

static const cli_spec drift_spec = {
    .stage = "drift",
    .summary = "drift and anomaly detection per Metric series (Page-Hinkley, CUSUM, ADWIN, robust z-score, PSI, KS) and Holt forecasts",
    .usage = "drift [FLAGS]",
    .example = "aggregate --window 60s < samples | drift --detectors zscore,cusum --horizons none --format json",
    .opts = drift_opts,
    .conf = &fl,
};

/* What the table cannot say: limits between flags, and the horizons as
 * numbers (each was checked as it was parsed: horizon_check). */
static void check_config(drift_flags *f)
{
    drift_config *c = &f->cfg;
    const char *in = f->common.in ? f->common.in : "-";
    if (f->changelog && strncmp(f->changelog, "kafka://", 8))
        cli_usage_error(&drift_spec, "--changelog %s: not a kafka:// URI", f->changelog);
    if (f->changelog && strncmp(in, "kafka://", 8))
        cli_usage_error(&drift_spec, "--changelog needs a Kafka --in (a consumer group whose partitions it follows)");
    /* one place holds the detectors: both would disagree after a partition moves */
    if (f->changelog && f->common.state)
        cli_usage_error(&drift_spec, "--changelog keeps the detectors in Kafka: leave --state out");
    c->field = field_parse(f->field, &c->field_q);
    if (2 * c->adwin_min > c->adwin_max)
        cli_usage_error(&drift_spec, "--adwin-min: %lld is more than half of --adwin-max %lld",
                        (long long)c->adwin_min, (long long)c->adwin_max);
    if (c->bins > c->window)
        cli_usage_error(&drift_spec, "--psi-bins: %lld bins for a window of %lld", (long long)c->bins, (long long)c->window);
    static const char *const defh[] = { "15m", "30m", "60m", "120m" };
    int nh = f->horizons.n ? f->horizons.n : 4;
    if (nh > DRIFT_MAX_HORIZONS) cli_usage_error(&drift_spec, "--horizons: at most %d", DRIFT_MAX_HORIZONS);
    for (int i = 0; i < nh; i++) {
        const char *h = f->horizons.n ? f->horizons.items[i] : defh[i];
        if (!strcmp(h, "none")) {
            if (nh != 1) cli_usage_error(&drift_spec, "--horizons: 'none' cannot be combined with durations");
            nh = 0;
            break;
        }
        (void)cli_parse_duration(h, &c->horizons[i]);
        snprintf(f->horizon_names[i], sizeof f->horizon_names[i], "%s", h);
        c->horizon_names[i] = f->horizon_names[i];
    }
    c->nhorizons = nh;
}

const drift_flags *drift_flags_start(int argc, char **argv)
{
    cli_parse(argc, argv, &drift_spec, &fl.common);
    check_config(&fl);
    cli_start(&drift_spec, &fl.common);
    return &fl;
}

void drift_flags_free(void)
{
    cli_list_free(&fl.horizons);
    cli_common_free(&fl.common);
}
