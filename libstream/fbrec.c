/* fbrec.c — the schema-driven record codec (see fbrec.h): verify+decode,
 * encode, and JSON in both directions, for every table type, by walking
 * the descriptors that fbsgen generates (libstream/fbsgen/fbdesc.h).
 *
 * Verification happens while decoding, in one pass: every position is
 * checked against the buffer length before it is read (all arithmetic in
 * 64 bits, so offsets cannot wrap), and alignment is checked relative to the
 * logical buffer start (4 bytes before buf when the frame was size-prefixed).
 * Work is bounded: nesting depth FB_MAX_DEPTH, FB_MAX_TABLES tables, and the
 * arena bytes a decode may take (a multiple of the input length), so a small
 * hostile buffer whose offsets all point at one big vector cannot make us
 * copy it a million times. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fbrec.h"
#include "timefmt.h"
#include "fbsgen/fbdesc.h"

extern const fb_desc *const fb_gen_roots[];
extern const int fb_gen_nroots;
extern const fb_desc *const fb_gen_all[];
extern const int fb_gen_nall;

/* ---- descriptors ---------------------------------------------------------- */

const char *fb_desc_name(const fb_desc *d) { return d->name; }
const char *fb_desc_ident(const fb_desc *d) { return d->ident; }
size_t fb_record_size(const fb_desc *d) { return d->size; }

const fb_desc *const *fb_root_descs(int *n)
{
    *n = fb_gen_nroots;
    return fb_gen_roots;
}

/* Called for every record read: the identifiers compared as 4-byte words,
 * the thread's last match first (a stream is mostly runs of one type). */
const fb_desc *fb_desc_by_ident(const char *ident4)
{
    static _Thread_local const fb_desc *last;
    uint32_t want, have;
    memcpy(&want, ident4, 4);
    if (last) {
        memcpy(&have, last->ident, 4);
        if (have == want)
            return last;
    }
    for (int i = 0; i < fb_gen_nroots; i++) {
        memcpy(&have, fb_gen_roots[i]->ident, 4);
        if (have == want)
            return last = fb_gen_roots[i];
    }
    return NULL;
}

const fb_desc *fb_desc_by_name(const char *name)
{
    for (int i = 0; i < fb_gen_nall; i++)
        if (strcmp(fb_gen_all[i]->name, name) == 0 || strcmp(fb_gen_all[i]->fullname, name) == 0)
            return fb_gen_all[i];
    return NULL;
}

/* Bytes a value of this type takes inline (in a table field or a vector). */
static size_t fb_inline_size(const fb_field_desc *f)
{
    switch (f->base) {
    case FB_BOOL: case FB_I8: case FB_U8: return 1;
    case FB_I16: case FB_U16: return 2;
    case FB_I32: case FB_U32: case FB_F32: return 4;
    case FB_I64: case FB_U64: case FB_F64: return 8;
    case FB_STRUCT: return f->sub->size;
    default: return 4;   /* strings, tables: a uoffset */
    }
}

static size_t fb_inline_align(const fb_field_desc *f)
{
    return f->base == FB_STRUCT ? f->sub->align : fb_inline_size(f);
}

static int fb_is_scalar(int base) { return base >= FB_BOOL && base <= FB_F64; }
static int fb_is_float(int base) { return base == FB_F32 || base == FB_F64; }
/* Scalars in C memory, widened. */
static int64_t fb_load_i(int base, const void *p)
{
    switch (base) {
    case FB_BOOL: case FB_U8: return *(const uint8_t *)p;
    case FB_I8: return *(const int8_t *)p;
    case FB_I16: { int16_t v; memcpy(&v, p, 2); return v; }
    case FB_U16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case FB_I32: { int32_t v; memcpy(&v, p, 4); return v; }
    case FB_U32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case FB_I64: case FB_U64: { int64_t v; memcpy(&v, p, 8); return v; }
    default: return 0;
    }
}

static double fb_load_f(int base, const void *p)
{
    if (base == FB_F32) { float v; memcpy(&v, p, 4); return v; }
    double v; memcpy(&v, p, 8); return v;
}

static void fb_store_i(int base, void *p, int64_t v)
{
    switch (base) {
    case FB_BOOL: case FB_U8: case FB_I8: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
    case FB_I16: case FB_U16: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case FB_I32: case FB_U32: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    case FB_I64: case FB_U64: memcpy(p, &v, 8); break;
    case FB_F32: { float x = (float)v; memcpy(p, &x, 4); break; }
    case FB_F64: { double x = (double)v; memcpy(p, &x, 8); break; }
    default: break;
    }
}

static void fb_store_f(int base, void *p, double v)
{
    if (base == FB_F32) { float x = (float)v; memcpy(p, &x, 4); }
    else memcpy(p, &v, 8);
}

/* Is the scalar at p bit-for-bit the field's default? */
static int fb_is_default(const fb_field_desc *f, const void *p)
{
    switch (f->base) {
    case FB_F32: { float d = (float)f->def_f; return memcmp(p, &d, 4) == 0; }
    case FB_F64: return memcmp(p, &f->def_f, 8) == 0;
    case FB_U64: { uint64_t v; memcpy(&v, p, 8); return v == f->def_u; }
    case FB_U8: case FB_U16: case FB_U32: return (uint64_t)fb_load_i(f->base, p) == f->def_u;
    case FB_BOOL: return (fb_load_i(f->base, p) != 0) == (f->def_i != 0);
    default: return fb_load_i(f->base, p) == f->def_i;
    }
}

static void fb_set_default(const fb_field_desc *f, void *p)
{
    if (fb_is_float(f->base))
        fb_store_f(f->base, p, f->def_f);
    else if (f->base == FB_U64 || f->base == FB_U8 || f->base == FB_U16 || f->base == FB_U32)
        fb_store_i(f->base, p, (int64_t)f->def_u);
    else
        fb_store_i(f->base, p, f->def_i);
}

void fb_init_record(const fb_desc *d, void *out)
{
    memset(out, 0, d->size);
    if (d->is_struct)
        return;
    for (int i = 0; i < d->nfields; i++) {
        const fb_field_desc *f = &d->fields[i];
        if (!f->is_vector && fb_is_scalar(f->base))
            fb_set_default(f, (char *)out + f->offset);
    }
}

static void fb_clone_table(const fb_desc *t, const char *src, char *dst, arena *a)
{
    memcpy(dst, src, t->size);
    if (t->is_struct)
        return;
    for (int i = 0; i < t->nfields; i++) {
        const fb_field_desc *f = &t->fields[i];
        if (f->is_vector) {
            const char *arr;
            uint32_t n;
            memcpy(&arr, src + f->offset, sizeof arr);
            memcpy(&n, src + f->count_offset, 4);
            if (!arr)
                continue;
            size_t esize = f->base == FB_STRING ? sizeof(fb_str) : f->base == FB_TABLE ? f->sub->size
                         : fb_inline_size(f);
            size_t ealign = f->base == FB_STRING ? _Alignof(fb_str) : f->base == FB_TABLE ? f->sub->align
                          : fb_inline_align(f);
            char *copy = arena_alloc(a, n ? (size_t)n * esize : 1, ealign);
            for (uint32_t k = 0; k < n; k++) {
                const char *e = arr + (size_t)k * esize;
                char *c = copy + (size_t)k * esize;
                if (f->base == FB_STRING) {
                    const fb_str *s = (const fb_str *)e;
                    *(fb_str *)c = s->ptr ? (fb_str){ arena_strndup(a, s->ptr, s->len), s->len } : *s;
                } else if (f->base == FB_TABLE) {
                    fb_clone_table(f->sub, e, c, a);
                } else {
                    memcpy(c, e, esize);
                }
            }
            memcpy(dst + f->offset, &copy, sizeof copy);
        } else if (f->base == FB_STRING) {
            const fb_str *s = (const fb_str *)(src + f->offset);
            if (s->ptr)
                *(fb_str *)(dst + f->offset) = (fb_str){ arena_strndup(a, s->ptr, s->len), s->len };
        } else if (f->base == FB_TABLE) {
            const char *sub;
            memcpy(&sub, src + f->offset, sizeof sub);
            if (sub) {
                char *c = arena_alloc(a, f->sub->size, f->sub->align);
                fb_clone_table(f->sub, sub, c, a);
                memcpy(dst + f->offset, &c, sizeof c);
            }
        }
    }
}

void fb_record_clone(const fb_desc *d, const void *src, void *dst, arena *a)
{
    fb_clone_table(d, src, dst, a);
}

/* ---- verify + decode ------------------------------------------------------ */

typedef struct fb_dec {
    const uint8_t *buf;
    uint64_t len;
    uint64_t base;        /* 4 if size-prefixed: alignment counts from buf-4 */
    arena *a;
    uint64_t tables;
    uint64_t budget;      /* arena bytes this decode may still take */
    int verify_only;      /* fb_verify: walk and check, store nothing */
    char *err; size_t errlen;
} fb_dec;

__attribute__((format(printf, 3, 4)))
static int fb_dec_fail(fb_dec *d, uint64_t off, const char *fmt, ...)
{
    if (d->err && d->errlen) {
        int n = snprintf(d->err, d->errlen, "offset %llu: ", (unsigned long long)off);
        if (n >= 0 && (size_t)n < d->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(d->err + n, d->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

static inline uint16_t fb_rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* pos..pos+n inside the buffer and pos aligned to align. */
__attribute__((noinline, cold))
static int fb_dec_check_fail(fb_dec *d, uint64_t pos, uint64_t n, uint64_t align, const char *what)
{
    if (pos > d->len || n > d->len - pos)
        return fb_dec_fail(d, pos, "%s (%llu bytes) extends past the end of the buffer (%llu bytes)",
                           what, (unsigned long long)n, (unsigned long long)d->len);
    if (align > 1 && ((pos + d->base) & (align - 1)))
        return fb_dec_fail(d, pos, "%s is misaligned (needs %llu-byte alignment)", what,
                           (unsigned long long)align);
    return 0;
}

/* The hot path inline; the message is built out of line. */
static inline int fb_dec_check(fb_dec *d, uint64_t pos, uint64_t n, uint64_t align, const char *what)
{
    if (__builtin_expect(pos <= d->len && n <= d->len - pos && !((pos + d->base) & (align - 1)), 1))
        return 0;
    return fb_dec_check_fail(d, pos, n, align, what);
}

static void *fb_dec_alloc(fb_dec *d, uint64_t size, size_t align, uint64_t pos)
{
    static char verify_only_sink;
    if (d->verify_only) {   /* same budget as a decode, nothing allocated */
        if (size > d->budget) {
            fb_dec_fail(d, pos, "decoded size exceeds the limit for a %llu-byte buffer",
                        (unsigned long long)d->len);
            return NULL;
        }
        d->budget -= size;
        return &verify_only_sink;
    }
    if (!d->a) {
        fb_dec_fail(d, pos, "vector present but no arena given");
        return NULL;
    }
    if (size > d->budget) {
        fb_dec_fail(d, pos, "decoded size exceeds the limit for a %llu-byte buffer",
                    (unsigned long long)d->len);
        return NULL;
    }
    d->budget -= size;
    return arena_alloc(d->a, size ? (size_t)size : 1, align);
}

/* Follow the uoffset at pos: the target position, or -1 after failing. */
static inline int64_t fb_dec_deref(fb_dec *d, uint64_t pos, const char *what)
{
    if (fb_dec_check(d, pos, 4, 4, what) < 0)
        return -1;
    uint32_t o = fb_read_u32(d->buf + pos);
    /* as the reference verifier: an offset may not point at itself, and
     * must be a positive soffset (buffers are at most 2 GiB) */
    if (o == 0)
        return fb_dec_fail(d, pos, "%s offset is 0 (points at itself)", what);
    if (o > INT32_MAX)
        return fb_dec_fail(d, pos, "%s offset %lu is over 2 GiB", what, (unsigned long)o);
    uint64_t t = pos + o;
    if (t >= d->len)
        return fb_dec_fail(d, pos, "%s offset points past the end of the buffer", what);
    return (int64_t)t;
}

static int fb_dec_string(fb_dec *d, uint64_t pos, fb_str *out)
{
    if (fb_dec_check(d, pos, 4, 4, "string length") < 0)
        return -1;
    uint64_t n = fb_read_u32(d->buf + pos);
    if (n + 1 > d->len - pos - 4)
        return fb_dec_fail(d, pos, "string of %llu bytes extends past the end of the buffer",
                           (unsigned long long)n);
    if (d->buf[pos + 4 + n] != 0)
        return fb_dec_fail(d, pos + 4 + n, "string is not NUL-terminated");
    out->ptr = (const char *)d->buf + pos + 4;
    out->len = (uint32_t)n;
    return 0;
}

static int fb_dec_table(fb_dec *d, const fb_desc *t, uint64_t pos, void *out, int depth);

/* A scalar (or struct) at the verified position p into C memory at dst. */
static void fb_dec_scalar(int base, const uint8_t *p, void *dst, size_t size)
{
    memcpy(dst, p, size);
    if (base == FB_BOOL)
        *(uint8_t *)dst = *p != 0;
}

static int fb_dec_vector(fb_dec *d, const fb_field_desc *f, uint64_t pos, char *rec, int depth)
{
    if (fb_dec_check(d, pos, 4, 4, "vector length") < 0)
        return -1;
    uint64_t n = fb_read_u32(d->buf + pos);
    uint64_t esize = fb_inline_size(f), data = pos + 4;
    if (n > (d->len - data) / esize)
        return fb_dec_fail(d, pos, "vector of %llu elements extends past the end of the buffer",
                           (unsigned long long)n);
    if (n && fb_dec_check(d, data, n * esize, fb_inline_align(f), "vector data") < 0)
        return -1;
    size_t csize = f->base == FB_STRING ? sizeof(fb_str) : f->base == FB_TABLE ? f->sub->size : esize;
    size_t calign = f->base == FB_STRING ? _Alignof(fb_str) : f->base == FB_TABLE ? f->sub->align
                  : fb_inline_align(f);
    char *arr = fb_dec_alloc(d, n * csize, calign, pos);
    if (!arr)
        return -1;
    if (f->base == FB_STRING) {
        fb_str *s = (fb_str *)arr, scratch;
        for (uint64_t i = 0; i < n; i++) {
            int64_t t = fb_dec_deref(d, data + 4 * i, "string");
            if (t < 0 || fb_dec_string(d, (uint64_t)t, d->verify_only ? &scratch : &s[i]) < 0)
                return -1;
        }
    } else if (f->base == FB_TABLE) {
        for (uint64_t i = 0; i < n; i++) {
            int64_t t = fb_dec_deref(d, data + 4 * i, "table");
            if (t < 0)
                return -1;
            void *elem = d->verify_only ? NULL : arr + i * csize;
            if (elem)
                fb_init_record(f->sub, elem);
            if (fb_dec_table(d, f->sub, (uint64_t)t, elem, depth + 1) < 0)
                return -1;
        }
    } else if (d->verify_only) {
        return 0;
    } else {
        if (n)
            memcpy(arr, d->buf + data, n * esize);
        if (f->base == FB_BOOL)
            for (uint64_t i = 0; i < n; i++)
                arr[i] = arr[i] != 0;
    }
    if (d->verify_only)
        return 0;
    memcpy(rec + f->offset, &arr, sizeof arr);
    uint32_t cnt = (uint32_t)n;
    memcpy(rec + f->count_offset, &cnt, 4);
    return 0;
}

static int fb_dec_table(fb_dec *d, const fb_desc *t, uint64_t pos, void *out, int depth)
{
    if (depth > FB_MAX_DEPTH)
        return fb_dec_fail(d, pos, "tables nested deeper than %d", FB_MAX_DEPTH);
    if (++d->tables > FB_MAX_TABLES)
        return fb_dec_fail(d, pos, "more than %d tables", FB_MAX_TABLES);
    if (fb_dec_check(d, pos, 4, 4, t->name) < 0)
        return -1;
    int64_t vt = (int64_t)pos - (int32_t)fb_read_u32(d->buf + pos);
    if (vt < 0 || (uint64_t)vt + 4 > d->len)
        return fb_dec_fail(d, pos, "%s vtable offset points outside the buffer", t->name);
    if (fb_dec_check(d, (uint64_t)vt, 4, 2, "vtable") < 0)
        return -1;
    uint64_t vtbytes = fb_rd16(d->buf + vt), objbytes = fb_rd16(d->buf + vt + 2);
    if (vtbytes < 4 || (vtbytes & 1))
        return fb_dec_fail(d, (uint64_t)vt, "bad vtable size %llu", (unsigned long long)vtbytes);
    if (fb_dec_check(d, (uint64_t)vt, vtbytes, 2, "vtable") < 0)
        return -1;
    if (objbytes < 4 || fb_dec_check(d, pos, objbytes, 4, "table") < 0)
        return objbytes < 4 ? fb_dec_fail(d, (uint64_t)vt, "bad table size %llu",
                                          (unsigned long long)objbytes) : -1;
    char *rec = out;
    for (int i = 0; i < t->nfields; i++) {
        const fb_field_desc *f = &t->fields[i];
        uint64_t at = 4 + 2 * (uint64_t)f->slot;
        uint64_t vo = at + 2 <= vtbytes ? fb_rd16(d->buf + vt + at) : 0;
        if (!vo)
            continue;
        uint64_t fpos = pos + vo;
        if (f->is_vector) {
            int64_t v = fb_dec_deref(d, fpos, f->name);
            if (v < 0 || fb_dec_vector(d, f, (uint64_t)v, rec, depth) < 0)
                return -1;
        } else if (f->base == FB_STRING) {
            fb_str scratch;
            int64_t s = fb_dec_deref(d, fpos, f->name);
            if (s < 0 || fb_dec_string(d, (uint64_t)s, rec ? (fb_str *)(rec + f->offset) : &scratch) < 0)
                return -1;
        } else if (f->base == FB_TABLE) {
            int64_t s = fb_dec_deref(d, fpos, f->name);
            if (s < 0)
                return -1;
            void *sub = fb_dec_alloc(d, f->sub->size, f->sub->align, fpos);
            if (!sub)
                return -1;
            if (rec)
                fb_init_record(f->sub, sub);
            if (fb_dec_table(d, f->sub, (uint64_t)s, rec ? sub : NULL, depth + 1) < 0)
                return -1;
            if (rec)
                memcpy(rec + f->offset, &sub, sizeof sub);
        } else {
            size_t sz = fb_inline_size(f);
            if (fb_dec_check(d, fpos, sz, fb_inline_align(f), f->name) < 0)
                return -1;
            if (rec)
                fb_dec_scalar(f->base, d->buf + fpos, rec + f->offset, sz);
        }
    }
    return 0;
}

/* Decode into out, or with out NULL only verify: one walker, so the two
 * accept exactly the same buffers. */
static int fb_walk(const fb_desc *t, const uint8_t *buf, size_t len, int prefixed,
                   void *out, arena *a, char *err, size_t errlen)
{
    fb_dec d = { .buf = buf, .len = len, .base = prefixed ? 4 : 0, .a = a,
                 .budget = (uint64_t)len * 64 + 65536, .verify_only = out == NULL,
                 .err = err, .errlen = errlen };
    if (out)
        fb_init_record(t, out);
    uint64_t need = t->ident ? 8 : 4;
    if (!buf || len < need)
        return fb_dec_fail(&d, 0, "buffer of %zu bytes is too short for a %s", len, t->name);
    if (t->ident && memcmp(buf + 4, t->ident, 4) != 0) {
        char got[5];
        for (int i = 0; i < 4; i++)
            got[i] = buf[4 + i] >= 0x20 && buf[4 + i] < 0x7f && buf[4 + i] != '"' ? (char)buf[4 + i] : '?';
        got[4] = 0;
        return fb_dec_fail(&d, 4, "identifier \"%s\" is not %s's \"%s\"", got, t->name, t->ident);
    }
    uint64_t root = fb_read_u32(buf);
    if (root == 0)
        return fb_dec_fail(&d, 0, "root offset is 0 (points at itself)");
    if (root >= len)
        return fb_dec_fail(&d, 0, "root offset %llu points past the end of the buffer (%zu bytes)",
                           (unsigned long long)root, len);
    if (fb_dec_table(&d, t, root, out, 1) < 0) {
        if (out)
            fb_init_record(t, out);   /* no half-decoded pointers for the caller */
        return -1;
    }
    return 0;
}

int fb_decode(const fb_desc *t, const uint8_t *buf, size_t len, int prefixed,
              void *out, arena *a, char *err, size_t errlen)
{
    return fb_walk(t, buf, len, prefixed, out, a, err, errlen);
}

int fb_verify(const fb_desc *t, const uint8_t *buf, size_t len, int prefixed,
              char *err, size_t errlen)
{
    return fb_walk(t, buf, len, prefixed, NULL, NULL, err, errlen);
}

/* ---- encode --------------------------------------------------------------- */

static fb_ref fb_enc_table(fb_builder *b, const fb_desc *t, const void *rec);

static fb_ref fb_enc_vector(fb_builder *b, const fb_field_desc *f, const char *rec)
{
    const char *arr;
    uint32_t n;
    memcpy(&arr, rec + f->offset, sizeof arr);
    memcpy(&n, rec + f->count_offset, 4);
    if (!arr)
        return 0;
    if (n == 0)   /* nothing to copy: no scratch array either */
        return f->base == FB_STRING || f->base == FB_TABLE ? fb_create_offset_vector(b, NULL, 0)
             : fb_create_vector(b, NULL, 0, fb_inline_size(f), fb_inline_align(f));
    if (f->base != FB_STRING && f->base != FB_TABLE) {
        if (f->base == FB_BOOL) {
            /* normalise to 0/1 without touching the caller's array */
            uint8_t tmp[256], *p = n <= sizeof tmp ? tmp : malloc(n);
            if (!p)
                return 0;
            for (uint32_t i = 0; i < n; i++)
                p[i] = arr[i] != 0;
            fb_ref r = fb_create_vector(b, p, n, 1, 1);
            if (p != tmp)
                free(p);
            return r;
        }
        return fb_create_vector(b, arr, n, fb_inline_size(f), fb_inline_align(f));
    }
    fb_ref stack[64], *refs = n <= 64 ? stack : malloc((size_t)n * sizeof *refs);
    if (!refs)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        if (f->base == FB_STRING) {
            const fb_str *s = (const fb_str *)arr + i;
            refs[i] = fb_create_string(b, s->ptr ? s->ptr : "", s->ptr ? s->len : 0);
        } else {
            refs[i] = fb_enc_table(b, f->sub, arr + (size_t)i * f->sub->size);
        }
    }
    fb_ref r = fb_create_offset_vector(b, refs, n);
    if (refs != stack)
        free(refs);
    return r;
}

/* What fb_enc_table works out for a table type on every call, worked out
 * once per generated type: the reference fields (children, written first
 * in schema order) and the order the table's fields are written in
 * (largest first, see below), each scalar with its default as the bytes
 * it would be written as. */
enum { FB_W_REF, FB_W_SCALAR, FB_W_BOOL };
typedef struct fb_wfield {
    uint16_t field, slot;
    uint8_t kind, size;
    uint8_t def_ok;            /* the default is representable: def holds its bytes */
    uint32_t offset;           /* in the C struct */
    uint64_t def;
} fb_wfield;
typedef struct fb_plan {
    const fb_desc *d;
    int nslots, nref, nw;
    uint8_t ref[256];          /* reference fields, schema order */
    fb_wfield w[256];          /* every field that may be written, in write order */
} fb_plan;

#define FB_NPLANS 32
static fb_plan fb_plans[FB_NPLANS];
static int fb_nplans;
static pthread_once_t fb_plans_once = PTHREAD_ONCE_INIT;

static int fb_is_ref(const fb_field_desc *f)
{
    return f->is_vector || f->base == FB_STRING || f->base == FB_TABLE;
}

/* The default as the bytes fb_add_scalar would write; 0 when no value of
 * the field's size has those bytes (then nothing is ever the default). */
static int fb_plan_default(const fb_field_desc *f, size_t size, uint64_t *out)
{
    uint64_t v = 0;
    switch (f->base) {
    case FB_F32: { float x = (float)f->def_f; memcpy(&v, &x, 4); break; }
    case FB_F64: memcpy(&v, &f->def_f, 8); break;
    case FB_U8: case FB_U16: case FB_U32: case FB_U64: v = f->def_u; break;
    default: v = (uint64_t)f->def_i; break;
    }
    *out = v;
    if (size == 8 || f->base == FB_F32)
        return 1;
    uint64_t mask = ((uint64_t)1 << (8 * size)) - 1;
    *out = v & mask;
    if (f->base == FB_U8 || f->base == FB_U16 || f->base == FB_U32)
        return v <= mask;
    int64_t lo = -(int64_t)(mask >> 1) - 1, hi = (int64_t)(mask >> 1);   /* signed range */
    return f->def_i >= lo && f->def_i <= hi;
}

static void fb_plans_build(void)
{
    for (int k = 0; k < fb_gen_nall && fb_nplans < FB_NPLANS; k++) {
        const fb_desc *t = fb_gen_all[k];
        if (t->is_struct || t->nfields > 256)
            continue;
        fb_plan *pl = &fb_plans[fb_nplans++];
        memset(pl, 0, sizeof *pl);
        pl->d = t;
        for (int i = 0; i < t->nfields; i++) {
            const fb_field_desc *f = &t->fields[i];
            if (f->slot + 1 > pl->nslots)
                pl->nslots = f->slot + 1;
            if (fb_is_ref(f))
                pl->ref[pl->nref++] = (uint8_t)i;
        }
        /* classes 8, 4 (references too), 2, 1: as fb_enc_table_generic */
        static const size_t sizes[] = { 8, 4, 2, 1 };
        for (int c = 0; c < 4; c++)
            for (int i = 0; i < t->nfields; i++) {
                const fb_field_desc *f = &t->fields[i];
                int ref = fb_is_ref(f);
                size_t size = ref ? 4 : fb_inline_size(f);
                if (size != sizes[c])
                    continue;
                fb_wfield *w = &pl->w[pl->nw++];
                w->field = (uint16_t)i;
                w->slot = f->slot;
                w->size = (uint8_t)size;
                w->kind = ref ? FB_W_REF : f->base == FB_BOOL ? FB_W_BOOL : FB_W_SCALAR;
                w->offset = f->offset;
                if (f->base == FB_BOOL)
                    w->def = f->def_i != 0;
                if (!ref && f->base != FB_BOOL)
                    w->def_ok = (uint8_t)fb_plan_default(f, size, &w->def);
            }
    }
}

static const fb_plan *fb_plan_of(const fb_desc *t)
{
    pthread_once(&fb_plans_once, fb_plans_build);
    for (int k = 0; k < fb_nplans; k++)
        if (fb_plans[k].d == t)
            return &fb_plans[k];
    return NULL;
}

static fb_ref fb_enc_table_generic(fb_builder *b, const fb_desc *t, const void *recv);

/* A field's child, written before its table (vector, string or table):
 * its ref, or 0 when absent or not a reference field. Shared by both
 * table encoders; inline, as it runs for every string of every record. */
static inline __attribute__((always_inline)) fb_ref fb_enc_child(fb_builder *b, const fb_field_desc *f,
                                                                 const char *rec)
{
    if (f->is_vector)
        return fb_enc_vector(b, f, rec);
    if (f->base == FB_STRING) {
        const fb_str *s = (const fb_str *)(rec + f->offset);
        return s->ptr ? fb_create_string_fast(b, s->ptr, s->len) : 0;
    }
    if (f->base == FB_TABLE) {
        const void *sub;
        memcpy(&sub, rec + f->offset, sizeof sub);
        return sub ? fb_enc_table(b, f->sub, sub) : 0;
    }
    return 0;
}

/* The same bytes as fb_enc_table_generic, with the plan. */
static fb_ref fb_enc_table(fb_builder *b, const fb_desc *t, const void *recv)
{
    const fb_plan *pl = fb_plan_of(t);
    if (!pl)
        return fb_enc_table_generic(b, t, recv);
    const char *rec = recv;
    fb_ref refs[256];
    for (int k = 0; k < pl->nref; k++) {
        int i = pl->ref[k];
        refs[i] = fb_enc_child(b, &t->fields[i], rec);
    }
    fb_table_start(b, pl->nslots);
    fb_reserve(b, 16 * (size_t)pl->nw);
    /* one case per size, so each copy is a single move of a known width */
#define FB_W_PUT(N, T) do { T v_; memcpy(&v_, p, N); \
        if (!w->def_ok || (uint64_t)v_ != w->def) fb_add_scalar_fast(b, w->slot, &v_, N); } while (0)
    for (int k = 0; k < pl->nw; k++) {
        const fb_wfield *w = &pl->w[k];
        const char *p = rec + w->offset;
        if (w->kind == FB_W_REF) {
            if (refs[w->field])
                fb_add_ref_fast(b, w->slot, refs[w->field]);
        } else if (w->kind == FB_W_BOOL) {
            uint8_t v = *(const uint8_t *)p != 0;
            if (v != w->def)
                fb_add_scalar_fast(b, w->slot, &v, 1);
        } else {
            /* little-endian, as fb_add_scalar assumes */
            switch (w->size) {
            case 8: FB_W_PUT(8, uint64_t); break;
            case 4: FB_W_PUT(4, uint32_t); break;
            case 2: FB_W_PUT(2, uint16_t); break;
            default: FB_W_PUT(1, uint8_t); break;
            }
        }
    }
#undef FB_W_PUT
    return fb_table_end(b);
}

static fb_ref fb_enc_table_generic(fb_builder *b, const fb_desc *t, const void *recv)
{
    const char *rec = recv;
    fb_ref refs[256];
    int nf = t->nfields < 256 ? t->nfields : 256;
    /* children first: a table's fields are written contiguously */
    for (int i = 0; i < nf; i++)
        refs[i] = fb_enc_child(b, &t->fields[i], rec);
    /* largest first, as flatc's generated builders do: least padding. One
     * pass sorts the fields into size classes 8, 4, 2, 1 (schema order kept
     * within a class; references count as 4). */
    int nslots = 0;
    uint8_t order[4][256];
    int norder[4] = { 0, 0, 0, 0 };
    for (int i = 0; i < nf; i++) {
        const fb_field_desc *f = &t->fields[i];
        if (f->slot + 1 > nslots)
            nslots = f->slot + 1;
        int cls;
        if (f->is_vector || f->base == FB_STRING || f->base == FB_TABLE) {
            if (!refs[i])
                continue;
            cls = 1;
        } else {
            switch (fb_inline_size(f)) {
            case 8: cls = 0; break;
            case 4: cls = 1; break;
            case 2: cls = 2; break;
            case 1: cls = 3; break;
            default: continue;   /* structs of other sizes: never written, as before */
            }
        }
        order[cls][norder[cls]++] = (uint8_t)i;
    }
    fb_table_start(b, nslots);
    static const size_t sizes[] = { 8, 4, 2, 1 };
    for (int s = 0; s < 4; s++) {
        for (int k = 0; k < norder[s]; k++) {
            int i = order[s][k];
            const fb_field_desc *f = &t->fields[i];
            if (f->is_vector || f->base == FB_STRING || f->base == FB_TABLE) {
                fb_add_ref(b, f->slot, refs[i]);
                continue;
            }
            const void *p = rec + f->offset;
            if (fb_is_default(f, p))
                continue;
            if (f->base == FB_BOOL) {
                uint8_t v = *(const uint8_t *)p != 0;
                fb_add_scalar(b, f->slot, &v, 1);
            } else {
                fb_add_scalar(b, f->slot, p, sizes[s]);
            }
        }
    }
    return fb_table_end(b);
}

/* The Event fast path needs streamrec's schemas (EventType comes with
 * event.fbs); fbrec.c is built against other schemas too (test 010). */
#ifdef EventType_MIN
#define FB_EVENT_DIRECT 1
/* Event, which ingest writes once per JSON line, without the plan: the
 * bytes fb_enc_table writes, each field named (strings in schema order;
 * then ts and value, the references and position in schema order, type:
 * largest first), so no per-field loop or dispatch. Used only when
 * Event_desc is laid out as this code assumes (fb_event_direct_check). */
#define FB_EV_STR(f) (e->f.ptr ? fb_create_string_fast(b, e->f.ptr, e->f.len) : 0)
static fb_ref fb_enc_event(fb_builder *b, const Event *e)
{
    fb_ref event_id = FB_EV_STR(event_id), user_id = FB_EV_STR(user_id), item_id = FB_EV_STR(item_id),
           session_id = FB_EV_STR(session_id), name = FB_EV_STR(name), source = FB_EV_STR(source),
           experiment = FB_EV_STR(experiment), variant = FB_EV_STR(variant);
    fb_ref attrs = e->attrs ? fb_enc_vector(b, &Event_desc.fields[12], (const char *)e) : 0;
    fb_table_start(b, 13);
    fb_reserve(b, 16 * 13);
    uint64_t value;
    memcpy(&value, &e->value, 8);   /* bit for bit: -0.0 is not the default */
    if (e->ts) fb_add_scalar_fast(b, 1, &e->ts, 8);
    if (value) fb_add_scalar_fast(b, 7, &value, 8);
    if (event_id) fb_add_ref_fast(b, 0, event_id);
    if (user_id) fb_add_ref_fast(b, 2, user_id);
    if (item_id) fb_add_ref_fast(b, 3, item_id);
    if (session_id) fb_add_ref_fast(b, 4, session_id);
    if (name) fb_add_ref_fast(b, 6, name);
    if (source) fb_add_ref_fast(b, 8, source);
    if (e->position != -1) fb_add_scalar_fast(b, 9, &e->position, 4);
    if (experiment) fb_add_ref_fast(b, 10, experiment);
    if (variant) fb_add_ref_fast(b, 11, variant);
    if (attrs) fb_add_ref_fast(b, 12, attrs);
    if (e->type) fb_add_scalar_fast(b, 5, &e->type, 1);
    return fb_table_end(b);
}
#undef FB_EV_STR

/* Event_desc as fb_enc_event writes it: names, slots, types and defaults. */
static int fb_event_direct_ok;
static pthread_once_t fb_event_direct_once = PTHREAD_ONCE_INIT;
static void fb_event_direct_check(void)
{
    static const struct { const char *name; int base, slot; int64_t def; } want[] = {
        { "event_id", FB_STRING, 0, 0 }, { "ts", FB_I64, 1, 0 }, { "user_id", FB_STRING, 2, 0 },
        { "item_id", FB_STRING, 3, 0 }, { "session_id", FB_STRING, 4, 0 }, { "type", FB_I8, 5, 0 },
        { "name", FB_STRING, 6, 0 }, { "value", FB_F64, 7, 0 }, { "source", FB_STRING, 8, 0 },
        { "position", FB_I32, 9, -1 }, { "experiment", FB_STRING, 10, 0 }, { "variant", FB_STRING, 11, 0 },
        { "attrs", FB_TABLE, 12, 0 },
    };
    const fb_desc *t = &Event_desc;
    int ok = t->nfields == 13;
    for (int i = 0; ok && i < 13; i++) {
        const fb_field_desc *f = &t->fields[i];
        ok = !strcmp(f->name, want[i].name) && f->base == want[i].base && f->slot == want[i].slot
             && f->is_vector == (i == 12) && (f->base == FB_F64 ? f->def_f == 0.0 && !signbit(f->def_f)
                                              : f->base == FB_STRING || f->base == FB_TABLE || f->def_i == want[i].def);
    }
    fb_event_direct_ok = ok;
}
#endif

void fb_encode(fb_builder *b, const fb_desc *d, const void *rec, int size_prefixed)
{
    fb_builder_reset(b);
    fb_ref root;
#ifdef FB_EVENT_DIRECT
    if (d == &Event_desc) {
        pthread_once(&fb_event_direct_once, fb_event_direct_check);
        root = fb_event_direct_ok ? fb_enc_event(b, rec) : fb_enc_table(b, d, rec);
    } else
#endif
    {
        root = fb_enc_table(b, d, rec);
    }
    fb_finish(b, root, d->ident, size_prefixed);
}

void fb_encode_generic(fb_builder *b, const fb_desc *d, const void *rec, int size_prefixed)
{
    fb_builder_reset(b);
    fb_ref root = fb_enc_table_generic(b, d, rec);
    fb_finish(b, root, d->ident, size_prefixed);
}

/* ---- to JSON -------------------------------------------------------------- */

/* Two forms (fbrec.h). FB_JSON_FLATC is exactly what flatc --json prints.
 * FB_JSON_JQ, the stages' default, is for people and jq: every field is
 * written (defaults too: absent strings as null, absent vectors empty), and
 * three shapes are turned so that a jq path reaches them directly:
 *   - a vector of {key, value} string tables (labels, attrs) is an object,
 *     {"endpoint":"/api/recs"}, keys in record order (a repeated key is
 *     written each time; jq keeps the last);
 *   - a vector of {q, value} structs (quantiles) becomes one field per
 *     quantile, named by fb_quantile_name ("p50", "p95", "p999"), where the
 *     vector would be; a quantile without a name, or not above the previous
 *     named one, stays in a list under the vector's own name;
 *   - a µs timestamp (fb_is_time) is followed by NAME_iso, the same instant
 *     as ISO 8601 UTC text, as the logs write it; null when NAME is 0, the
 *     schemas' "not set". */

/* labels, attrs */
static int fb_is_keyvalue_vec(const fb_field_desc *f)
{
    if (!f->is_vector || f->base != FB_TABLE || f->sub->nfields != 2)
        return 0;
    const fb_field_desc *k = &f->sub->fields[0], *v = &f->sub->fields[1];
    return !strcmp(k->name, "key") && k->base == FB_STRING && !k->is_vector &&
           !strcmp(v->name, "value") && v->base == FB_STRING && !v->is_vector;
}

/* quantiles */
static int fb_is_quantile_vec(const fb_field_desc *f)
{
    if (!f->is_vector || f->base != FB_STRUCT || f->sub->nfields != 2)
        return 0;
    const fb_field_desc *q = &f->sub->fields[0], *v = &f->sub->fields[1];
    return !strcmp(q->name, "q") && q->base == FB_F64 && !strcmp(v->name, "value") && v->base == FB_F64;
}

/* Timestamps are longs in µs (schemas/common.fbs) named ts, *_at or window_start/window_end. */
static int fb_is_time(const fb_field_desc *f)
{
    if (f->is_vector || f->base != FB_I64 || f->enm)
        return 0;
    size_t n = strlen(f->name);
    return !strcmp(f->name, "ts") || (n > 3 && !strcmp(f->name + n - 3, "_at")) ||
           !strcmp(f->name, "window_start") || !strcmp(f->name, "window_end");
}

#define FB_QNAME_DIGITS 20   /* longest quantile name: p and this many digits */

/* "p" and the decimal digits of q after "0.": the fewest that read back to
 * q, at least two (0.5 -> p50, 0.95 -> p95, 0.999 -> p999, 0.05 -> p05),
 * with p0 for 0 and p100 for 1. Every name stands for one q, so the name
 * alone reads back. 0 if q has none: NaN, -0, outside [0, 1], or more than
 * FB_QNAME_DIGITS digits. buf: FB_QNAME_DIGITS + 2 bytes. */
int fb_quantile_name(double q, char *buf)
{
    if (!(q >= 0 && q <= 1) || __builtin_signbit(q))
        return 0;
    if (q == 0 || q == 1) {
        strcpy(buf, q == 0 ? "p0" : "p100");
        return 1;
    }
    char tmp[FB_QNAME_DIGITS + 8];
    for (int k = 1; k <= FB_QNAME_DIGITS; k++) {
        snprintf(tmp, sizeof tmp, "%.*f", k, q);
        if (strtod(tmp, NULL) != q)
            continue;
        /* tmp is "0.DIGITS"; the last digit is not 0 (k-1 digits would do) */
        buf[0] = 'p';
        memcpy(buf + 1, tmp + 2, (size_t)k);
        if (k == 1)
            buf[++k] = '0';
        buf[k + 1] = 0;
        return 1;
    }
    return 0;
}

/* The q a quantile name stands for: 0, or -1 if name is not one. "p5" is
 * refused (it would be 0.5, not the 5th percentile: write p05 or p50). */
static int fb_quantile_parse(const char *s, size_t len, double *q)
{
    if (len < 2 || len > FB_QNAME_DIGITS + 1 || s[0] != 'p')
        return -1;
    for (size_t i = 1; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    if (len == 2) {
        if (s[1] != '0')
            return -1;
        *q = 0;
        return 0;
    }
    if (len == 4 && !memcmp(s, "p100", 4)) {
        *q = 1;
        return 0;
    }
    char tmp[FB_QNAME_DIGITS + 4] = "0.";
    memcpy(tmp + 2, s + 1, len - 1);
    tmp[len + 1] = 0;
    *q = strtod(tmp, NULL);
    return 0;
}

static const char *fb_enum_name(const fb_enum_desc *e, int64_t v)
{
    int lo = 0, hi = e->nvals - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (e->vals[mid].value == v)
            return e->vals[mid].name;
        if (e->vals[mid].value < v)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

static void fb_json_scalar(const fb_field_desc *f, const void *p, json_writer *w);
static void fb_json_table(const fb_desc *t, const void *rec, json_writer *w, fb_json_style style);

static void fb_json_struct(const fb_desc *s, const void *p, json_writer *w)
{
    jw_obj_begin(w);
    for (int i = 0; i < s->nfields; i++) {
        const fb_field_desc *f = &s->fields[i];
        jw_key(w, f->name);
        if (f->base == FB_STRUCT)
            fb_json_struct(f->sub, (const char *)p + f->offset, w);
        else
            fb_json_scalar(f, (const char *)p + f->offset, w);
    }
    jw_obj_end(w);
}

static void fb_json_scalar(const fb_field_desc *f, const void *p, json_writer *w)
{
    switch (f->base) {
    case FB_BOOL: jw_bool(w, *(const uint8_t *)p != 0); return;
    case FB_F32: case FB_F64: jw_double(w, fb_load_f(f->base, p)); return;
    case FB_U64: { uint64_t v; memcpy(&v, p, 8); jw_uint(w, v); return; }
    default: break;
    }
    int64_t v = fb_load_i(f->base, p);
    if (f->enm) {
        const char *name = fb_enum_name(f->enm, v);
        if (name) {   /* out-of-range values print as numbers, as flatc does */
            jw_cstr(w, name);
            return;
        }
    }
    jw_int(w, v);
}

static size_t fb_vec_elem_size(const fb_field_desc *f)
{
    return f->base == FB_STRING ? sizeof(fb_str) : f->base == FB_TABLE ? f->sub->size : fb_inline_size(f);
}

/* Elements start..n of a vector as a JSON array; skip (if not NULL) marks
 * the ones left out (quantiles written as named fields). */
static void fb_json_vector(const fb_field_desc *f, const char *arr, uint32_t n, const uint8_t *skip,
                           json_writer *w, fb_json_style style)
{
    jw_arr_begin(w);
    size_t esize = fb_vec_elem_size(f);
    for (uint32_t i = 0; i < n; i++) {
        if (skip && skip[i])
            continue;
        const char *e = arr + (size_t)i * esize;
        if (f->base == FB_STRING) {
            const fb_str *s = (const fb_str *)e;
            jw_str(w, s->ptr ? s->ptr : "", s->ptr ? s->len : 0);
        } else if (f->base == FB_TABLE) {
            fb_json_table(f->sub, e, w, style);
        } else if (f->base == FB_STRUCT) {
            fb_json_struct(f->sub, e, w);
        } else {
            fb_json_scalar(f, e, w);
        }
    }
    jw_arr_end(w);
}

/* labels as {"endpoint":"/api/recs"}; a pair without a key cannot be a
 * member, so such a vector stays a list of {key, value}. */
static void fb_jq_keyvalues(const fb_field_desc *f, const char *arr, uint32_t n, json_writer *w)
{
    const fb_desc *kv = f->sub;
    size_t ko = kv->fields[0].offset, vo = kv->fields[1].offset;
    jw_key(w, f->name);
    for (uint32_t i = 0; i < n; i++)
        if (!((const fb_str *)(arr + (size_t)i * kv->size + ko))->ptr) {
            fb_json_vector(f, arr, n, NULL, w, FB_JSON_JQ);
            return;
        }
    jw_obj_begin(w);
    for (uint32_t i = 0; i < n; i++) {
        const fb_str *k = (const fb_str *)(arr + (size_t)i * kv->size + ko);
        const fb_str *v = (const fb_str *)(arr + (size_t)i * kv->size + vo);
        jw_key_n(w, k->ptr, k->len);
        jw_str(w, v->ptr, v->len);   /* absent value: null */
    }
    jw_obj_end(w);
}

static int fb_table_has_field(const fb_desc *t, const char *name)
{
    for (int i = 0; i < t->nfields; i++)
        if (!strcmp(t->fields[i].name, name))
            return 1;
    return 0;
}

/* quantiles as p50, p95, ...: each one with a name that is above the last
 * named one (so no name repeats and the order reads back); the rest, if
 * any, as a list under the vector's name. */
static void fb_jq_quantiles(const fb_desc *t, const fb_field_desc *f, const char *arr, uint32_t n,
                            json_writer *w)
{
    const fb_desc *s = f->sub;
    size_t qo = s->fields[0].offset, vo = s->fields[1].offset;
    uint8_t small[64], *named = n <= sizeof small ? small : malloc(n);
    if (!named)
        abort();   /* as the arena does when memory runs out */
    uint32_t nlisted = 0;
    double last = -1;
    char name[FB_QNAME_DIGITS + 2];
    for (uint32_t i = 0; i < n; i++) {
        const char *e = arr + (size_t)i * s->size;
        double q = fb_load_f(FB_F64, e + qo);
        named[i] = q > last && fb_quantile_name(q, name) && !fb_table_has_field(t, name);
        if (!named[i]) {
            nlisted++;
            continue;
        }
        last = q;
        jw_key(w, name);
        jw_double(w, fb_load_f(FB_F64, e + vo));
    }
    if (nlisted) {
        jw_key(w, f->name);
        fb_json_vector(f, arr, n, named, w, FB_JSON_JQ);
    }
    if (named != small)
        free(named);
}

static void fb_json_table(const fb_desc *t, const void *recv, json_writer *w, fb_json_style style)
{
    const char *rec = recv;
    int jq = style == FB_JSON_JQ;
    jw_obj_begin(w);
    for (int i = 0; i < t->nfields; i++) {
        const fb_field_desc *f = &t->fields[i];
        const void *p = rec + f->offset;
        if (f->is_vector) {
            const char *arr;
            uint32_t n;
            memcpy(&arr, p, sizeof arr);
            memcpy(&n, rec + f->count_offset, 4);
            if (!arr)
                n = 0;
            if (jq && fb_is_keyvalue_vec(f)) {
                fb_jq_keyvalues(f, arr, n, w);
            } else if (jq && fb_is_quantile_vec(f)) {
                fb_jq_quantiles(t, f, arr, n, w);
            } else if (arr || jq) {
                jw_key(w, f->name);
                fb_json_vector(f, arr, n, NULL, w, style);
            }
        } else if (f->base == FB_STRING) {
            const fb_str *s = p;
            if (!s->ptr && !jq)
                continue;
            jw_key(w, f->name);
            jw_str(w, s->ptr, s->len);   /* absent: null */
        } else if (f->base == FB_TABLE) {
            const void *sub;
            memcpy(&sub, p, sizeof sub);
            if (!sub && !jq)
                continue;
            jw_key(w, f->name);
            if (sub)
                fb_json_table(f->sub, sub, w, style);
            else
                jw_null(w);
        } else if (f->base == FB_STRUCT) {
            jw_key(w, f->name);
            fb_json_struct(f->sub, p, w);
        } else {
            if (!jq && fb_is_default(f, p))
                continue;
            jw_key(w, f->name);
            fb_json_scalar(f, p, w);
            if (jq && fb_is_time(f)) {
                char key[64], iso[48];
                int64_t us;
                memcpy(&us, p, 8);
                snprintf(key, sizeof key, "%s_iso", f->name);
                jw_key(w, key);
                if (us == 0)   /* the default: not set (an alert's ends_at while firing) */
                    jw_null(w);
                else
                    jw_str(w, iso, (size_t)time_format_iso(us, iso));
            }
        }
    }
    jw_obj_end(w);
}

void fb_to_json_style(const fb_desc *d, const void *rec, json_writer *w, fb_json_style style)
{
    if (d->is_struct)
        fb_json_struct(d, rec, w);
    else
        fb_json_table(d, rec, w, style);
}

void fb_to_json(const fb_desc *d, const void *rec, json_writer *w)
{
    fb_to_json_style(d, rec, w, FB_JSON_FLATC);
}

int fb_json_style_parse(const char *s, fb_json_style *style)
{
    if (!strcmp(s, "jq"))
        *style = FB_JSON_JQ;
    else if (!strcmp(s, "flatc"))
        *style = FB_JSON_FLATC;
    else
        return -1;
    return 0;
}

/* ---- from JSON ------------------------------------------------------------ */

typedef struct fb_fj {
    const json_doc *doc;
    arena *a;
    char *err; size_t errlen;
    /* where we are, for error messages: field names and vector indexes */
    struct { const char *name; int64_t index; } path[FB_MAX_DEPTH * 2 + 4];
    int depth;
} fb_fj;

__attribute__((format(printf, 2, 3)))
static int fb_fj_fail(fb_fj *c, const char *fmt, ...)
{
    if (!c->err || !c->errlen)
        return -1;
    size_t n = 0;
    if (c->depth > 0) {
        n += (size_t)snprintf(c->err, c->errlen, "field ");
        for (int i = 0; i < c->depth && n < c->errlen; i++) {
            if (c->path[i].name)
                n += (size_t)snprintf(c->err + n, c->errlen - n, "%s%s", i ? "." : "", c->path[i].name);
            else
                n += (size_t)snprintf(c->err + n, c->errlen - n, "[%lld]", (long long)c->path[i].index);
        }
        if (n < c->errlen)
            n += (size_t)snprintf(c->err + n, c->errlen - n, ": ");
    }
    if (n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int fb_fj_push(fb_fj *c, const char *name, int64_t index)
{
    if (c->depth >= (int)(sizeof c->path / sizeof c->path[0]))
        return fb_fj_fail(c, "nested too deeply");
    c->path[c->depth].name = name;
    c->path[c->depth].index = index;
    c->depth++;
    return 0;
}

static int fb_fj_int_range(int base, int64_t v)
{
    switch (base) {
    case FB_BOOL: return v == 0 || v == 1;
    case FB_I8: return v >= INT8_MIN && v <= INT8_MAX;
    case FB_U8: return v >= 0 && v <= UINT8_MAX;
    case FB_I16: return v >= INT16_MIN && v <= INT16_MAX;
    case FB_U16: return v >= 0 && v <= UINT16_MAX;
    case FB_I32: return v >= INT32_MIN && v <= INT32_MAX;
    case FB_U32: return v >= 0 && v <= (int64_t)UINT32_MAX;
    case FB_U64: return v >= 0;
    default: return 1;
    }
}

static int fb_fj_scalar(fb_fj *c, const fb_field_desc *f, const json_node *n, void *dst)
{
    int base = f->base;
    if (base == FB_BOOL) {
        if (n->type == JSON_TRUE || n->type == JSON_FALSE) {
            *(uint8_t *)dst = n->type == JSON_TRUE;
            return 0;
        }
        if (n->type == JSON_NUMBER && n->is_int && (n->i == 0 || n->i == 1)) {
            *(uint8_t *)dst = (uint8_t)n->i;
            return 0;
        }
        return fb_fj_fail(c, "expected a bool, got %s", json_type_name(n->type));
    }
    if (fb_is_float(base)) {
        if (n->type == JSON_NUMBER) {
            double v = n->num;
            if (v == 0 && n->str && n->str[0] == '-')
                v = -0.0;   /* the reader may have taken "-0" as the integer 0 */
            fb_store_f(base, dst, v);
            return 0;
        }
        if (n->type == JSON_STRING) {   /* flatc's spellings of non-finite values */
            const char *s = n->str;
            double v;
            if (!strcmp(s, "nan") || !strcmp(s, "+nan") || !strcmp(s, "-nan"))
                v = s[0] == '-' ? -__builtin_nan("") : __builtin_nan("");
            else if (!strcmp(s, "inf") || !strcmp(s, "+inf") || !strcmp(s, "infinity"))
                v = __builtin_inf();
            else if (!strcmp(s, "-inf") || !strcmp(s, "-infinity"))
                v = -__builtin_inf();
            else
                return fb_fj_fail(c, "expected a number, got string \"%.40s\"", s);
            fb_store_f(base, dst, v);
            return 0;
        }
        return fb_fj_fail(c, "expected a number, got %s", json_type_name(n->type));
    }
    /* integers and enums */
    if (f->enm && n->type == JSON_STRING) {
        for (int i = 0; i < f->enm->nvals; i++)
            if (strlen(f->enm->vals[i].name) == n->len && memcmp(f->enm->vals[i].name, n->str, n->len) == 0) {
                fb_store_i(base, dst, f->enm->vals[i].value);
                return 0;
            }
        return fb_fj_fail(c, "\"%.40s\" is not a %s", n->str, f->enm->name);
    }
    if (n->type != JSON_NUMBER)
        return fb_fj_fail(c, "expected %s, got %s", f->enm ? "an enum name or number" : "an integer",
                          json_type_name(n->type));
    if (n->is_int) {
        if (!fb_fj_int_range(base, n->i))
            return fb_fj_fail(c, "%lld is out of range", (long long)n->i);
        fb_store_i(base, dst, n->i);
        return 0;
    }
    if (base == FB_U64 && n->str) {   /* above INT64_MAX: the exact text */
        const char *s = n->str;
        size_t k = 0;
        while (s[k] >= '0' && s[k] <= '9')
            k++;
        if (k > 0 && k <= 20 && (s[k] == 0 || s[k] == ',' || s[k] == '}' || s[k] == ']' ||
                                 s[k] == ' ' || s[k] == '\t' || s[k] == '\r' || s[k] == '\n')) {
            char tmp[24];
            memcpy(tmp, s, k);
            tmp[k] = 0;
            errno = 0;
            unsigned long long v = strtoull(tmp, NULL, 10);
            if (errno == 0) {
                memcpy(dst, &(uint64_t){ v }, 8);
                return 0;
            }
        }
        return fb_fj_fail(c, "not an integer in range");
    }
    return fb_fj_fail(c, "expected an integer, got %.17g", n->num);
}

static int fb_fj_table(fb_fj *c, const fb_desc *t, const json_node *obj, void *out);

static int fb_fj_struct(fb_fj *c, const fb_desc *s, const json_node *obj, void *out)
{
    if (obj->type != JSON_OBJECT)
        return fb_fj_fail(c, "expected an object, got %s", json_type_name(obj->type));
    for (const json_node *m = json_child(c->doc, obj); m; m = json_next(c->doc, m)) {
        const fb_field_desc *f = NULL;
        for (int i = 0; i < s->nfields; i++)
            if (strcmp(s->fields[i].name, m->keystr) == 0)
                f = &s->fields[i];
        if (!f)
            return fb_fj_fail(c, "unknown field \"%.40s\" in %s", m->keystr, s->name);
        if (m->type == JSON_NULL) {   /* what a NaN or infinity prints as */
            if (fb_is_float(f->base))
                fb_store_f(f->base, (char *)out + f->offset, __builtin_nan(""));
            continue;
        }
        if (fb_fj_push(c, f->name, 0) < 0)
            return -1;
        int rc = f->base == FB_STRUCT ? fb_fj_struct(c, f->sub, m, (char *)out + f->offset)
                                      : fb_fj_scalar(c, f, m, (char *)out + f->offset);
        if (rc < 0)
            return -1;
        c->depth--;
    }
    return 0;
}

/* labels in the jq form: {"endpoint":"/api/recs"}, a value null when absent */
static int fb_fj_keyvalues(fb_fj *c, const fb_field_desc *f, const json_node *obj, char *rec)
{
    const fb_desc *kv = f->sub;
    size_t ko = kv->fields[0].offset, vo = kv->fields[1].offset;
    uint32_t n = obj->len, i = 0;
    char *arr = arena_alloc(c->a, n ? (size_t)n * kv->size : 1, kv->align);
    for (const json_node *m = json_child(c->doc, obj); m && i < n; m = json_next(c->doc, m), i++) {
        char *dst = arr + (size_t)i * kv->size;
        fb_init_record(kv, dst);
        *(fb_str *)(dst + ko) = (fb_str){ arena_strndup(c->a, m->keystr, m->keylen), m->keylen };
        if (m->type == JSON_STRING) {
            *(fb_str *)(dst + vo) = (fb_str){ arena_strndup(c->a, m->str, m->len), m->len };
        } else if (m->type != JSON_NULL) {
            if (fb_fj_push(c, m->keystr, 0) < 0)
                return -1;
            return fb_fj_fail(c, "expected a string or null, got %s", json_type_name(m->type));
        }
    }
    memcpy(rec + f->offset, &arr, sizeof arr);
    memcpy(rec + f->count_offset, &i, 4);
    return 0;
}

static int fb_fj_vector(fb_fj *c, const fb_field_desc *f, const json_node *arrn, char *rec)
{
    if (arrn->type == JSON_OBJECT && fb_is_keyvalue_vec(f))
        return fb_fj_keyvalues(c, f, arrn, rec);
    if (arrn->type != JSON_ARRAY)
        return fb_fj_fail(c, "expected an array, got %s", json_type_name(arrn->type));
    uint32_t n = arrn->len;
    size_t esize = f->base == FB_STRING ? sizeof(fb_str) : f->base == FB_TABLE ? f->sub->size
                 : fb_inline_size(f);
    size_t ealign = f->base == FB_STRING ? _Alignof(fb_str) : f->base == FB_TABLE ? f->sub->align
                  : fb_inline_align(f);
    char *arr = arena_alloc(c->a, n ? (size_t)n * esize : 1, ealign);
    uint32_t i = 0;
    for (const json_node *e = json_child(c->doc, arrn); e && i < n; e = json_next(c->doc, e), i++) {
        char *dst = arr + (size_t)i * esize;
        if (fb_fj_push(c, NULL, i) < 0)
            return -1;
        int rc = 0;
        if (f->base == FB_STRING) {
            if (e->type != JSON_STRING)
                rc = fb_fj_fail(c, "expected a string, got %s", json_type_name(e->type));
            else
                *(fb_str *)dst = (fb_str){ arena_strndup(c->a, e->str, e->len), e->len };
        } else if (f->base == FB_TABLE) {
            fb_init_record(f->sub, dst);
            rc = fb_fj_table(c, f->sub, e, dst);
        } else if (f->base == FB_STRUCT) {
            rc = fb_fj_struct(c, f->sub, e, dst);
        } else if (e->type != JSON_NULL) {
            rc = fb_fj_scalar(c, f, e, dst);
        } else {   /* null: what a NaN or infinity prints as */
            memset(dst, 0, esize);
            if (fb_is_float(f->base))
                fb_store_f(f->base, dst, __builtin_nan(""));
        }
        if (rc < 0)
            return -1;
        c->depth--;
    }
    memcpy(rec + f->offset, &arr, sizeof arr);
    memcpy(rec + f->count_offset, &i, 4);
    return 0;
}

/* NAME_iso beside the µs time NAME: with NAME given, it must be the same
 * instant (as written, or parsed); alone, it sets NAME. */
static int fb_fj_time_iso(fb_fj *c, const fb_field_desc *f, const json_node *iso, int given, void *dst)
{
    int64_t us, given_us;
    memcpy(&given_us, dst, 8);
    if (iso->type != JSON_STRING)
        return fb_fj_fail(c, "expected an ISO 8601 time or null, got %s", json_type_name(iso->type));
    if (given) {
        char text[48];
        int n = time_format_iso(given_us, text);
        if (((size_t)n == iso->len && !memcmp(text, iso->str, iso->len)) ||
            (time_parse_iso(iso->str, iso->len, &us) == 0 && us == given_us))
            return 0;
        return fb_fj_fail(c, "\"%.40s\" is not the time in %s (%s): give one of the two", iso->str,
                          f->name, text);
    }
    if (time_parse_iso(iso->str, iso->len, &us) < 0)
        return fb_fj_fail(c, "\"%.40s\" is not an ISO 8601 time (2026-11-23T10:00:00Z)", iso->str);
    memcpy(dst, &us, 8);
    return 0;
}

typedef struct fb_fj_named { double q, value; uint32_t order; } fb_fj_named;

static int fb_fj_named_cmp(const void *a, const void *b)
{
    const fb_fj_named *x = a, *y = b;
    if (x->q != y->q)
        return x->q < y->q ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Quantiles given as named fields (p50, p95): in order of q, then those of
 * the list under the vector's name, if one was given. */
static int fb_fj_quantiles(fb_fj *c, const fb_desc *t, const fb_field_desc *f, const json_node *obj,
                           uint32_t nnamed, char *rec)
{
    const fb_desc *s = f->sub;
    fb_fj_named *named = arena_alloc(c->a, (size_t)nnamed * sizeof *named, _Alignof(fb_fj_named));
    uint32_t k = 0;
    for (const json_node *m = json_child(c->doc, obj); m && k < nnamed; m = json_next(c->doc, m)) {
        double q;
        if (!m->keystr || fb_table_has_field(t, m->keystr) ||
            fb_quantile_parse(m->keystr, m->keylen, &q) < 0)
            continue;
        named[k].q = q;
        named[k].order = k;
        named[k].value = __builtin_nan("");   /* null: a quantile has no default */
        if (m->type != JSON_NULL) {
            if (fb_fj_push(c, m->keystr, 0) < 0 || fb_fj_scalar(c, &s->fields[1], m, &named[k].value) < 0)
                return -1;
            c->depth--;
        }
        k++;
    }
    qsort(named, k, sizeof *named, fb_fj_named_cmp);
    const char *old;
    uint32_t nold;
    memcpy(&old, rec + f->offset, sizeof old);
    memcpy(&nold, rec + f->count_offset, 4);
    if (!old)
        nold = 0;
    uint32_t n = k + nold;
    char *arr = arena_alloc(c->a, (size_t)n * s->size, s->align);
    size_t qo = s->fields[0].offset, vo = s->fields[1].offset;
    for (uint32_t i = 0; i < k; i++) {
        memset(arr + (size_t)i * s->size, 0, s->size);
        fb_store_f(FB_F64, arr + (size_t)i * s->size + qo, named[i].q);
        fb_store_f(FB_F64, arr + (size_t)i * s->size + vo, named[i].value);
    }
    if (nold)
        memcpy(arr + (size_t)k * s->size, old, (size_t)nold * s->size);
    memcpy(rec + f->offset, &arr, sizeof arr);
    memcpy(rec + f->count_offset, &n, 4);
    return 0;
}

#define FB_FJ_MAX_FIELDS 256   /* fields per table tracked for repeats and NAME_iso */

static int fb_fj_table(fb_fj *c, const fb_desc *t, const json_node *obj, void *out)
{
    if (obj->type != JSON_OBJECT)
        return fb_fj_fail(c, "expected an object, got %s", json_type_name(obj->type));
    const json_node *given[FB_FJ_MAX_FIELDS] = { 0 }, *iso[FB_FJ_MAX_FIELDS] = { 0 };
    const fb_field_desc *quantiles = NULL;
    for (int i = 0; i < t->nfields && !quantiles; i++)
        if (fb_is_quantile_vec(&t->fields[i]))
            quantiles = &t->fields[i];
    uint32_t nnamed = 0;
    char *rec = out;
    for (const json_node *m = json_child(c->doc, obj); m; m = json_next(c->doc, m)) {
        const char *key = m->keystr ? m->keystr : "";
        int fi = -1;
        for (int i = 0; i < t->nfields; i++)
            if (t->fields[i].name[0] == key[0] && strcmp(t->fields[i].name, key) == 0) {
                fi = i;
                break;
            }
        if (fi < 0) {
            /* what the jq form adds: NAME_iso, quantile names */
            size_t klen = strlen(key);
            double q;
            if (klen > 4 && !strcmp(key + klen - 4, "_iso")) {
                for (int i = 0; i < t->nfields && i < FB_FJ_MAX_FIELDS; i++)
                    if (fb_is_time(&t->fields[i]) && strlen(t->fields[i].name) == klen - 4 &&
                        !memcmp(t->fields[i].name, key, klen - 4))
                        fi = i;
                if (fi >= 0) {
                    if (iso[fi])
                        return fb_fj_fail(c, "field \"%s\" given twice", key);
                    iso[fi] = m;
                    continue;
                }
            } else if (!strcmp(key, "_kafka")) {
                continue;   /* where fbcat --meta found the record: not part of it */
            } else if (quantiles && fb_quantile_parse(key, klen, &q) == 0) {
                nnamed++;
                continue;
            } else if (quantiles && key[0] == 'p' && klen > 1 && strspn(key + 1, "0123456789") == klen - 1) {
                return fb_fj_fail(c, "\"%.40s\" is not a quantile name (p and the digits after \"0.\", "
                                  "at least two: p05 for q=0.05, p50, p999; p0, p100)", key);
            }
            return fb_fj_fail(c, "unknown field \"%.40s\" in %s", key, t->name);
        }
        const fb_field_desc *f = &t->fields[fi];
        if (fi < FB_FJ_MAX_FIELDS) {
            if (given[fi])
                return fb_fj_fail(c, "field \"%s\" given twice", f->name);
            given[fi] = m;
        }
        if (m->type == JSON_NULL) {
            /* a number: what NaN (or infinity) prints as; else absent, the default */
            if (!f->is_vector && fb_is_float(f->base))
                fb_store_f(f->base, rec + f->offset, __builtin_nan(""));
            continue;
        }
        if (fb_fj_push(c, f->name, 0) < 0)
            return -1;
        int rc;
        if (f->is_vector) {
            rc = fb_fj_vector(c, f, m, rec);
        } else if (f->base == FB_STRING) {
            if (m->type != JSON_STRING)
                rc = fb_fj_fail(c, "expected a string, got %s", json_type_name(m->type));
            else {
                *(fb_str *)(rec + f->offset) = (fb_str){ arena_strndup(c->a, m->str, m->len), m->len };
                rc = 0;
            }
        } else if (f->base == FB_TABLE) {
            void *sub = arena_alloc(c->a, f->sub->size, f->sub->align);
            fb_init_record(f->sub, sub);
            rc = fb_fj_table(c, f->sub, m, sub);
            memcpy(rec + f->offset, &sub, sizeof sub);
        } else if (f->base == FB_STRUCT) {
            rc = fb_fj_struct(c, f->sub, m, rec + f->offset);
        } else {
            rc = fb_fj_scalar(c, f, m, rec + f->offset);
        }
        if (rc < 0)
            return -1;
        c->depth--;
    }
    for (int i = 0; i < t->nfields && i < FB_FJ_MAX_FIELDS; i++) {
        if (!iso[i] || iso[i]->type == JSON_NULL)
            continue;
        if (fb_fj_push(c, iso[i]->keystr, 0) < 0)
            return -1;
        if (fb_fj_time_iso(c, &t->fields[i], iso[i], given[i] && given[i]->type != JSON_NULL,
                           rec + t->fields[i].offset) < 0)
            return -1;
        c->depth--;
    }
    if (nnamed) {
        if (fb_fj_push(c, quantiles->name, 0) < 0 || fb_fj_quantiles(c, t, quantiles, obj, nnamed, rec) < 0)
            return -1;
        c->depth--;
    }
    return 0;
}

int fb_from_json(const fb_desc *d, const json_doc *doc, const json_node *obj,
                 void *out, arena *a, char *err, size_t errlen)
{
    fb_fj c;
    c.doc = doc;
    c.a = a;
    c.err = err;
    c.errlen = errlen;
    c.depth = 0;
    fb_init_record(d, out);
    if (!obj)
        return fb_fj_fail(&c, "no JSON value");
    int rc = d->is_struct ? fb_fj_struct(&c, d, obj, out) : fb_fj_table(&c, d, obj, out);
    if (rc < 0)
        fb_init_record(d, out);
    return rc;
}
