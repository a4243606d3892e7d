/* fbrec.c — the schema-driven record codec (see fbrec.h): descriptors,
 * verify+decode and encode, for every table type, by walking the
 * descriptors that fbsgen generates (libstream/fbsgen/fbdesc.h). The JSON
 * forms walk the same descriptors in fbjson.c.
 *
 * Verification happens while decoding, in one pass: every position is
 * checked against the buffer length before it is read (all arithmetic in
 * 64 bits, so offsets cannot wrap), and alignment is checked relative to the
 * logical buffer start (4 bytes before buf when the frame was size-prefixed).
 * Work is bounded: nesting depth FB_MAX_DEPTH, FB_MAX_TABLES tables, and the
 * arena bytes a decode may take (a multiple of the input length), so a small
 * hostile buffer whose offsets all point at one big vector cannot make us
 * copy it a million times. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fbrec.h"
#include "fbsgen/fbdesc.h"
#include "fbfield.h"

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
