/* fb.c — FlatBuffers builder and raw readers (see fb.h).
 *
 * Wire format reminders (https://flatbuffers.dev/internals/):
 *   buffer  = [size u32]? root:uoffset ident[4] ... objects ...
 *   table   = soffset to its vtable (vtable = table - soffset), then fields
 *   vtable  = u16 vtable bytes, u16 table bytes, u16 field offset per slot
 *   string  = u32 length, bytes, NUL;  vector = u32 count, elements
 *   uoffset = u32 added to its own position.
 * The builder fills the buffer from the end towards the front: an object's
 * reference (fb_ref) is its distance from the end, which does not change as
 * the buffer grows. Every scalar is aligned to its size counted from the
 * end; fb_finish pads so the final length (size prefix included) is a
 * multiple of the largest alignment used, which makes end-relative and
 * start-relative alignment the same — what flatc's Finish/FinishSizePrefixed do. */
#include <stdlib.h>
#include <string.h>
#include "fb.h"
#include "log.h"

void fb_builder_init(fb_builder *b)
{
    memset(b, 0, sizeof *b);
    b->minalign = 1;
}

void fb_builder_reset(fb_builder *b)
{
    b->size = 0;
    b->minalign = 1;
    b->nfields = 0;
    b->nvtables = 0;
    b->nested = 0;
    b->table_start = 0;
}

void fb_builder_free(fb_builder *b)
{
    free(b->buf);
    free(b->field_off);
    free(b->vtables);
    memset(b, 0, sizeof *b);
}

/* Make room for n more bytes in front of the data: the check inline, the
 * reallocation out of line. */
static void fb_grow_slow(fb_builder *b, size_t n) __attribute__((noinline));

static inline void fb_grow(fb_builder *b, size_t n)
{
    if (__builtin_expect(b->cap - b->size < n, 0))
        fb_grow_slow(b, n);
}

static void fb_grow_slow(fb_builder *b, size_t n)
{
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap - b->size < n) {
        if (ncap > ((size_t)1 << 31))
            log_fatal("fb: buffer over 2 GiB");
        ncap *= 2;
    }
    uint8_t *nb = malloc(ncap);
    if (!nb)
        log_fatal("fb: out of memory (%zu bytes)", ncap);
    if (b->size)
        memcpy(nb + ncap - b->size, b->buf + b->cap - b->size, b->size);
    free(b->buf);
    b->buf = nb;
    b->cap = ncap;
}

static inline uint8_t *fb_front(fb_builder *b) { return b->buf + b->cap - b->size; }

void fb_reserve(fb_builder *b, size_t n)
{
    fb_grow(b, n);
}

static inline void fb_pad(fb_builder *b, size_t n)
{
    fb_grow(b, n);
    b->size += n;
    memset(fb_front(b), 0, n);
}

/* Align so that after writing `extra` more bytes, size is a multiple of align. */
static inline void fb_prep(fb_builder *b, size_t align, size_t extra)
{
    if (align > b->minalign)
        b->minalign = align;
    size_t pad = (size_t)(-(b->size + extra)) & (align - 1);
    if (pad)
        fb_pad(b, pad);
}

static inline void fb_push(fb_builder *b, const void *p, size_t n)
{
    fb_grow(b, n);
    b->size += n;
    memcpy(fb_front(b), p, n);
}

static inline void fb_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void fb_put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

static inline void fb_push_u32(fb_builder *b, uint32_t v)
{
    fb_grow(b, 4);
    b->size += 4;
    fb_put_u32(fb_front(b), v);
}

/* uoffset from the position about to be written to the object at ref. */
static inline void fb_push_offset(fb_builder *b, fb_ref ref)
{
    fb_prep(b, 4, 0);
    fb_push_u32(b, (uint32_t)(b->size + 4 - ref));
}

fb_ref fb_create_string(fb_builder *b, const char *s, size_t len)
{
    return fb_create_string_fast(b, s, len);
}

fb_ref fb_create_vector(fb_builder *b, const void *data, size_t count, size_t elem_size, size_t align)
{
    size_t bytes = count * elem_size;
    fb_prep(b, 4, bytes);
    fb_prep(b, align ? align : 1, bytes);
    if (bytes)
        fb_push(b, data, bytes);
    fb_push_u32(b, (uint32_t)count);
    return (fb_ref)b->size;
}

fb_ref fb_create_offset_vector(fb_builder *b, const fb_ref *refs, size_t count)
{
    fb_prep(b, 4, count * 4);
    for (size_t i = count; i-- > 0;)
        fb_push_offset(b, refs[i]);
    fb_push_u32(b, (uint32_t)count);
    return (fb_ref)b->size;
}

void fb_table_start(fb_builder *b, int nfields)
{
    if (nfields > b->fields_cap) {
        int ncap = nfields < 16 ? 16 : nfields;
        uint32_t *nf = realloc(b->field_off, (size_t)ncap * sizeof *nf);
        if (!nf)
            log_fatal("fb: out of memory");
        b->field_off = nf;
        b->fields_cap = ncap;
    }
    memset(b->field_off, 0, (size_t)nfields * sizeof *b->field_off);
    b->nfields = nfields;
    b->table_start = b->size;
    b->nested = 1;
}

void fb_add_scalar(fb_builder *b, int slot, const void *le_bytes, size_t size)
{
    if (slot < 0 || slot >= b->nfields)
        return;
    fb_prep(b, size, 0);
    fb_push(b, le_bytes, size);
    b->field_off[slot] = (uint32_t)b->size;
}

void fb_add_u8(fb_builder *b, int slot, uint8_t v, uint8_t def)
{
    if (v != def)
        fb_add_scalar(b, slot, &v, 1);
}

void fb_add_i32(fb_builder *b, int slot, int32_t v, int32_t def)
{
    if (v != def)
        fb_add_scalar(b, slot, &v, 4);
}

void fb_add_i64(fb_builder *b, int slot, int64_t v, int64_t def)
{
    if (v != def)
        fb_add_scalar(b, slot, &v, 8);
}

void fb_add_u64(fb_builder *b, int slot, uint64_t v, uint64_t def)
{
    if (v != def)
        fb_add_scalar(b, slot, &v, 8);
}

/* Compared bit for bit, so -0.0 and NaN payloads survive a round trip. */
void fb_add_f64(fb_builder *b, int slot, double v, double def)
{
    if (memcmp(&v, &def, sizeof v) != 0)
        fb_add_scalar(b, slot, &v, 8);
}

void fb_add_ref(fb_builder *b, int slot, fb_ref ref)
{
    if (!ref || slot < 0 || slot >= b->nfields)
        return;
    fb_push_offset(b, ref);
    b->field_off[slot] = (uint32_t)b->size;
}

fb_ref fb_table_end(fb_builder *b)
{
    /* placeholder soffset to the vtable */
    fb_prep(b, 4, 0);
    fb_push_u32(b, 0);
    uint32_t obj = (uint32_t)b->size;
    int n = b->nfields;
    while (n > 0 && b->field_off[n - 1] == 0)
        n--;                       /* trailing absent fields need no slot */
    size_t vtbytes = 4 + 2 * (size_t)n;
    /* the vtable is written where it would go, in front of the data, and
     * kept there only if no identical one was written before */
    fb_grow(b, vtbytes);
    uint8_t *vtp = fb_front(b) - vtbytes;
    fb_put_u16(vtp, (uint16_t)vtbytes);
    fb_put_u16(vtp + 2, (uint16_t)(obj - b->table_start));
    for (int i = 0; i < n; i++)
        fb_put_u16(vtp + 4 + 2 * i, (uint16_t)(b->field_off[i] ? obj - b->field_off[i] : 0));

    /* reuse an identical vtable written earlier in this buffer */
    uint32_t vt_ref = 0;
    const uint8_t *end = b->buf + b->cap;
    for (int i = 0; i < b->nvtables; i++) {
        const uint8_t *old = end - b->vtables[i];
        if (memcmp(old, vtp, 2) == 0 && memcmp(old, vtp, vtbytes) == 0) {
            vt_ref = b->vtables[i];
            break;
        }
    }
    if (!vt_ref) {
        b->size += vtbytes;
        vt_ref = (uint32_t)b->size;
        if (b->nvtables == b->vtables_cap) {
            int ncap = b->vtables_cap ? b->vtables_cap * 2 : 16;
            uint32_t *nv = realloc(b->vtables, (size_t)ncap * sizeof *nv);
            if (!nv)
                log_fatal("fb: out of memory");
            b->vtables = nv;
            b->vtables_cap = ncap;
        }
        b->vtables[b->nvtables++] = vt_ref;
    }
    /* table position minus vtable position, both counted from the start */
    int32_t soff = (int32_t)((int64_t)vt_ref - (int64_t)obj);
    fb_put_u32(b->buf + b->cap - obj, (uint32_t)soff);
    b->nfields = 0;
    b->nested = 0;
    return obj;
}

void fb_finish(fb_builder *b, fb_ref root, const char *ident, int size_prefixed)
{
    size_t extra = 4 + (ident ? 4 : 0) + (size_prefixed ? 4 : 0);
    fb_prep(b, b->minalign > 4 ? b->minalign : 4, extra);
    if (ident)
        fb_push(b, ident, 4);
    fb_push_offset(b, root);
    if (size_prefixed)
        fb_push_u32(b, (uint32_t)b->size);
}

uint32_t fb_field(const uint8_t *buf, uint32_t tab, int slot)
{
    int32_t soff = (int32_t)fb_read_u32(buf + tab);
    uint32_t vt = (uint32_t)((int64_t)tab - soff);
    uint16_t vtbytes = (uint16_t)(buf[vt] | buf[vt + 1] << 8);
    uint32_t at = 4 + 2 * (uint32_t)slot;
    if (at + 2 > vtbytes)
        return 0;
    uint16_t fo = (uint16_t)(buf[vt + at] | buf[vt + at + 1] << 8);
    return fo ? tab + fo : 0;
}
