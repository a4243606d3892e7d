/* test_xsum.c — exact sums (xsum.h), what makes merged partials equal one
 * process bit for bit:
 *  - sums that rounding gets wrong come out exact (1e50 + 1 - 1e50 = 1;
 *    ten 0.1s are 10 · the double 0.1, not 0.9999999999999999);
 *  - 20,000 values of mixed signs and magnitudes, summed in three orders
 *    and in 7 pieces merged, give the same canonical limbs and so the same
 *    mean and M2, to the bit, while plain double sums of the same orders
 *    differ (which shows the test can tell);
 *  - replacing a value (subtract the old, add the new) leaves what adding
 *    the new alone leaves;
 *  - moments against a long-double two-pass reference, to 1e-12 relative;
 *  - values outside the exact range are refused, nothing added. */
#include <stdint.h>
#include <string.h>
#include "../testhelp.h"
#include "../testrng.h"
#include "../../../stages/experiment-analyzer/xsum.h"

static uint64_t rng = 42;

static double value(double hi, double lo) { return hi + lo; }

static void test_exact(void)
{
    xsum s;
    memset(&s, 0, sizeof s);
    CHECK(xs_add(&s, 1e50, 1) == 0 && xs_add(&s, 1, 1) == 0 && xs_add(&s, 1e50, -1) == 0);
    double hi, lo;
    xs_value(&s, &hi, &lo);
    CHECK(hi == 1 && lo == 0);
    memset(&s, 0, sizeof s);
    double plain = 0;
    for (int i = 0; i < 10; i++) { CHECK(xs_add(&s, 0.1, 1) == 0); plain += 0.1; }
    xs_value(&s, &hi, &lo);
    CHECK(plain != 1.0);                 /* the rounding the accumulator avoids */
    CHECK(hi == 1.0);                    /* 10 · 0.1000000000000000055… rounds to 1 */
    CHECK(lo == 10 * 0.1 - 1.0 || fabs(lo) < 1e-15);
    /* refused: out of range, non-finite; nothing added */
    memset(&s, 0, sizeof s);
    CHECK(xs_add(&s, 1e70, 1) == -1);
    CHECK(xs_add(&s, 1e-40, 1) == -1);
    CHECK(xs_add(&s, INFINITY, 1) == -1 && xs_add(&s, NAN, 1) == -1);
    CHECK(xs_add_sq(&s, 1e61, 1) == -1);
    xs_value(&s, &hi, &lo);
    CHECK(hi == 0 && lo == 0);
}

#define N 20000
static double vals[N];

static void sums(const int *order, int n, int pieces, xsum *s1, xsum *s2)
{
    memset(s1, 0, sizeof *s1); memset(s2, 0, sizeof *s2);
    int per = (n + pieces - 1) / pieces;
    for (int p = 0; p < pieces; p++) {
        xsum a, b;
        memset(&a, 0, sizeof a); memset(&b, 0, sizeof b);
        for (int i = p * per; i < n && i < (p + 1) * per; i++) {
            CHECK(xs_add(&a, vals[order[i]], 1) == 0);
            CHECK(xs_add_sq(&b, vals[order[i]], 1) == 0);
        }
        xs_merge(s1, &a); xs_merge(s2, &b);
    }
    xs_normalize(s1); xs_normalize(s2);
}

static void test_order_free(void)
{
    static int ord[3][N];
    for (int i = 0; i < N; i++) {
        double mag = ldexp(1, (int)(trng_next(&rng) % 60) - 30);   /* 2^-30 .. 2^29 */
        vals[i] = (trng_unif(&rng) - 0.3) * mag;
        ord[0][i] = i; ord[1][i] = N - 1 - i; ord[2][i] = i;
    }
    for (int i = N - 1; i > 0; i--) { int j = (int)(trng_next(&rng) % (uint64_t)(i + 1)); int t = ord[2][i]; ord[2][i] = ord[2][j]; ord[2][j] = t; }
    xsum a1, a2, b1, b2, c1, c2, d1, d2;
    sums(ord[0], N, 1, &a1, &a2);
    sums(ord[1], N, 1, &b1, &b2);
    sums(ord[2], N, 1, &c1, &c2);
    sums(ord[2], N, 7, &d1, &d2);
    CHECK(memcmp(a1.limb, b1.limb, sizeof a1.limb) == 0 && memcmp(a1.limb, c1.limb, sizeof a1.limb) == 0);
    CHECK(memcmp(a2.limb, c2.limb, sizeof a2.limb) == 0 && memcmp(a1.limb, d1.limb, sizeof a1.limb) == 0);
    CHECK(memcmp(a2.limb, d2.limb, sizeof a2.limb) == 0);
    double ma, m2a, md, m2d;
    xs_moments(N, &a1, &a2, 0, 0, &ma, &m2a);
    xs_moments(N, &d1, &d2, 0, 0, &md, &m2d);
    CHECK(memcmp(&ma, &md, sizeof ma) == 0 && memcmp(&m2a, &m2d, sizeof m2a) == 0);
    /* plain doubles in two orders differ: the property is not free */
    double p0 = 0, p2 = 0;
    for (int i = 0; i < N; i++) { p0 += vals[ord[0][i]]; p2 += vals[ord[2][i]]; }
    CHECK(p0 != p2);
    /* against a two-pass long double reference */
    long double mean = 0, m2 = 0;
    for (int i = 0; i < N; i++) mean += vals[i];
    mean /= N;
    for (int i = 0; i < N; i++) m2 += (vals[i] - mean) * (vals[i] - mean);
    CHECK_NEAR(ma, (double)mean, fabs((double)mean) * 1e-12);
    CHECK_NEAR(m2a, (double)m2, (double)m2 * 1e-12);
    /* replacing: subtract the old value, add the new */
    xsum r1 = a1, r2 = a2;
    CHECK(xs_add(&r1, vals[5], -1) == 0 && xs_add_sq(&r2, vals[5], -1) == 0);
    CHECK(xs_add(&r1, 3.25, 1) == 0 && xs_add_sq(&r2, 3.25, 1) == 0);
    double saved = vals[5];
    vals[5] = 3.25;
    sums(ord[1], N, 3, &b1, &b2);
    vals[5] = saved;
    xs_normalize(&r1); xs_normalize(&r2);
    CHECK(memcmp(r1.limb, b1.limb, sizeof r1.limb) == 0 && memcmp(r2.limb, b2.limb, sizeof r2.limb) == 0);
    double hi, lo;
    xs_value(&a1, &hi, &lo);
    CHECK(value(hi, lo) == hi);   /* lo below hi's last bit */
}

static void test_moments_edge(void)
{
    xsum s1, s2;
    memset(&s1, 0, sizeof s1); memset(&s2, 0, sizeof s2);
    double mean, m2;
    xs_moments(0, &s1, &s2, 0, 0, &mean, &m2);
    CHECK(mean == 0 && m2 == 0);
    /* the same value many times: M2 exactly 0, never negative */
    for (int i = 0; i < 1000; i++) { xs_add(&s1, 12.99, 1); xs_add_sq(&s2, 12.99, 1); }
    xs_moments(1000, &s1, &s2, 0, 0, &mean, &m2);
    CHECK(mean == 12.99);
    CHECK(m2 >= 0 && m2 < 1e-20);   // double-double: 0 to ~2^-100 of Σx²
    /* values kept apart are added in */
    xs_moments(1001, &s1, &s2, 1e70, 1e140, &mean, &m2);
    CHECK(mean > 9e66 && m2 > 0);
}

TEST_MAIN(test_exact, test_order_free, test_moments_edge)
