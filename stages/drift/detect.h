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

/* Two-sided tabular CUSUM (Page 1954) on z = (x - mu0) / sd0, where mu0 and
 * sd0 come from the first `warmup` observations after each reset. */
typedef struct dd_cusum { dd_welford base; double pos, neg; } dd_cusum;
/* 1 alarm (statistic in *stat, baseline mean in *ref), 0 none. Before the
 * baseline is complete it only learns. After an alarm it resets itself. */
int dd_cusum_add(dd_cusum *c, double x, int64_t warmup, double k, double h, double *stat, double *ref);

/* Page-Hinkley (Page 1954; Gama et al. 2014) on z = (x - mu0) / sd0, with the
 * running mean of z since the last reset (baseline included), both directions. */
typedef struct dd_ph { dd_welford base; int64_t n; double zmean, up, up_min, dn, dn_max; } dd_ph;
int dd_ph_add(dd_ph *p, double x, int64_t warmup, double delta, double lambda, double *stat, double *ref);

/* EWMA mean and variance (West 1979), z of x against the state BEFORE x. */
typedef struct dd_ewma { int64_t n; double mean, var; } dd_ewma;
/* Returns z (0 for the first observation), then folds x in. */
double dd_ewma_add(dd_ewma *e, double x, double alpha, double *ref);

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
