/* test_metric_kinds.c — the statistics of CUPED, ratio and quantile metrics
 * (stats.h) and the exact cross sums under them (xsum.h), each against an
 * independent computation here on raw values in long double:
 *  - xs_add_prod / xs_comoment: the centered cross sum of pairs with a
 *    large common offset (1e6, where a naive Σxy - ΣxΣy/n loses every
 *    digit) to 1e-12 relative, the same limbs in two orders, and a pair
 *    replaced (subtract, add) leaves what adding the new alone leaves;
 *  - st_cuped_run: the adjusted difference equals the `treated`
 *    coefficient of least squares y ~ 1 + d + x solved from its normal
 *    equations (not the within-arm formula the code uses), θ the x
 *    coefficient, the standard error the per-arm sample variances of
 *    y - θx, to 1e-9; a covariate equal to the metric removes all
 *    variance (reduction 1), an independent one almost none;
 *  - st_ratio_*: the delta-method variance equals the linearized per-user
 *    values' (N - R·D)/D̄ sample variance / n, to 1e-9;
 *  - st_quantile_*: numpy's linear quantile by its definition, and the
 *    order-statistic ranks on small n. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "../testhelp.h"
#include "../testrng.h"
#include "../../../stages/experiment-analyzer/stats.h"
#include "../../../stages/experiment-analyzer/xsum.h"

static uint64_t rng = 7;

#define N 4000
static double ys[N], xs_[N];

/* the pair moments the engine would build from exact sums */
static st_pair pair_of(const double *y, const double *x, int n)
{
    xsum sy, sx, syy, sxx, sxy;
    memset(&sy, 0, sizeof sy); memset(&sx, 0, sizeof sx); memset(&syy, 0, sizeof syy);
    memset(&sxx, 0, sizeof sxx); memset(&sxy, 0, sizeof sxy);
    for (int i = 0; i < n; i++) {
        xs_add(&sy, y[i], 1); xs_add(&sx, x[i], 1);
        xs_add_sq(&syy, y[i], 1); xs_add_sq(&sxx, x[i], 1); xs_add_prod(&sxy, y[i], x[i], 1);
    }
    st_pair p = { n, 0, 0, 0, 0, 0 };
    xs_moments(n, &sy, &syy, 0, 0, &p.my, &p.syy);
    xs_moments(n, &sx, &sxx, 0, 0, &p.mx, &p.sxx);
    p.sxy = xs_comoment(n, &sy, &sx, &sxy, 0, 0, 0);
    return p;
}

static void test_comoment(void)
{
    for (int i = 0; i < N; i++) {
        double z = trng_normal(&rng);
        xs_[i] = 1e6 + z;
        ys[i] = 1e6 + 0.5 * z + trng_normal(&rng);
    }
    st_pair p = pair_of(ys, xs_, N);
    long double mx = 0, my = 0, c = 0;
    for (int i = 0; i < N; i++) { mx += xs_[i]; my += ys[i]; }
    mx /= N; my /= N;
    for (int i = 0; i < N; i++) c += (xs_[i] - mx) * (ys[i] - my);
    CHECK_NEAR(p.sxy, (double)c, 1e-12 * fabs((double)c));
    double naive = 0, sx = 0, sy = 0;
    for (int i = 0; i < N; i++) { naive += xs_[i] * ys[i]; sx += xs_[i]; sy += ys[i]; }
    naive -= sx * sy / N;
    CHECK(fabs(naive - (double)c) > 1e-6 * fabs((double)c));   /* the cancellation avoided */
    /* order-free and replace: the same limbs */
    xsum a, b;
    memset(&a, 0, sizeof a); memset(&b, 0, sizeof b);
    for (int i = 0; i < N; i++) CHECK(xs_add_prod(&a, ys[i], -xs_[i], 1) == 0);
    for (int i = N - 1; i >= 0; i--) xs_add_prod(&b, ys[i], -xs_[i], 1);
    xs_add_prod(&b, 3.25, 1e-3, 1);
    xs_add_prod(&b, 3.25, 1e-3, -1);
    xs_normalize(&a); xs_normalize(&b);
    CHECK(memcmp(a.limb, b.limb, sizeof a.limb) == 0);
    CHECK(xs_add_prod(&a, 1e-40, 2, 1) == -1 && xs_add_prod(&a, 2, INFINITY, 1) == -1);
}

/* least squares y ~ 1 + d + x from the 3x3 normal equations, in long double */
static void ols3(const double *y, const double *d, const double *x, int n, long double beta[3])
{
    long double A[3][4] = { { 0 } };
    for (int i = 0; i < n; i++) {
        long double r[3] = { 1, d[i], x[i] };
        for (int j = 0; j < 3; j++) {
            for (int k = 0; k < 3; k++) A[j][k] += r[j] * r[k];
            A[j][3] += r[j] * y[i];
        }
    }
    for (int j = 0; j < 3; j++) {   /* Gauss-Jordan */
        for (int k = 0; k < 3; k++) {
            if (k == j) continue;
            long double f = A[k][j] / A[j][j];
            for (int l = 0; l < 4; l++) A[k][l] -= f * A[j][l];
        }
    }
    for (int j = 0; j < 3; j++) beta[j] = A[j][3] / A[j][j];
}

static double var1(const double *v, int n)
{
    long double m = 0, s = 0;
    for (int i = 0; i < n; i++) m += v[i];
    m /= n;
    for (int i = 0; i < n; i++) s += (v[i] - m) * (v[i] - m);
    return (double)(s / (n - 1));
}

static void test_cuped(void)
{
    static double y[N], x[N], d[N], at[N], ac[N];
    int nt = 0, nc = 0;
    for (int i = 0; i < N; i++) {
        d[i] = i % 3 == 0;
        x[i] = 10 + 3 * trng_normal(&rng);
        y[i] = 2 + 0.7 * x[i] + 0.4 * d[i] + trng_normal(&rng);
    }
    long double beta[3];
    ols3(y, d, x, N, beta);
    static double yt[N], xt[N], yc[N], xc[N];
    for (int i = 0; i < N; i++) {
        if (d[i]) { yt[nt] = y[i]; xt[nt++] = x[i]; } else { yc[nc] = y[i]; xc[nc++] = x[i]; }
    }
    st_pair pt = pair_of(yt, xt, nt), pc = pair_of(yc, xc, nc);
    st_cuped cu;
    CHECK(st_cuped_run(&pt, &pc, 0.05, &cu) == 0);
    CHECK_NEAR(cu.diff, (double)beta[1], 1e-9);
    CHECK_NEAR(cu.theta, (double)beta[2], 1e-9);
    for (int i = 0; i < nt; i++) at[i] = yt[i] - (double)beta[2] * xt[i];
    for (int i = 0; i < nc; i++) ac[i] = yc[i] - (double)beta[2] * xc[i];
    double se = sqrt(var1(at, nt) / nt + var1(ac, nc) / nc);
    CHECK_NEAR(cu.se, se, 1e-9 * se);
    double plain = var1(yt, nt) / nt + var1(yc, nc) / nc;
    CHECK_NEAR(cu.variance_reduction, 1 - se * se / plain, 1e-9);
    CHECK_MSG(cu.variance_reduction > 0.78, "reduction %g", cu.variance_reduction);   /* ρ² = 0.7²·9/(0.7²·9 + 1) = 0.815 */
    CHECK(cu.diff_ci.low < cu.diff && cu.diff < cu.diff_ci.high);
    /* the covariate is the metric: no variance left */
    st_pair same = pair_of(yt, yt, nt), samec = pair_of(yc, yc, nc);
    CHECK(st_cuped_run(&same, &samec, 0.05, &cu) == 0);
    CHECK_NEAR(cu.theta, 1, 1e-12);
    CHECK_NEAR(cu.variance_reduction, 1, 1e-9);
    /* an independent covariate: about none */
    for (int i = 0; i < nt; i++) xt[i] = trng_normal(&rng);
    for (int i = 0; i < nc; i++) xc[i] = trng_normal(&rng);
    pt = pair_of(yt, xt, nt); pc = pair_of(yc, xc, nc);
    CHECK(st_cuped_run(&pt, &pc, 0.05, &cu) == 0);
    CHECK(fabs(cu.variance_reduction) < 0.01);
    st_pair one = { 1, 0, 0, 0, 0, 0 };
    CHECK(st_cuped_run(&one, &pc, 0.05, &cu) == -1);
}

static void test_ratio(void)
{
    static double num[N], den[N], lin[N];
    for (int i = 0; i < N; i++) {
        den[i] = (double)(trng_next(&rng) % 6);
        num[i] = den[i] * (0.2 + 0.1 * trng_unif_open(&rng)) + (trng_next(&rng) % 4 == 0);
    }
    st_pair a = pair_of(num, den, N);
    st_ratio_arm ra;
    CHECK(st_ratio_arm_run(&a, 0.05, &ra) == 0);
    long double sn = 0, sd = 0;
    for (int i = 0; i < N; i++) { sn += num[i]; sd += den[i]; }
    double R = (double)(sn / sd), dbar = (double)(sd / N);
    CHECK_NEAR(ra.ratio, R, 1e-12);
    for (int i = 0; i < N; i++) lin[i] = (num[i] - R * den[i]) / dbar;
    double se = sqrt(var1(lin, N) / N);
    CHECK_NEAR(ra.se, se, 1e-9 * se);
    CHECK_NEAR(ra.ci.high - ra.ci.low, 2 * 1.959963984540054 * se, 1e-9);
    /* two arms: variances add */
    st_pair b = pair_of(den, den, N);   /* ratio 1, no variance */
    st_ratio_test t;
    CHECK(st_ratio_test_run(&a, &b, 0.05, &t) == 0);
    CHECK_NEAR(t.diff, R - 1, 1e-12);
    CHECK_NEAR(t.se, se, 1e-9 * se);
    CHECK_NEAR(t.p_value, erfc(fabs(t.diff / se) / M_SQRT2), 1e-9);
    st_pair z = { 10, 1, 0, 1, 0, 0 };
    CHECK(st_ratio_arm_run(&z, 0.05, &ra) == -1);   /* no denominator */
}

static void test_quantile(void)
{
    double x[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    CHECK_NEAR(st_quantile_sorted(x, 10, 0.5), 5.5, 1e-15);
    CHECK_NEAR(st_quantile_sorted(x, 10, 0.9), 9.1, 1e-12);   /* h = 8.1 */
    CHECK_NEAR(st_quantile_sorted(x, 10, 0.0), 1, 0);
    CHECK_NEAR(st_quantile_sorted(x, 1, 0.3), 1, 0);
    /* n = 10, q = 0.5: nq ± 1.96·√2.5 = 5 ± 3.099: ranks 1 and 10 */
    st_interval ci = st_quantile_ci_sorted(x, 10, 0.5, 0.05);
    CHECK(ci.low == 1 && ci.high == 10);
    /* n = 100 values 1..100, q = 0.9: 90 ± 5.88: ranks 84 and 97 */
    static double y[100];
    for (int i = 0; i < 100; i++) y[i] = i + 1;
    ci = st_quantile_ci_sorted(y, 100, 0.9, 0.05);
    CHECK(ci.low == 84 && ci.high == 97);
    /* Woodruff: levels 0.9 ± 1.96·0.03 = 0.8412, 0.9588: quantiles 84.2788, 95.9212 */
    double se = st_quantile_woodruff_se(y, 100, 0.9, 0.05);
    double z = 1.959963984540054, h = z * 0.03;
    CHECK_NEAR(se, ((99 * (0.9 + h) + 1) - (99 * (0.9 - h) + 1)) / (2 * z), 1e-9);
    st_quantile_test t;
    st_quantile_test_run(10, 3, 7, 4, 0.05, &t);
    CHECK_NEAR(t.se, 5, 1e-15);
    CHECK_NEAR(t.diff_ci.low, 3 - z * 5, 1e-9);
    CHECK_NEAR(t.p_value, erfc(0.6 / M_SQRT2), 1e-12);
    st_quantile_test_run(10, 0, 10, 0, 0.05, &t);
    CHECK(t.p_value == 1);
}

TEST_MAIN(test_comoment, test_cuped, test_ratio, test_quantile)
