/* test_partial.c — partials and the merge without I/O: random records split
 * by key over 3 sources, one --emit partials engine per source, every
 * partial (built with partial.c, sent twice) folded into a --merge engine as
 * it is emitted: the merge emits exactly what one engine reading everything
 * emits (tumbling and hopping windows, samples, items, HLLs, top-K, the
 * feature store). Which partial the merge keeps: a fuller one replaces, one
 * from a reader that started after the window's first record does not, a
 * repeat is dropped, a window is emitted only when every source's watermark
 * has passed it. Bad partials are refused with a reason. */
#include "../testhelp.h"
#include <stdio.h>
#include "../../../stages/aggregate/engine.h"
#include "../../../stages/aggregate/partial.h"
#include "metric_text.h"

#define SEC 1000000LL
enum { NREC = 5000, P = 3 };

static uint64_t rs = 777;
static uint64_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }

typedef struct { int is_sample, type, src; int64_t ts; char user[16], item[16], sess[16], host[16]; double v; } rec;
static rec recs[NREC];

static void make_recs(void)
{
    int64_t t = 1795428000 * SEC;
    for (int i = 0; i < NREC; i++) {
        rec *r = &recs[i];
        t += (int64_t)(rnd() % 40000);
        r->ts = t - (int64_t)(rnd() % (2 * SEC));            /* out of order by < 2 s */
        r->is_sample = rnd() % 4 == 0;
        r->type = (int)(rnd() % 7);
        int u = (int)(rnd() % 200), h = (int)(rnd() % 5);
        snprintf(r->user, sizeof r->user, "u%d", u);
        snprintf(r->item, sizeof r->item, "b%d", (int)(rnd() % 50));
        snprintf(r->sess, sizeof r->sess, "s%d", (int)(rnd() % 400));
        snprintf(r->host, sizeof r->host, "web-%d", h);
        r->v = r->is_sample ? (double)(rnd() % 100000) / 100.0 - 100.0 : (double)(1 + rnd() % 5);
        r->src = r->is_sample ? h % P : u % P;      /* the Kafka key: series or user */
    }
}

static int feed(agg_engine *e, const rec *r)
{
    if (r->is_sample) {
        Sample s;
        Sample_init(&s);
        KeyValue kv[1];
        KeyValue_init(&kv[0]);
        kv[0].key = FB_STR("host"); kv[0].value = FB_STR(r->host);
        s.ts = r->ts; s.name = FB_STR("request.duration_ms"); s.value = r->v;
        s.labels = kv; s.labels_count = 1;
        return agg_engine_sample(e, &s);
    }
    Event ev;
    Event_init(&ev);
    ev.ts = r->ts; ev.type = (EventType)r->type; ev.value = r->v;
    ev.user_id = FB_STR(r->user); ev.item_id = FB_STR(r->item); ev.session_id = FB_STR(r->sess);
    if (r->type == EventType_exposure || r->type == EventType_purchase) {
        ev.experiment = FB_STR("exp1");
        ev.variant = FB_STR(r->user[1] % 2 ? "control" : "treatment");
    }
    return agg_engine_event(e, &ev);
}

static agg_config make_cfg(int mode)
{
    agg_config c;
    memset(&c, 0, sizeof c);
    c.specs[0] = (agg_wspec){ 60 * SEC, 60 * SEC };
    c.specs[1] = (agg_wspec){ 120 * SEC, 30 * SEC };
    c.nspecs = 2;
    c.lateness = mode == AGG_MODE_MERGE ? 0 : 3 * SEC;
    c.max_series = 1000000;
    c.features = AGG_FEAT_USER | AGG_FEAT_ITEM;
    c.topk = 5;
    c.alpha = 0.01;
    double q[] = { 0.5, 0.9, 0.99 };
    memcpy(c.quantiles, q, sizeof q);
    c.nq = 3;
    c.mode = mode;
    return c;
}

static const agg_fcfg fcfg = { 7 * 86400 * SEC, 86400 * SEC, 86400 * SEC, 100000 };

/* one source: its engine and where its partials go */
typedef struct {
    int idx;
    agg_engine *e;
    agg_engine *merge;
    agg_pscratch sc, msc;
    int64_t max_ts, to;
    uint64_t closed;
    int bad;
} source;

static void merge_one(source *s, const MetricPartial *m)
{
    const char *why = NULL;
    for (int k = 0; k < 2; k++) {    /* every partial twice: a re-emission */
        int rc = agg_partial_merge(s->merge, m, &s->msc, &why);
        if (rc == AGG_BADVALUE || rc == AGG_ERR) { s->bad++; fprintf(stderr, "refused: %s\n", why ? why : "?"); }
    }
}

static void src_info(source *s, agg_psrc *ps, int64_t wm)
{
    ps->topic = "t"; ps->partition = s->idx; ps->partitions = P;
    ps->from = 0; ps->to = s->to; ps->watermark = wm; ps->idle = 0;
    ps->config = agg_engine_config_hash(s->e);
}

static int on_partial(void *ctx, const agg_wview *w, const agg_entry *en)
{
    source *s = ctx;
    agg_psrc ps;
    src_info(s, &ps, agg_engine_watermark(s->e));
    MetricPartial m;
    agg_partial_build(&ps, w, en, &s->sc, &m);
    merge_one(s, &m);
    return 0;
}

static void send_wm(source *s, int64_t wm)
{
    agg_psrc ps;
    src_info(s, &ps, wm);
    MetricPartial m;
    agg_partial_watermark(&ps, &m);
    merge_one(s, &m);
    s->closed = agg_engine_counters(s->e)->windows_emitted;
}

static void test_split_equals_single(void)
{
    make_recs();
    sbuf one = {0}, merged = {0};
    agg_config c1 = make_cfg(AGG_MODE_METRICS), cp = make_cfg(AGG_MODE_PARTIALS), cm = make_cfg(AGG_MODE_MERGE);
    agg_features *fs1 = agg_features_new(NULL, &fcfg), *fsm = agg_features_new(NULL, &fcfg);
    agg_engine *single = agg_engine_new(&c1, fs1, emit_text, &one);
    agg_engine *merge = agg_engine_new(&cm, fsm, emit_text, &merged);
    int64_t max_ts = INT64_MIN;
    for (int i = 0; i < NREC; i++) {
        CHECK_EQ_INT(feed(single, &recs[i]), AGG_OK);
        if (recs[i].ts > max_ts) max_ts = recs[i].ts;
        CHECK_EQ_INT(agg_engine_advance(single, max_ts), AGG_OK);
    }
    CHECK_EQ_INT(agg_engine_flush(single), AGG_OK);

    source src[P];
    for (int k = 0; k < P; k++) {
        memset(&src[k], 0, sizeof src[k]);
        src[k].idx = k;
        src[k].e = agg_engine_new(&cp, NULL, emit_text, NULL);
        src[k].merge = merge;
        src[k].max_ts = INT64_MIN;
        agg_engine_set_partial(src[k].e, on_partial, &src[k]);
    }
    for (int i = 0; i < NREC; i++) {
        source *s = &src[recs[i].src];
        agg_engine_set_offset(s->e, i);
        s->to = i + 1;
        CHECK_EQ_INT(feed(s->e, &recs[i]), AGG_OK);
        if (recs[i].ts > s->max_ts) {
            s->max_ts = recs[i].ts;
            CHECK_EQ_INT(agg_engine_advance(s->e, s->max_ts), AGG_OK);
            if (agg_engine_counters(s->e)->windows_emitted != s->closed) send_wm(s, agg_engine_watermark(s->e));
        }
    }
    /* mid-run: windows came out only as every source passed them */
    CHECK(merged.len > 1000);
    CHECK(merged.len < one.len);
    CHECK(strncmp(one.p, merged.p, merged.len) == 0);
    for (int k = 0; k < P; k++) {
        CHECK_EQ_INT(agg_engine_flush(src[k].e), AGG_OK);
        send_wm(&src[k], INT64_MAX);
    }
    CHECK(one.len > 100000);
    CHECK_EQ_INT(merged.len, one.len);
    CHECK(one.p && merged.p && strcmp(one.p, merged.p) == 0);
    for (int k = 0; k < P; k++) {
        CHECK_EQ_INT(src[k].bad, 0);

    }
    CHECK(agg_engine_merge_repeats(merge) + agg_engine_merge_late(merge) > 1000);

    for (int k = 0; k < P; k++) {
        agg_engine_free(src[k].e);
        agg_pscratch_free(&src[k].sc);
        agg_pscratch_free(&src[k].msc);
    }
    agg_engine_free(single);
    agg_engine_free(merge);
    agg_features_free(fs1);
    agg_features_free(fsm);
    free(one.p);
    free(merged.p);
}

/* one count series of window [0,60s) of source 0 of 2 */
static int merge_count(agg_engine *e, agg_pscratch *sc, int part, int64_t from, int64_t first, int64_t to,
                       uint64_t n, const char **why)
{
    KeyValue kv;
    KeyValue_init(&kv);
    kv.key = FB_STR("event_type"); kv.value = FB_STR("click");
    MetricPartial m;
    MetricPartial_init(&m);
    m.kind = PartialKind_events;
    m.config = agg_engine_config_hash(e);
    m.topic = FB_STR("t"); m.partition = part; m.partitions = 2;
    m.offset_from = from; m.first_offset = first; m.offset_to = to;
    m.spec = 0; m.window_start = 0; m.window_end = 60 * SEC;
    m.name = FB_STR("events"); m.labels = &kv; m.labels_count = 1;
    m.count = n;
    return agg_partial_merge(e, &m, sc, why);
}

static int merge_wm(agg_engine *e, agg_pscratch *sc, int part, int64_t wm)
{
    MetricPartial m;
    MetricPartial_init(&m);
    m.config = agg_engine_config_hash(e);
    m.topic = FB_STR("t"); m.partition = part; m.partitions = 2;
    m.watermark = wm;
    const char *why;
    return agg_partial_merge(e, &m, sc, &why);
}

static void test_which_partial_wins(void)
{
    sbuf out = {0};
    agg_config c = make_cfg(AGG_MODE_MERGE);
    c.features = 0;
    agg_engine *e = agg_engine_new(&c, NULL, emit_text, &out);
    agg_pscratch sc = {0};
    const char *why = NULL;
    CHECK_EQ_INT(merge_count(e, &sc, 0, 0, 10, 50, 5, &why), AGG_OK);
    /* a new owner that started reading at 20, after the window's first record at 10: missed some */
    CHECK_EQ_INT(merge_count(e, &sc, 0, 20, 25, 80, 3, &why), AGG_DUP);
    /* one that read further from before the first record: replaces */
    CHECK_EQ_INT(merge_count(e, &sc, 0, 5, 10, 60, 6, &why), AGG_OK);
    CHECK_EQ_INT(merge_count(e, &sc, 0, 5, 10, 60, 6, &why), AGG_DUP);      /* a repeat */
    CHECK_EQ_INT(merge_count(e, &sc, 0, 0, 10, 55, 4, &why), AGG_DUP);      /* read less far */
    /* the kept one started after the new one's first record: the new one replaces */
    CHECK_EQ_INT(merge_count(e, &sc, 0, 0, 2, 40, 7, &why), AGG_OK);
    CHECK_EQ_INT(merge_count(e, &sc, 1, 0, 3, 30, 2, &why), AGG_OK);
    /* one source past the window, the other not heard past it: nothing out */
    CHECK_EQ_INT(merge_wm(e, &sc, 0, 100 * SEC), AGG_OK);
    CHECK(out.len == 0);
    CHECK_EQ_INT(merge_wm(e, &sc, 1, 60 * SEC - 1), AGG_OK);
    CHECK(out.len == 0);
    CHECK_EQ_INT(merge_wm(e, &sc, 1, 60 * SEC), AGG_OK);     /* a window ends at its end: passed */
    CHECK(out.p && strstr(out.p, "events{event_type=click,} 0 60000000 9 ") != NULL);
    /* once out, a partial of that window is late */
    CHECK_EQ_INT(merge_count(e, &sc, 1, 0, 3, 90, 9, &why), AGG_LATE);
    CHECK_EQ_INT(agg_engine_merge_late(e), 1);
    /* refusals name why */
    MetricPartial m;
    MetricPartial_init(&m);
    m.config = agg_engine_config_hash(e) ^ 1;
    CHECK_EQ_INT(agg_partial_merge(e, &m, &sc, &why), AGG_BADVALUE);
    CHECK(strstr(why, "other --window") != NULL);
    m.config ^= 1;
    m.topic = FB_STR("t"); m.partition = 2; m.partitions = 2;
    CHECK_EQ_INT(agg_partial_merge(e, &m, &sc, &why), AGG_BADVALUE);
    CHECK(strstr(why, "partition out of range") != NULL);
    m.partition = 0; m.kind = PartialKind_events; m.spec = 0; m.window_start = 7;   /* not a window start */
    CHECK_EQ_INT(agg_partial_merge(e, &m, &sc, &why), AGG_BADVALUE);
    m.kind = PartialKind_window; m.window_start = 600 * SEC;
    uint32_t bad_reg = (uint32_t)AGG_HLL_M << 8 | 1;
    m.users = &bad_reg; m.users_count = 1;
    CHECK_EQ_INT(agg_partial_merge(e, &m, &sc, &why), AGG_BADVALUE);
    CHECK(strstr(why, "HyperLogLog") != NULL);
    m.users = NULL; m.users_count = 0;
    m.kind = PartialKind_sample;
    uint64_t bins[2] = { 3, 4 };
    m.count = 5; m.sketch_count = 5; m.pos_bins = bins; m.pos_bins_count = 2;   /* bins hold 7 */
    m.name = FB_STR("x");
    CHECK_EQ_INT(agg_partial_merge(e, &m, &sc, &why), AGG_BADVALUE);
    CHECK(strstr(why, "inconsistent sample") != NULL);
    agg_pscratch_free(&sc);
    agg_engine_free(e);
    free(out.p);
}

TEST_MAIN(test_split_equals_single, test_which_partial_wins)
