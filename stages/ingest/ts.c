/* ts.c — a timestamp's text (ISO 8601 or an epoch number) or an epoch
 * number to µs since the epoch (ingest.h: ingest_ts_text, ingest_epoch_us). */
#include "ingest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

/* ---- epoch numbers and ISO 8601 ------------------------------------------- */

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
