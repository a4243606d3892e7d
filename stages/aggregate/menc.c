/* menc.c — Metric encoding by template (see menc.h). */
#include "menc.h"
#include <stdlib.h>
#include <string.h>
#include "fb.h"
#include "fbrec.h"
#include "log.h"

#define AGG_MENC_SLOTS 1024   /* a power of two */
#define AGG_MENC_PROBE 8
#define AGG_MENC_MAX 384
#define AGG_MENC_LABELS 4
#define AGG_MENC_QUANTILES 8
#define AGG_MENC_SCALARS 9
#define AGG_MENC_PATCHES (1 + 2 * AGG_MENC_LABELS + 1 + AGG_MENC_SCALARS)

/* Everything fbrec_encode's layout depends on. Zeroed before filling, so
 * memcmp compares it (no padding garbage). */
typedef struct menc_shape {
    uint32_t name_len;
    uint16_t key_len[AGG_MENC_LABELS], val_len[AGG_MENC_LABELS];   /* longer: not taken */
    uint16_t present;           /* bit per scalar: not its default (0) bit for bit */
    uint8_t nlabels, labels_vec, nquant, quant_vec, prefixed, pad_[5];
} menc_shape;
_Static_assert(sizeof(menc_shape) % 8 == 0, "menc_shape: hashed and compared as 8-byte words");
#define MENC_WORDS (sizeof(menc_shape) / 8)

typedef struct menc_patch { uint16_t pos, len; } menc_patch;

typedef struct menc_slot {
    menc_shape shape;
    int used;
    uint16_t len, npatch;
    menc_patch patch[AGG_MENC_PATCHES];   /* in the order menc_sources lists the content */
    uint8_t bytes[AGG_MENC_MAX];
} menc_slot;

struct agg_menc {
    fb_builder b;
    uint64_t built, hits;
    uint32_t evict;
    menc_slot slot[AGG_MENC_SLOTS];
};

agg_menc *agg_menc_new(void)
{
    agg_menc *c = calloc(1, sizeof *c);
    if (!c) log_fatal("aggregate: out of memory");
    fb_builder_init(&c->b);
    return c;
}

void agg_menc_free(agg_menc *c)
{
    if (!c) return;
    fb_builder_free(&c->b);
    free(c);
}

uint64_t agg_menc_built(const agg_menc *c) { return c->built; }
uint64_t agg_menc_hits(const agg_menc *c) { return c->hits; }

/* The scalars, in a fixed order (the shape's bits and the patches follow it). */
static void menc_scalars(const Metric *m, const void *p[AGG_MENC_SCALARS])
{
    p[0] = &m->window_start; p[1] = &m->window_end; p[2] = &m->count; p[3] = &m->sum;
    p[4] = &m->min; p[5] = &m->max; p[6] = &m->mean; p[7] = &m->stddev; p[8] = &m->value;
}
/* their vtable slots in schema/metric.fbs */
static const int menc_scalar_slot[AGG_MENC_SCALARS] = { 2, 3, 4, 5, 6, 7, 8, 9, 11 };

static int menc_shape_of(const Metric *m, int prefixed, menc_shape *s)
{
    memset(s, 0, sizeof *s);
    if (!m->name.ptr || m->labels_count > AGG_MENC_LABELS || m->quantiles_count > AGG_MENC_QUANTILES)
        return -1;
    s->name_len = m->name.len;
    s->labels_vec = m->labels != NULL;
    s->nlabels = (uint8_t)(m->labels ? m->labels_count : 0);
    for (int i = 0; i < s->nlabels; i++) {
        const KeyValue *kv = &m->labels[i];
        if (!kv->key.ptr || !kv->value.ptr || kv->key.len > UINT16_MAX || kv->value.len > UINT16_MAX) return -1;
        s->key_len[i] = (uint16_t)kv->key.len;
        s->val_len[i] = (uint16_t)kv->value.len;
    }
    s->quant_vec = m->quantiles != NULL;
    s->nquant = (uint8_t)(m->quantiles ? m->quantiles_count : 0);
    const void *p[AGG_MENC_SCALARS];
    menc_scalars(m, p);
    for (int i = 0; i < AGG_MENC_SCALARS; i++) {
        uint64_t v;
        memcpy(&v, p[i], 8);
        if (v) s->present |= (uint16_t)(1u << i);
    }
    s->prefixed = (uint8_t)(prefixed != 0);
    return 0;
}

static uint32_t menc_hash(const menc_shape *s)
{
    /* word by word: this runs for every Metric */
    uint64_t h = 0;
    for (size_t i = 0; i < MENC_WORDS; i++) {
        uint64_t w;
        memcpy(&w, (const char *)s + 8 * i, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    }
    return (uint32_t)(h >> 32);
}

static int menc_same(const menc_shape *a, const menc_shape *b)
{
    uint64_t d = 0;
    for (size_t i = 0; i < MENC_WORDS; i++) {
        uint64_t x, y;
        memcpy(&x, (const char *)a + 8 * i, 8);
        memcpy(&y, (const char *)b + 8 * i, 8);
        d |= x ^ y;
    }
    return d == 0;
}

/* position of the object a uoffset at pos points to */
static uint32_t menc_deref(const uint8_t *buf, uint32_t pos) { return pos + fb_read_u32(buf + pos); }

/* Build the slot's template from fbrec_encode's bytes of m, and record where
 * m's content lies in them. 0, or -1 when the bytes do not fit a slot. */
static int menc_build(agg_menc *c, menc_slot *sl, const menc_shape *s, const Metric *m)
{
    fbrec_encode(&c->b, &Metric_desc, m, s->prefixed);
    size_t len;
    const uint8_t *data = fb_data(&c->b, &len);
    if (len > AGG_MENC_MAX) return -1;
    uint32_t base = s->prefixed ? 4 : 0;     /* offsets count from after the size prefix */
    const uint8_t *buf = data + base;
    uint32_t root = fb_root(buf);
    int np = 0;
    uint32_t f = fb_field(buf, root, 0);
    if (!f) return -1;
    sl->patch[np++] = (menc_patch){ (uint16_t)(base + menc_deref(buf, f) + 4), (uint16_t)s->name_len };
    if (s->nlabels) {
        uint32_t vec = menc_deref(buf, fb_field(buf, root, 1));
        for (uint32_t i = 0; i < s->nlabels; i++) {
            uint32_t kv = menc_deref(buf, vec + 4 + 4 * i);
            uint32_t k = fb_field(buf, kv, 0), v = fb_field(buf, kv, 1);
            if (!k || !v) return -1;
            sl->patch[np++] = (menc_patch){ (uint16_t)(base + menc_deref(buf, k) + 4), (uint16_t)s->key_len[i] };
            sl->patch[np++] = (menc_patch){ (uint16_t)(base + menc_deref(buf, v) + 4), (uint16_t)s->val_len[i] };
        }
    }
    if (s->nquant) {
        uint32_t vec = menc_deref(buf, fb_field(buf, root, 10));
        sl->patch[np++] = (menc_patch){ (uint16_t)(base + vec + 4), (uint16_t)(16 * s->nquant) };
    }
    for (int i = 0; i < AGG_MENC_SCALARS; i++) {
        if (!(s->present & (1u << i))) continue;
        uint32_t p = fb_field(buf, root, menc_scalar_slot[i]);
        if (!p) return -1;
        sl->patch[np++] = (menc_patch){ (uint16_t)(base + p), 8 };
    }
    sl->npatch = (uint16_t)np;
    sl->len = (uint16_t)len;
    memcpy(sl->bytes, data, len);
    sl->shape = *s;
    sl->used = 1;
    c->built++;
    return 0;
}

const uint8_t *agg_menc_encode(agg_menc *c, const Metric *m, int prefixed, size_t *len)
{
    menc_shape s;
    if (menc_shape_of(m, prefixed, &s) < 0) return NULL;
    /* the shape's slot among AGG_MENC_PROBE from its hash; when all hold
     * other shapes, one of them (in turn) makes room */
    uint32_t h = menc_hash(&s);
    menc_slot *sl = NULL;
    for (uint32_t i = 0; i < AGG_MENC_PROBE; i++) {
        menc_slot *t = &c->slot[(h + i) & (AGG_MENC_SLOTS - 1)];
        if (!t->used || menc_same(&t->shape, &s)) { sl = t; break; }
    }
    if (!sl) sl = &c->slot[(h + c->evict++ % AGG_MENC_PROBE) & (AGG_MENC_SLOTS - 1)];
    if (!sl->used || !menc_same(&sl->shape, &s)) {
        if (menc_build(c, sl, &s, m) < 0) {
            /* remembered, so the shape is not encoded twice again */
            sl->shape = s;
            sl->used = 2;
            return NULL;
        }
        *len = sl->len;
        return sl->bytes;
    }
    if (sl->used == 2) return NULL;
    c->hits++;
    /* the template itself takes m's content: every position that differs
     * between two Metrics of one shape is written again on each use */
    uint8_t *o = sl->bytes;
    /* the content, in the order menc_build recorded its positions */
    const menc_patch *pt = sl->patch;
    memcpy(o + pt->pos, m->name.ptr, pt->len); pt++;
    for (int i = 0; i < s.nlabels; i++) {
        memcpy(o + pt->pos, m->labels[i].key.ptr, pt->len); pt++;
        memcpy(o + pt->pos, m->labels[i].value.ptr, pt->len); pt++;
    }
    if (s.nquant) { memcpy(o + pt->pos, m->quantiles, pt->len); pt++; }
    const void *p[AGG_MENC_SCALARS];
    menc_scalars(m, p);
    for (int i = 0; i < AGG_MENC_SCALARS; i++)
        if (s.present & (1u << i)) { memcpy(o + pt->pos, p[i], 8); pt++; }
    *len = sl->len;
    return o;
}

const uint8_t *agg_menc_stream(void *ctx, const void *rec, int prefixed, size_t *len)
{
    return agg_menc_encode(ctx, rec, prefixed, len);
}
