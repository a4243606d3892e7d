/* test_drift_sim.c — the shift detectors (ph, cusum, adwin) and zscore at
 * the stage's defaults, through the engine, on seeded simulated streams
 * (issue 18):
 *   - false alarms on long stationary streams, normal and log-normal
 *     (latencies: median 50 ms, sigma_log 0.8): at most 1 per 1,000 points
 *     for every detector (psi and ks too; their delays are not measured);
 *   - change points after 1,500 stationary points: abrupt mean shifts of
 *     0.5, 1, 2 and 3 sd (half of the series up, half down), a second
 *     1-sd step 400 points after the first, a ramp of 2 sd over 200 points,
 *     the standard deviation doubled and halved, and single +8 sd spikes.
 *     The delay of a series is the points from the change to the first
 *     drift at or after it (1: the first changed point); a change not found
 *     within 1,000 points is missed. Bounds on the median delay of ph and
 *     cusum (0.5 sd <= 100 points, 1 sd <= 30, 2 sd <= 12, 3 sd <= 8, the
 *     second step <= 35, the ramp <= 120, sd x2 <= 40, sd x0.5 <= 70) and
 *     at most 4 of 40 series missed in each case.
 *   - a spike is a zscore anomaly, not a ph/cusum/adwin drift.
 * Prints the table of the README (detector x false alarms x delays).
 * About 2 s of CPU (6 to 14 s under ASan on a loaded machine). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "driftsim.h"

enum { D_PH, D_CUSUM, D_ADWIN, D_ZSCORE, D_PSI, D_KS, ND };
static const char *const dname[ND] = { "ph", "cusum", "adwin", "zscore", "psi", "ks" };
static const int dcode[ND] = { Detector_page_hinkley, Detector_cusum, Detector_adwin, Detector_zscore,
                               Detector_psi, Detector_ks };

/* alarms per detector, the first at or after `watch_from`, and the points
 * of the first MAXAT */
enum { MAXAT = 64 };
static int64_t alarms[ND], first_at[ND], watch_from, at[ND][MAXAT];
/* ph, cusum, adwin, zscore, psi and ks at the stage's defaults */
static drift_config defaults(void)
{
    unsigned all = 0;
    for (int k = 0; k < ND; k++) all |= 1u << dcode[k];
    return driftsim_defaults(all);
}

static int on_drift(void *ctx, const Drift *d)
{
    (void)ctx;
    if (d->kind == DriftKind_recovery) return 0;
    for (int k = 0; k < ND; k++)
        if ((int)d->detector == dcode[k]) {
            if (alarms[k] < MAXAT) at[k][alarms[k]] = point;
            alarms[k]++;
            if (point >= watch_from && first_at[k] < 0) first_at[k] = point;
        }
    return 0;
}

static double fa_rate[2][ND];

static void test_stationary(void)
{
    enum { SERIES = 8, POINTS = 25000 };
    drift_config c = defaults();
    for (int kind = 0; kind < 2; kind++) {
        rng_state = 7100 + (uint64_t)kind;
        drift_engine *e = drift_engine_new(&c, on_drift, on_metric, NULL);
        memset(alarms, 0, sizeof alarms);
        watch_from = INT64_MAX;
        char name[32];
        for (int s = 0; s < SERIES; s++) {
            snprintf(name, sizeof name, "s%d", s);
            for (int64_t i = 0; i < POINTS; i++) {
                double z = rng_normal();
                observe(e, name, i, kind == 0 ? 100 + 10 * z : 50 * exp(0.8 * z));
            }
        }
        for (int k = 0; k < ND; k++) {
            fa_rate[kind][k] = 1000.0 * (double)alarms[k] / (SERIES * POINTS);
            CHECK_MSG(fa_rate[kind][k] <= 1.0, "%s on %s: %.3f false alarms per 1,000 points",
                      dname[k], kind ? "log-normal" : "normal", fa_rate[kind][k]);
        }
        drift_engine_free(e);
    }
}

enum { SHIFT05, SHIFT1, SHIFT2, SHIFT3, STEP2, RAMP, VAR_UP, VAR_DOWN, SPIKE, NSCEN };
static const char *const sname[NSCEN] = { "0.5 sd", "1 sd", "2 sd", "3 sd", "2nd 1-sd step",
                                          "ramp 2 sd/200", "sd x2", "sd x0.5", "8-sd spikes alarmed" };
enum { BEFORE = 1500, AFTER = 1000, REPS = 40, MISSED = 1000000, SPIKE_EVERY = 200, SPIKES = 5 };
static int64_t delays[NSCEN][ND][REPS];
static double median_delay[NSCEN][ND];
static int missed[NSCEN][ND];
static int spikes_hit[ND];     /* spikes with an alarm at them or within 5 points after */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* the value at point i after the change at 0 (i >= 0), mean 100, sd 10 */
static double changed(int scen, int64_t i, double z, double sign)
{
    switch (scen) {
    case SHIFT05: return 100 + 10 * z + sign * 5;
    case SHIFT1: return 100 + 10 * z + sign * 10;
    case SHIFT2: return 100 + 10 * z + sign * 20;
    case SHIFT3: return 100 + 10 * z + sign * 30;
    case STEP2: return 100 + 10 * z + sign * (i < 400 ? 10 : 20);
    case RAMP: return 100 + 10 * z + sign * 20 * (i < 200 ? (double)(i + 1) / 200 : 1);
    case VAR_UP: return 100 + 20 * z;
    case VAR_DOWN: return 100 + 5 * z;
    default: return 100 + 10 * z + (i % SPIKE_EVERY == 0 ? 80 : 0);
    }
}

static void test_changes(void)
{
    drift_config c = defaults();
    /* psi and ks compare with the series' first window, reported once:
     * their false-alarm rate is checked above, their delays are not
     * measured here (half the time of this test) */
    c.detectors &= ~(1u << Detector_psi | 1u << Detector_ks);
    for (int scen = 0; scen < NSCEN; scen++) {
        for (int r = 0; r < REPS; r++) {
            rng_state = 7200 + (uint64_t)(scen * 1000 + r);
            drift_engine *e = drift_engine_new(&c, on_drift, on_metric, NULL);
            double sign = r % 2 ? -1 : 1;
            /* the second step is timed from itself: the first one is found
             * and rebaselined on before it comes */
            int64_t change = scen == STEP2 ? BEFORE + 400 : BEFORE;
            watch_from = change;
            for (int k = 0; k < ND; k++) first_at[k] = -1;
            memset(alarms, 0, sizeof alarms);
            for (int64_t i = 0; i < change + AFTER; i++) {
                double z = rng_normal();
                observe(e, "x", i, i < BEFORE ? 100 + 10 * z : changed(scen, i - BEFORE, z, sign));
            }
            for (int k = 0; k < ND && scen == SPIKE; k++)
                for (int j = 0; j < SPIKES; j++) {
                    int64_t p = BEFORE + (int64_t)j * SPIKE_EVERY, hit = 0;
                    for (int64_t q = 0; q < alarms[k] && q < MAXAT; q++) hit |= at[k][q] >= p && at[k][q] <= p + 5;
                    spikes_hit[k] += (int)hit;
                }
            for (int k = 0; k < ND; k++)
                delays[scen][k][r] = first_at[k] >= 0 && first_at[k] - change < AFTER
                    ? first_at[k] - change + 1 : MISSED;
            drift_engine_free(e);
        }
        for (int k = 0; k < ND; k++) {
            qsort(delays[scen][k], REPS, sizeof delays[scen][k][0], cmp_i64);
            median_delay[scen][k] = 0.5 * (double)(delays[scen][k][REPS / 2 - 1] + delays[scen][k][REPS / 2]);
            missed[scen][k] = 0;
            for (int r = 0; r < REPS; r++) missed[scen][k] += delays[scen][k][r] == MISSED;
        }
    }
    for (int k = D_PH; k <= D_CUSUM; k++) {
        /* about twice what is measured (README.md's table), under the
         * issue's goals (0.5 sd in 250 points, 1 sd in 100) */
        static const struct { int scen; double bound; } b[] = {
            { SHIFT05, 100 }, { SHIFT1, 30 }, { SHIFT2, 12 }, { SHIFT3, 8 }, { STEP2, 35 },
            { RAMP, 120 }, { VAR_UP, 40 }, { VAR_DOWN, 70 } };
        for (size_t q = 0; q < sizeof b / sizeof b[0]; q++) {
            int s = b[q].scen;
            CHECK_MSG(median_delay[s][k] <= b[q].bound, "%s, %s: median delay %.1f, bound %g",
                      dname[k], sname[s], median_delay[s][k], b[q].bound);
            /* a false alarm just before the change starts a baseline on the
             * changed data, which then has nothing to find: a few of 40 */
            CHECK_MSG(missed[s][k] <= REPS / 10, "%s, %s: missed in %d of %d series", dname[k], sname[s],
                      missed[s][k], REPS);
        }
    }
    /* a lone spike is not a change of level (by chance, a few may come
     * while a statistic is already high) but it is a zscore anomaly */
    for (int k = D_PH; k <= D_ADWIN; k++)
        CHECK_MSG(spikes_hit[k] <= REPS * SPIKES / 20, "%s: %d of %d spikes taken for a drift",
                  dname[k], spikes_hit[k], REPS * SPIKES);
    CHECK_MSG(spikes_hit[D_ZSCORE] >= REPS * SPIKES * 9 / 10, "zscore: %d of %d spikes anomalies",
              spikes_hit[D_ZSCORE], REPS * SPIKES);

    fprintf(stderr, "| detector | false alarms / 1,000 (normal) | (log-normal) |");
    for (int s = 0; s < NSCEN; s++) fprintf(stderr, " %s |", sname[s]);
    fprintf(stderr, "\n|---|---|---|");
    for (int s = 0; s < NSCEN; s++) fprintf(stderr, "---|");
    fprintf(stderr, "\n");
    for (int k = 0; k < ND; k++) {
        fprintf(stderr, "| %s | %.2f | %.2f |", dname[k], fa_rate[0][k], fa_rate[1][k]);
        for (int s = 0; s < NSCEN; s++) {
            if (k >= D_PSI) fprintf(stderr, " |");
            else if (s == SPIKE) fprintf(stderr, " %d/%d |", spikes_hit[k], REPS * SPIKES);
            else if (missed[s][k] * 2 >= REPS) fprintf(stderr, " missed %d/%d |", missed[s][k], REPS);
            else if (missed[s][k]) fprintf(stderr, " %.0f (missed %d) |", median_delay[s][k], missed[s][k]);
            else fprintf(stderr, " %.0f |", median_delay[s][k]);
        }
        fprintf(stderr, "\n");
    }
    /* the mean over the series found, for comparison with ARL tables */
    for (int k = D_PH; k <= D_CUSUM; k++) {
        fprintf(stderr, "%s mean delay:", dname[k]);
        for (int s = 0; s < SPIKE; s++) {
            double sum = 0;
            int n = 0;
            for (int r = 0; r < REPS; r++)
                if (delays[s][k][r] != MISSED) { sum += (double)delays[s][k][r]; n++; }
            fprintf(stderr, " %s %.1f;", sname[s], n ? sum / n : 0.0);
        }
        fprintf(stderr, "\n");
    }
}

TEST_MAIN(test_stationary, test_changes)
