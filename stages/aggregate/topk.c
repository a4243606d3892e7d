/* topk.c — bounded min-heap selection (see topk.h). */
#include "topk.h"
#include <stdlib.h>
#include "log.h"

typedef struct { uint64_t c; size_t i; } topk_el;

/* a is "worse" than b: smaller count, or same count and larger index */
static int topk_worse(topk_el a, topk_el b) { return a.c < b.c || (a.c == b.c && a.i > b.i); }

static void topk_sift_down(topk_el *h, size_t n, size_t j)
{
    for (;;) {
        size_t l = 2 * j + 1, r = l + 1, m = j;
        if (l < n && topk_worse(h[l], h[m])) m = l;
        if (r < n && topk_worse(h[r], h[m])) m = r;
        if (m == j) return;
        topk_el t = h[j]; h[j] = h[m]; h[m] = t;
        j = m;
    }
}

size_t agg_topk(size_t n, uint64_t (*get)(void *ctx, size_t i), void *ctx,
                size_t k, size_t *out)
{
    if (!k) return 0;
    topk_el *h = malloc(k * sizeof *h);
    if (!h) log_fatal("aggregate: out of memory (top-k)");
    size_t hn = 0;
    for (size_t i = 0; i < n; i++) {
        topk_el e = { get(ctx, i), i };
        if (!e.c) continue;
        if (hn < k) {
            /* sift up */
            size_t j = hn++;
            h[j] = e;
            while (j && topk_worse(h[j], h[(j - 1) / 2])) {
                topk_el t = h[j]; h[j] = h[(j - 1) / 2]; h[(j - 1) / 2] = t;
                j = (j - 1) / 2;
            }
        } else if (topk_worse(h[0], e)) {
            h[0] = e;
            topk_sift_down(h, hn, 0);
        }
    }
    /* pop the worst repeatedly: fills out from the back */
    size_t m = hn;
    while (hn) {
        out[hn - 1] = h[0].i;
        h[0] = h[--hn];
        topk_sift_down(h, hn, 0);
    }
    free(h);
    return m;
}
