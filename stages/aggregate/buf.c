/* buf.c — checkpoint byte buffers (see buf.h). */
#include "buf.h"
#include <stdlib.h>
#include <string.h>
#include "log.h"

void agg_buf_put(agg_buf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) log_fatal("aggregate: out of memory (checkpoint)");
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
}

void agg_buf_u8(agg_buf *b, uint8_t v) { agg_buf_put(b, &v, 1); }
void agg_buf_u32(agg_buf *b, uint32_t v)
{
    uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    agg_buf_put(b, x, 4);
}
void agg_buf_u64(agg_buf *b, uint64_t v) { agg_buf_u32(b, (uint32_t)v); agg_buf_u32(b, (uint32_t)(v >> 32)); }
void agg_buf_f64(agg_buf *b, double v) { uint64_t u; memcpy(&u, &v, 8); agg_buf_u64(b, u); }
void agg_buf_free(agg_buf *b) { free(b->p); memset(b, 0, sizeof *b); }

const uint8_t *agg_rd_ptr(agg_rd *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) { r->bad = 1; return NULL; }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

void agg_rd_get(agg_rd *r, void *out, size_t n)
{
    const uint8_t *p = agg_rd_ptr(r, n);
    if (p) memcpy(out, p, n); else memset(out, 0, n);
}

uint8_t agg_rd_u8(agg_rd *r) { const uint8_t *p = agg_rd_ptr(r, 1); return p ? p[0] : 0; }
uint32_t agg_rd_u32(agg_rd *r)
{
    const uint8_t *p = agg_rd_ptr(r, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24 : 0;
}
uint64_t agg_rd_u64(agg_rd *r) { uint64_t lo = agg_rd_u32(r); return lo | (uint64_t)agg_rd_u32(r) << 32; }
double agg_rd_f64(agg_rd *r) { uint64_t u = agg_rd_u64(r); double v; memcpy(&v, &u, 8); return v; }
