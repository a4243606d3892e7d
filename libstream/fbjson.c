/* fbjson.c — records to and from JSON (fbjson.h), for every table type, by
 * walking the descriptors that fbsgen generates (libstream/fbsgen/fbdesc.h),
 * as the binary codec in fbdecode.c and fbencode.c does. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fbjson.h"
#include "fbrec.h"
#include "timefmt.h"
#include "fbfield.h"

/* ---- to JSON -------------------------------------------------------------- */

/* Two forms (fbjson.h). FB_JSON_FLATC is exactly what flatc --json prints.
 * FB_JSON_JQ, the stages' default, is for people and jq: every field is
 * written (defaults too: absent strings as null, absent vectors empty), and
 * three shapes are turned so that a jq path reaches them directly:
 *   - a vector of {key, value} string tables (labels, attrs) is an object,
 *     {"endpoint":"/api/recs"}, keys in record order (a repeated key is
 *     written each time; jq keeps the last);
 *   - a vector of {q, value} structs (quantiles) becomes one field per
 *     quantile, named by fb_quantile_name ("p50", "p95", "p999"), where the
 *     vector would be; a quantile without a name, or not above the previous
 *     named one, stays in a list under the vector's own name;
 *   - a µs timestamp (fb_is_time) is followed by NAME_iso, the same instant
 *     as ISO 8601 UTC text, as the logs write it; null when NAME is 0, the
 *     schemas' "not set". */

/* labels, attrs */
static int fb_is_keyvalue_vec(const fbrec_field_desc *f)
{
    if (!f->is_vector || f->base != FB_TABLE || f->sub->nfields != 2)
        return 0;
    const fbrec_field_desc *k = &f->sub->fields[0], *v = &f->sub->fields[1];
    return !strcmp(k->name, "key") && k->base == FB_STRING && !k->is_vector &&
           !strcmp(v->name, "value") && v->base == FB_STRING && !v->is_vector;
}

/* quantiles */
static int fb_is_quantile_vec(const fbrec_field_desc *f)
{
    if (!f->is_vector || f->base != FB_STRUCT || f->sub->nfields != 2)
        return 0;
    const fbrec_field_desc *q = &f->sub->fields[0], *v = &f->sub->fields[1];
    return !strcmp(q->name, "q") && q->base == FB_F64 && !strcmp(v->name, "value") && v->base == FB_F64;
}

/* Timestamps are longs in µs (schemas/common.fbs) named ts, *_at or window_start/window_end. */
static int fb_is_time(const fbrec_field_desc *f)
{
    if (f->is_vector || f->base != FB_I64 || f->enm)
        return 0;
    size_t n = strlen(f->name);
    return !strcmp(f->name, "ts") || (n > 3 && !strcmp(f->name + n - 3, "_at")) ||
           !strcmp(f->name, "window_start") || !strcmp(f->name, "window_end");
}

#define FB_QNAME_DIGITS 20   /* longest quantile name: p and this many digits */

/* "p" and the decimal digits of q after "0.": the fewest that read back to
 * q, at least two (0.5 -> p50, 0.95 -> p95, 0.999 -> p999, 0.05 -> p05),
 * with p0 for 0 and p100 for 1. Every name stands for one q, so the name
 * alone reads back. 0 if q has none: NaN, -0, outside [0, 1], or more than
 * FB_QNAME_DIGITS digits. buf: FB_QNAME_DIGITS + 2 bytes. */
int fb_quantile_name(double q, char *buf)
{
    if (!(q >= 0 && q <= 1) || __builtin_signbit(q))
        return 0;
    if (q == 0 || q == 1) {
        strcpy(buf, q == 0 ? "p0" : "p100");
        return 1;
    }
    char tmp[FB_QNAME_DIGITS + 8];
    for (int k = 1; k <= FB_QNAME_DIGITS; k++) {
        snprintf(tmp, sizeof tmp, "%.*f", k, q);
        if (strtod(tmp, NULL) != q)
            continue;
        /* tmp is "0.DIGITS"; the last digit is not 0 (k-1 digits would do) */
        buf[0] = 'p';
        memcpy(buf + 1, tmp + 2, (size_t)k);
        if (k == 1)
            buf[++k] = '0';
        buf[k + 1] = 0;
        return 1;
    }
    return 0;
}

/* The q a quantile name stands for: 0, or -1 if name is not one. "p5" is
 * refused (it would be 0.5, not the 5th percentile: write p05 or p50). */
static int fb_quantile_parse(const char *s, size_t len, double *q)
{
    if (len < 2 || len > FB_QNAME_DIGITS + 1 || s[0] != 'p')
        return -1;
    for (size_t i = 1; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    if (len == 2) {
        if (s[1] != '0')
            return -1;
        *q = 0;
        return 0;
    }
    if (len == 4 && !memcmp(s, "p100", 4)) {
        *q = 1;
        return 0;
    }
    char tmp[FB_QNAME_DIGITS + 4] = "0.";
    memcpy(tmp + 2, s + 1, len - 1);
    tmp[len + 1] = 0;
    *q = strtod(tmp, NULL);
    return 0;
}

static const char *fb_enum_name(const fbrec_enum_desc *e, int64_t v)
{
    int lo = 0, hi = e->nvals - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (e->vals[mid].value == v)
            return e->vals[mid].name;
        if (e->vals[mid].value < v)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

static void fb_json_scalar(const fbrec_field_desc *f, const void *p, json_writer *w);
static void fb_json_table(const fbrec_desc *t, const void *rec, json_writer *w, fb_json_style style);

static void fb_json_struct(const fbrec_desc *s, const void *p, json_writer *w)
{
    jw_obj_begin(w);
    for (int i = 0; i < s->nfields; i++) {
        const fbrec_field_desc *f = &s->fields[i];
        jw_key(w, f->name);
        if (f->base == FB_STRUCT)
            fb_json_struct(f->sub, (const char *)p + f->offset, w);
        else
            fb_json_scalar(f, (const char *)p + f->offset, w);
    }
    jw_obj_end(w);
}

static void fb_json_scalar(const fbrec_field_desc *f, const void *p, json_writer *w)
{
    switch (f->base) {
    case FB_BOOL: jw_bool(w, *(const uint8_t *)p != 0); return;
    case FB_F32: case FB_F64: jw_double(w, fb_load_f(f->base, p)); return;
    case FB_U64: { uint64_t v; memcpy(&v, p, 8); jw_uint(w, v); return; }
    default: break;
    }
    int64_t v = fb_load_i(f->base, p);
    if (f->enm) {
        const char *name = fb_enum_name(f->enm, v);
        if (name) {   /* out-of-range values print as numbers, as flatc does */
            jw_cstr(w, name);
            return;
        }
    }
    jw_int(w, v);
}

static size_t fb_vec_elem_size(const fbrec_field_desc *f)
{
    return f->base == FB_STRING ? sizeof(fb_str) : f->base == FB_TABLE ? f->sub->size : fb_inline_size(f);
}

/* Elements start..n of a vector as a JSON array; skip (if not NULL) marks
 * the ones left out (quantiles written as named fields). */
static void fb_json_vector(const fbrec_field_desc *f, const char *arr, uint32_t n, const uint8_t *skip,
                           json_writer *w, fb_json_style style)
{
    jw_arr_begin(w);
    size_t esize = fb_vec_elem_size(f);
    for (uint32_t i = 0; i < n; i++) {
        if (skip && skip[i])
            continue;
        const char *e = arr + (size_t)i * esize;
        if (f->base == FB_STRING) {
            const fb_str *s = (const fb_str *)e;
            jw_str(w, s->ptr ? s->ptr : "", s->ptr ? s->len : 0);
        } else if (f->base == FB_TABLE) {
            fb_json_table(f->sub, e, w, style);
        } else if (f->base == FB_STRUCT) {
            fb_json_struct(f->sub, e, w);
        } else {
            fb_json_scalar(f, e, w);
        }
    }
    jw_arr_end(w);
}

/* labels as {"endpoint":"/api/recs"}; a pair without a key cannot be a
 * member, so such a vector stays a list of {key, value}. */
static void fb_jq_keyvalues(const fbrec_field_desc *f, const char *arr, uint32_t n, json_writer *w)
{
    const fbrec_desc *kv = f->sub;
    size_t ko = kv->fields[0].offset, vo = kv->fields[1].offset;
    jw_key(w, f->name);
    for (uint32_t i = 0; i < n; i++)
        if (!((const fb_str *)(arr + (size_t)i * kv->size + ko))->ptr) {
            fb_json_vector(f, arr, n, NULL, w, FB_JSON_JQ);
            return;
        }
    jw_obj_begin(w);
    for (uint32_t i = 0; i < n; i++) {
        const fb_str *k = (const fb_str *)(arr + (size_t)i * kv->size + ko);
        const fb_str *v = (const fb_str *)(arr + (size_t)i * kv->size + vo);
        jw_key_n(w, k->ptr, k->len);
        jw_str(w, v->ptr, v->len);   /* absent value: null */
    }
    jw_obj_end(w);
}

static int fb_table_has_field(const fbrec_desc *t, const char *name)
{
    for (int i = 0; i < t->nfields; i++)
        if (!strcmp(t->fields[i].name, name))
            return 1;
    return 0;
}

/* quantiles as p50, p95, ...: each one with a name that is above the last
 * named one (so no name repeats and the order reads back); the rest, if
 * any, as a list under the vector's name. */
static void fb_jq_quantiles(const fbrec_desc *t, const fbrec_field_desc *f, const char *arr, uint32_t n,
                            json_writer *w)
{
    const fbrec_desc *s = f->sub;
    size_t qo = s->fields[0].offset, vo = s->fields[1].offset;
    uint8_t small[64], *named = n <= sizeof small ? small : malloc(n);
    if (!named)
        abort();   /* as the arena does when memory runs out */
    uint32_t nlisted = 0;
    double last = -1;
    char name[FB_QNAME_DIGITS + 2];
    for (uint32_t i = 0; i < n; i++) {
        const char *e = arr + (size_t)i * s->size;
        double q = fb_load_f(FB_F64, e + qo);
        named[i] = q > last && fb_quantile_name(q, name) && !fb_table_has_field(t, name);
        if (!named[i]) {
            nlisted++;
            continue;
        }
        last = q;
        jw_key(w, name);
        jw_double(w, fb_load_f(FB_F64, e + vo));
    }
    if (nlisted) {
        jw_key(w, f->name);
        fb_json_vector(f, arr, n, named, w, FB_JSON_JQ);
    }
    if (named != small)
        free(named);
}

static void fb_json_table(const fbrec_desc *t, const void *recv, json_writer *w, fb_json_style style)
{
    const char *rec = recv;
    int jq = style == FB_JSON_JQ;
    jw_obj_begin(w);
    for (int i = 0; i < t->nfields; i++) {
        const fbrec_field_desc *f = &t->fields[i];
        const void *p = rec + f->offset;
        if (f->is_vector) {
            const char *arr;
            uint32_t n;
            memcpy(&arr, p, sizeof arr);
            memcpy(&n, rec + f->count_offset, 4);
            if (!arr)
                n = 0;
            if (jq && fb_is_keyvalue_vec(f)) {
                fb_jq_keyvalues(f, arr, n, w);
            } else if (jq && fb_is_quantile_vec(f)) {
                fb_jq_quantiles(t, f, arr, n, w);
            } else if (arr || jq) {
                jw_key(w, f->name);
                fb_json_vector(f, arr, n, NULL, w, style);
            }
        } else if (f->base == FB_STRING) {
            const fb_str *s = p;
            if (!s->ptr && !jq)
                continue;
            jw_key(w, f->name);
            jw_str(w, s->ptr, s->len);   /* absent: null */
        } else if (f->base == FB_TABLE) {
            const void *sub;
            memcpy(&sub, p, sizeof sub);
            if (!sub && !jq)
                continue;
            jw_key(w, f->name);
            if (sub)
                fb_json_table(f->sub, sub, w, style);
            else
                jw_null(w);
        } else if (f->base == FB_STRUCT) {
            jw_key(w, f->name);
            fb_json_struct(f->sub, p, w);
        } else {
            if (!jq && fb_is_default(f, p))
                continue;
            jw_key(w, f->name);
            fb_json_scalar(f, p, w);
            if (jq && fb_is_time(f)) {
                char key[64], iso[48];
                int64_t us;
                memcpy(&us, p, 8);
                snprintf(key, sizeof key, "%s_iso", f->name);
                jw_key(w, key);
                if (us == 0)   /* the default: not set (an alert's ends_at while firing) */
                    jw_null(w);
                else
                    jw_str(w, iso, (size_t)time_format_iso(us, iso));
            }
        }
    }
    jw_obj_end(w);
}

void fb_to_json_style(const fbrec_desc *d, const void *rec, json_writer *w, fb_json_style style)
{
    if (d->is_struct)
        fb_json_struct(d, rec, w);
    else
        fb_json_table(d, rec, w, style);
}

void fb_to_json(const fbrec_desc *d, const void *rec, json_writer *w)
{
    fb_to_json_style(d, rec, w, FB_JSON_FLATC);
}

int fb_json_style_parse(const char *s, fb_json_style *style)
{
    if (!strcmp(s, "jq"))
        *style = FB_JSON_JQ;
    else if (!strcmp(s, "flatc"))
        *style = FB_JSON_FLATC;
    else
        return -1;
    return 0;
}

/* ---- from JSON ------------------------------------------------------------ */

typedef struct fb_fj {
    const json_doc *doc;
    arena *a;
    char *err; size_t errlen;
    /* where we are, for error messages: field names and vector indexes */
    struct { const char *name; int64_t index; } path[FB_MAX_DEPTH * 2 + 4];
    int depth;
} fb_fj;

__attribute__((format(printf, 2, 3)))
static int fb_fj_fail(fb_fj *c, const char *fmt, ...)
{
    if (!c->err || !c->errlen)
        return -1;
    size_t n = 0;
    if (c->depth > 0) {
        n += (size_t)snprintf(c->err, c->errlen, "field ");
        for (int i = 0; i < c->depth && n < c->errlen; i++) {
            if (c->path[i].name)
                n += (size_t)snprintf(c->err + n, c->errlen - n, "%s%s", i ? "." : "", c->path[i].name);
            else
                n += (size_t)snprintf(c->err + n, c->errlen - n, "[%lld]", (long long)c->path[i].index);
        }
        if (n < c->errlen)
            n += (size_t)snprintf(c->err + n, c->errlen - n, ": ");
    }
    if (n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int fb_fj_push(fb_fj *c, const char *name, int64_t index)
{
    if (c->depth >= (int)(sizeof c->path / sizeof c->path[0]))
        return fb_fj_fail(c, "nested too deeply");
    c->path[c->depth].name = name;
    c->path[c->depth].index = index;
    c->depth++;
    return 0;
}

static int fb_fj_int_range(int base, int64_t v)
{
    switch (base) {
    case FB_BOOL: return v == 0 || v == 1;
    case FB_I8: return v >= INT8_MIN && v <= INT8_MAX;
    case FB_U8: return v >= 0 && v <= UINT8_MAX;
    case FB_I16: return v >= INT16_MIN && v <= INT16_MAX;
    case FB_U16: return v >= 0 && v <= UINT16_MAX;
    case FB_I32: return v >= INT32_MIN && v <= INT32_MAX;
    case FB_U32: return v >= 0 && v <= (int64_t)UINT32_MAX;
    case FB_U64: return v >= 0;
    default: return 1;
    }
}

static int fb_fj_scalar(fb_fj *c, const fbrec_field_desc *f, const json_node *n, void *dst)
{
    int base = f->base;
    if (base == FB_BOOL) {
        if (n->type == JSON_TRUE || n->type == JSON_FALSE) {
            *(uint8_t *)dst = n->type == JSON_TRUE;
            return 0;
        }
        if (n->type == JSON_NUMBER && n->is_int && (n->i == 0 || n->i == 1)) {
            *(uint8_t *)dst = (uint8_t)n->i;
            return 0;
        }
        return fb_fj_fail(c, "expected a bool, got %s", json_type_name(n->type));
    }
    if (fb_is_float(base)) {
        if (n->type == JSON_NUMBER) {
            double v = n->num;
            if (v == 0 && n->str && n->str[0] == '-')
                v = -0.0;   /* the reader may have taken "-0" as the integer 0 */
            fb_store_f(base, dst, v);
            return 0;
        }
        if (n->type == JSON_STRING) {   /* flatc's spellings of non-finite values */
            const char *s = n->str;
            double v;
            if (!strcmp(s, "nan") || !strcmp(s, "+nan") || !strcmp(s, "-nan"))
                v = s[0] == '-' ? -__builtin_nan("") : __builtin_nan("");
            else if (!strcmp(s, "inf") || !strcmp(s, "+inf") || !strcmp(s, "infinity"))
                v = __builtin_inf();
            else if (!strcmp(s, "-inf") || !strcmp(s, "-infinity"))
                v = -__builtin_inf();
            else
                return fb_fj_fail(c, "expected a number, got string \"%.40s\"", s);
            fb_store_f(base, dst, v);
            return 0;
        }
        return fb_fj_fail(c, "expected a number, got %s", json_type_name(n->type));
    }
    /* integers and enums */
    if (f->enm && n->type == JSON_STRING) {
        for (int i = 0; i < f->enm->nvals; i++)
            if (strlen(f->enm->vals[i].name) == n->len && memcmp(f->enm->vals[i].name, n->str, n->len) == 0) {
                fb_store_i(base, dst, f->enm->vals[i].value);
                return 0;
            }
        return fb_fj_fail(c, "\"%.40s\" is not a %s", n->str, f->enm->name);
    }
    if (n->type != JSON_NUMBER)
        return fb_fj_fail(c, "expected %s, got %s", f->enm ? "an enum name or number" : "an integer",
                          json_type_name(n->type));
    if (n->is_int) {
        if (!fb_fj_int_range(base, n->i))
            return fb_fj_fail(c, "%lld is out of range", (long long)n->i);
        fb_store_i(base, dst, n->i);
        return 0;
    }
    if (base == FB_U64 && n->str) {   /* above INT64_MAX: the exact text */
        const char *s = n->str;
        size_t k = 0;
        while (s[k] >= '0' && s[k] <= '9')
            k++;
        if (k > 0 && k <= 20 && (s[k] == 0 || s[k] == ',' || s[k] == '}' || s[k] == ']' ||
                                 s[k] == ' ' || s[k] == '\t' || s[k] == '\r' || s[k] == '\n')) {
            char tmp[24];
            memcpy(tmp, s, k);
            tmp[k] = 0;
            errno = 0;
            unsigned long long v = strtoull(tmp, NULL, 10);
            if (errno == 0) {
                memcpy(dst, &(uint64_t){ v }, 8);
                return 0;
            }
        }
        return fb_fj_fail(c, "not an integer in range");
    }
    return fb_fj_fail(c, "expected an integer, got %.17g", n->num);
}

static int fb_fj_table(fb_fj *c, const fbrec_desc *t, const json_node *obj, void *out);

static int fb_fj_struct(fb_fj *c, const fbrec_desc *s, const json_node *obj, void *out)
{
    if (obj->type != JSON_OBJECT)
        return fb_fj_fail(c, "expected an object, got %s", json_type_name(obj->type));
    for (const json_node *m = json_child(c->doc, obj); m; m = json_next(c->doc, m)) {
        const fbrec_field_desc *f = NULL;
        for (int i = 0; i < s->nfields; i++)
            if (strcmp(s->fields[i].name, m->keystr) == 0)
                f = &s->fields[i];
        if (!f)
            return fb_fj_fail(c, "unknown field \"%.40s\" in %s", m->keystr, s->name);
        if (m->type == JSON_NULL) {   /* what a NaN or infinity prints as */
            if (fb_is_float(f->base))
                fb_store_f(f->base, (char *)out + f->offset, __builtin_nan(""));
            continue;
        }
        if (fb_fj_push(c, f->name, 0) < 0)
            return -1;
        int rc = f->base == FB_STRUCT ? fb_fj_struct(c, f->sub, m, (char *)out + f->offset)
                                      : fb_fj_scalar(c, f, m, (char *)out + f->offset);
        if (rc < 0)
            return -1;
        c->depth--;
    }
    return 0;
}

/* labels in the jq form: {"endpoint":"/api/recs"}, a value null when absent */
static int fb_fj_keyvalues(fb_fj *c, const fbrec_field_desc *f, const json_node *obj, char *rec)
{
    const fbrec_desc *kv = f->sub;
    size_t ko = kv->fields[0].offset, vo = kv->fields[1].offset;
    uint32_t n = obj->len, i = 0;
    char *arr = arena_alloc(c->a, n ? (size_t)n * kv->size : 1, kv->align);
    for (const json_node *m = json_child(c->doc, obj); m && i < n; m = json_next(c->doc, m), i++) {
        char *dst = arr + (size_t)i * kv->size;
        fbrec_init(kv, dst);
        *(fb_str *)(dst + ko) = (fb_str){ arena_strndup(c->a, m->keystr, m->keylen), m->keylen };
        if (m->type == JSON_STRING) {
            *(fb_str *)(dst + vo) = (fb_str){ arena_strndup(c->a, m->str, m->len), m->len };
        } else if (m->type != JSON_NULL) {
            if (fb_fj_push(c, m->keystr, 0) < 0)
                return -1;
            return fb_fj_fail(c, "expected a string or null, got %s", json_type_name(m->type));
        }
    }
    memcpy(rec + f->offset, &arr, sizeof arr);
    memcpy(rec + f->count_offset, &i, 4);
    return 0;
}

static int fb_fj_vector(fb_fj *c, const fbrec_field_desc *f, const json_node *arrn, char *rec)
{
    if (arrn->type == JSON_OBJECT && fb_is_keyvalue_vec(f))
        return fb_fj_keyvalues(c, f, arrn, rec);
    if (arrn->type != JSON_ARRAY)
        return fb_fj_fail(c, "expected an array, got %s", json_type_name(arrn->type));
    uint32_t n = arrn->len;
    size_t esize = f->base == FB_STRING ? sizeof(fb_str) : f->base == FB_TABLE ? f->sub->size
                 : fb_inline_size(f);
    size_t ealign = f->base == FB_STRING ? _Alignof(fb_str) : f->base == FB_TABLE ? f->sub->align
                  : fb_inline_align(f);
    char *arr = arena_alloc(c->a, n ? (size_t)n * esize : 1, ealign);
    uint32_t i = 0;
    for (const json_node *e = json_child(c->doc, arrn); e && i < n; e = json_next(c->doc, e), i++) {
        char *dst = arr + (size_t)i * esize;
        if (fb_fj_push(c, NULL, i) < 0)
            return -1;
        int rc = 0;
        if (f->base == FB_STRING) {
            if (e->type != JSON_STRING)
                rc = fb_fj_fail(c, "expected a string, got %s", json_type_name(e->type));
            else
                *(fb_str *)dst = (fb_str){ arena_strndup(c->a, e->str, e->len), e->len };
        } else if (f->base == FB_TABLE) {
            fbrec_init(f->sub, dst);
            rc = fb_fj_table(c, f->sub, e, dst);
        } else if (f->base == FB_STRUCT) {
            rc = fb_fj_struct(c, f->sub, e, dst);
        } else if (e->type != JSON_NULL) {
            rc = fb_fj_scalar(c, f, e, dst);
        } else {   /* null: what a NaN or infinity prints as */
            memset(dst, 0, esize);
            if (fb_is_float(f->base))
                fb_store_f(f->base, dst, __builtin_nan(""));
        }
        if (rc < 0)
            return -1;
        c->depth--;
    }
    memcpy(rec + f->offset, &arr, sizeof arr);
    memcpy(rec + f->count_offset, &i, 4);
    return 0;
}

/* NAME_iso beside the µs time NAME: with NAME given, it must be the same
 * instant (as written, or parsed); alone, it sets NAME. */
static int fb_fj_time_iso(fb_fj *c, const fbrec_field_desc *f, const json_node *iso, int given, void *dst)
{
    int64_t us, given_us;
    memcpy(&given_us, dst, 8);
    if (iso->type != JSON_STRING)
        return fb_fj_fail(c, "expected an ISO 8601 time or null, got %s", json_type_name(iso->type));
    if (given) {
        char text[48];
        int n = time_format_iso(given_us, text);
        if (((size_t)n == iso->len && !memcmp(text, iso->str, iso->len)) ||
            (time_parse_iso(iso->str, iso->len, &us) == 0 && us == given_us))
            return 0;
        return fb_fj_fail(c, "\"%.40s\" is not the time in %s (%s): give one of the two", iso->str,
                          f->name, text);
    }
    if (time_parse_iso(iso->str, iso->len, &us) < 0)
        return fb_fj_fail(c, "\"%.40s\" is not an ISO 8601 time (2026-11-23T10:00:00Z)", iso->str);
    memcpy(dst, &us, 8);
    return 0;
}

typedef struct fb_fj_named { double q, value; uint32_t order; } fb_fj_named;

static int fb_fj_named_cmp(const void *a, const void *b)
{
    const fb_fj_named *x = a, *y = b;
    if (x->q != y->q)
        return x->q < y->q ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Quantiles given as named fields (p50, p95): in order of q, then those of
 * the list under the vector's name, if one was given. */
static int fb_fj_quantiles(fb_fj *c, const fbrec_desc *t, const fbrec_field_desc *f, const json_node *obj,
                           uint32_t nnamed, char *rec)
{
    const fbrec_desc *s = f->sub;
    fb_fj_named *named = arena_alloc(c->a, (size_t)nnamed * sizeof *named, _Alignof(fb_fj_named));
    uint32_t k = 0;
    for (const json_node *m = json_child(c->doc, obj); m && k < nnamed; m = json_next(c->doc, m)) {
        double q;
        if (!m->keystr || fb_table_has_field(t, m->keystr) ||
            fb_quantile_parse(m->keystr, m->keylen, &q) < 0)
            continue;
        named[k].q = q;
        named[k].order = k;
        named[k].value = __builtin_nan("");   /* null: a quantile has no default */
        if (m->type != JSON_NULL) {
            if (fb_fj_push(c, m->keystr, 0) < 0 || fb_fj_scalar(c, &s->fields[1], m, &named[k].value) < 0)
                return -1;
            c->depth--;
        }
        k++;
    }
    qsort(named, k, sizeof *named, fb_fj_named_cmp);
    const char *old;
    uint32_t nold;
    memcpy(&old, rec + f->offset, sizeof old);
    memcpy(&nold, rec + f->count_offset, 4);
    if (!old)
        nold = 0;
    uint32_t n = k + nold;
    char *arr = arena_alloc(c->a, (size_t)n * s->size, s->align);
    size_t qo = s->fields[0].offset, vo = s->fields[1].offset;
    for (uint32_t i = 0; i < k; i++) {
        memset(arr + (size_t)i * s->size, 0, s->size);
        fb_store_f(FB_F64, arr + (size_t)i * s->size + qo, named[i].q);
        fb_store_f(FB_F64, arr + (size_t)i * s->size + vo, named[i].value);
    }
    if (nold)
        memcpy(arr + (size_t)k * s->size, old, (size_t)nold * s->size);
    memcpy(rec + f->offset, &arr, sizeof arr);
    memcpy(rec + f->count_offset, &n, 4);
    return 0;
}

#define FB_FJ_MAX_FIELDS 256   /* fields per table tracked for repeats and NAME_iso */

static int fb_fj_table(fb_fj *c, const fbrec_desc *t, const json_node *obj, void *out)
{
    if (obj->type != JSON_OBJECT)
        return fb_fj_fail(c, "expected an object, got %s", json_type_name(obj->type));
    const json_node *given[FB_FJ_MAX_FIELDS] = { 0 }, *iso[FB_FJ_MAX_FIELDS] = { 0 };
    const fbrec_field_desc *quantiles = NULL;
    for (int i = 0; i < t->nfields && !quantiles; i++)
        if (fb_is_quantile_vec(&t->fields[i]))
            quantiles = &t->fields[i];
    uint32_t nnamed = 0;
    char *rec = out;
    for (const json_node *m = json_child(c->doc, obj); m; m = json_next(c->doc, m)) {
        const char *key = m->keystr ? m->keystr : "";
        int fi = -1;
        for (int i = 0; i < t->nfields; i++)
            if (t->fields[i].name[0] == key[0] && strcmp(t->fields[i].name, key) == 0) {
                fi = i;
                break;
            }
        if (fi < 0) {
            /* what the jq form adds: NAME_iso, quantile names */
            size_t klen = strlen(key);
            double q;
            if (klen > 4 && !strcmp(key + klen - 4, "_iso")) {
                for (int i = 0; i < t->nfields && i < FB_FJ_MAX_FIELDS; i++)
                    if (fb_is_time(&t->fields[i]) && strlen(t->fields[i].name) == klen - 4 &&
                        !memcmp(t->fields[i].name, key, klen - 4))
                        fi = i;
                if (fi >= 0) {
                    if (iso[fi])
                        return fb_fj_fail(c, "field \"%s\" given twice", key);
                    iso[fi] = m;
                    continue;
                }
            } else if (!strcmp(key, "_kafka")) {
                continue;   /* where fbcat --meta found the record: not part of it */
            } else if (quantiles && fb_quantile_parse(key, klen, &q) == 0) {
                nnamed++;
                continue;
            } else if (quantiles && key[0] == 'p' && klen > 1 && strspn(key + 1, "0123456789") == klen - 1) {
                return fb_fj_fail(c, "\"%.40s\" is not a quantile name (p and the digits after \"0.\", "
                                  "at least two: p05 for q=0.05, p50, p999; p0, p100)", key);
            }
            return fb_fj_fail(c, "unknown field \"%.40s\" in %s", key, t->name);
        }
        const fbrec_field_desc *f = &t->fields[fi];
        if (fi < FB_FJ_MAX_FIELDS) {
            if (given[fi])
                return fb_fj_fail(c, "field \"%s\" given twice", f->name);
            given[fi] = m;
        }
        if (m->type == JSON_NULL) {
            /* a number: what NaN (or infinity) prints as; else absent, the default */
            if (!f->is_vector && fb_is_float(f->base))
                fb_store_f(f->base, rec + f->offset, __builtin_nan(""));
            continue;
        }
        if (fb_fj_push(c, f->name, 0) < 0)
            return -1;
        int rc;
        if (f->is_vector) {
            rc = fb_fj_vector(c, f, m, rec);
        } else if (f->base == FB_STRING) {
            if (m->type != JSON_STRING)
                rc = fb_fj_fail(c, "expected a string, got %s", json_type_name(m->type));
            else {
                *(fb_str *)(rec + f->offset) = (fb_str){ arena_strndup(c->a, m->str, m->len), m->len };
                rc = 0;
            }
        } else if (f->base == FB_TABLE) {
            void *sub = arena_alloc(c->a, f->sub->size, f->sub->align);
            fbrec_init(f->sub, sub);
            rc = fb_fj_table(c, f->sub, m, sub);
            memcpy(rec + f->offset, &sub, sizeof sub);
        } else if (f->base == FB_STRUCT) {
            rc = fb_fj_struct(c, f->sub, m, rec + f->offset);
        } else {
            rc = fb_fj_scalar(c, f, m, rec + f->offset);
        }
        if (rc < 0)
            return -1;
        c->depth--;
    }
    for (int i = 0; i < t->nfields && i < FB_FJ_MAX_FIELDS; i++) {
        if (!iso[i] || iso[i]->type == JSON_NULL)
            continue;
        if (fb_fj_push(c, iso[i]->keystr, 0) < 0)
            return -1;
        if (fb_fj_time_iso(c, &t->fields[i], iso[i], given[i] && given[i]->type != JSON_NULL,
                           rec + t->fields[i].offset) < 0)
            return -1;
        c->depth--;
    }
    if (nnamed) {
        if (fb_fj_push(c, quantiles->name, 0) < 0 || fb_fj_quantiles(c, t, quantiles, obj, nnamed, rec) < 0)
            return -1;
        c->depth--;
    }
    return 0;
}

int fb_from_json(const fbrec_desc *d, const json_doc *doc, const json_node *obj,
                 void *out, arena *a, char *err, size_t errlen)
{
    fb_fj c;
    c.doc = doc;
    c.a = a;
    c.err = err;
    c.errlen = errlen;
    c.depth = 0;
    fbrec_init(d, out);
    if (!obj)
        return fb_fj_fail(&c, "no JSON value");
    int rc = d->is_struct ? fb_fj_struct(&c, d, obj, out) : fb_fj_table(&c, d, obj, out);
    if (rc < 0)
        fbrec_init(d, out);
    return rc;
}
