/* report.c — HTML (with inline SVG) and markdown reports of the result rows. */
#include "report.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
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

static void ea_num(FILE *f, double v)
{
    if (isinf(v)) fputs(v > 0 ? "∞" : "−∞", f);
    else if (isnan(v)) fputs("–", f);
    else fprintf(f, "%.4g", v);
}

static void ea_range(double v, double *lo, double *hi)
{
    if (isfinite(v)) { if (v < *lo) *lo = v; if (v > *hi) *hi = v; }
}

/* Two panels on one SVG. Top: each arm's estimate (rate or mean) with its
 * interval, on one scale. Bottom: each treatment's lift against control,
 * with the fixed-horizon interval (thin) over the always-valid one (wide,
 * pale), a dashed line at zero and, when the metric has a min_effect, the
 * band ±min_effect that a "no difference" decision needs the interval in. */
static void ea_svg(FILE *f, const ea_experiment_cfg *e, const ea_metric_cfg *mc, const ea_row *r, int n)
{
    double lo = INFINITY, hi = -INFINITY, llo = 0, lhi = 0;   /* the lift scale holds 0 */
    int nt = 0;
    for (int i = 0; i < n; i++) {
        ea_range(r[i].ci_low, &lo, &hi);
        ea_range(r[i].ci_high, &lo, &hi);
        if (r[i].is_control) continue;
        nt++;
        ea_range(r[i].lift_ci_low, &llo, &lhi);
        ea_range(r[i].lift_ci_high, &llo, &lhi);
        ea_range(r[i].av_ci_low, &llo, &lhi);
        ea_range(r[i].av_ci_high, &llo, &lhi);
    }
    if (mc->min_effect > 0) { ea_range(-mc->min_effect, &llo, &lhi); ea_range(mc->min_effect, &llo, &lhi); }
    if (!(hi > lo)) { lo -= 1; hi += 1; }
    if (!(lhi > llo)) { llo -= 1; lhi += 1; }
    double pad = (hi - lo) * 0.08, lpad = (lhi - llo) * 0.08;
    lo -= pad; hi += pad; llo -= lpad; lhi += lpad;
    const int W = 560, L = 130, R = 20, rowh = 26;
    const int H1 = rowh * n + 30, H = H1 + (nt ? 24 + rowh * nt + 30 : 0);
    double scale = (W - L - R) / (hi - lo), lscale = (W - L - R) / (lhi - llo);
#define EA_X(v) (L + ((v) - lo) * scale)
#define EA_LX(v) (L + ((isfinite(v) ? (v) : (v) > 0 ? lhi : llo) - llo) * lscale)
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
    for (int i = 0; i < n; i++) {
        double y = 15 + rowh * i + rowh / 2.0;
        const char *col = r[i].is_control ? "#555" : r[i].decision == 1 ? "#1a7f37" :
                          r[i].decision == 2 ? "#cf222e" : "#0969da";
        fprintf(f, "<text x=\"4\" y=\"%.1f\">", y + 4);
        ea_html_esc(f, e->variants[r[i].variant].name);
        fprintf(f, "</text>\n<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>\n"
                   "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>\n",
                EA_X(r[i].ci_low), EA_X(r[i].ci_high), y, y, col, EA_X(r[i].mean), y, col);
    }
    fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n", L, W - R, H1 - 14, H1 - 14);
    fprintf(f, "<text x=\"%d\" y=\"%d\">%.4g</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.4g</text>\n",
            L, H1 - 2, lo, W - R, H1 - 2, hi);
    if (nt) {
        int top = H1 + 24, bottom = top + rowh * nt;
        fprintf(f, "<text x=\"4\" y=\"%d\" font-weight=\"bold\">lift vs %s</text>\n", top - 6, e->control);
        if (mc->min_effect > 0)
            fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#eee\"/>\n",
                    EA_LX(-mc->min_effect), top, EA_LX(mc->min_effect) - EA_LX(-mc->min_effect), rowh * nt);
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n",
                EA_LX(0.0), EA_LX(0.0), top, bottom);
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (r[i].is_control) continue;
            double y = top + rowh * k++ + rowh / 2.0;
            const char *col = r[i].decision == 1 ? "#1a7f37" : r[i].decision == 2 ? "#cf222e" :
                              r[i].decision == 3 ? "#8250df" : "#0969da";
            fprintf(f, "<text x=\"4\" y=\"%.1f\">", y + 4);
            ea_html_esc(f, e->variants[r[i].variant].name);
            fprintf(f, "</text>\n");
            if (e->sequential == EA_SEQ_MSPRT && r[i].av_ci_low <= r[i].av_ci_high)
                fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                           "stroke-opacity=\"0.3\" stroke-width=\"9\"/>\n",
                        EA_LX(r[i].av_ci_low), EA_LX(r[i].av_ci_high), y, y, col);
            fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n"
                       "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n",
                    EA_LX(r[i].lift_ci_low), EA_LX(r[i].lift_ci_high), y, y, col, EA_LX(r[i].lift), y, col);
        }
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n", L, W - R, bottom + 6, bottom + 6);
        fprintf(f, "<text x=\"%d\" y=\"%d\">%.4g</text><text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">0</text>"
                   "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.4g</text>\n",
                L, bottom + 18, llo, EA_LX(0.0), bottom + 18, W - R, bottom + 18, lhi);
    }
#undef EA_X
#undef EA_LX
    fputs("</svg>\n", f);
}

static void ea_row_cells(FILE *f, const ea_row *r, int html)
{
    const char *sep = html ? "</td><td>" : " | ";
    fprintf(f, "%llu%s%llu%s", (unsigned long long)r->users, sep, (unsigned long long)r->conversions, sep);
    ea_num(f, r->mean); fputs(" [", f); ea_num(f, r->ci_low); fputs(", ", f); ea_num(f, r->ci_high);
    fputs("]", f); fputs(sep, f);
    if (r->is_control) {
        fprintf(f, "control%s%s%s%s", sep, sep, sep, sep);
        return;
    }
    ea_num(f, r->lift); fputs(" [", f); ea_num(f, r->lift_ci_low); fputs(", ", f);
    ea_num(f, r->lift_ci_high); fprintf(f, "] (%+.2f%%)%s", r->rel_lift * 100, sep);
    fprintf(f, "%.3g / %.3g%s", r->p_value, r->p_adj, sep);
    fprintf(f, "%.3g [", r->av_p_adj); ea_num(f, r->av_ci_low); fputs(", ", f);
    ea_num(f, r->av_ci_high); fputs("]", f); fputs(sep, f);
    if (html) fputs("<b>", f);
    fputs(ea_decision_text(r->decision), f);
    if (html) fputs("</b>", f);
}

int ea_report_write(const char *path, int format, const ea_config *cfg,
                    const ea_row *rows, int nrows, int64_t ts)
{
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
        fprintf(f, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Experiments</title>\n"
                   "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
                   "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;"
                   "font-size:13px}.srm{color:#cf222e;font-weight:bold}.why{color:#555;font-size:12px}"
                   "</style></head><body>\n<h1>Experiments</h1>\n<p>As of %s (event time).</p>\n", when);
    else
        fprintf(f, "# Experiments\n\nAs of %s (event time).\n", when);
    int i = 0;
    while (i < nrows) {
        const ea_experiment_cfg *e = &cfg->experiments[rows[i].exp];
        if (html) { fputs("<h2>", f); ea_html_esc(f, e->name); fputs("</h2>\n", f); }
        else { fputs("\n## ", f); ea_md_esc(f, e->name); fputs("\n\n", f); }
        const ea_row *r0 = &rows[i];
        const char *cls = html ? (r0->srm_flag ? "<p class=\"srm\">" : "<p>") : "";
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
            if (html) {
                fputs("<h3>", f); ea_html_esc(f, mc->name);
                fprintf(f, "</h3>\n<p>%s of <code>", ea_metric_type_name(mc->type));
                ea_html_esc(f, mc->event);
                fprintf(f, "</code>, goal %s%s</p>\n", mc->goal == EA_MAXIMIZE ? "maximize" : "minimize",
                        m == e->primary_idx ? ", primary metric" : "");
                ea_svg(f, e, mc, &rows[i], j - i);
                fprintf(f, "<table><tr><th>variant</th><th>users</th><th>with event</th><th>rate/mean [%g%% CI]</th>"
                        "<th>lift [CI] (relative)</th><th>p / adjusted</th><th>always-valid p [interval]</th>"
                        "<th>decision</th></tr>\n", 100 * (1 - e->alpha));
            } else {
                fprintf(f, "\n### %s%s\n\n%s of `%s`, goal %s\n\n", mc->name,
                        m == e->primary_idx ? " (primary)" : "", ea_metric_type_name(mc->type), mc->event,
                        mc->goal == EA_MAXIMIZE ? "maximize" : "minimize");
                fprintf(f, "| variant | users | with event | rate/mean [%g%% CI] | lift [CI] (relative) | "
                        "p / adjusted | always-valid p [interval] | decision |\n"
                        "|---|---|---|---|---|---|---|---|\n", 100 * (1 - e->alpha));
            }
            for (int k = i; k < j; k++) {
                const char *vn = e->variants[rows[k].variant].name;
                if (html) { fputs("<tr><td>", f); ea_html_esc(f, vn); fputs("</td><td>", f); }
                else { fputs("| ", f); ea_md_esc(f, vn); fputs(" | ", f); }
                ea_row_cells(f, &rows[k], html);
                fputs(html ? "</td></tr>\n" : " |\n", f);
            }
            if (html) fputs("</table>\n", f);
            for (int k = i; k < j; k++) {
                if (rows[k].is_control) continue;
                if (html) {
                    fputs("<p class=\"why\">", f); ea_html_esc(f, e->variants[rows[k].variant].name);
                    fputs(": ", f); ea_html_esc(f, rows[k].reason); fputs("</p>\n", f);
                } else {
                    fputs("\n- ", f); ea_md_esc(f, e->variants[rows[k].variant].name);
                    fputs(": ", f); ea_md_esc(f, rows[k].reason); fputs("\n", f);
                }
            }
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
