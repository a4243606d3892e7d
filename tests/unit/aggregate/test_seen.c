/* test_seen.c — duplicates die in aggregate: the event_id set against a
 * brute-force model (adds, lookups, expiry by watermark, clustered hashes
 * for the backward-shift deletion, its bound); and the engine fed a stream
 * with blocks of events sent again (as an upstream stage replays after a
 * crash) emits exactly what it emits for the stream without them, also
 * when the replay comes after a checkpoint and restart. Without dedup the
 * same replays change the output (so the comparison can fail). */
#include "../testhelp.h"
#include <stdio.h>
#include <unistd.h>
#include "../../../stages/aggregate/checkpoint.h"
#include "../../../stages/aggregate/engine.h"
#include "../../../stages/aggregate/seen.h"
#include "metric_text.h"

#define SEC 1000000LL

static uint64_t rs = 99991;
static uint64_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }

/* ---- the set against a model ------------------------------------------------ */

enum { NOPS = 20000, MODEL_MAX = 400 };
static uint64_t mh[NOPS];
static int64_t mexp[NOPS];
static int mlive[NOPS];

static void test_set_model(void)
{
    agg_seen *s = agg_seen_new(MODEL_MAX);
    int n = 0;
    int64_t wm = 0;
    uint64_t untracked = 0, live = 0;
    for (int op = 0; op < NOPS; op++) {
        /* hashes clustered on a few low bits: long probe chains to delete from */
        uint64_t h = rnd() % 7 == 0 && n ? mh[rnd() % (uint64_t)n] : (rnd() & ~0x3ffULL) | (rnd() % 16);
        if (rnd() % 50 == 0) h = 0;
        int held = 0;
        for (int i = 0; i < n; i++) if (mlive[i] && (mh[i] ? mh[i] : 1) == (h ? h : 1)) held = 1;
        CHECK_EQ_INT(agg_seen_check(s, h), held);
        if (!held) {
            int64_t expiry = wm + 1 + (int64_t)(rnd() % 20);
            agg_seen_add(s, h, expiry);
            mh[n] = h; mexp[n] = expiry;
            if (live < MODEL_MAX) { mlive[n] = 1; live++; } else untracked++;
            n++;
        }
        if (rnd() % 40 == 0) {
            wm += (int64_t)(rnd() % 4);
            agg_seen_expire(s, wm);
            for (int i = 0; i < n; i++) if (mlive[i] && mexp[i] <= wm) { mlive[i] = 0; live--; }
        }
        if (op % 5000 == 0) CHECK_EQ_INT(agg_seen_count(s), live);
    }
    CHECK_EQ_INT(agg_seen_count(s), live);
    CHECK_EQ_INT(agg_seen_untracked(s), untracked);
    CHECK(untracked > 0);   /* the bound was reached and held */
    /* a save/load round trip holds the same ids */
    agg_buf b = {0};
    agg_seen_save(s, &b);
    agg_seen *t = agg_seen_new(MODEL_MAX);
    char err[200];
    CHECK_EQ_INT(agg_seen_load(t, b.p, b.len, err, sizeof err), 0);
    CHECK_EQ_INT(agg_seen_count(t), live);
    CHECK_EQ_INT(agg_seen_duplicates(t), agg_seen_duplicates(s));
    int same = 1;
    for (int i = 0; i < n; i++) if (mlive[i] && !agg_seen_check(t, mh[i])) same = 0;
    CHECK(same);
    agg_seen_free(t);
    /* damaged or truncated blobs are refused, never half-loaded */
    for (size_t cut = 0; cut < b.len; cut += 1 + b.len / 50) {
        t = agg_seen_new(MODEL_MAX);
        CHECK(agg_seen_load(t, b.p, cut, err, sizeof err) < 0);
        agg_seen_free(t);
    }
    b.p[b.len / 2] ^= 1;
    t = agg_seen_new(MODEL_MAX);
    CHECK(agg_seen_load(t, b.p, b.len, err, sizeof err) < 0);
    agg_seen_free(t);
    agg_buf_free(&b);
    /* everything expires: memory goes back to the minimum */
    agg_seen_expire(s, INT64_MAX);
    CHECK_EQ_INT(agg_seen_count(s), 0);
    CHECK(agg_seen_bytes(s) < 16384);
    agg_seen_free(s);
}

/* ---- the engine with replays ---------------------------------------------- */

enum { NREC = 8000 };
typedef struct { int is_sample; int64_t ts; int type; char id[20], user[16], item[16]; double v; } rec;
static rec recs[NREC];

static void make_recs(void)
{
    int64_t t = 1795428000 * SEC;
    for (int i = 0; i < NREC; i++) {
        rec *r = &recs[i];
        t += (int64_t)(rnd() % 40000);                      /* ~50 records/s */
        r->ts = t - (int64_t)(rnd() % (2 * SEC));           /* out of order by < 2 s */
        r->is_sample = rnd() % 5 == 0;
        r->type = (int)(rnd() % 7);
        snprintf(r->id, sizeof r->id, "e%d", i);
        snprintf(r->user, sizeof r->user, "u%d", (int)(rnd() % 300));
        snprintf(r->item, sizeof r->item, "b%d", (int)(rnd() % 60));
        r->v = r->is_sample ? (double)(rnd() % 100000) / 100.0 : (double)(1 + rnd() % 5);
    }
}

/* ts_shift: a copy re-timed (ingest gives a line without ts its arrival time) */
static int feed(agg_engine *e, const rec *r, int64_t ts_shift)
{
    if (r->is_sample) {
        Sample s;
        Sample_init(&s);
        s.ts = r->ts; s.name = FB_STR("request.duration_ms"); s.value = r->v;
        int rc = agg_engine_sample(e, &s);
        return rc == AGG_OK ? agg_engine_advance(e, s.ts) : rc;   /* one ordered input */
    }
    Event ev;
    Event_init(&ev);
    ev.event_id = FB_STR(r->id);
    ev.ts = r->ts + ts_shift; ev.type = (EventType)r->type; ev.value = r->v;
    ev.user_id = FB_STR(r->user); ev.item_id = FB_STR(r->item);
    if (r->type == EventType_exposure || r->type == EventType_purchase) {
        ev.experiment = FB_STR("exp1");
        ev.variant = FB_STR(r->user[1] % 2 ? "control" : "treatment");
    }
    int rc = agg_engine_event(e, &ev);
    return rc == AGG_OK ? agg_engine_advance(e, ev.ts) : rc;
}

static agg_config make_cfg(uint64_t dedup_ids, int64_t lateness)
{
    agg_config c;
    memset(&c, 0, sizeof c);
    c.specs[0] = (agg_wspec){ 60 * SEC, 60 * SEC };
    c.specs[1] = (agg_wspec){ 120 * SEC, 30 * SEC };
    c.nspecs = 2;
    c.lateness = lateness;
    c.max_series = 1000000;
    c.features = AGG_FEAT_USER | AGG_FEAT_ITEM;
    c.topk = 5;
    c.alpha = 0.01;
    c.quantiles[0] = 0.5; c.quantiles[1] = 0.99;
    c.nq = 2;
    c.dedup_ids = dedup_ids;
    return c;
}

static const agg_fcfg fcfg = { 7 * 86400 * SEC, 86400 * SEC, 86400 * SEC, 100000 };

/* The replays: after record `at`, the `len` events before it come again. */
static const struct { int at, len; int64_t shift; } replays[] = {
    { 1000, 100, 0 }, { 2500, 400, 0 }, { 4000, 60, 1 * SEC }, { 6100, 1000, 0 }, { NREC, 50, 0 },
};

/* One run, the replays included or not; dropped = events refused (dup or late). */
static void run(agg_config *cfg, int with_replays, sbuf *out, uint64_t *dup, uint64_t *late, uint64_t *held_max)
{
    agg_features *fs = agg_features_new(NULL, &fcfg);
    agg_engine *e = agg_engine_new(cfg, fs, emit_text, out);
    size_t k = 0;
    *dup = *late = *held_max = 0;
    for (int i = 0; i <= NREC; i++) {
        while (with_replays && k < sizeof replays / sizeof replays[0] && replays[k].at == i) {
            for (int j = i - replays[k].len; j < i; j++) {
                if (recs[j].is_sample) continue;   /* samples have no id: not deduplicated (README) */
                int rc = feed(e, &recs[j], replays[k].shift);
                *dup += rc == AGG_DUP;
                *late += rc == AGG_LATE;
            }
            k++;
        }
        if (i < NREC) CHECK(feed(e, &recs[i], 0) == AGG_OK);
        if (agg_engine_seen(e) && agg_seen_count(agg_engine_seen(e)) > *held_max)
            *held_max = agg_seen_count(agg_engine_seen(e));
    }
    CHECK_EQ_INT(agg_engine_flush(e), AGG_OK);
    agg_engine_free(e);
    agg_features_free(fs);
}

static void test_replays_change_nothing(void)
{
    make_recs();
    uint64_t replayed = 0;
    for (size_t k = 0; k < sizeof replays / sizeof replays[0]; k++)
        for (int j = replays[k].at - replays[k].len; j < replays[k].at; j++) replayed += !recs[j].is_sample;
    int64_t lateness[] = { 3 * SEC, 40 * SEC };
    for (int l = 0; l < 2; l++) {
        agg_config cfg = make_cfg(1000000, lateness[l]);
        sbuf want = {0}, got = {0};
        uint64_t dup, late, held;
        run(&cfg, 0, &want, &dup, &late, &held);
        CHECK_EQ_INT(dup, 0);
        /* an id is held until the watermark passes its earliest window's end: at most the
         * smallest hop (30 s) + lateness + 2 s of disorder of events (~50/s), not all of them */
        uint64_t bound = (uint64_t)(30 + lateness[l] / SEC + 2) * 60;
        CHECK_MSG(held < bound && held > bound / 4, "%llu ids held at once, bound %llu",
                  (unsigned long long)held, (unsigned long long)bound);
        run(&cfg, 1, &got, &dup, &late, &held);
        CHECK(want.len > 10000);
        CHECK_EQ_INT(got.len, want.len);
        CHECK(got.p && want.p && strcmp(got.p, want.p) == 0);
        CHECK_EQ_INT(dup + late, replayed);     /* every copy dropped, as a duplicate or as late */
        CHECK(dup > 0);
        if (l == 1) CHECK_EQ_INT(late, 0);      /* 40 s lateness: every copy is still held */
        /* the same replays without dedup change the metrics (the test can fail) */
        agg_config off = make_cfg(0, lateness[l]);
        sbuf want0 = {0}, got0 = {0};
        run(&off, 0, &want0, &dup, &late, &held);
        CHECK(want0.p && strcmp(want0.p, want.p) == 0);   /* dedup changes nothing without copies */
        run(&off, 1, &got0, &dup, &late, &held);
        CHECK(got0.p && strcmp(got0.p, want.p) != 0);
        free(want.p); free(got.p); free(want0.p); free(got0.p);
    }
}

/* The replay comes after a checkpoint and a restart of aggregate itself. */
static void test_replay_after_restart(void)
{
    make_recs();
    agg_config cfg = make_cfg(1000000, 10 * SEC);
    sbuf want = {0}, got = {0};
    uint64_t dup, late, held;
    run(&cfg, 0, &want, &dup, &late, &held);

    char path[] = "/tmp/agg-seen-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    int cut = 5000, len = 300;
    for (int part = 0; part < 2; part++) {
        state *st = state_open(path, "aggregate", AGG_STATE_VERSION, agg_state_schema);
        CHECK(st != NULL);
        if (!st) return;
        agg_features *fs = agg_features_new(state_db(st), &fcfg);
        agg_engine *e = agg_engine_new(&cfg, fs, emit_text, &got);
        CHECK_EQ_INT(agg_checkpoint_load(st, e), part);
        if (part == 0) {
            for (int i = 0; i < cut; i++) CHECK(feed(e, &recs[i], 0) == AGG_OK);
        } else {
            CHECK(agg_seen_count(agg_engine_seen(e)) > 0);
            int dups = 0, events = 0;
            for (int j = cut - len; j < cut; j++) {   /* the events: samples have no id (README) */
                if (recs[j].is_sample) continue;
                events++;
                dups += feed(e, &recs[j], 0) == AGG_DUP;
            }
            CHECK_EQ_INT(dups, events);
            CHECK_EQ_INT(agg_seen_duplicates(agg_engine_seen(e)), events);
            for (int i = cut; i < NREC; i++) CHECK(feed(e, &recs[i], 0) == AGG_OK);
            CHECK_EQ_INT(agg_engine_flush(e), AGG_OK);
        }
        CHECK(agg_checkpoint_save(st, NULL, NULL, e, fs) == 0);
        agg_engine_free(e);
        agg_features_free(fs);
        state_close(st);
    }
    CHECK(want.len > 10000);
    CHECK_EQ_INT(got.len, want.len);
    CHECK(got.p && want.p && strcmp(got.p, want.p) == 0);
    /* a damaged dedup blob is refused like a damaged engine blob */
    state *st = state_open(path, "aggregate", AGG_STATE_VERSION, agg_state_schema);
    CHECK(state_put(st, "aggregate.seen", "SEN1garbage-garbage", 19) == 0);
    agg_engine *e = agg_engine_new(&cfg, NULL, emit_text, &got);
    CHECK_EQ_INT(agg_checkpoint_load(st, e), -1);
    agg_engine_free(e);
    /* with dedup off the blob is not read */
    agg_config off = make_cfg(0, 10 * SEC);
    e = agg_engine_new(&off, NULL, emit_text, &got);
    CHECK_EQ_INT(agg_checkpoint_load(st, e), 1);
    agg_engine_free(e);
    state_close(st);
    char x[80];
    unlink(path);
    snprintf(x, sizeof x, "%s-wal", path); unlink(x);
    snprintf(x, sizeof x, "%s-shm", path); unlink(x);
    free(want.p); free(got.p);
}

TEST_MAIN(test_set_model, test_replays_change_nothing, test_replay_after_restart)
