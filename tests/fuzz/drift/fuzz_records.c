/* fuzz_records.c — drift's record path on well-formed Metrics (fzrec.h):
 * every field, names and labels from empty to 1 MiB, thousands of labels,
 * NaN/inf/denormal values in every statistic, quantile vectors of any
 * length, window times at +-2^62 and the int64 limits.
 *
 * Input: a configuration byte (the field observed), then records.
 * Properties (abort on violation, the sanitizers catch the rest): no record
 * makes the engine fail; series stay within max_series; every Drift and
 * forecast Metric emitted encodes to a record the verifier accepts; a
 * checkpoint of the state loads again and saves byte for byte the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/drift/engine.h"
#include "../fzrec.h"

static fb_builder out;

static void fz_check(const fbrec_desc *d, const void *rec)
{
    fbrec_encode(&out, d, rec, 0);
    size_t len;
    const uint8_t *p = fb_data(&out, &len);
    char err[200];
    if (fbrec_verify(d, p, len, 0, err, sizeof err) != 0) {
        fprintf(stderr, "drift emitted a %s the verifier refuses: %s\n", d->name, err);
        abort();
    }
}
static int on_drift(void *ctx, const Drift *d) { (void)ctx; fz_check(&Drift_desc, d); return 0; }
static int on_metric(void *ctx, const Metric *m) { (void)ctx; fz_check(&Metric_desc, m); return 0; }

static drift_config fz_config(uint8_t c)
{
    drift_config d = {0};
    d.detectors = 0x3f;
    static const int fields[] = { DRIFT_F_VALUE, DRIFT_F_MEAN, DRIFT_F_COUNT, DRIFT_F_SUM, DRIFT_F_MIN,
                                  DRIFT_F_MAX, DRIFT_F_STDDEV, DRIFT_F_QUANTILE };
    d.field = fields[c & 7];
    d.field_q = (c & 8) ? 0.99 : 0.5;
    d.warmup = 3; d.cooldown = 2; d.recovery = 2; d.threshold = 2.5; d.ewma_alpha = 0.2;
    d.ph_delta = 0.5; d.ph_lambda = 5; d.cusum_k = 0.5; d.cusum_h = 5;
    d.adwin_delta = 0.01; d.adwin_max = 16; d.adwin_min = 3;
    d.window = 4; d.every = 2; d.bins = 3; d.psi_threshold = 0.25; d.ks_alpha = 0.05;
    d.holt_alpha = 0.5; d.holt_beta = 0.1;
    d.horizons[0] = 60000000; d.horizon_names[0] = "1m";
    d.horizons[1] = (c & 16) ? INT64_MAX / 2 : 3600000000LL; d.horizon_names[1] = "far";
    d.nhorizons = 2;
    d.max_series = (c & 32) ? 3 : 1000;
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static int init;
    if (!init) { fb_builder_init(&out); init = 1; }
    drift_config c = fz_config(data[0]);
    fz_in in = fz_in_make(data + 1, size - 1);
    drift_engine *e = drift_engine_new(&c, on_drift, on_metric, NULL);
    arena a;
    arena_init(&a, 0);
    fb_builder b;
    fb_builder_init(&b);
    for (int i = 0; i < 48 && in.n; i++) {
        const char *why;
        if (drift_engine_metric(e, fzrec_make(&in, &a, &b, &Metric_desc), &why) == DRIFT_ERR) abort();
        if (drift_engine_series(e) > (uint64_t)c.max_series) abort();
    }
    uint8_t *b1, *b2;
    size_t l1, l2;
    uint64_t extra;
    char err[300];
    drift_engine_save(e, 9, &b1, &l1);
    drift_engine *f = drift_engine_new(&c, on_drift, on_metric, NULL);
    if (drift_engine_load(f, b1, l1, &extra, err, sizeof err) != 0 || extra != 9) {
        fprintf(stderr, "a checkpoint of valid records does not load: %s\n", err);
        abort();
    }
    drift_engine_save(f, 9, &b2, &l2);
    if (l1 != l2 || memcmp(b1, b2, l1)) abort();
    free(b1);
    free(b2);
    drift_engine_free(f);
    drift_engine_free(e);
    fb_builder_free(&b);
    arena_free(&a);
    return 0;
}
