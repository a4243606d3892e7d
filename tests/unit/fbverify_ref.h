/* fbverify_ref.h — the record verifier+decoder as it was before the
 * per-type plans (libstream/fbrec.c up to dd82148), kept verbatim but for
 * the names (fb_dec_* -> ref_dec_*, fbrec_decode/fbrec_verify -> ref_decode /
 * ref_verify): the reference the planned walker must agree with, buffer by
 * buffer, on accept/refuse, the message and the decoded record
 * (tests/unit/test_fbverify.c, tests/fuzz/fuzz_decode.c). */
#ifndef STREAMREC_FBVERIFY_REF_H
#define STREAMREC_FBVERIFY_REF_H
#include <stdarg.h>
#include <stdio.h>
#include "fbrec.h"
#include "fbsgen/fbdesc.h"
#include "fbfield.h"


typedef struct ref_dec {
    const uint8_t *buf;
    uint64_t len;
    uint64_t base;        /* 4 if size-prefixed: alignment counts from buf-4 */
    arena *a;
    uint64_t tables;
    uint64_t budget;      /* arena bytes this decode may still take */
    int verify_only;      /* fbrec_verify: walk and check, store nothing */
    char *err; size_t errlen;
} ref_dec;

__attribute__((format(printf, 3, 4)))
static int ref_dec_fail(ref_dec *d, uint64_t off, const char *fmt, ...)
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

static inline uint16_t ref_rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* pos..pos+n inside the buffer and pos aligned to align. */
__attribute__((noinline, cold))
static int ref_dec_check_fail(ref_dec *d, uint64_t pos, uint64_t n, uint64_t align, const char *what)
{
    if (pos > d->len || n > d->len - pos)
        return ref_dec_fail(d, pos, "%s (%llu bytes) extends past the end of the buffer (%llu bytes)",
                           what, (unsigned long long)n, (unsigned long long)d->len);
    if (align > 1 && ((pos + d->base) & (align - 1)))
        return ref_dec_fail(d, pos, "%s is misaligned (needs %llu-byte alignment)", what,
                           (unsigned long long)align);
    return 0;
}

/* The hot path inline; the message is built out of line. */
static inline int ref_dec_check(ref_dec *d, uint64_t pos, uint64_t n, uint64_t align, const char *what)
{
    if (__builtin_expect(pos <= d->len && n <= d->len - pos && !((pos + d->base) & (align - 1)), 1))
        return 0;
    return ref_dec_check_fail(d, pos, n, align, what);
}

static void *ref_dec_alloc(ref_dec *d, uint64_t size, size_t align, uint64_t pos)
{
    static char verify_only_sink;
    if (d->verify_only) {   /* same budget as a decode, nothing allocated */
        if (size > d->budget) {
            ref_dec_fail(d, pos, "decoded size exceeds the limit for a %llu-byte buffer",
                        (unsigned long long)d->len);
            return NULL;
        }
        d->budget -= size;
        return &verify_only_sink;
    }
    if (!d->a) {
        ref_dec_fail(d, pos, "vector present but no arena given");
        return NULL;
    }
    if (size > d->budget) {
        ref_dec_fail(d, pos, "decoded size exceeds the limit for a %llu-byte buffer",
                    (unsigned long long)d->len);
        return NULL;
    }
    d->budget -= size;
    return arena_alloc(d->a, size ? (size_t)size : 1, align);
}

/* Follow the uoffset at pos: the target position, or -1 after failing. */
static inline int64_t ref_dec_deref(ref_dec *d, uint64_t pos, const char *what)
{
    if (ref_dec_check(d, pos, 4, 4, what) < 0)
        return -1;
    uint32_t o = fb_read_u32(d->buf + pos);
    /* as the reference verifier: an offset may not point at itself, and
     * must be a positive soffset (buffers are at most 2 GiB) */
    if (o == 0)
        return ref_dec_fail(d, pos, "%s offset is 0 (points at itself)", what);
    if (o > INT32_MAX)
        return ref_dec_fail(d, pos, "%s offset %lu is over 2 GiB", what, (unsigned long)o);
    uint64_t t = pos + o;
    if (t >= d->len)
        return ref_dec_fail(d, pos, "%s offset points past the end of the buffer", what);
    return (int64_t)t;
}

static int ref_dec_string(ref_dec *d, uint64_t pos, fb_str *out)
{
    if (ref_dec_check(d, pos, 4, 4, "string length") < 0)
        return -1;
    uint64_t n = fb_read_u32(d->buf + pos);
    if (n + 1 > d->len - pos - 4)
        return ref_dec_fail(d, pos, "string of %llu bytes extends past the end of the buffer",
                           (unsigned long long)n);
    if (d->buf[pos + 4 + n] != 0)
        return ref_dec_fail(d, pos + 4 + n, "string is not NUL-terminated");
    out->ptr = (const char *)d->buf + pos + 4;
    out->len = (uint32_t)n;
    return 0;
}

static int ref_dec_table(ref_dec *d, const fbrec_desc *t, uint64_t pos, void *out, int depth);

/* A scalar (or struct) at the verified position p into C memory at dst. */
static void ref_dec_scalar(int base, const uint8_t *p, void *dst, size_t size)
{
    memcpy(dst, p, size);
    if (base == FB_BOOL)
        *(uint8_t *)dst = *p != 0;
}

static int ref_dec_vector(ref_dec *d, const fbrec_field_desc *f, uint64_t pos, char *rec, int depth)
{
    if (ref_dec_check(d, pos, 4, 4, "vector length") < 0)
        return -1;
    uint64_t n = fb_read_u32(d->buf + pos);
    uint64_t esize = fb_inline_size(f), data = pos + 4;
    if (n > (d->len - data) / esize)
        return ref_dec_fail(d, pos, "vector of %llu elements extends past the end of the buffer",
                           (unsigned long long)n);
    if (n && ref_dec_check(d, data, n * esize, fb_inline_align(f), "vector data") < 0)
        return -1;
    size_t csize = f->base == FB_STRING ? sizeof(fb_str) : f->base == FB_TABLE ? f->sub->size : esize;
    size_t calign = f->base == FB_STRING ? _Alignof(fb_str) : f->base == FB_TABLE ? f->sub->align
                  : fb_inline_align(f);
    char *arr = ref_dec_alloc(d, n * csize, calign, pos);
    if (!arr)
        return -1;
    if (f->base == FB_STRING) {
        fb_str *s = (fb_str *)arr, scratch;
        for (uint64_t i = 0; i < n; i++) {
            int64_t t = ref_dec_deref(d, data + 4 * i, "string");
            if (t < 0 || ref_dec_string(d, (uint64_t)t, d->verify_only ? &scratch : &s[i]) < 0)
                return -1;
        }
    } else if (f->base == FB_TABLE) {
        for (uint64_t i = 0; i < n; i++) {
            int64_t t = ref_dec_deref(d, data + 4 * i, "table");
            if (t < 0)
                return -1;
            void *elem = d->verify_only ? NULL : arr + i * csize;
            if (elem)
                fbrec_init(f->sub, elem);
            if (ref_dec_table(d, f->sub, (uint64_t)t, elem, depth + 1) < 0)
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

static int ref_dec_table(ref_dec *d, const fbrec_desc *t, uint64_t pos, void *out, int depth)
{
    if (depth > FB_MAX_DEPTH)
        return ref_dec_fail(d, pos, "tables nested deeper than %d", FB_MAX_DEPTH);
    if (++d->tables > FB_MAX_TABLES)
        return ref_dec_fail(d, pos, "more than %d tables", FB_MAX_TABLES);
    if (ref_dec_check(d, pos, 4, 4, t->name) < 0)
        return -1;
    int64_t vt = (int64_t)pos - (int32_t)fb_read_u32(d->buf + pos);
    if (vt < 0 || (uint64_t)vt + 4 > d->len)
        return ref_dec_fail(d, pos, "%s vtable offset points outside the buffer", t->name);
    if (ref_dec_check(d, (uint64_t)vt, 4, 2, "vtable") < 0)
        return -1;
    uint64_t vtbytes = ref_rd16(d->buf + vt), objbytes = ref_rd16(d->buf + vt + 2);
    if (vtbytes < 4 || (vtbytes & 1))
        return ref_dec_fail(d, (uint64_t)vt, "bad vtable size %llu", (unsigned long long)vtbytes);
    if (ref_dec_check(d, (uint64_t)vt, vtbytes, 2, "vtable") < 0)
        return -1;
    if (objbytes < 4 || ref_dec_check(d, pos, objbytes, 4, "table") < 0)
        return objbytes < 4 ? ref_dec_fail(d, (uint64_t)vt, "bad table size %llu",
                                          (unsigned long long)objbytes) : -1;
    char *rec = out;
    for (int i = 0; i < t->nfields; i++) {
        const fbrec_field_desc *f = &t->fields[i];
        uint64_t at = 4 + 2 * (uint64_t)f->slot;
        uint64_t vo = at + 2 <= vtbytes ? ref_rd16(d->buf + vt + at) : 0;
        if (!vo)
            continue;
        uint64_t fpos = pos + vo;
        if (f->is_vector) {
            int64_t v = ref_dec_deref(d, fpos, f->name);
            if (v < 0 || ref_dec_vector(d, f, (uint64_t)v, rec, depth) < 0)
                return -1;
        } else if (f->base == FB_STRING) {
            fb_str scratch;
            int64_t s = ref_dec_deref(d, fpos, f->name);
            if (s < 0 || ref_dec_string(d, (uint64_t)s, rec ? (fb_str *)(rec + f->offset) : &scratch) < 0)
                return -1;
        } else if (f->base == FB_TABLE) {
            int64_t s = ref_dec_deref(d, fpos, f->name);
            if (s < 0)
                return -1;
            void *sub = ref_dec_alloc(d, f->sub->size, f->sub->align, fpos);
            if (!sub)
                return -1;
            if (rec)
                fbrec_init(f->sub, sub);
            if (ref_dec_table(d, f->sub, (uint64_t)s, rec ? sub : NULL, depth + 1) < 0)
                return -1;
            if (rec)
                memcpy(rec + f->offset, &sub, sizeof sub);
        } else {
            size_t sz = fb_inline_size(f);
            if (ref_dec_check(d, fpos, sz, fb_inline_align(f), f->name) < 0)
                return -1;
            if (rec)
                ref_dec_scalar(f->base, d->buf + fpos, rec + f->offset, sz);
        }
    }
    return 0;
}

/* Decode into out, or with out NULL only verify: one walker, so the two
 * accept exactly the same buffers. */
static int ref_walk(const fbrec_desc *t, const uint8_t *buf, size_t len, int prefixed,
                   void *out, arena *a, char *err, size_t errlen)
{
    ref_dec d = { .buf = buf, .len = len, .base = prefixed ? 4 : 0, .a = a,
                 .budget = (uint64_t)len * 64 + 65536, .verify_only = out == NULL,
                 .err = err, .errlen = errlen };
    if (out)
        fbrec_init(t, out);
    uint64_t need = t->ident ? 8 : 4;
    if (!buf || len < need)
        return ref_dec_fail(&d, 0, "buffer of %zu bytes is too short for a %s", len, t->name);
    if (t->ident && memcmp(buf + 4, t->ident, 4) != 0) {
        char got[5];
        for (int i = 0; i < 4; i++)
            got[i] = buf[4 + i] >= 0x20 && buf[4 + i] < 0x7f && buf[4 + i] != '"' ? (char)buf[4 + i] : '?';
        got[4] = 0;
        return ref_dec_fail(&d, 4, "identifier \"%s\" is not %s's \"%s\"", got, t->name, t->ident);
    }
    uint64_t root = fb_read_u32(buf);
    if (root == 0)
        return ref_dec_fail(&d, 0, "root offset is 0 (points at itself)");
    if (root >= len)
        return ref_dec_fail(&d, 0, "root offset %llu points past the end of the buffer (%zu bytes)",
                           (unsigned long long)root, len);
    if (ref_dec_table(&d, t, root, out, 1) < 0) {
        if (out)
            fbrec_init(t, out);   /* no half-decoded pointers for the caller */
        return -1;
    }
    return 0;
}

static int ref_decode(const fbrec_desc *t, const uint8_t *buf, size_t len, int prefixed,
              void *out, arena *a, char *err, size_t errlen)
{
    return ref_walk(t, buf, len, prefixed, out, a, err, errlen);
}

static int ref_verify(const fbrec_desc *t, const uint8_t *buf, size_t len, int prefixed,
              char *err, size_t errlen)
{
    return ref_walk(t, buf, len, prefixed, NULL, NULL, err, errlen);
}

#endif
