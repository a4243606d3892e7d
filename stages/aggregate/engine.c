/* engine.c — windows, series, feature buckets and emission (see engine.h). */
#include "engine.h"
#include "sizes.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hash.h"
#include "hll.h"
#include "log.h"
#include "seen.h"
#include "timefmt.h"
#include "topk.h"

typedef struct agg_win {
    int spec;
    int src;                /* --merge: the source partition (agg_source) */
    agg_cover cov;          /* --merge: what its window partial covers (to -1: none) */
    int64_t first_off;      /* earliest input offset of its records (INT64_MAX: none known) */
    int64_t start, end;
    agg_map map;
    agg_hll *users, *sessions;
    uint64_t events;
    struct agg_win *next;
} agg_win;

/* --merge: a source partition and how far it is complete. */
typedef struct agg_source {
    char *topic;
    uint32_t tlen;
    int32_t partition, partitions;
    int64_t wm;             /* INT64_MIN: not heard from yet */
    int idle;
    int64_t idle_until;     /* mono_us its last idle mark holds to (idle_lease after it was read) */
} agg_source;

struct agg_engine {
    agg_config cfg;
    agg_partial_fn pfn; void *pctx;
    int64_t cur_off;
    agg_source *srcs; int nsrc, capsrc;
    int64_t idle_lease;         /* µs an idle mark counts for (agg_engine_set_idle_lease) */
    uint64_t merge_repeats, merge_late;
    agg_ddparams dd;
    agg_features *fs;
    agg_emit_fn emit;
    void *ctx;
    agg_watermark wm;
    agg_win *wins;
    agg_seen *seen;             /* event_ids counted in open windows (seen.h) */
    uint64_t nseries;
    agg_counters c;
    agg_key key;
    /* emission scratch */
    KeyValue *kv; size_t kvcap;
    Quantile q[AGG_MAX_QUANTILES];
    char numbuf[AGG_MAX_QUANTILES][8];
    const KeyValue *lab[STREAMREC_MAX_LABELS];   /* a Sample's labels, in key order */
};

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

static const agg_wspec *spec_of(const agg_engine *e, int spec, agg_wspec *tmp)
{
    if (spec < AGG_BUCKET_SPEC) return &e->cfg.specs[spec];
    tmp->size = tmp->hop = e->cfg.specs[0].hop;
    return tmp;
}

static agg_win *get_win_src(agg_engine *e, int spec, int64_t start, int src)
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

static agg_win *get_win(agg_engine *e, int spec, int64_t start) { return get_win_src(e, spec, start, 0); }

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

/* dst = src, exactly (a sample's sums are copied, not re-added) */
static void entry_copy(const agg_engine *e, agg_entry *d, const agg_entry *s)
{
    if (agg_entry_kind(d) == AGG_K_SAMPLE) {
        agg_sketch_free(&d->u.s.sk);
        agg_sketch_init(&d->u.s.sk);
        agg_sketch_merge(&e->dd, &d->u.s.sk, &s->u.s.sk);
        d->u.s.sk.min = s->u.s.sk.min;
        d->u.s.sk.max = s->u.s.sk.max;
        d->u.s.st = s->u.s.st;
    } else {
        memcpy(&d->u, &s->u, sizeof d->u);
    }
}

/* A new series in w, if the series bound allows (NULL: dropped, counted). */
static agg_entry *series_new(agg_engine *e, agg_win *w, const uint8_t *key, uint32_t klen, uint64_t h)
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
    return en ? en : series_new(e, w, e->key.p, e->key.len, h);
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

/* ---- closing and emission ------------------------------------------------ */

static int emit_metric(agg_engine *e, Metric *m)
{
    e->c.metrics_emitted++;
    return e->emit(e->ctx, m);
}

static void kv_reserve(agg_engine *e, size_t n)
{
    if (n <= e->kvcap) return;
    size_t cap = e->kvcap ? e->kvcap * 2 : 16;
    while (cap < n) cap *= 2;
    KeyValue *kv = realloc(e->kv, cap * sizeof *kv);
    if (!kv) log_fatal("aggregate: out of memory");
    e->kv = kv;
    e->kvcap = cap;
}

/* name and labels from a COUNT or SAMPLE key */
static void metric_from_key(agg_engine *e, const agg_entry *en, const agg_win *w, Metric *m)
{
    Metric_init(m);
    agg_key_rd rd;
    agg_key_rd_init(&rd, en);
    const char *s; uint32_t n;
    if (agg_key_next(&rd, &s, &n)) m->name = FB_STRN(s, n);
    size_t k = 0;
    const char *v; uint32_t vn;
    while (agg_key_next(&rd, &s, &n) && agg_key_next(&rd, &v, &vn)) {
        kv_reserve(e, k + 1);
        KeyValue_init(&e->kv[k]);
        e->kv[k].key = FB_STRN(s, n);
        e->kv[k].value = FB_STRN(v, vn);
        k++;
    }
    m->labels = k ? e->kv : NULL;
    m->labels_count = (uint32_t)k;
    m->window_start = w->start;
    m->window_end = w->end;
}

static void set_labels1(agg_engine *e, Metric *m, const char *k1, fb_str v1, const char *k2, fb_str v2)
{
    kv_reserve(e, 2);
    KeyValue_init(&e->kv[0]);
    e->kv[0].key = FB_STR(k1);
    e->kv[0].value = v1;
    m->labels = e->kv;
    m->labels_count = 1;
    if (k2) {
        KeyValue_init(&e->kv[1]);
        e->kv[1].key = FB_STR(k2);
        e->kv[1].value = v2;
        m->labels_count = 2;
    }
}

static fb_str entry_first_str(const agg_entry *en)
{
    agg_key_rd rd;
    agg_key_rd_init(&rd, en);
    const char *s; uint32_t n;
    if (!agg_key_next(&rd, &s, &n)) return FB_STRN("", 0);
    return FB_STRN(s, n);
}

static int emit_item(agg_engine *e, const agg_win *w, const agg_entry *en)
{
    fb_str item = entry_first_str(en);
    Metric m;
    for (int t = 0; t < AGG_NTYPES; t++) {
        if (!en->u.ev[t]) continue;
        Metric_init(&m);
        m.name = FB_STR("item.events");
        set_labels1(e, &m, "item_id", item, "event_type", FB_STR(t < EventType_custom ? EventType_name(t) : "custom"));
        m.window_start = w->start; m.window_end = w->end;
        m.count = en->u.ev[t];
        m.value = (double)en->u.ev[t];
        if (emit_metric(e, &m) < 0) return -1;
    }
    uint64_t imp = en->u.ev[EventType_impression], clk = en->u.ev[EventType_click],
             pur = en->u.ev[EventType_purchase];
    if (imp) {
        Metric_init(&m);
        m.name = FB_STR("item.ctr");
        set_labels1(e, &m, "item_id", item, NULL, item);
        m.window_start = w->start; m.window_end = w->end;
        m.count = imp; m.sum = (double)clk; m.value = (double)clk / (double)imp;
        if (emit_metric(e, &m) < 0) return -1;
    }
    if (clk) {
        Metric_init(&m);
        m.name = FB_STR("item.conversion");
        set_labels1(e, &m, "item_id", item, NULL, item);
        m.window_start = w->start; m.window_end = w->end;
        m.count = clk; m.sum = (double)pur; m.value = (double)pur / (double)clk;
        if (emit_metric(e, &m) < 0) return -1;
    }
    return 0;
}

static int emit_sample(agg_engine *e, const agg_win *w, const agg_entry *en)
{
    Metric m;
    metric_from_key(e, en, w, &m);
    const agg_stats *st = &en->u.s.st;
    m.count = st->n;
    m.sum = agg_stats_sum(st);
    m.min = st->min;
    m.max = st->max;
    m.mean = agg_stats_mean(st);
    m.stddev = agg_stats_stddev(st);
    for (int i = 0; i < e->cfg.nq; i++) {
        e->q[i].q = e->cfg.quantiles[i];
        e->q[i].value = agg_sketch_quantile(&e->dd, &en->u.s.sk, e->cfg.quantiles[i]);
    }
    m.quantiles = e->q;
    m.quantiles_count = (uint32_t)e->cfg.nq;
    m.value = m.mean;
    return emit_metric(e, &m);
}

typedef struct { agg_entry **items; int type; } topk_ctx;
static uint64_t topk_get(void *ctx, size_t i) { topk_ctx *c = ctx; return c->items[i]->u.ev[c->type]; }

static int emit_top(agg_engine *e, const agg_win *w, agg_entry **items, size_t n, int type, const char *name)
{
    size_t k = (size_t)e->cfg.topk;
    size_t *idx = malloc((k ? k : 1) * sizeof *idx);
    if (!idx) log_fatal("aggregate: out of memory");
    topk_ctx c = { items, type };
    size_t got = agg_topk(n, topk_get, &c, k, idx);
    int rc = 0;
    for (size_t i = 0; i < got && rc == 0; i++) {
        Metric m;
        Metric_init(&m);
        m.name = FB_STR(name);
        char rank[24];
        snprintf(rank, sizeof rank, "%zu", i + 1);
        set_labels1(e, &m, "item_id", entry_first_str(items[idx[i]]), "rank", FB_STR(rank));
        m.window_start = w->start; m.window_end = w->end;
        m.count = items[idx[i]]->u.ev[type];
        m.value = (double)m.count;
        rc = emit_metric(e, &m);
    }
    free(idx);
    return rc;
}

static int emit_value(agg_engine *e, const agg_win *w, const char *name, const char *lk, fb_str lv, double v)
{
    Metric m;
    Metric_init(&m);
    m.name = FB_STR(name);
    if (lk) set_labels1(e, &m, lk, lv, NULL, lv);
    m.window_start = w->start; m.window_end = w->end;
    m.value = v;
    return emit_metric(e, &m);
}

static int emit_window(agg_engine *e, agg_win *w)
{
    agg_entry **v = agg_map_sorted(&w->map);
    size_t n = w->map.n, item0 = n, nitems = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        agg_entry *en = v[i];
        switch (agg_entry_kind(en)) {
        case AGG_K_COUNT: {
            Metric m;
            metric_from_key(e, en, w, &m);
            m.count = en->u.count;
            m.value = (double)en->u.count;
            rc = emit_metric(e, &m);
            break;
        }
        case AGG_K_ITEM:
            if (item0 == n) item0 = i;
            nitems++;
            rc = emit_item(e, w, en);
            break;
        case AGG_K_SAMPLE:
            rc = emit_sample(e, w, en);
            break;
        }
    }
    if (rc == 0 && w->users) {
        Metric m;
        Metric_init(&m);
        m.name = FB_STR("users.distinct");
        m.window_start = w->start; m.window_end = w->end;
        m.count = w->events;
        m.value = round(agg_hll_estimate(w->users));
        rc = emit_metric(e, &m);
    }
    if (rc == 0 && w->sessions) {
        Metric m;
        Metric_init(&m);
        m.name = FB_STR("sessions.distinct");
        m.window_start = w->start; m.window_end = w->end;
        m.count = w->events;
        m.value = round(agg_hll_estimate(w->sessions));
        rc = emit_metric(e, &m);
    }
    if (rc == 0 && e->cfg.topk > 0 && nitems) {
        rc = emit_top(e, w, v + item0, nitems, EventType_click, "top.clicks");
        if (rc == 0) rc = emit_top(e, w, v + item0, nitems, EventType_purchase, "top.purchases");
    }
    free(v);
    e->c.windows_emitted++;
    return rc;
}

static int emit_row(agg_engine *e, const agg_win *b, int item, fb_str id, const agg_frow *r)
{
    static const char *const uname[] = { "user.interactions", "user.impressions", "user.views",
        "user.clicks", "user.add_to_carts", "user.purchases", "user.ratings", "user.avg_rating",
        "user.first_seen", "user.last_seen", "user.activity_score", "user.recency_score" };
    static const char *const iname[] = { "item.interactions", "item.impressions", "item.views",
        "item.clicks", "item.add_to_carts", "item.purchases", "item.ratings", "item.avg_rating",
        "item.first_seen", "item.last_seen", "item.activity_score", "item.recency_score",
        "item.popularity" };
    const char *const *names = item ? iname : uname;
    const char *lk = item ? "item_id" : "user_id";
    double val[13] = {
        (double)agg_frow_interactions(r), (double)r->ev[EventType_impression],
        (double)r->ev[EventType_view], (double)r->ev[EventType_click],
        (double)r->ev[EventType_add_to_cart], (double)r->ev[EventType_purchase],
        (double)r->ev[EventType_rating],
        r->ev[EventType_rating] ? r->rating_sum / (double)r->ev[EventType_rating] : NAN,
        (double)r->first_seen, (double)r->last_seen, r->activity,
        agg_frow_recency(e->fs, r, b->end), r->popularity };
    int nf = item ? 13 : 12;
    for (int i = 0; i < nf; i++) {
        if (isnan(val[i])) continue;
        if (emit_value(e, b, names[i], lk, id, val[i]) < 0) return -1;
    }
    return 0;
}

static int emit_bucket(agg_engine *e, agg_win *b)
{
    agg_entry **v = agg_map_sorted(&b->map);
    int rc = 0;
    for (size_t i = 0; i < b->map.n && rc == 0; i++) {
        agg_entry *en = v[i];
        int item = agg_entry_kind(en) == AGG_K_FITEM;
        fb_str id = entry_first_str(en);
        int err = 0;
        const agg_frow *r = e->fs ? agg_features_apply(e->fs, item, id.ptr, id.len, &en->u.fd, b->end, &err) : NULL;
        if (err) rc = -1;
        else if (r) rc = emit_row(e, b, item, id, r);
    }
    free(v);
    return rc;
}

static int win_order(const void *a, const void *b)
{
    const agg_win *x = *(agg_win *const *)a, *y = *(agg_win *const *)b;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    if (x->spec != y->spec) return x->spec < y->spec ? -1 : 1;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->src < y->src ? -1 : x->src > y->src;
}

/* AGG_MODE_PARTIALS: the window's series, then its own state. */
static int emit_partials(agg_engine *e, const agg_win *w)
{
    agg_entry **v = agg_map_sorted(&w->map);
    agg_wview wv = { w->spec, w->start, w->end, w->events, w->users, w->sessions, w->first_off };
    int rc = 0;
    for (size_t i = 0; i < w->map.n && rc == 0; i++) rc = e->pfn(e->pctx, &wv, v[i]);
    if (rc == 0 && w->spec != AGG_BUCKET_SPEC && (w->events || w->users || w->sessions))
        rc = e->pfn(e->pctx, &wv, NULL);
    free(v);
    return rc;
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
    for (size_t i = 0; i < n && rc == 0; i++) rc = emit_partials(e, v[i]);
    free(v);
    return rc;
}

static agg_hll *hll_dup(const agg_hll *h)
{
    agg_hll *c = malloc(sizeof *c);
    if (!c) log_fatal("aggregate: out of memory");
    memcpy(c, h, sizeof *c);
    return c;
}

/* AGG_MODE_MERGE: fold another source's part of the same window into dst. */
static void win_merge(agg_engine *e, agg_win *dst, const agg_win *src)
{
    dst->events += src->events;
    if (src->users) { if (dst->users) agg_hll_merge(dst->users, src->users); else dst->users = hll_dup(src->users); }
    if (src->sessions) {
        if (dst->sessions) agg_hll_merge(dst->sessions, src->sessions);
        else dst->sessions = hll_dup(src->sessions);
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
    if (e->cfg.mode == AGG_MODE_PARTIALS) { e->c.windows_emitted++; return emit_partials(e, w); }
    return w->spec == AGG_BUCKET_SPEC ? emit_bucket(e, w) : emit_window(e, w);
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

uint64_t agg_engine_merge_repeats(const agg_engine *e) { return e->merge_repeats; }
const agg_ddparams *agg_engine_ddparams(const agg_engine *e) { return &e->dd; }
uint64_t agg_engine_merge_late(const agg_engine *e) { return e->merge_late; }

/* ---- merge ------------------------------------------------------------------ */

static int sources_complete(const agg_engine *e)
{
    if (!e->nsrc) return 0;
    for (int i = 0; i < e->nsrc; i++) {
        const agg_source *s = &e->srcs[i];
        int32_t want = 0, have = 0;
        for (int j = 0; j < e->nsrc; j++) {
            const agg_source *t = &e->srcs[j];
            if (t->tlen != s->tlen || memcmp(t->topic, s->topic, s->tlen)) continue;
            if (t->partitions > want) want = t->partitions;
            have++;
        }
        if (have < want) return 0;
    }
    return 1;
}

int agg_engine_source(agg_engine *e, const char *topic, uint32_t tlen, int32_t partition, int32_t partitions)
{
    if (partition < 0 || partitions < 1 || partition >= partitions || partitions > AGG_MAX_SOURCES) return -1;
    for (int i = 0; i < e->nsrc; i++) {
        agg_source *s = &e->srcs[i];
        if (s->partition == partition && s->tlen == tlen && !memcmp(s->topic, topic, tlen)) {
            if (partitions > s->partitions) s->partitions = partitions;
            return i;
        }
    }
    if (e->nsrc >= AGG_MAX_SOURCES) return -1;
    if (e->nsrc == e->capsrc) {
        int cap = e->capsrc ? e->capsrc * 2 : 16;
        agg_source *ns = realloc(e->srcs, (size_t)cap * sizeof *ns);
        if (!ns) log_fatal("aggregate: out of memory");
        e->srcs = ns;
        e->capsrc = cap;
    }
    agg_source *s = &e->srcs[e->nsrc++];
    s->topic = malloc(tlen + 1);
    if (!s->topic) log_fatal("aggregate: out of memory");
    memcpy(s->topic, topic, tlen);
    s->topic[tlen] = 0;
    s->tlen = tlen;
    s->partition = partition;
    s->partitions = partitions;
    s->wm = INT64_MIN;
    s->idle = 0;
    s->idle_until = 0;
    return e->nsrc - 1;
}

/* The minimum over the sources; INT64_MIN until every partition of every
 * source topic has been heard from. live (the merge has read every partial
 * there is: agg_engine_merge_live): over the sources not idle, the maximum
 * when all are (as one process's Kafka input: kafka_src_event_time). An
 * idle source sent the partials of its open windows before it said so (on
 * the same partials partition: they are read first), so closing windows
 * past its watermark loses nothing of it; when it reads again its emitter
 * says so before anything else. Not while a backlog is read: the partials
 * topic's partitions are read in no common order, and a source idle back
 * then may have sent partials since that another partition holds still. */
static int64_t merge_time(const agg_engine *e, int live)
{
    if (!sources_complete(e)) return INT64_MIN;
    int64_t lo = INT64_MAX, hi = INT64_MIN, now = mono_us();
    int active = 0;
    for (int i = 0; i < e->nsrc; i++) {
        if (e->srcs[i].wm > hi) hi = e->srcs[i].wm;
        /* an idle mark not repeated within the lease: its emitter may be
         * gone (kill -9), and records may come to the partition before its
         * next owner reads them: it holds the merge again */
        if (live && e->srcs[i].idle && now < e->srcs[i].idle_until) continue;
        active = 1;
        if (e->srcs[i].wm < lo) lo = e->srcs[i].wm;
    }
    return active ? lo : hi;
}

int agg_engine_source_progress(agg_engine *e, int src, int64_t wm, int idle)
{
    if (src < 0 || src >= e->nsrc) return AGG_OK;
    agg_source *s = &e->srcs[src];
    if (idle) s->idle_until = mono_us() + e->idle_lease;   /* a repeat renews it */
    else if (wm <= s->wm && !s->idle) return AGG_OK;
    if (wm > s->wm) s->wm = wm;
    s->idle = idle;
    return agg_engine_advance(e, merge_time(e, 0));
}

int agg_engine_merge_live(agg_engine *e) { return agg_engine_advance(e, merge_time(e, 1)); }

void agg_engine_set_idle_lease(agg_engine *e, int64_t us) { e->idle_lease = us; }

static int merge_win(agg_engine *e, int src, int spec, int64_t start, agg_win **out)
{
    if (src < 0 || src >= e->nsrc) return AGG_BADVALUE;
    if (!((spec >= 0 && spec < e->cfg.nspecs) || (spec == AGG_BUCKET_SPEC && e->cfg.features)))
        return AGG_BADVALUE;
    agg_wspec tmp;
    const agg_wspec *ws = spec_of(e, spec, &tmp);
    if (start < -AGG_MAX_TS || start > AGG_MAX_TS || agg_floor_div(start, ws->hop) * ws->hop != start)
        return AGG_BADVALUE;
    if (agg_wm_is_late(&e->wm, start + ws->size)) { e->merge_late++; return AGG_LATE; }
    *out = get_win_src(e, spec, start, src);
    return AGG_OK;
}

/* Does partial n replace the one held, k? A partial whose emitter started
 * reading after the first record k has of the window misses some of it
 * (a new owner re-reading from its commit); of two that both saw the
 * window from its start, the one read further wins; equal: a repeat. */
static int cover_better(const agg_cover *n, const agg_cover *k)
{
    if (k->to < 0) return 1;
    if (n->from > k->first) return 0;
    if (k->from > n->first) return 1;
    return n->to > k->to;
}

int agg_engine_merge_window(agg_engine *e, int src, int spec, int64_t start, const agg_cover *cov,
                            uint64_t events, const agg_hll *users, const agg_hll *sessions)
{
    agg_win *w;
    int rc = merge_win(e, src, spec, start, &w);
    if (rc != AGG_OK) return rc;
    if (!cover_better(cov, &w->cov)) { e->merge_repeats++; return AGG_DUP; }
    w->cov = *cov;
    w->events = events;
    free(w->users);
    free(w->sessions);
    w->users = users ? hll_dup(users) : NULL;
    w->sessions = sessions ? hll_dup(sessions) : NULL;
    return AGG_OK;
}

int agg_engine_merge_entry(agg_engine *e, int src, int spec, int64_t start, const agg_cover *cov,
                           const uint8_t *key, uint32_t klen, const agg_entry *val)
{
    agg_win *w;
    int rc = merge_win(e, src, spec, start, &w);
    if (rc != AGG_OK) return rc;
    uint8_t want = spec == AGG_BUCKET_SPEC ? 0 : 1;   /* window series vs feature deltas */
    if (klen < 1 || (want && key[0] != AGG_K_COUNT && key[0] != AGG_K_ITEM && key[0] != AGG_K_SAMPLE) ||
        (!want && key[0] != AGG_K_FUSER && key[0] != AGG_K_FITEM))
        return AGG_BADVALUE;
    uint64_t h = agg_key_hash(key, klen);
    agg_entry *en = agg_map_find(&w->map, key, klen, h);
    if (en) {
        if (!cover_better(cov, &en->cov)) { e->merge_repeats++; return AGG_DUP; }
    } else if (!(en = series_new(e, w, key, klen, h))) {
        return AGG_OK;
    }
    en->cov = *cov;
    entry_copy(e, en, val);
    return AGG_OK;
}

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

/* ---- checkpoint ------------------------------------------------------------ */

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
        agg_win *w = get_win_src(e, spec, start, src);
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
