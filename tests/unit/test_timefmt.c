/* test_timefmt.c — ISO 8601 parse/format checked against libc's timegm and
 * gmtime_r (an independent implementation of the same calendar). */
#define _GNU_SOURCE
#include <stdint.h>
#include <time.h>

#include "testhelp.h"
#include "timefmt.h"

static int parse(const char *s, int64_t *us) { return time_parse_iso(s, strlen(s), us); }

static int64_t tg(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                     .tm_hour = h, .tm_min = mi, .tm_sec = s };
    return (int64_t)timegm(&tm);
}

static void test_parse_known(void)
{
    int64_t us = 0;
    CHECK_EQ_INT(parse("1970-01-01T00:00:00Z", &us), 0);
    CHECK_EQ_INT(us, 0);
    CHECK_EQ_INT(parse("2026-11-23T10:00:00Z", &us), 0);
    CHECK_EQ_INT(us, tg(2026, 11, 23, 10, 0, 0) * 1000000);
    CHECK_EQ_INT(parse("2026-11-23T10:00:00.123Z", &us), 0);
    CHECK_EQ_INT(us, tg(2026, 11, 23, 10, 0, 0) * 1000000 + 123000);
    CHECK_EQ_INT(parse("2026-11-23T10:00:00.123456789Z", &us), 0);
    CHECK_EQ_INT(us, tg(2026, 11, 23, 10, 0, 0) * 1000000 + 123456);
    CHECK_EQ_INT(parse("2026-11-23 10:00:00.5", &us), 0);
    CHECK_EQ_INT(us, tg(2026, 11, 23, 10, 0, 0) * 1000000 + 500000);
    /* zones: local time minus the offset */
    CHECK_EQ_INT(parse("2026-11-23T10:00:00+02:00", &us), 0);
    CHECK_EQ_INT(us, tg(2026, 11, 23, 8, 0, 0) * 1000000);
    CHECK_EQ_INT(parse("2026-11-23T10:00:00-0530", &us), 0);
    CHECK_EQ_INT(us, tg(2026, 11, 23, 15, 30, 0) * 1000000);
    CHECK_EQ_INT(parse("2026-11-23T10:00:00+05", &us), 0);
    CHECK_EQ_INT(us, tg(2026, 11, 23, 5, 0, 0) * 1000000);
    CHECK_EQ_INT(parse("2026-11-23T10:00Z", &us), 0);
    CHECK_EQ_INT(us, tg(2026, 11, 23, 10, 0, 0) * 1000000);
    CHECK_EQ_INT(parse("2024-02-29", &us), 0);
    CHECK_EQ_INT(us, tg(2024, 2, 29, 0, 0, 0) * 1000000);
    CHECK_EQ_INT(parse("2000-02-29t23:59:59z", &us), 0);
    CHECK_EQ_INT(us, tg(2000, 2, 29, 23, 59, 59) * 1000000);
    CHECK_EQ_INT(parse("1969-12-31T23:59:59.5Z", &us), 0);
    CHECK_EQ_INT(us, -500000);
    CHECK_EQ_INT(parse("1601-01-01T00:00:00Z", &us), 0);
    CHECK_EQ_INT(us, tg(1601, 1, 1, 0, 0, 0) * 1000000);
}

static void test_parse_invalid(void)
{
    static const char *bad[] = {
        "", "2026", "2026-11", "2026-13-01", "2026-00-10", "2026-02-30", "2025-02-29",
        "1900-02-29", "2026-04-31", "2026-11-23T24:00:00Z", "2026-11-23T10:60:00Z",
        "2026-11-23T10:00:60Z", "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00.1234567890Z",
        "2026-11-23T10:00:00+24:00", "2026-11-23T10:00:00+02:60", "2026-11-23T10:00:00X",
        "2026-11-23T10:00:00Z ", "2026-11-23X10:00", "2026-11-23T1:00", "2026-1-23",
        "abcd-ef-ghT10:00:00Z", "2026-11-23T10:00:00+2", "2026-11-23T10:00:0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t us = 42;
        CHECK_MSG(parse(bad[i], &us) == -1, "accepted '%s'", bad[i]);
    }
    /* length is honoured: the same text cut short is a bare date */
    int64_t us;
    const char *s = "2026-11-23T10:00:00Z";
    CHECK_EQ_INT(time_parse_iso(s, 10, &us), 0);
    CHECK_EQ_INT(us, tg(2026, 11, 23, 0, 0, 0) * 1000000);
}

/* Random instants: format with ours, compare fields with gmtime_r, parse
 * back to the same value. */
static void test_roundtrip_random(void)
{
    uint64_t x = 88172645463325252ull;
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        /* 0001-01-01 .. 9999-12-31 */
        int64_t secs = (int64_t)(x % 315537897600ull) - 62135596800LL;
        int64_t us = secs * 1000000 + (int64_t)((x >> 20) % 1000000);
        char buf[40];
        int n = time_format_iso(us, buf);
        time_t t = (time_t)secs;
        struct tm tm;
        gmtime_r(&t, &tm);
        char ref[40];
        snprintf(ref, sizeof ref, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        int64_t back = 0;
        if (strncmp(buf, ref, 19) || time_parse_iso(buf, (size_t)n, &back) || back != us) {
            if (bad++ < 5) fprintf(stderr, "us=%lld ours=%s ref=%s back=%lld\n", (long long)us, buf, ref, (long long)back);
        }
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_format(void)
{
    char buf[40];
    CHECK_EQ_INT(time_format_iso(0, buf), 24);
    CHECK_EQ_STR(buf, "1970-01-01T00:00:00.000Z");
    time_format_iso(tg(2026, 11, 23, 10, 0, 0) * 1000000 + 123000, buf);
    CHECK_EQ_STR(buf, "2026-11-23T10:00:00.123Z");
    time_format_iso(tg(2026, 11, 23, 10, 0, 0) * 1000000 + 123456, buf);
    CHECK_EQ_STR(buf, "2026-11-23T10:00:00.123456Z");
    time_format_iso(-1, buf);
    CHECK_EQ_STR(buf, "1969-12-31T23:59:59.999999Z");
}

static void test_clocks(void)
{
    int64_t a = now_us();
    CHECK(a > tg(2020, 1, 1, 0, 0, 0) * 1000000);
    CHECK(llabs(a - (int64_t)time(NULL) * 1000000) < 2000000);
    int64_t m1 = mono_us(), m2 = mono_us();
    CHECK(m2 >= m1);
    /* the same clock in ms, and the coarse one never ahead of it (it is the
     * last tick's time): read in order, each lies between its neighbours */
    int64_t u1 = mono_us(), ms = mono_ms(), u2 = mono_us();
    CHECK(u1 / 1000 <= ms && ms <= u2 / 1000);
    int64_t c = mono_coarse_us(), u3 = mono_us();
    CHECK(c <= u3 && c > 0);
}

/* Durations: the largest unit that divides exactly, and what the parser
 * reads back (more parser cases in test_cli, which parses flags with it). */
static void test_durations(void)
{
    static const struct { int64_t us; const char *text; } d[] = {
        { 0, "0s" }, { 1, "1us" }, { 1500, "1500us" }, { 250000, "250ms" }, { 90000000, "90s" },
        { 5400000000LL, "90m" }, { 3600000000LL, "1h" }, { 86400000000LL, "1d" },
        { 7 * 86400000000LL, "7d" }, { 1000001, "1000001us" } };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        char buf[32];
        time_format_duration(d[i].us, buf, sizeof buf);
        CHECK_EQ_STR(buf, d[i].text);
        int64_t back = -1;
        CHECK(time_parse_duration(buf, &back) == 0 && back == d[i].us);
    }
    int64_t v;
    CHECK(time_parse_duration("1w", &v) == 0 && v == 7 * 86400000000LL);
    CHECK(time_parse_duration("1h30", &v) == -1);   /* a bare number only alone */
    CHECK(time_parse_duration("", &v) == -1);
    CHECK(time_parse_duration("-1s", &v) == -1);
}

/* Not a pass/fail benchmark: prints the rate so a regression is visible. */
static void test_speed(void)
{
    const char *s = "2026-11-23T10:00:00.123456+02:00";
    size_t n = strlen(s);
    uint64_t sum = 0; int64_t us;
    int64_t t0 = mono_us();
    for (int i = 0; i < 2000000; i++) { time_parse_iso(s, n, &us); sum += (uint64_t)us; }
    int64_t dt = mono_us() - t0;
    CHECK(sum != 0);
    fprintf(stderr, "time_parse_iso: %.1f M/s\n", 2000000.0 / (double)(dt ? dt : 1));
}

TEST_MAIN(test_parse_known, test_parse_invalid, test_roundtrip_random, test_format, test_clocks, test_durations, test_speed)
