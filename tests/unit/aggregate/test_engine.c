/* test_engine.c — the engine end to end without I/O: a run interrupted by a
 * checkpoint (saved to a real --state database with checkpoint.c, engine and
 * feature store thrown away, restored into fresh ones) emits exactly what an
 * uninterrupted run emits; late records are refused whole; --max-series
 * drops and counts; a checkpoint from another configuration or a corrupt
 * one is refused. (The kill -9 + Kafka variant is tests/stage/203.) */
#include "../testhelp.h"
#include <stdio.h>
#include <unistd.h>
#include "../../../stages/aggregate/checkpoint.h"
#include "../../../stages/aggregate/engine.h"
#include "../../../stages/aggregate/seen.h"
#include "metric_text.h"

#define SEC 1000000LL

/* One ordered input: it is complete up to the time of each record taken. */
static int event_now(agg_engine *e, const Event *ev)
{
    int rc = agg_engine_event(e, ev);
    return rc == AGG_OK ? agg_engine_advance(e, ev->ts) : rc;
}

static int sample_now(agg_engine *e, const Sample *s)
{
    int rc = agg_engine_sample(e, s);
    return rc == AGG_OK ? agg_engine_advance(e, s->ts) : rc;
}

static uint64_t rs = 12345;
static uint64_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }

enum { NREC = 6000 };
typedef struct { int is_sample; int64_t ts; int type; char user[16], item[16], sess[16], host[16]; double v; } rec;
static rec recs[NREC];

static void make_recs(void)
{
    int64_t t = 1795428000 * SEC;
    for (int i = 0; i < NREC; i++) {
        rec *r = &recs[i];
        t += (int64_t)(rnd() % 40000);                     /* ~50 records/s */
        r->ts = t - (int64_t)(rnd() % (2 * SEC));           /* out of order by < 2 s */
        r->is_sample = rnd() % 4 == 0;
        r->type = (int)(rnd() % 7);
        snprintf(r->user, sizeof r->user, "u%d", (int)(rnd() % 200));
        snprintf(r->item, sizeof r->item, "b%d", (int)(rnd() % 50));
        snprintf(r->sess, sizeof r->sess, "s%d", (int)(rnd() % 400));
        snprintf(r->host, sizeof r->host, "web-%d", (int)(rnd() % 3));
        r->v = r->is_sample ? (double)(rnd() % 100000) / 100.0 : (double)(1 + rnd() % 5);
    }
}

static int feed(agg_engine *e, const rec *r)
{
    if (r->is_sample) {
        Sample s;
        Sample_init(&s);
        KeyValue kv[2];
        KeyValue_init(&kv[0]); KeyValue_init(&kv[1]);
        kv[0].key = FB_STR("host"); kv[0].value = FB_STR(r->host);
        kv[1].key = FB_STR("endpoint"); kv[1].value = FB_STR("/api");
        s.ts = r->ts; s.name = FB_STR("request.duration_ms"); s.value = r->v;
        s.labels = kv; s.labels_count = 2;
        return sample_now(e, &s);
    }
    Event ev;
    Event_init(&ev);
    ev.ts = r->ts; ev.type = (EventType)r->type; ev.value = r->v;
    ev.user_id = FB_STR(r->user); ev.item_id = FB_STR(r->item); ev.session_id = FB_STR(r->sess);
    if (r->type == EventType_exposure || r->type == EventType_purchase) {
        ev.experiment = FB_STR("exp1");
        ev.variant = FB_STR(r->user[1] % 2 ? "control" : "treatment");
    }
    return event_now(e, &ev);
}

static agg_config make_cfg(void)
{
    agg_config c;
    memset(&c, 0, sizeof c);
    c.specs[0] = (agg_wspec){ 60 * SEC, 60 * SEC };
    c.specs[1] = (agg_wspec){ 120 * SEC, 30 * SEC };
    c.nspecs = 2;
    c.lateness = 3 * SEC;
    c.max_series = 1000000;
    c.features = AGG_FEAT_USER | AGG_FEAT_ITEM;
    c.topk = 5;
    c.alpha = 0.01;
    double q[] = { 0.5, 0.99 };
    memcpy(c.quantiles, q, sizeof q);
    c.nq = 2;
    return c;
}

static const agg_fcfg fcfg = { 7 * 86400 * SEC, 86400 * SEC, 86400 * SEC, 100000 };

static void test_restart_same_output(void)
{
    make_recs();
    agg_config cfg = make_cfg();
    char path[] = "/tmp/agg-test-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    unlink(path);

    /* uninterrupted, feature store in its own database */
    sbuf full = {0};
    char path1[64];
    snprintf(path1, sizeof path1, "%s-a.db", path);
    state *st1 = state_open(path1, "aggregate", AGG_STATE_VERSION, agg_state_schema);
    CHECK(st1 != NULL);
    if (!st1) return;
    agg_features *fs = agg_features_new(state_db(st1), &fcfg);
    agg_engine *e = agg_engine_new(&cfg, fs, emit_text, &full);
    int late = 0;
    for (int i = 0; i < NREC; i++) late += feed(e, &recs[i]) == AGG_LATE;
    CHECK_EQ_INT(late, 0);
    CHECK_EQ_INT(agg_engine_flush(e), AGG_OK);
    CHECK(agg_checkpoint_save(st1, NULL, NULL, e, fs) == 0);
    agg_engine_free(e);
    agg_features_free(fs);

    /* interrupted at several points: checkpoint, forget everything, restore */
    sbuf part = {0};
    char path2[64];
    snprintf(path2, sizeof path2, "%s-b.db", path);
    int cuts[] = { 1000, 2500, 2501, 4999 };
    int from = 0;
    for (size_t c = 0; c <= sizeof cuts / sizeof cuts[0]; c++) {
        int to = c < sizeof cuts / sizeof cuts[0] ? cuts[c] : NREC;
        state *st = state_open(path2, "aggregate", AGG_STATE_VERSION, agg_state_schema);
        CHECK(st != NULL);
        if (!st) return;
        fs = agg_features_new(state_db(st), &fcfg);
        e = agg_engine_new(&cfg, fs, emit_text, &part);
        CHECK_EQ_INT(agg_checkpoint_load(st, e), c ? 1 : 0);
        for (int i = from; i < to; i++) CHECK(feed(e, &recs[i]) == AGG_OK);
        if (to == NREC) CHECK_EQ_INT(agg_engine_flush(e), AGG_OK);
        CHECK(agg_checkpoint_save(st, NULL, NULL, e, fs) == 0);
        agg_engine_free(e);
        agg_features_free(fs);
        state_close(st);
        from = to;
    }
    CHECK(full.len > 10000);
    CHECK_EQ_INT(part.len, full.len);
    CHECK(part.p && full.p && strcmp(part.p, full.p) == 0);
    if (part.p && full.p && strcmp(part.p, full.p)) {
        size_t i = 0;
        while (part.p[i] == full.p[i]) i++;
        fprintf(stderr, "first difference at %zu:\n%.200s\n---\n%.200s\n", i, full.p + i, part.p + i);
    }
    /* the feature tables agree too */
    sqlite3 *db = state_db(st1);
    char sql[256];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS b", path2);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_stmt *q;
    CHECK(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM user_features), (SELECT count(*) FROM "
        "(SELECT * FROM user_features EXCEPT SELECT * FROM b.user_features)), (SELECT count(*) FROM "
        "(SELECT * FROM item_features EXCEPT SELECT * FROM b.item_features)), "
        "(SELECT sum(clicks) FROM user_features)", -1, &q, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(q) == SQLITE_ROW);
    int64_t users = sqlite3_column_int64(q, 0), udiff = sqlite3_column_int64(q, 1),
            idiff = sqlite3_column_int64(q, 2), clicks = sqlite3_column_int64(q, 3);
    sqlite3_finalize(q);
    int64_t want_clicks = 0;
    for (int i = 0; i < NREC; i++) want_clicks += !recs[i].is_sample && recs[i].type == EventType_click;
    CHECK_EQ_INT(users, 200);
    CHECK_EQ_INT(udiff, 0);
    CHECK_EQ_INT(idiff, 0);
    CHECK_EQ_INT(clicks, want_clicks);
    sqlite3_exec(db, "DETACH b", NULL, NULL, NULL);

    /* another configuration is refused, and so is garbage */
    cfg.specs[0].size = cfg.specs[0].hop = 30 * SEC;
    state *st = state_open(path2, "aggregate", AGG_STATE_VERSION, agg_state_schema);
    e = agg_engine_new(&cfg, NULL, emit_text, &part);
    CHECK_EQ_INT(agg_checkpoint_load(st, e), -2);
    agg_engine_free(e);
    CHECK(state_put(st, "aggregate.engine", "AGG1garbage", 11) == 0);
    e = agg_engine_new(&cfg, NULL, emit_text, &part);
    CHECK(agg_checkpoint_load(st, e) < 0);
    agg_engine_free(e);
    /* truncated real checkpoints never crash */
    cfg = make_cfg();
    e = agg_engine_new(&cfg, NULL, emit_text, &part);
    for (int i = 0; i < 300; i++) feed(e, &recs[i]);
    agg_buf b = {0};
    agg_engine_save(e, &b);
    agg_engine_free(e);
    for (size_t cut = 0; cut < b.len; cut += 1 + b.len / 97) {
        agg_engine *e2 = agg_engine_new(&cfg, NULL, emit_text, &part);
        char err[200];
        CHECK(agg_engine_load(e2, b.p, cut, err, sizeof err) < 0);
        agg_engine_free(e2);
    }
    agg_buf_free(&b);
    state_close(st);
    state_close(st1);
    for (int i = 0; i < 2; i++) {
        const char *p = i ? path2 : path1;
        char x[80];
        unlink(p);
        snprintf(x, sizeof x, "%s-wal", p); unlink(x);
        snprintf(x, sizeof x, "%s-shm", p); unlink(x);
    }
    free(full.p);
    free(part.p);
}

static void test_late_and_bounds(void)
{
    agg_config cfg = make_cfg();
    cfg.nspecs = 1;
    cfg.features = 0;
    cfg.max_series = 5;
    sbuf out = {0};
    agg_engine *e = agg_engine_new(&cfg, NULL, emit_text, &out);
    rec r = { 0 };
    r.ts = 1000 * SEC; r.type = EventType_click;
    strcpy(r.user, "u1"); strcpy(r.item, "b1"); strcpy(r.sess, "s1");
    CHECK_EQ_INT(feed(e, &r), AGG_OK);
    r.ts = 1130 * SEC;                       /* watermark 1127: [960,1020) and [1020,1080) closed */
    CHECK_EQ_INT(feed(e, &r), AGG_OK);
    CHECK(strstr(out.p ? out.p : "", "events{event_type=click,} 960000000 1020000000 1 ") != NULL);
    r.ts = 1079 * SEC;
    CHECK_EQ_INT(feed(e, &r), AGG_LATE);     /* its window closed */
    r.ts = 1125 * SEC;
    CHECK_EQ_INT(feed(e, &r), AGG_OK);       /* behind max, within lateness */
    /* distinct items: each creates a series until the bound */
    for (int i = 0; i < 20; i++) {
        snprintf(r.item, sizeof r.item, "x%d", i);
        feed(e, &r);
    }
    CHECK(agg_engine_series(e) <= 5);
    CHECK(agg_engine_counters(e)->series_dropped >= 15);
    CHECK_EQ_INT(agg_engine_counters(e)->late, 1);
    Sample s;
    Sample_init(&s);
    s.ts = 1126 * SEC; s.name = FB_STR("x"); s.value = NAN;
    CHECK_EQ_INT(sample_now(e, &s), AGG_BADVALUE);
    CHECK_EQ_INT(agg_engine_flush(e), AGG_OK);
    CHECK_EQ_INT(agg_engine_series(e), 0);
    agg_engine_free(e);
    free(out.p);
}

/* A window is emitted once, exactly when the watermark (max time - lateness)
 * reaches its end, and not a microsecond before; --by keys become labels of
 * events{}; times beyond the supported range are refused. */
static void test_emission_timing(void)
{
    agg_config cfg = make_cfg();
    cfg.nspecs = 1;                          /* 60 s tumbling, lateness 3 s */
    cfg.features = 0;
    cfg.topk = 0;
    cfg.by[0] = "source";
    cfg.by[1] = "item_id";
    cfg.nby = 2;
    sbuf out = {0};
    agg_engine *e = agg_engine_new(&cfg, NULL, emit_text, &out);
    Event ev;
    Event_init(&ev);
    ev.type = EventType_view;
    ev.user_id = FB_STR("u1");
    ev.source = FB_STR("email");
    ev.item_id = FB_STR("b7");
    ev.ts = 1200 * SEC + 5;                  /* window [1200, 1260) */
    CHECK_EQ_INT(event_now(e, &ev), AGG_OK);
    ev.source = FB_STR("");                  /* no value: no label */
    ev.item_id = FB_STR("");
    ev.ts = 1259 * SEC;
    CHECK_EQ_INT(event_now(e, &ev), AGG_OK);
    ev.ts = 1263 * SEC - 1;                  /* watermark 1260 s - 1 µs: still open */
    CHECK_EQ_INT(event_now(e, &ev), AGG_OK);
    CHECK(out.len == 0);
    CHECK_EQ_INT(agg_engine_counters(e)->windows_emitted, 0);
    ev.ts = 1263 * SEC;                      /* watermark 1260 s: closes [1200, 1260) */
    CHECK_EQ_INT(event_now(e, &ev), AGG_OK);
    CHECK_EQ_INT(agg_engine_counters(e)->windows_emitted, 1);
    const char *o = out.p ? out.p : "";
    CHECK(strstr(o, "events{event_type=view,source=email,item_id=b7,} 1200000000 1260000000 1 ") != NULL);
    CHECK(strstr(o, "events{event_type=view,} 1200000000 1260000000 1 ") != NULL);
    CHECK(strstr(o, "users.distinct{} 1200000000 1260000000 2 ") != NULL);
    CHECK(strstr(o, "1260000000 1320000000") == NULL);       /* the next window is still open */
    size_t before = out.len;
    ev.ts = 1259 * SEC;                      /* its window is closed: late, output unchanged */
    CHECK_EQ_INT(event_now(e, &ev), AGG_LATE);
    ev.ts = 1300 * SEC;                      /* not late, but nothing new closes */
    CHECK_EQ_INT(event_now(e, &ev), AGG_OK);
    CHECK_EQ_INT(out.len, before);
    /* out-of-range times are refused before they touch any window */
    ev.ts = INT64_MAX;
    CHECK_EQ_INT(event_now(e, &ev), AGG_BADTS);
    ev.ts = -AGG_MAX_TS - 1;
    CHECK_EQ_INT(event_now(e, &ev), AGG_BADTS);
    Sample s;
    Sample_init(&s);
    s.name = FB_STR("x"); s.value = 1; s.ts = INT64_MIN;
    CHECK_EQ_INT(sample_now(e, &s), AGG_BADTS);
    CHECK_EQ_INT(agg_engine_watermark(e), 1300 * SEC - 3 * SEC);
    /* end of input: the open window comes out, once */
    CHECK_EQ_INT(agg_engine_flush(e), AGG_OK);
    CHECK_EQ_INT(agg_engine_counters(e)->windows_emitted, 2);
    o = out.p ? out.p : "";
    CHECK(strstr(o, "events{event_type=view,} 1260000000 1320000000 3 ") != NULL);
    const char *first = strstr(o, "events{event_type=view,source=email,item_id=b7,} 1200000000");
    CHECK(first && !strstr(first + 1, "events{event_type=view,source=email,item_id=b7,} 1200000000"));
    CHECK_EQ_INT(agg_engine_flush(e), AGG_OK);   /* nothing left: emits nothing */
    CHECK_EQ_INT(agg_engine_counters(e)->windows_emitted, 2);
    agg_engine_free(e);
    free(out.p);
}

/* A Sample whose sample_id and name were counted in an open window is a
 * copy (an upstream replay): dropped. The samples of one line share an id
 * and differ in name: both count; an Event's id is another space; samples
 * without an id always count, identical or not. */
static void test_sample_dedup(void)
{
    agg_config cfg = make_cfg();
    cfg.nspecs = 1;
    cfg.features = 0;
    cfg.dedup_ids = 1000;
    sbuf out = {0};
    agg_engine *e = agg_engine_new(&cfg, NULL, emit_text, &out);
    Sample s;
    Sample_init(&s);
    s.ts = 1000 * SEC; s.name = FB_STR("cpu"); s.value = 1; s.sample_id = FB_STR("s1");
    CHECK_EQ_INT(sample_now(e, &s), AGG_OK);
    s.value = 5;                                   /* a copy counts as its id says, whatever it holds */
    CHECK_EQ_INT(sample_now(e, &s), AGG_DUP);
    s.name = FB_STR("mem");                        /* same line, another sample */
    CHECK_EQ_INT(sample_now(e, &s), AGG_OK);
    Event ev;
    Event_init(&ev);
    ev.ts = 1000 * SEC; ev.type = EventType_click; ev.user_id = FB_STR("u"); ev.event_id = FB_STR("s1");
    CHECK_EQ_INT(event_now(e, &ev), AGG_OK);
    s.name = FB_STR("disk"); s.sample_id = (fb_str){ 0 };   /* no id: identical samples all count */
    for (int i = 0; i < 3; i++) CHECK_EQ_INT(sample_now(e, &s), AGG_OK);
    CHECK_EQ_INT(agg_engine_flush(e), AGG_OK);
    CHECK_MSG(strstr(out.p, "cpu{} 960000000 1020000000 1 1 ") != NULL, "%s", out.p);
    CHECK_MSG(strstr(out.p, "mem{} 960000000 1020000000 1 5 ") != NULL, "%s", out.p);
    CHECK_MSG(strstr(out.p, "disk{} 960000000 1020000000 3 15 ") != NULL, "%s", out.p);
    CHECK_EQ_INT(agg_seen_duplicates(agg_engine_seen(e)), 1);
    agg_engine_free(e);
    free(out.p);
}

TEST_MAIN(test_restart_same_output, test_late_and_bounds, test_emission_timing, test_sample_dedup)
