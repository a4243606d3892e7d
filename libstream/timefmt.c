/* timefmt.c — clocks and ISO 8601 (RFC 3339 profile) text for µs timestamps.
 *
 * The parser sits on ingest's hot path (one call per input line), so it is a
 * hand-written scanner: fixed-width digit fields, no sscanf/strptime/mktime,
 * no locale, no allocation. Calendar arithmetic uses the proleptic Gregorian
 * "days from civil" formula: shift the year to start in March so the leap
 * day falls at the end, count 400-year eras (146097 days), then the day of
 * the era from year-of-era and day-of-year (153-day five-month cycles).
 *
 * Accepted: YYYY-MM-DD, optionally followed by 'T', 't' or ' ' and
 * HH:MM[:SS[.F{1,9}]], then optionally 'Z'/'z' or ±HH[:MM] or ±HHMM (no zone
 * means UTC). Rejected: out-of-range fields (month 13, Feb 30 in a non-leap
 * year, hour 24, minute or second 60), more than 9 fraction digits, trailing
 * text. Fractions beyond µs are truncated toward the earlier instant. */
#include "timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t now_us(void) { return clock_us(CLOCK_REALTIME); }
int64_t mono_us(void) { return clock_us(CLOCK_MONOTONIC); }
int64_t mono_ms(void) { return clock_us(CLOCK_MONOTONIC) / 1000; }
/* The coarse clock (a few ms resolution, no system call): per-record checks
 * of the sync cadence. */
int64_t mono_coarse_us(void) { return clock_us(CLOCK_MONOTONIC_COARSE); }

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12, d 1..31). */
static int64_t tf_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);                       /* 0..399 */
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
    return era * 146097 + (int64_t)doe - 719468;
}

/* Inverse of tf_days_from_civil. */
static void tf_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void tf_put2(char *p, unsigned v) { p[0] = (char)('0' + v / 10); p[1] = (char)('0' + v % 10); }

int time_format_iso(int64_t us, char *buf)
{
    /* floor division so instants before 1970 format correctly */
    int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) { frac += 1000000; secs--; }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) { sod += 86400; days--; }
    int64_t y; unsigned m, d;
    tf_civil_from_days(days, &y, &m, &d);
    char *p = buf;
    if (y < 0 || y > 9999) {
        /* outside the 4-digit range: not valid RFC 3339, still unambiguous */
        int n = 0; char tmp[24]; uint64_t a = y < 0 ? (uint64_t)-y : (uint64_t)y;
        do { tmp[n++] = (char)('0' + a % 10); a /= 10; } while (a && n < 20);
        *p++ = y < 0 ? '-' : '+';
        while (n) *p++ = tmp[--n];
    } else {
        unsigned yy = (unsigned)y;
        tf_put2(p, yy / 100); tf_put2(p + 2, yy % 100); p += 4;
    }
    *p++ = '-'; tf_put2(p, m); p += 2;
    *p++ = '-'; tf_put2(p, d); p += 2;
    *p++ = 'T'; tf_put2(p, (unsigned)(sod / 3600)); p += 2;
    *p++ = ':'; tf_put2(p, (unsigned)(sod / 60 % 60)); p += 2;
    *p++ = ':'; tf_put2(p, (unsigned)(sod % 60)); p += 2;
    *p++ = '.';
    unsigned f = (unsigned)frac;
    int digits = 6;
    if (f % 1000 == 0) { f /= 1000; digits = 3; }   /* trim to ms when exact */
    for (int i = digits - 1; i >= 0; i--) { p[i] = (char)('0' + f % 10); f /= 10; }
    p += digits;
    *p++ = 'Z';
    *p = 0;
    return (int)(p - buf);
}

/* n digits at s (caller checked the length); -1 if any is not a digit. */
static inline int tf_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i] - '0';
        if (c > 9) return -1;
        v = v * 10 + (int)c;
    }
    return v;
}

int time_parse_iso(const char *s, size_t len, int64_t *us)
{
    static const unsigned char mdays[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    const char *e = s + len;
    if (len < 10 || s[4] != '-' || s[7] != '-') return -1;
    int y = tf_digits(s, 4), mo = tf_digits(s + 5, 2), d = tf_digits(s + 8, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo]) return -1;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return -1;
    int64_t t = tf_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400;
    int64_t sub = 0;     /* µs */
    const char *p = s + 10;
    if (p == e) { *us = t * 1000000; return 0; }
    if (*p != 'T' && *p != 't' && *p != ' ') return -1;
    p++;
    if (e - p < 5 || p[2] != ':') return -1;
    int hh = tf_digits(p, 2), mi = tf_digits(p + 3, 2);
    if (hh < 0 || hh > 23 || mi < 0 || mi > 59) return -1;
    t += hh * 3600 + mi * 60;
    p += 5;
    if (p < e && *p == ':') {
        if (e - p < 3) return -1;
        int ss = tf_digits(p + 1, 2);
        if (ss < 0 || ss > 59) return -1;
        t += ss;
        p += 3;
        if (p < e && (*p == '.' || *p == ',')) {
            p++;
            int n = 0;
            int64_t f = 0;
            while (p < e && (unsigned)((unsigned char)*p - '0') <= 9) {
                if (++n > 9) return -1;
                f = f * 10 + (*p - '0');
                p++;
            }
            if (n == 0) return -1;
            static const int64_t scale[10] = { 1, 10, 100, 1000, 10000, 100000, 1000000,
                                               10000000, 100000000, 1000000000 };
            /* to µs: scale up when fewer than 6 digits, truncate when more */
            sub = n <= 6 ? f * scale[6 - n] : f / scale[n - 6];
        }
    }
    if (p < e) {
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1;
            p++;
            if (e - p < 2) return -1;
            int oh = tf_digits(p, 2), om = 0;
            if (oh < 0 || oh > 23) return -1;
            p += 2;
            if (p < e && *p == ':') {
                if (e - p < 3) return -1;
                om = tf_digits(p + 1, 2);
                p += 3;
            } else if (e - p >= 2) {
                om = tf_digits(p, 2);
                p += 2;
            }
            if (om < 0 || om > 59) return -1;
            /* local = UTC + offset, so UTC = local - offset */
            t -= sign * (oh * 3600 + om * 60);
        } else {
            return -1;
        }
    }
    if (p != e) return -1;
    *us = t * 1000000 + sub;
    return 0;
}

/* ---- durations --------------------------------------------------------------- */

int time_parse_duration(const char *s, int64_t *us)
{
    if (!s || !*s) return -1;
    double total = 0;
    const char *p = s;
    int parts = 0;
    while (*p) {
        if (!isdigit((unsigned char)*p) && *p != '.') return -1;
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || v < 0) return -1;
        p = end;
        double unit;
        if (!*p) {
            if (parts) return -1;          /* "1h30" is ambiguous: refuse */
            unit = 1e6;                    /* bare number: seconds */
        } else if (!strncmp(p, "us", 2)) { unit = 1; p += 2; }
        else if (!strncmp(p, "ms", 2)) { unit = 1e3; p += 2; }
        else if (*p == 's') { unit = 1e6; p++; }
        else if (*p == 'm') { unit = 60e6; p++; }
        else if (*p == 'h') { unit = 3600e6; p++; }
        else if (*p == 'd') { unit = 86400e6; p++; }
        else if (*p == 'w') { unit = 7 * 86400e6; p++; }
        else return -1;
        total += v * unit;
        parts++;
    }
    if (total > 9.2e18) return -1;
    *us = (int64_t)llround(total);
    return 0;
}

void time_format_duration(int64_t us, char *buf, size_t n)
{
    static const struct { int64_t mul; const char *u; } units[] = {
        { 86400000000LL, "d" }, { 3600000000LL, "h" }, { 60000000LL, "m" },
        { 1000000LL, "s" }, { 1000LL, "ms" }, { 1, "us" } };
    if (us == 0) { snprintf(buf, n, "0s"); return; }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (us % units[i].mul == 0) { snprintf(buf, n, "%lld%s", (long long)(us / units[i].mul), units[i].u); return; }
}
