/* config.h — experiment definitions, read strictly from YAML (yamlcfg.h).
 *
 *   experiments:
 *     - name: rec_algo_v1
 *       control: control
 *       variants:
 *         - { name: control, allocation: 0.5 }
 *         - { name: treatment, allocation: 0.5 }
 *       start: 2026-11-23T00:00:00Z     # optional: exposures before are ignored
 *       end: 2026-12-07T00:00:00Z       # optional: exposures from then on are ignored
 *       alpha: 0.05                     # default 0.05
 *       min_sample_size: 100            # users per arm before any decision (default 100)
 *       sequential: msprt               # msprt (default) | off (fixed horizon)
 *       correction: holm                # holm (default) | bonferroni | none
 *       exposure: any                   # any (default) | exposure: which events expose
 *       salt: ""                        # optional: hash key instead of the name
 *       metrics:
 *         - name: purchase
 *           type: conversion            # conversion | numeric | duration | ratio
 *           event: purchase             # an EventType name, or else the event's name
 *           window: 7d                  # attribution window after exposure (optional)
 *           goal: maximize              # maximize (default) | minimize
 *           primary: true               # exactly one metric is primary (default: first)
 *           min_effect: 0.01            # smallest difference worth knowing (absolute)
 *           tau: 0.05                   # mSPRT mixture standard deviation
 *         - { name: revenue, type: numeric, event: purchase, aggregate: sum, tau: 2 }
 *         - { name: revenue_cuped, type: numeric, event: purchase, covariate: pre_revenue, tau: 2 }
 *         - { name: rev_per_session, type: ratio, event: purchase, denominator: session, tau: 1 }
 *         - { name: ttc_p90, type: duration, event: click, quantile: 0.9 }
 *
 * Every error is a usage error naming FILE:LINE. */
#ifndef EA_CONFIG_H
#define EA_CONFIG_H
#include <stddef.h>
#include <stdint.h>

enum { EA_CONVERSION, EA_NUMERIC, EA_DURATION, EA_RATIO };
enum { EA_MAXIMIZE, EA_MINIMIZE };
enum { EA_SUM, EA_MEAN, EA_COUNT };
enum { EA_SEQ_MSPRT, EA_SEQ_OFF };
enum { EA_HOLM, EA_BONFERRONI, EA_NO_CORRECTION };
enum { EA_EXPOSE_ANY, EA_EXPOSE_EXPOSURE };

#define EA_BUCKETS 10000
#define EA_MAX_VARIANTS 16
#define EA_MAX_METRICS 16

typedef struct ea_metric_cfg {
    char *name, *event;
    int type, goal, aggregate, primary;
    int64_t window;               /* µs; 0: no window */
    double min_effect, tau;
    char *covariate;              /* CUPED: the event whose value is the user's covariate */
    char *denominator;            /* ratio: the event counted per user as the denominator */
    double quantile;              /* numeric/duration: this quantile of per-user values; 0: the mean */
    int line, tau_line, quantile_line, covariate_line;
    /* derived */
    int event_type;               /* EventType value, or -1: match Event.name */
    int cov_event_type, den_event_type;   /* the same for covariate, denominator */
    int cov_val;                  /* CUPED: index of the user's covariate value (after the
                                     metrics' own); -1 without a covariate */
} ea_metric_cfg;

/* A CUPED or ratio metric: its statistics come from per-arm sums of the
 * users' pairs (ea_psum), not from the metric's own moments. */
static inline int ea_metric_paired(const ea_metric_cfg *mc) { return mc->covariate || mc->type == EA_RATIO; }

typedef struct ea_variant_cfg {
    char *name;
    double allocation;
    int line;
} ea_variant_cfg;

typedef struct ea_experiment_cfg {
    char *name, *control, *start, *end, *salt;
    ea_variant_cfg *variants; int nvariants;
    ea_metric_cfg *metrics; int nmetrics;
    double alpha;
    int64_t min_sample_size;
    int sequential, correction, exposure;
    int line, variants_line, alpha_line, mss_line, start_line, end_line, control_line;
    /* derived */
    int64_t start_us, end_us;     /* 0: open */
    int nvals;                    /* per-user values: one per metric, one more per covariate */
    int npaired;                  /* metrics with a covariate or a denominator (ea_psum) */
    int control_idx, primary_idx;
    uint32_t bound[EA_MAX_VARIANTS];   /* cumulative bucket bounds */
} ea_experiment_cfg;

typedef struct ea_config {
    ea_experiment_cfg *experiments; int nexperiments;
} ea_config;

/* Load and validate. 0, or -1 with err "FILE:LINE:COL: reason". */
int ea_config_load(const char *path, ea_config *cfg, char *err, size_t errlen);
int ea_config_load_string(const char *name, const char *text, ea_config *cfg,
                          char *err, size_t errlen);
void ea_config_free(ea_config *cfg);
/* The first metric whose statistics partials cannot carry (a quantile: it
 * needs every user's value, not sums), or NULL: --emit partials / --merge /
 * --mergeable refuse it. */
const ea_metric_cfg *ea_config_unmergeable(const ea_config *cfg, const char **experiment);
/* The settings of an experiment that its fingerprint (analyze.h) leaves
 * out: they change no statistic kept, but how it is tested and decided
 * (control, start, end, alpha, min_sample_size, sequential, correction,
 * exposure, primary; per metric goal, min_effect, tau). Each as a name
 * ("alpha", "metric revenue: tau") and its value in text, in a fixed
 * order: --state keeps them and refuses a run with another value. */
typedef void (*ea_setting_fn)(void *ctx, const char *name, const char *value);
void ea_config_settings(const ea_experiment_cfg *e, ea_setting_fn fn, void *ctx);
int ea_config_find(const ea_config *cfg, const char *name, size_t len);   /* index or -1 */
int ea_variant_find(const ea_experiment_cfg *e, const char *name, size_t len);

#endif
