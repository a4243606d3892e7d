/* fzagg.h — what aggregate's record and partial fuzzers share: the
 * configurations they draw, the Metric sink that checks and hashes what an
 * engine emits, and the closing checks (a checkpoint of the open windows
 * loads into a fresh engine whose flush emits the same bytes; after the
 * final flush no series is left). Static: each fuzzer is one program. */
#ifndef FZAGG_H
#define FZAGG_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/aggregate/engine.h"
#include "../fzrec.h"
#include "fbjson.h"

#define SEC 1000000LL

/* One engine's output: how many Metrics and a hash of their bytes. */
typedef struct { uint64_t hash, n; fb_builder b; const char *who; } fz_out;

static int fz_emit(void *ctx, const Metric *m)
{
    fz_out *o = ctx;
    if (m->window_end <= m->window_start) abort();
    fbrec_encode(&o->b, &Metric_desc, m, 0);
    size_t len;
    const uint8_t *p = fb_data(&o->b, &len);
    char err[200];
    if (fbrec_verify(&Metric_desc, p, len, 0, err, sizeof err) != 0) {
        fprintf(stderr, "%s emitted a Metric the verifier refuses: %s\n", o->who, err);
        abort();
    }
    for (size_t i = 0; i < len; i++) { o->hash ^= p[i]; o->hash *= 1099511628211ull; }
    if (getenv("FZ_DEBUG")) {   /* replaying a crash: what each engine emitted */
        json_writer w;
        jw_init(&w);
        fb_to_json(&Metric_desc, m, &w);
        fprintf(stderr, "%p %.*s\n", ctx, (int)(w.len > 400 ? 400 : w.len), w.buf);
        jw_free(&w);
    }
    o->n++;
    return 0;
}

/* The configuration byte's bits both fuzzers read: windows (bits 0-1),
 * the series bound (8), features (16), leaderboards (64). */
static agg_config fz_config_base(uint8_t c)
{
    static const double q[] = { 0, 0.5, 0.99, 1 };
    agg_config cfg;
    memset(&cfg, 0, sizeof cfg);
    switch (c & 3) {
    case 0: cfg.specs[0] = (agg_wspec){ 60 * SEC, 60 * SEC }; cfg.nspecs = 1; break;
    case 1: cfg.specs[0] = (agg_wspec){ 20 * SEC, 5 * SEC }; cfg.nspecs = 1; break;
    case 2: cfg.specs[0] = (agg_wspec){ 5 * SEC, 5 * SEC };
            cfg.specs[1] = (agg_wspec){ 3600 * SEC, 60 * SEC }; cfg.nspecs = 2; break;
    default: cfg.specs[0] = (agg_wspec){ 1, 1 }; cfg.nspecs = 1; break;
    }
    cfg.max_series = (c & 8) ? 7 : 100000;
    cfg.features = (c & 16) ? AGG_FEAT_USER | AGG_FEAT_ITEM : 0;
    cfg.topk = (c & 64) ? 0 : 3;
    cfg.alpha = 0.01;
    memcpy(cfg.quantiles, q, sizeof q);
    cfg.nq = 4;
    return cfg;
}

/* The closing checks on e (emitting into *o1), then e freed. Without
 * features (the feature store is shared state outside the blob), the open
 * windows survive a checkpoint exactly: a fresh engine loaded from it
 * flushes what e flushes. what names the input in the message. */
static void fz_finish(agg_engine *e, const agg_config *cfg, int features, fz_out *o1, const char *what)
{
    fz_out o2 = { .who = o1->who };
    fb_builder_init(&o2.b);
    if (!features) {
        agg_buf blob = {0};
        agg_engine_save(e, &blob);
        agg_engine *r = agg_engine_new(cfg, NULL, fz_emit, &o2);
        char err[256];
        if (agg_engine_load(r, blob.p, blob.len, err, sizeof err) != 0) {
            fprintf(stderr, "a checkpoint of %s does not load: %s\n", what, err);
            abort();
        }
        if (agg_engine_flush(r) != AGG_OK || agg_engine_series(r) != 0) abort();
        agg_engine_free(r);
        agg_buf_free(&blob);
        o1->n = 0;                    /* from here both flush the same windows */
        o1->hash = 0;
    }
    if (agg_engine_flush(e) != AGG_OK || agg_engine_series(e) != 0) abort();
    if (!features && (o1->n != o2.n || o1->hash != o2.hash)) abort();
    agg_engine_free(e);
    fb_builder_free(&o2.b);
}
#endif
