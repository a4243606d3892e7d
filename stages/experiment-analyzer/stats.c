/* stats.c — distributions and tests for experiment-analyzer (see stats.h).
 *
 * Algorithms:
 *  - normal cdf/sf from libm erfc (relative accuracy in both tails); the
 *    inverse from Acklam's rational approximation (rel. error 1.2e-9) polished
 *    by two Halley steps against erfc, which brings it to machine precision;
 *  - regularized incomplete beta by the continued fraction of DLMF 8.17.22,
 *    evaluated with the modified Lentz method, using the symmetry
 *    I_x(a,b) = 1 - I_{1-x}(b,a) so that the fraction is always evaluated
 *    where it converges fast (x < (a+1)/(a+b+2));
 *  - regularized incomplete gamma by its power series below a+1 and by the
 *    Legendre continued fraction (Lentz) above (DLMF 8.7.3, 8.9.2);
 *  - Student t through I_{df/(df+t²)}(df/2, 1/2); its inverse by safeguarded
 *    Newton iteration on the sf, started from the Cornish-Fisher expansion. */
#include "stats.h"
#include <math.h>

#define ST_EPS 1e-16
#define ST_TINY 1e-300
#define ST_MAXIT 100000

double st_norm_cdf(double x) { return 0.5 * erfc(-x / M_SQRT2); }
double st_norm_sf(double x) { return 0.5 * erfc(x / M_SQRT2); }

/* Acklam's approximation to the lower-tail inverse. */
static double st_norm_ppf_raw(double p)
{
    static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02,
        -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
        2.506628277459239e+00 };
    static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02,
        -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01 };
    static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01,
        -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
        2.938163982698783e+00 };
    static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01,
        2.445134137142996e+00, 3.754408661907416e+00 };
    const double plow = 0.02425;
    if (p < plow) {
        double q = sqrt(-2 * log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    if (p <= 1 - plow) {
        double q = p - 0.5, r = q * q;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
               (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    double q = sqrt(-2 * log1p(-p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
}

/* Lower-tail inverse for p <= 0.5, refined against the cdf where it is exact. */
static double st_norm_ppf_lower(double p)
{
    double x = st_norm_ppf_raw(p);
    for (int i = 0; i < 2; i++) {
        double e = st_norm_cdf(x) - p;
        double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
        x = x - u / (1 + x * u / 2);
    }
    return x;
}

double st_norm_ppf(double p)
{
    if (!(p > 0)) return p == 0 ? -INFINITY : NAN;
    if (!(p < 1)) return p == 1 ? INFINITY : NAN;
    return p <= 0.5 ? st_norm_ppf_lower(p) : -st_norm_ppf_lower(1 - p);
}

double st_norm_isf(double q)
{
    if (!(q > 0)) return q == 0 ? INFINITY : NAN;
    if (!(q < 1)) return q == 1 ? -INFINITY : NAN;
    return q <= 0.5 ? -st_norm_ppf_lower(q) : st_norm_ppf_lower(1 - q);
}

static double st_lbeta(double a, double b)
{
    return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/* Continued fraction for I_x(a,b) without the prefactor (modified Lentz). */
static double st_betacf(double a, double b, double x)
{
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < ST_TINY) d = ST_TINY;
    d = 1 / d;
    double h = d;
    for (int m = 1; m < ST_MAXIT; m++) {
        double m2 = 2.0 * m;
        double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
        d = 1 + num * d; if (fabs(d) < ST_TINY) d = ST_TINY;
        c = 1 + num / c; if (fabs(c) < ST_TINY) c = ST_TINY;
        d = 1 / d; h *= d * c;
        num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
        d = 1 + num * d; if (fabs(d) < ST_TINY) d = ST_TINY;
        c = 1 + num / c; if (fabs(c) < ST_TINY) c = ST_TINY;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < ST_EPS) break;
    }
    return h;
}

double st_betainc(double a, double b, double x, double y)
{
    if (!(a > 0 && b > 0) || x < 0 || y < 0) return NAN;
    if (x == 0) return 0;
    if (y == 0) return 1;
    /* log of x^a y^b / B(a,b), with log1p when one side is small */
    double lx = x < 0.5 ? log(x) : log1p(-y);
    double ly = y < 0.5 ? log(y) : log1p(-x);
    double lfront = a * lx + b * ly - st_lbeta(a, b);
    if (x < (a + 1) / (a + b + 2))
        return exp(lfront) * st_betacf(a, b, x) / a;
    return 1 - exp(lfront) * st_betacf(b, a, y) / b;
}

static double st_gamma_series(double a, double x)
{
    double sum = 1 / a, term = sum, ap = a;
    for (int n = 1; n < ST_MAXIT; n++) {
        ap += 1;
        term *= x / ap;
        sum += term;
        if (fabs(term) < fabs(sum) * ST_EPS) break;
    }
    return sum * exp(-x + a * log(x) - lgamma(a));
}

static double st_gamma_cf(double a, double x)
{
    double b = x + 1 - a, c = 1 / ST_TINY, d = 1 / b, h = d;
    for (int i = 1; i < ST_MAXIT; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b; if (fabs(d) < ST_TINY) d = ST_TINY;
        c = b + an / c; if (fabs(c) < ST_TINY) c = ST_TINY;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < ST_EPS) break;
    }
    return exp(-x + a * log(x) - lgamma(a)) * h;
}

double st_gammainc_p(double a, double x)
{
    if (!(a > 0) || x < 0) return NAN;
    if (x == 0) return 0;
    if (isinf(x)) return 1;
    return x < a + 1 ? st_gamma_series(a, x) : 1 - st_gamma_cf(a, x);
}

double st_gammainc_q(double a, double x)
{
    if (!(a > 0) || x < 0) return NAN;
    if (x == 0) return 1;
    if (isinf(x)) return 0;
    return x < a + 1 ? 1 - st_gamma_series(a, x) : st_gamma_cf(a, x);
}

double st_t_sf(double t, double df)
{
    if (isnan(t) || !(df > 0)) return NAN;
    if (isinf(t)) return t > 0 ? 0 : 1;
    if (isinf(df)) return st_norm_sf(t);
    double t2 = t * t;
    /* x = df/(df+t²), y = t²/(df+t²); tail = I_x(df/2, 1/2)/2 */
    if (t2 == 0) return 0.5;
    double x = df / (df + t2), y = t2 / (df + t2);   /* both to full precision */
    double tail = 0.5 * st_betainc(df / 2, 0.5, x, y);
    return t > 0 ? tail : 1 - tail;
}

double st_t_cdf(double t, double df) { return st_t_sf(-t, df); }

static double st_t_pdf(double t, double df)
{
    return exp(lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * log(df * M_PI)
               - (df + 1) / 2 * log1p(t * t / df));
}

double st_t_isf(double q, double df)
{
    if (!(q > 0 && q < 1) || !(df > 0)) return NAN;
    if (q > 0.5) return -st_t_isf(1 - q, df);
    if (q == 0.5) return 0;
    if (isinf(df)) return st_norm_isf(q);
    double t;
    if (df == 1) return tan(M_PI * (0.5 - q));
    if (df == 2) { double p = 1 - q; return (2 * p - 1) / sqrt(2 * p * q); }
    /* Cornish-Fisher start */
    double z = st_norm_isf(q), z2 = z * z;
    t = z + (z2 * z + z) / (4 * df)
          + (5 * z2 * z2 * z + 16 * z2 * z + 3 * z) / (96 * df * df)
          + (3 * pow(z, 7) + 19 * pow(z, 5) + 17 * z2 * z - 15 * z) / (384 * df * df * df);
    if (!(t > 0) || !isfinite(t)) t = z;
    /* bracket [lo, hi] with sf(lo) >= q >= sf(hi) */
    double lo = 0, hi = t;
    while (st_t_sf(hi, df) > q) { lo = hi; hi *= 2; if (hi > 1e300) return hi; }
    for (int i = 0; i < 200; i++) {
        double f = st_t_sf(t, df) - q;     /* decreasing in t */
        if (f > 0) lo = t; else hi = t;
        if (f == 0) break;
        double step = f / st_t_pdf(t, df);
        double nt = t + step;
        if (!(nt > lo && nt < hi)) nt = 0.5 * (lo + hi);
        if (fabs(nt - t) <= 1e-15 * fabs(t)) { t = nt; break; }
        t = nt;
    }
    return t;
}

double st_chi2_sf(double x, double k)
{
    if (!(k > 0)) return NAN;
    if (!(x > 0)) return 1;
    return st_gammainc_q(k / 2, x / 2);
}

st_interval st_wilson(uint64_t conversions, uint64_t n, double alpha)
{
    st_interval r = { 0, 1 };
    if (n == 0) return r;
    double z = st_norm_isf(alpha / 2), z2 = z * z, nn = (double)n;
    double p = (double)conversions / nn;
    double denom = 1 + z2 / nn;
    double center = (p + z2 / (2 * nn)) / denom;
    double half = z / denom * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
    r.low = center - half;
    r.high = center + half;
    if (r.low < 0) r.low = 0;
    if (r.high > 1) r.high = 1;
    return r;
}

int st_prop_test_run(uint64_t ct, uint64_t nt, uint64_t cc, uint64_t nc, double alpha,
                     st_prop_test *o)
{
    if (nt == 0 || nc == 0) return -1;
    double pt = (double)ct / (double)nt, pc = (double)cc / (double)nc;
    o->diff = pt - pc;
    o->rel_lift = pc > 0 ? o->diff / pc : 0;
    st_interval wt = st_wilson(ct, nt, alpha), wc = st_wilson(cc, nc, alpha);
    double dl = sqrt((pt - wt.low) * (pt - wt.low) + (wc.high - pc) * (wc.high - pc));
    double du = sqrt((pc - wc.low) * (pc - wc.low) + (wt.high - pt) * (wt.high - pt));
    o->diff_ci.low = o->diff - dl;
    o->diff_ci.high = o->diff + du;
    double pool = (double)(ct + cc) / ((double)nt + (double)nc);
    double se = sqrt(pool * (1 - pool) * (1 / (double)nt + 1 / (double)nc));
    if (se > 0) {
        o->z = o->diff / se;
        o->p_value = erfc(fabs(o->z) / M_SQRT2);
    } else {
        o->z = 0;
        o->p_value = 1;
    }
    o->var = pt * (1 - pt) / (double)nt + pc * (1 - pc) / (double)nc;
    return 0;
}

st_mean_ci st_mean_interval(double n, double mean, double sd, double alpha)
{
    st_mean_ci r = { mean, sd, { mean, mean } };
    if (n < 2) { r.sd = 0; return r; }
    double h = st_t_isf(alpha / 2, n - 1) * sd / sqrt(n);
    r.ci.low = mean - h;
    r.ci.high = mean + h;
    return r;
}

int st_welch_run(double nt, double mt, double sdt, double nc, double mc, double sdc,
                 double alpha, st_welch *o)
{
    if (nt < 2 || nc < 2) return -1;
    double vt = sdt * sdt / nt, vc = sdc * sdc / nc;
    o->diff = mt - mc;
    o->var = vt + vc;
    o->se = sqrt(o->var);
    o->rel_lift = mc != 0 ? o->diff / mc : 0;
    if (o->se > 0) {
        o->df = o->var * o->var / (vt * vt / (nt - 1) + vc * vc / (nc - 1));
        o->t = o->diff / o->se;
        o->p_value = 2 * st_t_sf(fabs(o->t), o->df);
        if (o->p_value > 1) o->p_value = 1;
        double h = st_t_isf(alpha / 2, o->df) * o->se;
        o->diff_ci.low = o->diff - h;
        o->diff_ci.high = o->diff + h;
    } else {
        o->df = nt + nc - 2;
        o->t = 0;
        o->p_value = o->diff == 0 ? 1 : 0;
        o->diff_ci.low = o->diff_ci.high = o->diff;
    }
    return 0;
}

double st_srm_p_value(const uint64_t *observed, const double *alloc, int k)
{
    double total = 0, chi2 = 0;
    int cells = 0;
    for (int i = 0; i < k; i++) total += (double)observed[i];
    if (total == 0 || k < 2) return 1;
    for (int i = 0; i < k; i++) {
        double e = total * alloc[i];
        if (e <= 0) {
            if (observed[i] > 0) return 0;    /* users in a variant planned empty */
            continue;
        }
        double d = (double)observed[i] - e;
        chi2 += d * d / e;
        cells++;
    }
    if (cells < 2) return 1;
    return st_chi2_sf(chi2, cells - 1);
}

double st_srm_log_bf(const uint64_t *observed, const double *alloc, int k, double concentration)
{
    /* in logs: Γ(A+N) and Γ(a_i+x_i) overflow from a few hundred users on */
    double lbf = 0, asum = 0, n = 0, total = 0;
    for (int i = 0; i < k; i++)
        if (alloc[i] > 0) total += alloc[i];
    if (!(total > 0)) return 0;
    for (int i = 0; i < k; i++) {
        double x = (double)observed[i];
        if (!(alloc[i] > 0)) {
            if (observed[i] > 0) return INFINITY;
            continue;
        }
        /* normalized: allocations summing to 1 - 1e-6 (the config allows
         * it) would otherwise grow ln BF by 1e-6 per user, 10 at 10^7 */
        double th = alloc[i] / total, a = concentration * th;
        lbf += lgamma(a + x) - lgamma(a) - x * log(th);
        asum += a;
        n += x;
    }
    if (n == 0) return 0;
    return lbf + lgamma(asum) - lgamma(asum + n);
}

double st_srm_seq_p(const uint64_t *observed, const double *alloc, int k, double concentration)
{
    double lbf = st_srm_log_bf(observed, alloc, k, concentration);
    return lbf <= 0 ? 1 : exp(-lbf);
}

double st_msprt_p(double diff, double var, double tau2)
{
    if (!(var > 0) || !(tau2 > 0)) return 1;
    double log_lambda = 0.5 * log(var / (var + tau2))
                      + tau2 * diff * diff / (2 * var * (var + tau2));
    if (log_lambda <= 0) return 1;
    return exp(-log_lambda);
}

double st_msprt_half_width(double var, double tau2, double alpha)
{
    if (!(var > 0) || !(tau2 > 0)) return INFINITY;
    return sqrt(var * (var + tau2) / tau2 * (2 * log(1 / alpha) + log((var + tau2) / var)));
}

void st_holm(const double *p, double *adj, int m)
{
    if (m <= 0) return;
    if (m > 64) { st_bonferroni(p, adj, m); return; }   /* never this many arms */
    int idx[64];
    double tmp[64];
    /* insertion sort of indices by p (m is the number of treatments: tiny) */
    for (int i = 0; i < m; i++) {
        tmp[i] = p[i];
        int j = i;
        while (j > 0 && tmp[idx[j - 1]] > tmp[i]) { idx[j] = idx[j - 1]; j--; }
        idx[j] = i;
    }
    double run = 0;
    for (int r = 0; r < m; r++) {
        double v = (double)(m - r) * tmp[idx[r]];
        if (v > 1) v = 1;
        if (v > run) run = v;
        adj[idx[r]] = run;
    }
}

void st_bonferroni(const double *p, double *adj, int m)
{
    for (int i = 0; i < m; i++) { double v = p[i] * m; adj[i] = v > 1 ? 1 : v; }
}

/* ---- CUPED, ratio and quantile metrics ---- */

int st_cuped_run(const st_pair *t, const st_pair *c, double alpha, st_cuped *o)
{
    if (t->n < 2 || c->n < 2) return -1;
    double sxx = t->sxx + c->sxx;
    o->theta = sxx > 0 ? (t->sxy + c->sxy) / sxx : 0;
    double th = o->theta;
    /* the sample variance of y - θx per arm, from the centered sums */
    double at = (t->syy - 2 * th * t->sxy + th * th * t->sxx) / (t->n - 1);
    double ac = (c->syy - 2 * th * c->sxy + th * th * c->sxx) / (c->n - 1);
    if (at < 0) at = 0;
    if (ac < 0) ac = 0;
    st_welch w;
    st_welch_run(t->n, t->my - th * t->mx, sqrt(at), c->n, c->my - th * c->mx, sqrt(ac), alpha, &w);
    o->diff = w.diff; o->se = w.se; o->df = w.df; o->p_value = w.p_value; o->var = w.var;
    o->diff_ci = w.diff_ci;
    o->diff_plain = t->my - c->my;
    o->var_plain = t->syy / (t->n - 1) / t->n + c->syy / (c->n - 1) / c->n;
    o->variance_reduction = o->var_plain > 0 ? 1 - o->var / o->var_plain : 0;
    o->rel_lift = c->my != 0 ? o->diff / c->my : 0;
    return 0;
}

/* Var(R) of one arm's ratio of sums, by the delta method. */
static double st_ratio_var(const st_pair *a, double r)
{
    double v = (a->syy - 2 * r * a->sxy + r * r * a->sxx) / (a->n - 1) / (a->n * a->mx * a->mx);
    return v > 0 ? v : 0;
}

int st_ratio_arm_run(const st_pair *a, double alpha, st_ratio_arm *o)
{
    if (a->n < 2 || a->mx == 0) return -1;
    o->ratio = a->my / a->mx;
    o->se = sqrt(st_ratio_var(a, o->ratio));
    double h = st_norm_isf(alpha / 2) * o->se;
    o->ci.low = o->ratio - h;
    o->ci.high = o->ratio + h;
    return 0;
}

int st_ratio_test_run(const st_pair *t, const st_pair *c, double alpha, st_ratio_test *o)
{
    if (t->n < 2 || c->n < 2 || t->mx == 0 || c->mx == 0) return -1;
    double rt = t->my / t->mx, rc = c->my / c->mx;
    o->diff = rt - rc;
    o->var = st_ratio_var(t, rt) + st_ratio_var(c, rc);
    o->se = sqrt(o->var);
    o->rel_lift = rc != 0 ? o->diff / rc : 0;
    if (o->se > 0) {
        o->z = o->diff / o->se;
        o->p_value = erfc(fabs(o->z) / M_SQRT2);
    } else {
        o->z = 0;
        o->p_value = o->diff == 0 ? 1 : 0;
    }
    double h = st_norm_isf(alpha / 2) * o->se;
    o->diff_ci.low = o->diff - h;
    o->diff_ci.high = o->diff + h;
    return 0;
}

double st_quantile_sorted(const double *x, size_t n, double q)
{
    if (n == 0) return 0;
    double h = (double)(n - 1) * q;
    size_t i = (size_t)floor(h);
    if (i + 1 >= n) return x[n - 1];
    return x[i] + (h - (double)i) * (x[i + 1] - x[i]);
}

st_interval st_quantile_ci_sorted(const double *x, size_t n, double q, double alpha)
{
    st_interval r = { 0, 0 };
    if (n == 0) return r;
    double nn = (double)n, z = st_norm_isf(alpha / 2), s = z * sqrt(nn * q * (1 - q));
    double l = floor(nn * q - s), u = ceil(nn * q + s) + 1;
    if (l < 1) l = 1;
    if (u > nn) u = nn;
    r.low = x[(size_t)l - 1];
    r.high = x[(size_t)u - 1];
    return r;
}

double st_quantile_woodruff_se(const double *x, size_t n, double q, double alpha)
{
    if (n < 2) return 0;
    double z = st_norm_isf(alpha / 2), h = z * sqrt(q * (1 - q) / (double)n);
    double lo = q - h, hi = q + h;
    if (lo < 0) lo = 0;
    if (hi > 1) hi = 1;
    return (st_quantile_sorted(x, n, hi) - st_quantile_sorted(x, n, lo)) / (2 * z);
}

void st_quantile_test_run(double qt, double set, double qc, double sec, double alpha,
                          st_quantile_test *o)
{
    double z = st_norm_isf(alpha / 2);
    o->diff = qt - qc;
    o->se = sqrt(set * set + sec * sec);
    o->rel_lift = qc != 0 ? o->diff / qc : 0;
    if (o->se > 0) o->p_value = erfc(fabs(o->diff / o->se) / M_SQRT2);
    else o->p_value = o->diff == 0 ? 1 : 0;
    o->diff_ci.low = o->diff - z * o->se;
    o->diff_ci.high = o->diff + z * o->se;
}
