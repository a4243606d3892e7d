/* fbencode.c — fbrec_encode and fbrec_encode_generic (see fbrec.h): a
 * record's C struct into fb.h's builder, by a plan per table type worked
 * out once from the descriptors that fbsgen generates
 * (libstream/fbsgen/fbdesc.h), and a direct path for Event, the record
 * ingest writes once per line. A file of its own because it only ever
 * reads our own structs: none of the decoder's checks apply, and its plans
 * (write order, defaults as bytes) are not the decoder's. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "fbrec.h"
#include "fbsgen/fbdesc.h"
#include "fbfield.h"

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
 * event.fbs); fbencode.c is built against other schemas too (test 010). */
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
