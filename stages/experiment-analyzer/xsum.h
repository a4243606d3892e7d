/* xsum.h — exact sums of doubles, so that per-variant moments are a
 * function of the set of per-user values and not of the order they were
 * added in: what lets partials from any number of partitions merge into
 * exactly the statistics one process computes (experiment_partial.fbs).
 *
 * A fixed-point accumulator of XS_LIMBS signed 64-bit limbs, each holding
 * 32 bits of the value: value = Σ limb[i] · 2^(32·i + XS_LOW). A double x
 * with |x| in [2^-124, 2^200) (and 0), and its square (as the exact pair
 * x·x + fma(x, x, -x·x)), add without rounding; adding accumulators is
 * exact. Other values (subnormals, huge, non-finite) are refused (-1): the
 * caller keeps them apart, in plain doubles. 2^30 adds between carry
 * normalizations keep every limb inside int64. 200 bytes. */
#ifndef EA_XSUM_H
#define EA_XSUM_H
#include <stdint.h>

#define XS_LIMBS 24
#define XS_LOW (-352)

typedef struct xsum {
    int64_t limb[XS_LIMBS];
    uint64_t adds;          /* since the last normalization */
} xsum;

/* Add (sign +1) or subtract (-1) x exactly. 0, or -1: x outside the exact
 * range, nothing changed. */
int xs_add(xsum *s, double x, int sign);
/* Add or subtract x² exactly (0), or -1 as xs_add. */
int xs_add_sq(xsum *s, double x, int sign);
/* Add or subtract the product a·b exactly (0), or -1 when a or b is
 * outside the exact range (nothing changed). */
int xs_add_prod(xsum *s, double a, double b, int sign);
void xs_merge(xsum *s, const xsum *t);
/* Propagate carries: each limb in [0, 2^32) but the last (signed); the
 * canonical form of the value, what partials carry. */
void xs_normalize(xsum *s);
/* The value as a double-double hi + lo, a deterministic function of the
 * exact value (not of how it was summed). */
void xs_value(const xsum *s, double *hi, double *lo);
/* Moments of n values from their exact sums (plus the sums of values kept
 * apart, in1/in2): mean and M2 = Σ(x - mean)², in double-double arithmetic,
 * M2 clamped at 0. */
void xs_moments(double n, const xsum *s1, const xsum *s2, double in1, double in2,
                double *mean, double *m2);
/* The centered cross sum Σ(a-ā)(b-b̄) = Sab - Sa·Sb/n of n pairs from the
 * exact sums Sa, Sb, Sab (plus values kept apart: ina, inb, inab), in
 * double-double arithmetic. n <= 0: 0. */
double xs_comoment(double n, const xsum *sa, const xsum *sb, const xsum *sab,
                   double ina, double inb, double inab);
#endif
