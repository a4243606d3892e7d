/* test_stats.c — count/sum/mean/stddev against a long double two-pass
 * computation; bit-identical results in any order; a large offset does not
 * destroy the variance; top-K against a full sort. */
#include "../testhelp.h"
#include "../../../stages/aggregate/stats.h"
#include "../../../stages/aggregate/topk.h"
#include <stdint.h>

static uint64_t rs = 0x9E3779B97F4A7C15ULL;
static double urand(void)
{
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

static void check_set(const double *v, size_t n, double rel)
{
    long double s = 0, m, ss = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    m = s / n;
    for (size_t i = 0; i < n; i++) ss += (v[i] - m) * (v[i] - m);
    double sd = n > 1 ? (double)sqrtl(ss / (n - 1)) : 0;
    agg_stats st;
    agg_stats_init(&st);
    for (size_t i = 0; i < n; i++) agg_stats_add(&st, v[i]);
    CHECK_EQ_INT(st.n, n);
    CHECK_NEAR(agg_stats_sum(&st), (double)s, fabs((double)s) * 1e-15);
    CHECK_NEAR(agg_stats_mean(&st), (double)m, fabs((double)m) * 1e-15);
    CHECK_NEAR(agg_stats_stddev(&st), sd, sd * rel + 1e-300);
}

static void test_moments(void)
{
    enum { N = 100000 };
    double *v = malloc(N * sizeof *v);
    for (size_t i = 0; i < N; i++) v[i] = urand() * 1000;
    check_set(v, N, 1e-12);
    for (size_t i = 0; i < N; i++) v[i] = 1e9 + urand();   /* mean >> spread */
    check_set(v, N, 1e-6);
    double two[2] = { 3, 5 };
    check_set(two, 2, 1e-15);
    agg_stats st;
    agg_stats_init(&st);
    CHECK(isnan(agg_stats_mean(&st)));
    agg_stats_add(&st, 7);
    CHECK(agg_stats_stddev(&st) == 0);
    CHECK(st.min == 7 && st.max == 7);
    free(v);
}

static void test_order_independent(void)
{
    enum { N = 20000 };
    double *v = malloc(N * sizeof *v);
    for (size_t i = 0; i < N; i++) v[i] = exp(urand() * 10) * (urand() < 0.1 ? -1 : 1) + 0.1;
    agg_stats a, b, c, d;
    agg_stats_init(&a); agg_stats_init(&b); agg_stats_init(&c); agg_stats_init(&d);
    for (size_t i = 0; i < N; i++) agg_stats_add(&a, v[i]);
    for (size_t i = N; i-- > 0;) agg_stats_add(&b, v[i]);
    for (size_t i = N - 1; i > 0; i--) { size_t j = (size_t)(urand() * (double)(i + 1)); double t = v[i]; v[i] = v[j]; v[j] = t; }
    for (size_t i = 0; i < N; i++) agg_stats_add(i % 2 ? &c : &d, v[i]);
    agg_stats_merge(&c, &d);
    CHECK(agg_stats_sum(&a) == agg_stats_sum(&b));
    CHECK(agg_stats_sum(&a) == agg_stats_sum(&c));
    CHECK(agg_stats_mean(&a) == agg_stats_mean(&c));
    CHECK(agg_stats_stddev(&a) == agg_stats_stddev(&b));
    CHECK(agg_stats_stddev(&a) == agg_stats_stddev(&c));
    free(v);
}

static uint64_t *tk_vals;
static uint64_t tk_get(void *ctx, size_t i) { (void)ctx; return tk_vals[i]; }

static void test_topk(void)
{
    enum { N = 5000 };
    tk_vals = malloc(N * sizeof *tk_vals);
    for (size_t i = 0; i < N; i++) tk_vals[i] = (uint64_t)(urand() * 50);   /* many ties */
    size_t out[20];
    size_t got = agg_topk(N, tk_get, NULL, 20, out);
    CHECK_EQ_INT(got, 20);
    /* reference: repeated selection of (max count, smallest index) */
    char *used = calloc(N, 1);
    for (size_t r = 0; r < got; r++) {
        size_t best = N;
        for (size_t i = 0; i < N; i++)
            if (!used[i] && tk_vals[i] && (best == N || tk_vals[i] > tk_vals[best])) best = i;
        used[best] = 1;
        CHECK_EQ_INT(out[r], best);
    }
    for (size_t i = 0; i < N; i++) tk_vals[i] = i < 3 ? i : 0;
    CHECK_EQ_INT(agg_topk(N, tk_get, NULL, 20, out), 2);   /* zero counts are not ranked */
    CHECK_EQ_INT(out[0], 2);
    CHECK_EQ_INT(agg_topk(N, tk_get, NULL, 0, out), 0);
    free(used);
    free(tk_vals);
}

TEST_MAIN(test_moments, test_order_independent, test_topk)
