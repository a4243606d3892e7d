/* detect.h — the detectors of one series, as pure functions on plain
 * structs (no I/O, no allocation except the window arrays the caller owns).
 * The algorithms, with references, are in README.md; each function states
 * what it returns. Statistics are computed in a fixed order so that the
 * same input gives bit-identical output (restart equals uninterrupted run). */
#ifndef DRIFT_DETECT_H
#define DRIFT_DETECT_H
#include <stdint.h>

/* Mean and variance by Welford's method (population variance m2/n). */
typedef struct dd_welford { int64_t n; double mean, m2; } dd_welford;
void dd_welford_add(dd_welford *w, double x);
double dd_welford_sd(const dd_welford *w);      /* floored, never 0 (see .c) */

/* Self-starting baseline (Hawkins 1987; Hawkins & Olwell, "Cumulative Sum
 * Charts and Charting for Quality Improvement", 1998, ch. 7): the mean and
 * standard deviation of every observation since the last reset, learned
 * until a change is found, so the baseline's error shrinks as 1/sqrt(n)
 * instead of staying that of its first `warmup` points. Each observation is
 * standardised against the points before it, then learned:
 *   d = (x - mean) / sqrt(1 + 1/n)     (var d = var x: mean is from n points)
 *   u = d / sd                          the level statistic
 *   g = sqrt(|d|),  v = (g - mean g) / sd g   the scale statistic (Hawkins
 *       1981: sqrt|d| is near-symmetric, so a CUSUM on it sees the spread
 *       move either way; standardised by its own running moments, so no
 *       normal-theory constant biases it on skewed data)
 * both clipped to +-DD_CLIP (a spike or a heavy tail moves a CUSUM by at
 * most DD_CLIP - k per point: the false-alarm rate holds on log-normal
 * latencies, and one outlier is not a change of level). */
#define DD_CLIP 3.0
typedef struct dd_base { dd_welford x, g; } dd_base;
/* What a ph or cusum alarm reports: the statistic that crossed (the larger
 * of level and scale), the baseline mean, the observation, and whether the
 * scale statistic was the larger (the Drift schema has no field for it yet,
 * so the record looks the same: reference and current stay in the
 * metric's units for rules that compare them). */
typedef struct dd_change { double stat, ref, cur; int scale; } dd_change;

/* Two-sided tabular CUSUM (Page 1954; Montgomery ch. 9) on u (level) and
 * on v (scale) from a self-starting baseline. */
typedef struct dd_cusum { dd_base base; double pos, neg, spos, sneg; } dd_cusum;
/* 1 alarm (*out filled), 0 none. Before the baseline has `warmup` points
 * it only learns. After an alarm it resets itself (a new baseline). */
int dd_cusum_add(dd_cusum *c, double x, int64_t warmup, double k, double h, dd_change *out);

/* Page-Hinkley (Page 1954; Gama et al. 2014), both directions, on u (level)
 * and on v (scale) from a self-starting baseline, each less its running
 * mean since the last reset (the baseline's points count as 0). */
typedef struct dd_ph_side { double mean, up, up_min, dn, dn_max; } dd_ph_side;
typedef struct dd_ph { dd_base base; int64_t n; dd_ph_side lvl, scl; } dd_ph;
int dd_ph_add(dd_ph *p, double x, int64_t warmup, double delta, double lambda, dd_change *out);

/* Robust z-score with a threshold that keeps a target anomaly rate.
 * Centre and scale: the median and MAD (x1.4826; the mean absolute deviation
 * x1.2533 when the MAD is 0, as on data with many ties) of DD_RZ_WINDOW
 * observations that end DD_RZ_LAG points before the newest, so a spike or a
 * heavy tail does not inflate the scale as a mean/variance baseline does,
 * and a level shift is compared with the level before it for DD_RZ_LAG
 * points before it starts to enter the baseline. Threshold: t starts, once
 * the window is full, at the largest of the floor, the normal quantile
 * z_{1-rate/2} and the window's own largest |z|, and is tracked in log
 * scale: ln t += eta_k·(alarm - rate) at the k-th point where an alarm
 * could be raised (online quantile tracking, Robbins-Monro). With a fixed
 * eta, summed over N such points, alarms = rate·N + (ln t_N - ln t_0)/eta
 * exactly, whatever the distribution: on heavy tails t climbs until alarms
 * are that rare, and the excess is bounded by how far it had to climb. The
 * step is DD_RZ_ETA throughout (small, so one alarm raises t by 5% only
 * and a shift after it is found). Memory: 2·DD_RZ_WINDOW +
 * DD_RZ_LAG doubles (2.5 KiB) per series. */
#define DD_RZ_WINDOW 128
#define DD_RZ_LAG 64
#define DD_RZ_ETA 0.05
typedef struct dd_rz {
    int64_t n;                      /* observations folded in */
    int head;                       /* when the ring is full: index of the oldest */
    int thr_set;                    /* log_thr set (by the first dd_rz_threshold) */
    double log_thr;                 /* ln t */
    int64_t learned;                /* dd_rz_learn calls */
    double ring[DD_RZ_WINDOW + DD_RZ_LAG];  /* the last values, in arrival order */
    double sorted[DD_RZ_WINDOW];    /* the window (all but the newest DD_RZ_LAG), ascending */
} dd_rz;
/* z of x against the window (0 and *ready 0 until ring and window are full),
 * the median in *median. Does not fold x in. */
double dd_rz_z(const dd_rz *r, double x, double *median, int *ready);
void dd_rz_add(dd_rz *r, double x);
/* The current threshold, never below floor; it starts, once the window is
 * full, at the largest of floor, z_{1-rate/2} and the window's own largest |z|. */
double dd_rz_threshold(dd_rz *r, double rate, double floor);
/* After a point that could have raised an alarm: alarm 1 if it did. */
void dd_rz_learn(dd_rz *r, int alarm, double rate, double floor);
/* Upper normal quantile: P(Z > dd_norm_isf(q)) = q, q in (0, 0.5]. */
double dd_norm_isf(double q);

/* ADWIN (Bifet & Gavalda 2007) over the last n <= cap values, oldest first. */
typedef struct dd_adwin { double *v; int cap, n; } dd_adwin;
/* Adds x, then drops the oldest values while some cut of the window into
 * old|new has |mean_old - mean_new| > eps_cut. 1 if anything was dropped,
 * with the first (largest-ratio) cut's |difference|, eps and both means. */
int dd_adwin_add(dd_adwin *a, double x, double delta, int min_side,
                 double *stat, double *eps, double *m0, double *m1);

/* Two-sample Kolmogorov-Smirnov on equal sizes n: D = sup |F1 - F2| and the
 * exact two-sided p-value (Hodges 1958), computed the way scipy.stats.ks_2samp
 * (method exact) does. a and b are sorted in place. */
double dd_ks(double *a, double *b, int n, double *p_value);
/* P(D_{n,n} >= h/n), exact. */
double dd_ks_p_exact(int n, int h);

/* Population stability index of cur against ref (both n values, sorted in
 * place): bins at the reference's quantiles i/bins (linear interpolation,
 * numpy's default), proportions floored at DD_PSI_EPS. */
#define DD_PSI_EPS 1e-4
double dd_psi(double *ref, int nref, double *cur, int ncur, int bins);
/* numpy.quantile(sorted, q) with the default 'linear' method. */
double dd_quantile_sorted(const double *s, int n, double q);

/* Holt's linear (double exponential) smoothing. Level l, trend b:
 *   l_t = a x_t + (1-a)(l_{t-1} + b_{t-1});  b_t = B(l_t - l_{t-1}) + (1-B) b_{t-1}
 * initialised l_1 = x_1, then l_2 = x_2, b_2 = x_2 - x_1; one-step errors
 * from the third observation give sigma^2 = mean squared error. */
typedef struct dd_holt { int64_t n, ne; double level, trend, sse; } dd_holt;
void dd_holt_add(dd_holt *h, double x, double alpha, double beta);
/* Forecast k steps ahead (k > 0, may be fractional) and the half-width of
 * its 95% interval: the ETS(A,A,N) forecast variance (Hyndman &
 * Athanasopoulos, FPP3 §8.7), sigma^2 the mean squared one-step error. */
double dd_holt_forecast(const dd_holt *h, double k, double alpha, double beta, double *half);
#endif
