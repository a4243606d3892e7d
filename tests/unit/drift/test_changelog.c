/* test_changelog.c — drift's state one series at a time (--changelog):
 * the series changed since the last checkpoint, each with its partition;
 * restored into a fresh engine (as a new owner does) they continue exactly
 * as the uninterrupted engine; a later state of a series replaces the
 * earlier; dropping a partition forgets its series alone; corrupt or
 * foreign blobs are refused, never read past. */
#include <stdlib.h>
#include "../../../stages/drift/engine.h"
#include "../testhelp.h"

static int nd, nm;
static int on_drift(void *ctx, const Drift *d) { (void)ctx; (void)d; nd++; return 0; }
static int on_metric(void *ctx, const Metric *m) { (void)ctx; (void)m; nm++; return 0; }

static drift_config cfg(void)
{
    drift_config c = {0};
    c.detectors = 0x3f; c.field = DRIFT_F_VALUE;
    c.warmup = 10; c.cooldown = 10; c.recovery = 3; c.threshold = 2.5;
    c.ph_delta = 0.5; c.ph_lambda = 10; c.cusum_k = 0.5; c.cusum_h = 10;
    c.adwin_delta = 0.002; c.adwin_max = 32; c.adwin_min = 5;
    c.window = 10; c.every = 5; c.bins = 5; c.psi_threshold = 0.25; c.ks_alpha = 0.001;
    c.holt_alpha = 0.5; c.holt_beta = 0.1;
    c.horizons[0] = 60000000; c.horizon_names[0] = "1m"; c.nhorizons = 1;
    c.max_series = 10;
    return c;
}

/* series s ("cpu" on host hS) comes on partition s % 2; only those in mask */
static void feed(drift_engine *e, int from, int to, unsigned mask)
{
    static const char *const hosts[] = { "h0", "h1", "h2", "h3" };
    for (int i = from; i < to; i++) {
        for (int s = 0; s < 4; s++) {
            if (!(mask >> s & 1)) continue;
            KeyValue kv = { FB_STR("host"), FB_STR(hosts[s]) };
            Metric m;
            Metric_init(&m);
            m.name = FB_STR("cpu");
            m.labels = &kv; m.labels_count = 1;
            m.window_start = (int64_t)i * 60000000; m.window_end = m.window_start + 60000000;
            m.value = (i * 7919 % 13) + (i > 40 + s ? 20 : 0) + s;
            const char *why;
            CHECK_EQ_INT(drift_engine_metric_at(e, &m, s % 2, &why), DRIFT_OK);
        }
    }
}

typedef struct got { int n; int32_t part[16]; uint8_t *blob[16]; size_t len[16]; char key[16][32]; } got;

static int take(void *ctx, int32_t part, const char *key, size_t klen, const uint8_t *blob, size_t n)
{
    got *g = ctx;
    CHECK(g->n < 16 && klen < 32);
    memcpy(g->key[g->n], key, klen);
    g->key[g->n][klen] = 0;     /* the name: enough to tell these series apart with the host after it */
    g->key[g->n][4] = g->key[g->n][klen - 2];   /* "cpu\0host\0hS\0": S */
    g->part[g->n] = part;
    g->blob[g->n] = malloc(n);
    memcpy(g->blob[g->n], blob, n);
    g->len[g->n++] = n;
    return 0;
}

static void got_free(got *g) { for (int i = 0; i < g->n; i++) free(g->blob[i]); g->n = 0; }

static void test_follow(void)
{
    drift_config c = cfg();
    drift_engine *full = drift_engine_new(&c, on_drift, on_metric, NULL);
    drift_engine_track(full);
    feed(full, 0, 80, 0xf);
    int full_d = nd, full_m = nm;
    CHECK(full_d > 0);

    /* A: two checkpoints (the second with only series 1 and 2 changed) */
    drift_engine *a = drift_engine_new(&c, on_drift, on_metric, NULL);
    drift_engine_track(a);
    got g1 = {0}, g2 = {0}, g0 = {0};
    feed(a, 0, 30, 0xf);
    CHECK_EQ_INT(drift_engine_changed(a, take, &g1), 0);
    CHECK_EQ_INT(g1.n, 4);
    CHECK_EQ_INT(drift_engine_changed(a, take, &g0), 0);
    CHECK_EQ_INT(g0.n, 0);                      /* nothing changed since */
    feed(a, 30, 35, 0x6);
    CHECK_EQ_INT(drift_engine_changed(a, take, &g2), 0);
    CHECK_EQ_INT(g2.n, 2);
    for (int i = 0; i < g2.n; i++) CHECK(g2.part[i] == 0 || g2.part[i] == 1);
    /* A gives partition 1 (series 1, 3) away */
    CHECK_EQ_INT(drift_engine_drop_part(a, 1), 2);
    CHECK_EQ_INT(drift_engine_series(a), 2);

    /* B takes partition 1 as a new owner: both checkpoints in order, so
     * series 1 ends at point 35, series 3 at 30 */
    nd = nm = 0;
    drift_engine *b = drift_engine_new(&c, on_drift, on_metric, NULL);
    drift_engine_track(b);
    char err[300];
    for (int k = 0; k < 2; k++) {
        got *g = k ? &g2 : &g1;
        for (int i = 0; i < g->n; i++)
            if (g->part[i] == 1) CHECK_EQ_INT(drift_engine_restore_series(b, 1, g->blob[i], g->len[i], err, sizeof err), 0);
    }
    CHECK_EQ_INT(drift_engine_series(b), 2);
    CHECK_EQ_INT(drift_engine_changed(b, take, &g0), 0);
    CHECK_EQ_INT(g0.n, 0);                      /* restored is not changed */
    /* A reads partition 0 on, B partition 1, each from where the state ends */
    feed(a, 30, 35, 0x1);       /* series 0 and 2 (partition 0): A kept them (at 30 and 35) */
    feed(a, 35, 80, 0x5);
    feed(b, 30, 35, 0x8);
    feed(b, 35, 80, 0xa);
    /* the series A had before 35 made their lines then; count what both made after */
    drift_engine *ref = drift_engine_new(&c, on_drift, on_metric, NULL);
    int d0 = nd, m0 = nm;
    nd = nm = 0;
    feed(ref, 0, 30, 0xf);
    feed(ref, 30, 35, 0x6);
    int pre_d = nd, pre_m = nm;
    CHECK_EQ_INT(d0 + pre_d, full_d);
    CHECK_EQ_INT(m0 + pre_m, full_m);

    /* every series ends exactly as in the uninterrupted engine, byte for byte */
    got gf = {0}, ga = {0}, gb = {0};
    CHECK_EQ_INT(drift_engine_changed(full, take, &gf), 0);
    CHECK_EQ_INT(drift_engine_changed(a, take, &ga), 0);
    CHECK_EQ_INT(drift_engine_changed(b, take, &gb), 0);
    CHECK_EQ_INT(gf.n, 4);
    CHECK_EQ_INT(ga.n + gb.n, 4);
    for (int i = 0; i < gf.n; i++) {
        int found = 0;
        for (int k = 0; k < 2; k++) {
            got *g = k ? &gb : &ga;
            for (int j = 0; j < g->n; j++)
                if (g->key[j][4] == gf.key[i][4]) {
                    found++;
                    CHECK_MSG(g->len[j] == gf.len[i] && !memcmp(g->blob[j], gf.blob[i], gf.len[i]),
                              "series h%c differs from the uninterrupted one", gf.key[i][4]);
                    CHECK_EQ_INT(g->part[j], (gf.key[i][4] - '0') % 2);
                }
        }
        CHECK_EQ_INT(found, 1);
    }

    /* a corrupt blob (every cut, a flipped byte in the magic or settings)
     * is refused; other settings say so */
    for (size_t cut = 0; cut < g1.len[0]; cut++) {
        drift_engine *t = drift_engine_new(&c, on_drift, on_metric, NULL);
        CHECK_MSG(drift_engine_restore_series(t, 0, g1.blob[0], cut, err, sizeof err) < 0, "cut at %zu loaded", cut);
        CHECK_EQ_INT(drift_engine_series(t), 0);
        drift_engine_free(t);
    }
    for (size_t at = 0; at < 4; at++) {
        g1.blob[0][at] ^= 0x20;
        CHECK(drift_engine_restore_series(b, 0, g1.blob[0], g1.len[0], err, sizeof err) < 0);
        g1.blob[0][at] ^= 0x20;
    }
    drift_config other = c;
    other.window = 20;
    drift_engine *t = drift_engine_new(&other, on_drift, on_metric, NULL);
    CHECK_EQ_INT(drift_engine_restore_series(t, 0, g1.blob[0], g1.len[0], err, sizeof err), DRIFT_LOAD_SETTINGS);
    CHECK(strstr(err, "other settings") != NULL);
    drift_engine_free(t);
    /* past --max-series: left out */
    drift_config one = c;
    one.max_series = 1;
    t = drift_engine_new(&one, on_drift, on_metric, NULL);
    CHECK_EQ_INT(drift_engine_restore_series(t, 0, g1.blob[0], g1.len[0], err, sizeof err), 0);
    CHECK_EQ_INT(drift_engine_restore_series(t, 0, g1.blob[1], g1.len[1], err, sizeof err), DRIFT_RESTORE_FULL);
    CHECK_EQ_INT(drift_engine_series(t), 1);
    drift_engine_free(t);

    got_free(&g1); got_free(&g2); got_free(&gf); got_free(&ga); got_free(&gb);
    drift_engine_free(full); drift_engine_free(a); drift_engine_free(b); drift_engine_free(ref);
}

TEST_MAIN(test_follow)
