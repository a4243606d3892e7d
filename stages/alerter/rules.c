/* rules.c — the alert rules file: field tables for yamlcfg.h (strict
 * parsing, FILE:LINE:COL errors), the checks that span fields, and the
 * per-record helpers (match, value, condition, summary template). */
#include "rules.h"
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "notify.h"
#include "timefmt.h"

static const char *const al_type_names[] = { "Metric", "Drift", "ExperimentResult", NULL };
static const char *const al_cond_names[] = { "gt", "ge", "lt", "le", "eq", "ne", "outside", NULL };
static const char *const al_sev_names[] = { "info", "warning", "critical", "emergency", NULL };

const char *al_cond_name(int c) { return c >= 0 && c <= AL_OUTSIDE ? al_cond_names[c] : "?"; }

/* Which number of a record a rule compares. */
enum {
    AL_F_VALUE, AL_F_COUNT, AL_F_SUM, AL_F_MIN, AL_F_MAX, AL_F_MEAN, AL_F_STDDEV, AL_F_QUANTILE,
    AL_F_STATISTIC, AL_F_P_VALUE, AL_F_CURRENT, AL_F_REFERENCE, AL_F_THRESHOLD, AL_F_SEVERITY,
    AL_F_LIFT, AL_F_RELATIVE_LIFT, AL_F_RATE, AL_F_SRM_P_VALUE, AL_F_USERS, AL_F_P_VALUE_ADJUSTED,
};
static const struct { const char *name; int id; unsigned types; } al_fields[] = {
    { "value", AL_F_VALUE, 1u << AL_REC_METRIC },
    { "count", AL_F_COUNT, 1u << AL_REC_METRIC },
    { "sum", AL_F_SUM, 1u << AL_REC_METRIC },
    { "min", AL_F_MIN, 1u << AL_REC_METRIC },
    { "max", AL_F_MAX, 1u << AL_REC_METRIC },
    { "mean", AL_F_MEAN, 1u << AL_REC_METRIC | 1u << AL_REC_EXPERIMENT },
    { "stddev", AL_F_STDDEV, 1u << AL_REC_METRIC | 1u << AL_REC_EXPERIMENT },
    { "statistic", AL_F_STATISTIC, 1u << AL_REC_DRIFT },
    { "p_value", AL_F_P_VALUE, 1u << AL_REC_DRIFT | 1u << AL_REC_EXPERIMENT },
    { "current", AL_F_CURRENT, 1u << AL_REC_DRIFT },
    { "reference", AL_F_REFERENCE, 1u << AL_REC_DRIFT },
    { "threshold", AL_F_THRESHOLD, 1u << AL_REC_DRIFT },
    { "severity", AL_F_SEVERITY, 1u << AL_REC_DRIFT },
    { "lift", AL_F_LIFT, 1u << AL_REC_EXPERIMENT },
    { "relative_lift", AL_F_RELATIVE_LIFT, 1u << AL_REC_EXPERIMENT },
    { "rate", AL_F_RATE, 1u << AL_REC_EXPERIMENT },
    { "srm_p_value", AL_F_SRM_P_VALUE, 1u << AL_REC_EXPERIMENT },
    { "users", AL_F_USERS, 1u << AL_REC_EXPERIMENT },
    { "p_value_adjusted", AL_F_P_VALUE_ADJUSTED, 1u << AL_REC_EXPERIMENT },
};
#define AL_NFIELDS ((int)(sizeof al_fields / sizeof al_fields[0]))

#define RF(k, t, m) .key = k, .type = t, .offset = offsetof(al_rule, m)
static const yc_field al_rule_fields[] = {
    { RF("name", YC_STR, name), .required = 1, .line_offset = offsetof(al_rule, line) },
    { RF("type", YC_ENUM, type), .enum_names = al_type_names },
    { RF("metric", YC_STR, metric) },
    { RF("labels", YC_STR_MAP, labels), .count_offset = offsetof(al_rule, nlabels) },
    { RF("field", YC_STR, field), .line_offset = offsetof(al_rule, field_line) },
    { RF("condition", YC_ENUM, cond), .required = 1, .enum_names = al_cond_names },
    { RF("threshold", YC_DOUBLE, threshold), .required = 1 },
    { RF("threshold_high", YC_DOUBLE, threshold_high), .line_offset = offsetof(al_rule, threshold_high_line) },
    { RF("for", YC_DURATION, for_us), .min = 0, .max = 3.2e13 },
    { RF("repeat_interval", YC_DURATION, repeat_us), .min = 0, .max = 3.2e13 },
    { RF("resolve_after", YC_DURATION, resolve_after_us), .min = 0, .max = 3.2e13 },
    { RF("escalate_after", YC_DURATION, escalate_after_us), .min = 0, .max = 3.2e13,
      .line_offset = offsetof(al_rule, escalate_line) },
    { RF("escalate_to", YC_ENUM, escalate_to), .enum_names = al_sev_names, .line_offset = offsetof(al_rule, escalate_to_line) },
    { RF("severity", YC_ENUM, severity), .enum_names = al_sev_names, .line_offset = offsetof(al_rule, severity_line) },
    { RF("summary", YC_STR, summary), .line_offset = offsetof(al_rule, summary_line) },
    { RF("channels", YC_STR_LIST, channels), .count_offset = offsetof(al_rule, nchannels),
      .line_offset = offsetof(al_rule, channels_line) },
};
static const yc_struct al_rule_struct = { "rule", al_rule_fields,
    (int)(sizeof al_rule_fields / sizeof al_rule_fields[0]), sizeof(al_rule) };

#define SF(k, t, m) .key = k, .type = t, .offset = offsetof(al_silence, m)
static const yc_field al_silence_fields[] = {
    { SF("rule", YC_STR, rule), .line_offset = offsetof(al_silence, line) },
    { SF("labels", YC_STR_MAP, labels), .count_offset = offsetof(al_silence, nlabels) },
    { SF("starts", YC_STR, starts), .required = 1 },
    { SF("ends", YC_STR, ends), .required = 1 },
    { SF("comment", YC_STR, comment) },
};
static const yc_struct al_silence_struct = { "silence", al_silence_fields,
    (int)(sizeof al_silence_fields / sizeof al_silence_fields[0]), sizeof(al_silence) };

#define IF(k, t, m) .key = k, .type = t, .offset = offsetof(al_inhibit, m)
static const yc_field al_inhibit_fields[] = {
    { IF("source_severity", YC_ENUM, source_severity), .required = 1, .enum_names = al_sev_names,
      .line_offset = offsetof(al_inhibit, line) },
    { IF("target_severity", YC_ENUM, target_severity), .required = 1, .enum_names = al_sev_names },
    { IF("equal", YC_STR_LIST, equal), .count_offset = offsetof(al_inhibit, nequal) },
};
static const yc_struct al_inhibit_struct = { "inhibit rule", al_inhibit_fields,
    (int)(sizeof al_inhibit_fields / sizeof al_inhibit_fields[0]), sizeof(al_inhibit) };

static const yc_field al_root_fields[] = {
    { .key = "rules", .type = YC_LIST, .offset = offsetof(al_config, rules), .required = 1,
      .sub = &al_rule_struct, .count_offset = offsetof(al_config, nrules) },
    { .key = "silences", .type = YC_LIST, .offset = offsetof(al_config, silences),
      .sub = &al_silence_struct, .count_offset = offsetof(al_config, nsilences) },
    { .key = "inhibit", .type = YC_LIST, .offset = offsetof(al_config, inhibit),
      .sub = &al_inhibit_struct, .count_offset = offsetof(al_config, ninhibit),
      .line_offset = offsetof(al_config, inhibit_given) },
    { .key = "group_by", .type = YC_STR_LIST, .offset = offsetof(al_config, group_by),
      .count_offset = offsetof(al_config, ngroup_by) },
};
static const yc_struct al_root_struct = { "rules file", al_root_fields,
    (int)(sizeof al_root_fields / sizeof al_root_fields[0]), sizeof(al_config) };

#define FAIL(line, ...) do { int o_ = snprintf(err, errlen, "%s:%d: ", cur_file, (line)); \
    if (o_ < 0 || (size_t)o_ >= errlen) o_ = 0; \
    snprintf(err + o_, errlen - (size_t)o_, __VA_ARGS__); return -1; } while (0)

/* A summary template may only use the placeholders README.md lists. */
int al_template_check(const char *t, size_t *at, char *why, size_t n)
{
    for (const char *p = t; (p = strstr(p, "{{")); ) {
        const char *e = strstr(p, "}}");
        *at = (size_t)(p - t);
        if (!e) { snprintf(why, n, "'{{' without '}}'"); return -1; }
        const char *a = p + 2, *b = e;
        while (a < b && *a == ' ') a++;
        while (b > a && b[-1] == ' ') b--;
        size_t len = (size_t)(b - a);
        static const char *const ok[] = { "$value", "$threshold", "$rule", "$severity" };
        int good = 0;
        for (size_t i = 0; i < 4; i++)
            if (len == strlen(ok[i]) && !memcmp(a, ok[i], len)) good = 1;
        /* a label name as records carry it (dots and dashes allowed); no
         * pipes or function calls */
        if (len > 8 && !memcmp(a, "$labels.", 8)) {
            good = 1;
            for (const char *q = a + 8; q < b; q++)
                if (*q == ' ' || *q == '\t' || *q == '|' || *q == '(' || *q == ')' || *q == '"') good = 0;
        }
        if (!good) {
            snprintf(why, n, "unknown placeholder '{{ %.*s }}' (use $value, $threshold, $rule, "
                     "$severity or $labels.NAME; no pipes or functions)", (int)(len > 60 ? 60 : len), a);
            return -1;
        }
        p = e + 2;
    }
    return 0;
}

int al_field_lookup(int type, const char *f, int *id, double *q, char *why, size_t n)
{
    *id = -1;
    if (f[0] == 'p' && f[1] >= '0' && f[1] <= '9') {
        /* p50, p99, p999: the quantile 0.50, 0.99, 0.999 */
        const char *d = f + 1;
        size_t nd = strspn(d, "0123456789");
        if (d[nd] || nd > 6 || type != AL_REC_METRIC) {
            snprintf(why, n, "field \"%s\": a quantile is pNN (p50, p99, p999) on a Metric", f);
            return -1;
        }
        *q = strtod(d, NULL) / pow(10, (double)nd);
        *id = AL_F_QUANTILE;
        return 0;
    }
    for (int k = 0; k < AL_NFIELDS; k++)
        if (!strcmp(al_fields[k].name, f)) {
            if (!(al_fields[k].types & (1u << type))) {
                snprintf(why, n, "a %s has no field \"%s\"", al_type_names[type], f);
                return -1;
            }
            *id = al_fields[k].id;
            return 0;
        }
    const char *names[AL_NFIELDS];
    char list[400] = "";
    int nn = 0;
    for (int k = 0; k < AL_NFIELDS; k++)
        if (al_fields[k].types & (1u << type)) {
            names[nn++] = al_fields[k].name;
            if (strlen(list) + strlen(al_fields[k].name) + 3 < sizeof list) {
                if (list[0]) strcat(list, ", ");
                strcat(list, al_fields[k].name);
            }
        }
    const char *s = cli_suggest(f, names, nn);
    snprintf(why, n, "unknown field \"%s\"%s%s%s (a %s has: %s%s)",
             f, s ? "; did you mean \"" : "", s ? s : "", s ? "\"?" : "",
             al_type_names[type], list, type == AL_REC_METRIC ? ", pNN" : "");
    return -1;
}

static int al_channel_check(const char *c)
{
    if (!strcmp(c, "out") || !strcmp(c, "stdout")) return 0;
    if (!strncmp(c, "exec:", 5) && c[5]) return 0;
    if ((!strncmp(c, "webhook:http://", 15) && c[15]) || (!strncmp(c, "webhook:https://", 16) && c[16]))
        return 0;
    if (!strncmp(c, "webhook:@", 9) && c[9]) return 0;   /* URL in a file: notify.c */
    return -1;
}

static int al_config_check(const char *file, al_config *cfg, char *err, size_t errlen)
{
    const char *cur_file = file;
    if (cfg->nrules == 0) FAIL(1, "no rules");
    for (int i = 0; i < cfg->nrules; i++) {
        al_rule *r = &cfg->rules[i];
        cur_file = r->file ? r->file : file;
        if (!r->name[0]) FAIL(r->line, "rule name is empty");
        for (int j = 0; j < i; j++)
            if (!strcmp(cfg->rules[j].name, r->name))
                FAIL(r->line, "rule \"%s\" defined twice (first at %s:%d): alerts are keyed by rule name, "
                     "give each rule its own", r->name, cfg->rules[j].file ? cfg->rules[j].file : file,
                     cfg->rules[j].line);
        if (!isfinite(r->threshold)) FAIL(r->line, "rule \"%s\": threshold is not a finite number", r->name);
        if (r->cond == AL_OUTSIDE) {
            if (!r->threshold_high_line)
                FAIL(r->line, "rule \"%s\": condition outside needs threshold (low) and threshold_high", r->name);
            if (!(r->threshold_high >= r->threshold))
                FAIL(r->threshold_high_line, "rule \"%s\": threshold_high %g is below threshold %g",
                     r->name, r->threshold_high, r->threshold);
        } else if (r->threshold_high_line) {
            FAIL(r->threshold_high_line, "rule \"%s\": threshold_high is only for condition outside", r->name);
        }
        const char *f = r->field ? r->field : (r->type == AL_REC_METRIC ? "value" :
                                               r->type == AL_REC_DRIFT ? "statistic" : "p_value");
        char why[400];
        if (al_field_lookup(r->type, f, &r->field_id, &r->quantile, why, sizeof why) < 0)
            FAIL(r->field_line ? r->field_line : r->line, "rule \"%s\": %s", r->name, why);
        if (!r->summary_line) r->summary = NULL;
        size_t at;
        if (r->summary && al_template_check(r->summary, &at, why, sizeof why) < 0)
            FAIL(r->summary_line, "rule \"%s\": summary: %s", r->name, why);
        if (r->nchannels > AL_MAX_CHANNELS)
            FAIL(r->channels_line, "rule \"%s\": at most %d channels", r->name, AL_MAX_CHANNELS);
        for (int c = 0; c < r->nchannels; c++) {
            if (al_channel_check(r->channels[c]) < 0)
                FAIL(r->channels_line, "rule \"%s\": channel \"%s\" is not out, exec:COMMAND or "
                     "webhook:http(s)://URL (or webhook:@FILE)", r->name, r->channels[c]);
            /* a URL kept in a file (it holds a token): readable now, or the
             * rules are refused rather than failing at the first alert */
            if (!strncmp(r->channels[c], "webhook:@", 9)) {
                char url[AL_WEBHOOK_URL_MAX], e[600];
                if (al_webhook_url(r->channels[c] + 8, url, sizeof url, e, sizeof e))
                    FAIL(r->channels_line, "rule \"%s\": channel \"%s\": %s", r->name, r->channels[c], e);
                memset(url, 0, sizeof url);
            }
        }
        if (r->escalate_to_line && !r->escalate_line)
            FAIL(r->escalate_to_line, "rule \"%s\": escalate_to needs escalate_after", r->name);
        if (r->escalate_line && r->escalate_to < 0)
            FAIL(r->escalate_line, "rule \"%s\": escalate_after needs escalate_to", r->name);
        if (r->escalate_line && r->escalate_to <= r->severity)
            FAIL(r->escalate_line, "rule \"%s\": escalate_to must be above severity %s", r->name,
                 al_sev_names[r->severity]);
        if (r->nlabels > AL_MAX_LABELS) FAIL(r->line, "rule \"%s\": at most %d labels", r->name, AL_MAX_LABELS);
    }
    cur_file = file;
    for (int i = 0; i < cfg->nsilences; i++) {
        al_silence *s = &cfg->silences[i];
        int line = s->line ? s->line : 1;
        if (time_parse_iso(s->starts, strlen(s->starts), &s->starts_us) < 0)
            FAIL(line, "silence %d: starts \"%s\" is not an ISO 8601 time", i + 1, s->starts);
        if (time_parse_iso(s->ends, strlen(s->ends), &s->ends_us) < 0)
            FAIL(line, "silence %d: ends \"%s\" is not an ISO 8601 time", i + 1, s->ends);
        if (s->ends_us <= s->starts_us) FAIL(line, "silence %d: ends before it starts", i + 1);
        if (s->rule && al_rule_find(cfg, s->rule) < 0)
            FAIL(line, "silence %d: no rule named \"%s\"", i + 1, s->rule);
        if (!s->rule && s->nlabels == 0)
            FAIL(line, "silence %d: give a rule or labels (a silence of everything is a mistake)", i + 1);
    }
    if (cfg->ninhibit > 32) FAIL(cfg->inhibit[32].line, "at most 32 inhibit rules");
    for (int i = 0; i < cfg->ninhibit; i++)
        if (cfg->inhibit[i].source_severity <= cfg->inhibit[i].target_severity)
            FAIL(cfg->inhibit[i].line, "inhibit rule %d: source_severity must be above target_severity", i + 1);
    return 0;
}

/* Defaults for keys left out (yamlcfg zeroes the struct; 0 is a valid enum). */
static void al_config_defaults(al_config *cfg)
{
    for (int i = 0; i < cfg->nrules; i++) {
        al_rule *r = &cfg->rules[i];
        if (!r->escalate_line || !r->escalate_to_line) r->escalate_to = -1;
        if (!r->severity_line) r->severity = Severity_warning;
    }
}

static int al_config_finish(const char *name, int rc, al_config *cfg, char *err, size_t errlen)
{
    if (rc < 0) { al_config_free(cfg); return -1; }
    al_config_defaults(cfg);
    if (al_config_check(name, cfg, err, errlen) < 0) { al_config_free(cfg); return -1; }
    return 0;
}

int al_config_load_merged(const char *path, const char *name, al_config *cfg, al_rule *extra, int nextra,
                          char *err, size_t errlen)
{
    int rc = 0;
    if (path) rc = yc_load(path, &al_root_struct, cfg, err, errlen);
    else memset(cfg, 0, sizeof *cfg);
    if (rc < 0) {
        al_config x = { .rules = extra, .nrules = nextra };
        al_config_free(&x);
        return -1;
    }
    if (nextra) {
        al_rule *r = realloc(cfg->rules, (size_t)(cfg->nrules + nextra) * sizeof *r);
        if (!r) {
            al_config x = { .rules = extra, .nrules = nextra };
            al_config_free(&x);
            al_config_free(cfg);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        memcpy(r + cfg->nrules, extra, (size_t)nextra * sizeof *r);
        cfg->rules = r;
        cfg->nrules += nextra;
    }
    free(extra);
    return al_config_finish(path ? path : name, 0, cfg, err, errlen);
}

int al_config_load(const char *path, al_config *cfg, char *err, size_t errlen)
{
    return al_config_load_files(&path, 1, cfg, err, errlen);
}

int al_config_load_string(const char *name, const char *text, size_t len, al_config *cfg,
                          char *err, size_t errlen)
{
    int rc = yc_load_string(name, text, len, &al_root_struct, cfg, err, errlen);
    return al_config_finish(name, rc, cfg, err, errlen);
}

void al_config_free(al_config *cfg)
{
    for (int i = 0; i < cfg->nrules; i++) {
        al_rule *r = &cfg->rules[i];
        free(r->file);
        pq_free(&r->expr);
        for (int k = 0; k < r->nalert_labels; k++) { free(r->alert_labels[k].key); free(r->alert_labels[k].value); }
        free(r->alert_labels);
    }
    yc_free(&al_root_struct, cfg);
    memset(cfg, 0, sizeof *cfg);
}

int al_rule_find(const al_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->nrules; i++)
        if (!strcmp(cfg->rules[i].name, name)) return i;
    return -1;
}

static int al_kv_cmp(const void *a, const void *b)
{
    const KeyValue *x = a, *y = b;
    uint32_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c = memcmp(x->key.ptr ? x->key.ptr : "", y->key.ptr ? y->key.ptr : "", n);
    if (c) return c;
    return x->key.len < y->key.len ? -1 : x->key.len > y->key.len;
}

static int al_kv_cmp_value(const void *a, const void *b)
{
    int c = al_kv_cmp(a, b);
    if (c) return c;
    const KeyValue *x = a, *y = b;
    uint32_t n = x->value.len < y->value.len ? x->value.len : y->value.len;
    c = n ? memcmp(x->value.ptr, y->value.ptr, n) : 0;
    return c ? c : (x->value.len > y->value.len) - (x->value.len < y->value.len);
}

/* The record's labels, plus its series name as label name_key (unless the
 * record has a label of that name): two series that differ only in name
 * must not share a fingerprint. Sorted by key. */
static int al_add_labels(al_view *v, const KeyValue *kv, uint32_t n, const char *name_key)
{
    if (n >= AL_MAX_LABELS) return -1;
    int has = 0;
    for (uint32_t i = 0; i < n; i++) {
        v->labels[i] = kv[i];
        if (!v->labels[i].key.ptr) v->labels[i].key = FB_STRN("", 0);
        if (!v->labels[i].value.ptr) v->labels[i].value = FB_STRN("", 0);
        if (fb_str_eq(v->labels[i].key, name_key)) has = 1;
    }
    v->nlabels = (int)n;
    if (!has) v->labels[v->nlabels++] = (KeyValue){ FB_STR(name_key), v->name.ptr ? v->name : FB_STRN("", 0) };
    if (v->nlabels > 16) {   /* thousands: equal keys ordered by value (a canonical order) */
        qsort(v->labels, (size_t)v->nlabels, sizeof *v->labels, al_kv_cmp_value);
        return 1;
    }
    /* insertion sort: a handful of labels, often already in order */
    for (int i = 1; i < v->nlabels; i++) {
        KeyValue x = v->labels[i];
        int j = i;
        for (; j > 0 && al_kv_cmp(&v->labels[j - 1], &x) > 0; j--) v->labels[j] = v->labels[j - 1];
        v->labels[j] = x;
    }
    return 1;
}

int al_view_make(al_view *v, const fbrec_desc *d, const AnyRecord *rec)
{
    /* the fields one by one: labels[] holds AL_MAX_LABELS pairs (130 KiB),
     * and clearing it per record cost more than everything else together */
    v->type = 0;
    v->name = (fb_str){ NULL, 0 };
    v->nlabels = 0;
    v->ts = 0;
    v->recovery = 0;
    v->rec = rec;
    if (d == &Metric_desc) {
        v->type = AL_REC_METRIC;
        v->name = rec->metric.name;
        v->ts = rec->metric.window_end;
        return al_add_labels(v, rec->metric.labels, rec->metric.labels_count, "metric");
    }
    if (d == &Drift_desc) {
        v->type = AL_REC_DRIFT;
        v->name = rec->drift.series;
        v->ts = rec->drift.ts;
        v->recovery = rec->drift.kind == DriftKind_recovery;
        return al_add_labels(v, rec->drift.labels, rec->drift.labels_count, "series");
    }
    if (d == &ExperimentResult_desc) {
        /* no labels on the wire: experiment and variant act as labels */
        const ExperimentResult *e = &rec->experiment_result;
        v->type = AL_REC_EXPERIMENT;
        v->name = e->metric;
        v->ts = e->ts;
        KeyValue kv[2] = {
            { FB_STR("experiment"), e->experiment.ptr ? e->experiment : FB_STRN("", 0) },
            { FB_STR("variant"), e->variant.ptr ? e->variant : FB_STRN("", 0) },
        };
        return al_add_labels(v, kv, 2, "metric");
    }
    return 0;
}

/* A PromQL matcher on the metric name sees it as a Prometheus exporter
 * would write it: every character outside [a-zA-Z0-9_:] (the dots of
 * request.duration_ms) as '_'. */
static int al_name_matches(const pq_matcher *m, fb_str name)
{
    char small[256];
    char *b = name.len < sizeof small ? small : malloc(name.len + 1);
    if (!b) return 0;
    for (uint32_t i = 0; i < name.len; i++) {
        unsigned char ch = (unsigned char)name.ptr[i];
        b[i] = (char)(isalnum(ch) || ch == '_' || ch == ':' ? ch : '_');
    }
    b[name.len] = 0;
    int hit = pq_match(m, b, name.len);
    if (b != small) free(b);
    return hit;
}

int al_rule_matches(const al_rule *r, const al_view *v)
{
    if (r->type != v->type) return 0;
    if (r->metric && !fb_str_eq(v->name, r->metric)) return 0;
    for (int i = 0; i < r->expr.nm; i++) {
        const pq_matcher *m = &r->expr.m[i];
        if (!strcmp(m->label, "__name__")) {
            if (!al_name_matches(m, v->name)) return 0;
            continue;
        }
        /* an absent label is the empty string, as in PromQL */
        fb_str val = FB_STRN("", 0);
        for (int j = 0; j < v->nlabels; j++)
            if (fb_str_eq(v->labels[j].key, m->label)) { val = v->labels[j].value; break; }
        if (!pq_match(m, val.ptr, val.len)) return 0;
    }
    for (int i = 0; i < r->nlabels; i++) {
        int found = 0;
        for (int j = 0; j < v->nlabels && !found; j++)
            if (fb_str_eq(v->labels[j].key, r->labels[i].key))
                found = fb_str_eq(v->labels[j].value, r->labels[i].value) ? 1 : -1;
        if (found != 1) return 0;
    }
    return 1;
}

int al_rule_value(const al_rule *r, const al_view *v, double *out)
{
    const Metric *m = &v->rec->metric;
    const Drift *d = &v->rec->drift;
    const ExperimentResult *e = &v->rec->experiment_result;
    switch (r->field_id) {
    case AL_F_VALUE: *out = m->value; return 1;
    case AL_F_COUNT: *out = (double)m->count; return 1;
    case AL_F_SUM: *out = m->sum; return 1;
    case AL_F_MIN: *out = m->min; return 1;
    case AL_F_MAX: *out = m->max; return 1;
    case AL_F_MEAN: *out = v->type == AL_REC_METRIC ? m->mean : e->mean; return 1;
    case AL_F_STDDEV: *out = v->type == AL_REC_METRIC ? m->stddev : e->stddev; return 1;
    case AL_F_QUANTILE:
        for (uint32_t i = 0; i < m->quantiles_count; i++)
            if (fabs(m->quantiles[i].q - r->quantile) < 1e-9) { *out = m->quantiles[i].value; return 1; }
        return 0;
    case AL_F_STATISTIC: *out = d->statistic; return 1;
    case AL_F_P_VALUE: *out = v->type == AL_REC_DRIFT ? d->p_value : e->p_value; return 1;
    case AL_F_CURRENT: *out = d->current; return 1;
    case AL_F_REFERENCE: *out = d->reference; return 1;
    case AL_F_THRESHOLD: *out = d->threshold; return 1;
    case AL_F_SEVERITY: *out = d->severity; return 1;
    case AL_F_LIFT: *out = e->lift; return 1;
    case AL_F_RELATIVE_LIFT: *out = e->relative_lift; return 1;
    case AL_F_RATE: *out = e->rate; return 1;
    case AL_F_SRM_P_VALUE: *out = e->srm_p_value; return 1;
    case AL_F_USERS: *out = (double)e->users; return 1;
    case AL_F_P_VALUE_ADJUSTED: *out = e->p_value_adjusted; return 1;
    }
    return 0;
}

int al_cond_holds(const al_rule *r, double x)
{
    switch (r->cond) {
    case AL_GT: return x > r->threshold;
    case AL_GE: return x >= r->threshold;
    case AL_LT: return x < r->threshold;
    case AL_LE: return x <= r->threshold;
    case AL_EQ: return x == r->threshold;
    case AL_NE: return x != r->threshold;
    case AL_OUTSIDE: return x < r->threshold || x > r->threshold_high;
    }
    return 0;
}

static void al_put(char *buf, size_t n, size_t *o, const char *s, size_t len)
{
    if (*o + 1 >= n) return;
    if (len > n - 1 - *o) len = n - 1 - *o;
    memcpy(buf + *o, s, len);
    *o += len;
    buf[*o] = 0;
}

/* snprintf "%.6g" of v into out (at least 32 bytes), its length returned.
 * Once per alert sent, where snprintf cost ~1,400 instructions: values from
 * 1e-4 to under 1e6 whose rounding to six digits is plain (not within a
 * hair of a half, no carry into a seventh digit) are written by hand; the
 * rest go to snprintf, so the text is the same either way. */
static size_t al_fmt_g6(double v, char *out)
{
    static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9 };
    double a = fabs(v);
    if (a >= 1e-4 && a < 1e6) {
        int e = 5;   /* the decimal exponent of a: 10^e <= a < 10^(e+1) */
        while (e > -4 && a < pow10[e + 4] / 1e4) e--;
        double x = a * pow10[5 - e];   /* six digits before the point; one rounding, far under 1e-6 */
        double fl = floor(x), frac = x - fl;
        if (fabs(frac - 0.5) > 1e-6) {
            uint32_t r = (uint32_t)fl + (frac > 0.5);
            if (r >= 100000 && r <= 999999) {
                char d[6];
                for (int i = 5; i >= 0; i--, r /= 10) d[i] = (char)('0' + r % 10);
                size_t o = 0;
                if (v < 0) out[o++] = '-';
                int last = 5;   /* %g drops the fraction's trailing zeros */
                while (last > (e >= 0 ? e : -1) && d[last] == '0') last--;
                if (e >= 0) {
                    for (int i = 0; i <= e; i++) out[o++] = d[i];
                    if (last > e) { out[o++] = '.'; for (int i = e + 1; i <= last; i++) out[o++] = d[i]; }
                } else {
                    out[o++] = '0'; out[o++] = '.';
                    for (int i = 0; i < -e - 1; i++) out[o++] = '0';
                    for (int i = 0; i <= last; i++) out[o++] = d[i];
                }
                out[o] = 0;
                return o;
            }
        }
    }
    int len = snprintf(out, 32, "%.6g", v);
    return len < 0 ? 0 : (size_t)len;
}

void al_threshold_text(const al_rule *r, char out[AL_THRESHOLD_TEXT])
{
    snprintf(out, AL_THRESHOLD_TEXT, "%.6g", r->threshold);
}

const char *al_render_summary(const al_rule *r, const KeyValue *labels, int nlabels, double value,
                              int severity, char *buf, size_t n)
{
    char thr[AL_THRESHOLD_TEXT];
    al_threshold_text(r, thr);
    return al_render_summary_thr(r, thr, labels, nlabels, value, severity, buf, n);
}

const char *al_render_summary_thr(const al_rule *r, const char *thr, const KeyValue *labels, int nlabels,
                                  double value, int severity, char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = 0;
    char num[64];
    if (!r->summary) {
        /* default: "rule: value 97.2 gt 90" */
        const char *cond = al_cond_name(r->cond);
        al_put(buf, n, &o, r->name, strlen(r->name));
        al_put(buf, n, &o, ": value ", 8);
        al_put(buf, n, &o, num, al_fmt_g6(value, num));
        al_put(buf, n, &o, " ", 1);
        al_put(buf, n, &o, cond, strlen(cond));
        al_put(buf, n, &o, " ", 1);
        al_put(buf, n, &o, thr, strlen(thr));
        return buf;
    }
    const char *p = r->summary;
    for (;;) {
        const char *s = strstr(p, "{{");
        const char *e = s ? strstr(s, "}}") : NULL;
        if (!s || !e) { al_put(buf, n, &o, p, strlen(p)); break; }
        al_put(buf, n, &o, p, (size_t)(s - p));
        const char *a = s + 2, *b = e;
        while (a < b && *a == ' ') a++;
        while (b > a && b[-1] == ' ') b--;
        size_t len = (size_t)(b - a);
        if (len == 6 && !memcmp(a, "$value", 6)) {
            al_put(buf, n, &o, num, al_fmt_g6(value, num));
        } else if (len == 10 && !memcmp(a, "$threshold", 10)) {
            al_put(buf, n, &o, thr, strlen(thr));
        } else if (len == 5 && !memcmp(a, "$rule", 5)) {
            al_put(buf, n, &o, r->name, strlen(r->name));
        } else if (len == 9 && !memcmp(a, "$severity", 9)) {
            const char *sv = Severity_name(severity); al_put(buf, n, &o, sv, strlen(sv));
        } else if (len > 8 && !memcmp(a, "$labels.", 8)) {
            for (int i = 0; i < nlabels; i++)
                if (labels[i].key.len == len - 8 && !memcmp(labels[i].key.ptr, a + 8, len - 8))
                    al_put(buf, n, &o, labels[i].value.ptr, labels[i].value.len);
        }
        p = e + 2;
    }
    return buf;
}
