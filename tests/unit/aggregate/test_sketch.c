/* test_sketch.c — DDSketch quantiles within the stated relative error of
 * the exact order statistics; merge equals one sketch of everything; the
 * result does not depend on insertion order. */
#include "../testhelp.h"
#include "../../../stages/aggregate/sketch.h"
#include <stdint.h>

static uint64_t rng_state = 88172645463325252ULL;
static double urand(void)
{
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static double nrand(void)
{
    double u = urand(), v = urand();
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}
static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const double qs[] = { 0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1 };

static void check_against_exact(const char *what, double *v, size_t n, double alpha)
{
    agg_ddparams p;
    CHECK(agg_ddparams_init(&p, alpha) == 0);
    agg_sketch s;
    agg_sketch_init(&s);
    for (size_t i = 0; i < n; i++) agg_sketch_add(&p, &s, v[i]);
    qsort(v, n, sizeof *v, cmpd);
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        double exact = v[(size_t)floor(qs[k] * (double)(n - 1))];
        double got = agg_sketch_quantile(&p, &s, qs[k]);
        CHECK_MSG(fabs(got - exact) <= alpha * fabs(exact) * (1 + 1e-9) + 1e-12,
                  "%s q=%g exact=%.9g got=%.9g", what, qs[k], exact, got);
    }
    CHECK_EQ_INT(s.count, n);
    agg_sketch_free(&s);
}

static void test_distributions(void)
{
    enum { N = 200000 };
    double *v = malloc(N * sizeof *v);
    /* lognormal latencies (ms) */
    for (size_t i = 0; i < N; i++) v[i] = exp(3.5 + 0.8 * nrand());
    check_against_exact("lognormal", v, N, 0.01);
    /* uniform */
    for (size_t i = 0; i < N; i++) v[i] = urand() * 100;
    check_against_exact("uniform", v, N, 0.01);
    /* heavy tail, 0.5% accuracy */
    for (size_t i = 0; i < N; i++) v[i] = 1 / (urand() + 1e-6);
    check_against_exact("pareto", v, N, 0.005);
    /* mixed signs and zeros (0/1 error samples, negative deltas) */
    for (size_t i = 0; i < N; i++) { double u = urand(); v[i] = u < 0.2 ? 0 : u < 0.5 ? -exp(nrand()) : exp(nrand()); }
    check_against_exact("signed", v, N, 0.01);
    /* tiny n */
    double one[1] = { 42.5 };
    check_against_exact("single", one, 1, 0.01);
    double two[3] = { 1, 1000, 3 };
    check_against_exact("three", two, 3, 0.01);
    free(v);
}

static int same_store(const agg_store *a, const agg_store *b)
{
    if (a->n != b->n || (a->n && a->off != b->off)) return 0;
    return a->n == 0 || memcmp(a->bins, b->bins, a->n * sizeof *a->bins) == 0;
}

static void test_merge_and_order(void)
{
    enum { N = 50000 };
    agg_ddparams p;
    agg_ddparams_init(&p, 0.01);
    double *v = malloc(N * sizeof *v);
    for (size_t i = 0; i < N; i++) v[i] = exp(2 + 1.5 * nrand());
    agg_sketch all, a, b, shuffled;
    agg_sketch_init(&all); agg_sketch_init(&a); agg_sketch_init(&b); agg_sketch_init(&shuffled);
    for (size_t i = 0; i < N; i++) {
        agg_sketch_add(&p, &all, v[i]);
        agg_sketch_add(&p, i % 3 ? &a : &b, v[i]);
    }
    for (size_t i = N - 1; i > 0; i--) { size_t j = (size_t)(urand() * (double)(i + 1)); double t = v[i]; v[i] = v[j]; v[j] = t; }
    for (size_t i = 0; i < N; i++) agg_sketch_add(&p, &shuffled, v[i]);
    agg_sketch_merge(&p, &a, &b);
    CHECK(same_store(&a.pos, &all.pos));
    CHECK(same_store(&shuffled.pos, &all.pos));
    CHECK_EQ_INT(a.count, all.count);
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++)
        CHECK(agg_sketch_quantile(&p, &a, qs[k]) == agg_sketch_quantile(&p, &all, qs[k]));
    CHECK(isnan(agg_sketch_quantile(&p, &(agg_sketch){0}, 0.5)));
    agg_sketch_free(&all); agg_sketch_free(&a); agg_sketch_free(&b); agg_sketch_free(&shuffled);
    free(v);
}

/* More than AGG_SKETCH_MAX_BINS bins: the store stays bounded, the top
 * quantiles keep the guarantee, and the fold is order-independent. */
static void test_collapse(void)
{
    agg_ddparams p;
    agg_ddparams_init(&p, 0.01);
    agg_sketch up, down;
    agg_sketch_init(&up); agg_sketch_init(&down);
    enum { N = 4000 };
    for (int i = 0; i < N; i++) agg_sketch_add(&p, &up, exp(i * 0.02));
    for (int i = N - 1; i >= 0; i--) agg_sketch_add(&p, &down, exp(i * 0.02));
    CHECK(up.pos.n <= AGG_SKETCH_MAX_BINS);
    CHECK(same_store(&up.pos, &down.pos));
    double exact = exp(floor(0.99 * (N - 1)) * 0.02);
    CHECK_NEAR(agg_sketch_quantile(&p, &up, 0.99) / exact, 1, 0.01 * (1 + 1e-9));
    CHECK_EQ_INT(up.count, N);
    agg_sketch_free(&up); agg_sketch_free(&down);
    CHECK(agg_ddparams_init(&p, 0) < 0);
    CHECK(agg_ddparams_init(&p, 0.7) < 0);
}

/* Finer accuracies get more bins: at 0.1% a latency range of 1 µs to 100 s
 * (1e8, where 2048 bins would cover only 60) keeps the guarantee at every
 * quantile, the low ones included. */
static void test_fine_accuracy(void)
{
    agg_ddparams p;
    CHECK(agg_ddparams_init(&p, 0.001) == 0);
    CHECK(p.max_bins >= 13000 && p.max_bins <= 14000);
    CHECK(agg_ddparams_init(&p, 0.01) == 0);
    CHECK_EQ_INT(p.max_bins, AGG_SKETCH_MAX_BINS);
    enum { N = 100000 };
    double *v = malloc(N * sizeof *v);
    for (size_t i = 0; i < N; i++) v[i] = 1e-3 * exp(urand() * log(1e8));
    check_against_exact("log-uniform 1e8 at 0.1%", v, N, 0.001);
    free(v);
}

TEST_MAIN(test_distributions, test_merge_and_order, test_collapse, test_fine_accuracy)
