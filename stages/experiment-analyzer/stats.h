/* stats.h — the statistics of experiment-analyzer: distributions (normal,
 * Student t, chi-square, through the regularized incomplete beta and gamma
 * functions), interval estimates and tests for A/B experiments, the
 * always-valid mixture SPRT and multiple-testing corrections.
 *
 * Every function is pure and reentrant. The reference for each value is what
 * scipy/statsmodels compute for the same inputs (tests/unit/experiment-analyzer
 * /test_stats.c holds >30 such cases to 1e-6 relative). Where the textbook
 * value is undefined (no data, zero variance) the function says what it
 * returns instead; a caller never receives NaN from the tests. */
#ifndef EA_STATS_H
#define EA_STATS_H
#include <stddef.h>
#include <stdint.h>

/* ---- distributions ---- */
double st_norm_cdf(double x);
double st_norm_sf(double x);              /* 1 - cdf, accurate in the upper tail */
double st_norm_ppf(double p);             /* inverse cdf, p in (0,1); ±inf at 0/1 */
double st_norm_isf(double q);             /* inverse sf: st_norm_isf(0.025) = 1.95996… */
/* Regularized incomplete beta I_x(a,b); y must be 1-x (passed separately so
 * that callers keep precision when x is near 1). */
double st_betainc(double a, double b, double x, double y);
double st_gammainc_p(double a, double x); /* regularized lower P(a,x) */
double st_gammainc_q(double a, double x); /* regularized upper Q(a,x) */
double st_t_cdf(double t, double df);     /* df > 0, non-integer allowed */
double st_t_sf(double t, double df);
double st_t_isf(double q, double df);     /* t with sf(t) = q, q in (0,1) */
double st_chi2_sf(double x, double k);

/* ---- estimates ---- */
typedef struct st_interval { double low, high; } st_interval;

/* Wilson score interval for conversions/n at level 1-alpha (statsmodels
 * proportion_confint method="wilson"). n == 0: [0, 1]. */
st_interval st_wilson(uint64_t conversions, uint64_t n, double alpha);

/* Two proportions, treatment (ct/nt) against control (cc/nc). */
typedef struct st_prop_test {
    double diff;              /* pt - pc */
    st_interval diff_ci;      /* Newcombe hybrid score interval (statsmodels
                                 confint_proportions_2indep, method "newcomb") */
    double rel_lift;          /* diff / pc; 0 when pc == 0 */
    double z, p_value;        /* pooled two-proportion z-test, two-sided
                                 (statsmodels proportions_ztest); p = 1 when the
                                 pooled rate is 0 or 1 (no variance) */
    double var;               /* unpooled variance of diff, for the mSPRT */
} st_prop_test;
int st_prop_test_run(uint64_t ct, uint64_t nt, uint64_t cc, uint64_t nc, double alpha,
                     st_prop_test *out);   /* -1 if an arm is empty */

/* Mean with sample standard deviation (n-1) and t interval. */
typedef struct st_mean_ci { double mean, sd; st_interval ci; } st_mean_ci;
/* n < 2: ci = [mean, mean], sd = 0. */
st_mean_ci st_mean_interval(double n, double mean, double sd, double alpha);

/* Welch's unequal-variance t-test, treatment against control (scipy
 * ttest_ind(treatment, control, equal_var=False)). */
typedef struct st_welch {
    double diff, se, t, df, p_value;
    st_interval diff_ci;      /* diff ± t_{1-alpha/2, df} · se */
    double rel_lift;          /* diff / mean_c; 0 when mean_c == 0 */
    double var;               /* se², for the mSPRT */
} st_welch;
/* -1 if an arm has fewer than 2 values. se == 0: p = 1 if diff == 0 else 0. */
int st_welch_run(double nt, double mt, double sdt, double nc, double mc, double sdc,
                 double alpha, st_welch *out);

/* Sample-ratio mismatch: Pearson chi-square of observed counts against the
 * planned allocation (scipy.stats.chisquare with f_exp = N·alloc). */
double st_srm_p_value(const uint64_t *observed, const double *alloc, int k);

/* Sequential sample-ratio check (Lindon and Malek, "Anytime-Valid Inference
 * for Multinomial Count Data", NeurIPS 2022): the Bayes factor of a
 * Dirichlet(concentration·alloc) mixture over the arm probabilities against
 * the planned allocation,
 *   BF = Γ(A)/Γ(A+N) · Π Γ(a_i+x_i)/Γ(a_i) / Π alloc_i^x_i,  a_i = A·alloc_i,
 * is a martingale under the planned split, so P(BF ever >= 1/alpha) <= alpha
 * (Ville) however often it is read. Returns ln BF; arms planned empty
 * (alloc 0) drop out, and users in one give +inf (the split is certainly
 * broken). st_srm_seq_p: min(1, 1/BF) at this look; the always-valid
 * p-value is its running minimum over looks (the caller keeps it). */
#define ST_SRM_CONCENTRATION 100.0   /* A: the prior's weight, in users */
double st_srm_log_bf(const uint64_t *observed, const double *alloc, int k, double concentration);
double st_srm_seq_p(const uint64_t *observed, const double *alloc, int k, double concentration);

/* Mixture SPRT (Johari, Pekelis, Walsh, "Always Valid Inference", 2017),
 * normal mixture N(0, tau2) over the effect, for an estimate diff with
 * variance var (plug-in, both arms):
 *   Lambda = sqrt(V/(V+tau2)) · exp(tau2·diff² / (2V(V+tau2)))
 * p = min(1, 1/Lambda) at this look; the always-valid p-value is the running
 * minimum over looks (the caller keeps it). half_width: the always-valid
 * (1-alpha) interval at this look is diff ± half_width; callers intersect
 * them over looks. var <= 0: p = 1, half_width = inf. */
double st_msprt_p(double diff, double var, double tau2);
double st_msprt_half_width(double var, double tau2, double alpha);

/* Multiple testing across m treatments: adjusted p-values in adj (may alias p). */
void st_holm(const double *p, double *adj, int m);
void st_bonferroni(const double *p, double *adj, int m);

/* ---- CUPED, ratio and quantile metrics ---- */

/* Per-arm moments of per-user pairs (y, x): n users, the means and the
 * centered sums Syy = Σ(y-ȳ)², Sxx, Sxy = Σ(y-ȳ)(x-x̄). For CUPED y is the
 * metric and x the covariate; for a ratio y is the numerator and x the
 * denominator. */
typedef struct st_pair { double n, my, mx, syy, sxx, sxy; } st_pair;

/* CUPED (Deng, Xu, Kohavi, Walker, WSDM 2013), treatment t against control
 * c. θ = (Sxy_t + Sxy_c)/(Sxx_t + Sxx_c), pooled within arms: the
 * covariate's coefficient of OLS y ~ 1 + treated + x, whose `treated`
 * coefficient is the adjusted difference
 *   diff = (ȳt - ȳc) - θ(x̄t - x̄c).
 * Its variance: per arm s² = (Syy - 2θSxy + θ²Sxx)/(n-1), the sample
 * variance of y - θx, and var = s²t/nt + s²c/nc (θ taken as known, as
 * CUPED does; the simulation in test 363 shows the coverage holds); the
 * interval and p-value are Welch's on those variances. var_plain is the
 * unadjusted Welch variance, and variance_reduction = 1 - var/var_plain
 * (about ρ² for a covariate of correlation ρ). -1 if an arm has < 2 users. */
typedef struct st_cuped {
    double theta, diff, se, df, p_value, var, var_plain, variance_reduction;
    double diff_plain, rel_lift;  /* rel_lift: diff / ȳc (0 when ȳc == 0) */
    st_interval diff_ci;
} st_cuped;
int st_cuped_run(const st_pair *t, const st_pair *c, double alpha, st_cuped *out);

/* Ratio of sums R = Σy/Σx per arm, users the unit (Deng, Knoblich, Lu,
 * "Applying the Delta Method in Metric Analytics", KDD 2018):
 *   Var(R) = (s²y - 2R·sxy + R²·s²x) / (n·x̄²)
 * with sample (n-1) variances and covariance; the difference of two arms'
 * ratios has the sum of their variances, a normal interval and a two-sided
 * z p-value. st_ratio_arm: -1 when n < 2 or x̄ == 0. */
typedef struct st_ratio_arm { double ratio, se; st_interval ci; } st_ratio_arm;
int st_ratio_arm_run(const st_pair *a, double alpha, st_ratio_arm *out);
typedef struct st_ratio_test { double diff, se, var, z, p_value, rel_lift; st_interval diff_ci; } st_ratio_test;
int st_ratio_test_run(const st_pair *t, const st_pair *c, double alpha, st_ratio_test *out);

/* Quantile q of n sorted values, numpy's default ("linear", Hyndman-Fan 7):
 * h = (n-1)q, x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]). */
double st_quantile_sorted(const double *x, size_t n, double q);
/* Distribution-free interval of the q-quantile from order statistics: with
 * B ~ Bin(n, q) the count of values below the true quantile, ranks (1-based)
 *   l = floor(nq - z·√(nq(1-q))),  u = ceil(nq + z·√(nq(1-q))) + 1,
 * clamped to [1, n], give P(x_(l) <= ξq <= x_(u)) = P(l <= B <= u-1) ≈ 1-alpha.
 * n == 0: [0, 0]. */
st_interval st_quantile_ci_sorted(const double *x, size_t n, double q, double alpha);
/* Woodruff's (1952) standard error of the q-quantile: the empirical
 * quantiles (linear) at levels q ± z·√(q(1-q)/n), clamped to [0, 1],
 *   se = (Q(q + z·√(q(1-q)/n)) - Q(q - z·√(q(1-q)/n))) / (2z).
 * n < 2: 0. */
double st_quantile_woodruff_se(const double *x, size_t n, double q, double alpha);
/* Difference of two arms' quantiles with their Woodruff standard errors:
 * se = √(se_t² + se_c²), a normal interval, a two-sided z p-value
 * (se == 0: p = 1 if diff == 0 else 0). */
typedef struct st_quantile_test { double diff, se, p_value, rel_lift; st_interval diff_ci; } st_quantile_test;
void st_quantile_test_run(double qt, double set, double qc, double sec, double alpha,
                          st_quantile_test *out);

#endif
