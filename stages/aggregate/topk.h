/* topk.h — the K largest of n counts in O(n log K) time and O(K) memory
 * (a bounded min-heap), for per-window leaderboards. Ties go to the smaller
 * index, so with inputs in key order the result is deterministic. */
#ifndef AGG_TOPK_H
#define AGG_TOPK_H
#include <stddef.h>
#include <stdint.h>

/* get(ctx, i) gives the count of element i. Writes up to k indexes of the
 * largest non-zero counts into out, largest first; returns how many. */
size_t agg_topk(size_t n, uint64_t (*get)(void *ctx, size_t i), void *ctx,
                size_t k, size_t *out);
#endif
