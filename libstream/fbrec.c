/* fbrec.c — the schema-driven record codec (see fbrec.h): descriptors,
 * verify+decode and encode, for every table type, by walking the
 * descriptors that fbsgen generates (libstream/fbsgen/fbdesc.h). The JSON
 * forms walk the same descriptors in fbjson.c.
 *
 * Verification happens while decoding, in one pass: every position is
 * checked against the buffer length before it is read (all arithmetic in
 * 64 bits, so offsets cannot wrap), and alignment is checked relative to the
 * logical buffer start (4 bytes before buf when the frame was size-prefixed).
 * Both walk a plan per table type laid out once from the descriptors
 * (fb_vplan). fbrec_verify first takes a cheaper walk that only says "good"
 * (fb_verify_table) and falls back to the decode walk for the verdict and
 * the reason; tests/unit/fbverify_ref.h keeps the walker as it was before
 * the plans, and test_fbrec and fuzz_decode compare the two.
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
#include "log.h"

extern const fbrec_desc *const fbrec_gen_roots[];
extern const int fb_gen_nroots;
extern const fbrec_desc *const fbrec_gen_all[];
extern const int fb_gen_nall;

/* ---- descriptors ---------------------------------------------------------- */

const char *fbrec_desc_name(const fbrec_desc *d) { return d->name; }
const char *fbrec_desc_ident(const fbrec_desc *d) { return d->ident; }
size_t fbrec_size(const fbrec_desc *d) { return d->size; }

const fbrec_desc *const *fbrec_root_descs(int *n)
{
    *n = fb_gen_nroots;
    return fbrec_gen_roots;
}

/* Called for every record read: the identifiers compared as 4-byte words,
 * the thread's last match first (a stream is mostly runs of one type). */
const fbrec_desc *fbrec_desc_by_ident(const char *ident4)
{
    static _Thread_local const fbrec_desc *last;
    uint32_t want, have;
    memcpy(&want, ident4, 4);
    if (last) {
        memcpy(&have, last->ident, 4);
        if (have == want)
            return last;
    }
    for (int i = 0; i < fb_gen_nroots; i++) {
        memcpy(&have, fbrec_gen_roots[i]->ident, 4);
        if (have == want)
            return last = fbrec_gen_roots[i];
    }
    return NULL;
}

const fbrec_desc *fbrec_desc_by_name(const char *name)
{
    for (int i = 0; i < fb_gen_nall; i++)
        if (strcmp(fbrec_gen_all[i]->name, name) == 0 || strcmp(fbrec_gen_all[i]->fullname, name) == 0)
            return fbrec_gen_all[i];
    return NULL;
}

static void fb_set_default(const fbrec_field_desc *f, void *p)
{
    if (fb_is_float(f->base))
        fb_store_f(f->base, p, f->def_f);
    else if (f->base == FB_U64 || f->base == FB_U8 || f->base == FB_U16 || f->base == FB_U32)
        fb_store_i(f->base, p, (int64_t)f->def_u);
    else
        fb_store_i(f->base, p, f->def_i);
}

void fbrec_init(const fbrec_desc *d, void *out)
{
    memset(out, 0, d->size);
    if (d->is_struct)
        return;
    for (int i = 0; i < d->nfields; i++) {
        const fbrec_field_desc *f = &d->fields[i];
        if (!f->is_vector && fb_is_scalar(f->base))
            fb_set_default(f, (char *)out + f->offset);
    }
}

static void fb_clone_table(const fbrec_desc *t, const char *src, char *dst, arena *a)
{
    memcpy(dst, src, t->size);
    if (t->is_struct)
        return;
    for (int i = 0; i < t->nfields; i++) {
        const fbrec_field_desc *f = &t->fields[i];
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

void fbrec_clone(const fbrec_desc *d, const void *src, void *dst, arena *a)
{
    fb_clone_table(d, src, dst, a);
}

/* ---- verify + decode ------------------------------------------------------ */

/* What the walker needs of a table type, laid out once from its descriptor
 * (fb_vplans_build): per field, in schema order (the first bad field in
 * schema order is the one reported), its vtable entry, what kind of value
 * it is, its wire size and alignment and its place in the C struct, and
 * for tables the plan of the table type; so walking a table is one loop
 * with one switch, no size switch or descriptor lookups per field. */
enum {
    FB_V_SCALAR, FB_V_BOOL, FB_V_STRING, FB_V_TABLE,
    FB_V_VEC_INLINE, FB_V_VEC_BOOL, FB_V_VEC_STRING, FB_V_VEC_TABLE
};
typedef struct fb_vplan fb_vplan;
typedef struct fb_vscalar {    /* an inline field, for fb_verify_table */
    uint32_t at, size, amask;
} fb_vscalar;
typedef struct fb_vfield {
    uint16_t at;               /* its voffset's place in the vtable: 4 + 2 * slot */
    uint8_t kind;              /* FB_V_* */
    uint32_t size, amask;      /* wire bytes and alignment - 1 (vectors: per element) */
    uint32_t offset, count_offset;  /* in the C struct */
    uint32_t csize, calign;    /* decoded bytes and alignment (vectors: per element; tables: the struct) */
    const fb_vplan *sub;       /* tables and vectors of tables */
    const char *name;
} fb_vfield;
struct fb_vplan {
    const fbrec_desc *d;
    int n;
    const fb_vfield *f;
    /* the same fields split for fb_verify_table: inline ones, then the
     * references (strings, tables, vectors) in schema order */
    int nscalar, nref;
    const fb_vscalar *scalar;
    const fb_vfield *ref;
    const void *init;          /* the record at its defaults (fbrec_init), d->size bytes */
};

static fb_vplan *fb_vplans;    /* one per table type of fbrec_gen_all, built once, kept for the process */
static int fb_nvplans;
static pthread_once_t fb_vplans_once = PTHREAD_ONCE_INIT;

static const fb_vplan *fb_vplan_find(const fbrec_desc *t)
{
    for (int k = 0; k < fb_nvplans; k++)
        if (fb_vplans[k].d == t)
            return &fb_vplans[k];
    return NULL;
}

static void fb_vplans_build(void)
{
    size_t nfields = 0, init_bytes = 0;
    int ntables = 0;
    for (int k = 0; k < fb_gen_nall; k++)
        if (!fbrec_gen_all[k]->is_struct) {
            ntables++;
            nfields += fbrec_gen_all[k]->nfields;
            init_bytes += (fbrec_gen_all[k]->size + 15) & ~(size_t)15;
        }
    /* one block: plans, fields, default images (16-byte aligned each) */
    size_t plans_bytes = ((size_t)ntables * sizeof(fb_vplan) + 15) & ~(size_t)15;
    size_t fields_bytes = (2 * nfields * sizeof(fb_vfield) + nfields * sizeof(fb_vscalar) + 15) & ~(size_t)15;
    char *blk = calloc(1, plans_bytes + fields_bytes + init_bytes + 16);
    if (!blk)
        log_fatal("fbrec: out of memory for the record plans");
    fb_vplans = (fb_vplan *)blk;
    fb_vfield *fields = (fb_vfield *)(blk + plans_bytes), *refs = fields + nfields;
    fb_vscalar *scalars = (fb_vscalar *)(refs + nfields);
    char *init = blk + plans_bytes + fields_bytes;
    for (int k = 0; k < fb_gen_nall; k++) {
        const fbrec_desc *t = fbrec_gen_all[k];
        if (t->is_struct)
            continue;
        fb_vplan *pl = &fb_vplans[fb_nvplans++];
        pl->d = t;
        pl->n = t->nfields;
        pl->f = fields;
        pl->init = init;
        fbrec_init(t, init);
        init += (t->size + 15) & ~(size_t)15;
        fields += t->nfields;
        pl->ref = refs;
        pl->scalar = scalars;
        for (int i = 0; i < t->nfields; i++) {
            const fbrec_field_desc *f = &t->fields[i];
            if (f->is_vector || f->base == FB_STRING || f->base == FB_TABLE)
                refs[pl->nref++].at = 1;   /* filled below, from the field's plan */
            else
                scalars[pl->nscalar++].at = 1;
        }
        refs += pl->nref;
        scalars += pl->nscalar;
    }
    for (int k = 0; k < fb_nvplans; k++) {
        fb_vplan *pl = &fb_vplans[k];
        fb_vfield *v = (fb_vfield *)pl->f;
        for (int i = 0; i < pl->n; i++, v++) {
            const fbrec_field_desc *f = &pl->d->fields[i];
            v->at = (uint16_t)(4 + 2 * f->slot);
            v->name = f->name;
            v->offset = f->offset;
            v->count_offset = f->count_offset;
            v->size = (uint32_t)fb_inline_size(f);
            v->amask = (uint32_t)fb_inline_align(f) - 1;
            v->csize = v->size;
            v->calign = v->amask + 1;
            if (f->base == FB_STRING) {
                v->kind = f->is_vector ? FB_V_VEC_STRING : FB_V_STRING;
                v->csize = sizeof(fb_str);
                v->calign = _Alignof(fb_str);
            } else if (f->base == FB_TABLE) {
                v->kind = f->is_vector ? FB_V_VEC_TABLE : FB_V_TABLE;
                v->csize = f->sub->size;
                v->calign = f->sub->align;
                v->sub = fb_vplan_find(f->sub);
                if (!v->sub)
                    log_fatal("fbrec: %s.%s: table type %s has no descriptor in the generated list",
                              pl->d->name, f->name, f->sub->name);
            } else if (f->base == FB_BOOL) {
                v->kind = f->is_vector ? FB_V_VEC_BOOL : FB_V_BOOL;
            } else {
                v->kind = f->is_vector ? FB_V_VEC_INLINE : FB_V_SCALAR;
            }
        }
        fb_vfield *r = (fb_vfield *)pl->ref;
        fb_vscalar *sc = (fb_vscalar *)pl->scalar;
        for (int i = 0; i < pl->n; i++) {
            const fb_vfield *g = &pl->f[i];
            if (g->kind == FB_V_SCALAR || g->kind == FB_V_BOOL)
                *sc++ = (fb_vscalar){ g->at, g->size, g->amask };
            else
                *r++ = *g;
        }
    }
}

/* The plan of a root type: the thread's last one first (streams are mostly
 * runs of one type). */
static const fb_vplan *fb_vplan_of(const fbrec_desc *t)
{
    static _Thread_local const fb_vplan *last;
    if (last && last->d == t)
        return last;
    pthread_once(&fb_vplans_once, fb_vplans_build);
    const fb_vplan *pl = fb_vplan_find(t);
    if (!pl)
        log_fatal("fbrec: %s has no descriptor in the generated list", t->name);
    return last = pl;
}

typedef struct fb_dec {
    const uint8_t *buf;
    uint64_t len;
    uint64_t base;        /* 4 if size-prefixed: alignment counts from buf-4 */
    arena *a;
    uint64_t tables;
    uint64_t budget;      /* arena bytes this decode may still take */
    int verify_only;      /* fbrec_verify: walk and check, store nothing */
    char *err; size_t errlen;
} fb_dec;

__attribute__((format(printf, 3, 4), noinline, cold))
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

/* pos..pos+n inside the buffer and pos aligned to align: 0, or -1 after
 * failing. The whole check, out of line: called when a cheaper test
 * (fb_dec_check, or a field within its table's checked bytes) did not
 * already prove it. */
__attribute__((noinline, cold))
static int fb_dec_check_slow(fb_dec *d, uint64_t pos, uint64_t n, uint64_t align, const char *what)
{
    if (pos > d->len || n > d->len - pos)
        return fb_dec_fail(d, pos, "%s (%llu bytes) extends past the end of the buffer (%llu bytes)",
                           what, (unsigned long long)n, (unsigned long long)d->len);
    if (align > 1 && ((pos + d->base) & (align - 1)))
        return fb_dec_fail(d, pos, "%s is misaligned (needs %llu-byte alignment)", what,
                           (unsigned long long)align);
    return 0;
}

static inline int fb_dec_check(fb_dec *d, uint64_t pos, uint64_t n, uint64_t align, const char *what)
{
    if (__builtin_expect(pos <= d->len && n <= d->len - pos && !((pos + d->base) & (align - 1)), 1))
        return 0;
    return fb_dec_check_slow(d, pos, n, align, what);
}

/* Take size bytes of the decode's budget (fbrec_verify counts the same as
 * fbrec_decode would allocate, so both refuse the same buffers). */
static inline int fb_dec_budget(fb_dec *d, uint64_t size, uint64_t pos)
{
    if (__builtin_expect(size > d->budget, 0))
        return fb_dec_fail(d, pos, "decoded size exceeds the limit for a %llu-byte buffer",
                           (unsigned long long)d->len);
    d->budget -= size;
    return 0;
}

/* Decoding only: size bytes of the arena, from the budget; NULL after failing. */
static void *fb_dec_alloc(fb_dec *d, uint64_t size, size_t align, uint64_t pos)
{
    if (!d->a) {
        fb_dec_fail(d, pos, "vector present but no arena given");
        return NULL;
    }
    if (fb_dec_budget(d, size, pos) < 0)
        return NULL;
    return arena_alloc(d->a, size ? (size_t)size : 1, align);
}

/* Follow the uoffset at pos: the target position, or -1 after failing.
 * proven: the caller knows pos..pos+4 is inside the buffer and aligned. */
static inline __attribute__((always_inline)) int64_t fb_dec_deref(fb_dec *d, uint64_t pos, int proven,
                                                                  const char *what)
{
    if (!proven && fb_dec_check_slow(d, pos, 4, 4, what) < 0)
        return -1;
    uint32_t o = fb_read_u32(d->buf + pos);
    uint64_t t = pos + o;
    /* as the reference verifier: an offset may not point at itself, and
     * must be a positive soffset (buffers are at most 2 GiB) */
    if (__builtin_expect(o - 1u < (uint32_t)INT32_MAX && t < d->len, 1))
        return (int64_t)t;
    if (o == 0)
        return fb_dec_fail(d, pos, "%s offset is 0 (points at itself)", what);
    if (o > INT32_MAX)
        return fb_dec_fail(d, pos, "%s offset %lu is over 2 GiB", what, (unsigned long)o);
    return fb_dec_fail(d, pos, "%s offset points past the end of the buffer", what);
}

/* The string at pos: its length in the buffer, its bytes and the NUL after them. */
static inline __attribute__((always_inline)) int fb_dec_string(fb_dec *d, uint64_t pos, fb_str *out)
{
    if (fb_dec_check(d, pos, 4, 4, "string length") < 0)
        return -1;
    uint64_t n = fb_read_u32(d->buf + pos);
    if (__builtin_expect(n + 1 > d->len - pos - 4, 0))
        return fb_dec_fail(d, pos, "string of %llu bytes extends past the end of the buffer",
                           (unsigned long long)n);
    if (__builtin_expect(d->buf[pos + 4 + n] != 0, 0))
        return fb_dec_fail(d, pos + 4 + n, "string is not NUL-terminated");
    out->ptr = (const char *)d->buf + pos + 4;
    out->len = (uint32_t)n;
    return 0;
}

static int fb_dec_table(fb_dec *d, const fb_vplan *pl, uint64_t pos, char *rec, int depth);

/* A scalar (or struct) at the verified position p into C memory at dst;
 * the usual sizes as single moves. */
static inline void fb_dec_scalar(const fb_vfield *f, const uint8_t *p, char *dst)
{
    switch (f->size) {
    case 1: *dst = (char)(f->kind == FB_V_BOOL ? *p != 0 : *p); break;
    case 2: memcpy(dst, p, 2); break;
    case 4: memcpy(dst, p, 4); break;
    case 8: memcpy(dst, p, 8); break;
    default: memcpy(dst, p, f->size); break;
    }
}

static int fb_dec_vector(fb_dec *d, const fb_vfield *f, uint64_t pos, char *rec, int depth)
{
    if (fb_dec_check(d, pos, 4, 4, "vector length") < 0)
        return -1;
    uint64_t n = fb_read_u32(d->buf + pos);
    uint64_t esize = f->size, data = pos + 4;
    /* n > (len - data) / esize, without the division: n, esize < 2^32 */
    if (__builtin_expect(n * esize > d->len - data, 0))
        return fb_dec_fail(d, pos, "vector of %llu elements extends past the end of the buffer",
                           (unsigned long long)n);
    /* inside the buffer (just shown): only the alignment is left to check */
    if (n && ((data + d->base) & f->amask) && fb_dec_check_slow(d, data, n * esize, f->amask + 1,
                                                                "vector data") < 0)
        return -1;
    uint64_t bytes = n * f->csize;
    if (d->verify_only) {
        if (fb_dec_budget(d, bytes, pos) < 0)
            return -1;
        if (f->kind == FB_V_VEC_STRING) {
            fb_str scratch;
            for (uint64_t i = 0; i < n; i++) {
                /* each offset lies in the vector's data, checked above */
                int64_t t = fb_dec_deref(d, data + 4 * i, 1, "string");
                if (t < 0 || fb_dec_string(d, (uint64_t)t, &scratch) < 0)
                    return -1;
            }
        } else if (f->kind == FB_V_VEC_TABLE) {
            for (uint64_t i = 0; i < n; i++) {
                int64_t t = fb_dec_deref(d, data + 4 * i, 1, "table");
                if (t < 0 || fb_dec_table(d, f->sub, (uint64_t)t, NULL, depth + 1) < 0)
                    return -1;
            }
        }
        return 0;
    }
    char *arr = fb_dec_alloc(d, bytes, f->calign, pos);
    if (!arr)
        return -1;
    if (f->kind == FB_V_VEC_STRING) {
        fb_str *s = (fb_str *)arr;
        for (uint64_t i = 0; i < n; i++) {
            int64_t t = fb_dec_deref(d, data + 4 * i, 1, "string");
            if (t < 0 || fb_dec_string(d, (uint64_t)t, &s[i]) < 0)
                return -1;
        }
    } else if (f->kind == FB_V_VEC_TABLE) {
        for (uint64_t i = 0; i < n; i++) {
            int64_t t = fb_dec_deref(d, data + 4 * i, 1, "table");
            if (t < 0)
                return -1;
            char *elem = arr + i * f->csize;
            memcpy(elem, f->sub->init, f->csize);
            if (fb_dec_table(d, f->sub, (uint64_t)t, elem, depth + 1) < 0)
                return -1;
        }
    } else {
        if (n)
            memcpy(arr, d->buf + data, n * esize);
        if (f->kind == FB_V_VEC_BOOL)
            for (uint64_t i = 0; i < n; i++)
                arr[i] = arr[i] != 0;
    }
    memcpy(rec + f->offset, &arr, sizeof arr);
    uint32_t cnt = (uint32_t)n;
    memcpy(rec + f->count_offset, &cnt, 4);
    return 0;
}

/* The table at pos by its plan; into rec (at its defaults) or, rec NULL, only verified. */
static int fb_dec_table(fb_dec *d, const fb_vplan *pl, uint64_t pos, char *rec, int depth)
{
    const char *tname = pl->d->name;
    if (depth > FB_MAX_DEPTH)
        return fb_dec_fail(d, pos, "tables nested deeper than %d", FB_MAX_DEPTH);
    if (++d->tables > FB_MAX_TABLES)
        return fb_dec_fail(d, pos, "more than %d tables", FB_MAX_TABLES);
    if (fb_dec_check(d, pos, 4, 4, tname) < 0)
        return -1;
    int64_t vt = (int64_t)pos - (int32_t)fb_read_u32(d->buf + pos);
    if (vt < 0 || (uint64_t)vt + 4 > d->len)
        return fb_dec_fail(d, pos, "%s vtable offset points outside the buffer", tname);
    if (fb_dec_check(d, (uint64_t)vt, 4, 2, "vtable") < 0)
        return -1;
    const uint8_t *vtab = d->buf + vt;
    uint64_t vtbytes = fb_rd16(vtab), objbytes = fb_rd16(vtab + 2);
    if (vtbytes < 4 || (vtbytes & 1))
        return fb_dec_fail(d, (uint64_t)vt, "bad vtable size %llu", (unsigned long long)vtbytes);
    if (fb_dec_check(d, (uint64_t)vt, vtbytes, 2, "vtable") < 0)
        return -1;
    if (objbytes < 4 || fb_dec_check(d, pos, objbytes, 4, "table") < 0)
        return objbytes < 4 ? fb_dec_fail(d, (uint64_t)vt, "bad table size %llu",
                                          (unsigned long long)objbytes) : -1;
    /* pos..pos+objbytes is inside the buffer and pos + base is a multiple
     * of 4 (both checked just above): a field that ends within the table's
     * bytes and whose position is aligned needs no other check; any other
     * gets the whole check, which may still accept it (fields are not
     * required to lie within the table's declared size) */
    uint64_t aligned_pos = pos + d->base;
    const fb_vfield *f = pl->f, *end = pl->f + pl->n;
    for (; f < end; f++) {
        if (f->at + 2u > vtbytes)
            continue;   /* beyond a shorter vtable: absent */
        uint64_t vo = fb_rd16(vtab + f->at);
        if (!vo)
            continue;
        uint64_t fpos = pos + vo;
        int inside = vo + f->size <= objbytes && !((aligned_pos + vo) & f->amask);
        int ref_inside = vo + 4 <= objbytes && !((aligned_pos + vo) & 3);
        switch (f->kind) {
        case FB_V_SCALAR:
        case FB_V_BOOL:
            if (!inside && fb_dec_check_slow(d, fpos, f->size, f->amask + 1, f->name) < 0)
                return -1;
            if (rec)
                fb_dec_scalar(f, d->buf + fpos, rec + f->offset);
            break;
        case FB_V_STRING: {
            fb_str scratch;
            int64_t s = fb_dec_deref(d, fpos, ref_inside, f->name);
            if (s < 0 || fb_dec_string(d, (uint64_t)s, rec ? (fb_str *)(rec + f->offset) : &scratch) < 0)
                return -1;
            break;
        }
        case FB_V_TABLE: {
            int64_t s = fb_dec_deref(d, fpos, ref_inside, f->name);
            if (s < 0)
                return -1;
            char *sub = NULL;
            if (!rec) {
                if (fb_dec_budget(d, f->csize, fpos) < 0)
                    return -1;
            } else {
                if (!(sub = fb_dec_alloc(d, f->csize, f->calign, fpos)))
                    return -1;
                memcpy(sub, f->sub->init, f->csize);
            }
            if (fb_dec_table(d, f->sub, (uint64_t)s, sub, depth + 1) < 0)
                return -1;
            if (rec)
                memcpy(rec + f->offset, &sub, sizeof sub);
            break;
        }
        default: {   /* vectors */
            int64_t v = fb_dec_deref(d, fpos, ref_inside, f->name);
            if (v < 0 || fb_dec_vector(d, f, (uint64_t)v, rec, depth) < 0)
                return -1;
            break;
        }
        }
    }
    return 0;
}

/* fbrec_verify's walk. A table's checks in two groups: every inline field at
 * once, without a branch per field, then the references in schema order.
 * It says only whether the buffer is good; when it is not, or when it
 * cannot tell cheaply (a field beyond its table's declared bytes, which
 * the format allows), fb_walk runs the schema-order walk (fb_dec_table),
 * which decides and words the reason. Every check here is one of
 * fb_dec_table's, so a buffer this accepts that one accepts too (the
 * running totals of tables and budget are sums, the same in any order).
 * 0: good; -1: ask fb_dec_table. */
static int fb_verify_table(fb_dec *d, const fb_vplan *pl, uint64_t pos, int depth);

/* a string at t (< len) */
static inline __attribute__((always_inline)) int fb_verify_string(const fb_dec *d, uint64_t t)
{
    if (((t + d->base) & 3) || t + 4 > d->len)
        return -1;
    uint64_t n = fb_read_u32(d->buf + t);
    return n + 1 > d->len - t - 4 || d->buf[t + 4 + n] ? -1 : 0;
}

/* the uoffset at p (inside the buffer, aligned): its target, or -1 */
static inline __attribute__((always_inline)) int64_t fb_verify_deref(const fb_dec *d, uint64_t p)
{
    uint32_t o = fb_read_u32(d->buf + p);
    uint64_t t = p + o;
    return o - 1u < (uint32_t)INT32_MAX && t < d->len ? (int64_t)t : -1;
}

static int fb_verify_vector(fb_dec *d, const fb_vfield *f, uint64_t pos, int depth)
{
    if (((pos + d->base) & 3) || pos + 4 > d->len)
        return -1;
    uint64_t n = fb_read_u32(d->buf + pos), data = pos + 4;
    if (n * f->size > d->len - data || (n && ((data + d->base) & f->amask)))
        return -1;
    uint64_t bytes = n * f->csize;
    if (bytes > d->budget)
        return -1;
    d->budget -= bytes;
    if (f->kind == FB_V_VEC_STRING) {
        for (uint64_t i = 0; i < n; i++) {
            int64_t t = fb_verify_deref(d, data + 4 * i);
            if (t < 0 || fb_verify_string(d, (uint64_t)t) < 0)
                return -1;
        }
    } else if (f->kind == FB_V_VEC_TABLE) {
        for (uint64_t i = 0; i < n; i++) {
            int64_t t = fb_verify_deref(d, data + 4 * i);
            if (t < 0 || fb_verify_table(d, f->sub, (uint64_t)t, depth + 1) < 0)
                return -1;
        }
    }
    return 0;
}

static int fb_verify_table(fb_dec *d, const fb_vplan *pl, uint64_t pos, int depth)
{
    if (depth > FB_MAX_DEPTH || ++d->tables > FB_MAX_TABLES)
        return -1;
    if (pos + 4 > d->len || ((pos + d->base) & 3))
        return -1;
    int64_t vt = (int64_t)pos - (int32_t)fb_read_u32(d->buf + pos);
    if (vt < 0 || (uint64_t)vt + 4 > d->len || (((uint64_t)vt + d->base) & 1))
        return -1;
    const uint8_t *vtab = d->buf + vt;
    uint64_t vtbytes = fb_rd16(vtab), objbytes = fb_rd16(vtab + 2);
    if (vtbytes < 4 || (vtbytes & 1) || (uint64_t)vt + vtbytes > d->len || objbytes < 4
        || pos + objbytes > d->len)
        return -1;
    uint64_t aligned_pos = pos + d->base, bad = 0;
    for (const fb_vscalar *s = pl->scalar, *end = s + pl->nscalar; s < end; s++) {
        uint64_t vo = s->at + 2 <= vtbytes ? fb_rd16(vtab + s->at) : 0;
        bad |= (uint64_t)(vo != 0) & ((vo + s->size > objbytes) | (((aligned_pos + vo) & s->amask) != 0));
    }
    if (bad)
        return -1;
    for (const fb_vfield *f = pl->ref, *end = f + pl->nref; f < end; f++) {
        uint64_t vo = f->at + 2u <= vtbytes ? fb_rd16(vtab + f->at) : 0;
        if (!vo)
            continue;
        if (vo + 4 > objbytes || ((aligned_pos + vo) & 3))
            return -1;
        int64_t t = fb_verify_deref(d, pos + vo);
        if (t < 0)
            return -1;
        if (f->kind == FB_V_STRING) {
            if (fb_verify_string(d, (uint64_t)t) < 0)
                return -1;
        } else if (f->kind == FB_V_TABLE) {
            if (f->csize > d->budget)
                return -1;
            d->budget -= f->csize;
            if (fb_verify_table(d, f->sub, (uint64_t)t, depth + 1) < 0)
                return -1;
        } else if (fb_verify_vector(d, f, (uint64_t)t, depth) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Decode into out, or with out NULL only verify: fb_verify_table first,
 * then, if it did not accept, the schema-order walk that fbrec_decode takes,
 * so the two accept exactly the same buffers and give the same reason. */
static int fb_walk(const fbrec_desc *t, const uint8_t *buf, size_t len, int prefixed,
                   void *out, arena *a, char *err, size_t errlen)
{
    fb_dec d = { .buf = buf, .len = len, .base = prefixed ? 4 : 0, .a = a,
                 .budget = (uint64_t)len * 64 + 65536, .verify_only = out == NULL,
                 .err = err, .errlen = errlen };
    const fb_vplan *pl = fb_vplan_of(t);
    if (out)
        memcpy(out, pl->init, t->size);
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
    if (!out) {
        uint64_t budget = d.budget;
        if (fb_verify_table(&d, pl, root, 1) == 0)
            return 0;
        d.tables = 0;
        d.budget = budget;
    }
    if (fb_dec_table(&d, pl, root, out, 1) < 0) {
        if (out)
            memcpy(out, pl->init, t->size);   /* no half-decoded pointers for the caller */
        return -1;
    }
    return 0;
}

int fbrec_decode(const fbrec_desc *t, const uint8_t *buf, size_t len, int prefixed,
              void *out, arena *a, char *err, size_t errlen)
{
    return fb_walk(t, buf, len, prefixed, out, a, err, errlen);
}

int fbrec_verify(const fbrec_desc *t, const uint8_t *buf, size_t len, int prefixed,
              char *err, size_t errlen)
{
    return fb_walk(t, buf, len, prefixed, NULL, NULL, err, errlen);
}

/* ---- encode --------------------------------------------------------------- */

static fb_ref fb_enc_table(fb_builder *b, const fbrec_desc *t, const void *rec);

static fb_ref fb_enc_vector(fb_builder *b, const fbrec_field_desc *f, const char *rec)
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
    const fbrec_desc *d;
    int nslots, nref, nw;
    uint8_t ref[256];          /* reference fields, schema order */
    fb_wfield w[256];          /* every field that may be written, in write order */
} fb_plan;

#define FB_NPLANS 32
static fb_plan fb_plans[FB_NPLANS];
static int fb_nplans;
static pthread_once_t fb_plans_once = PTHREAD_ONCE_INIT;

static int fb_is_ref(const fbrec_field_desc *f)
{
    return f->is_vector || f->base == FB_STRING || f->base == FB_TABLE;
}

/* The default as the bytes fb_add_scalar would write; 0 when no value of
 * the field's size has those bytes (then nothing is ever the default). */
static int fb_plan_default(const fbrec_field_desc *f, size_t size, uint64_t *out)
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
        const fbrec_desc *t = fbrec_gen_all[k];
        if (t->is_struct || t->nfields > 256)
            continue;
        fb_plan *pl = &fb_plans[fb_nplans++];
        memset(pl, 0, sizeof *pl);
        pl->d = t;
        for (int i = 0; i < t->nfields; i++) {
            const fbrec_field_desc *f = &t->fields[i];
            if (f->slot + 1 > pl->nslots)
                pl->nslots = f->slot + 1;
            if (fb_is_ref(f))
                pl->ref[pl->nref++] = (uint8_t)i;
        }
        /* classes 8, 4 (references too), 2, 1: as fb_enc_table_generic */
        static const size_t sizes[] = { 8, 4, 2, 1 };
        for (int c = 0; c < 4; c++)
            for (int i = 0; i < t->nfields; i++) {
                const fbrec_field_desc *f = &t->fields[i];
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

static const fb_plan *fb_plan_of(const fbrec_desc *t)
{
    pthread_once(&fb_plans_once, fb_plans_build);
    for (int k = 0; k < fb_nplans; k++)
        if (fb_plans[k].d == t)
            return &fb_plans[k];
    return NULL;
}

static fb_ref fb_enc_table_generic(fb_builder *b, const fbrec_desc *t, const void *recv);

/* A field's child, written before its table (vector, string or table):
 * its ref, or 0 when absent or not a reference field. Shared by both
 * table encoders; inline, as it runs for every string of every record. */
static inline __attribute__((always_inline)) fb_ref fb_enc_child(fb_builder *b, const fbrec_field_desc *f,
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
static fb_ref fb_enc_table(fb_builder *b, const fbrec_desc *t, const void *recv)
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

static fb_ref fb_enc_table_generic(fb_builder *b, const fbrec_desc *t, const void *recv)
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
        const fbrec_field_desc *f = &t->fields[i];
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
            const fbrec_field_desc *f = &t->fields[i];
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
    const fbrec_desc *t = &Event_desc;
    int ok = t->nfields == 13;
    for (int i = 0; ok && i < 13; i++) {
        const fbrec_field_desc *f = &t->fields[i];
        ok = !strcmp(f->name, want[i].name) && f->base == want[i].base && f->slot == want[i].slot
             && f->is_vector == (i == 12) && (f->base == FB_F64 ? f->def_f == 0.0 && !signbit(f->def_f)
                                              : f->base == FB_STRING || f->base == FB_TABLE || f->def_i == want[i].def);
    }
    fb_event_direct_ok = ok;
}
#endif

void fbrec_encode(fb_builder *b, const fbrec_desc *d, const void *rec, int size_prefixed)
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

void fbrec_encode_generic(fb_builder *b, const fbrec_desc *d, const void *rec, int size_prefixed)
{
    fb_builder_reset(b);
    fb_ref root = fb_enc_table_generic(b, d, rec);
    fb_finish(b, root, d->ident, size_prefixed);
}
