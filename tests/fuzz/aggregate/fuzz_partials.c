/* fuzz_partials.c — aggregate --merge on well-formed MetricPartials (fzrec.h)
 * from anywhere: any kind, topic, partition counts, offsets, watermarks,
 * labels, counts vectors of any length, HLL registers and sketch bins of any
 * value, NaN and infinities; most carry the merge's own config hash, so they
 * get past the first check.
 *
 * Input: a configuration byte, then partials (the fields' choices).
 * Properties (abort on violation, the sanitizers catch the rest):
 *   - no partial makes the merge fail (AGG_ERR); refusals name a reason;
 *   - every Metric emitted is sane (window end after start) and encodes to a
 *     record the verifier accepts;
 *   - a checkpoint taken after the partials loads into a fresh merge, whose
 *     flush emits what the original's flush emits, byte for byte;
 *   - after the final flush no series is left. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/aggregate/engine.h"
#include "../../../stages/aggregate/partial.h"
#include "../fzrec.h"
#include "log.h"

#define SEC 1000000LL

typedef struct { uint64_t hash, n; fb_builder b; } fz_out;

static int fz_emit(void *ctx, const Metric *m)
{
    fz_out *o = ctx;
    if (m->window_end <= m->window_start) abort();
    fb_encode(&o->b, &Metric_desc, m, 0);
    size_t len;
    const uint8_t *p = fb_data(&o->b, &len);
    char err[200];
    if (fb_verify(&Metric_desc, p, len, 0, err, sizeof err) != 0) {
        fprintf(stderr, "the merge emitted a Metric the verifier refuses: %s\n", err);
        abort();
    }
    for (size_t i = 0; i < len; i++) { o->hash ^= p[i]; o->hash *= 1099511628211ull; }
    o->n++;
    return 0;
}

static agg_config fz_config(uint8_t c)
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
    cfg.mode = AGG_MODE_MERGE;
    return cfg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) { log_init("aggregate", "error"); init = 1; }
    if (size < 1) return 0;
    fz_in in = fz_in_make(data + 1, size - 1);
    agg_config cfg = fz_config(data[0]);
    agg_fcfg fc = { 7 * 86400 * SEC, 86400 * SEC, 86400 * SEC, 16 };
    agg_features *fs = cfg.features ? agg_features_new(NULL, &fc) : NULL;
    fz_out o1 = {0}, o2 = {0};
    fb_builder_init(&o1.b);
    fb_builder_init(&o2.b);
    agg_engine *e = agg_engine_new(&cfg, fs, fz_emit, &o1);
    uint64_t hash = agg_engine_config_hash(e);
    agg_pscratch sc = {0};
    arena a;
    arena_init(&a, 0);
    fb_builder b;
    fb_builder_init(&b);
    for (int i = 0; i < 64 && in.n; i++) {
        uint8_t how = fz_u8(&in);
        const MetricPartial *mp = fzrec_make(&in, &a, &b, &MetricPartial_desc);
        MetricPartial m = *mp;
        /* mostly past the config check, over a few partitions, spec in range */
        if (how & 1) m.config = hash;
        if (how & 2) { m.partitions = 1 + (m.partitions & 3); m.partition &= 3; }
        if (how & 4) m.spec &= 1;
        if (how & 8) m.kind = (PartialKind)(((unsigned)m.kind & 0xff) % 7);
        const char *why = NULL;
        int rc = agg_partial_merge(e, &m, &sc, &why);
        if (rc == AGG_ERR) abort();
        if (rc == AGG_BADVALUE && (!why || !*why)) abort();
        if (agg_engine_series(e) > (uint64_t)cfg.max_series) abort();
    }
    if (!fs) {
        agg_buf blob = {0};
        agg_engine_save(e, &blob);
        agg_engine *r = agg_engine_new(&cfg, NULL, fz_emit, &o2);
        char err[256];
        if (agg_engine_load(r, blob.p, blob.len, err, sizeof err) != 0) {
            fprintf(stderr, "a checkpoint of the merge does not load: %s\n", err);
            abort();
        }
        if (agg_engine_flush(r) != AGG_OK || agg_engine_series(r) != 0) abort();
        agg_engine_free(r);
        agg_buf_free(&blob);
        o1.n = 0;
        o1.hash = 0;
    }
    if (agg_engine_flush(e) != AGG_OK || agg_engine_series(e) != 0) abort();
    if (!fs && (o1.n != o2.n || o1.hash != o2.hash)) abort();
    agg_engine_free(e);
    agg_pscratch_free(&sc);
    agg_features_free(fs);
    fb_builder_free(&b);
    fb_builder_free(&o1.b);
    fb_builder_free(&o2.b);
    arena_free(&a);
    return 0;
}
