/* driftsim.h — what the simulated-stream tests of the drift detectors
 * share (test_zscore_rate.c, test_drift_sim.c): a seeded generator of
 * normal draws, the stage's default configuration, and one point of a
 * series through the engine. Header-only: the Makefile builds a unit test
 * from one .c file (plus the stage's objects). */
#ifndef DRIFTSIM_H
#define DRIFTSIM_H
#include <stdint.h>
#include "../../../stages/drift/detect.h"
#include "../../../stages/drift/engine.h"
#include "../testhelp.h"

static uint64_t rng_state;
static uint64_t rng_next(void)   /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double rng_unif(void) { return ((double)(rng_next() >> 11) + 0.5) * 0x1.0p-53; }
static double rng_normal(void)   /* Box-Muller */
{
    return sqrt(-2 * log(rng_unif())) * cos(2 * M_PI * rng_unif());
}

/* the stage's defaults (main.c's flag table) with the given detectors */
static drift_config driftsim_defaults(unsigned detectors)
{
    drift_config c = {0};
    c.detectors = detectors;
    c.field = DRIFT_F_VALUE;
    c.warmup = 50; c.cooldown = 50; c.recovery = 3; c.threshold = 2.5; c.ewma_alpha = 0.05;
    c.anomaly_rate = DRIFT_ANOMALY_RATE;
    c.ph_delta = DRIFT_PH_DELTA; c.ph_lambda = DRIFT_PH_LAMBDA;
    c.cusum_k = DRIFT_CUSUM_K; c.cusum_h = DRIFT_CUSUM_H;
    c.adwin_delta = 0.002; c.adwin_max = 128; c.adwin_min = 5;
    c.window = 100; c.every = 10; c.bins = 5; c.psi_threshold = 0.25; c.ks_alpha = 0.001;
    c.holt_alpha = 0.5; c.holt_beta = 0.1;
    c.nhorizons = 0;
    c.max_series = 1000;
    return c;
}

/* the point being observed: the callbacks of a test read it */
static int64_t point;
static int on_metric(void *ctx, const Metric *m) { (void)ctx; (void)m; return 0; }

/* point i of series `name` (one-minute windows), value v */
static void observe(drift_engine *e, const char *name, int64_t i, double v)
{
    Metric m;
    Metric_init(&m);
    m.name = FB_STRN(name, strlen(name));
    m.window_start = i * 60000000; m.window_end = m.window_start + 60000000;
    m.value = v;
    const char *why;
    point = i;
    CHECK_EQ_INT(drift_engine_metric(e, &m, &why), DRIFT_OK);
}
#endif
