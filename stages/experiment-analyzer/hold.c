/* hold.c — records waiting for the watermark marks (hold.h): a binary
 * min-heap on (ts, seq). */
#include <stdlib.h>
#include <string.h>
#include "hold.h"

static int ea_held_before(const ea_held *a, const ea_held *b)
{
    return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

int ea_hold_push(ea_hold *h, int64_t ts, uint64_t seq, int64_t offset, const uint8_t *data, uint32_t len)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        ea_held *v = realloc(h->v, cap * sizeof *v);
        if (!v) return -1;
        h->v = v;
        h->cap = cap;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return -1;
    if (len) memcpy(copy, data, len);
    ea_held e = { .ts = ts, .seq = seq, .offset = offset, .data = copy, .len = len };
    size_t i = h->n++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!ea_held_before(&e, &h->v[up])) break;
        h->v[i] = h->v[up];
        i = up;
    }
    h->v[i] = e;
    h->bytes += len;
    return 0;
}

const ea_held *ea_hold_min(const ea_hold *h) { return h->n ? &h->v[0] : NULL; }

void ea_hold_pop(ea_hold *h, ea_held *out)
{
    *out = h->v[0];
    h->bytes -= out->len;
    ea_held last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && ea_held_before(&h->v[c + 1], &h->v[c])) c++;
        if (!ea_held_before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
}

void ea_hold_free(ea_hold *h)
{
    for (size_t i = 0; i < h->n; i++) free(h->v[i].data);
    free(h->v);
    memset(h, 0, sizeof *h);
}
