/* main.c — drift: Metric records in, Drift records (and Holt forecasts as
 * Metric records) out. The detectors live in detect.c, the per-series state
 * in engine.c; this file gives libstream's runner (runner.h) the flags,
 * the callbacks and the counters. See README.md. */
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "engine.h"
#include "log.h"
#include "runner.h"
#include "sig.h"

#define DRIFT_STATE_VERSION 1
#define DRIFT_BLOB_KEY "drift.engine"

static cli_common common;
#define STR_(x) #x
#define STR(x) STR_(x)      /* a default below from its macro in engine.h */

/* Everything the flags set: the engine's settings directly (the table
 * below points at their members), and what only this file reads. */
typedef struct drift_flags {
    drift_config cfg;
    const char *field;                  /* parsed into cfg.field, cfg.field_q */
    cli_list horizons;                  /* parsed into cfg.horizons */
    char horizon_names[DRIFT_MAX_HORIZONS][24];
    int64_t checkpoint_every, crash_after;
    int pass_through;
} drift_flags;
static drift_flags fl;

static const cli_name detector_names[] = {
    { "ph", Detector_page_hinkley }, { "cusum", Detector_cusum }, { "adwin", Detector_adwin },
    { "zscore", Detector_zscore }, { "psi", Detector_psi }, { "ks", Detector_ks },
    { "page_hinkley", Detector_page_hinkley }, { 0 }
};

#define AT(member, dv) CLI_FIELD(drift_flags, member, dv)
static const cli_opt drift_opts[] = {
    { "detectors", 'd', CLI_ENUM_SET, AT(cfg.detectors, "ph,cusum,adwin,zscore,psi,ks"), NULL,
      "detectors to run", .names = detector_names },
    { "field", 'f', CLI_STR, AT(field, "value"), "FIELD",
      "the observation: value, mean, count, sum, min, max, stddev or pQ (quantile Q%, e.g. p99, p99.9)", 0, 0 },
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
      "Holt forecasts this far past each observation's window_end (default: 15m,30m,60m,120m)", 0, 0 },
    { "holt-alpha", 0, CLI_DOUBLE, AT(cfg.holt_alpha, "0.5"), "A",
      "Holt: level smoothing", 0.0001, 1 },
    { "holt-beta", 0, CLI_DOUBLE, AT(cfg.holt_beta, "0.1"), "B",
      "Holt: trend smoothing", 0, 1 },
    { "max-series", 0, CLI_INT, AT(cfg.max_series, "100000"), "N",
      "series tracked at once; records of series past it are counted (untracked) and produce nothing", 1, 1e9 },
    { "checkpoint-interval", 0, CLI_DURATION, AT(checkpoint_every, "10s"), "DURATION",
      "with --state: save the detectors' state and input offsets this often (and at exit)", 0, 0 },
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

typedef struct drift_main {
    drift_engine *eng;
    stream_out *out;
    uint64_t skip;      /* input records the saved state already covers */
} drift_main;

static int emit_drift(void *ctx, const Drift *d)
{
    drift_main *a = ctx;
    return stream_write(a->out, &Drift_desc, d, NULL, 0);
}

static int emit_metric(void *ctx, const Metric *m)
{
    drift_main *a = ctx;
    return stream_write(a->out, &Metric_desc, m, NULL, 0);
}

/* What the table cannot say: --field's pQ, the horizons, and limits
 * between flags. */
static void check_config(drift_flags *f)
{
    drift_config *c = &f->cfg;
    static const char *const fields[] = { "value", "mean", "count", "sum", "min", "max", "stddev" };
    c->field = -1;
    for (int i = 0; i < 7; i++) if (!strcmp(f->field, fields[i])) c->field = i;
    if (c->field < 0) {
        char *end;
        double q = f->field[0] == 'p' ? strtod(f->field + 1, &end) : NAN;
        if (!(q >= 0 && q <= 100) || *end || end == f->field + 1)
            cli_usage_error(&drift_spec, "--field: '%s' is not value, mean, count, sum, min, max, stddev or pQ "
                            "(p50, p99, p99.9)", f->field);
        c->field = DRIFT_F_QUANTILE;
        c->field_q = q / 100;
    }
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
        if (cli_parse_duration(h, &c->horizons[i]) < 0 || c->horizons[i] <= 0 ||
            c->horizons[i] > (int64_t)3650 * 86400 * 1000000)
            cli_usage_error(&drift_spec, "--horizons: '%s' is not a duration from 1us to 3650d", h);
        snprintf(f->horizon_names[i], sizeof f->horizon_names[i], "%s", h);
        c->horizon_names[i] = f->horizon_names[i];
    }
    c->nhorizons = nh;
}

/* The detectors as --state saved them, and how many input records that
 * covers. */
static int drift_restore(void *ctx, runner *r, state *st)
{
    drift_main *a = ctx;
    void *data = NULL;
    size_t len = 0;
    int g = state_get(st, DRIFT_BLOB_KEY, &data, &len);
    if (g < 0) return RUNNER_FAIL;
    if (g == 0) return RUNNER_OK;
    char err[300];
    int lr = drift_engine_load(a->eng, data, len, &a->skip, err, sizeof err);
    free(data);
    if (lr < 0) {
        log_error("%s: %s", common.state, err);
        return lr == DRIFT_LOAD_SETTINGS ? RUNNER_USAGE : RUNNER_FAIL;
    }
    log_info("resumed from %s: %llu series", common.state, (unsigned long long)drift_engine_series(a->eng));
    return RUNNER_OK;
}

/* A regular file is read again from its start after a crash: skip what the
 * saved state covers. A pipe brings new data, so nothing is skipped (a
 * replayed overlap is refused as out_of_order). Kafka resumes at the saved
 * offsets. */
static int drift_init(void *ctx, runner *r)
{
    drift_main *a = ctx;
    a->out = runner_out(r);
    stream_in *in = runner_in(r);
    struct stat sb;
    int regular = strcmp(common.in, "-") != 0 && stat(common.in, &sb) == 0 && S_ISREG(sb.st_mode);
    if (stream_in_is_kafka(in) || !regular) a->skip = 0;
    else if (a->skip) log_info("skipping the %llu input records the saved state already covers", (unsigned long long)a->skip);
    if (!runner_state(r) && stream_in_is_kafka(in))
        log_warn("Kafka input without --state: the detectors start from nothing after a restart");
    return RUNNER_OK;
}

static const char *const reasons[] = { "", "bad_value", "missing_field", "out_of_order", "bad_record" };

static int drift_record(void *ctx, runner *r, stream_rec *rec)
{
    drift_main *a = ctx;
    stream_in *in = runner_in(r);
    if (a->skip && stream_in_count(in) <= a->skip) return RUNNER_SKIP;
    if (rec->type == &Metric_desc) {
        const char *why = "";
        int er = drift_engine_metric(a->eng, &rec->as.metric, &why);
        if (er == DRIFT_ERR) return RUNNER_FAIL;
        if (er != DRIFT_OK) {
            const Metric *m = &rec->as.metric;
            char detail[300];
            snprintf(detail, sizeof detail, "Metric %.*s: %s", (int)(m->name.len > 100 ? 100 : m->name.len),
                     m->name.ptr ? m->name.ptr : "", why);
            stream_reject(in, &rec->pos, reasons[er], detail, rec->data, rec->len);
        }
        if (fl.pass_through && stream_write_rec(a->out, rec) < 0) return RUNNER_FAIL;
    } else if (fl.pass_through) {
        if (stream_write_rec(a->out, rec) < 0) return RUNNER_FAIL;
    } else {
        char detail[160];
        snprintf(detail, sizeof detail, "a %s record; drift reads Metric records (--pass-through forwards others)",
                 fb_desc_name(rec->type));
        stream_reject(in, &rec->pos, "wrong_type", detail, rec->data, rec->len);
    }
    if (fl.crash_after && stream_in_count(in) >= (uint64_t)fl.crash_after) raise(SIGKILL);
    return RUNNER_OK;
}

static int drift_tick(void *ctx, runner *r)
{
    if (sig_reload_requested())
        log_info("SIGHUP: drift has no configuration file to reload; its settings are its flags");
    return RUNNER_OK;
}

/* The detectors and the input position (records read, for byte streams;
 * Kafka's offsets are saved beside it by the runner). */
static int drift_save(void *ctx, runner *r, state *st)
{
    drift_main *a = ctx;
    uint8_t *blob;
    size_t len;
    stream_in *in = runner_in(r);
    drift_engine_save(a->eng, stream_in_is_kafka(in) ? 0 : stream_in_count(in), &blob, &len);
    int rc = state_put(st, DRIFT_BLOB_KEY, blob, len);
    free(blob);
    return rc;
}

typedef struct drift_stats {
    drift_counters c;
    uint64_t series, checkpoints;
} drift_stats;

static void drift_stats_fill(void *ctx, runner *r, void *snap)
{
    drift_main *a = ctx;
    drift_stats *s = snap;
    s->c = *drift_engine_counters(a->eng);
    s->series = drift_engine_series(a->eng);
    s->checkpoints = runner_checkpoints(r);
}

#define C(f) offsetof(drift_stats, c.f)
static const counter_def drift_counter_table[] = {
    { COUNTER_DONE_ONLY, NULL, NULL, C(observations), "observations", NULL },
    { COUNTER_GAUGE, "streamrec_drift_series", "series tracked", offsetof(drift_stats, series), "series", "series" },
    { COUNTER_TOTAL, "streamrec_drift_drifts_total", "Drift records of kind drift", C(drifts), "drifts", "drifts" },
    { COUNTER_TOTAL, "streamrec_drift_anomalies_total", "Drift records of kind anomaly", C(anomalies), "anomalies",
      "anomalies" },
    { COUNTER_TOTAL, "streamrec_drift_recoveries_total", "Drift records of kind recovery", C(recoveries), "recoveries",
      NULL },
    { COUNTER_TOTAL, "streamrec_drift_forecasts_total", "forecast Metric records", C(forecasts), "forecasts", NULL },
    { COUNTER_TOTAL, "streamrec_drift_untracked_total", "records of new series refused past --max-series",
      C(untracked), "untracked", NULL },
    { COUNTER_TOTAL, "streamrec_drift_checkpoints_total", "state checkpoints written",
      offsetof(drift_stats, checkpoints), NULL, NULL },
    { 0 }
};
#undef C

int main(int argc, char **argv)
{
    cli_parse(argc, argv, &drift_spec, &common);
    check_config(&fl);
    cli_start(&drift_spec, &common);

    drift_main a = {0};
    a.eng = drift_engine_new(&fl.cfg, emit_drift, emit_metric, &a);
    const runner_def def = {
        .stage = "drift", .state_version = DRIFT_STATE_VERSION,
        .tick_ms = 500, .checkpoint_us = fl.checkpoint_every,
        .counters = drift_counter_table, .stats_size = sizeof(drift_stats), .stats = drift_stats_fill,
        .restore = drift_restore, .init = drift_init, .record = drift_record, .tick = drift_tick, .save = drift_save,
    };
    int status = runner_main(&def, &common, &a);
    drift_engine_free(a.eng);
    cli_list_free(&fl.horizons);
    cli_common_free(&common);
    return status;
}
