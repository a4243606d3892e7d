/* yamlcfg.c — strict YAML configs onto C structs (yamlcfg.h).
 *
 * Two passes. First libyaml's event parser builds a small tree of nodes
 * (scalar / mapping / sequence, each with its 1-based line and column),
 * refusing anchors, aliases, explicit tags and more than one document: a
 * config is plain data, and an alias would let one key silently stand for
 * another block. Then the tree is walked against the field tables, so each
 * error can point at the exact node: "FILE:LINE:COL: reason".
 *
 * Null (an empty plain value, "~" or "null") means "not given": the field
 * keeps its zero value, and a required field given as null is an error.
 * Quoted scalars are accepted for numbers and booleans ("0.5" is 0.5): the
 * strictness is on content, not on quoting. Mapping keys are matched
 * exactly; an unknown one lists the valid keys (and the closest one). */
#include "yamlcfg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "cli.h"
#include "timefmt.h"

#define YC_MAX_DEPTH 64
#define YC_MAX_FILE (16 << 20)

typedef enum { YCN_SCALAR, YCN_MAP, YCN_SEQ } ycn_kind;

typedef struct ycn {
    ycn_kind kind;
    int line, col;
    char *str; size_t len;     /* scalar */
    int plain;                 /* scalar was unquoted (null detection) */
    struct ycn **kids;          /* map: key, value, key, value...; seq: items */
    int n, cap;
} ycn;

typedef struct yc_ctx {
    const char *name;
    char *err; size_t errlen;
    int failed;
} yc_ctx;

static int yc_fail(yc_ctx *cx, int line, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int yc_fail(yc_ctx *cx, int line, int col, const char *fmt, ...)
{
    if (cx->failed) return -1;       /* the first error is the useful one */
    cx->failed = 1;
    if (!cx->err || !cx->errlen) return -1;
    int k = snprintf(cx->err, cx->errlen, "%s:%d:%d: ", cx->name, line, col);
    if (k < 0 || (size_t)k >= cx->errlen) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cx->err + k, cx->errlen - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

static void ycn_free(ycn *n)
{
    if (!n) return;
    for (int i = 0; i < n->n; i++) ycn_free(n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n);
}

static int ycn_add(ycn *parent, ycn *kid)
{
    if (parent->n == parent->cap) {
        int cap = parent->cap ? parent->cap * 2 : 8;
        ycn **k = realloc(parent->kids, (size_t)cap * sizeof *k);
        if (!k) return -1;
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->n++] = kid;
    return 0;
}

static const char *ycn_kind_name(const ycn *n)
{
    return n->kind == YCN_MAP ? "a mapping" : n->kind == YCN_SEQ ? "a list" : "a scalar";
}

static int ycn_is_null(const ycn *n)
{
    if (n->kind != YCN_SCALAR || !n->plain) return 0;
    return n->len == 0 || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
           !strcmp(n->str, "Null") || !strcmp(n->str, "NULL");
}

/* ---- pass 1: events to tree ------------------------------------------------ */

static ycn *yc_tree(yc_ctx *cx, const char *text, size_t len)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) { yc_fail(cx, 0, 0, "out of memory"); return NULL; }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    ycn *stack[YC_MAX_DEPTH + 1];
    int depth = 0, docs = 0, done = 0;
    ycn *root = NULL;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            yc_fail(cx, (int)p.problem_mark.line + 1, (int)p.problem_mark.column + 1, "%s%s%s",
                    p.problem ? p.problem : "YAML syntax error",
                    p.context ? " " : "", p.context ? p.context : "");
            goto fail;
        }
        int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
        ycn *node = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                yc_fail(cx, line, col, "only one YAML document is allowed");
                yaml_event_delete(&ev);
                goto fail;
            }
            break;
        case YAML_ALIAS_EVENT:
            yc_fail(cx, line, col, "aliases (*%s) are not supported: write the value out",
                    (const char *)ev.data.alias.anchor);
            yaml_event_delete(&ev);
            goto fail;
        case YAML_SCALAR_EVENT:
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT: {
            const yaml_char_t *anchor = ev.type == YAML_SCALAR_EVENT ? ev.data.scalar.anchor
                : ev.type == YAML_MAPPING_START_EVENT ? ev.data.mapping_start.anchor : ev.data.sequence_start.anchor;
            const yaml_char_t *tag = ev.type == YAML_SCALAR_EVENT ? ev.data.scalar.tag
                : ev.type == YAML_MAPPING_START_EVENT ? ev.data.mapping_start.tag : ev.data.sequence_start.tag;
            if (anchor) {
                yc_fail(cx, line, col, "anchors (&%s) are not supported", (const char *)anchor);
                yaml_event_delete(&ev);
                goto fail;
            }
            if (tag) {
                yc_fail(cx, line, col, "tags (%s) are not supported", (const char *)tag);
                yaml_event_delete(&ev);
                goto fail;
            }
            node = calloc(1, sizeof *node);
            if (!node) { yc_fail(cx, line, col, "out of memory"); yaml_event_delete(&ev); goto fail; }
            node->line = line;
            node->col = col;
            if (ev.type == YAML_SCALAR_EVENT) {
                node->kind = YCN_SCALAR;
                node->len = ev.data.scalar.length;
                node->str = malloc(node->len + 1);
                if (!node->str) { free(node); yc_fail(cx, line, col, "out of memory"); yaml_event_delete(&ev); goto fail; }
                memcpy(node->str, ev.data.scalar.value, node->len);
                node->str[node->len] = 0;
                node->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            } else {
                node->kind = ev.type == YAML_MAPPING_START_EVENT ? YCN_MAP : YCN_SEQ;
            }
            if (depth == 0) {
                root = node;
            } else if (ycn_add(stack[depth - 1], node) < 0) {
                ycn_free(node);
                yc_fail(cx, line, col, "out of memory");
                yaml_event_delete(&ev);
                goto fail;
            }
            if (node->kind != YCN_SCALAR) {
                if (depth >= YC_MAX_DEPTH) {
                    yc_fail(cx, line, col, "nesting deeper than %d levels", YC_MAX_DEPTH);
                    yaml_event_delete(&ev);
                    goto fail;
                }
                stack[depth++] = node;
            }
            break;
        }
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            if (depth > 0) depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (!root) {
        /* an empty file is an empty mapping (missing keys are reported at 1:1) */
        root = calloc(1, sizeof *root);
        if (!root) { yc_fail(cx, 1, 1, "out of memory"); return NULL; }
        root->kind = YCN_MAP;
        root->line = root->col = 1;
    }
    return root;
fail:
    yaml_parser_delete(&p);
    ycn_free(root);
    return NULL;
}

/* ---- pass 2: tree to structs ------------------------------------------------ */

static void yc_fmt_num(const yc_field *f, double v, char *buf, size_t n)
{
    if (f->type == YC_DURATION) { time_format_duration((int64_t)v, buf, n); return; }
    snprintf(buf, n, "%.15g", v);
}

static int yc_bounds(yc_ctx *cx, const yc_field *f, const ycn *v, double x)
{
    if (!(f->min < f->max) || (x >= f->min && x <= f->max)) return 0;
    char lo[32], hi[32];
    yc_fmt_num(f, f->min, lo, sizeof lo);
    yc_fmt_num(f, f->max, hi, sizeof hi);
    return yc_fail(cx, v->line, v->col, "%s: %s is out of range %s..%s", f->key, v->str, lo, hi);
}

static int yc_scalar(yc_ctx *cx, const yc_field *f, const ycn *v, const char *what)
{
    if (v->kind == YCN_SCALAR) return 0;
    return yc_fail(cx, v->line, v->col, "%s: expected %s, got %s", f->key, what, ycn_kind_name(v));
}

static char *yc_strdup(yc_ctx *cx, const ycn *v)
{
    char *s = malloc(v->len + 1);
    if (!s) { yc_fail(cx, v->line, v->col, "out of memory"); return NULL; }
    memcpy(s, v->str, v->len + 1);
    return s;
}

static int yc_map_struct(yc_ctx *cx, const yc_struct *st, const ycn *node, char *obj);

static int yc_field_set(yc_ctx *cx, const yc_field *f, const ycn *v, char *obj)
{
    void *at = obj + f->offset;
    switch (f->type) {
    case YC_STR:
        if (yc_scalar(cx, f, v, "a string") < 0) return -1;
        return (*(char **)at = yc_strdup(cx, v)) ? 0 : -1;
    case YC_INT: {
        if (yc_scalar(cx, f, v, "an integer") < 0) return -1;
        char *end;
        errno = 0;
        long long x = strtoll(v->str, &end, 10);
        if (!v->len || *end || errno) return yc_fail(cx, v->line, v->col, "%s: '%s' is not an integer", f->key, v->str);
        if (yc_bounds(cx, f, v, (double)x) < 0) return -1;
        *(int64_t *)at = x;
        return 0;
    }
    case YC_DOUBLE: {
        if (yc_scalar(cx, f, v, "a number") < 0) return -1;
        char *end;
        errno = 0;
        double x = strtod(v->str, &end);
        if (!v->len || *end || errno == ERANGE || !isfinite(x))
            return yc_fail(cx, v->line, v->col, "%s: '%s' is not a number", f->key, v->str);
        if (yc_bounds(cx, f, v, x) < 0) return -1;
        *(double *)at = x;
        return 0;
    }
    case YC_BOOL: {
        if (yc_scalar(cx, f, v, "true or false") < 0) return -1;
        static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };
        for (int i = 0; i < 3; i++) {
            if (!strcasecmp(v->str, yes[i])) { *(int *)at = 1; return 0; }
            if (!strcasecmp(v->str, no[i])) { *(int *)at = 0; return 0; }
        }
        return yc_fail(cx, v->line, v->col, "%s: '%s' is not true or false", f->key, v->str);
    }
    case YC_DURATION: {
        if (yc_scalar(cx, f, v, "a duration") < 0) return -1;
        int64_t x;
        if (time_parse_duration(v->str, &x) < 0)
            return yc_fail(cx, v->line, v->col, "%s: '%s' is not a duration (e.g. 250ms, 30s, 5m, 1h, 1d)",
                           f->key, v->str);
        if (yc_bounds(cx, f, v, (double)x) < 0) return -1;
        *(int64_t *)at = x;
        return 0;
    }
    case YC_ENUM: {
        if (yc_scalar(cx, f, v, "a name") < 0) return -1;
        for (int i = 0; f->enum_names && f->enum_names[i]; i++)
            if (!strcmp(v->str, f->enum_names[i])) { *(int *)at = i; return 0; }
        char list[512];
        size_t k = 0;
        list[0] = 0;
        for (int i = 0; f->enum_names && f->enum_names[i] && k < sizeof list; i++)
            k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", f->enum_names[i]);
        return yc_fail(cx, v->line, v->col, "%s: '%s' is not one of: %s", f->key, v->str, list);
    }
    case YC_STRUCT:
        return yc_map_struct(cx, f->sub, v, (char *)at);
    case YC_LIST: {
        if (v->kind != YCN_SEQ)
            return yc_fail(cx, v->line, v->col, "%s: expected a list, got %s", f->key, ycn_kind_name(v));
        if (!v->n) return 0;
        char *arr = calloc((size_t)v->n, f->sub->size);
        if (!arr) return yc_fail(cx, v->line, v->col, "out of memory");
        *(void **)at = arr;
        /* count set before filling so yc_free releases a partial list */
        *(int *)(obj + f->count_offset) = v->n;
        for (int i = 0; i < v->n; i++)
            if (yc_map_struct(cx, f->sub, v->kids[i], arr + (size_t)i * f->sub->size) < 0) return -1;
        return 0;
    }
    case YC_STR_LIST: {
        if (v->kind == YCN_MAP)
            return yc_fail(cx, v->line, v->col, "%s: expected a list of strings, got a mapping", f->key);
        int n = v->kind == YCN_SEQ ? v->n : 1;
        if (!n) return 0;
        char **arr = calloc((size_t)n, sizeof *arr);
        if (!arr) return yc_fail(cx, v->line, v->col, "out of memory");
        *(char ***)at = arr;
        *(int *)(obj + f->count_offset) = n;
        for (int i = 0; i < n; i++) {
            const ycn *e = v->kind == YCN_SEQ ? v->kids[i] : v;
            if (e->kind != YCN_SCALAR)
                return yc_fail(cx, e->line, e->col, "%s: expected a string, got %s", f->key, ycn_kind_name(e));
            if (!(arr[i] = yc_strdup(cx, e))) return -1;
        }
        return 0;
    }
    case YC_STR_MAP: {
        if (v->kind != YCN_MAP)
            return yc_fail(cx, v->line, v->col, "%s: expected a mapping of strings, got %s", f->key, ycn_kind_name(v));
        int n = v->n / 2;
        if (!n) return 0;
        yc_kv *arr = calloc((size_t)n, sizeof *arr);
        if (!arr) return yc_fail(cx, v->line, v->col, "out of memory");
        *(yc_kv **)at = arr;
        *(int *)(obj + f->count_offset) = n;
        for (int i = 0; i < n; i++) {
            const ycn *k = v->kids[2 * i], *val = v->kids[2 * i + 1];
            if (k->kind != YCN_SCALAR)
                return yc_fail(cx, k->line, k->col, "%s: a key must be a string, got %s", f->key, ycn_kind_name(k));
            for (int j = 0; j < i; j++)
                if (!strcmp(v->kids[2 * j]->str, k->str))
                    return yc_fail(cx, k->line, k->col, "%s: duplicate key '%s' (first at line %d)",
                                   f->key, k->str, v->kids[2 * j]->line);
            if (val->kind != YCN_SCALAR)
                return yc_fail(cx, val->line, val->col, "%s.%s: expected a string, got %s", f->key, k->str,
                               ycn_kind_name(val));
            if (!(arr[i].key = yc_strdup(cx, k))) return -1;
            if (ycn_is_null(val)) arr[i].value = calloc(1, 1);
            else arr[i].value = yc_strdup(cx, val);
            if (!arr[i].value) return yc_fail(cx, val->line, val->col, "out of memory");
        }
        return 0;
    }
    }
    return yc_fail(cx, v->line, v->col, "%s: unsupported field type", f->key);
}

static int yc_map_struct(yc_ctx *cx, const yc_struct *st, const ycn *node, char *obj)
{
    const char *what = st->name ? st->name : "mapping";
    if (node->kind != YCN_MAP)
        return yc_fail(cx, node->line, node->col, "expected a mapping (%s), got %s%s%s%s", what,
                       ycn_kind_name(node), node->kind == YCN_SCALAR ? " '" : "",
                       node->kind == YCN_SCALAR ? node->str : "", node->kind == YCN_SCALAR ? "'" : "");
    int seen_small[64];
    int *seen = st->nfields <= 64 ? seen_small : calloc((size_t)st->nfields, sizeof *seen);
    if (!seen) return yc_fail(cx, node->line, node->col, "out of memory");
    memset(seen, 0, sizeof *seen * (size_t)(st->nfields <= 64 ? 64 : st->nfields));
    int rc = 0;
    for (int i = 0; i + 1 < node->n && rc == 0; i += 2) {
        const ycn *k = node->kids[i], *v = node->kids[i + 1];
        if (k->kind != YCN_SCALAR) { rc = yc_fail(cx, k->line, k->col, "a key in %s must be a string, got %s", what, ycn_kind_name(k)); break; }
        int fi = -1;
        for (int j = 0; j < st->nfields; j++)
            if (!strcmp(st->fields[j].key, k->str)) { fi = j; break; }
        if (fi < 0) {
            char list[1024];
            size_t off = 0;
            list[0] = 0;
            const char *cands[128];
            int nc = 0;
            for (int j = 0; j < st->nfields && off < sizeof list; j++) {
                off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", j ? ", " : "", st->fields[j].key);
                if (nc < 128) cands[nc++] = st->fields[j].key;
            }
            const char *sug = cli_suggest(k->str, cands, nc);
            if (sug)
                rc = yc_fail(cx, k->line, k->col, "unknown key '%s' in %s (did you mean '%s'?); valid keys: %s",
                             k->str, what, sug, list);
            else
                rc = yc_fail(cx, k->line, k->col, "unknown key '%s' in %s; valid keys: %s", k->str, what, list);
            break;
        }
        const yc_field *f = &st->fields[fi];
        if (seen[fi]) { rc = yc_fail(cx, k->line, k->col, "duplicate key '%s' (first at line %d)", k->str, seen[fi]); break; }
        seen[fi] = k->line;
        if (f->line_offset) *(int *)(obj + f->line_offset) = k->line;
        if (ycn_is_null(v)) {
            if (f->required) rc = yc_fail(cx, v->line, v->col, "%s: needs a value", f->key);
            continue;            /* null: not given, keep the zero value */
        }
        rc = yc_field_set(cx, f, v, obj);
    }
    for (int j = 0; j < st->nfields && rc == 0; j++)
        if (st->fields[j].required && !seen[j])
            rc = yc_fail(cx, node->line ? node->line : 1, node->col ? node->col : 1,
                         "missing required key '%s' in %s", st->fields[j].key, what);
    if (seen != seen_small) free(seen);
    return rc;
}

int yc_load_string(const char *name, const char *text, size_t len, const yc_struct *root,
                   void *out, char *err, size_t errlen)
{
    yc_ctx cx = { .name = name ? name : "<config>", .err = err, .errlen = errlen };
    if (err && errlen) err[0] = 0;
    if (root->size) memset(out, 0, root->size);
    ycn *tree = yc_tree(&cx, text, len);
    if (!tree) return -1;
    int rc = yc_map_struct(&cx, root, tree, out);
    ycn_free(tree);
    if (rc < 0) {
        yc_free(root, out);
        if (root->size) memset(out, 0, root->size);
    }
    return rc;
}

int yc_load(const char *path, const yc_struct *root, void *out, char *err, size_t errlen)
{
    if (root->size) memset(out, 0, root->size);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err && errlen) snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            if (cap >= YC_MAX_FILE) { free(buf); buf = NULL; fclose(f);
                if (err && errlen) snprintf(err, errlen, "%s: larger than %d MiB", path, YC_MAX_FILE >> 20);
                return -1; }
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int rerr = ferror(f);
    fclose(f);
    if (!buf || rerr) {
        free(buf);
        if (err && errlen) snprintf(err, errlen, "%s: cannot read: %s", path, buf ? "I/O error" : "out of memory");
        return -1;
    }
    int rc = yc_load_string(path, buf, n, root, out, err, errlen);
    free(buf);
    return rc;
}

static void yc_free_struct(const yc_struct *st, char *obj)
{
    for (int i = 0; i < st->nfields; i++) {
        const yc_field *f = &st->fields[i];
        void *at = obj + f->offset;
        switch (f->type) {
        case YC_STR:
            free(*(char **)at);
            *(char **)at = NULL;
            break;
        case YC_STRUCT:
            yc_free_struct(f->sub, (char *)at);
            break;
        case YC_LIST: {
            char *arr = *(char **)at;
            int n = *(int *)(obj + f->count_offset);
            for (int j = 0; arr && j < n; j++) yc_free_struct(f->sub, arr + (size_t)j * f->sub->size);
            free(arr);
            *(char **)at = NULL;
            *(int *)(obj + f->count_offset) = 0;
            break;
        }
        case YC_STR_LIST: {
            char **arr = *(char ***)at;
            int n = *(int *)(obj + f->count_offset);
            for (int j = 0; arr && j < n; j++) free(arr[j]);
            free(arr);
            *(char ***)at = NULL;
            *(int *)(obj + f->count_offset) = 0;
            break;
        }
        case YC_STR_MAP: {
            yc_kv *arr = *(yc_kv **)at;
            int n = *(int *)(obj + f->count_offset);
            for (int j = 0; arr && j < n; j++) { free(arr[j].key); free(arr[j].value); }
            free(arr);
            *(yc_kv **)at = NULL;
            *(int *)(obj + f->count_offset) = 0;
            break;
        }
        default:
            break;
        }
    }
}

void yc_free(const yc_struct *root, void *obj)
{
    if (root && obj) yc_free_struct(root, obj);
}
