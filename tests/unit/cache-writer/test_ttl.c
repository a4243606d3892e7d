/* test_ttl.c — --ttl adaptive: the key memory's activity (average gap of
 * event times, newest weighted 1/4; older and repeated records change
 * nothing; a key evicted from its bucket starts afresh) and the TTL formula
 * MIN*MAX/gap within [MIN, MAX]; --ttl parsing. */
#include <stdint.h>
#include <string.h>
#include "../testhelp.h"
#include "../../../stages/cache-writer/keyset.h"
#include "../../../stages/cache-writer/layout.h"

#define S 1000000LL   /* a second in microseconds */

static void test_activity(void)
{
    keyset k;
    CHECK_EQ_INT(keyset_init(&k, 1), 0);             /* one bucket of 4 */
    CHECK_EQ_INT(keyset_track_activity(&k), 0);
    double gap = -1;
    CHECK_EQ_INT(keyset_touch_at(&k, 11, 100 * S, &gap), 0);
    CHECK(gap == 0);                                  /* seen once: no gap known */
    keyset_touch_at(&k, 11, 160 * S, &gap);
    CHECK(gap == 60.0 * S);                           /* the first gap as it is */
    keyset_touch_at(&k, 11, 180 * S, &gap);
    CHECK(gap == 50.0 * S);                           /* 0.75*60 + 0.25*20 */
    keyset_touch_at(&k, 11, 180 * S, &gap);           /* a repeat */
    CHECK(gap == 50.0 * S);
    keyset_touch_at(&k, 11, 90 * S, &gap);            /* an older record */
    CHECK(gap == 50.0 * S);
    keyset_touch_at(&k, 11, 230 * S, &gap);           /* gap 50 from the newest (180), not from 90 */
    CHECK(gap == 50.0 * S);
    /* the activity moves with its key inside the bucket */
    keyset_touch_at(&k, 21, 0, NULL); keyset_touch_at(&k, 31, 0, NULL);
    keyset_touch_at(&k, 11, 240 * S, &gap);
    CHECK(gap == 40.0 * S);                           /* 0.75*50 + 0.25*10 */
    keyset_touch_at(&k, 41, 0, NULL); keyset_touch_at(&k, 51, 0, NULL);
    keyset_touch_at(&k, 61, 0, NULL); keyset_touch_at(&k, 71, 0, NULL);
    CHECK_EQ_INT(keyset_has(&k, 11), 0);              /* dropped out: forgotten */
    CHECK_EQ_INT(keyset_touch_at(&k, 11, 300 * S, &gap), 0);
    CHECK(gap == 0);
    /* extreme event times do not overflow the gap */
    keyset_touch_at(&k, 81, INT64_MIN, &gap);
    keyset_touch_at(&k, 81, INT64_MAX, &gap);
    CHECK(gap > 1e19);
    keyset_free(&k);
}

static void test_formula(void)
{
    const int64_t lo = 10000, hi = 3600000;           /* 10 s, 1 h */
    CHECK_EQ_INT(layout_adaptive_ttl(lo, hi, 0), lo);             /* unknown: MIN */
    CHECK_EQ_INT(layout_adaptive_ttl(lo, hi, 10.0 * S), hi);      /* every MIN: MAX */
    CHECK_EQ_INT(layout_adaptive_ttl(lo, hi, 3600.0 * S), lo);    /* every MAX: MIN */
    CHECK_EQ_INT(layout_adaptive_ttl(lo, hi, 30.0 * S), 1200000); /* 36000/30 s */
    CHECK_EQ_INT(layout_adaptive_ttl(lo, hi, 1.0 * S), hi);
    CHECK_EQ_INT(layout_adaptive_ttl(lo, hi, 1e20), lo);
    /* a more active user never gets a shorter TTL */
    int64_t prev = hi;
    for (double g = 1.0; g < 1e5; g *= 1.3) {
        int64_t t = layout_adaptive_ttl(lo, hi, g * S);
        CHECK(t <= prev && t >= lo && t <= hi);
        prev = t;
    }
}

static void test_parse(void)
{
    int64_t f, lo, hi;
    char err[200];
    CHECK_EQ_INT(layout_ttl_parse("1h", &f, &lo, &hi, err, sizeof err), 0);
    CHECK(f == 3600000 && lo == 0 && hi == 0);
    CHECK_EQ_INT(layout_ttl_parse("0", &f, &lo, &hi, err, sizeof err), 0);
    CHECK(f == 0 && hi == 0);
    CHECK_EQ_INT(layout_ttl_parse("adaptive:10m:1d", &f, &lo, &hi, err, sizeof err), 0);
    CHECK(f == 0 && lo == 600000 && hi == 86400000);
    CHECK_EQ_INT(layout_ttl_parse("adaptive:1s:1s", &f, &lo, &hi, err, sizeof err), 0);
    const char *bad[] = { "adaptive", "adaptive:", "adaptive:1s", "adaptive:1h:1s", "adaptive:0:1h",
                          "adaptive:1s:1h:2h", "adaptive:x:1h", "adaptivex:1s:1h", "fast", "" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        CHECK_EQ_INT(layout_ttl_parse(bad[i], &f, &lo, &hi, err, sizeof err), -1);
        CHECK(strlen(err) > 0);
    }
}

TEST_MAIN(test_activity, test_formula, test_parse)
