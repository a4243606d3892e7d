/* engine.c — the engine's life cycle, its open windows and the records
 * counted into them, and closing windows as the watermark passes them (see
 * engine.h). What a closed window writes is in emit.c, --merge's sources in
 * merge.c, the checkpoint blob in checkpoint.c; engine_int.h is what they
 * share. */
#include "engine_int.h"
#include "sizes.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hll.h"
#include "log.h"
#include "seen.h"

agg_engine *agg_engine_new(const agg_config *cfg, agg_features *fs, agg_emit_fn emit, void *ctx)
{
    agg_engine *e = calloc(1, sizeof *e);
    if (!e) log_fatal("aggregate: out of memory");
    e->cfg = *cfg;
    if (agg_ddparams_init(&e->dd, cfg->alpha) < 0) agg_ddparams_init(&e->dd, 0.01);
    e->fs = cfg->features ? fs : NULL;
    e->emit = emit;
    e->ctx = ctx;
    e->wm.lateness = cfg->lateness;
    if (cfg->dedup_ids) e->seen = agg_seen_new(cfg->dedup_ids);
    e->cur_off = INT64_MAX;
    return e;
}

static void win_free(agg_win *w)
{
    agg_map_free(&w->map);
    free(w->users);
    free(w->sessions);
    free(w);
}

void agg_engine_free(agg_engine *e)
{
    if (!e) return;
    while (e->wins) { agg_win *n = e->wins->next; win_free(e->wins); e->wins = n; }
    agg_key_free(&e->key);
    agg_seen_free(e->seen);
    for (int i = 0; i < e->nsrc; i++) free(e->srcs[i].topic);
    free(e->srcs);
    free(e->kv);
    free(e);
}

const agg_counters *agg_engine_counters(const agg_engine *e) { return &e->c; }
uint64_t agg_engine_series(const agg_engine *e) { return e->nseries; }
int64_t agg_engine_watermark(const agg_engine *e) { return agg_wm_value(&e->wm); }
agg_seen *agg_engine_seen(agg_engine *e) { return e->seen; }

agg_win *agg_get_win_src(agg_engine *e, int spec, int64_t start, int src)
{
    for (agg_win *w = e->wins; w; w = w->next)
        if (w->spec == spec && w->start == start && w->src == src) {
            if (e->cur_off < w->first_off) w->first_off = e->cur_off;
            return w;
        }
    agg_wspec tmp;
    agg_win *w = calloc(1, sizeof *w);
    if (!w) log_fatal("aggregate: out of memory (window)");
    w->spec = spec;
    w->src = src;
    w->cov.to = -1;
    w->first_off = e->cur_off;
    w->start = start;
    w->end = start + spec_of(e, spec, &tmp)->size;
    agg_map_init(&w->map);
    w->next = e->wins;
    e->wins = w;
    return w;
}

static agg_win *get_win(agg_engine *e, int spec, int64_t start) { return agg_get_win_src(e, spec, start, 0); }

static void entry_init(agg_entry *en)
{
    if (agg_entry_kind(en) == AGG_K_SAMPLE) {
        agg_stats_init(&en->u.s.st);
        agg_sketch_init(&en->u.s.sk);
    } else if (agg_entry_kind(en) == AGG_K_FUSER || agg_entry_kind(en) == AGG_K_FITEM) {
        en->u.fd.min_ts = INT64_MAX;
        en->u.fd.max_ts = INT64_MIN;
    }
}

/* dst += src, same kind (dst initialised) */
static void entry_merge(const agg_engine *e, agg_entry *d, const agg_entry *s)
{
    switch (agg_entry_kind(d)) {
    case AGG_K_COUNT: d->u.count += s->u.count; break;
    case AGG_K_ITEM: for (int t = 0; t < AGG_NTYPES; t++) d->u.ev[t] += s->u.ev[t]; break;
    case AGG_K_SAMPLE:
        agg_stats_merge(&d->u.s.st, &s->u.s.st);
        agg_sketch_merge(&e->dd, &d->u.s.sk, &s->u.s.sk);
        break;
    case AGG_K_FUSER: case AGG_K_FITEM: {
        agg_fdelta *a = &d->u.fd;
        const agg_fdelta *b = &s->u.fd;
        for (int t = 0; t < AGG_NTYPES; t++) a->ev[t] += b->ev[t];
        agg_dd_add(&a->rating_sum, b->rating_sum.hi);
        agg_dd_add(&a->rating_sum, b->rating_sum.lo);
        if (b->min_ts < a->min_ts) a->min_ts = b->min_ts;
        if (b->max_ts > a->max_ts) a->max_ts = b->max_ts;
        break;
    }
    }
}


/* A new series in w, if the series bound allows (NULL: dropped, counted). */
agg_entry *agg_series_new(agg_engine *e, agg_win *w, const uint8_t *key, uint32_t klen, uint64_t h)
{
    if ((int64_t)e->nseries >= e->cfg.max_series) {
        e->c.series_dropped++;
        log_kv(LOG_WARN, "series limit reached: new series not tracked",
               "\"max_series\":%lld,\"dropped\":%llu",
               (long long)e->cfg.max_series, (unsigned long long)e->c.series_dropped);
        return NULL;
    }
    agg_entry *en = agg_map_insert(&w->map, key, klen, h);
    entry_init(en);
    e->nseries++;
    return en;
}

/* The entry for e->key in w, created if the series bound allows. */
static agg_entry *win_entry(agg_engine *e, agg_win *w)
{
    uint64_t h = agg_key_hash(e->key.p, e->key.len);
    agg_entry *en = agg_map_find(&w->map, e->key.p, e->key.len, h);
    return en ? en : agg_series_new(e, w, e->key.p, e->key.len, h);
}

static int by_has(const agg_engine *e, const char *k, uint32_t len)
{
    for (int i = 0; i < e->cfg.nby; i++)
        if (strlen(e->cfg.by[i]) == len && memcmp(e->cfg.by[i], k, len) == 0) return 1;
    return 0;
}

static fb_str event_type_label(const Event *ev)
{
    if (ev->type >= 0 && ev->type < EventType_custom) return FB_STR(EventType_name(ev->type));
    if (ev->name.ptr && ev->name.len) return ev->name;
    return FB_STR("custom");
}

/* The value of a --by key on an event: a field or an attribute. */
static fb_str event_by_value(const Event *ev, const char *k)
{
    if (!strcmp(k, "source")) return ev->source;
    if (!strcmp(k, "name")) return ev->name;
    if (!strcmp(k, "user_id")) return ev->user_id;
    if (!strcmp(k, "item_id")) return ev->item_id;
    if (!strcmp(k, "session_id")) return ev->session_id;
    if (!strcmp(k, "experiment")) return ev->experiment;
    if (!strcmp(k, "variant")) return ev->variant;
    for (uint32_t i = 0; i < ev->attrs_count; i++)
        if (fb_str_eq(ev->attrs[i].key, k)) return ev->attrs[i].value;
    return (fb_str){ NULL, 0 };
}

static void win_add_event(agg_engine *e, agg_win *w, const Event *ev)
{
    agg_entry *en;
    w->events++;
    fb_str tl = event_type_label(ev);
    agg_key_reset(&e->key, AGG_K_COUNT);
    agg_key_str(&e->key, "events", 6);
    agg_key_str(&e->key, "event_type", 10);
    agg_key_str(&e->key, tl.ptr, tl.len);
    for (int i = 0; i < e->cfg.nby; i++) {
        fb_str v = event_by_value(ev, e->cfg.by[i]);
        if (!v.ptr || !v.len) continue;   /* absent or empty: no label */
        agg_key_str(&e->key, e->cfg.by[i], (uint32_t)strlen(e->cfg.by[i]));
        agg_key_str(&e->key, v.ptr, v.len);
    }
    if ((en = win_entry(e, w))) en->u.count++;

    int t = ev->type >= 0 && ev->type < AGG_NTYPES ? ev->type : EventType_custom;
    if (ev->item_id.ptr && ev->item_id.len) {
        agg_key_reset(&e->key, AGG_K_ITEM);
        agg_key_str(&e->key, ev->item_id.ptr, ev->item_id.len);
        if ((en = win_entry(e, w))) en->u.ev[t]++;
    }
    if (ev->user_id.ptr && ev->user_id.len) {
        if (!w->users) { w->users = malloc(sizeof *w->users); if (!w->users) log_fatal("out of memory"); agg_hll_init(w->users); }
        agg_hll_add(w->users, ev->user_id.ptr, ev->user_id.len);
    }
    if (ev->session_id.ptr && ev->session_id.len) {
        if (!w->sessions) { w->sessions = malloc(sizeof *w->sessions); if (!w->sessions) log_fatal("out of memory"); agg_hll_init(w->sessions); }
        agg_hll_add(w->sessions, ev->session_id.ptr, ev->session_id.len);
    }
    if (ev->experiment.ptr && ev->experiment.len &&
        (ev->type == EventType_exposure || ev->type == EventType_purchase)) {
        agg_key_reset(&e->key, AGG_K_COUNT);
        if (ev->type == EventType_exposure) agg_key_str(&e->key, "experiment.exposures", 20);
        else agg_key_str(&e->key, "experiment.conversions", 22);
        agg_key_str(&e->key, "experiment", 10);
        agg_key_str(&e->key, ev->experiment.ptr, ev->experiment.len);
        agg_key_str(&e->key, "variant", 7);
        agg_key_str(&e->key, ev->variant.ptr ? ev->variant.ptr : "", ev->variant.len);
        if ((en = win_entry(e, w))) en->u.count++;
    }
}

static void fdelta_add(agg_fdelta *d, int t, const Event *ev)
{
    d->ev[t]++;
    if (t == EventType_rating) agg_dd_add(&d->rating_sum, ev->value);
    if (ev->ts < d->min_ts) d->min_ts = ev->ts;
    if (ev->ts > d->max_ts) d->max_ts = ev->ts;
}

static void bucket_add_event(agg_engine *e, agg_win *b, const Event *ev)
{
    agg_entry *en;
    int t = ev->type >= 0 && ev->type < AGG_NTYPES ? ev->type : EventType_custom;
    b->events++;
    if ((e->cfg.features & AGG_FEAT_USER) && ev->user_id.ptr && ev->user_id.len) {
        agg_key_reset(&e->key, AGG_K_FUSER);
        agg_key_str(&e->key, ev->user_id.ptr, ev->user_id.len);
        if ((en = win_entry(e, b))) fdelta_add(&en->u.fd, t, ev);
    }
    if ((e->cfg.features & AGG_FEAT_ITEM) && ev->item_id.ptr && ev->item_id.len) {
        agg_key_reset(&e->key, AGG_K_FITEM);
        agg_key_str(&e->key, ev->item_id.ptr, ev->item_id.len);
        if ((en = win_entry(e, b))) fdelta_add(&en->u.fd, t, ev);
    }
}


static int win_order(const void *a, const void *b)
{
    const agg_win *x = *(agg_win *const *)a, *y = *(agg_win *const *)b;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    if (x->spec != y->spec) return x->spec < y->spec ? -1 : 1;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->src < y->src ? -1 : x->src > y->src;
}


int agg_engine_emit_open(agg_engine *e)
{
    if (e->cfg.mode != AGG_MODE_PARTIALS) return 0;
    size_t n = 0;
    for (agg_win *w = e->wins; w; w = w->next) n++;
    if (!n) return 0;
    agg_win **v = malloc(n * sizeof *v);
    if (!v) log_fatal("aggregate: out of memory");
    size_t k = 0;
    for (agg_win *w = e->wins; w; w = w->next) v[k++] = w;
    qsort(v, n, sizeof *v, win_order);   /* the order windows close in */
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) rc = agg_emit_partials(e, v[i]);
    free(v);
    return rc;
}

/* AGG_MODE_MERGE: fold another source's part of the same window into dst. */
static void win_merge(agg_engine *e, agg_win *dst, const agg_win *src)
{
    dst->events += src->events;
    if (src->users) { if (dst->users) agg_hll_merge(dst->users, src->users); else dst->users = agg_hll_dup(src->users); }
    if (src->sessions) {
        if (dst->sessions) agg_hll_merge(dst->sessions, src->sessions);
        else dst->sessions = agg_hll_dup(src->sessions);
    }
    for (size_t i = 0; i < src->map.cap; i++) {
        const agg_entry *en = src->map.slots[i];
        if (!en) continue;
        agg_entry *d = agg_map_find(&dst->map, en->key, en->klen, en->hash);
        if (!d) { d = agg_map_insert(&dst->map, en->key, en->klen, en->hash); entry_init(d); }
        entry_merge(e, d, en);
    }
}

static int emit_closed(agg_engine *e, agg_win *w)
{
    if (e->cfg.mode == AGG_MODE_PARTIALS) { e->c.windows_emitted++; return agg_emit_partials(e, w); }
    return w->spec == AGG_BUCKET_SPEC ? agg_emit_bucket(e, w) : agg_emit_window(e, w);
}

/* Close (emit and free) every window ending at or before limit. Under
 * --merge the sources' parts of one window are combined first. */
static int close_until(agg_engine *e, int64_t limit, int all)
{
    size_t n = 0;
    for (agg_win *w = e->wins; w; w = w->next) if (all || w->end <= limit) n++;
    if (!n) return 0;
    agg_win **v = malloc(n * sizeof *v);
    if (!v) log_fatal("aggregate: out of memory");
    size_t k = 0;
    for (agg_win **pp = &e->wins; *pp;) {
        agg_win *w = *pp;
        if (all || w->end <= limit) { v[k++] = w; *pp = w->next; }
        else pp = &w->next;
    }
    qsort(v, n, sizeof *v, win_order);
    int rc = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[j]->spec == v[i]->spec && v[j]->start == v[i]->start) j++;
        for (size_t g = i; g < j; g++) e->nseries -= v[g]->map.n;
        for (size_t g = i + 1; g < j; g++) win_merge(e, v[i], v[g]);
        if (rc == 0) rc = emit_closed(e, v[i]);
        for (size_t g = i; g < j; g++) win_free(v[g]);
        i = j;
    }
    free(v);
    return rc ? AGG_ERR : AGG_OK;
}

void agg_engine_set_partial(agg_engine *e, agg_partial_fn fn, void *ctx) { e->pfn = fn; e->pctx = ctx; }
void agg_engine_set_offset(agg_engine *e, int64_t off) { e->cur_off = off; }

int64_t agg_engine_first_offset(const agg_engine *e)
{
    int64_t m = INT64_MAX;
    for (const agg_win *w = e->wins; w; w = w->next) if (w->first_off < m) m = w->first_off;
    return m;
}

void agg_engine_resume_watermark(agg_engine *e, int64_t wm)
{
    if (wm == INT64_MIN || wm > INT64_MAX - e->wm.lateness) return;
    if (agg_wm_advance(&e->wm, wm + e->wm.lateness) && e->seen) agg_seen_expire(e->seen, agg_wm_value(&e->wm));
}

const agg_ddparams *agg_engine_ddparams(const agg_engine *e) { return &e->dd; }

/* Earliest end of any window t belongs to: late if closed already. */
static int64_t first_end(const agg_engine *e, int64_t t)
{
    int64_t m = INT64_MAX;
    for (int s = 0; s < e->cfg.nspecs; s++) {
        int64_t x = agg_window_first_end(&e->cfg.specs[s], t);
        if (x < m) m = x;
    }
    return m;
}

int agg_engine_advance(agg_engine *e, int64_t t)
{
    if (t == INT64_MIN || !agg_wm_advance(&e->wm, t)) return AGG_OK;
    int rc = close_until(e, agg_wm_value(&e->wm), 0);
    if (e->seen) agg_seen_expire(e->seen, agg_wm_value(&e->wm));
    return rc;
}

int agg_engine_event(agg_engine *e, const Event *ev)
{
    int64_t t = ev->ts;
    if (t < -AGG_MAX_TS || t > AGG_MAX_TS) { e->c.bad_value++; return AGG_BADTS; }
    /* a copy of an event still counted in an open window: dropped, even if
     * late by now (a resend, not an error) */
    int track = e->seen && ev->event_id.len;
    uint64_t idh = track ? agg_seen_hash(ev->event_id.ptr, ev->event_id.len) : 0;
    if (track && agg_seen_check(e->seen, idh)) return AGG_DUP;
    int64_t fe = first_end(e, t);
    if (agg_wm_is_late(&e->wm, fe)) { e->c.late++; return AGG_LATE; }
    if (ev->type == EventType_rating && !isfinite(ev->value)) { e->c.bad_value++; return AGG_BADVALUE; }
    e->c.events++;
    if (track) agg_seen_add(e->seen, idh, fe);   /* held until its earliest window closes */
    int64_t starts[AGG_MAX_PER_EVENT];
    for (int s = 0; s < e->cfg.nspecs; s++) {
        int n = agg_window_starts(&e->cfg.specs[s], t, starts);
        for (int i = 0; i < n; i++) win_add_event(e, get_win(e, s, starts[i]), ev);
    }
    if (e->fs || (e->cfg.mode == AGG_MODE_PARTIALS && e->cfg.features)) {
        int64_t h = e->cfg.specs[0].hop;
        bucket_add_event(e, get_win(e, AGG_BUCKET_SPEC, agg_floor_div(t, h) * h), ev);
    }
    return AGG_OK;
}

static int label_cmp(const void *a, const void *b)
{
    const KeyValue *x = *(const KeyValue *const *)a, *y = *(const KeyValue *const *)b;
    uint32_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c = n ? memcmp(x->key.ptr, y->key.ptr, n) : 0;
    if (c) return c;
    return x->key.len < y->key.len ? -1 : x->key.len > y->key.len;
}

int agg_engine_sample(agg_engine *e, const Sample *s)
{
    int64_t t = s->ts;
    if (t < -AGG_MAX_TS || t > AGG_MAX_TS) { e->c.bad_value++; return AGG_BADTS; }
    /* a copy of a sample still counted in an open window: dropped, as an
     * Event's (seen.h); a sample without an id always counts */
    int track = e->seen && s->sample_id.len;
    uint64_t idh = track ? agg_seen_sample_hash(s->sample_id.ptr, s->sample_id.len,
                                                s->name.ptr ? s->name.ptr : "", s->name.len) : 0;
    if (track && agg_seen_check(e->seen, idh)) return AGG_DUP;
    int64_t fe = first_end(e, t);
    if (agg_wm_is_late(&e->wm, fe)) { e->c.late++; return AGG_LATE; }
    if (!isfinite(s->value)) { e->c.bad_value++; return AGG_BADVALUE; }
    /* more than any stage may send (sizes.h): refused, never cut short */
    if (s->labels_count > STREAMREC_MAX_LABELS) { e->c.bad_value++; return AGG_TOO_MANY_LABELS; }
    e->c.samples++;
    if (track) agg_seen_add(e->seen, idh, fe);
    /* canonical series key: name, then the kept labels sorted by key */
    size_t nl = 0;
    for (uint32_t i = 0; i < s->labels_count; i++) {
        const KeyValue *kv = &s->labels[i];
        if (e->cfg.nby && !by_has(e, kv->key.ptr, kv->key.len)) continue;
        e->lab[nl++] = kv;
    }
    if (nl > 1) qsort(e->lab, nl, sizeof e->lab[0], label_cmp);
    agg_key_reset(&e->key, AGG_K_SAMPLE);
    agg_key_str(&e->key, s->name.ptr ? s->name.ptr : "", s->name.len);
    for (size_t i = 0; i < nl; i++) {
        agg_key_str(&e->key, e->lab[i]->key.ptr ? e->lab[i]->key.ptr : "", e->lab[i]->key.len);
        agg_key_str(&e->key, e->lab[i]->value.ptr ? e->lab[i]->value.ptr : "", e->lab[i]->value.len);
    }
    int64_t starts[AGG_MAX_PER_EVENT];
    for (int sp = 0; sp < e->cfg.nspecs; sp++) {
        int n = agg_window_starts(&e->cfg.specs[sp], t, starts);
        for (int i = 0; i < n; i++) {
            agg_entry *en = win_entry(e, get_win(e, sp, starts[i]));
            if (!en) continue;
            agg_stats_add(&en->u.s.st, s->value);
            agg_sketch_add(&e->dd, &en->u.s.sk, s->value);
        }
    }
    return AGG_OK;
}

int agg_engine_flush(agg_engine *e)
{
    return close_until(e, 0, 1);
}
