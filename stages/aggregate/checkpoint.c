/* checkpoint.c — save and restore the aggregate state (see checkpoint.h):
 * the state's rows, and the engine's blob (agg_engine_save/_load, declared
 * in engine.h), whose format is this file's alone. The blob is here, not in
 * engine.c, because it is the --state format: engine.c counts and closes
 * windows, this file writes them down and reads them back. */
#include "checkpoint.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine_int.h"
#include "hash.h"
#include "hll.h"
#include "log.h"
#include "seen.h"

const char *const agg_state_schema = agg_features_schema;

#define AGG_BLOB_KEY "aggregate.engine"
#define AGG_SEEN_KEY "aggregate.seen"     /* seen.h: the event_ids of open windows */

int agg_checkpoint_put(state *st, agg_engine *e, agg_features *fs)
{
    agg_buf b = {0}, sb = {0};
    agg_engine_save(e, &b);
    agg_seen *seen = agg_engine_seen(e);
    if (seen) agg_seen_save(seen, &sb);
    int rc = (fs && agg_features_save(fs) < 0) || state_put(st, AGG_BLOB_KEY, b.p, b.len) < 0 ||
             (seen && state_put(st, AGG_SEEN_KEY, sb.p, sb.len) < 0) ? -1 : 0;
    agg_buf_free(&b);
    agg_buf_free(&sb);
    return rc;
}

int agg_checkpoint_save(state *st, stream_in *in, stream_out *out, agg_engine *e, agg_features *fs)
{
    if (out && stream_flush(out) < 0) return -1;
    if (state_begin(st) < 0) return -1;
    if (agg_checkpoint_put(st, e, fs) < 0 || state_save_offsets(st, in) < 0) {
        state_rollback(st);
        return -1;
    }
    return state_commit(st) < 0 ? -1 : 0;
}

int agg_checkpoint_load(state *st, agg_engine *e)
{
    void *data = NULL;
    size_t len = 0;
    int g = state_get(st, AGG_BLOB_KEY, &data, &len);
    if (g <= 0) return g;
    char err[256];
    int rc = agg_engine_load(e, data, len, err, sizeof err);
    free(data);
    if (rc < 0) {
        log_error("%s", err);
        return strstr(err, "settings") ? -2 : -1;
    }
    /* a state from before dedup has no such blob: start with an empty set */
    agg_seen *seen = agg_engine_seen(e);
    if (seen && (g = state_get(st, AGG_SEEN_KEY, &data, &len)) != 0) {
        if (g < 0) return -1;
        rc = agg_seen_load(seen, data, len, err, sizeof err);
        free(data);
        if (rc < 0) { log_error("%s", err); return -1; }
    }
    return 1;
}

/* ---- the engine blob ------------------------------------------------------- */

#define AGG_CKPT_MAGIC 0x32474741u   /* "AGG2": AGG1 + a trailing checksum */

/* Blob layout: magic, config (length-prefixed), watermark, counters, the
 * windows with their series, then hash_seeded64 of everything before it (with
 * AGG_CKPT_SEED), so a damaged blob is refused rather than half-trusted. */

static void save_store(agg_buf *b, const agg_store *st)
{
    agg_buf_u32(b, (uint32_t)st->off);
    agg_buf_u32(b, st->n);
    for (uint32_t i = 0; i < st->n; i++) agg_buf_u64(b, st->bins[i]);
}

static void save_hll(agg_buf *b, const agg_hll *h)
{
    agg_buf_u8(b, h != NULL);
    if (h) agg_buf_put(b, h->reg, sizeof h->reg);
}

static void save_config_core(const agg_engine *e, agg_buf *b)
{
    agg_buf_u32(b, (uint32_t)e->cfg.nspecs);
    for (int i = 0; i < e->cfg.nspecs; i++) {
        agg_buf_u64(b, (uint64_t)e->cfg.specs[i].size);
        agg_buf_u64(b, (uint64_t)e->cfg.specs[i].hop);
    }
    agg_buf_f64(b, e->cfg.alpha);
    agg_buf_u32(b, (uint32_t)e->cfg.features);
    agg_buf_u32(b, (uint32_t)e->cfg.nby);
    for (int i = 0; i < e->cfg.nby; i++) {
        agg_buf_u32(b, (uint32_t)strlen(e->cfg.by[i]));
        agg_buf_put(b, e->cfg.by[i], strlen(e->cfg.by[i]));
    }
}

/* The mode only when not the default, so a plain state stays as it was. */
static void save_config(const agg_engine *e, agg_buf *b)
{
    save_config_core(e, b);
    if (e->cfg.mode) agg_buf_u32(b, (uint32_t)e->cfg.mode);
}

uint64_t agg_engine_config_hash(const agg_engine *e)
{
    agg_buf b = {0};
    save_config_core(e, &b);
    uint64_t h = hash_seeded64(b.p, b.len, 0x70617274ULL);
    agg_buf_free(&b);
    return h;
}

static void save_cover(agg_buf *b, const agg_cover *c)
{
    agg_buf_u64(b, (uint64_t)c->from);
    agg_buf_u64(b, (uint64_t)c->first);
    agg_buf_u64(b, (uint64_t)c->to);
}

static void load_cover(agg_rd *r, agg_cover *c)
{
    c->from = (int64_t)agg_rd_u64(r);
    c->first = (int64_t)agg_rd_u64(r);
    c->to = (int64_t)agg_rd_u64(r);
}

void agg_engine_save(const agg_engine *e, agg_buf *b)
{
    size_t start = b->len;
    agg_buf_u32(b, AGG_CKPT_MAGIC);
    agg_buf cfg = {0};
    save_config(e, &cfg);
    agg_buf_u32(b, (uint32_t)cfg.len);
    agg_buf_put(b, cfg.p, cfg.len);
    agg_buf_free(&cfg);
    agg_buf_u8(b, (uint8_t)e->wm.seen);
    agg_buf_u64(b, (uint64_t)e->wm.max_ts);
    agg_buf_put(b, &e->c, sizeof e->c);
    int merge = e->cfg.mode == AGG_MODE_MERGE;
    if (merge) {
        agg_buf_u64(b, e->merge_repeats);
        agg_buf_u64(b, e->merge_late);
        agg_buf_u32(b, (uint32_t)e->nsrc);
        for (int i = 0; i < e->nsrc; i++) {
            const agg_source *s = &e->srcs[i];
            agg_buf_u32(b, s->tlen);
            agg_buf_put(b, s->topic, s->tlen);
            agg_buf_u32(b, (uint32_t)s->partition);
            agg_buf_u32(b, (uint32_t)s->partitions);
            agg_buf_u64(b, (uint64_t)s->wm);
            agg_buf_u8(b, (uint8_t)s->idle);
        }
    }
    uint32_t nw = 0;
    for (agg_win *w = e->wins; w; w = w->next) nw++;
    agg_buf_u32(b, nw);
    for (agg_win *w = e->wins; w; w = w->next) {
        agg_buf_u32(b, (uint32_t)w->spec);
        agg_buf_u64(b, (uint64_t)w->start);
        if (merge) { agg_buf_u32(b, (uint32_t)w->src); save_cover(b, &w->cov); }
        agg_buf_u64(b, w->events);
        save_hll(b, w->users);
        save_hll(b, w->sessions);
        agg_buf_u64(b, w->map.n);
        for (size_t i = 0; i < w->map.cap; i++) {
            const agg_entry *en = w->map.slots[i];
            if (!en) continue;
            agg_buf_u32(b, en->klen);
            agg_buf_put(b, en->key, en->klen);
            if (merge) save_cover(b, &en->cov);
            switch (agg_entry_kind(en)) {
            case AGG_K_COUNT: agg_buf_u64(b, en->u.count); break;
            case AGG_K_ITEM: for (int t = 0; t < AGG_NTYPES; t++) agg_buf_u64(b, en->u.ev[t]); break;
            case AGG_K_SAMPLE: {
                const agg_stats *st = &en->u.s.st;
                const agg_sketch *sk = &en->u.s.sk;
                agg_buf_u64(b, st->n);
                agg_buf_f64(b, st->sum.hi); agg_buf_f64(b, st->sum.lo);
                agg_buf_f64(b, st->sumsq.hi); agg_buf_f64(b, st->sumsq.lo);
                agg_buf_f64(b, st->min); agg_buf_f64(b, st->max);
                agg_buf_u64(b, sk->zero); agg_buf_u64(b, sk->count);
                agg_buf_f64(b, sk->min); agg_buf_f64(b, sk->max);
                save_store(b, &sk->pos);
                save_store(b, &sk->neg);
                break;
            }
            default: {
                const agg_fdelta *d = &en->u.fd;
                for (int t = 0; t < AGG_NTYPES; t++) agg_buf_u64(b, d->ev[t]);
                agg_buf_f64(b, d->rating_sum.hi); agg_buf_f64(b, d->rating_sum.lo);
                agg_buf_u64(b, (uint64_t)d->min_ts); agg_buf_u64(b, (uint64_t)d->max_ts);
                break;
            }
            }
        }
    }
    agg_buf_u64(b, hash_seeded64(b->p + start, b->len - start, AGG_CKPT_SEED));
}

static int load_store(agg_rd *r, agg_store *st, uint32_t max_bins)
{
    int32_t off = (int32_t)agg_rd_u32(r);
    uint32_t n = agg_rd_u32(r);
    /* bin indexes are clamped to +-AGG_DD_MAX_INDEX when values are added */
    if (n > max_bins || (size_t)(r->end - r->p) < (size_t)n * 8 ||
        off < -AGG_DD_MAX_INDEX || (int64_t)off + n > AGG_DD_MAX_INDEX + 1) { r->bad = 1; return -1; }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t c = agg_rd_u64(r);
        if (c) agg_store_add(st, off + (int32_t)i, c, max_bins);
    }
    return 0;
}

static agg_hll *load_hll(agg_rd *r)
{
    if (!agg_rd_u8(r)) return NULL;
    const uint8_t *p = agg_rd_ptr(r, AGG_HLL_M);
    if (!p) return NULL;
    /* a register holds a leading-zero count + 1: never more than 64 - P + 1 */
    for (uint32_t i = 0; i < AGG_HLL_M; i++)
        if (p[i] > 64 - AGG_HLL_P + 1) { r->bad = 1; return NULL; }
    agg_hll *h = malloc(sizeof *h);
    if (!h) log_fatal("aggregate: out of memory");
    memcpy(h->reg, p, AGG_HLL_M);
    return h;
}

int agg_engine_load(agg_engine *e, const uint8_t *p, size_t n, char *err, size_t errlen)
{
    agg_rd r = { p, p + n, 0 };
    if (agg_rd_u32(&r) != AGG_CKPT_MAGIC) { snprintf(err, errlen, "not an aggregate checkpoint"); return -1; }
    uint64_t sum = 0;
    for (int i = 0; n >= 12 && i < 8; i++) sum |= (uint64_t)p[n - 8 + i] << (8 * i);
    if (n < 12 || sum != hash_seeded64(p, n - 8, AGG_CKPT_SEED)) {
        snprintf(err, errlen, "corrupt aggregate checkpoint (checksum)");
        return -1;
    }
    r.end -= 8;
    uint32_t clen = agg_rd_u32(&r);
    const uint8_t *cp = agg_rd_ptr(&r, clen);
    agg_buf cfg = {0};
    save_config(e, &cfg);
    int same = cp && cfg.len == clen && memcmp(cfg.p, cp, clen) == 0;
    agg_buf_free(&cfg);
    if (!same) {
        snprintf(err, errlen, "the state was written with other --window/--hop/--by/--features/"
                 "--relative-accuracy settings; use them again or a new --state");
        return -1;
    }
    e->wm.seen = agg_rd_u8(&r);
    e->wm.max_ts = (int64_t)agg_rd_u64(&r);
    agg_rd_get(&r, &e->c, sizeof e->c);
    int merge = e->cfg.mode == AGG_MODE_MERGE;
    if (merge) {
        e->merge_repeats = agg_rd_u64(&r);
        e->merge_late = agg_rd_u64(&r);
        uint32_t ns = agg_rd_u32(&r);
        for (uint32_t i = 0; i < ns && !r.bad; i++) {
            uint32_t tlen = agg_rd_u32(&r);
            const uint8_t *tp = agg_rd_ptr(&r, tlen);
            int32_t part = (int32_t)agg_rd_u32(&r), parts = (int32_t)agg_rd_u32(&r);
            int64_t wm = (int64_t)agg_rd_u64(&r);
            int idle = agg_rd_u8(&r);
            if (!tp || r.bad) { r.bad = 1; break; }
            int si = agg_engine_source(e, (const char *)tp, tlen, part, parts);
            if (si != (int)i) { r.bad = 1; break; }
            e->srcs[si].wm = wm;
            e->srcs[si].idle = idle != 0;
        }
    }
    uint32_t nw = agg_rd_u32(&r);
    for (uint32_t wi = 0; wi < nw && !r.bad; wi++) {
        int spec = (int)agg_rd_u32(&r);
        int64_t start = (int64_t)agg_rd_u64(&r);
        if (!(spec == AGG_BUCKET_SPEC || (spec >= 0 && spec < e->cfg.nspecs)) ||
            start < -AGG_MAX_TS || start > AGG_MAX_TS) { r.bad = 1; break; }
        int src = 0;
        agg_cover cov = { -1, -1, -1 };
        if (merge) {
            src = (int)agg_rd_u32(&r);
            load_cover(&r, &cov);
            if (src < 0 || src >= e->nsrc) { r.bad = 1; break; }
        }
        agg_win *w = agg_get_win_src(e, spec, start, src);
        w->cov = cov;
        w->events = agg_rd_u64(&r);
        w->users = load_hll(&r);
        w->sessions = load_hll(&r);
        uint64_t ne = agg_rd_u64(&r);
        for (uint64_t i = 0; i < ne && !r.bad; i++) {
            uint32_t klen = agg_rd_u32(&r);
            const uint8_t *k = agg_rd_ptr(&r, klen);
            if (!k || klen < 1) { r.bad = 1; break; }
            if (agg_map_find(&w->map, k, klen, agg_key_hash(k, klen))) { r.bad = 1; break; }
            agg_entry *en = agg_map_insert(&w->map, k, klen, agg_key_hash(k, klen));
            e->nseries++;
            if (merge) load_cover(&r, &en->cov);
            switch (k[0]) {
            case AGG_K_COUNT: en->u.count = agg_rd_u64(&r); break;
            case AGG_K_ITEM: for (int t = 0; t < AGG_NTYPES; t++) en->u.ev[t] = agg_rd_u64(&r); break;
            case AGG_K_SAMPLE: {
                agg_stats *st = &en->u.s.st;
                agg_sketch *sk = &en->u.s.sk;
                agg_sketch_init(sk);
                st->n = agg_rd_u64(&r);
                st->sum.hi = agg_rd_f64(&r); st->sum.lo = agg_rd_f64(&r);
                st->sumsq.hi = agg_rd_f64(&r); st->sumsq.lo = agg_rd_f64(&r);
                st->min = agg_rd_f64(&r); st->max = agg_rd_f64(&r);
                sk->zero = agg_rd_u64(&r); sk->count = agg_rd_u64(&r);
                sk->min = agg_rd_f64(&r); sk->max = agg_rd_f64(&r);
                load_store(&r, &sk->pos, e->dd.max_bins);
                load_store(&r, &sk->neg, e->dd.max_bins);
                break;
            }
            case AGG_K_FUSER: case AGG_K_FITEM: {
                agg_fdelta *d = &en->u.fd;
                for (int t = 0; t < AGG_NTYPES; t++) d->ev[t] = agg_rd_u64(&r);
                d->rating_sum.hi = agg_rd_f64(&r); d->rating_sum.lo = agg_rd_f64(&r);
                d->min_ts = (int64_t)agg_rd_u64(&r); d->max_ts = (int64_t)agg_rd_u64(&r);
                break;
            }
            default: r.bad = 1;
            }
        }
    }
    if (r.bad || r.p != r.end) { snprintf(err, errlen, "corrupt aggregate checkpoint"); return -1; }
    return 0;
}
