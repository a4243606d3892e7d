/* topk.h — the k best (item or user, score) candidates, kept in a min-heap
 * whose root is the worst of them: neighbour lists of item-kNN, content
 * and user-kNN all keep their top k this way. */
#ifndef STREAMREC_REC_TOPK_H
#define STREAMREC_REC_TOPK_H
#include <stdint.h>

typedef struct { uint32_t i; float s; } cand;

static inline void cand_sift_down(cand *h, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        if (l < n && h[l].s < h[m].s) m = l;
        if (l + 1 < n && h[l + 1].s < h[m].s) m = l + 1;
        if (m == i) return;
        cand x = h[i]; h[i] = h[m]; h[m] = x;
        i = m;
    }
}

/* Arrange h[0..n) as a heap. */
static inline void cand_heapify(cand *h, uint32_t n)
{
    for (uint32_t i = n / 2; i-- > 0;) cand_sift_down(h, n, i);
}

/* Offer c to a heap of at most k entries (*n of them so far); a full heap
 * keeps c only if it beats the worst. */
static inline void cand_offer(cand *h, uint32_t *n, uint32_t k, cand c)
{
    if (*n < k) {
        h[(*n)++] = c;
        if (*n == k) cand_heapify(h, k);
    } else if (c.s > h[0].s) {
        h[0] = c;
        cand_sift_down(h, k, 0);
    }
}

/* Keep the k largest of c[0..n) in c[0..k) (unordered); returns how many. */
static inline uint32_t cand_keep_top(cand *c, uint32_t n, uint32_t k)
{
    if (n <= k) return n;
    if (!k) return 0;
    cand_heapify(c, k);
    for (uint32_t q = k; q < n; q++)
        if (c[q].s > c[0].s) { c[0] = c[q]; cand_sift_down(c, k, 0); }
    return k;
}

#endif
