/* config.c — the experiment config's field tables (yamlcfg.h does the
 * strict parsing) and the checks that span fields: allocations summing to 1,
 * a known control, one primary metric, times, the sequential setting. */
#include "config.h"
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "assign.h"
#include "fbrec.h"
#include "timefmt.h"
#include "yamlcfg.h"

static const char *const ea_type_names[] = { "conversion", "numeric", "duration", "ratio", NULL };
static const char *const ea_goal_names[] = { "maximize", "minimize", NULL };
static const char *const ea_agg_names[] = { "sum", "mean", "count", NULL };
static const char *const ea_seq_names[] = { "msprt", "off", NULL };
static const char *const ea_corr_names[] = { "holm", "bonferroni", "none", NULL };
static const char *const ea_expo_names[] = { "any", "exposure", NULL };

#define MF(k, t, m) .key = k, .type = t, .offset = offsetof(ea_metric_cfg, m)
static const yc_field ea_metric_fields[] = {
    { MF("name", YC_STR, name), .required = 1, .line_offset = offsetof(ea_metric_cfg, line) },
    { MF("type", YC_ENUM, type), .required = 1, .enum_names = ea_type_names },
    { MF("event", YC_STR, event), .required = 1 },
    { MF("window", YC_DURATION, window) },
    { MF("goal", YC_ENUM, goal), .enum_names = ea_goal_names },
    { MF("aggregate", YC_ENUM, aggregate), .enum_names = ea_agg_names },
    { MF("primary", YC_BOOL, primary) },
    { MF("min_effect", YC_DOUBLE, min_effect), .min = 0, .max = 1e300 },
    { MF("tau", YC_DOUBLE, tau), .min = 0, .max = 1e300, .line_offset = offsetof(ea_metric_cfg, tau_line) },
    { MF("covariate", YC_STR, covariate), .line_offset = offsetof(ea_metric_cfg, covariate_line) },
    { MF("denominator", YC_STR, denominator) },
    { MF("quantile", YC_DOUBLE, quantile), .line_offset = offsetof(ea_metric_cfg, quantile_line) },
};
static const yc_struct ea_metric_struct = { "metric", ea_metric_fields,
    (int)(sizeof ea_metric_fields / sizeof ea_metric_fields[0]), sizeof(ea_metric_cfg) };

#define VF(k, t, m) .key = k, .type = t, .offset = offsetof(ea_variant_cfg, m)
static const yc_field ea_variant_fields[] = {
    { VF("name", YC_STR, name), .required = 1, .line_offset = offsetof(ea_variant_cfg, line) },
    { VF("allocation", YC_DOUBLE, allocation), .required = 1, .min = 0, .max = 1 },
};
static const yc_struct ea_variant_struct = { "variant", ea_variant_fields, 2, sizeof(ea_variant_cfg) };

#define EF(k, t, m) .key = k, .type = t, .offset = offsetof(ea_experiment_cfg, m)
static const yc_field ea_exp_fields[] = {
    { EF("name", YC_STR, name), .required = 1, .line_offset = offsetof(ea_experiment_cfg, line) },
    { EF("control", YC_STR, control), .required = 1, .line_offset = offsetof(ea_experiment_cfg, control_line) },
    { EF("variants", YC_LIST, variants), .required = 1, .sub = &ea_variant_struct,
      .count_offset = offsetof(ea_experiment_cfg, nvariants),
      .line_offset = offsetof(ea_experiment_cfg, variants_line) },
    { EF("metrics", YC_LIST, metrics), .required = 1, .sub = &ea_metric_struct,
      .count_offset = offsetof(ea_experiment_cfg, nmetrics) },
    { EF("start", YC_STR, start), .line_offset = offsetof(ea_experiment_cfg, start_line) },
    { EF("end", YC_STR, end), .line_offset = offsetof(ea_experiment_cfg, end_line) },
    { EF("alpha", YC_DOUBLE, alpha), .line_offset = offsetof(ea_experiment_cfg, alpha_line) },
    { EF("min_sample_size", YC_INT, min_sample_size), .min = 0, .max = 1e15,
      .line_offset = offsetof(ea_experiment_cfg, mss_line) },
    { EF("sequential", YC_ENUM, sequential), .enum_names = ea_seq_names },
    { EF("correction", YC_ENUM, correction), .enum_names = ea_corr_names },
    { EF("exposure", YC_ENUM, exposure), .enum_names = ea_expo_names },
    { EF("salt", YC_STR, salt) },
};
static const yc_struct ea_exp_struct = { "experiment", ea_exp_fields,
    (int)(sizeof ea_exp_fields / sizeof ea_exp_fields[0]), sizeof(ea_experiment_cfg) };

static const yc_field ea_root_fields[] = {
    { .key = "experiments", .type = YC_LIST, .offset = offsetof(ea_config, experiments),
      .required = 1, .sub = &ea_exp_struct, .count_offset = offsetof(ea_config, nexperiments) },
};
static const yc_struct ea_root_struct = { "config", ea_root_fields, 1, sizeof(ea_config) };

int ea_config_find(const ea_config *cfg, const char *name, size_t len)
{
    for (int i = 0; i < cfg->nexperiments; i++) {
        const char *n = cfg->experiments[i].name;
        if (strlen(n) == len && memcmp(n, name, len) == 0) return i;
    }
    return -1;
}

int ea_variant_find(const ea_experiment_cfg *e, const char *name, size_t len)
{
    for (int i = 0; i < e->nvariants; i++) {
        const char *n = e->variants[i].name;
        if (strlen(n) == len && memcmp(n, name, len) == 0) return i;
    }
    return -1;
}

#define FAIL(line, ...) do { int o_ = snprintf(err, errlen, "%s:%d: ", file, (line)); \
    if (o_ < 0 || (size_t)o_ >= errlen) o_ = 0; \
    snprintf(err + o_, errlen - (size_t)o_, __VA_ARGS__); return -1; } while (0)

/* CUPED covariates, ratio denominators and quantiles: which metric kinds
 * they fit. Each per-user statistic they need must exist for every user the
 * arm counts (see README "What counts" and "Statistics"). */
static int ea_metric_check_kind(const char *file, ea_experiment_cfg *e, ea_metric_cfg *m,
                                char *err, size_t errlen)
{
    m->cov_val = -1;
    m->cov_event_type = m->den_event_type = -1;
    if (m->aggregate == EA_COUNT && m->type != EA_NUMERIC && m->type != EA_RATIO)
        FAIL(m->line, "metric \"%s\": aggregate: count is for numeric and ratio metrics", m->name);
    if (m->type == EA_RATIO) {
        if (!m->denominator || !m->denominator[0])
            FAIL(m->line, "metric \"%s\": a ratio metric needs denominator: the event counted per user "
                 "below the line (e.g. session)", m->name);
        if (m->aggregate == EA_MEAN)
            FAIL(m->line, "metric \"%s\": a ratio's numerator is a sum (aggregate: sum, the events' "
                 "values) or a count (aggregate: count), not a mean", m->name);
        m->den_event_type = EventType_parse(m->denominator, strlen(m->denominator));
    } else if (m->denominator) {
        FAIL(m->line, "metric \"%s\": denominator is for type: ratio", m->name);
    }
    if (m->covariate) {
        if (!m->covariate[0]) FAIL(m->covariate_line, "covariate: empty event name");
        int fits = m->type == EA_CONVERSION || (m->type == EA_NUMERIC && m->aggregate != EA_MEAN);
        if (!fits)
            FAIL(m->covariate_line, "metric \"%s\": covariate (CUPED) needs a value for every exposed "
                 "user: type conversion, or numeric with aggregate sum or count", m->name);
        m->cov_event_type = EventType_parse(m->covariate, strlen(m->covariate));
        m->cov_val = e->nvals++;
    }
    if (m->quantile_line) {
        if (!(m->quantile > 0 && m->quantile < 1)) FAIL(m->quantile_line, "quantile must be in (0, 1)");
        if (m->type != EA_NUMERIC && m->type != EA_DURATION)
            FAIL(m->quantile_line, "metric \"%s\": quantile is for numeric and duration metrics", m->name);
        if (m->covariate) FAIL(m->quantile_line, "metric \"%s\": quantile and covariate together are not "
                               "supported", m->name);
    }
    if (ea_metric_paired(m)) e->npaired++;
    return 0;
}

static int ea_config_check(const char *file, ea_config *cfg, char *err, size_t errlen)
{
    if (cfg->nexperiments == 0) FAIL(1, "no experiments");
    for (int x = 0; x < cfg->nexperiments; x++) {
        ea_experiment_cfg *e = &cfg->experiments[x];
        for (int y = 0; y < x; y++)
            if (!strcmp(cfg->experiments[y].name, e->name))
                FAIL(e->line, "experiment \"%s\" defined twice", e->name);
        if (!e->name[0]) FAIL(e->line, "experiment name is empty");
        if (e->nvariants < 2) FAIL(e->variants_line, "experiment \"%s\": at least two variants needed", e->name);
        if (e->nvariants > EA_MAX_VARIANTS)
            FAIL(e->variants_line, "experiment \"%s\": at most %d variants", e->name, EA_MAX_VARIANTS);
        double sum = 0;
        for (int i = 0; i < e->nvariants; i++) {
            sum += e->variants[i].allocation;
            for (int j = 0; j < i; j++)
                if (!strcmp(e->variants[j].name, e->variants[i].name))
                    FAIL(e->variants[i].line, "variant \"%s\" listed twice", e->variants[i].name);
        }
        if (fabs(sum - 1) > 1e-6)
            FAIL(e->variants_line, "experiment \"%s\": variant allocations sum to %.6g, not 1",
                 e->name, sum);
        e->control_idx = ea_variant_find(e, e->control, strlen(e->control));
        if (e->control_idx < 0)
            FAIL(e->control_line, "control \"%s\" is not one of the variants", e->control);
        ea_assign_bounds(e);
        if (e->alpha_line) {
            if (!(e->alpha > 0 && e->alpha < 0.5)) FAIL(e->alpha_line, "alpha must be in (0, 0.5)");
        } else e->alpha = 0.05;
        if (!e->mss_line) e->min_sample_size = 100;
        if (e->start && time_parse_iso(e->start, strlen(e->start), &e->start_us) < 0)
            FAIL(e->start_line, "start: not an ISO 8601 time: \"%s\"", e->start);
        if (e->end && time_parse_iso(e->end, strlen(e->end), &e->end_us) < 0)
            FAIL(e->end_line, "end: not an ISO 8601 time: \"%s\"", e->end);
        if (e->start && e->end && e->end_us <= e->start_us) FAIL(e->end_line, "end is not after start");
        if (e->nmetrics < 1) FAIL(e->line, "experiment \"%s\": no metrics", e->name);
        if (e->nmetrics > EA_MAX_METRICS) FAIL(e->line, "experiment \"%s\": at most %d metrics", e->name, EA_MAX_METRICS);
        e->primary_idx = -1;
        e->nvals = e->nmetrics;
        e->npaired = 0;
        for (int i = 0; i < e->nmetrics; i++) {
            ea_metric_cfg *m = &e->metrics[i];
            for (int j = 0; j < i; j++)
                if (!strcmp(e->metrics[j].name, m->name))
                    FAIL(m->line, "metric \"%s\" listed twice", m->name);
            if (m->primary) {
                if (e->primary_idx >= 0) FAIL(m->line, "experiment \"%s\": more than one primary metric", e->name);
                e->primary_idx = i;
            }
            m->event_type = EventType_parse(m->event, strlen(m->event));
            if (m->window < 0) FAIL(m->line, "metric \"%s\": negative window", m->name);
            if (ea_metric_check_kind(file, e, m, err, errlen) < 0) return -1;
            /* quantile metrics are fixed-horizon only: no mSPRT, no tau */
            if (e->sequential == EA_SEQ_MSPRT && !m->quantile_line && !(m->tau > 0)) {
                if (m->tau_line) FAIL(m->tau_line, "tau must be > 0");
                if (m->min_effect > 0) m->tau = m->min_effect;
                else if (m->type == EA_CONVERSION) m->tau = 0.05;
                else FAIL(m->line, "metric \"%s\": set tau (the effect size, in the metric's unit, "
                          "the sequential test is tuned for) or min_effect", m->name);
            }
        }
        if (e->primary_idx < 0) e->primary_idx = 0;
    }
    return 0;
}

static int ea_config_finish(const char *file, ea_config *cfg, char *err, size_t errlen)
{
    if (ea_config_check(file, cfg, err, errlen) < 0) { ea_config_free(cfg); return -1; }
    return 0;
}

int ea_config_load(const char *path, ea_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    if (yc_load(path, &ea_root_struct, cfg, err, errlen) < 0) return -1;
    return ea_config_finish(path, cfg, err, errlen);
}

int ea_config_load_string(const char *name, const char *text, ea_config *cfg,
                          char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    if (yc_load_string(name, text, strlen(text), &ea_root_struct, cfg, err, errlen) < 0) return -1;
    return ea_config_finish(name, cfg, err, errlen);
}

const ea_metric_cfg *ea_config_unmergeable(const ea_config *cfg, const char **experiment)
{
    for (int x = 0; x < cfg->nexperiments; x++)
        for (int m = 0; m < cfg->experiments[x].nmetrics; m++) {
            const ea_metric_cfg *mc = &cfg->experiments[x].metrics[m];
            if (mc->quantile_line) {
                *experiment = cfg->experiments[x].name;
                return mc;
            }
        }
    return NULL;
}

void ea_config_free(ea_config *cfg)
{
    yc_free(&ea_root_struct, cfg);
    memset(cfg, 0, sizeof *cfg);
}

/* One setting: the name formatted (a metric's carries its name, of any
 * length), the value as given. */
static void ea_setting(ea_setting_fn fn, void *ctx, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ea_setting(ea_setting_fn fn, void *ctx, const char *value, const char *fmt, ...)
{
    char small[128], *name = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof small && (name = malloc((size_t)n + 1))) {
        va_start(ap, fmt);
        vsnprintf(name, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    fn(ctx, name ? name : small, value);
    if (name != small) free(name);
}

void ea_config_settings(const ea_experiment_cfg *e, ea_setting_fn fn, void *ctx)
{
    char v[64];
    fn(ctx, "control", e->variants[e->control_idx].name);
    /* times as instants: another spelling of the same time is no change */
    if (e->start) time_format_iso(e->start_us, v);
    fn(ctx, "start", e->start ? v : "none");
    if (e->end) time_format_iso(e->end_us, v);
    fn(ctx, "end", e->end ? v : "none");
    snprintf(v, sizeof v, "%.9g", e->alpha);
    fn(ctx, "alpha", v);
    snprintf(v, sizeof v, "%lld", (long long)e->min_sample_size);
    fn(ctx, "min_sample_size", v);
    fn(ctx, "sequential", ea_seq_names[e->sequential]);
    fn(ctx, "correction", ea_corr_names[e->correction]);
    fn(ctx, "exposure", ea_expo_names[e->exposure]);
    fn(ctx, "primary", e->metrics[e->primary_idx].name);
    for (int m = 0; m < e->nmetrics; m++) {
        const ea_metric_cfg *mc = &e->metrics[m];
        ea_setting(fn, ctx, ea_goal_names[mc->goal], "metric %s: goal", mc->name);
        snprintf(v, sizeof v, "%.9g", mc->min_effect);
        ea_setting(fn, ctx, v, "metric %s: min_effect", mc->name);
        snprintf(v, sizeof v, "%.9g", mc->tau);
        ea_setting(fn, ctx, v, "metric %s: tau", mc->name);
    }
}
