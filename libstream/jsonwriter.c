/* jsonwriter.c — the JSON writer, json.h's jw_ half: appends to a growable
 * buffer, strings escaped per RFC 8259 (control characters as \u00XX),
 * doubles with the fewest digits that read back to the same value
 * (json_format_double). A file of its own because it shares only the
 * string rules (json_int.h) with the reader in json.c: no state, no limits,
 * nothing of the reader's node array. */
#include "json.h"
#include "json_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jw_grow_slow(json_writer *w, size_t need)
{
    size_t nc = w->cap ? w->cap : 256;
    while (nc < w->len + need) nc *= 2;
    char *nb = realloc(w->buf, nc);
    if (!nb) { fputs("json: out of memory\n", stderr); abort(); }
    w->buf = nb;
    w->cap = nc;
}

static inline void jw_grow(json_writer *w, size_t need)
{
    if (w->len + need > w->cap) jw_grow_slow(w, need);
}

static inline void jw_put(json_writer *w, const char *s, size_t n)
{
    jw_grow(w, n);
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static inline void jw_ch(json_writer *w, char c)
{
    jw_grow(w, 1);
    w->buf[w->len++] = c;
}

static inline void jw_sep(json_writer *w)
{
    if (w->need_comma) jw_ch(w, ',');
}

void jw_init(json_writer *w) { memset(w, 0, sizeof *w); }
void jw_free(json_writer *w) { free(w->buf); memset(w, 0, sizeof *w); }
void jw_reset(json_writer *w) { w->len = 0; w->need_comma = 0; }
void jw_obj_begin(json_writer *w) { jw_sep(w); jw_ch(w, '{'); w->need_comma = 0; }
void jw_obj_end(json_writer *w) { jw_ch(w, '}'); w->need_comma = 1; }
void jw_arr_begin(json_writer *w) { jw_sep(w); jw_ch(w, '['); w->need_comma = 0; }
void jw_arr_end(json_writer *w) { jw_ch(w, ']'); w->need_comma = 1; }

/* Escaped string body without quotes. Invalid UTF-8 bytes become U+FFFD so
 * the output is always valid JSON. */
static void jw_escaped(json_writer *w, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    jw_grow(w, len + 2);
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && json_strclass[*p] == 0) p++;
        if (p > run) jw_put(w, (const char *)run, (size_t)(p - run));
        if (p >= end) break;
        unsigned c = *p;
        switch (json_strclass[c]) {
        case 1: jw_put(w, "\\\"", 2); p++; break;
        case 2: jw_put(w, "\\\\", 2); p++; break;
        case 3:
            switch (c) {
            case '\n': jw_put(w, "\\n", 2); break;
            case '\t': jw_put(w, "\\t", 2); break;
            case '\r': jw_put(w, "\\r", 2); break;
            case '\b': jw_put(w, "\\b", 2); break;
            case '\f': jw_put(w, "\\f", 2); break;
            default: {
                char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
                jw_put(w, u, 6);
            }
            }
            p++;
            break;
        case 4: {
            size_t n = json_utf8_seq(p, end);
            if (n) { jw_put(w, (const char *)p, n); p += n; }
            else { jw_put(w, "\\ufffd", 6); p++; }
            break;
        }
        }
    }
}

void jw_key(json_writer *w, const char *key) { jw_key_n(w, key, strlen(key)); }

void jw_key_n(json_writer *w, const char *key, size_t len)
{
    jw_sep(w);
    jw_ch(w, '"');
    jw_escaped(w, key, len);
    jw_put(w, "\":", 2);
    w->need_comma = 0;
}

void jw_str(json_writer *w, const char *s, size_t len)
{
    if (!s) { jw_null(w); return; }
    jw_sep(w);
    jw_ch(w, '"');
    jw_escaped(w, s, len);
    jw_ch(w, '"');
    w->need_comma = 1;
}

void jw_cstr(json_writer *w, const char *s) { jw_str(w, s, s ? strlen(s) : 0); }

/* The fast path of json_format_double, for the values records mostly hold
 * (prices, rates, latencies: a few decimals, 1e-4 <= |v| < 1e15): the
 * fewest decimals k such that m = round(v * 10^k) has at most 15 digits and
 * m / 10^k reads back as v. m and 10^k (k <= 19) are exact doubles, so the
 * division is correctly rounded: it is exactly what strtod makes of the
 * text "m e-k" (Clinger's fast path), which makes the check exact whatever
 * rounding v * 10^k suffered. The text is what "%.15g" prints for the same
 * digits: fixed notation, no trailing zeros. 0 when the fast path does not
 * apply (the caller uses printf). */
static int json_format_short(char *buf, double v)
{
    static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
                                   1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19 };
    double a = fabs(v);
    if (!(a >= 1e-4 && a < 1e15))
        return 0;
    for (int k = 1; k < (int)(sizeof p10 / sizeof p10[0]); k++) {
        double x = a * p10[k];
        if (x >= 1e15)
            return 0;          /* would need more than 15 significant digits */
        double r = nearbyint(x);
        if (r == 0 || r / p10[k] != a)
            continue;
        uint64_t m = (uint64_t)r;
        char dig[24];
        int nd = 0;
        while (m) { dig[nd++] = (char)('0' + m % 10); m /= 10; }   /* reversed */
        int n = 0;
        if (v < 0) buf[n++] = '-';
        if (nd <= k) {         /* 0.00ddd */
            buf[n++] = '0';
            buf[n++] = '.';
            for (int z = 0; z < k - nd; z++) buf[n++] = '0';
            while (nd) buf[n++] = dig[--nd];
        } else {
            while (nd > k) buf[n++] = dig[--nd];
            buf[n++] = '.';
            while (nd) buf[n++] = dig[--nd];
        }
        buf[n] = 0;
        return n;
    }
    return 0;
}

int json_format_double(char *buf, double v)
{
    if (!isfinite(v)) { memcpy(buf, "null", 5); return 4; }
    if (v == 0) {
        if (signbit(v)) { memcpy(buf, "-0", 3); return 2; }
        memcpy(buf, "0", 2);
        return 1;
    }
    /* Integral values that are exact print as integers (no exponent). */
    if (v == floor(v) && fabs(v) < 1e15)
        return snprintf(buf, 32, "%.0f", v);
    int n = json_format_short(buf, v);
    if (n > 0)
        return n;
    /* %.15g is shortest whenever any representation of <= 15 digits reads
     * back (the value is then far from a 15-digit rounding boundary);
     * otherwise 16, and 17 always round-trips. */
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, 32, "%.*g", prec, v);
        if (prec == 17 || strtod(buf, NULL) == v) break;
    }
    return n;
}

void jw_double(json_writer *w, double v)
{
    char b[32];
    int n = json_format_double(b, v);
    jw_sep(w);
    jw_put(w, b, (size_t)n);
    w->need_comma = 1;
}

void jw_uint(json_writer *w, uint64_t v)
{
    char b[24];
    int i = 24;
    do { b[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    jw_sep(w);
    jw_put(w, b + i, (size_t)(24 - i));
    w->need_comma = 1;
}

void jw_int(json_writer *w, int64_t v)
{
    if (v >= 0) { jw_uint(w, (uint64_t)v); return; }
    char b[24];
    int i = 24;
    uint64_t u = 0 - (uint64_t)v;
    do { b[--i] = (char)('0' + u % 10); u /= 10; } while (u);
    b[--i] = '-';
    jw_sep(w);
    jw_put(w, b + i, (size_t)(24 - i));
    w->need_comma = 1;
}

void jw_bool(json_writer *w, int v)
{
    jw_sep(w);
    if (v) jw_put(w, "true", 4); else jw_put(w, "false", 5);
    w->need_comma = 1;
}

void jw_null(json_writer *w)
{
    jw_sep(w);
    jw_put(w, "null", 4);
    w->need_comma = 1;
}

void jw_raw(json_writer *w, const char *s, size_t len)
{
    jw_sep(w);
    jw_put(w, s, len);
    w->need_comma = 1;
}

void jw_newline(json_writer *w)
{
    jw_ch(w, '\n');
    w->need_comma = 0;
}
