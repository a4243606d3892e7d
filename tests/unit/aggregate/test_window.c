/* test_window.c — window assignment (tumbling, hopping, negative times),
 * watermark and the lateness rule. */
#include "../testhelp.h"
#include "../../../stages/aggregate/window.h"

#define S 1000000LL

static void test_assign(void)
{
    agg_wspec tum = { 60 * S, 60 * S }, hop = { 300 * S, 60 * S };
    const char *why;
    CHECK(agg_wspec_check(&tum, &why) == 0);
    CHECK(agg_wspec_check(&hop, &why) == 0);
    agg_wspec bad1 = { 60 * S, 120 * S }, bad2 = { 100 * S, 30 * S }, bad3 = { 0, 0 };
    CHECK(agg_wspec_check(&bad1, &why) < 0);
    CHECK(agg_wspec_check(&bad2, &why) < 0);
    CHECK(agg_wspec_check(&bad3, &why) < 0);

    int64_t st[AGG_MAX_PER_EVENT];
    CHECK_EQ_INT(agg_window_starts(&tum, 125 * S, st), 1);
    CHECK_EQ_INT(st[0], 120 * S);
    CHECK_EQ_INT(agg_window_starts(&tum, 120 * S, st), 1);    /* start inclusive */
    CHECK_EQ_INT(st[0], 120 * S);
    CHECK_EQ_INT(agg_window_starts(&tum, 120 * S - 1, st), 1); /* end exclusive */
    CHECK_EQ_INT(st[0], 60 * S);
    CHECK_EQ_INT(agg_window_starts(&tum, -1, st), 1);
    CHECK_EQ_INT(st[0], -60 * S);
    CHECK_EQ_INT(agg_window_first_end(&tum, 125 * S), 180 * S);

    /* every window returned contains t, and there are exactly size/hop */
    for (int64_t t = -700 * S; t < 700 * S; t += 7 * S + 12345) {
        int n = agg_window_starts(&hop, t, st);
        CHECK_EQ_INT(n, 5);
        for (int i = 0; i < n; i++) {
            CHECK(st[i] <= t && t < st[i] + hop.size);
            CHECK(st[i] % hop.hop == 0);
            if (i) CHECK(st[i] == st[i - 1] + hop.hop);
        }
        CHECK_EQ_INT(agg_window_first_end(&hop, t), st[0] + hop.size);
    }
    CHECK_EQ_INT(agg_floor_div(-7, 2), -4);
    CHECK_EQ_INT(agg_floor_div(7, 2), 3);
    CHECK_EQ_INT(agg_floor_div(-8, 2), -4);
}

static void test_watermark(void)
{
    agg_wspec tum = { 60 * S, 60 * S };
    agg_watermark wm = { 0, 10 * S, 0 };
    CHECK_EQ_INT(agg_wm_value(&wm), INT64_MIN);
    CHECK(!agg_wm_is_late(&wm, agg_window_first_end(&tum, 5 * S)));
    CHECK(agg_wm_advance(&wm, 100 * S));
    CHECK_EQ_INT(agg_wm_value(&wm), 90 * S);
    CHECK(!agg_wm_advance(&wm, 95 * S));
    CHECK_EQ_INT(agg_wm_value(&wm), 90 * S);
    /* [0,60) closed at watermark 90: an event at 59.999 is late, 60 is not */
    CHECK(agg_wm_is_late(&wm, agg_window_first_end(&tum, 60 * S - 1)));
    CHECK(!agg_wm_is_late(&wm, agg_window_first_end(&tum, 60 * S)));
    /* watermark exactly at the end closes the window */
    CHECK(agg_wm_advance(&wm, 130 * S));
    CHECK(agg_wm_is_late(&wm, agg_window_first_end(&tum, 119 * S)));
}

TEST_MAIN(test_assign, test_watermark)
