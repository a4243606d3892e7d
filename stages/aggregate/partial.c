/* partial.c — MetricPartial records to and from the engine (partial.h). */
#include "partial.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"

void agg_pscratch_free(agg_pscratch *sc)
{
    free(sc->kv);
    free(sc->users);
    free(sc->sessions);
    agg_key_free(&sc->key);
    free(sc->hu);
    free(sc->hs);
    if (sc->en && sc->en->key[0] == AGG_K_SAMPLE) agg_sketch_free(&sc->en->u.s.sk);
    free(sc->en);
    memset(sc, 0, sizeof *sc);
}

void agg_partial_watermark(const agg_psrc *src, MetricPartial *m)
{
    MetricPartial_init(m);
    m->kind = PartialKind_watermark;
    m->config = src->config;
    m->topic = FB_STR(src->topic);
    m->partition = src->partition;
    m->partitions = src->partitions;
    m->offset_from = src->from;
    m->offset_to = src->to;
    m->watermark = src->watermark;
    m->idle = (uint8_t)(src->idle != 0);
}

/* registers in use, index << 8 | value: a window of a few thousand users
 * takes a few KiB instead of 16 */
static uint32_t *hll_sparse(const agg_hll *h, uint32_t **buf, uint32_t *n)
{
    if (!*buf && !(*buf = malloc(AGG_HLL_M * sizeof **buf))) log_fatal("aggregate: out of memory");
    uint32_t k = 0;
    for (uint32_t i = 0; i < AGG_HLL_M; i++)
        if (h->reg[i]) (*buf)[k++] = i << 8 | h->reg[i];
    *n = k;
    return *buf;
}

void agg_partial_build(const agg_psrc *src, const agg_wview *w, const agg_entry *en,
                       agg_pscratch *sc, MetricPartial *m)
{
    agg_partial_watermark(src, m);
    m->spec = w->spec;
    m->window_start = w->start;
    m->window_end = w->end;
    m->first_offset = w->first_off;
    if (!en) {
        m->kind = PartialKind_window;
        m->count = w->events;
        if (w->users) m->users = hll_sparse(w->users, &sc->users, &m->users_count);
        if (w->sessions) m->sessions = hll_sparse(w->sessions, &sc->sessions, &m->sessions_count);
        return;
    }
    agg_key_rd rd;
    agg_key_rd_init(&rd, en);
    const char *s, *v;
    uint32_t n, vn;
    if (agg_key_next(&rd, &s, &n)) m->name = FB_STRN(s, n);
    size_t k = 0;
    while (agg_key_next(&rd, &s, &n) && agg_key_next(&rd, &v, &vn)) {
        if (k == sc->kvcap) {
            size_t cap = sc->kvcap ? sc->kvcap * 2 : 16;
            KeyValue *kv = realloc(sc->kv, cap * sizeof *kv);
            if (!kv) log_fatal("aggregate: out of memory");
            sc->kv = kv;
            sc->kvcap = cap;
        }
        KeyValue_init(&sc->kv[k]);
        sc->kv[k].key = FB_STRN(s, n);
        sc->kv[k].value = FB_STRN(v, vn);
        k++;
    }
    m->labels = k ? sc->kv : NULL;
    m->labels_count = (uint32_t)k;
    switch (agg_entry_kind(en)) {
    case AGG_K_COUNT:
        m->kind = PartialKind_events;
        m->count = en->u.count;
        break;
    case AGG_K_ITEM:
        m->kind = PartialKind_item;
        memcpy(sc->counts, en->u.ev, sizeof sc->counts);
        m->counts = sc->counts;
        m->counts_count = AGG_NTYPES;
        break;
    case AGG_K_SAMPLE: {
        const agg_stats *st = &en->u.s.st;
        const agg_sketch *sk = &en->u.s.sk;
        m->kind = PartialKind_sample;
        m->count = st->n;
        m->sum_hi = st->sum.hi; m->sum_lo = st->sum.lo;
        m->sumsq_hi = st->sumsq.hi; m->sumsq_lo = st->sumsq.lo;
        m->min = st->min; m->max = st->max;
        m->zero_count = sk->zero;
        m->sketch_count = sk->count;
        m->sketch_min = sk->min; m->sketch_max = sk->max;
        m->pos_offset = sk->pos.off; m->pos_bins = sk->pos.bins; m->pos_bins_count = sk->pos.n;
        m->neg_offset = sk->neg.off; m->neg_bins = sk->neg.bins; m->neg_bins_count = sk->neg.n;
        break;
    }
    default: {
        const agg_fdelta *d = &en->u.fd;
        m->kind = agg_entry_kind(en) == AGG_K_FUSER ? PartialKind_user_delta : PartialKind_item_delta;
        memcpy(sc->counts, d->ev, sizeof sc->counts);
        m->counts = sc->counts;
        m->counts_count = AGG_NTYPES;
        m->sum_hi = d->rating_sum.hi; m->sum_lo = d->rating_sum.lo;
        m->min_ts = d->min_ts; m->max_ts = d->max_ts;
        break;
    }
    }
}

/* ---- merge side ------------------------------------------------------------ */

static int hll_dense(const uint32_t *v, uint32_t n, agg_hll **h)
{
    if (!*h && !(*h = malloc(sizeof **h))) log_fatal("aggregate: out of memory");
    agg_hll_init(*h);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t idx = v[i] >> 8, r = v[i] & 0xff;
        /* a register holds a leading-zero count + 1 */
        if (idx >= AGG_HLL_M || r < 1 || r > 64 - AGG_HLL_P + 1) return -1;
        if (r > (*h)->reg[idx]) (*h)->reg[idx] = (uint8_t)r;
    }
    return 0;
}

static int store_load(agg_store *st, int32_t off, const uint64_t *bins, uint32_t n, uint32_t max_bins, uint64_t *sum)
{
    if (n > max_bins || off < -AGG_DD_MAX_INDEX || (int64_t)off + n > AGG_DD_MAX_INDEX + 1) return -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!bins[i]) continue;
        if (bins[i] > UINT64_MAX - *sum) return -1;
        *sum += bins[i];
        agg_store_add(st, off + (int32_t)i, bins[i], max_bins);
    }
    return 0;
}

static int is_num(double x) { return !isnan(x); }

int agg_partial_merge(agg_engine *e, const MetricPartial *p, agg_pscratch *sc, const char **why)
{
    if (!sc->has_config) { sc->config = agg_engine_config_hash(e); sc->has_config = 1; }
    if (p->config != sc->config) {
        *why = "written with other --window/--hop/--by/--features/--relative-accuracy settings than this --merge";
        return AGG_BADVALUE;
    }
    if (p->kind < PartialKind_MIN || p->kind > PartialKind_MAX) { *why = "unknown partial kind"; return AGG_BADVALUE; }
    int src = agg_engine_source(e, p->topic.ptr ? p->topic.ptr : "", p->topic.len, p->partition, p->partitions);
    if (src < 0) { *why = "source partition out of range (partition < partitions <= 65536)"; return AGG_BADVALUE; }
    int rc = AGG_OK;
    agg_cover cov = { p->offset_from, p->first_offset, p->offset_to };
    if (p->kind == PartialKind_window) {
        if (p->users && hll_dense(p->users, p->users_count, &sc->hu) < 0) { *why = "bad HyperLogLog register"; return AGG_BADVALUE; }
        if (p->sessions && hll_dense(p->sessions, p->sessions_count, &sc->hs) < 0) {
            *why = "bad HyperLogLog register";
            return AGG_BADVALUE;
        }
        rc = agg_engine_merge_window(e, src, p->spec, p->window_start, &cov, p->count,
                                     p->users ? sc->hu : NULL, p->sessions ? sc->hs : NULL);
    } else if (p->kind != PartialKind_watermark) {
        static const uint8_t kind_of[] = { 0, AGG_K_COUNT, AGG_K_ITEM, AGG_K_SAMPLE, AGG_K_FUSER, AGG_K_FITEM };
        uint8_t kind = kind_of[p->kind];
        if (!sc->en) {
            sc->en = calloc(1, sizeof *sc->en + 1);
            if (!sc->en) log_fatal("aggregate: out of memory");
        }
        agg_entry *en = sc->en;
        if (en->key[0] == AGG_K_SAMPLE) agg_sketch_free(&en->u.s.sk);   /* the previous one's bins */
        memset(&en->u, 0, sizeof en->u);
        en->key[0] = kind;
        agg_key_reset(&sc->key, kind);
        agg_key_str(&sc->key, p->name.ptr ? p->name.ptr : "", p->name.len);
        if (kind == AGG_K_COUNT || kind == AGG_K_SAMPLE) {
            for (uint32_t i = 0; i < p->labels_count; i++) {
                const KeyValue *kv = &p->labels[i];
                agg_key_str(&sc->key, kv->key.ptr ? kv->key.ptr : "", kv->key.len);
                agg_key_str(&sc->key, kv->value.ptr ? kv->value.ptr : "", kv->value.len);
            }
        } else if (p->labels_count) {
            *why = "labels on an item or feature partial";
            return AGG_BADVALUE;
        }
        if ((kind == AGG_K_ITEM || kind == AGG_K_FUSER || kind == AGG_K_FITEM) && p->counts_count != AGG_NTYPES) {
            *why = "counts must hold one count per event type (8)";
            return AGG_BADVALUE;
        }
        switch (kind) {
        case AGG_K_COUNT: en->u.count = p->count; break;
        case AGG_K_ITEM: memcpy(en->u.ev, p->counts, sizeof en->u.ev); break;
        case AGG_K_SAMPLE: {
            agg_stats *st = &en->u.s.st;
            agg_sketch *sk = &en->u.s.sk;
            agg_sketch_init(sk);
            st->n = p->count;
            st->sum.hi = p->sum_hi; st->sum.lo = p->sum_lo;
            st->sumsq.hi = p->sumsq_hi; st->sumsq.lo = p->sumsq_lo;
            st->min = p->min; st->max = p->max;
            sk->zero = p->zero_count;
            sk->count = p->sketch_count;
            sk->min = p->sketch_min; sk->max = p->sketch_max;
            const agg_ddparams *dd = agg_engine_ddparams(e);
            uint64_t sum = p->zero_count;
            if (store_load(&sk->pos, p->pos_offset, p->pos_bins, p->pos_bins_count, dd->max_bins, &sum) < 0 ||
                store_load(&sk->neg, p->neg_offset, p->neg_bins, p->neg_bins_count, dd->max_bins, &sum) < 0 ||
                sum != p->sketch_count || p->sketch_count != p->count || !p->count ||
                !is_num(p->sum_hi) || !is_num(p->sum_lo) || !is_num(p->min) || !is_num(p->max)) {
                *why = "inconsistent sample: sketch bins, counts or moments";
                return AGG_BADVALUE;
            }
            break;
        }
        default:
            memcpy(en->u.fd.ev, p->counts, sizeof en->u.fd.ev);
            en->u.fd.rating_sum.hi = p->sum_hi;
            en->u.fd.rating_sum.lo = p->sum_lo;
            en->u.fd.min_ts = p->min_ts;
            en->u.fd.max_ts = p->max_ts;
            break;
        }
        rc = agg_engine_merge_entry(e, src, p->spec, p->window_start, &cov, sc->key.p, sc->key.len, en);
    }
    if (rc == AGG_BADVALUE) { *why = "window out of range for these --window/--hop settings"; return rc; }
    /* only a watermark partial moves the merge on: the emitter sends it
     * after all the partials of the windows it passes (a series partial's
     * watermark already passes its window while the rest of it is still
     * on its way) */
    if (p->kind == PartialKind_watermark &&
        agg_engine_source_progress(e, src, p->watermark, p->idle != 0) != AGG_OK) return AGG_ERR;
    return rc;
}
