/* buf.h — a growable byte buffer and a bounds-checked reader, for
 * checkpoint blobs (little-endian, fixed-width fields). */
#ifndef AGG_BUF_H
#define AGG_BUF_H
#include <stddef.h>
#include <stdint.h>

typedef struct agg_buf { uint8_t *p; size_t len, cap; } agg_buf;
void agg_buf_put(agg_buf *b, const void *data, size_t n);
void agg_buf_u8(agg_buf *b, uint8_t v);
void agg_buf_u32(agg_buf *b, uint32_t v);
void agg_buf_u64(agg_buf *b, uint64_t v);
void agg_buf_f64(agg_buf *b, double v);
void agg_buf_free(agg_buf *b);

/* Reader: any read past the end sets bad and returns zeros. */
typedef struct agg_rd { const uint8_t *p, *end; int bad; } agg_rd;
void agg_rd_get(agg_rd *r, void *out, size_t n);
const uint8_t *agg_rd_ptr(agg_rd *r, size_t n);    /* NULL (and bad) if short */
uint8_t agg_rd_u8(agg_rd *r);
uint32_t agg_rd_u32(agg_rd *r);
uint64_t agg_rd_u64(agg_rd *r);
double agg_rd_f64(agg_rd *r);
#endif
