/* sketch.h — DDSketch-style quantile sketch (Masson, Rim, Lee, VLDB 2019):
 * relative-error quantiles, mergeable, order-independent.
 *
 * Guarantee: for relative accuracy a (default 0.01) the value returned for
 * quantile q is within a*|x| of x, the exact element of rank floor(q*(n-1))
 * in the sorted input (0-based), as long as no bins were collapsed: a sketch
 * holds at most max_bins bins per sign, enough for a ratio max/min of
 * AGG_SKETCH_RANGE at any accuracy and never fewer than AGG_SKETCH_MAX_BINS
 * (2048 bins cover about 6e17 at a = 0.01; at a = 0.001, 13,816 bins cover
 * 1e12); past that the lowest bins are folded together and only quantiles
 * above the folded range keep the guarantee.
 * Values with |x| < AGG_SKETCH_MIN_VALUE count as zero (exact).
 *
 * Memory: a dense array of 8-byte counters spanning the bins between the
 * smallest and the largest value seen (latencies from 1 ms to 10 s: ~460
 * bins, 3.7 KiB). The final state depends only on the multiset of values,
 * never on their order. */
#ifndef AGG_SKETCH_H
#define AGG_SKETCH_H
#include <stddef.h>
#include <stdint.h>

#define AGG_SKETCH_MAX_BINS 2048     /* the least max_bins */
#define AGG_SKETCH_RANGE 1e12        /* max/min ratio always covered */
#define AGG_SKETCH_MIN_VALUE 1e-9
#define AGG_DD_MAX_INDEX 1000000000   /* bin indexes are clamped to +-this */

typedef struct agg_ddparams {
    double alpha;      /* relative accuracy */
    double gamma;      /* (1+a)/(1-a) */
    double inv_lg;     /* 1/ln(gamma) */
    double lg;
    uint32_t max_bins; /* per sign: max(AGG_SKETCH_MAX_BINS, ln(AGG_SKETCH_RANGE)/ln(gamma)) */
} agg_ddparams;

typedef struct agg_store {
    uint64_t *bins;
    int32_t off;       /* bin index of bins[0] */
    uint32_t n, cap;
} agg_store;

typedef struct agg_sketch {
    agg_store pos, neg;
    uint64_t zero, count;
    double min, max;
} agg_sketch;

/* 0, or -1 if alpha is not in (0, 0.5]. */
int agg_ddparams_init(agg_ddparams *p, double alpha);
void agg_sketch_init(agg_sketch *s);
void agg_sketch_free(agg_sketch *s);
/* x must be finite (callers reject NaN and infinities). */
void agg_sketch_add(const agg_ddparams *p, agg_sketch *s, double x);
/* dst += src (both built with params p). */
void agg_sketch_merge(const agg_ddparams *p, agg_sketch *dst, const agg_sketch *src);
/* NaN when empty. q in [0,1]. */
double agg_sketch_quantile(const agg_ddparams *p, const agg_sketch *s, double q);
/* Bins in use (both signs), for memory accounting. */
size_t agg_sketch_bins(const agg_sketch *s);
/* Lower-level: add count c at bin index i of one store, keeping at most
 * max_bins bins (used by restore). */
void agg_store_add(agg_store *st, int32_t i, uint64_t c, uint32_t max_bins);
#endif
