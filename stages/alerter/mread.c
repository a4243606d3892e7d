/* mread.c — a verified Metric read in place (mread.h).
 *
 * The buffer passed fbrec_verify, so every offset, vtable and string is in
 * range and no check is repeated here. Slots are the fields' places in
 * schemas/metric.fbs (no explicit ids there); test_engine's
 * test_metric_read and the records fuzz target compare the result with
 * fbrec_decode field by field. */
#include "mread.h"
#include <stdlib.h>
#include <string.h>

enum { M_NAME, M_LABELS, M_WINDOW_START, M_WINDOW_END, M_COUNT, M_SUM, M_MIN, M_MAX, M_MEAN, M_STDDEV,
       M_QUANTILES, M_VALUE };
enum { KV_KEY, KV_VALUE };

static inline uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/* A table's vtable: where each slot's field is (0: absent). */
typedef struct tbl { const uint8_t *buf; uint32_t pos; const uint8_t *vt; uint32_t vtbytes; } tbl;

static inline tbl tbl_at(const uint8_t *buf, uint32_t pos)
{
    const uint8_t *vt = buf + pos - (int32_t)rd32(buf + pos);
    return (tbl){ buf, pos, vt, rd16(vt) };
}

static inline uint32_t tbl_field(const tbl *t, int slot)
{
    uint32_t at = 4 + 2 * (uint32_t)slot;
    uint32_t vo = at + 2 <= t->vtbytes ? rd16(t->vt + at) : 0;
    return vo ? t->pos + vo : 0;
}

/* the target of the uoffset at pos */
static inline uint32_t deref(const uint8_t *buf, uint32_t pos) { return pos + rd32(buf + pos); }

static inline fb_str tbl_str(const tbl *t, int slot)
{
    uint32_t f = tbl_field(t, slot);
    if (!f) return (fb_str){ NULL, 0 };
    uint32_t s = deref(t->buf, f);
    return (fb_str){ (const char *)t->buf + s + 4, rd32(t->buf + s) };
}

static inline void tbl_8(const tbl *t, int slot, void *out)
{
    uint32_t f = tbl_field(t, slot);
    if (f) memcpy(out, t->buf + f, 8);
    else memset(out, 0, 8);   /* every Metric scalar's default is 0 */
}

int al_metric_read(al_mread *mr, const uint8_t *buf, size_t len, Metric *out)
{
    (void)len;
    tbl t = tbl_at(buf, rd32(buf));
    out->name = tbl_str(&t, M_NAME);
    out->labels = NULL;
    out->labels_count = 0;
    uint32_t f = tbl_field(&t, M_LABELS);
    if (f) {
        uint32_t v = deref(buf, f), n = rd32(buf + v);
        out->labels_count = n;
        if (n <= AL_MAX_LABELS) {
            for (uint32_t i = 0; i < n; i++) {
                uint32_t e = v + 4 + 4 * i;
                tbl kv = tbl_at(buf, deref(buf, e));
                mr->labels[i].key = tbl_str(&kv, KV_KEY);
                mr->labels[i].value = tbl_str(&kv, KV_VALUE);
            }
            out->labels = mr->labels;
        }
    }
    tbl_8(&t, M_WINDOW_START, &out->window_start);
    tbl_8(&t, M_WINDOW_END, &out->window_end);
    tbl_8(&t, M_COUNT, &out->count);
    tbl_8(&t, M_SUM, &out->sum);
    tbl_8(&t, M_MIN, &out->min);
    tbl_8(&t, M_MAX, &out->max);
    tbl_8(&t, M_MEAN, &out->mean);
    tbl_8(&t, M_STDDEV, &out->stddev);
    tbl_8(&t, M_VALUE, &out->value);
    out->quantiles = NULL;
    out->quantiles_count = 0;
    f = tbl_field(&t, M_QUANTILES);
    if (f) {
        uint32_t v = deref(buf, f), n = rd32(buf + v);
        if (n > mr->capq) {
            Quantile *q = realloc(mr->q, (size_t)n * sizeof *q);
            if (!q) return -1;
            mr->q = q;
            mr->capq = n;
        }
        /* copied: the wire's doubles need not be 8-aligned in memory */
        if (n) memcpy(mr->q, buf + v + 4, (size_t)n * sizeof *mr->q);
        out->quantiles = mr->q;
        out->quantiles_count = n;
    }
    return 0;
}

void al_mread_free(al_mread *mr)
{
    free(mr->q);
    mr->q = NULL;
    mr->capq = 0;
}

static int str_same(fb_str a, fb_str b)
{
    return !a.ptr == !b.ptr && a.len == b.len && (!a.len || !memcmp(a.ptr, b.ptr, a.len));
}

int al_metric_same(const Metric *a, const Metric *b)
{
    if (!str_same(a->name, b->name) || a->labels_count != b->labels_count ||
        a->quantiles_count != b->quantiles_count)
        return 0;
    if (a->labels && b->labels)
        for (uint32_t i = 0; i < a->labels_count; i++)
            if (!str_same(a->labels[i].key, b->labels[i].key) || !str_same(a->labels[i].value, b->labels[i].value))
                return 0;
    if (a->quantiles_count && memcmp(a->quantiles, b->quantiles, a->quantiles_count * sizeof *a->quantiles))
        return 0;
    const int64_t ia[3] = { a->window_start, a->window_end, (int64_t)a->count },
                  ib[3] = { b->window_start, b->window_end, (int64_t)b->count };
    const double da[7] = { a->sum, a->min, a->max, a->mean, a->stddev, a->value, 0 },
                 db[7] = { b->sum, b->min, b->max, b->mean, b->stddev, b->value, 0 };
    return !memcmp(ia, ib, sizeof ia) && !memcmp(da, db, sizeof da);
}
