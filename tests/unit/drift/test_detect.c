/* test_detect.c — the detector arithmetic against values computed
 * independently (scipy 1.10 / numpy 1.24 for KS and PSI, closed forms for
 * the rest; the zscore window in test_zscore_rate.c), and the checkpoint
 * blob: round trip and corrupt input refused. */
#include <stdlib.h>
#include "../../../stages/drift/detect.h"
#include "../../../stages/drift/engine.h"
#include "../testhelp.h"

static void test_ks_exact(void)
{
    /* scipy.stats._stats_py._compute_prob_outside_square(n, h) */
    CHECK_NEAR(dd_ks_p_exact(10, 3), 0.7869297884777761, 1e-15);
    CHECK_NEAR(dd_ks_p_exact(50, 12), 0.11238524845512393, 1e-15);
    CHECK_NEAR(dd_ks_p_exact(100, 20), 0.03638428787491733, 1e-15);
    CHECK_NEAR(dd_ks_p_exact(100, 1), 1.0, 0);
    CHECK_NEAR(dd_ks_p_exact(7, 7), 0.0005827505827505828, 1e-18);
    /* scipy.stats.ks_2samp, including ties */
    double a[] = { 8, 7, 6, 5, 4, 3, 2, 1 }, b[] = { 12, 11, 10, 9, 8, 7, 6, 5 }, p;
    CHECK_NEAR(dd_ks(a, b, 8, &p), 0.5, 0);
    CHECK_NEAR(p, 0.2826728826728826, 1e-15);
    double c[] = { 1, 2, 2, 3, 3, 3, 4, 5 }, d[] = { 2, 3, 3, 4, 4, 4, 5, 6 };
    CHECK_NEAR(dd_ks(c, d, 8, &p), 0.375, 0);
    CHECK_NEAR(p, 0.6601398601398599, 1e-15);
}

static void test_psi(void)
{
    double ref[20], cur[20];
    for (int i = 0; i < 20; i++) { ref[19 - i] = i; cur[i] = i + 5.5; }
    CHECK_NEAR(dd_quantile_sorted((double[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19 },
                                  20, 0.2), 3.8, 1e-12);
    /* numpy: edges quantile(ref, [.2,.4,.6,.8]), searchsorted right, floor 1e-4 */
    CHECK_NEAR(dd_psi(ref, 20, cur, 20, 5), 1.8230758284698871, 1e-12);
    double same[20];
    for (int i = 0; i < 20; i++) same[i] = i;
    CHECK_NEAR(dd_psi(ref, 20, same, 20, 5), 0, 0);
}

static void test_cusum_ph(void)
{
    /* a baseline of alternating 9/11 (mean 10, sd 1), then a jump to 13 (z = 3):
     * CUSUM grows by z - k = 2.5 per point and crosses h = 5 on the third */
    dd_cusum c = {0};
    dd_ph ph = {0};
    double st, ref;
    for (int i = 0; i < 20; i++) {
        CHECK_EQ_INT(dd_cusum_add(&c, i % 2 ? 11 : 9, 20, 0.5, 5, &st, &ref), 0);
        CHECK_EQ_INT(dd_ph_add(&ph, i % 2 ? 11 : 9, 20, 0.5, 5, &st, &ref), 0);
    }
    CHECK_EQ_INT(dd_cusum_add(&c, 13, 20, 0.5, 5, &st, &ref), 0);
    CHECK_EQ_INT(dd_cusum_add(&c, 13, 20, 0.5, 5, &st, &ref), 0);
    CHECK_EQ_INT(dd_cusum_add(&c, 13, 20, 0.5, 5, &st, &ref), 1);
    CHECK_NEAR(st, 7.5, 1e-12);
    CHECK_NEAR(ref, 10, 1e-12);
    CHECK_EQ_INT(c.base.n, 0);                 /* reset: the new level is the next baseline */
    /* PH on z = 3 right after the baseline: the running mean counts the 20
     * baseline points (z mean 0), so after k shifted points zbar = 3k/(20+k)
     * and U grows by 3 - zbar - 0.5: 2.357, 4.584, 6.693 > 5 on the third */
    double u = 0;
    for (int k = 1; k <= 3; k++) u += 3 - 3.0 * k / (20 + k) - 0.5;
    CHECK_EQ_INT(dd_ph_add(&ph, 13, 20, 0.5, 5, &st, &ref), 0);
    CHECK_EQ_INT(dd_ph_add(&ph, 13, 20, 0.5, 5, &st, &ref), 0);
    CHECK_EQ_INT(dd_ph_add(&ph, 13, 20, 0.5, 5, &st, &ref), 1);
    CHECK_NEAR(st, u, 1e-12);
    CHECK_NEAR(ref, 10, 1e-12);
    CHECK_EQ_INT(ph.base.n, 0);
}

static void test_adwin(void)
{
    double buf[64];
    dd_adwin a = { buf, 64, 0 };
    double st, eps, m0, m1;
    int fired = 0, at = -1;
    for (int i = 0; i < 200 && !fired; i++) {
        double x = (i % 2 ? 0.5 : -0.5) + (i >= 100 ? 5 : 0);
        fired = dd_adwin_add(&a, x, 0.002, 5, &st, &eps, &m0, &m1);
        at = i;
    }
    CHECK(fired);
    CHECK_MSG(at >= 100 && at <= 106, "detected at %d", at);
    CHECK(st > eps);
    CHECK_MSG(a.n <= 5, "%d left at %d", a.n, at);   /* the older side of the cut is gone */
}

static void test_holt(void)
{
    /* a straight line is forecast exactly, with a zero interval */
    dd_holt h = {0};
    for (int i = 0; i < 10; i++) dd_holt_add(&h, 3 + 2.0 * i, 0.5, 0.1);
    double half, y = dd_holt_forecast(&h, 4, 0.5, 0.1, &half);
    CHECK_NEAR(y, 3 + 2.0 * 13, 1e-9);
    CHECK_NEAR(half, 0, 1e-12);
    /* by hand: x = 1, 2, 4: l2 = 2, b2 = 1; e3 = 4 - 3 = 1; l3 = .5*4 + .5*3 = 3.5,
     * b3 = .1*1.5 + .9*1 = 1.05; sigma^2 = 1; h = 2: var = 1 + (.25 + .5*.05*2 + .05^2*2*3/6) */
    dd_holt g = {0};
    dd_holt_add(&g, 1, 0.5, 0.1); dd_holt_add(&g, 2, 0.5, 0.1); dd_holt_add(&g, 4, 0.5, 0.1);
    y = dd_holt_forecast(&g, 2, 0.5, 0.1, &half);
    CHECK_NEAR(y, 3.5 + 2 * 1.05, 1e-12);
    CHECK_NEAR(half, 1.959963984540054 * sqrt(1 + 0.25 + 0.05 + 0.0025), 1e-12);
}

static int nd, nm;
static int on_drift(void *ctx, const Drift *d) { (void)ctx; (void)d; nd++; return 0; }
static int on_metric(void *ctx, const Metric *m) { (void)ctx; (void)m; nm++; return 0; }

static drift_config cfg(void)
{
    drift_config c = {0};
    c.detectors = 0x3f; c.field = DRIFT_F_VALUE;
    c.warmup = 10; c.cooldown = 10; c.recovery = 3; c.threshold = 2.5; c.ewma_alpha = 0.1;
    c.ph_delta = 0.5; c.ph_lambda = 10; c.cusum_k = 0.5; c.cusum_h = 10;
    c.adwin_delta = 0.002; c.adwin_max = 32; c.adwin_min = 5;
    c.window = 10; c.every = 5; c.bins = 5; c.psi_threshold = 0.25; c.ks_alpha = 0.001;
    c.holt_alpha = 0.5; c.holt_beta = 0.1;
    c.horizons[0] = 60000000; c.horizon_names[0] = "1m"; c.nhorizons = 1;
    c.max_series = 2;
    return c;
}

static void feed(drift_engine *e, int from, int to)
{
    KeyValue kv[2] = { { FB_STR("zone"), FB_STR("b") }, { FB_STR("host"), FB_STR("a") } };
    for (int i = from; i < to; i++) {
        for (int s = 0; s < 3; s++) {
            Metric m;
            Metric_init(&m);
            m.name = s == 0 ? FB_STR("cpu") : s == 1 ? FB_STR("mem") : FB_STR("disk");
            m.labels = kv; m.labels_count = 2;
            m.window_start = (int64_t)i * 60000000; m.window_end = m.window_start + 60000000;
            m.value = (i * 7919 % 13) + (i > 40 ? 20 : 0) + s;
            const char *why;
            CHECK_EQ_INT(drift_engine_metric(e, &m, &why), DRIFT_OK);
        }
    }
}

static void test_blob(void)
{
    drift_config c = cfg();
    drift_engine *full = drift_engine_new(&c, on_drift, on_metric, NULL);
    feed(full, 0, 80);
    CHECK_EQ_INT(drift_engine_series(full), 2);
    CHECK_EQ_INT(drift_engine_counters(full)->untracked, 80);    /* the third series */
    int full_d = nd, full_m = nm;
    CHECK(full_d > 0);
    nd = nm = 0;

    drift_engine *a = drift_engine_new(&c, on_drift, on_metric, NULL);
    feed(a, 0, 35);
    uint8_t *blob; size_t len; uint64_t extra = 0;
    drift_engine_save(a, 1234, &blob, &len);
    char err[200];
    drift_engine *b = drift_engine_new(&c, on_drift, on_metric, NULL);
    CHECK_EQ_INT(drift_engine_load(b, blob, len, &extra, err, sizeof err), 0);
    CHECK_EQ_INT(extra, 1234);
    feed(b, 35, 80);
    CHECK_EQ_INT(nd, full_d);
    CHECK_EQ_INT(nm, full_m);
    uint8_t *b1, *b2; size_t l1, l2;
    drift_engine_save(full, 0, &b1, &l1);
    drift_engine_save(b, 0, &b2, &l2);
    CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0);

    /* every truncation and a flipped byte in the header are refused, never read past */
    for (size_t cut = 0; cut < len; cut++) {
        drift_engine *t = drift_engine_new(&c, on_drift, on_metric, NULL);
        CHECK_MSG(drift_engine_load(t, blob, cut, &extra, err, sizeof err) < 0, "cut at %zu of %zu loaded", cut, len);
        drift_engine_free(t);
    }
    for (size_t at = 0; at < 12; at++) {              /* the magic and the settings fingerprint */
        blob[at] ^= 0x20;
        drift_engine *t = drift_engine_new(&c, on_drift, on_metric, NULL);
        CHECK_MSG(drift_engine_load(t, blob, len, &extra, err, sizeof err) < 0, "byte %zu flipped, loaded", at);
        drift_engine_free(t);
        blob[at] ^= 0x20;
    }
    drift_config other = c;
    other.window = 20;
    drift_engine *t = drift_engine_new(&other, on_drift, on_metric, NULL);
    CHECK_EQ_INT(drift_engine_load(t, blob, len, &extra, err, sizeof err), DRIFT_LOAD_SETTINGS);
    CHECK(strstr(err, "settings") != NULL);
    drift_engine_free(t);
    free(blob); free(b1); free(b2);
    drift_engine_free(full); drift_engine_free(a); drift_engine_free(b);
}

TEST_MAIN(test_ks_exact, test_psi, test_cusum_ph, test_adwin, test_holt, test_blob)
