/* emit.c — what a closing window writes: its Metric records (counts,
 * per-item rates, sample statistics and quantiles, distinct users and
 * sessions, top-K), a feature bucket's user.* / item.* records, or under
 * --emit partials its mergeable state. Separate from engine.c because it is
 * the output format, not the counting: engine.c decides when a window
 * closes, this file what it says. */
#include "engine_int.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "topk.h"

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

/* A window's distinct users or sessions, from its HyperLogLog. */
static int emit_distinct(agg_engine *e, const agg_win *w, const char *name, const agg_hll *h)
{
    Metric m;
    Metric_init(&m);
    m.name = FB_STR(name);
    m.window_start = w->start; m.window_end = w->end;
    m.count = w->events;
    m.value = round(agg_hll_estimate(h));
    return emit_metric(e, &m);
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

int agg_emit_window(agg_engine *e, agg_win *w)
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
    if (rc == 0 && w->users) rc = emit_distinct(e, w, "users.distinct", w->users);
    if (rc == 0 && w->sessions) rc = emit_distinct(e, w, "sessions.distinct", w->sessions);
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

int agg_emit_bucket(agg_engine *e, agg_win *b)
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

/* AGG_MODE_PARTIALS: the window's series, then its own state. */
int agg_emit_partials(agg_engine *e, const agg_win *w)
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
