/* promrules.c — Prometheus alerting-rule files (groups: → rules: with
 * alert, expr, for, labels, annotations) turned into the alerter's rules,
 * and the loader that merges them with one file in the alerter's own
 * format. Errors point at FILE:LINE:COL of the offending token inside an
 * expression or template, not only at its key. README.md "Prometheus rule
 * files" is the user's side of this. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "promql.h"
#include "rules.h"

typedef struct pr_rule {
    char *alert, *record, *expr, *keep_firing_for;
    int64_t for_us;
    yc_kv *labels; int nlabels;
    yc_kv *annotations; int nannotations;
    int line, expr_line, record_line, kff_line, labels_line, annotations_line;
} pr_rule;

typedef struct pr_group {
    char *name, *interval, *query_offset;
    int64_t limit;
    pr_rule *rules; int nrules;
    int line, limit_line, qo_line;
} pr_group;

typedef struct pr_file { pr_group *groups; int ngroups; } pr_file;

#define PR(k, t, m) .key = k, .type = t, .offset = offsetof(pr_rule, m)
static const yc_field pr_rule_fields[] = {
    { PR("alert", YC_STR, alert), .line_offset = offsetof(pr_rule, line) },
    { PR("record", YC_STR, record), .line_offset = offsetof(pr_rule, record_line) },
    { PR("expr", YC_STR, expr), .required = 1, .line_offset = offsetof(pr_rule, expr_line) },
    { PR("for", YC_DURATION, for_us), .min = 0, .max = 3.2e13 },
    { PR("keep_firing_for", YC_STR, keep_firing_for), .line_offset = offsetof(pr_rule, kff_line) },
    { PR("labels", YC_STR_MAP, labels), .count_offset = offsetof(pr_rule, nlabels),
      .line_offset = offsetof(pr_rule, labels_line) },
    { PR("annotations", YC_STR_MAP, annotations), .count_offset = offsetof(pr_rule, nannotations),
      .line_offset = offsetof(pr_rule, annotations_line) },
};
static const yc_struct pr_rule_struct = { "Prometheus rule", pr_rule_fields,
    (int)(sizeof pr_rule_fields / sizeof pr_rule_fields[0]), sizeof(pr_rule) };

#define PG(k, t, m) .key = k, .type = t, .offset = offsetof(pr_group, m)
static const yc_field pr_group_fields[] = {
    { PG("name", YC_STR, name), .required = 1, .line_offset = offsetof(pr_group, line) },
    { PG("interval", YC_STR, interval) },
    { PG("limit", YC_INT, limit), .line_offset = offsetof(pr_group, limit_line) },
    { PG("query_offset", YC_STR, query_offset), .line_offset = offsetof(pr_group, qo_line) },
    { PG("rules", YC_LIST, rules), .sub = &pr_rule_struct, .count_offset = offsetof(pr_group, nrules) },
};
static const yc_struct pr_group_struct = { "rule group", pr_group_fields,
    (int)(sizeof pr_group_fields / sizeof pr_group_fields[0]), sizeof(pr_group) };

static const yc_field pr_root_fields[] = {
    { .key = "groups", .type = YC_LIST, .offset = offsetof(pr_file, groups), .required = 1,
      .sub = &pr_group_struct, .count_offset = offsetof(pr_file, ngroups) },
};
static const yc_struct pr_root_struct = { "Prometheus rule file", pr_root_fields, 1, sizeof(pr_file) };

/* Where byte `off` of a key's value sits in the file. The value may be
 * plain, quoted (with escapes) or a block scalar, so walk the raw text and
 * the parsed value together from the key: characters the value lacks
 * (quotes, backslashes, '|', indentation) are skipped in the raw text. */
static void pr_locate(const char *text, size_t tlen, int from_line, const char *key, const char *value,
                      size_t off, int *line, int *col)
{
    size_t j = 0;
    for (int l = 1; l < from_line && j < tlen; j++)
        if (text[j] == '\n') l++;
    size_t kl = strlen(key);
    for (size_t k = j; k + kl < tlen; k++) {          /* the key, then ':' */
        if (memcmp(text + k, key, kl)) continue;
        if (k > 0 && (isalnum((unsigned char)text[k - 1]) || text[k - 1] == '_')) continue;
        size_t e = k + kl;
        if (e < tlen && (text[e] == '"' || text[e] == '\'')) e++;
        while (e < tlen && text[e] == ' ') e++;
        if (e < tlen && text[e] == ':') { j = e + 1; break; }
    }
    size_t i = 0;
    while (i < off && j < tlen) {
        unsigned char a = (unsigned char)value[i], b = (unsigned char)text[j];
        if (a == b || (isspace(a) && isspace(b))) { i++; j++; }
        else if (isspace(a)) i++;
        else j++;
    }
    while (j < tlen && value[off] && text[j] != value[off]) j++;
    *line = 1; *col = 1;
    for (size_t k = 0; k < j && k < tlen; k++) {
        if (text[k] == '\n') { (*line)++; *col = 1; }
        else (*col)++;
    }
}

#define PFAIL(l, c, ...) do { int o_ = snprintf(err, errlen, "%s:%d:%d: ", path, (l), (c)); \
    if (o_ < 0 || (size_t)o_ >= errlen) o_ = 0; \
    snprintf(err + o_, errlen - (size_t)o_, __VA_ARGS__); goto fail; } while (0)

/* Column of the key on its line (yamlcfg keeps lines only). */
static int pr_key_col(const char *text, size_t tlen, int line, const char *key)
{
    int l, c;
    pr_locate(text, tlen, line, key, "", 0, &l, &c);
    (void)l;
    return c > 1 ? c : 1;
}

/* Label names as Prometheus allows them. */
static int pr_label_name_ok(const char *k)
{
    if (!k[0] || isdigit((unsigned char)k[0])) return 0;
    for (const char *p = k; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_') return 0;
    return 1;
}

/* Append the rules of Prometheus rule file `path` (its text given) to
 * *rules. 0, or -1 with err. */
static int pr_load(const char *path, const char *text, size_t tlen, al_rule **rules, int *nrules, int *cap,
                   char *err, size_t errlen)
{
    pr_file pf;
    if (yc_load_string(path, text, tlen, &pr_root_struct, &pf, err, errlen) < 0) return -1;
    al_rule r;
    memset(&r, 0, sizeof r);
    char why[400];
    for (int g = 0; g < pf.ngroups; g++) {
        pr_group *gr = &pf.groups[g];
        if (gr->limit_line && gr->limit)
            PFAIL(gr->limit_line, pr_key_col(text, tlen, gr->limit_line, "limit"),
                  "group \"%s\": limit is not supported: the alerter bounds alerts with --max-alerts", gr->name);
        if (gr->qo_line)
            PFAIL(gr->qo_line, pr_key_col(text, tlen, gr->qo_line, "query_offset"),
                  "group \"%s\": query_offset is not supported: the alerter works by event time", gr->name);
        for (int k = 0; k < gr->nrules; k++) {
            pr_rule *pr = &gr->rules[k];
            int line = pr->line ? pr->line : pr->expr_line;
            if (pr->record_line)
                PFAIL(pr->record_line, pr_key_col(text, tlen, pr->record_line, "record"),
                      "recording rule \"%s\" is not supported: the alerter keeps no time series to write to "
                      "(aggregate computes windows)", pr->record ? pr->record : "");
            if (!pr->line)
                PFAIL(line, pr_key_col(text, tlen, line, "expr"), "a rule needs 'alert: NAME'");
            if (!pr->alert || !pr->alert[0])   /* `alert:` with nothing, or only a comment, after it */
                PFAIL(pr->line, pr_key_col(text, tlen, pr->line, "alert"), "a rule needs 'alert: NAME', not an empty name");
            if (pr->kff_line)
                PFAIL(pr->kff_line, pr_key_col(text, tlen, pr->kff_line, "keep_firing_for"),
                      "alert \"%s\": keep_firing_for is not supported: an alert resolves on the first record "
                      "where its condition no longer holds", pr->alert);
            memset(&r, 0, sizeof r);
            r.type = AL_REC_METRIC;
            r.line = line;
            r.field_line = pr->expr_line;
            r.severity = Severity_warning;
            r.escalate_to = -1;
            r.for_us = pr->for_us;
            size_t at;
            if (pq_parse(pr->expr, &r.expr, &at, why, sizeof why) < 0) {
                int l, c;
                pr_locate(text, tlen, pr->expr_line, "expr", pr->expr, at, &l, &c);
                PFAIL(l, c, "alert \"%s\": expr: %s", pr->alert, why);
            }
            r.cond = r.expr.cond;
            r.threshold = r.expr.threshold;
            if (al_field_lookup(AL_REC_METRIC, r.expr.field, &r.field_id, &r.quantile, why, sizeof why) < 0) {
                int l, c;
                pr_locate(text, tlen, pr->expr_line, "expr", pr->expr, 0, &l, &c);
                PFAIL(l, c, "alert \"%s\": expr: %s (the field comes from __field__, quantile or a name "
                      "suffix: README.md \"Prometheus rule files\")", pr->alert, why);
            }
            if (!(r.name = strdup(pr->alert)) || !(r.field = strdup(r.expr.field)) ||
                !(r.file = strdup(path)))
                PFAIL(line, 1, "out of memory");
            if (pr->nlabels > AL_MAX_RULE_LABELS)
                PFAIL(pr->labels_line, pr_key_col(text, tlen, pr->labels_line, "labels"),
                      "alert \"%s\": at most %d labels", pr->alert, AL_MAX_RULE_LABELS);
            r.alert_labels = calloc((size_t)pr->nlabels + 1, sizeof *r.alert_labels);
            if (!r.alert_labels) PFAIL(line, 1, "out of memory");
            for (int i = 0; i < pr->nlabels; i++) {
                const yc_kv *kv = &pr->labels[i];
                int l, c;
                pr_locate(text, tlen, pr->labels_line, kv->key, kv->value, 0, &l, &c);
                if (!pr_label_name_ok(kv->key))
                    PFAIL(l, c, "alert \"%s\": label name \"%s\" is not [a-zA-Z_][a-zA-Z0-9_]*", pr->alert, kv->key);
                if (!strcmp(kv->key, "severity")) {
                    /* the Alert's own severity: inhibition and escalation use it */
                    if ((r.severity = Severity_parse(kv->value, strlen(kv->value))) < 0)
                        PFAIL(l, c, "alert \"%s\": severity \"%s\": the alerter's severities are info, warning, "
                              "critical, emergency", pr->alert, kv->value);
                    r.severity_line = pr->labels_line;
                    continue;
                }
                if (strstr(kv->value, "{{"))
                    PFAIL(l, c, "alert \"%s\": label \"%s\": templates in labels are not supported (a label "
                          "is part of the alert's identity)", pr->alert, kv->key);
                yc_kv *o = &r.alert_labels[r.nalert_labels];
                if (!(o->key = strdup(kv->key)) || !(o->value = strdup(kv->value))) PFAIL(line, 1, "out of memory");
                r.nalert_labels++;
            }
            /* The Alert carries one text: summary, else description.
             * Every annotation's template is checked all the same. */
            const char *sum = NULL, *desc = NULL;
            for (int i = 0; i < pr->nannotations; i++) {
                const yc_kv *kv = &pr->annotations[i];
                if (al_template_check(kv->value, &at, why, sizeof why) < 0) {
                    int l, c;
                    pr_locate(text, tlen, pr->annotations_line, kv->key, kv->value, at, &l, &c);
                    PFAIL(l, c, "alert \"%s\": annotation %s: %s", pr->alert, kv->key, why);
                }
                if (!strcmp(kv->key, "summary")) sum = kv->value;
                if (!strcmp(kv->key, "description")) desc = kv->value;
            }
            if (sum || desc) {
                if (!(r.summary = strdup(sum ? sum : desc))) PFAIL(line, 1, "out of memory");
                r.summary_line = pr->annotations_line;
            }
            if (*nrules == *cap) {
                int nc = *cap ? *cap * 2 : 16;
                al_rule *nr = realloc(*rules, (size_t)nc * sizeof *nr);
                if (!nr) PFAIL(line, 1, "out of memory");
                *rules = nr; *cap = nc;
            }
            (*rules)[(*nrules)++] = r;
            memset(&r, 0, sizeof r);
        }
    }
    yc_free(&pr_root_struct, &pf);
    return 0;
fail:
    {   /* r is not in *rules yet: free it as al_config_free would */
        al_config one = { .rules = malloc(sizeof r), .nrules = 1 };
        if (one.rules) { one.rules[0] = r; al_config_free(&one); }
    }
    yc_free(&pr_root_struct, &pf);
    return -1;
}

/* A Prometheus rule file has `groups:` at the top; the own format has `rules:`. */
static int pr_is_prometheus(const char *text, size_t len)
{
    for (size_t i = 0; i + 6 < len; ) {
        if (!memcmp(text + i, "groups", 6)) {
            size_t e = i + 6;
            while (e < len && text[e] == ' ') e++;
            if (e < len && text[e] == ':') return 1;
        }
        const char *nl = memchr(text + i, '\n', len - i);
        if (!nl) break;
        i = (size_t)(nl - text) + 1;
    }
    return 0;
}

static char *pr_read(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return NULL; }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) { fclose(f); snprintf(err, errlen, "%s: out of memory", path); return NULL; }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        if (cap >= (16u << 20)) {
            free(buf); fclose(f);
            snprintf(err, errlen, "%s: larger than 16 MiB", path);
            return NULL;
        }
        char *nb = realloc(buf, cap *= 2);
        if (!nb) free(buf);
        buf = nb;
    }
    if (ferror(f)) { free(buf); fclose(f); snprintf(err, errlen, "%s: read error", path); return NULL; }
    fclose(f);
    *len = n;
    return buf;
}

int al_config_load_prom_string(const char *name, const char *text, size_t len, al_config *cfg,
                               char *err, size_t errlen)
{
    al_rule *prom = NULL;
    int nprom = 0, cap = 0;
    if (pr_load(name, text, len, &prom, &nprom, &cap, err, errlen) < 0) {
        al_config done = { .rules = prom, .nrules = nprom };
        al_config_free(&done);
        memset(cfg, 0, sizeof *cfg);
        return -1;
    }
    return al_config_load_merged(NULL, name, cfg, prom, nprom, err, errlen);
}

int al_config_load_files(const char *const *paths, int n, al_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    al_rule *prom = NULL;
    int nprom = 0, cap = 0, own = -1;
    for (int i = 0; i < n; i++) {
        size_t len;
        char *text = pr_read(paths[i], &len, err, errlen);
        if (!text) goto fail;
        if (pr_is_prometheus(text, len)) {
            int rc = pr_load(paths[i], text, len, &prom, &nprom, &cap, err, errlen);
            free(text);
            if (rc < 0) goto fail;
            continue;
        }
        free(text);
        if (own >= 0) {
            snprintf(err, errlen, "%s: a second rules file in the alerter's own format (the first: %s); "
                     "put silences, inhibit and group_by in one file", paths[i], paths[own]);
            goto fail;
        }
        own = i;
    }
    if (own >= 0) {
        al_config tmp;
        /* own format: rules: may be empty when Prometheus files bring them */
        if (al_config_load_merged(paths[own], NULL, &tmp, prom, nprom, err, errlen) < 0) { prom = NULL; nprom = 0; goto fail; }
        *cfg = tmp;
        return 0;
    }
    if (al_config_load_merged(NULL, n ? paths[0] : "rules", cfg, prom, nprom, err, errlen) < 0) {
        prom = NULL; nprom = 0;
        goto fail;
    }
    return 0;
fail:
    if (prom) {
        al_config one = { .rules = prom, .nrules = nprom };
        al_config_free(&one);
    }
    return -1;
}
