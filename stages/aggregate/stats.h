/* stats.h — count, sum, min, max, mean and standard deviation of a stream
 * of doubles, computed so that the result does not depend on the order of
 * the values (out-of-order input must give the same output as sorted input).
 *
 * Sum and sum of squares are kept in double-double (about 106 bits, error-
 * free transformations TwoSum/TwoProd): rounding to double at the end gives
 * the same bits whatever the order, except in cases that would need the
 * exact sum to sit within 2^-100 of a rounding boundary. The variance is
 * sum((x-m)^2) evaluated as Q - 2mS + n m^2 in double-double, which stays
 * accurate when the mean is large against the spread (no Welford needed,
 * and unlike Welford it is order-independent). */
#ifndef AGG_STATS_H
#define AGG_STATS_H
#include <stdint.h>

typedef struct agg_dd { double hi, lo; } agg_dd;

typedef struct agg_stats {
    uint64_t n;
    agg_dd sum, sumsq;
    double min, max;
} agg_stats;

void agg_dd_add(agg_dd *a, double x);
static inline double agg_dd_value(agg_dd a) { return a.hi + a.lo; }

void agg_stats_init(agg_stats *s);
void agg_stats_add(agg_stats *s, double x);
void agg_stats_merge(agg_stats *dst, const agg_stats *src);
double agg_stats_sum(const agg_stats *s);
double agg_stats_mean(const agg_stats *s);       /* NaN when empty */
double agg_stats_stddev(const agg_stats *s);     /* sample (n-1); 0 when n < 2 */
#endif
