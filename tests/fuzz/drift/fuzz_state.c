/* fuzz_state.c — libFuzzer target for drift's checkpoint parser and engine.
 *
 * Input: a mode byte, then
 *   mode even: a checkpoint blob, loaded into a fresh engine. It must be
 *     refused or loaded; if loaded, it is fed a few records and saved, and
 *     that blob must load again and save byte for byte the same.
 *   mode odd: 11-byte records (series choice, time step, raw bits of the
 *     observed double: NaN, infinities and huge values come up) fed to two
 *     engines; the second is checkpointed, freed and restored at a cut the
 *     input chooses. The outputs (a hash of every emitted field) must be
 *     equal, series must stay within max_series, and a blob cut short must
 *     be refused.
 * Properties are checked with abort(); the sanitizers catch the rest. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/drift/engine.h"

static uint64_t hash;
static void mix(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) { hash ^= b[i]; hash *= 1099511628211ull; }
}
static int on_drift(void *ctx, const Drift *d)
{
    (void)ctx;
    mix(&d->ts, 8); mix(&d->detector, 1); mix(&d->kind, 1); mix(&d->statistic, 8);
    mix(&d->p_value, 8); mix(&d->reference, 8); mix(&d->current, 8); mix(&d->severity, 1);
    mix(d->series.ptr, d->series.len);
    return 0;
}
static int on_metric(void *ctx, const Metric *m)
{
    (void)ctx;
    mix(&m->window_end, 8); mix(&m->value, 8); mix(&m->min, 8); mix(&m->max, 8);
    mix(m->name.ptr, m->name.len);
    return 0;
}

static drift_config cfg(void)
{
    drift_config c = {0};
    c.detectors = 0x3f; c.field = DRIFT_F_VALUE;
    c.warmup = 4; c.cooldown = 3; c.recovery = 2; c.threshold = 2.5; c.ewma_alpha = 0.2;
    c.ph_delta = 0.5; c.ph_lambda = 5; c.cusum_k = 0.5; c.cusum_h = 5;
    c.adwin_delta = 0.01; c.adwin_max = 16; c.adwin_min = 3;
    c.window = 6; c.every = 2; c.bins = 3; c.psi_threshold = 0.25; c.ks_alpha = 0.05;
    c.holt_alpha = 0.5; c.holt_beta = 0.1;
    c.horizons[0] = 60000000; c.horizon_names[0] = "1m";
    c.horizons[1] = 90000000; c.horizon_names[1] = "90s";
    c.nhorizons = 2;
    c.max_series = 5;
    return c;
}

#define REC 11
static const char *const hosts[] = { "a", "b", "c", "d", "e", "f", "g", "h" };

static void feed(drift_engine *e, const uint8_t *d, size_t n, int64_t *t)
{
    for (size_t i = 0; i + REC <= n; i += REC) {
        KeyValue kv = { FB_STR("host"), FB_STR(hosts[d[i] & 7]) };
        Metric m;
        Metric_init(&m);
        m.name = (d[i] & 8) ? FB_STR("cpu") : FB_STR("mem");
        m.labels = &kv; m.labels_count = 1;
        *t += (int64_t)(d[i + 1] % 4) * 30000000 - 15000000;   /* sometimes backwards */
        m.window_start = *t - 60000000; m.window_end = *t;
        memcpy(&m.value, d + i + 2, 8);
        if (d[i + 10] & 1) m.value = (double)(int8_t)d[i + 2];  /* plain small numbers too */
        const char *why;
        if (drift_engine_metric(e, &m, &why) == DRIFT_ERR) abort();
        if (drift_engine_series(e) > 5) abort();
    }
}

/* The blob seeds (tests/fuzz/corpus/drift_fuzz_state/blob-*) must carry
 * the current format and this file's settings fingerprint, or every load
 * stops at the header and the parser behind it is never reached. When the
 * state format or cfg() changes, write them again:
 *   make fuzz-build && DRIFT_FUZZ_SEEDS=tests/fuzz/corpus/drift_fuzz_state \
 *     build/fuzz/drift_fuzz_state -runs=0
 * blob-two-series: two short series; blob-zscore-full: one series past the
 * zscore window (ring wrapped, threshold set), ph/cusum after an alarm;
 * blob-cut: the first one cut short (refused). Each is a mode byte (even:
 * a blob) and the blob. */
static void write_seed(const char *dir, const char *name, uint8_t mode, const uint8_t *blob, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(&mode, 1, 1, f) != 1 || fwrite(blob, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static size_t seed_records(uint8_t *d, int n, int nseries, uint64_t seed)
{
    for (int i = 0; i < n; i++) {
        uint8_t *r = d + (size_t)i * REC;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        double v = 10 + (double)(seed >> 40) / (double)(1 << 24) * 3 + (i > n / 2 ? 6 : 0);
        r[0] = (uint8_t)(i % nseries);
        r[1] = 1;                          /* +15 s: in order */
        memcpy(r + 2, &v, 8);
        r[10] = 0;
    }
    return (size_t)n * REC;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    const char *dir = getenv("DRIFT_FUZZ_SEEDS");
    if (!dir) return 0;
    static uint8_t recs[400 * REC];
    static const struct { const char *name; int n, nseries; } seeds[] = {
        { "blob-two-series", 40, 2 }, { "blob-zscore-full", 300, 1 } };
    for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
        drift_config c = cfg();
        drift_engine *e = drift_engine_new(&c, on_drift, on_metric, NULL);
        int64_t t = 0;
        feed(e, recs, seed_records(recs, seeds[k].n, seeds[k].nseries, 42 + k), &t);
        uint8_t *blob; size_t len;
        drift_engine_save(e, 3, &blob, &len);
        write_seed(dir, seeds[k].name, 0, blob, len);
        if (k == 0) write_seed(dir, "blob-cut", 2, blob, len * 2 / 3);
        free(blob);
        drift_engine_free(e);
    }
    exit(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    drift_config c = cfg();
    char err[300];
    uint64_t extra;
    if (!(data[0] & 1)) {
        drift_engine *e = drift_engine_new(&c, on_drift, on_metric, NULL);
        if (drift_engine_load(e, data + 1, size - 1, &extra, err, sizeof err) == 0) {
            int64_t t = 0;
            static const uint8_t recs[3 * REC] = { 1, 2, 0, 0, 0, 0, 0, 0, 0x24, 0x40, 0,
                                                   9, 3, 0, 0, 0, 0, 0, 0, 0x34, 0x40, 0,
                                                   2, 1, 5, 0, 0, 0, 0, 0, 0, 0, 1 };
            feed(e, recs, sizeof recs, &t);
            uint8_t *b1, *b2; size_t l1, l2;
            drift_engine_save(e, 7, &b1, &l1);
            drift_engine *f = drift_engine_new(&c, on_drift, on_metric, NULL);
            if (drift_engine_load(f, b1, l1, &extra, err, sizeof err) != 0 || extra != 7) abort();
            drift_engine_save(f, 7, &b2, &l2);
            if (l1 != l2 || memcmp(b1, b2, l1)) abort();
            free(b1); free(b2);
            drift_engine_free(f);
        }
        drift_engine_free(e);
        return 0;
    }
    size_t n = (size - 1) / REC * REC, cut = n ? (data[0] >> 1) % (n / REC + 1) * REC : 0;
    const uint8_t *d = data + 1;
    int64_t t1 = 0, t2 = 0;
    hash = 14695981039346656037ull;
    drift_engine *a = drift_engine_new(&c, on_drift, on_metric, NULL);
    feed(a, d, n, &t1);
    uint64_t ha = hash;
    hash = 14695981039346656037ull;
    drift_engine *b = drift_engine_new(&c, on_drift, on_metric, NULL);
    feed(b, d, cut, &t2);
    uint8_t *blob; size_t len;
    drift_engine_save(b, 1, &blob, &len);
    drift_engine_free(b);
    if (len > 0) {
        drift_engine *s = drift_engine_new(&c, on_drift, on_metric, NULL);
        if (drift_engine_load(s, blob, len - 1, &extra, err, sizeof err) == 0) abort();
        drift_engine_free(s);
    }
    b = drift_engine_new(&c, on_drift, on_metric, NULL);
    if (drift_engine_load(b, blob, len, &extra, err, sizeof err) != 0) abort();
    feed(b, d + cut, n - cut, &t2);
    if (hash != ha) abort();
    free(blob);
    drift_engine_free(a);
    drift_engine_free(b);
    return 0;
}
