/* stats.c — order-independent moments in double-double (see stats.h). */
#include "stats.h"
#include <math.h>

/* TwoSum: s + err == a + b exactly. The error terms are accumulated in lo. */
void agg_dd_add(agg_dd *a, double x)
{
    double s = a->hi + x;
    double bp = s - a->hi;
    double err = (a->hi - (s - bp)) + (x - bp);
    a->hi = s;
    a->lo += err;
}

void agg_stats_init(agg_stats *s)
{
    s->n = 0;
    s->sum = s->sumsq = (agg_dd){0, 0};
    s->min = INFINITY;
    s->max = -INFINITY;
}

void agg_stats_add(agg_stats *s, double x)
{
    s->n++;
    agg_dd_add(&s->sum, x);
    double p = x * x;
    agg_dd_add(&s->sumsq, p);
    agg_dd_add(&s->sumsq, fma(x, x, -p));
    if (x < s->min) s->min = x;
    if (x > s->max) s->max = x;
}

void agg_stats_merge(agg_stats *dst, const agg_stats *src)
{
    dst->n += src->n;
    agg_dd_add(&dst->sum, src->sum.hi);
    agg_dd_add(&dst->sum, src->sum.lo);
    agg_dd_add(&dst->sumsq, src->sumsq.hi);
    agg_dd_add(&dst->sumsq, src->sumsq.lo);
    if (src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
}

double agg_stats_sum(const agg_stats *s) { return agg_dd_value(s->sum); }

double agg_stats_mean(const agg_stats *s)
{
    return s->n ? agg_dd_value(s->sum) / (double)s->n : NAN;
}

double agg_stats_stddev(const agg_stats *s)
{
    if (s->n < 2) return 0;
    double n = (double)s->n;
    double m = agg_stats_mean(s);
    /* M2 = Q - 2 m S + n m^2, every product split exactly */
    agg_dd acc = s->sumsq;
    double a = -2 * m;
    double p1 = a * s->sum.hi, e1 = fma(a, s->sum.hi, -p1);
    double p3 = m * m, e3 = fma(m, m, -p3);
    double p4 = n * p3, e4 = fma(n, p3, -p4);
    agg_dd_add(&acc, p1);
    agg_dd_add(&acc, p4);
    agg_dd_add(&acc, e1);
    agg_dd_add(&acc, e4);
    agg_dd_add(&acc, a * s->sum.lo);
    agg_dd_add(&acc, n * e3);
    double m2 = agg_dd_value(acc);
    if (m2 < 0) m2 = 0;
    return sqrt(m2 / (n - 1));
}
