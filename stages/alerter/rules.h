/* rules.h — the alerter's configuration: alert rules, silences, inhibit
 * rules and grouping, read strictly from YAML (yamlcfg.h), and the
 * per-record pieces of a rule (does a record match, which value, does the
 * condition hold, the summary text). See README.md for the file format. */
#ifndef ALERTER_RULES_H
#define ALERTER_RULES_H
#include <stddef.h>
#include <stdint.h>
#include "fbrec.h"
#include "sizes.h"
#include "yamlcfg.h"
#include "promql.h"

enum { AL_REC_METRIC, AL_REC_DRIFT, AL_REC_EXPERIMENT };
enum { AL_GT, AL_GE, AL_LT, AL_LE, AL_EQ, AL_NE, AL_OUTSIDE };
/* labels of one alert, the series name included (more: refused): what any
 * stage may send (sizes.h), and the series name */
#define AL_MAX_LABELS (STREAMREC_MAX_LABELS + 1)
#define AL_MAX_CHANNELS 8

typedef struct al_rule {
    char *name;
    int type;                    /* AL_REC_* */
    char *metric;                /* Metric name / Drift series / ExperimentResult metric; NULL: any */
    yc_kv *labels; int nlabels;  /* exact matches on the record's labels */
    char *field;                 /* which number: value, mean, p99, statistic, p_value... */
    int cond;                    /* AL_* */
    double threshold, threshold_high;
    int64_t for_us, repeat_us, resolve_after_us, escalate_after_us;
    int severity, escalate_to;   /* Severity_*; escalate_to -1: none */
    char *summary;
    char **channels; int nchannels;
    int line, severity_line, escalate_to_line, threshold_high_line, escalate_line, field_line, summary_line, channels_line;
    /* derived */
    int field_id;                /* AL_F_* */
    double quantile;             /* for AL_F_QUANTILE */
    /* from a Prometheus rule file (promrules.c); the own format leaves them empty */
    char *file;                  /* the file the rule came from, for messages; NULL: the own file */
    pq_expr expr;                /* PromQL matchers (metric name as __name__), field, condition */
    yc_kv *alert_labels; int nalert_labels;   /* rule labels other than severity: added to each Alert */
} al_rule;
/* rule labels one Prometheus rule may add to its alerts */
#define AL_MAX_RULE_LABELS 16

typedef struct al_silence {
    char *rule;                  /* NULL: any rule */
    yc_kv *labels; int nlabels;
    char *starts, *ends;         /* ISO 8601 */
    char *comment;
    int line;
    int64_t starts_us, ends_us;
} al_silence;

typedef struct al_inhibit {
    int source_severity, target_severity;
    char **equal; int nequal;    /* none: the label sets must be identical */
    int line;
} al_inhibit;

typedef struct al_config {
    al_rule *rules; int nrules;
    al_silence *silences; int nsilences;
    al_inhibit *inhibit; int ninhibit;
    char **group_by; int ngroup_by;
    int inhibit_given;           /* 0: the default inhibit rule applies */
} al_config;

/* Load and check path. 0, or -1 with err "path:line:col: reason". */
int al_config_load(const char *path, al_config *cfg, char *err, size_t errlen);
/* Load several files: at most one in the alerter's own format (rules:,
 * silences:, inhibit:, group_by:) and any number of Prometheus rule files
 * (groups:), told apart by their top-level key; their rules are checked
 * together (one name, one rule). */
int al_config_load_files(const char *const *paths, int n, al_config *cfg, char *err, size_t errlen);
/* A Prometheus rule file's text, alone (tests, fuzzing). */
int al_config_load_prom_string(const char *name, const char *text, size_t len, al_config *cfg,
                               char *err, size_t errlen);
/* The own-format file path (NULL: none) plus rules already built (taken
 * over, freed on failure), checked together; name is the file messages
 * name when path is NULL. */
int al_config_load_merged(const char *path, const char *name, al_config *cfg, al_rule *extra, int nextra,
                          char *err, size_t errlen);
int al_config_load_string(const char *name, const char *text, size_t len, al_config *cfg,
                          char *err, size_t errlen);
void al_config_free(al_config *cfg);
int al_rule_find(const al_config *cfg, const char *name);

/* A record seen through one rule's eyes. */
typedef struct al_view {
    int type;                    /* AL_REC_* */
    fb_str name;
    KeyValue labels[AL_MAX_LABELS]; int nlabels;   /* sorted by key */
    int64_t ts;                  /* event time, µs */
    int recovery;                /* Drift kind recovery: the condition no longer holds */
    const AnyRecord *rec;
} al_view;

/* Fill v from a decoded record of type d. 1 ok, 0 not a type rules look at,
 * -1 more than AL_MAX_LABELS labels. */
int al_view_make(al_view *v, const fbrec_desc *d, const AnyRecord *rec);
/* Does the rule look at this record (type, name, labels)? */
int al_rule_matches(const al_rule *r, const al_view *v);
/* The rule's field from the record: 1 found (*out may be NaN), 0 absent
 * (a quantile the Metric does not carry). */
int al_rule_value(const al_rule *r, const al_view *v, double *out);
int al_cond_holds(const al_rule *r, double x);
/* Render the summary template (see README: {{ $value }}, {{ $labels.K }},
 * ...) into buf; truncates. Returns buf. */
const char *al_render_summary(const al_rule *r, const KeyValue *labels, int nlabels, double value,
                              int severity, char *buf, size_t n);
/* The same with the threshold already printed by al_threshold_text (the
 * engine keeps it per rule: %.6g costs thousands of instructions). */
#define AL_THRESHOLD_TEXT 32
void al_threshold_text(const al_rule *r, char out[AL_THRESHOLD_TEXT]);
const char *al_render_summary_thr(const al_rule *r, const char *thr, const KeyValue *labels, int nlabels,
                                  double value, int severity, char *buf, size_t n);
const char *al_cond_name(int c);
/* Check a summary template: 0, or -1 with why and *at the offset in t. */
int al_template_check(const char *t, size_t *at, char *why, size_t n);
/* Resolve a field name for a record type: 0 with *id (AL_F_*) and *q, or -1 with why. */
int al_field_lookup(int type, const char *f, int *id, double *q, char *why, size_t n);
#endif
