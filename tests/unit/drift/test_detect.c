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

/* The self-starting ph and cusum against the formulas written again here
 * from scratch (two-pass means and sds over every point since the reset,
 * no running updates): u = d / sd, v = (sqrt|d| - mean g) / sd g, both
 * clipped to +-3, d = (x - mean) / sqrt(1 + 1/n); then the tabular CUSUM
 * and Page-Hinkley on each (README.md, "Detectors"). */
typedef struct ref_det {
    double x[1200], g[1200]; int n, ng;
    double pos, neg, spos, sneg;                                    /* cusum */
    int64_t ph_n; double m[2], up[2], up_min[2], dn[2], dn_max[2];   /* ph: level, scale */
} ref_det;

static void mean_sd(const double *v, int n, double *mean, double *sd)
{
    double s = 0, q = 0;
    for (int i = 0; i < n; i++) s += v[i];
    *mean = n ? s / n : 0;
    for (int i = 0; i < n; i++) q += (v[i] - *mean) * (v[i] - *mean);
    *sd = n ? sqrt(q / n) : 0;
    if (*sd < 1e-9 * fmax(1, fabs(*mean))) *sd = 1e-9 * fmax(1, fabs(*mean));
}
static double clip3(double z) { return z > 3 ? 3 : z < -3 ? -3 : z; }

/* 1 and the statistic when the reference alarms (and resets) */
static int ref_add(ref_det *r, double x, int warmup, int is_ph, double k, double h, double *stat,
                   double *ref, int *scale)
{
    int n = r->n, fire = 0;
    double mx, sx, mg, sg, d = 0;
    mean_sd(r->x, n, &mx, &sx);
    mean_sd(r->g, r->ng, &mg, &sg);
    if (n > 0) d = (x - mx) / sqrt(1 + 1.0 / n);
    if (n >= warmup) {
        double z[2] = { clip3(d / sx), clip3((sqrt(fabs(d)) - mg) / sg) }, st[2];
        if (!is_ph) {
            r->pos = fmax(0, r->pos + z[0] - k); r->neg = fmax(0, r->neg - z[0] - k);
            r->spos = fmax(0, r->spos + z[1] - k); r->sneg = fmax(0, r->sneg - z[1] - k);
            st[0] = fmax(r->pos, r->neg); st[1] = fmax(r->spos, r->sneg);
        } else {
            r->ph_n = r->ph_n ? r->ph_n + 1 : warmup + 1;
            for (int q = 0; q < 2; q++) {
                r->m[q] += (z[q] - r->m[q]) / (double)r->ph_n;
                r->up[q] += z[q] - r->m[q] - k; r->up_min[q] = fmin(r->up_min[q], r->up[q]);
                r->dn[q] += z[q] - r->m[q] + k; r->dn_max[q] = fmax(r->dn_max[q], r->dn[q]);
                st[q] = fmax(r->up[q] - r->up_min[q], r->dn_max[q] - r->dn[q]);
            }
        }
        if (st[0] > h || st[1] > h) {
            fire = 1;
            *scale = st[1] > st[0];
            *stat = *scale ? st[1] : st[0];
            *ref = mx;
        }
    }
    if (fire) { memset(r, 0, sizeof *r); return 1; }
    if (n > 0) r->g[r->ng++] = sqrt(fabs(d));
    r->x[r->n++] = x;
    return 0;
}

static void test_cusum_ph(void)
{
    /* a baseline of alternating 9/11 (mean 10, sd 1), then a jump to 13:
     * u = 3 / sqrt(1 + 1/20) = 2.93, so CUSUM grows by 2.43 per point and
     * crosses h = 5 on the third; the scale statistic (|d| of 3 against
     * |d| near 1) is clipped at 3 and crosses with it */
    dd_cusum c = {0};
    dd_ph ph = {0};
    dd_change ch;
    for (int i = 0; i < 20; i++) {
        CHECK_EQ_INT(dd_cusum_add(&c, i % 2 ? 11 : 9, 20, 0.5, 5, &ch), 0);
        CHECK_EQ_INT(dd_ph_add(&ph, i % 2 ? 11 : 9, 20, 0.5, 5, &ch), 0);
    }
    CHECK_EQ_INT(dd_cusum_add(&c, 13, 20, 0.5, 5, &ch), 0);
    CHECK_EQ_INT(dd_cusum_add(&c, 13, 20, 0.5, 5, &ch), 0);
    CHECK_EQ_INT(dd_cusum_add(&c, 13, 20, 0.5, 5, &ch), 1);
    CHECK_EQ_INT(c.base.x.n, 0);               /* reset: the new level is the next baseline */

    /* every step against the reference: a stationary stretch, a level
     * shift, a spike, a variance drop, for both detectors */
    for (int is_ph = 0; is_ph < 2; is_ph++) {
        ref_det *r = calloc(1, sizeof *r);
        dd_cusum cu = {0};
        dd_ph p = {0};
        uint64_t st = 77;
        int alarms = 0, scale_alarms = 0;
        for (int i = 0; i < 1200; i++) {
            st = st * 6364136223846793005ULL + 1442695040888963407ULL;
            double e = ((double)(st >> 11) * 0x1.0p-53 - 0.5) * 3.4;    /* uniform, sd ~1 */
            double x = i < 300 ? 10 + e : i < 600 ? 12 + e : i < 900 ? 12 + e + (i == 700 ? 30 : 0)
                                                            : 12 + 0.2 * e;
            double want_stat = 0, want_ref = 0;
            int want_scale = 0;
            int want = ref_add(r, x, 20, is_ph, is_ph ? 0.25 : 0.5, is_ph ? 13 : 7.5, &want_stat, &want_ref,
                               &want_scale);
            int got = is_ph ? dd_ph_add(&p, x, 20, 0.25, 13, &ch) : dd_cusum_add(&cu, x, 20, 0.5, 7.5, &ch);
            CHECK_EQ_INT(got, want);
            if (got != want) break;
            if (got) {
                alarms++; scale_alarms += ch.scale;
                CHECK_NEAR(ch.stat, want_stat, 1e-9);
                CHECK_NEAR(ch.ref, want_ref, 1e-9);
                CHECK_EQ_INT(ch.scale, want_scale);
            }
        }
        free(r);
        CHECK_MSG(alarms >= 2 && scale_alarms >= 1, "%s: %d alarms, %d of scale",
                  is_ph ? "ph" : "cusum", alarms, scale_alarms);
    }
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

    /* a constant window has no spread to winsorise with: a step after it
     * enters whole and is found (clipped to the mean, it never would be) */
    dd_adwin c = { buf, 64, 0 };
    fired = 0; at = -1;
    for (int i = 0; i < 200 && !fired; i++) {
        fired = dd_adwin_add(&c, i >= 100 ? 1 : 0, 0.002, 5, &st, &eps, &m0, &m1);
        at = i;
    }
    CHECK_MSG(fired && at >= 100 && at <= 105, "a step after a constant window: fired %d at %d", fired, at);
    /* one 1e6 sd spike moves the window's mean by 3 sd / 64, not 1e6 sd / 64 */
    dd_adwin w = { buf, 64, 0 };
    for (int i = 0; i < 64; i++) dd_adwin_add(&w, i % 2 ? 1 : -1, 0.002, 5, &st, &eps, &m0, &m1);
    dd_adwin_add(&w, 1e6, 0.002, 5, &st, &eps, &m0, &m1);
    CHECK_NEAR(w.v[w.n - 1], 3.0, 1e-9);
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
    /* a blob of format 1 (frozen ph/cusum baselines): refused as other
     * settings, with a message that says why */
    uint8_t v1[] = { 0x44, 0x52, 0x46, 0x31, 0, 0, 0, 0, 0, 0, 0, 0 };
    drift_engine *t1 = drift_engine_new(&c, on_drift, on_metric, NULL);
    CHECK_EQ_INT(drift_engine_load(t1, v1, sizeof v1, &extra, err, sizeof err), DRIFT_LOAD_SETTINGS);
    CHECK(strstr(err, "older drift") != NULL);
    drift_engine_free(t1);
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
