/* sketch.c — DDSketch-style relative-error quantiles (see sketch.h).
 *
 * A positive value x goes to bin i = ceil(log_gamma(x)); bin i covers
 * (gamma^(i-1), gamma^i] and is represented by 2*gamma^i/(gamma+1), whose
 * relative distance to any point of the bin is at most a. Negative values
 * use a mirrored store of |x|. Stores are dense arrays over [off, off+n). */
#include "sketch.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"

int agg_ddparams_init(agg_ddparams *p, double alpha)
{
    if (!(alpha > 0 && alpha <= 0.5)) return -1;
    p->alpha = alpha;
    p->gamma = (1 + alpha) / (1 - alpha);
    p->lg = log(p->gamma);
    p->inv_lg = 1 / p->lg;
    double need = ceil(log(AGG_SKETCH_RANGE) * p->inv_lg);
    p->max_bins = need > AGG_SKETCH_MAX_BINS ? (uint32_t)need : AGG_SKETCH_MAX_BINS;
    return 0;
}

void agg_sketch_init(agg_sketch *s)
{
    memset(s, 0, sizeof *s);
    s->min = INFINITY;
    s->max = -INFINITY;
}

void agg_sketch_free(agg_sketch *s)
{
    free(s->pos.bins);
    free(s->neg.bins);
    s->pos.bins = s->neg.bins = NULL;
}

static void store_reserve(agg_store *st, uint32_t n)
{
    if (n <= st->cap) return;
    uint32_t cap = st->cap ? st->cap : 16;
    while (cap < n) cap *= 2;
    uint64_t *b = realloc(st->bins, (size_t)cap * sizeof *b);
    if (!b) log_fatal("aggregate: out of memory (sketch bins)");
    memset(b + st->cap, 0, (size_t)(cap - st->cap) * sizeof *b);
    st->bins = b;
    st->cap = cap;
}

/* Keep at most max_bins bins: anything below hi-max_bins+1 folds into
 * that bin. Clamping is monotone in hi, so the result is order-independent. */
void agg_store_add(agg_store *st, int32_t i, uint64_t c, uint32_t max_bins)
{
    const int64_t M = max_bins;
    if (st->n == 0) {
        store_reserve(st, 1);
        st->off = i;
        st->n = 1;
        st->bins[0] = c;
        return;
    }
    int64_t lo = st->off, hi = (int64_t)st->off + st->n - 1;
    if (i > hi) {
        int64_t newlo = lo;
        if ((int64_t)i - lo + 1 > M) newlo = (int64_t)i - M + 1;
        if (newlo > lo) {
            uint64_t acc = 0;
            int64_t keep_from = newlo > hi ? hi + 1 : newlo;
            for (int64_t k = lo; k < keep_from; k++) acc += st->bins[k - lo];
            uint32_t keep = (uint32_t)(hi + 1 - keep_from);
            memmove(st->bins, st->bins + (keep_from - lo), (size_t)keep * sizeof *st->bins);
            memset(st->bins + keep, 0, (size_t)(st->n - keep) * sizeof *st->bins);
            st->off = (int32_t)newlo;
            st->n = keep ? keep : 1;
            if (!keep) st->bins[0] = 0;
            st->bins[0] += acc;
            lo = newlo;
        }
        uint32_t n = (uint32_t)(i - lo + 1);
        store_reserve(st, n);
        st->n = n;
        st->bins[i - lo] += c;
    } else if (i < lo) {
        if (hi - i + 1 > M) i = (int32_t)(hi - M + 1);
        if (i < lo) {
            uint32_t shift = (uint32_t)(lo - i);
            store_reserve(st, st->n + shift);
            memmove(st->bins + shift, st->bins, (size_t)st->n * sizeof *st->bins);
            memset(st->bins, 0, (size_t)shift * sizeof *st->bins);
            st->n += shift;
            st->off = i;
            lo = i;
        }
        st->bins[i - lo] += c;
    } else {
        st->bins[i - lo] += c;
    }
}

static int32_t dd_index(const agg_ddparams *p, double ax)
{
    double v = ceil(log(ax) * p->inv_lg);
    if (v > AGG_DD_MAX_INDEX) v = AGG_DD_MAX_INDEX;
    if (v < -AGG_DD_MAX_INDEX) v = -AGG_DD_MAX_INDEX;
    return (int32_t)v;
}

static double dd_value(const agg_ddparams *p, int32_t i)
{
    return 2 * exp(i * p->lg) / (p->gamma + 1);
}

void agg_sketch_add(const agg_ddparams *p, agg_sketch *s, double x)
{
    s->count++;
    if (x < s->min) s->min = x;
    if (x > s->max) s->max = x;
    if (x > AGG_SKETCH_MIN_VALUE) agg_store_add(&s->pos, dd_index(p, x), 1, p->max_bins);
    else if (x < -AGG_SKETCH_MIN_VALUE) agg_store_add(&s->neg, dd_index(p, -x), 1, p->max_bins);
    else s->zero++;
}

void agg_sketch_merge(const agg_ddparams *p, agg_sketch *dst, const agg_sketch *src)
{
    for (uint32_t k = 0; k < src->pos.n; k++)
        if (src->pos.bins[k]) agg_store_add(&dst->pos, src->pos.off + (int32_t)k, src->pos.bins[k], p->max_bins);
    for (uint32_t k = 0; k < src->neg.n; k++)
        if (src->neg.bins[k]) agg_store_add(&dst->neg, src->neg.off + (int32_t)k, src->neg.bins[k], p->max_bins);
    dst->zero += src->zero;
    dst->count += src->count;
    if (src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
}

double agg_sketch_quantile(const agg_ddparams *p, const agg_sketch *s, double q)
{
    if (!s->count) return NAN;
    if (q < 0) q = 0;
    if (q > 1) q = 1;
    double rank = q * (double)(s->count - 1);
    uint64_t cum = 0;
    double v = s->max;
    int found = 0;
    for (uint32_t k = s->neg.n; k-- > 0 && !found;) {
        cum += s->neg.bins[k];
        if ((double)cum > rank) { v = -dd_value(p, s->neg.off + (int32_t)k); found = 1; }
    }
    if (!found) {
        cum += s->zero;
        if ((double)cum > rank) { v = 0; found = 1; }
    }
    for (uint32_t k = 0; k < s->pos.n && !found; k++) {
        cum += s->pos.bins[k];
        if ((double)cum > rank) { v = dd_value(p, s->pos.off + (int32_t)k); found = 1; }
    }
    /* the exact extremes are known: never answer outside them */
    if (v < s->min) v = s->min;
    if (v > s->max) v = s->max;
    return v;
}

size_t agg_sketch_bins(const agg_sketch *s)
{
    return (size_t)s->pos.n + s->neg.n;
}
