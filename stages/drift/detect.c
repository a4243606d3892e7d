/* detect.c — the detector arithmetic (see detect.h and README.md). */
#include "detect.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void dd_welford_add(dd_welford *w, double x)
{
    w->n++;
    double d = x - w->mean;
    w->mean += d / (double)w->n;
    w->m2 += d * (x - w->mean);
}

/* A series that was constant has sd 0; the floor keeps z finite (any later
 * change is then a very large z, which is what it is). */
static double sd_floored(double sd, double mean)
{
    double floor = 1e-9 * fmax(1.0, fabs(mean));
    return sd > floor ? sd : floor;
}

double dd_welford_sd(const dd_welford *w)
{
    return sd_floored(w->n > 0 ? sqrt(w->m2 / (double)w->n) : 0, w->mean);
}

static double clip(double z) { return z > DD_CLIP ? DD_CLIP : z < -DD_CLIP ? -DD_CLIP : z; }

/* 1 and u, v when the baseline had `warmup` points before x; then x is learned */
static int base_step(dd_base *b, double x, int64_t warmup, double *u, double *v)
{
    int64_t n = b->x.n;
    int ready = n >= warmup;
    double d = 0, g = 0;
    if (n > 0) {
        d = (x - b->x.mean) / sqrt(1.0 + 1.0 / (double)n);
        g = sqrt(fabs(d));
    }
    if (ready) {
        *u = clip(d / dd_welford_sd(&b->x));
        *v = clip((g - b->g.mean) / dd_welford_sd(&b->g));
    }
    if (n > 0) dd_welford_add(&b->g, g);
    dd_welford_add(&b->x, x);
    return ready;
}

/* the alarm's figures, with the baseline as it was before x */
static void change_of(const dd_welford *before, double x, double lvl, double scl, dd_change *out)
{
    out->scale = scl > lvl;
    out->stat = out->scale ? scl : lvl;
    out->ref = before->mean;
    out->cur = x;
}

int dd_cusum_add(dd_cusum *c, double x, int64_t warmup, double k, double h, dd_change *out)
{
    double u, v;
    dd_welford before = c->base.x;
    if (!base_step(&c->base, x, warmup, &u, &v)) return 0;
    c->pos = fmax(0.0, c->pos + u - k);
    c->neg = fmax(0.0, c->neg - u - k);
    c->spos = fmax(0.0, c->spos + v - k);
    c->sneg = fmax(0.0, c->sneg - v - k);
    double lvl = fmax(c->pos, c->neg), scl = fmax(c->spos, c->sneg);
    if (lvl <= h && scl <= h) return 0;
    change_of(&before, x, lvl, scl, out);
    *c = (dd_cusum){0};      /* the new level becomes the next baseline */
    return 1;
}

static double ph_side(dd_ph_side *s, double z, int64_t n, double delta)
{
    s->mean += (z - s->mean) / (double)n;
    s->up += z - s->mean - delta;
    if (s->up < s->up_min) s->up_min = s->up;
    s->dn += z - s->mean + delta;
    if (s->dn > s->dn_max) s->dn_max = s->dn;
    return fmax(s->up - s->up_min, s->dn_max - s->dn);
}

int dd_ph_add(dd_ph *p, double x, int64_t warmup, double delta, double lambda, dd_change *out)
{
    double u, v;
    dd_welford before = p->base.x;
    if (!base_step(&p->base, x, warmup, &u, &v)) return 0;
    /* the running means cover the baseline too (as zeros): a shift right
     * after the baseline still shows */
    if (p->n == 0) p->n = warmup;
    p->n++;
    double lvl = ph_side(&p->lvl, u, p->n, delta), scl = ph_side(&p->scl, v, p->n, delta);
    if (lvl <= lambda && scl <= lambda) return 0;
    change_of(&before, x, lvl, scl, out);
    *p = (dd_ph){0};
    return 1;
}

double dd_norm_isf(double q)
{
    /* bisection on erfc, exact to the last bits: ~50 erfc calls. The
     * z-score asks for the same q on every record of a series until its
     * first window is full (half of all records on a 400-point series: 55%
     * of drift's instructions), so the last answer is kept. */
    static _Thread_local double last_q = -1, last;
    if (q == last_q) return last;
    double lo = 0, hi = 40;
    for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(mid / M_SQRT2) > q) lo = mid; else hi = mid;
    }
    last_q = q; last = 0.5 * (lo + hi);
    return last;
}

/* index of the first element >= x in s[0..n) */
static int lower_bound(const double *s, int n, double x)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (s[mid] < x) lo = mid + 1; else hi = mid;
    }
    return lo;
}

void dd_rz_add(dd_rz *r, double x)
{
    const int C = DD_RZ_WINDOW + DD_RZ_LAG;
    int cnt = r->n < C ? (int)r->n : C;
    if (cnt == C) {                    /* the oldest leaves the ring and the window */
        int at = lower_bound(r->sorted, DD_RZ_WINDOW, r->ring[r->head]);
        if (at >= DD_RZ_WINDOW) at = DD_RZ_WINDOW - 1;   /* only a corrupt state: stay in bounds */
        memmove(r->sorted + at, r->sorted + at + 1, (size_t)(DD_RZ_WINDOW - at - 1) * sizeof(double));
        r->ring[r->head] = x;
        r->head = (r->head + 1) % C;
    } else {
        r->ring[cnt++] = x;
    }
    /* the value DD_RZ_LAG behind the newest joins the window */
    int k = cnt - 1 - DD_RZ_LAG;
    if (k >= 0) {
        double v = r->ring[(r->head + k) % C];
        int at = lower_bound(r->sorted, k, v);     /* k values in the window before it */
        memmove(r->sorted + at + 1, r->sorted + at, (size_t)(k - at) * sizeof(double));
        r->sorted[at] = v;
    }
    r->n++;
}

/* median and robust sd of the full window */
static double rz_centre_scale(const dd_rz *r, double *median)
{
    const int W = DD_RZ_WINDOW;
    const double *s = r->sorted;
    double med = 0.5 * (s[W / 2 - 1] + s[W / 2]);
    *median = med;
    /* the deviations |s_i - med| are two sorted runs, walking out from the
     * middle: merge them up to the two middle ones (the MAD of W values) */
    int lo = W / 2 - 1, hi = W / 2;
    double d1 = 0, d2 = 0, sum_abs = 0;
    for (int k = 0; k < W / 2 + 1; k++) {
        double d;
        if (lo >= 0 && (hi >= W || med - s[lo] <= s[hi] - med)) d = med - s[lo--];
        else d = s[hi++] - med;
        if (k == W / 2 - 1) d1 = d;
        if (k == W / 2) d2 = d;
    }
    double scale = 1.482602218505602 * 0.5 * (d1 + d2);
    if (!(scale > 0)) {
        for (int i = 0; i < W; i++) sum_abs += fabs(s[i] - med);
        scale = 1.2533141373155003 * sum_abs / W;
    }
    return sd_floored(scale, med);
}

double dd_rz_z(const dd_rz *r, double x, double *median, int *ready)
{
    *ready = r->n >= DD_RZ_WINDOW + DD_RZ_LAG;
    if (!*ready) { *median = x; return 0; }
    double scale = rz_centre_scale(r, median);
    return (x - *median) / scale;
}

double dd_rz_threshold(dd_rz *r, double rate, double floor)
{
    if (r->thr_set) return exp(r->log_thr);
    double t0 = fmax(floor, dd_norm_isf(rate / 2));
    if (r->n < DD_RZ_WINDOW + DD_RZ_LAG) return t0;
    /* the first full window already shows how far its tails reach: start
     * there, not at the normal quantile, so a heavy-tailed series does not
     * pay a burst of false alarms while the threshold climbs */
    double med, scale = rz_centre_scale(r, &med);
    double reach = fmax(med - r->sorted[0], r->sorted[DD_RZ_WINDOW - 1] - med) / scale;
    r->log_thr = log(fmax(t0, reach));
    r->thr_set = 1;
    return exp(r->log_thr);
}

void dd_rz_learn(dd_rz *r, int alarm, double rate, double floor)
{
    dd_rz_threshold(r, rate, floor);
    double eta = DD_RZ_ETA;
    r->learned++;
    r->log_thr += eta * ((alarm ? 1.0 : 0.0) - rate);
    if (r->log_thr < log(floor)) r->log_thr = log(floor);
}

/* The best firing cut of the current window: 1 and its figures, or 0. The
 * bound is the paper's Gaussian approximation of eps_cut (section 3), with
 * the log term of MOA's ADWIN (ln(2 ln n / delta) in place of the union
 * bound's ln(2n/delta)); the paper's 2/(3m) ln(.) term assumes values in
 * [0,1], which metric values are not, so it is left out:
 *   eps = sqrt(2/m * var_W * L),  L = ln(2 ln(n) / delta),  1/m = 1/n0 + 1/n1.
 * Compared squared, so the loop over cuts needs no square root. */
static int aw_cut(const dd_adwin *a, double delta, int min_side,
                  double *stat, double *eps, double *m0, double *m1, int *at)
{
    int n = a->n;
    const double *v = a->v;
    if (n < 2 * min_side) return 0;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += v[i];
    double mean = sum / n, var = 0;
    for (int i = 0; i < n; i++) { double d = v[i] - mean; var += d * d; }
    var /= n;
    double k2 = 2.0 * var * log(2.0 * log((double)n) / delta), best = 1.0, s0 = 0;
    int found = 0;
    for (int i = 1; i < n; i++) {
        s0 += v[i - 1];
        int n0 = i, n1 = n - i;
        if (n0 < min_side || n1 < min_side) continue;
        double mu0 = s0 / n0, mu1 = (sum - s0) / n1;
        double e2 = k2 * (1.0 / n0 + 1.0 / n1), d = mu0 - mu1, d2 = d * d;
        if (d2 > e2 && (e2 <= 0 || d2 / e2 > best)) {
            best = e2 > 0 ? d2 / e2 : INFINITY;
            *stat = fabs(d); *eps = sqrt(e2); *m0 = mu0; *m1 = mu1; *at = i;
            found = 1;
        }
    }
    return found;
}

static void aw_drop(dd_adwin *a, int k)
{
    memmove(a->v, a->v + k, (size_t)(a->n - k) * sizeof *a->v);
    a->n -= k;
}

int dd_adwin_add(dd_adwin *a, double x, double delta, int min_side,
                 double *stat, double *eps, double *m0, double *m1)
{
    if (a->n >= 2 * min_side) {
        /* winsorised at the window's mean +- DD_CLIP sd: the cut's bound
         * assumes near-normal means, which a heavy tail (latencies) breaks;
         * a lasting change is still seen, a lone spike no longer cuts. A
         * constant window has no spread to clip with: x enters whole. */
        double sum = 0, var = 0;
        for (int i = 0; i < a->n; i++) sum += a->v[i];
        double mean = sum / a->n;
        for (int i = 0; i < a->n; i++) { double d = a->v[i] - mean; var += d * d; }
        double lim = DD_CLIP * sqrt(var / a->n);
        if (lim > 0 && x > mean + lim) x = mean + lim;
        else if (lim > 0 && x < mean - lim) x = mean - lim;
    }
    if (a->n == a->cap) aw_drop(a, 1);
    a->v[a->n++] = x;
    int at;
    if (!aw_cut(a, delta, min_side, stat, eps, m0, m1, &at)) return 0;
    /* keep only the newer side of the best cut (the new regime), so one
     * change is reported once; then shrink further while a cut still fires */
    double s, e, u, w;
    aw_drop(a, at);
    while (aw_cut(a, delta, min_side, &s, &e, &u, &w, &at)) aw_drop(a, 1);
    return 1;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Sort ascending, stable. glibc's qsort is a stable merge sort for arrays
 * this small, so equal keys (0.0 and -0.0) end in the same order as it
 * left them and the statistics keep their bits; this one skips its
 * callback per comparison (40% of a ks,psi run) and an array already in
 * order (KS gets the reference PSI just sorted) costs one pass. */
static void sort_doubles(double *v, int n)
{
    int i = 1;
    while (i < n && !(v[i] < v[i - 1])) i++;
    if (i >= n) return;
    for (i = 1; i < n; i++) {      /* runs of 8 by insertion: stable */
        if (i % 8 == 0) continue;
        double x = v[i];
        int j = i;
        while (j % 8 && x < v[j - 1]) { v[j] = v[j - 1]; j--; }
        v[j] = x;
    }
    double small[512], *tmp = n <= 512 ? small : malloc((size_t)n * sizeof *tmp), *src = v, *dst = tmp;
    if (!tmp) { qsort(v, (size_t)n, sizeof *v, cmp_double); return; }   /* same order: stable too */
    for (int w = 8; w < n; w *= 2) {
        for (int lo = 0; lo < n; lo += 2 * w) {
            int mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int a = lo, b = mid, k = lo;
            while (a < mid && b < hi) dst[k++] = src[b] < src[a] ? src[b++] : src[a++];
            while (a < mid) dst[k++] = src[a++];
            while (b < hi) dst[k++] = src[b++];
        }
        double *t = src; src = dst; dst = t;
    }
    if (src != v) memcpy(v, src, (size_t)n * sizeof *v);
    if (tmp != small) free(tmp);
}

/* scipy's _compute_prob_outside_square, same operations in the same order:
 * P = 2 A0 (1 - A1 (1 - A2 (...))), A_k a product of h ratios. */
double dd_ks_p_exact(int n, int h)
{
    if (h <= 0) return 1.0;
    double P = 0.0;
    for (long k = n / h; k >= 0; k--) {
        double p1 = 1.0;
        for (long j = 0; j < h; j++)
            p1 = (double)(n - k * h - j) * p1 / (double)(n + k * h + j + 1);
        P = p1 * (1.0 - P);
    }
    P *= 2;
    return P < 0 ? 0 : P > 1 ? 1 : P;
}

double dd_ks(double *a, double *b, int n, double *p_value)
{
    sort_doubles(a, n);
    sort_doubles(b, n);
    /* the ECDF difference in counts, at every distinct value (ties move both) */
    int i = 0, j = 0, h = 0;
    while (i < n || j < n) {
        double v = i < n && (j >= n || a[i] <= b[j]) ? a[i] : b[j];
        while (i < n && a[i] <= v) i++;
        while (j < n && b[j] <= v) j++;
        int d = abs(i - j);
        if (d > h) h = d;
    }
    *p_value = dd_ks_p_exact(n, h);
    return (double)h / n;
}

double dd_quantile_sorted(const double *s, int n, double q)
{
    double vi = (double)(n - 1) * q;
    double fl = floor(vi);
    int lo = (int)fl, hi = lo + 1 < n ? lo + 1 : n - 1;
    double t = vi - fl, a = s[lo], b = s[hi], d = b - a;
    return t >= 0.5 ? b - d * (1 - t) : a + d * t;      /* numpy's _lerp */
}

double dd_psi(double *ref, int nref, double *cur, int ncur, int bins)
{
    sort_doubles(ref, nref);
    double edges[bins > 1 ? bins - 1 : 1];
    for (int i = 1; i < bins; i++) edges[i - 1] = dd_quantile_sorted(ref, nref, (double)i / bins);
    int64_t rc[bins], cc[bins];
    for (int i = 0; i < bins; i++) rc[i] = cc[i] = 0;
    /* bin = number of edges <= x (numpy.searchsorted side='right') */
    for (int k = 0; k < nref; k++) { int b = 0; while (b < bins - 1 && edges[b] <= ref[k]) b++; rc[b]++; }
    for (int k = 0; k < ncur; k++) { int b = 0; while (b < bins - 1 && edges[b] <= cur[k]) b++; cc[b]++; }
    double psi = 0;
    for (int i = 0; i < bins; i++) {
        double r = fmax((double)rc[i] / nref, DD_PSI_EPS), c = fmax((double)cc[i] / ncur, DD_PSI_EPS);
        psi += (c - r) * log(c / r);
    }
    return psi;
}

void dd_holt_add(dd_holt *h, double x, double alpha, double beta)
{
    if (h->n == 0) { h->level = x; h->trend = 0; }
    else if (h->n == 1) { h->trend = x - h->level; h->level = x; }
    else {
        double e = x - (h->level + h->trend);
        h->sse += e * e;
        h->ne++;
        double prev = h->level;
        h->level = alpha * x + (1 - alpha) * (h->level + h->trend);
        h->trend = beta * (h->level - prev) + (1 - beta) * h->trend;
    }
    h->n++;
}

double dd_holt_forecast(const dd_holt *h, double k, double alpha, double beta, double *half)
{
    double s2 = h->ne ? h->sse / (double)h->ne : 0;
    double hh = ceil(k) < 1 ? 1 : ceil(k), b = alpha * beta;   /* ETS beta = alpha * beta* */
    double var = s2 * (1 + (hh - 1) * (alpha * alpha + alpha * b * hh + b * b * hh * (2 * hh - 1) / 6));
    *half = 1.959963984540054 * sqrt(var);
    return h->level + k * h->trend;
}
