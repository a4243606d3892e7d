/* record.c — from a line's fields to Event and Sample records: classify,
 * validate (types, sizes, timestamps), flatten metadata, dedup, rate limit,
 * emit. The JSON line entry point is here; CSV rows (csv.c) arrive as text
 * fields and share ingest_build. Contract in ingest.h. */
#include "ingest.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

/* ---- field table ---------------------------------------------------------- */

/* Order matters to nobody but this table; names are the JSON member names. */
const char *const ingest_field_names[ING_NFIELDS] = {
    [F_EVENT_ID] = "event_id", [F_TS] = "ts", [F_TIMESTAMP] = "timestamp",
    [F_USER_ID] = "user_id", [F_ITEM_ID] = "item_id", [F_SESSION_ID] = "session_id",
    [F_EVENT_TYPE] = "event_type", [F_VALUE] = "value", [F_SOURCE] = "source",
    [F_POSITION] = "position", [F_EXPERIMENT] = "experiment", [F_VARIANT] = "variant",
    [F_METADATA] = "metadata", [F_LABELS] = "labels", [F_METRIC_NAME] = "metric_name",
    [F_METRIC] = "metric", [F_MODEL_ID] = "model_id", [F_MODEL_VERSION] = "model_version",
    [F_METRICS] = "metrics", [F_ENDPOINT] = "endpoint", [F_DURATION_MS] = "duration_ms",
    [F_STATUS] = "status", [F_SAMPLE_ID] = "sample_id",
};

const char *const ingest_reasons[] = {
    "bad_json", "not_an_object", "bad_utf8", "bad_csv", "missing_field", "wrong_type", "too_long",
    "bad_timestamp", "implausible_timestamp", "line_too_long", "rate_limited", NULL,
};

/* Called for every member of every line: dispatch on the length, then one
 * memcmp against the one or few names of that length. */
_Static_assert(ING_NFIELDS <= 32, "fields present on a line are a uint32_t bitmask");

void ingest_fields_init(ing_val *f)
{
    static ing_val tmpl[ING_NFIELDS];
    if (!tmpl[0].name)
        for (int i = 0; i < ING_NFIELDS; i++) tmpl[i].name = ingest_field_names[i];
    memcpy(f, tmpl, sizeof tmpl);
}

int ingest_field_index(const char *name, size_t len)
{
#define F(id) do { const char *f_ = ingest_field_names[id]; \
                   if (name[0] == f_[0] && memcmp(name, f_, len) == 0) return id; } while (0)
    switch (len) {
    case 2: F(F_TS); break;
    case 5: F(F_VALUE); break;
    case 6: F(F_SOURCE); F(F_LABELS); F(F_METRIC); F(F_STATUS); break;
    case 7: F(F_USER_ID); F(F_ITEM_ID); F(F_VARIANT); F(F_METRICS); break;
    case 8: F(F_EVENT_ID); F(F_POSITION); F(F_METADATA); F(F_MODEL_ID); F(F_ENDPOINT); break;
    case 9: F(F_TIMESTAMP); F(F_SAMPLE_ID); break;
    case 10: F(F_SESSION_ID); F(F_EVENT_TYPE); F(F_EXPERIMENT); break;
    case 11: F(F_METRIC_NAME); F(F_DURATION_MS); break;
    case 13: F(F_MODEL_VERSION); break;
    }
#undef F
    return -1;
}

/* ---- small pieces ---------------------------------------------------------- */

#define ING_FNV_BASIS 0xcbf29ce484222325ULL

/* FNV-1a 64 over n more bytes, from h (ING_FNV_BASIS to start): event_id
 * and sample_id are made with it. */
static uint64_t ing_fnv1a_more(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) { h ^= s[i]; h *= 0x100000001b3ULL; }
    return h;
}

uint64_t ingest_fnv1a(const void *p, size_t n)
{
    return ing_fnv1a_more(ING_FNV_BASIS, p, n);
}

static inline uint64_t ing_rotl(uint64_t x, int r) { return x << r | x >> (64 - r); }

/* Blocks of 8 bytes (the tail zero-padded) mixed as MurmurHash3's 64-bit
 * half does, the length in the seed, its finalizer at the end: every input
 * bit reaches every output bit, which the dedup table's slot bits need. */
uint64_t ingest_key_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n, k;
#define ING_MIX(k) do { k *= 0x87c37b91114253d5ULL; k = ing_rotl(k, 31); k *= 0x4cf5ad432745937fULL; \
                        h ^= k; h = ing_rotl(h, 27) * 5 + 0x52dce729; } while (0)
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&k, s, 8);
        ING_MIX(k);
    }
    k = 0;
    for (size_t i = 0; i < n; i++) k |= (uint64_t)s[i] << (8 * i);
    ING_MIX(k);
#undef ING_MIX
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

EventType ingest_event_type(const char *s, size_t n)
{
#define IS(lit) (n == sizeof lit - 1 && memcmp(s, lit, n) == 0)
    if (IS("impression")) return EventType_impression;
    if (IS("view") || IS("book_view")) return EventType_view;
    if (IS("click") || IS("book_click")) return EventType_click;
    if (IS("add_to_cart")) return EventType_add_to_cart;
    if (IS("purchase")) return EventType_purchase;
    if (IS("rating")) return EventType_rating;
    if (IS("exposure")) return EventType_exposure;
#undef IS
    return EventType_custom;
}

int ingest_epoch_us(double v, int64_t *us)
{
    double a = fabs(v);
    if (!isfinite(v) || a >= 1e17) return -1;
    double x = a < 1e11 ? v * 1e6 : a < 1e14 ? v * 1e3 : v;
    *us = (int64_t)llround(x);
    return 0;
}

/* Epoch in text: digits with an optional fraction, exact (no double on the
 * way); an exponent goes through strtod. -1 not a number, -2 out of range. */
static int ingest_epoch_text(const char *s, size_t len, int64_t *us)
{
    size_t i = 0;
    int neg = 0;
    if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    size_t d0 = i;
    uint64_t ip = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (i - d0 >= 18) return -2;
        ip = ip * 10 + (uint64_t)(s[i++] - '0');
    }
    size_t nd = i - d0;
    uint64_t frac = 0;        /* as a fraction of 1e9 (9 digits kept) */
    int fd = 0, ndec = 0;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (fd < 9) { frac = frac * 10 + (uint64_t)(s[i] - '0'); fd++; }
            ndec++;
            i++;
        }
        if (!ndec) return -1;
    }
    if (!nd && !ndec) return -1;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        char tmp[64];
        if (len >= sizeof tmp) return -1;
        memcpy(tmp, s, len);
        tmp[len] = 0;
        char *end;
        double v = strtod(tmp, &end);
        if (*end) return -1;
        return ingest_epoch_us(v, us) ? -2 : 0;
    }
    if (i != len) return -1;
    while (fd < 9) { frac *= 10; fd++; }
    int64_t v;
    if (ip < 100000000000ULL) v = (int64_t)ip * 1000000 + (int64_t)((frac + 500) / 1000);        /* s */
    else if (ip < 100000000000000ULL) v = (int64_t)ip * 1000 + (int64_t)((frac + 500000) / 1000000); /* ms */
    else if (ip < 100000000000000000ULL) v = (int64_t)ip + (frac >= 500000000);                   /* µs */
    else return -2;
    *us = neg ? -v : v;
    return 0;
}

/* A date-time must say its zone (Z, +HH:MM, -HHMM...): a local time is
 * ambiguous. A bare date (10 characters) is a day in UTC. */
static int ing_iso_has_zone(const char *s, size_t len)
{
    if (len <= 10 || s[len - 1] == 'Z' || s[len - 1] == 'z') return 1;
    for (size_t i = 11; i < len; i++)
        if (s[i] == '+' || s[i] == '-') return 1;
    return 0;
}

/* Days from 1970-01-01 to a date of the proleptic Gregorian calendar:
 * years counted from March, so the leap day ends a year. */
static int64_t ing_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;   /* January of year 0 is in year -1: floor the era */
    int era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;   /* 0..399 */
    int doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  /* 0..365, from March 1 */
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;         /* 0..146096 */
    return (int64_t)era * 146097 + doe - 719468;
}

static inline int ing_d2(const char *s)
{
    unsigned a = (unsigned char)s[0] - '0', b = (unsigned char)s[1] - '0';
    return a > 9 || b > 9 ? -1 : (int)(a * 10 + b);
}

/* The minute (YYYY-MM-DDTHH:MM) of the last timestamp the fast path read
 * on this thread, valid, and its µs: consecutive events mostly share it,
 * and then only the seconds and the fraction are left to read. */
static __thread char ing_ts_minute[16];
static __thread int64_t ing_ts_minute_us;

/* The shape nearly every producer sends, YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z, in
 * one pass. 1 when it applies (*us set, as time_parse_iso would); 0 for
 * anything else, including out-of-range fields: the general path decides. */
static int ing_iso_utc_fast(const char *s, size_t len, int64_t *us)
{
    if (len < 20 || len > 30 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':'
        || s[len - 1] != 'Z')
        return 0;
    int ss = ing_d2(s + 17);
    if (ss < 0 || ss > 59)
        return 0;
    int64_t minute;
    if (memcmp(s, ing_ts_minute, 16) == 0) {   /* never matches before it is set: it starts with NUL */
        minute = ing_ts_minute_us;
    } else {
        int y1 = ing_d2(s), y2 = ing_d2(s + 2), mo = ing_d2(s + 5), d = ing_d2(s + 8);
        int hh = ing_d2(s + 11), mi = ing_d2(s + 14);
        if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1 || hh < 0 || hh > 23 || mi < 0 || mi > 59)
            return 0;
        static const unsigned char mdays[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        int y = y1 * 100 + y2;
        if (d > mdays[mo] || (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))) return 0;
        minute = (ing_days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60) * 1000000;
        memcpy(ing_ts_minute, s, 16);
        ing_ts_minute_us = minute;
    }
    int64_t sub = 0;
    if (len > 20) {   /* .f{1,9}Z */
        size_t n = len - 21;
        if (s[19] != '.' || n < 1 || n > 9) return 0;
        int64_t f = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned c = (unsigned char)s[20 + i] - '0';
            if (c > 9) return 0;
            f = f * 10 + c;
        }
        static const int64_t scale[10] = { 1, 10, 100, 1000, 10000, 100000, 1000000,
                                           10000000, 100000000, 1000000000 };
        sub = n <= 6 ? f * scale[6 - n] : f / scale[n - 6];   /* µs, truncated */
    }
    *us = minute + (int64_t)ss * 1000000 + sub;
    return 1;
}

int ingest_ts_text(const char *s, size_t len, int64_t *us)
{
    if (ing_iso_utc_fast(s, len, us)) return 0;
    int rc = ingest_epoch_text(s, len, us);
    if (rc != -1) return rc;
    if (time_parse_iso(s, len, us)) return -1;
    return ing_iso_has_zone(s, len) ? 0 : -3;
}

/* ---- refusal ---------------------------------------------------------------- */

static int ing_bad(ingest *g, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int ing_bad(ingest *g, const char *reason, const char *fmt, ...)
{
    g->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->detail, sizeof g->detail, fmt, ap);
    va_end(ap);
    g->n_bad++;
    return ING_BAD;
}

int ingest_rate_limited(ingest *g, const char *user_id)
{
    return ing_bad(g, "rate_limited", "user_id %.60s is over --rate-limit (%g events/s, burst %g)",
                   user_id, g->c.rate_per_s, g->c.rate_burst);
}

/* What the value is, for "user_id is a number, expected a string". */
static const char *ing_jkind(json_type t)
{
    switch (t) {
    case JSON_NULL: return "null";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    case JSON_NUMBER: return "a number";
    case JSON_STRING: return "a string";
    case JSON_ARRAY: return "an array";
    case JSON_OBJECT: return "an object";
    }
    return "?";
}

static const char *ing_kind(const ing_val *v)
{
    return v->n ? ing_jkind(v->n->type) : "text";
}

/* ---- typed getters: 0 ok (or absent when !required), ING_BAD otherwise ------ */

static int ing_present(const ing_val *v)
{
    return v->n != NULL || v->s != NULL;
}

/* inline: eight calls per event */
static inline __attribute__((always_inline)) int ing_get_str(ingest *g, const ing_val *v, fb_str *out, int required)
{
    out->ptr = NULL;
    out->len = 0;
    if (!ing_present(v)) {
        if (required) return ing_bad(g, "missing_field", "%s is missing", v->name);
        return 0;
    }
    const char *s;
    uint32_t len;
    if (v->n) {
        if (v->n->type != JSON_STRING)
            return ing_bad(g, "wrong_type", "%s is %s, expected a string", v->name, ing_kind(v));
        s = v->n->str;
        len = v->n->len;
    } else {
        s = v->s;
        len = v->len;
    }
    if (len > g->c.max_string)
        return ing_bad(g, "too_long", "%s is %u bytes, over the %zu-byte limit (--max-string)",
                       v->name, len, g->c.max_string);
    if (required && len == 0) return ing_bad(g, "missing_field", "%s is empty", v->name);
    if (!g->no_nul && memchr(s, 0, len))
        return ing_bad(g, "wrong_type", "%s contains a NUL character", v->name);
    out->ptr = s;
    out->len = len;
    return 0;
}

/* A number: JSON number, or (CSV) text in JSON number syntax. */
static int ing_get_num(ingest *g, const ing_val *v, double *out, int required)
{
    if (!ing_present(v)) {
        if (required) return ing_bad(g, "missing_field", "%s is missing", v->name);
        return 0;
    }
    if (v->n) {
        if (v->n->type != JSON_NUMBER)
            return ing_bad(g, "wrong_type", "%s is %s, expected a number", v->name, ing_kind(v));
        *out = v->n->num;
        return 0;
    }
    const char *s = v->s;
    int ok = v->len > 0 && v->len < 64;
    for (uint32_t i = 0; ok && i < v->len; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '+' || s[i] == '.' || s[i] == 'e' || s[i] == 'E';
    char *end = NULL;
    double d = ok ? strtod(s, &end) : 0;
    if (!ok || end != s + v->len || !isfinite(d))
        return ing_bad(g, "wrong_type", "%s '%.40s' is not a number", v->name, s);
    *out = d;
    return 0;
}

static int ing_get_int(ingest *g, const ing_val *v, int64_t *out, int64_t lo, int64_t hi, int required)
{
    double d = 0;
    int rc = ing_get_num(g, v, &d, required);
    if (rc || !ing_present(v)) return rc;
    if (d != floor(d))
        return ing_bad(g, "wrong_type", "%s is %g, expected an integer", v->name, d);
    if (d < (double)lo || d > (double)hi)
        return ing_bad(g, "wrong_type", "%s is %g, outside %lld..%lld", v->name, d, (long long)lo, (long long)hi);
    *out = (int64_t)d;
    return 0;
}

int64_t ingest_now(ingest *g)
{
    if (!g->now_line) g->now_line = g->now_seen = now_us();
    return g->now_line;
}

static int64_t ing_now(ingest *g, int64_t now)
{
    return now ? now : ingest_now(g);
}

/* ts or timestamp; absent: arrival time. */
static int ing_get_ts(ingest *g, const ing_val *ts, const ing_val *alt, int64_t now, int64_t *out)
{
    const ing_val *v = ing_present(ts) ? ts : alt;
    if (!ing_present(v)) { *out = ing_now(g, now); return 0; }
    const char *s;
    size_t len;
    if (v->n) {
        if (v->n->type != JSON_STRING && v->n->type != JSON_NUMBER)
            return ing_bad(g, "bad_timestamp", "%s is %s, expected ISO 8601 text or epoch seconds/milliseconds",
                           v->name, ing_kind(v));
        s = v->n->str;
        len = v->n->len;
    } else {
        s = v->s;
        len = v->len;
    }
    int64_t us = 0;
    int rc = ingest_ts_text(s, len, &us);
    if (rc == -1)
        return ing_bad(g, "bad_timestamp", "%s '%.60s' is neither ISO 8601 with a zone nor an epoch number",
                       v->name, s);
    if (rc == -3)
        return ing_bad(g, "bad_timestamp", "%s '%.60s' has no zone (add Z or +HH:MM: a local time is ambiguous)",
                       v->name, s);
    /* 0 is the epoch itself: an unset clock, and the records' "no ts" */
    if (rc == -2 || us <= 0)
        return ing_bad(g, "implausible_timestamp",
                       "%s '%.60s' is not a plausible time (not after 1970-01-01T00:00:00Z, or beyond year 5000)",
                       v->name, s);
    /* an earlier clock reading is no later than now: only a ts beyond it
     * needs the clock read for this line */
    int64_t known = now ? now : g->now_line ? g->now_line : g->now_seen;
    if (us > known + g->c.max_skew_us && us > (now = ing_now(g, now)) + g->c.max_skew_us) {
        char a[40], b[40];
        time_format_iso(us, a);
        time_format_iso(now, b);
        return ing_bad(g, "implausible_timestamp", "%s %s is more than --max-skew ahead of now (%s)", v->name, a, b);
    }
    *out = us;
    return 0;
}

/* ---- attrs and labels ------------------------------------------------------- */

int ingest_kv_add(ingest *g, const char *key, uint32_t keylen, const char *val, uint32_t vallen,
                      const char *what)
{
    if (g->nkv >= g->c.max_attrs + g->nkv_builtin)
        return ing_bad(g, "too_long", "more than %u %s (--max-attrs)", g->c.max_attrs, what);
    if (keylen > g->c.max_string || vallen > g->c.max_string)
        return ing_bad(g, "too_long", "%s %.60s is %u bytes, over the %zu-byte limit (--max-string)", what,
                       key, keylen > g->c.max_string ? keylen : vallen, g->c.max_string);
    if (!json_utf8_valid(val, vallen) || !json_utf8_valid(key, keylen))
        return ing_bad(g, "bad_utf8", "%s %.60s is not valid UTF-8", what, key);
    if (!g->no_nul && (memchr(key, 0, keylen) || memchr(val, 0, vallen)))
        return ing_bad(g, "wrong_type", "%s %.60s contains a NUL character", what, key);
    g->kv[g->nkv].key = FB_STRN(key, keylen);
    g->kv[g->nkv].value = FB_STRN(val, vallen);
    g->nkv++;
    return 0;
}

/* A label ingest itself derives (model_id, endpoint, status_class...): it
 * replaces a user label of the same key, and does not count against
 * --max-attrs (at most ING_BUILTIN_LABELS per line). */
static int ing_label_set(ingest *g, const char *key, uint32_t keylen, const char *val, uint32_t vallen)
{
    for (uint32_t i = 0; i < g->nkv; i++)
        if (g->kv[i].key.len == keylen && !memcmp(g->kv[i].key.ptr, key, keylen)) {
            if (vallen > g->c.max_string)
                return ing_bad(g, "too_long", "label %s is %u bytes, over the %zu-byte limit (--max-string)",
                               key, vallen, g->c.max_string);
            g->kv[i].value = FB_STRN(val, vallen);
            return 0;
        }
    g->nkv_builtin++;
    return ingest_kv_add(g, key, keylen, val, vallen, "labels");
}

/* n as compact JSON; its member name too when with_key. */
static void ing_json_write(const json_doc *d, const json_node *n, json_writer *w, int with_key)
{
    if (with_key && n->keystr) jw_key_n(w, n->keystr, n->keylen);
    switch (n->type) {
    case JSON_NULL: jw_null(w); break;
    case JSON_TRUE: jw_bool(w, 1); break;
    case JSON_FALSE: jw_bool(w, 0); break;
    case JSON_NUMBER: jw_raw(w, n->str, n->len); break;
    case JSON_STRING: jw_str(w, n->str, n->len); break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        if (n->type == JSON_ARRAY) jw_arr_begin(w); else jw_obj_begin(w);
        for (const json_node *c = json_child(d, n); c; c = json_next(d, c)) ing_json_write(d, c, w, 1);
        if (n->type == JSON_ARRAY) jw_arr_end(w); else jw_obj_end(w);
        break;
    }
}

/* One member (key already known) as attrs: objects flatten to dotted keys,
 * arrays are kept as compact JSON text, null is dropped. */
static int ing_flatten(ingest *g, const char *key, uint32_t keylen, const json_node *n, const char *what)
{
    switch (n->type) {
    case JSON_NULL:
        return 0;
    case JSON_TRUE: return ingest_kv_add(g, key, keylen, "true", 4, what);
    case JSON_FALSE: return ingest_kv_add(g, key, keylen, "false", 5, what);
    case JSON_NUMBER:
    case JSON_STRING:
        return ingest_kv_add(g, key, keylen, n->str, n->len, what);
    case JSON_ARRAY: {
        jw_reset(&g->jw);
        ing_json_write(&g->doc, n, &g->jw, 0);
        if (g->jw.len > g->c.max_string)
            return ing_bad(g, "too_long", "%s %.60s is %zu bytes of JSON, over the %zu-byte limit (--max-string)",
                           what, key, g->jw.len, g->c.max_string);
        char *v = arena_strndup(&g->ar, g->jw.buf, g->jw.len);
        return ingest_kv_add(g, key, keylen, v, (uint32_t)g->jw.len, what);
    }
    case JSON_OBJECT:
        for (const json_node *c = json_child(&g->doc, n); c; c = json_next(&g->doc, c)) {
            size_t kl = (size_t)keylen + 1 + c->keylen;
            if (kl > g->c.max_string)
                return ing_bad(g, "too_long", "%s key %.60s... is over the %zu-byte limit (--max-string)",
                               what, key, g->c.max_string);
            char *k = arena_alloc(&g->ar, kl + 1, 1);
            memcpy(k, key, keylen);
            k[keylen] = '.';
            memcpy(k + keylen + 1, c->keystr, c->keylen);
            k[kl] = 0;
            int rc = ing_flatten(g, k, (uint32_t)kl, c, what);
            if (rc) return rc;
        }
        return 0;
    }
    return 0;
}

/* Labels sorted by key (bytes), first of equal keys kept: one series, one key. */
static void ing_sort_kv(ingest *g)
{
    KeyValue *kv = g->kv;
    for (uint32_t i = 1; i < g->nkv; i++) {
        KeyValue x = kv[i];
        uint32_t j = i;
        while (j > 0) {
            uint32_t m = kv[j - 1].key.len < x.key.len ? kv[j - 1].key.len : x.key.len;
            int c = memcmp(kv[j - 1].key.ptr, x.key.ptr, m);
            if (c < 0 || (c == 0 && kv[j - 1].key.len <= x.key.len)) break;
            kv[j] = kv[j - 1];
            j--;
        }
        kv[j] = x;
    }
    uint32_t o = 0;
    for (uint32_t i = 0; i < g->nkv; i++) {
        if (o > 0 && kv[o - 1].key.len == kv[i].key.len && !memcmp(kv[o - 1].key.ptr, kv[i].key.ptr, kv[i].key.len))
            continue;
        kv[o++] = kv[i];
    }
    g->nkv = o;
}

/* ---- emitting --------------------------------------------------------------- */

/* An upper bound of a record's encoded size: its strings (length, NUL and
 * padding: +8 each), 32 bytes per key/value table (vtable, table, vector
 * slot, alignment) and 512 for the root table, prefix and identifier. */
static size_t ing_record_bound(const fb_str *strs, int nstrs, const KeyValue *kv, uint32_t nkv)
{
    size_t n = 512;
    for (int i = 0; i < nstrs; i++) n += (size_t)strs[i].len + 8;
    for (uint32_t i = 0; i < nkv; i++) n += 32 + (size_t)kv[i].key.len + 8 + (size_t)kv[i].value.len + 8;
    return n;
}

/* A record the next stage could not read (over --max-record: a corrupt
 * stream to it), or could not derive its own from, is refused here, so
 * every record ingest writes passes every stage (schemas/SIZES.md). */
static int ing_too_big(ingest *g, size_t bound)
{
    if (!g->c.max_record || bound <= g->c.max_record) return 0;
    return ing_bad(g, "too_long", "the record would take up to %zu bytes, over the %zu-byte limit "
                   "(--max-record less 64 KiB for what later stages add)", bound, g->c.max_record);
}

/* A generated id: the letter, then h as 16 lower-case hex digits and a NUL
 * (what "%c%016llx" prints, without printf on every line). out: 18 bytes. */
static void ing_hex_id(char *out, char letter, uint64_t h)
{
    static const char hex[] = "0123456789abcdef";
    out[0] = letter;
    for (int i = 16; i >= 1; i--, h >>= 4) out[i] = hex[h & 15];
    out[17] = 0;
}

/* n bytes of v, little-endian: the same id on every machine */
static uint64_t ing_fnv1a_le(uint64_t h, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) { h ^= (uint8_t)(v >> (8 * i)); h *= 0x100000001b3ULL; }
    return h;
}

/* FNV-1a of: the topic and a NUL (nothing for a byte stream), the
 * partition (4 bytes) and the offset or line number (8 bytes), little-endian. */
void ingest_set_pos(ingest *g, const char *topic, int32_t partition, int64_t offset)
{
    /* kept, hashed only when a sample needs its id (ing_pos_hash): most
     * lines are events */
    g->pos_topic = topic;
    g->pos_partition = partition;
    g->pos_offset = offset;
    g->pos_set = 1;
}

static uint64_t ing_pos_hash(const ingest *g)
{
    const char *topic = g->pos_topic;
    uint64_t h = ing_fnv1a_more(ING_FNV_BASIS, topic ? topic : "", topic ? strlen(topic) + 1 : 0);
    h = ing_fnv1a_le(h, (uint32_t)g->pos_partition, 4);
    return ing_fnv1a_le(h, (uint64_t)g->pos_offset, 8);
}

/* The line's sample_id, if it has one; the samples of the line are counted
 * from 0 (ing_emit_sample). */
static int ing_sample_start(ingest *g, const ing_val *f)
{
    g->sample_seq = 0;
    return ing_get_str(g, &f[F_SAMPLE_ID], &g->sample_id, 0);
}

/* The Kafka key is the series' (record_key, in stream_write).
 * sample_id: the line's own (shared by the samples of one line, which
 * differ in name: aggregate keys a copy on id and name), else "s" + 16 hex
 * digits of FNV-1a over the record's position, its bytes and the sample's
 * index in the line. The same line read again at the same place (Kafka
 * redelivering after a crash, the same file ingested again) gives the same
 * ids; two identical lines at two places give two ids, so both count. */
static int ing_emit_sample(ingest *g, Sample *s)
{
    int rc;
    if (g->sample_id.ptr) {
        s->sample_id = g->sample_id;
    } else {
        uint64_t h;
        if (g->pos_set) {
            h = ing_pos_hash(g);
        } else {   /* no position given (a library caller): the record's number as a line's */
            h = ing_fnv1a_le(ING_FNV_BASIS, 0, 4);
            h = ing_fnv1a_le(h, g->rec_no, 8);
        }
        h = ing_fnv1a_more(h, g->raw, g->raw_len);
        h = ing_fnv1a_le(h, g->sample_seq, 4);
        char *id = arena_alloc(&g->ar, 18, 1);
        ing_hex_id(id, 's', h);
        s->sample_id = FB_STRN(id, 17);
    }
    g->sample_seq++;
    const fb_str strs[] = { s->name, s->sample_id };
    if ((rc = ing_too_big(g, ing_record_bound(strs, 2, s->labels, s->labels_count)))) return rc;
    if (g->c.emit(g->c.emit_ctx, &Sample_desc, s, NULL, 0)) return ING_FAIL;
    g->n_samples++;
    return ING_OUT;
}

/* ---- the three kinds ---------------------------------------------------------- */

int ingest_build_event(ingest *g, const ing_val *f, int64_t now, const char *raw, size_t rawlen)
{
    Event ev;
    Event_init(&ev);
    int rc;
    if ((rc = ing_get_str(g, &f[F_USER_ID], &ev.user_id, 1))) return rc;
    if ((rc = ing_get_str(g, &f[F_EVENT_TYPE], &ev.name, 1))) return rc;
    if ((rc = ing_get_str(g, &f[F_EVENT_ID], &ev.event_id, 0))) return rc;
    if ((rc = ing_get_str(g, &f[F_ITEM_ID], &ev.item_id, 0))) return rc;
    if ((rc = ing_get_str(g, &f[F_SESSION_ID], &ev.session_id, 0))) return rc;
    if ((rc = ing_get_str(g, &f[F_SOURCE], &ev.source, 0))) return rc;
    if ((rc = ing_get_str(g, &f[F_EXPERIMENT], &ev.experiment, 0))) return rc;
    if ((rc = ing_get_str(g, &f[F_VARIANT], &ev.variant, 0))) return rc;
    if ((rc = ing_get_num(g, &f[F_VALUE], &ev.value, 0))) return rc;
    int64_t pos = -1;
    if ((rc = ing_get_int(g, &f[F_POSITION], &pos, 0, INT32_MAX, 0))) return rc;
    ev.position = (int32_t)pos;
    if ((rc = ing_get_ts(g, &f[F_TS], &f[F_TIMESTAMP], now, &ev.ts))) return rc;
    ev.type = ingest_event_type(ev.name.ptr, ev.name.len);
    ev.attrs = g->nkv ? g->kv : NULL;
    ev.attrs_count = g->nkv;

    char idbuf[24];
    if (!ev.event_id.ptr) {
        /* no event_id: the content decides, so a resent line dedups */
        ing_hex_id(idbuf, 'h', ingest_fnv1a(raw, rawlen));
        ev.event_id = FB_STRN(idbuf, 17);
    }
    const fb_str strs[] = { ev.event_id, ev.user_id, ev.item_id, ev.session_id, ev.name, ev.source,
                            ev.experiment, ev.variant };
    if ((rc = ing_too_big(g, ing_record_bound(strs, 8, ev.attrs, ev.attrs_count)))) return rc;
    uint64_t h = g->id_hash_ok ? g->id_hash : ingest_key_hash(ev.event_id.ptr, ev.event_id.len);
    dedup_at(&g->dd, ev.ts);
    if (dedup_seen(&g->dd, h)) { g->n_dups++; return ING_DUP; }
    if (g->c.rate_per_s > 0   /* off: no need to hash user_id */
        && !ratelimit_allow(&g->rl, ingest_key_hash(ev.user_id.ptr, ev.user_id.len), g->c.rate_arrival ? ing_now(g, now) : ev.ts))
        return ingest_rate_limited(g, ev.user_id.ptr);
    if (g->c.emit(g->c.emit_ctx, &Event_desc, &ev, NULL, 0)) return ING_FAIL;
    dedup_add(&g->dd, h);
    g->n_events++;
    return ING_OUT;
}

int ingest_build_sample(ingest *g, const ing_val *f, int64_t now)
{
    Sample s;
    Sample_init(&s);
    int rc;
    if ((rc = ing_sample_start(g, f))) return rc;
    const ing_val *nv = ing_present(&f[F_METRIC_NAME]) ? &f[F_METRIC_NAME] : &f[F_METRIC];
    if ((rc = ing_get_str(g, nv, &s.name, 1))) return rc;
    if ((rc = ing_get_num(g, &f[F_VALUE], &s.value, 1))) return rc;
    if ((rc = ing_get_ts(g, &f[F_TS], &f[F_TIMESTAMP], now, &s.ts))) return rc;
    ing_sort_kv(g);
    s.labels = g->nkv ? g->kv : NULL;
    s.labels_count = g->nkv;
    return ing_emit_sample(g, &s);
}

/* ---- JSON lines ------------------------------------------------------------------ */

/* Metadata members the records have fields for; the rest goes to attrs. */
static int ing_meta(ingest *g, ing_val *f, const json_node *meta, int kind)
{
    int as_event = kind == 0;
    if (!meta) return 0;
    if (meta->type != JSON_OBJECT)
        return ing_bad(g, "wrong_type", "%s is %s, expected an object",
                       meta->keystr, ing_jkind(meta->type));
    for (const json_node *c = json_child(&g->doc, meta); c; c = json_next(&g->doc, c)) {
        int fi = ingest_field_index(c->keystr, c->keylen);
        if (as_event && (fi == F_SOURCE || fi == F_POSITION || fi == F_EXPERIMENT || fi == F_VARIANT)) {
            if (!ing_present(&f[fi])) { f[fi].n = c; f[fi].name = fi == F_SOURCE ? "metadata.source"
                : fi == F_POSITION ? "metadata.position" : fi == F_EXPERIMENT ? "metadata.experiment"
                : "metadata.variant"; }
            continue;
        }
        if (kind == 2 && fi == F_MODEL_VERSION) {
            if (!ing_present(&f[fi])) { f[fi].n = c; f[fi].name = "metadata.model_version"; }
            continue;
        }
        int rc = ing_flatten(g, c->keystr, c->keylen, c, as_event ? "attrs" : "labels");
        if (rc) return rc;
    }
    return 0;
}

static int ing_model(ingest *g, ing_val *f, int64_t now)
{
    fb_str model_id, version;
    int64_t ts;
    int rc;
    if ((rc = ing_get_str(g, &f[F_MODEL_ID], &model_id, 1))) return rc;
    if ((rc = ing_sample_start(g, f))) return rc;
    if ((rc = ing_get_str(g, &f[F_MODEL_VERSION], &version, 0))) return rc;
    if ((rc = ing_get_ts(g, &f[F_TS], &f[F_TIMESTAMP], now, &ts))) return rc;
    const json_node *m = f[F_METRICS].n;
    if (!m) return ing_bad(g, "missing_field", "metrics is missing (model metrics need model_id and metrics)");
    if (m->type != JSON_ARRAY)
        return ing_bad(g, "wrong_type", "metrics is %s, expected an array of {type, value}", ing_jkind(m->type));
    if (m->len == 0) return ing_bad(g, "missing_field", "metrics is empty");
    if (m->len > 1024) return ing_bad(g, "too_long", "metrics has %u entries, more than 1024", m->len);
    if ((rc = ing_label_set(g, "model_id", 8, model_id.ptr, model_id.len))) return rc;
    if (version.ptr && (rc = ing_label_set(g, "model_version", 13, version.ptr, version.len))) return rc;
    ing_sort_kv(g);
    if (g->samples_cap < m->len) {
        Sample *ns = realloc(g->samples, m->len * sizeof *ns);
        if (!ns) return ING_FAIL;
        g->samples = ns;
        g->samples_cap = m->len;
    }
    uint32_t k = 0;
    char nm[40];
    for (const json_node *e = json_child(&g->doc, m); e; e = json_next(&g->doc, e), k++) {
        snprintf(nm, sizeof nm, "metrics[%u]", k);
        if (e->type != JSON_OBJECT)
            return ing_bad(g, "wrong_type", "%s is %s, expected an object {type, value}", nm, ing_jkind(e->type));
        char tn[48], vn[48];
        snprintf(tn, sizeof tn, "%s.type", nm);
        snprintf(vn, sizeof vn, "%s.value", nm);
        ing_val tv = { json_get(&g->doc, e, "type"), NULL, 0, tn };
        ing_val vv = { json_get(&g->doc, e, "value"), NULL, 0, vn };
        fb_str type;
        Sample *s = &g->samples[k];
        Sample_init(s);
        if ((rc = ing_get_str(g, &tv, &type, 1))) return rc;
        if ((rc = ing_get_num(g, &vv, &s->value, 1))) return rc;
        if (type.len + 6 > g->c.max_string)
            return ing_bad(g, "too_long", "%s is over the %zu-byte limit (--max-string)", tn, g->c.max_string);
        char *name = arena_alloc(&g->ar, type.len + 7, 1);
        memcpy(name, "model.", 6);
        memcpy(name + 6, type.ptr, type.len);
        s->name = FB_STRN(name, type.len + 6);
        s->ts = ts;
        s->labels = g->kv;
        s->labels_count = g->nkv;
    }
    for (uint32_t i = 0; i < k; i++) {   /* all or none of the line's samples (+17: a generated id) */
        const fb_str strs[] = { g->samples[i].name, g->sample_id.ptr ? g->sample_id : FB_STRN("", 17) };
        if ((rc = ing_too_big(g, ing_record_bound(strs, 2, g->kv, g->nkv)))) return rc;
    }
    for (uint32_t i = 0; i < k; i++)
        if ((rc = ing_emit_sample(g, &g->samples[i])) != ING_OUT) return rc;
    return ING_OUT;
}

static const char *ing_status_class(int64_t st)
{
    static const char *const c[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
    return c[st / 100 - 1];
}

static int ing_request(ingest *g, ing_val *f, int64_t now)
{
    fb_str endpoint;
    double dur = 0;
    int64_t status = 0, ts;
    int rc;
    if ((rc = ing_get_str(g, &f[F_ENDPOINT], &endpoint, 1))) return rc;
    if ((rc = ing_sample_start(g, f))) return rc;
    if ((rc = ing_get_num(g, &f[F_DURATION_MS], &dur, 1))) return rc;
    if ((rc = ing_get_int(g, &f[F_STATUS], &status, 100, 599, 1))) return rc;
    if ((rc = ing_get_ts(g, &f[F_TS], &f[F_TIMESTAMP], now, &ts))) return rc;
    if (dur < 0) return ing_bad(g, "wrong_type", "duration_ms is %g, expected >= 0", dur);
    /* labels: extras, endpoint; duration also gets status_class */
    if ((rc = ing_label_set(g, "endpoint", 8, endpoint.ptr, endpoint.len))) return rc;
    if ((rc = ing_label_set(g, "status_class", 12, ing_status_class(status), 3))) return rc;
    uint32_t base = g->nkv - 1;   /* all but status_class */
    ing_sort_kv(g);
    Sample d, e;
    Sample_init(&d);
    d.ts = ts;
    d.name = FB_STR("request.duration_ms");
    d.value = dur;
    d.labels = g->kv;
    d.labels_count = g->nkv;
    /* the error sample has the same labels but status_class: copy them */
    KeyValue *el = arena_alloc(&g->ar, sizeof *el * (base ? base : 1), _Alignof(KeyValue));
    uint32_t ne = 0;
    for (uint32_t i = 0; i < g->nkv; i++)
        if (!fb_str_eq(g->kv[i].key, "status_class")) el[ne++] = g->kv[i];
    Sample_init(&e);
    e.ts = ts;
    e.name = FB_STR("request.error");
    e.value = status >= 500 ? 1 : 0;
    e.labels = el;
    e.labels_count = ne;
    /* all or none: the larger of the two first (same id, same labels but one) */
    const fb_str strs[] = { d.name, g->sample_id.ptr ? g->sample_id : FB_STRN("", 17) };
    if ((rc = ing_too_big(g, ing_record_bound(strs, 2, d.labels, d.labels_count)))) return rc;
    if ((rc = ing_emit_sample(g, &d)) != ING_OUT) return rc;
    return ing_emit_sample(g, &e);
}

/* Offset of the first byte that breaks UTF-8, len if none. */
static size_t ing_utf8_bad_at(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) { i++; continue; }
        size_t n = p[i] >= 0xF0 ? 4 : p[i] >= 0xE0 ? 3 : 2;
        if (i + n > len || !json_utf8_valid(s + i, n)) return i;
        i += n;
    }
    return len;
}

static int ing_json_line(ingest *g, const char *line, size_t len, int64_t now)
{
    if (len == 0) return ing_bad(g, "bad_json", "empty line (expected one JSON object)");
    if (json_parse(&g->doc, line, len)) {
        size_t bad = ing_utf8_bad_at(line, len);
        if (bad < len)
            return ing_bad(g, "bad_utf8", "invalid UTF-8 byte 0x%02x at byte %zu",
                           (unsigned char)line[bad], bad);
        return ing_bad(g, "bad_json", "%s", g->doc.err);
    }
    /* a decoded string holds NUL only from the escape \u0000 (raw control
     * bytes are not JSON), which the parser notes: without one the NUL
     * checks can be skipped */
    g->no_nul = !g->doc.has_nul;
    const json_node *root = json_root(&g->doc);
    if (root->type != JSON_OBJECT)
        return ing_bad(g, "not_an_object", "the line is %s, expected a JSON object", ing_jkind(root->type));

    ing_val f[ING_NFIELDS];
    ingest_fields_init(f);
    const json_node **extra = g->extra;
    uint32_t nextra = 0, nextra_all = 0, present = 0;
    for (const json_node *c = json_child(&g->doc, root); c; c = json_next(&g->doc, c)) {
        int fi = ingest_field_index(c->keystr, c->keylen);
        if (fi >= 0) { if (!f[fi].n) { f[fi].n = c; present |= 1u << fi; } continue; }
        if (nextra < g->c.max_attrs) extra[nextra++] = c;
        nextra_all++;
    }
    if (nextra_all > g->c.max_attrs)
        return ing_bad(g, "too_long", "%u unknown members, more than --max-attrs %u", nextra_all, g->c.max_attrs);
    int rc;
    if (f[F_EVENT_ID].n && f[F_EVENT_ID].n->type == JSON_STRING) {   /* the probe overlaps the work below */
        g->id_hash = ingest_key_hash(f[F_EVENT_ID].n->str, f[F_EVENT_ID].n->len);
        g->id_hash_ok = 1;
        dedup_prefetch(&g->dd, g->id_hash);
    }
    /* value is a number wherever it appears */
    if (f[F_VALUE].n && f[F_VALUE].n->type != JSON_NUMBER)
        return ing_bad(g, "wrong_type", "value is %s, expected a number", ing_kind(&f[F_VALUE]));

    int kind = (f[F_USER_ID].n || f[F_EVENT_TYPE].n) ? 0
             : (f[F_METRIC_NAME].n || f[F_METRIC].n) ? 1
             : f[F_MODEL_ID].n ? 2 : f[F_ENDPOINT].n ? 3 : -1;
    if (kind < 0)
        return ing_bad(g, "missing_field", "no user_id/event_type (interaction), metric_name (sample), "
                       "model_id (model metrics) or endpoint (request metrics)");
    const char *what = kind == 0 ? "attrs" : "labels";
    /* members this kind has no field for are kept too, as attrs/labels */
    static const uint32_t used[4] = {
        1u << F_EVENT_ID | 1u << F_TS | 1u << F_TIMESTAMP | 1u << F_USER_ID | 1u << F_ITEM_ID |
        1u << F_SESSION_ID | 1u << F_EVENT_TYPE | 1u << F_VALUE | 1u << F_SOURCE | 1u << F_POSITION |
        1u << F_EXPERIMENT | 1u << F_VARIANT | 1u << F_METADATA | 1u << F_LABELS,
        1u << F_METRIC_NAME | 1u << F_METRIC | 1u << F_VALUE | 1u << F_TS | 1u << F_TIMESTAMP |
        1u << F_METADATA | 1u << F_LABELS | 1u << F_SAMPLE_ID,
        1u << F_MODEL_ID | 1u << F_MODEL_VERSION | 1u << F_METRICS | 1u << F_VALUE | 1u << F_TS |
        1u << F_TIMESTAMP | 1u << F_METADATA | 1u << F_LABELS | 1u << F_SAMPLE_ID,
        1u << F_ENDPOINT | 1u << F_DURATION_MS | 1u << F_STATUS | 1u << F_VALUE | 1u << F_TS |
        1u << F_TIMESTAMP | 1u << F_METADATA | 1u << F_LABELS | 1u << F_SAMPLE_ID,
    };
    for (uint32_t rest = present & ~used[kind]; rest; rest &= rest - 1) {
        int i = __builtin_ctz(rest);
        if ((rc = ing_flatten(g, f[i].n->keystr, f[i].n->keylen, f[i].n, what))) return rc;
    }
    if ((rc = ing_meta(g, f, f[F_METADATA].n, kind))) return rc;
    if (kind != 0 && (rc = ing_meta(g, f, f[F_LABELS].n, kind))) return rc;
    if (kind == 0 && f[F_LABELS].n && (rc = ing_flatten(g, "labels", 6, f[F_LABELS].n, what))) return rc;
    for (uint32_t i = 0; i < nextra; i++)
        if ((rc = ing_flatten(g, extra[i]->keystr, extra[i]->keylen, extra[i], what))) return rc;
    g->raw = line;
    g->raw_len = len;
    switch (kind) {
    case 0: return ingest_build_event(g, f, now, line, len);
    case 1: return ingest_build_sample(g, f, now);
    case 2: return ing_model(g, f, now);
    default: return ing_request(g, f, now);
    }
}

/* ---- lifecycle --------------------------------------------------------------------- */

int ingest_init(ingest *g, const ingest_conf *c, char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    g->c = *c;
    ing_val f[ING_NFIELDS];
    ingest_fields_init(f);   /* its template is built now, before any parser thread reads it */
    if (!g->c.max_string) g->c.max_string = 1024;
    if (!g->c.max_attrs) g->c.max_attrs = 64;
    json_doc_init(&g->doc);
    jw_init(&g->jw);
    arena_init(&g->ar, 0);
    g->kv = calloc(g->c.max_attrs + ING_BUILTIN_LABELS, sizeof *g->kv);
    g->extra = calloc(g->c.max_attrs, sizeof *g->extra);
    if (!g->kv || !g->extra || dedup_init(&g->dd, g->c.dedup_window) || dedup_set_span(&g->dd, g->c.dedup_span_us)
        || ratelimit_init(&g->rl, g->c.rate_per_s, g->c.rate_burst, g->c.rate_users)) {
        snprintf(err, errlen, "out of memory (dedup window %llu ids, rate-limit table %u users)",
                 (unsigned long long)g->c.dedup_window, g->c.rate_users);
        ingest_free(g);
        return -1;
    }
    for (int i = 0; i < g->c.nmap; i++)
        if (ingest_field_index(g->c.map[i].field, strlen(g->c.map[i].field)) < 0) {
            snprintf(err, errlen, "--map %s=%s: '%s' is not a field ingest knows", g->c.map[i].field,
                     g->c.map[i].column, g->c.map[i].field);
            ingest_free(g);
            return -1;
        }
    return 0;
}

void ingest_free(ingest *g)
{
    json_doc_free(&g->doc);
    jw_free(&g->jw);
    arena_free(&g->ar);
    dedup_free(&g->dd);
    ratelimit_free(&g->rl);
    free(g->kv);
    free(g->extra);
    free(g->samples);
    ingest_csv_free(g);
    memset(g, 0, sizeof *g);
}

int ingest_line(ingest *g, const char *line, size_t len, int64_t now)
{
    arena_reset(&g->ar);
    g->nkv = 0;
    g->nkv_builtin = 0;
    g->id_hash_ok = 0;
    g->no_nul = 0;
    g->now_line = now;
    g->reason = NULL;
    g->detail[0] = 0;
    g->sample_id = (fb_str){ 0 };
    if (!(g->c.csv && g->csv_open)) g->rec_no++;
    int rc = g->c.csv ? ingest_csv_line(g, line, len, now) : ing_json_line(g, line, len, now);
    if (rc == ING_OUT) g->n_lines_ok++;
    return rc;
}
