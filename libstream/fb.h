/* fb.h — the FlatBuffers binary format, our own runtime (fb.c): a builder
 * and raw readers. See https://flatbuffers.dev/internals/ for the wire format.
 *
 * Builder: builds back to front into a growable buffer, aligning every
 * scalar to its size relative to the END of the buffer (as the reference
 * builder does), deduplicating identical vtables, and finishing with a root
 * offset, a 4-byte file identifier and, if asked, a 4-byte size prefix.
 *
 * Readers: fb_read_u32, fb_root and fb_field check nothing; call them only
 * on a buffer the verifier accepted. The verifier is the record codec's
 * (fbrec.h: fbrec_verify, and fbrec_decode, which verifies as it decodes): before
 * any read it checks that every offset, vtable, string (length and NUL
 * terminator), vector (length, element size) and scalar lies inside the
 * buffer and is aligned relative to the buffer's logical start (the size
 * prefix, if the buffer had one), and that nesting depth and table count
 * stay under FB_MAX_DEPTH / FB_MAX_TABLES. */
#ifndef STREAMREC_FB_H
#define STREAMREC_FB_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FB_MAX_DEPTH 64
#define FB_MAX_TABLES 1000000

/* A string inside a buffer (or anywhere): not NUL-terminated by contract;
 * ptr NULL means absent, as a FlatBuffers string field can be. */
typedef struct fb_str { const char *ptr; uint32_t len; } fb_str;
#define FB_STR(s) ((fb_str){ (s), (uint32_t)strlen(s) })
#define FB_STRN(s, n) ((fb_str){ (s), (uint32_t)(n) })
static inline int fb_str_eq(fb_str a, const char *b)
{ size_t n = strlen(b); return a.ptr && a.len == n && memcmp(a.ptr, b, n) == 0; }

typedef uint32_t fb_ref;   /* an object's position counted from the buffer end */

typedef struct fb_builder {
    uint8_t *buf;      /* data lives at buf[cap - size .. cap) */
    size_t cap, size;
    size_t minalign;
    /* table under construction: slot -> field ref, vtables written so far */
    uint32_t *field_off; int nfields, fields_cap; size_t table_start;
    uint32_t *vtables; int nvtables, vtables_cap;
    int nested;
} fb_builder;

void fb_builder_init(fb_builder *b);
void fb_builder_reset(fb_builder *b);     /* keep memory */
void fb_builder_free(fb_builder *b);

fb_ref fb_create_string(fb_builder *b, const char *s, size_t len);
/* Vector of scalars or structs: elem_size bytes each, already little-endian. */
fb_ref fb_create_vector(fb_builder *b, const void *data, size_t count, size_t elem_size, size_t align);
/* Vector of offsets (tables or strings). */
fb_ref fb_create_offset_vector(fb_builder *b, const fb_ref *refs, size_t count);

void fb_table_start(fb_builder *b, int nfields);
void fb_add_u8(fb_builder *b, int slot, uint8_t v, uint8_t def);
void fb_add_i32(fb_builder *b, int slot, int32_t v, int32_t def);
void fb_add_i64(fb_builder *b, int slot, int64_t v, int64_t def);
void fb_add_u64(fb_builder *b, int slot, uint64_t v, uint64_t def);
void fb_add_f64(fb_builder *b, int slot, double v, double def);
void fb_add_scalar(fb_builder *b, int slot, const void *le_bytes, size_t size); /* always written */
void fb_add_ref(fb_builder *b, int slot, fb_ref ref);    /* 0: absent */
fb_ref fb_table_end(fb_builder *b);

/* Fast paths for the record codec (fbencode.c), inline: room for at least n
 * bytes in front of the data (fb_reserve), then fb_add_ref_fast and
 * fb_add_scalar_fast write the bytes fb_add_ref and fb_add_scalar would,
 * without their checks: the caller knows the slot is in the table, the
 * ref is not 0, the size is 1, 2, 4 or 8, and reserved size + 8 bytes
 * (for the padding) per call. */
void fb_reserve(fb_builder *b, size_t n);
static inline void fb_add_scalar_fast(fb_builder *b, int slot, const void *le_bytes, size_t size)
{
    if (size > b->minalign)
        b->minalign = size;
    /* zero the 8 bytes below the front: the padding, the rest overwritten or free */
    memset(b->buf + b->cap - b->size - 8, 0, 8);
    b->size += ((size_t)(-b->size) & (size - 1)) + size;
    memcpy(b->buf + b->cap - b->size, le_bytes, size);
    b->field_off[slot] = (uint32_t)b->size;
}
static inline void fb_add_ref_fast(fb_builder *b, int slot, fb_ref ref)
{
    if (b->minalign < 4)
        b->minalign = 4;
    memset(b->buf + b->cap - b->size - 4, 0, 4);
    b->size += ((size_t)(-b->size) & 3) + 4;
    uint32_t off = (uint32_t)(b->size - ref);   /* what fb_push_offset writes */
    uint8_t *p = b->buf + b->cap - b->size;
    p[0] = (uint8_t)off; p[1] = (uint8_t)(off >> 8); p[2] = (uint8_t)(off >> 16); p[3] = (uint8_t)(off >> 24);
    b->field_off[slot] = (uint32_t)b->size;
}

/* n bytes from s to d without a call for the short strings records are
 * made of: two overlapping moves of 8 or 16 bytes, or of 4, within both. */
static inline void fb_copy_short(uint8_t *d, const char *s, size_t n)
{
    if (n >= 16 && n <= 32) {
        memcpy(d, s, 16);
        memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8 && n < 16) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4 && n < 8) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else if (n > 0 && n < 4) {
        d[0] = (uint8_t)s[0];
        d[n / 2] = (uint8_t)s[n / 2];
        d[n - 1] = (uint8_t)s[n - 1];
    } else if (n) {
        memcpy(d, s, n);
    }
}
/* fb_create_string, inline for the codec (always: each call site is hot): the same bytes. */
static inline __attribute__((always_inline)) fb_ref fb_create_string_fast(fb_builder *b, const char *s, size_t len)
{
    /* [length][bytes][NUL][zero padding to 4], reserved in one step */
    if (b->minalign < 4)
        b->minalign = 4;
    size_t pad = (size_t)(-(b->size + len + 1)) & 3;
    size_t total = 4 + len + 1 + pad;
    if (b->cap - b->size < total)
        fb_reserve(b, total);
    b->size += total;
    uint8_t *p = b->buf + b->cap - b->size;
    /* the NUL and the padding (1 to 4 bytes) end the string: zero the last
     * 4 bytes first, the length and the bytes then overwrite the rest */
    memset(p + total - 4, 0, 4);
    p[0] = (uint8_t)len; p[1] = (uint8_t)(len >> 8); p[2] = (uint8_t)(len >> 16); p[3] = (uint8_t)(len >> 24);
    fb_copy_short(p + 4, s, len);
    return (fb_ref)b->size;
}

/* Finish: root offset, identifier (4 chars or NULL), optional size prefix. */
void fb_finish(fb_builder *b, fb_ref root, const char *ident, int size_prefixed);
static inline const uint8_t *fb_data(const fb_builder *b, size_t *len)
{ *len = b->size; return b->buf + b->cap - b->size; }

/* Reading helpers (all little-endian, unaligned-safe). Only call on
 * positions a verifier has accepted. */
static inline uint32_t fb_read_u32(const uint8_t *p)
{ return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
/* Offset of the root table inside buf (buf excludes any size prefix). */
static inline uint32_t fb_root(const uint8_t *buf) { return fb_read_u32(buf); }
/* Field position for vtable slot `slot` of the table at `tab`, 0 if absent. */
uint32_t fb_field(const uint8_t *buf, uint32_t tab, int slot);

#endif
