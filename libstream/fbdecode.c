/* fbdecode.c — fbrec_decode and fbrec_verify (see fbrec.h): the checks
 * every record read from outside goes through, for every table type, by
 * walking the descriptors that fbsgen generates (libstream/fbsgen/fbdesc.h).
 * A file of its own because it is the codec's trust boundary: bytes from a
 * pipe or a Kafka topic are hostile until this file says otherwise, and it
 * has its own plans, fuzz target (fuzz_decode) and reference walker.
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
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fbrec.h"
#include "fbsgen/fbdesc.h"
#include "fbfield.h"
#include "log.h"

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
