/* report.c — HTML (with inline SVG) and markdown reports of the result rows.
 *
 * Every number has its unit on one stated scale: a conversion's rate in
 * percent and its lift in percentage points, a duration in seconds, a
 * numeric metric in the event's own value. Lifts and both their intervals
 * are absolute differences (treatment − control), as results.c computes
 * them; the relative lift has its own column. Charts are drawn in SVG user
 * units (viewBox) and scale to the page's width; tick labels are thinned
 * until their estimated boxes do not touch (tests/stage/380 checks it). */
#include "report.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "atomicfile.h"
#include "log.h"
#include "timefmt.h"

const char *ea_decision_text(int d)
{
    switch (d) {
    case 1: return "stop: treatment wins";
    case 2: return "stop: control wins";
    case 3: return "stop: no difference";
    default: return "continue";
    }
}

/* ---- history -------------------------------------------------------------- */

typedef struct ea_hist_pt { int64_t ts; double lift, av_low, av_high, ci_low, ci_high; } ea_hist_pt;
typedef struct ea_hist {
    int exp, metric, variant;
    int n;                       /* points held */
    uint64_t seen;               /* reports seen */
    uint64_t stride;             /* keep one report in stride (doubles at each thinning) */
    int newest_kept;             /* newest is pt[n - 1]; else it is drawn after them */
    ea_hist_pt newest;
    ea_hist_pt pt[EA_REPORT_HISTORY];
} ea_hist;

static ea_hist **ea_hists;
static int ea_nhists, ea_caphists;

static ea_hist *ea_hist_get(int exp, int metric, int variant)
{
    for (int i = 0; i < ea_nhists; i++)
        if (ea_hists[i]->exp == exp && ea_hists[i]->metric == metric && ea_hists[i]->variant == variant)
            return ea_hists[i];
    if (ea_nhists == ea_caphists) {
        int cap = ea_caphists ? ea_caphists * 2 : 16;
        ea_hist **h = realloc(ea_hists, (size_t)cap * sizeof *h);
        if (!h) return NULL;
        ea_hists = h;
        ea_caphists = cap;
    }
    ea_hist *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->exp = exp; h->metric = metric; h->variant = variant; h->stride = 1;
    ea_hists[ea_nhists++] = h;
    return h;
}

static void ea_hist_add(const ea_row *r, int64_t ts)
{
    ea_hist *h = ea_hist_get(r->exp, r->metric, r->variant);
    if (!h) return;   /* out of memory: the chart shows less, the report still goes out */
    uint64_t k = h->seen++;
    /* the chart always ends at the current report, kept or not */
    h->newest = (ea_hist_pt){ ts, r->lift, r->av_ci_low, r->av_ci_high, r->lift_ci_low, r->lift_ci_high };
    h->newest_kept = 0;
    if (k % h->stride) return;
    if (h->n == EA_REPORT_HISTORY) {
        /* full: keep every other point and from now on every other report */
        int m = 0;
        for (int i = 0; i < h->n; i += 2) h->pt[m++] = h->pt[i];
        h->n = m;
        h->stride *= 2;
        if (k % h->stride) return;
    }
    h->pt[h->n++] = h->newest;
    h->newest_kept = 1;
}

/* Point i of what the chart draws: the points kept, then the newest. */
static int ea_hist_len(const ea_hist *h) { return h->n + !h->newest_kept; }
static const ea_hist_pt *ea_hist_at(const ea_hist *h, int i) { return i < h->n ? &h->pt[i] : &h->newest; }

/* The history lives as long as the process; freed at exit so leak checkers
 * see a clean heap. */
__attribute__((destructor)) static void ea_hist_free(void)
{
    for (int i = 0; i < ea_nhists; i++) free(ea_hists[i]);
    free(ea_hists);
    ea_hists = NULL;
    ea_nhists = ea_caphists = 0;
}

/* ---- numbers and units ----------------------------------------------------- */

typedef struct ea_units {
    double k;                    /* display = value * k */
    const char *est;             /* unit of the estimate: "%", "s", "" */
    const char *lift;            /* unit of a difference: "pp", "s", "" */
    const char *est_name;        /* "rate", "mean" */
} ea_units;

static ea_units ea_units_of(const ea_metric_cfg *mc)
{
    /* quantile names: "p50", "p90", "p99.9" (static: one metric at a time) */
    static char qname[16];
    if (mc->quantile_line) snprintf(qname, sizeof qname, "p%g", mc->quantile * 100);
    const char *est = mc->quantile_line ? qname : mc->type == EA_RATIO ? "ratio" : "mean";
    if (mc->type == EA_CONVERSION) return (ea_units){ 100, "%", "pp", "rate" };
    if (mc->type == EA_DURATION) return (ea_units){ 1, "s", "s", est };
    return (ea_units){ 1, "", "", est };
}

/* What the metric is, beyond its type and event: ", CUPED-adjusted by the
 * covariate pre_revenue", " (counted) per view event, ...", ", its p90 over
 * users ..." (test 367 reads them in the HTML report). */
static void ea_kind_text(const ea_metric_cfg *mc, char *buf, size_t n)
{
    if (mc->covariate) snprintf(buf, n, ", CUPED-adjusted by the covariate %s", mc->covariate);
    else if (mc->type == EA_RATIO)
        snprintf(buf, n, " (%s) per %s event, sums over the arm's users (delta method)",
                 mc->aggregate == EA_COUNT ? "counted" : "values summed", mc->denominator);
    else if (mc->quantile_line)
        snprintf(buf, n, ", its p%g over users (Woodruff interval; fixed-horizon only)", mc->quantile * 100);
    else buf[0] = 0;
}

static void ea_html_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void ea_md_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|' || *s == '\\' || *s == '*' || *s == '_' || *s == '`') fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

/* 4 significant digits, no "-0", infinities as ∞ (an interval not yet
 * bounded), NaN as a dash. */
static const char *ea_fmt(char *b, size_t n, double v)
{
    if (isinf(v)) snprintf(b, n, "%s", v > 0 ? "∞" : "−∞");
    else if (isnan(v)) snprintf(b, n, "–");
    else snprintf(b, n, "%.4g", fabs(v) < 5e-12 ? 0.0 : v);
    return b;
}

static void ea_num(FILE *f, double v)
{
    char b[40];
    fputs(ea_fmt(b, sizeof b, v), f);
}

static void ea_interval(FILE *f, double lo, double hi, double k)
{
    fputc('[', f); ea_num(f, lo * k); fputs(", ", f); ea_num(f, hi * k); fputc(']', f);
}

/* ---- axes ------------------------------------------------------------------ */

#define EA_FONT 12
#define EA_CHAR_W (0.62 * EA_FONT)       /* estimated width of one character */

static double ea_text_w(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xc0) != 0x80;   /* UTF-8 characters */
    return (double)n * EA_CHAR_W;
}

/* A 1, 2, 2.5 or 5 times a power of ten step giving about `want` ticks. */
static double ea_nice_step(double range, double want)
{
    double raw = range / (want > 1 ? want : 1);
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

static void ea_tick_label(char *b, size_t n, double v, double step)
{
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(step / pow(10, floor(log10(step))) - 2.5) < 1e-9 && step < 10) dec++;
    if (dec > 12) dec = 12;
    if (fabs(v) < step * 1e-9) v = 0;
    snprintf(b, n, "%.*f", dec, v);
}

/* A linear scale over [lo, hi] drawn from px0 to px1, with its ticks. */
typedef struct ea_axis { double lo, hi, px0, px1, step; } ea_axis;

static double ea_ax(const ea_axis *a, double v)
{
    if (isnan(v)) v = a->lo;   /* never NaN in the SVG */
    if (v == INFINITY) v = a->hi;
    if (v == -INFINITY) v = a->lo;
    if (v < a->lo) v = a->lo;
    if (v > a->hi) v = a->hi;
    return a->px0 + (v - a->lo) / (a->hi - a->lo) * (a->px1 - a->px0);
}

/* Round the domain out to ticks; for a horizontal axis, widen the step
 * until the labels fit side by side. */
static ea_axis ea_axis_make(double lo, double hi, double px0, double px1, int horizontal)
{
    if (!(hi > lo)) { double c = isfinite(lo) ? lo : 0, w = fabs(c) > 0 ? fabs(c) * 0.1 : 1; lo = c - w; hi = c + w; }
    double span = fabs(px1 - px0);
    double want = horizontal ? span / 80 : span / 40;
    ea_axis a = { lo, hi, px0, px1, 0 };
    for (int tries = 0; tries < 8; tries++) {
        a.step = ea_nice_step(hi - lo, want);
        a.lo = floor(lo / a.step + 1e-9) * a.step;
        a.hi = ceil(hi / a.step - 1e-9) * a.step;
        if (!horizontal) break;
        /* widest label, one tick's room */
        double w = 0;
        char b[48];
        for (double t = a.lo; t <= a.hi + a.step * 1e-6; t += a.step) {
            ea_tick_label(b, sizeof b, t, a.step);
            if (ea_text_w(b) > w) w = ea_text_w(b);
        }
        double room = span * a.step / (a.hi - a.lo);
        if (w + 10 <= room) break;
        want = want * 0.6;
    }
    return a;
}

/* Horizontal axis at y with ticks, labels and a title under them. */
static void ea_xaxis(FILE *f, const ea_axis *a, double y, const char *title, const char *unit)
{
    fprintf(f, "<g class=\"axis x\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#57606a\"/>\n",
            a->px0, a->px1, y, y);
    char b[48];
    for (double t = a->lo; t <= a->hi + a->step * 1e-6; t += a->step) {
        double x = ea_ax(a, t);
        ea_tick_label(b, sizeof b, t, a->step);
        fprintf(f, "<g class=\"tick\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#57606a\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text></g>\n",
                x, x, y, y + 5, x, y + 18, b);
    }
    fprintf(f, "<text class=\"axis-title\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#24292f\">",
            (a->px0 + a->px1) / 2, y + 36);
    ea_html_esc(f, title);
    if (unit && *unit) { fputs(" (", f); ea_html_esc(f, unit); fputs(")", f); }
    fputs("</text></g>\n", f);
}

/* Vertical axis at x with ticks and labels (left of it); its title sits
 * above the plot, left-aligned, so nothing is rotated. */
static void ea_yaxis(FILE *f, const ea_axis *a, double x, double plot_x1, const char *title, const char *unit)
{
    fprintf(f, "<g class=\"axis y\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#57606a\"/>\n",
            x, x, a->px0, a->px1);
    char b[48];
    for (double t = a->lo; t <= a->hi + a->step * 1e-6; t += a->step) {
        double y = ea_ax(a, t);
        ea_tick_label(b, sizeof b, t, a->step);
        fprintf(f, "<g class=\"tick\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#57606a\"/>"
                   "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eaeef2\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text></g>\n",
                x - 5, x, y, y, x + 1, plot_x1, y, y, x - 8, y + 4, b);
    }
    fprintf(f, "<text class=\"axis-title\" x=\"%.1f\" y=\"%.1f\" fill=\"#24292f\">", 4.0, a->px1 - 12);
    ea_html_esc(f, title);
    if (unit && *unit) { fputs(" (", f); ea_html_esc(f, unit); fputs(")", f); }
    fputs("</text></g>\n", f);
}

static const char *const ea_colors[] = { "#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700", "#cf222e",
                                         "#0550ae", "#6639ba" };
static const char *ea_color(const ea_experiment_cfg *e, int variant)
{
    if (variant == e->control_idx) return "#57606a";
    int k = variant - (variant > e->control_idx);
    return ea_colors[k % (int)(sizeof ea_colors / sizeof *ea_colors)];
}

static void ea_range(double v, double *lo, double *hi)
{
    if (isfinite(v)) { if (v < *lo) *lo = v; if (v > *hi) *hi = v; }
}

/* Width of the variant-name column: the longest name, within bounds. */
static double ea_name_col(const ea_experiment_cfg *e)
{
    double w = 60;
    for (int v = 0; v < e->nvariants; v++) {
        double t = ea_text_w(e->variants[v].name) + 16;
        if (t > w) w = t;
    }
    return w > 200 ? 200 : w;
}

/* A name in the variant column, cut to fit it. */
static void ea_name_text(FILE *f, const char *name, double x, double y, double room)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x, y);
    size_t max = (size_t)((room - 16) / EA_CHAR_W);
    if (strlen(name) <= max) ea_html_esc(f, name);
    else {
        char cut[64];
        snprintf(cut, sizeof cut, "%.*s…", (int)(max > 1 && max < sizeof cut ? max - 1 : 1), name);
        ea_html_esc(f, cut);
    }
    fputs("</text>\n", f);
}

#define EA_VB_W 640.0
#define EA_ROW_H 28.0
/* right margins (R) leave half of the widest last tick label inside the viewBox */

/* An interval with end caps and its estimate; an unbounded end (no
 * interval yet: too few users) runs to the axis' edge without a cap. */
static void ea_whisker(FILE *f, const ea_axis *a, double lo, double hi, double mid, double y, const char *col)
{
    double x0 = ea_ax(a, lo), x1 = ea_ax(a, hi);
    fprintf(f, "<g class=\"ci\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>",
            x0, x1, y, y, col, isfinite(lo) && isfinite(hi) ? "" : " stroke-dasharray=\"6 3\"");
    if (isfinite(lo))
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>",
                x0, x0, y - 6, y + 6, col);
    if (isfinite(hi))
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>",
                x1, x1, y - 6, y + 6, col);
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\"/></g>\n", ea_ax(a, mid), y, col);
}

/* Chart 1: each arm's estimate with its confidence interval. */
static void ea_svg_arms(FILE *f, const ea_experiment_cfg *e, const ea_metric_cfg *mc, const ea_row *r, int n)
{
    ea_units u = ea_units_of(mc);
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        ea_range(r[i].ci_low * u.k, &lo, &hi); ea_range(r[i].ci_high * u.k, &lo, &hi);
        ea_range(r[i].mean * u.k, &lo, &hi);
    }
    if (!(lo <= hi)) { lo = 0; hi = 1; }
    double L = ea_name_col(e), R = 36, top = 8;
    double H = top + EA_ROW_H * n + 52;
    ea_axis a = ea_axis_make(lo, hi, L, EA_VB_W - R, 1);
    fprintf(f, "<svg class=\"chart arms\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"sans-serif\" font-size=\"%d\" role=\"img\">\n", EA_VB_W, H, EA_FONT);
    for (int i = 0; i < n; i++) {
        double y = top + EA_ROW_H * i + EA_ROW_H / 2;
        const char *col = ea_color(e, r[i].variant);
        ea_name_text(f, e->variants[r[i].variant].name, 4, y + 4, L);
        ea_whisker(f, &a, r[i].ci_low * u.k, r[i].ci_high * u.k, r[i].mean * u.k, y, col);
    }
    char title[160];
    if (mc->type == EA_CONVERSION) snprintf(title, sizeof title, "rate of %s per arm", mc->event);
    else if (mc->type == EA_RATIO) snprintf(title, sizeof title, "%s per %s", mc->event, mc->denominator);
    else if (mc->type == EA_DURATION) snprintf(title, sizeof title, "%s time from exposure to %s", u.est_name, mc->event);
    else snprintf(title, sizeof title, "%s %s per user", u.est_name, mc->event);
    ea_xaxis(f, &a, top + EA_ROW_H * n + 4, title, u.est);
    fputs("</svg>\n", f);
}

/* Chart 2: each treatment's lift, the always-valid interval (wide, pale)
 * under the confidence interval (capped), zero dashed, the ±min_effect
 * band shaded. Both intervals are absolute, on this one axis. */
static void ea_svg_lift(FILE *f, const ea_experiment_cfg *e, const ea_metric_cfg *mc, const ea_row *r, int n)
{
    ea_units u = ea_units_of(mc);
    double lo = 0, hi = 0;   /* zero always shown */
    int nt = 0;
    for (int i = 0; i < n; i++) {
        if (r[i].is_control) continue;
        nt++;
        ea_range(r[i].lift * u.k, &lo, &hi);
        ea_range(r[i].lift_ci_low * u.k, &lo, &hi); ea_range(r[i].lift_ci_high * u.k, &lo, &hi);
        ea_range(r[i].av_ci_low * u.k, &lo, &hi); ea_range(r[i].av_ci_high * u.k, &lo, &hi);
    }
    if (mc->min_effect > 0) { ea_range(-mc->min_effect * u.k, &lo, &hi); ea_range(mc->min_effect * u.k, &lo, &hi); }
    double L = ea_name_col(e), R = 36, top = 8;
    double H = top + EA_ROW_H * nt + 52;
    ea_axis a = ea_axis_make(lo, hi, L, EA_VB_W - R, 1);
    fprintf(f, "<svg class=\"chart lift\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"sans-serif\" font-size=\"%d\" role=\"img\">\n", EA_VB_W, H, EA_FONT);
    double y0 = top, y1 = top + EA_ROW_H * nt;
    if (mc->min_effect > 0)
        fprintf(f, "<rect class=\"min-effect\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#eaeef2\"/>\n",
                ea_ax(&a, -mc->min_effect * u.k), y0,
                ea_ax(&a, mc->min_effect * u.k) - ea_ax(&a, -mc->min_effect * u.k), y1 - y0);
    fprintf(f, "<line class=\"zero\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#57606a\" "
               "stroke-dasharray=\"4 3\"/>\n", ea_ax(&a, 0), ea_ax(&a, 0), y0, y1);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (r[i].is_control) continue;
        double y = top + EA_ROW_H * k++ + EA_ROW_H / 2;
        const char *col = ea_color(e, r[i].variant);
        ea_name_text(f, e->variants[r[i].variant].name, 4, y + 4, L);
        if (e->sequential == EA_SEQ_MSPRT && r[i].av_ci_low <= r[i].av_ci_high)
            fprintf(f, "<line class=\"av\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                       "stroke-opacity=\"0.28\" stroke-width=\"14\"/>\n",
                    ea_ax(&a, r[i].av_ci_low * u.k), ea_ax(&a, r[i].av_ci_high * u.k), y, y, col);
        ea_whisker(f, &a, r[i].lift_ci_low * u.k, r[i].lift_ci_high * u.k, r[i].lift * u.k, y, col);
    }
    char title[160];
    snprintf(title, sizeof title, "lift vs %s: treatment − control, absolute", e->control);
    ea_xaxis(f, &a, y1 + 4, title, u.lift);
    fputs("</svg>\n", f);
}

/* Time ticks: a round step (1 s … 1 week) giving about `want` ticks. */
static int64_t ea_time_step(int64_t span_us, double want)
{
    static const int64_t steps[] = { 1000000, 2000000, 5000000, 10000000, 15000000, 30000000, 60000000,
        120000000, 300000000, 600000000, 900000000, 1800000000, 3600000000LL, 7200000000LL, 10800000000LL,
        21600000000LL, 43200000000LL, 86400000000LL, 172800000000LL, 604800000000LL, 1209600000000LL };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        if ((double)span_us / (double)steps[i] <= want) return steps[i];
    return steps[sizeof steps / sizeof *steps - 1] * (int64_t)ceil((double)span_us / want / 1209600e6);
}

/* Chart 3: the lift and its always-valid interval at every report kept
 * (cumulative results, placed at the report's event time). */
static void ea_svg_history(FILE *f, const ea_experiment_cfg *e, const ea_metric_cfg *mc, const ea_row *r, int n)
{
    ea_units u = ea_units_of(mc);
    const ea_hist *hs[EA_MAX_VARIANTS];
    int nh = 0;
    int64_t t0 = INT64_MAX, t1 = INT64_MIN;
    double lo = 0, hi = 0;
    int npts = 0;
    for (int i = 0; i < n; i++) {
        if (r[i].is_control) continue;
        const ea_hist *h = ea_hist_get(r[i].exp, r[i].metric, r[i].variant);
        if (!h || nh == EA_MAX_VARIANTS) continue;
        hs[nh++] = h;
        for (int k = 0; k < ea_hist_len(h); k++) {
            const ea_hist_pt *p = ea_hist_at(h, k);
            if (p->ts < t0) t0 = p->ts;
            if (p->ts > t1) t1 = p->ts;
            ea_range(p->lift * u.k, &lo, &hi);
            ea_range(p->av_low * u.k, &lo, &hi);
            ea_range(p->av_high * u.k, &lo, &hi);
            npts++;
        }
    }
    if (!npts) return;
    if (mc->min_effect > 0) { ea_range(-mc->min_effect * u.k, &lo, &hi); ea_range(mc->min_effect * u.k, &lo, &hi); }
    double L = 64, R = 40, top = 30, plot_h = 190;
    double H = top + plot_h + 52;
    ea_axis ay = ea_axis_make(lo, hi, top + plot_h, top, 0);
    /* time axis: round steps, labels HH:MM (a day or less) or MM-DD */
    if (t1 <= t0) { t0 -= 60000000; t1 += 60000000; }
    double span = EA_VB_W - R - L;
    int64_t step = ea_time_step(t1 - t0, span / 90);
    int64_t s0 = (t0 / step) * step, s1 = ((t1 + step - 1) / step) * step;
    int by_day = s1 - s0 > 2 * 86400000000LL;
    if (by_day && step < 86400000000LL) { step = ea_time_step(t1 - t0, span / 90 > 1 ? span / 90 : 1);
                                          if (step < 86400000000LL) step = 86400000000LL;
                                          s0 = (t0 / step) * step; s1 = ((t1 + step - 1) / step) * step; }
#define EA_TX(t) (L + (double)((t) - s0) / (double)(s1 - s0) * span)
    fprintf(f, "<svg class=\"chart history\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"sans-serif\" font-size=\"%d\" role=\"img\">\n", EA_VB_W, H, EA_FONT);
    if (mc->min_effect > 0)
        fprintf(f, "<rect class=\"min-effect\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#eaeef2\"/>\n",
                L, ea_ax(&ay, mc->min_effect * u.k), span,
                ea_ax(&ay, -mc->min_effect * u.k) - ea_ax(&ay, mc->min_effect * u.k));
    char title[160];
    snprintf(title, sizeof title, "lift vs %s, absolute, at each report", e->control);
    ea_yaxis(f, &ay, L, EA_VB_W - R, title, u.lift);
    fprintf(f, "<line class=\"zero\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#57606a\" "
               "stroke-dasharray=\"4 3\"/>\n", L, EA_VB_W - R, ea_ax(&ay, 0), ea_ax(&ay, 0));
    for (int j = 0; j < nh; j++) {
        const ea_hist *h = hs[j];
        const char *col = ea_color(e, h->variant);
        /* the always-valid band over the runs of points where it is bounded */
        for (int k = 0; k < ea_hist_len(h); ) {
            if (!(isfinite(ea_hist_at(h, k)->av_low) && isfinite(ea_hist_at(h, k)->av_high))) { k++; continue; }
            int end = k;
            while (end < ea_hist_len(h) && isfinite(ea_hist_at(h, end)->av_low) && isfinite(ea_hist_at(h, end)->av_high)) end++;
            fputs("<polygon class=\"av\" points=\"", f);
            for (int q = k; q < end; q++) fprintf(f, "%.1f,%.1f ", EA_TX(ea_hist_at(h, q)->ts), ea_ax(&ay, ea_hist_at(h, q)->av_high * u.k));
            for (int q = end - 1; q >= k; q--) fprintf(f, "%.1f,%.1f ", EA_TX(ea_hist_at(h, q)->ts), ea_ax(&ay, ea_hist_at(h, q)->av_low * u.k));
            if (end - k == 1)   /* one report: a bar, not a line of zero width */
                fprintf(f, "\" fill=\"none\" stroke=\"%s\" stroke-opacity=\"0.35\" stroke-width=\"8\"/>\n", col);
            else
                fprintf(f, "\" fill=\"%s\" fill-opacity=\"0.2\" stroke=\"none\"/>\n", col);
            k = end;
        }
        fputs("<polyline class=\"lift\" fill=\"none\" stroke-width=\"2\" stroke=\"", f);
        fputs(col, f);
        fputs("\" points=\"", f);
        for (int k = 0; k < ea_hist_len(h); k++) fprintf(f, "%.1f,%.1f ", EA_TX(ea_hist_at(h, k)->ts), ea_ax(&ay, ea_hist_at(h, k)->lift * u.k));
        fputs("\"/>\n", f);
        for (int k = 0; k < ea_hist_len(h); k++)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
                    EA_TX(ea_hist_at(h, k)->ts), ea_ax(&ay, ea_hist_at(h, k)->lift * u.k), col);
    }
    /* x axis */
    double y = top + plot_h;
    fprintf(f, "<g class=\"axis x\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#57606a\"/>\n",
            L, EA_VB_W - R, y, y);
    char first[40] = "";
    for (int64_t t = s0; t <= s1; t += step) {
        char iso[40], lab[24];
        time_format_iso(t, iso);                         /* 2026-11-18T11:09:59.829Z */
        if (!first[0]) snprintf(first, sizeof first, "%.10s", iso);
        if (by_day) snprintf(lab, sizeof lab, "%.5s", iso + 5);          /* 11-18 */
        else if (step < 60000000) snprintf(lab, sizeof lab, "%.8s", iso + 11);   /* 11:09:59 */
        else snprintf(lab, sizeof lab, "%.5s", iso + 11);                 /* 11:09 */
        double x = EA_TX(t);
        fprintf(f, "<g class=\"tick\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#57606a\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text></g>\n",
                x, x, y, y + 5, x, y + 18, lab);
    }
    fprintf(f, "<text class=\"axis-title\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#24292f\">"
               "event time (UTC%s%s)</text></g>\n", L + span / 2, y + 36, by_day ? "" : ", from ", by_day ? "" : first);
#undef EA_TX
    fputs("</svg>\n", f);
}

/* The legend: which interval is which, in words and swatches. */
static void ea_legend(FILE *f, const ea_experiment_cfg *e, const ea_metric_cfg *mc)
{
    double conf = 100 * (1 - e->alpha);
    fputs("<div class=\"legend\">", f);
    fprintf(f, "<span><svg viewBox=\"0 0 30 14\" width=\"30\" height=\"14\"><line x1=\"3\" x2=\"27\" y1=\"7\" y2=\"7\" "
               "stroke=\"#0969da\" stroke-width=\"2\"/><line x1=\"3\" x2=\"3\" y1=\"2\" y2=\"12\" stroke=\"#0969da\" "
               "stroke-width=\"2\"/><line x1=\"27\" x2=\"27\" y1=\"2\" y2=\"12\" stroke=\"#0969da\" stroke-width=\"2\"/>"
               "<circle cx=\"15\" cy=\"7\" r=\"4\" fill=\"#0969da\"/></svg> estimate and %g%% confidence interval "
               "(ordinary, fixed-horizon: valid at one planned look)</span>", conf);
    if (e->sequential == EA_SEQ_MSPRT)
        fprintf(f, "<span><svg viewBox=\"0 0 30 14\" width=\"30\" height=\"14\"><rect x=\"1\" y=\"1\" width=\"28\" "
                   "height=\"12\" fill=\"#0969da\" fill-opacity=\"0.28\"/></svg> %g%% always-valid interval of the lift "
                   "(mSPRT: valid at every look, narrowed by each; it need not contain the other)</span>", conf);
    fputs("<span><svg viewBox=\"0 0 30 14\" width=\"30\" height=\"14\"><line x1=\"15\" x2=\"15\" y1=\"0\" y2=\"14\" "
          "stroke=\"#57606a\" stroke-dasharray=\"4 3\"/></svg> no difference</span>", f);
    if (mc->min_effect > 0) {
        ea_units u = ea_units_of(mc);
        fprintf(f, "<span><svg viewBox=\"0 0 30 14\" width=\"30\" height=\"14\"><rect x=\"1\" y=\"1\" width=\"28\" "
                   "height=\"12\" fill=\"#eaeef2\"/></svg> ±min_effect (%g%s%s): a \"no difference\" decision needs the "
                   "always-valid interval inside</span>", mc->min_effect * u.k, *u.lift ? " " : "", u.lift);
    }
    fputs("</div>\n", f);
}

/* ---- tables ----------------------------------------------------------------- */

#define EA_NCOLS 10

static void ea_header(FILE *f, const ea_experiment_cfg *e, const ea_metric_cfg *mc, int html)
{
    ea_units u = ea_units_of(mc);
    char est[80], lift[80], av[80];
    const char *us = *u.est ? u.est : "", *ls = *u.lift ? u.lift : "";
    snprintf(est, sizeof est, "%s%s%s%s [%g%% CI]", u.est_name, *us ? " (" : "", us, *us ? ")" : "",
             100 * (1 - e->alpha));
    snprintf(lift, sizeof lift, "lift%s%s%s [%g%% CI]", *ls ? " (" : "", ls, *ls ? ")" : "",
             100 * (1 - e->alpha));
    snprintf(av, sizeof av, "always-valid interval of the lift%s%s%s", *ls ? " (" : "", ls, *ls ? ")" : "");
    const char *cols[EA_NCOLS] = { "variant", "users", "with event", est, lift, "relative lift",
                                   "p / adjusted", "always-valid p", av, "decision" };
    if (html) {
        fputs("<div class=\"tablewrap\"><table><thead><tr>", f);
        for (int i = 0; i < EA_NCOLS; i++) { fputs("<th>", f); ea_html_esc(f, cols[i]); fputs("</th>", f); }
        fputs("</tr></thead><tbody>\n", f);
    } else {
        fputs("|", f);
        for (int i = 0; i < EA_NCOLS; i++) { fputc(' ', f); ea_md_esc(f, cols[i]); fputs(" |", f); }
        fputs("\n|", f);
        for (int i = 0; i < EA_NCOLS; i++) fputs(i == 0 || i == EA_NCOLS - 1 ? "---|" : "--:|", f);
        fputs("\n", f);
    }
}

/* One row: always EA_NCOLS cells, the control's lift cells a dash. */
static void ea_row_cells(FILE *f, const ea_experiment_cfg *e, const ea_metric_cfg *mc, const ea_row *r, int html)
{
    ea_units u = ea_units_of(mc);
    const char *open = html ? "<td>" : " ", *close = html ? "</td>" : " |";
    fputs(html ? "<tr>" : "|", f);
    fputs(open, f);
    if (html) ea_html_esc(f, e->variants[r->variant].name); else ea_md_esc(f, e->variants[r->variant].name);
    fputs(close, f);
    fprintf(f, "%s%llu%s%s%llu%s", open, (unsigned long long)r->users, close, open,
            (unsigned long long)r->conversions, close);
    fputs(open, f); ea_num(f, r->mean * u.k); fputc(' ', f); ea_interval(f, r->ci_low, r->ci_high, u.k); fputs(close, f);
    if (r->is_control) {
        for (int i = 0; i < 5; i++) fprintf(f, "%s–%s", open, close);
        fprintf(f, "%s%s%s%s%s", open, html ? "<span class=\"dec\">" : "", "baseline (control)",
                html ? "</span>" : "", close);
    } else {
        fputs(open, f); fputs(r->lift >= 0 ? "+" : "", f); ea_num(f, r->lift * u.k); fputc(' ', f);
        ea_interval(f, r->lift_ci_low, r->lift_ci_high, u.k); fputs(close, f);
        fprintf(f, "%s%+.2f%%%s", open, r->rel_lift * 100, close);
        fprintf(f, "%s%.3g / %.3g%s", open, r->p_value, r->p_adj, close);
        fprintf(f, "%s%.3g%s", open, r->av_p_adj, close);
        fputs(open, f); ea_interval(f, r->av_ci_low, r->av_ci_high, u.k); fputs(close, f);
        const char *cls = r->decision == 1 ? "win" : r->decision == 2 ? "lose" : r->decision == 3 ? "same" : "run";
        if (html) fprintf(f, "<td><span class=\"dec %s\">%s</span></td>", cls, ea_decision_text(r->decision));
        else fprintf(f, " **%s** |", ea_decision_text(r->decision));
    }
    fputs(html ? "</tr>\n" : "\n", f);
}

static const char ea_css[] =
    "*{box-sizing:border-box}"
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;padding:16px 3vw 48px;color:#24292f;"
    "line-height:1.4}"
    "h1{font-size:26px;margin:8px 0 4px}h2{font-size:21px;margin:28px 0 4px}"
    "h3{font-size:17px;margin:0 0 2px}.meta,.sub{color:#57606a;margin:2px 0 8px}"
    ".metric{border-top:1px solid #d0d7de;padding-top:14px;margin-top:18px}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,460px),1fr));gap:8px 32px;"
    "align-items:start}"
    "figure{margin:0}figcaption{font-size:13px;font-weight:600;color:#24292f;margin:4px 0}"
    "svg.chart{width:100%;max-width:760px;height:auto;display:block}"
    ".legend{display:flex;flex-wrap:wrap;gap:4px 22px;font-size:13px;color:#24292f;margin:6px 0 10px}"
    ".legend span{display:inline-flex;align-items:center;gap:6px}"
    ".tablewrap{overflow-x:auto;margin:8px 0}"
    "table{border-collapse:collapse;width:100%}"
    "td,th{border:1px solid #d0d7de;padding:4px 8px;font-size:13px;text-align:right;white-space:nowrap}"
    "th{white-space:normal;vertical-align:bottom}"
    "th{background:#f6f8fa;font-weight:600}td:first-child,th:first-child,td:last-child,th:last-child{text-align:left}"
    ".dec{font-weight:600}.dec.win{color:#1a7f37}.dec.lose{color:#cf222e}.dec.same{color:#8250df}"
    ".srm{color:#cf222e;font-weight:bold}.why{color:#57606a;font-size:13px;margin:2px 0}";

int ea_report_write(const char *path, int format, const ea_config *cfg,
                    const ea_row *rows, int nrows, int64_t ts)
{
    for (int i = 0; i < nrows; i++)
        if (!rows[i].is_control) ea_hist_add(&rows[i], ts);
    /* a temporary file beside it (unpredictable name, never a planted
     * symlink), renamed over it: readers never see half a report */
    atomic_file af;
    if (atomic_file_open(&af, path, ATOMIC_FILE_UMASK)) {
        log_error("report: cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    FILE *f = af.f;
    int html = format == EA_REPORT_HTML;
    char when[40];
    time_format_iso(ts, when);
    if (html)
        fprintf(f, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                   "<title>Experiments</title>\n<style>%s</style></head><body>\n<h1>Experiments</h1>\n"
                   "<p class=\"meta\">As of %s (event time). Rates in percent and their lifts in percentage "
                   "points (pp), durations in seconds, numeric metrics in the event's value; every lift and "
                   "interval is absolute (treatment − control), the relative lift has its own column.</p>\n",
                ea_css, when);
    else
        fprintf(f, "# Experiments\n\nAs of %s (event time). Rates in percent and their lifts in percentage "
                   "points (pp), durations in seconds; every lift and interval is absolute (treatment − "
                   "control).\n", when);
    int i = 0;
    while (i < nrows) {
        const ea_experiment_cfg *e = &cfg->experiments[rows[i].exp];
        if (html) { fputs("<h2>", f); ea_html_esc(f, e->name); fputs("</h2>\n", f); }
        else { fputs("\n## ", f); ea_md_esc(f, e->name); fputs("\n\n", f); }
        const ea_row *r0 = &rows[i];
        const char *cls = html ? (r0->srm_flag ? "<p class=\"srm\">" : "<p class=\"sub\">") : "";
        fprintf(f, "%sSample-ratio check (always-valid): p = %.3g%s; users seen in two variants: %llu; "
                   "alpha %g, %s, %s correction.%s\n", cls, r0->srm_p,
                r0->srm_flag ? " — SAMPLE RATIO MISMATCH: do not trust these results" : " (healthy)",
                (unsigned long long)r0->mixed, e->alpha,
                e->sequential == EA_SEQ_MSPRT ? "always-valid (mSPRT) decisions" : "fixed-horizon decisions",
                e->correction == EA_HOLM ? "Holm" : e->correction == EA_BONFERRONI ? "Bonferroni" : "no",
                html ? "</p>" : "\n");
        while (i < nrows && rows[i].exp == r0->exp) {
            int m = rows[i].metric, j = i;
            while (j < nrows && rows[j].exp == r0->exp && rows[j].metric == m) j++;
            const ea_metric_cfg *mc = &e->metrics[m];
            ea_units u = ea_units_of(mc);
            char kind[200];
            ea_kind_text(mc, kind, sizeof kind);
            if (html) {
                fputs("<section class=\"metric\"><h3>", f); ea_html_esc(f, mc->name);
                fprintf(f, "</h3>\n<p class=\"sub\">%s of <code>", ea_metric_type_name(mc->type));
                ea_html_esc(f, mc->event);
                fprintf(f, "</code>%s", mc->type == EA_DURATION ? " (seconds from exposure)" : "");
                ea_html_esc(f, kind);
                fprintf(f, ", goal %s%s</p>\n",
                        mc->goal == EA_MAXIMIZE ? "maximize" : "minimize",
                        m == e->primary_idx ? ", primary metric" : "");
                ea_legend(f, e, mc);
                /* two columns when there is room: now (the arms, the lift) and over time */
                fputs("<div class=\"charts\">\n<div><figure><figcaption>Each arm</figcaption>\n", f);
                ea_svg_arms(f, e, mc, &rows[i], j - i);
                fputs("</figure>\n<figure><figcaption>Treatment lift vs control</figcaption>\n", f);
                ea_svg_lift(f, e, mc, &rows[i], j - i);
                fprintf(f, "</figure></div>\n<figure><figcaption>Lift over time%s (cumulative, by event "
                           "time)</figcaption>\n", e->sequential == EA_SEQ_MSPRT ? ", with its always-valid interval" : "");
                ea_svg_history(f, e, mc, &rows[i], j - i);
                fputs("</figure>\n</div>\n", f);
            } else {
                fprintf(f, "\n### %s%s\n\n%s of `%s`%s%s, goal %s\n\n", mc->name,
                        m == e->primary_idx ? " (primary)" : "", ea_metric_type_name(mc->type), mc->event,
                        mc->type == EA_DURATION ? " (seconds from exposure)" : "", kind,
                        mc->goal == EA_MAXIMIZE ? "maximize" : "minimize");
            }
            (void)u;
            ea_header(f, e, mc, html);
            for (int k = i; k < j; k++) ea_row_cells(f, e, mc, &rows[k], html);
            if (html) fputs("</tbody></table></div>\n", f);
            for (int k = i; k < j; k++) {
                if (rows[k].is_control) continue;
                /* the reason is the record's text, in the record's units */
                const char *note = mc->type == EA_CONVERSION ? " (rates as fractions here: 0.01 = 1 pp)" : "";
                char how[200] = "";
                const ea_row *rk = &rows[k];
                if (mc->covariate)
                    snprintf(how, sizeof how, " — CUPED: θ = %.4g, variance reduction %.1f%% (interval %.2f× the "
                             "unadjusted width), unadjusted lift %+.4g.", rk->theta, 100 * rk->var_reduction,
                             sqrt(rk->var_reduction < 1 ? 1 - rk->var_reduction : 0), rk->lift_plain);
                note = *how ? how : note;
                if (html) {
                    fputs("<p class=\"why\">", f); ea_html_esc(f, e->variants[rows[k].variant].name);
                    fputs(": ", f); ea_html_esc(f, rows[k].reason); fputs(note, f); fputs("</p>\n", f);
                } else {
                    fputs("\n- ", f); ea_md_esc(f, e->variants[rows[k].variant].name);
                    fputs(": ", f); ea_md_esc(f, rows[k].reason); fputs(note, f); fputs("\n", f);
                }
            }
            if (html) fputs("</section>\n", f);
            i = j;
        }
    }
    if (html) fputs("</body></html>\n", f);
    if (atomic_file_commit(&af)) {
        log_error("report: cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
