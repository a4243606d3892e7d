/* results.c — from the engine's sufficient statistics to answers: the
 * sequential looks (mSPRT, the sample-ratio check), the per-metric
 * estimates and intervals (plain, CUPED, ratio, quantile), the corrections
 * for several treatments, and the decision and its reason per result row
 * (ea_look, ea_results; see analyze.h). Separate from analyze.c because
 * that file takes events in and keeps the statistics; this one reads them
 * and never changes a user. */
#include "analyze_int.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "stats.h"

static st_pair ea_ps_moments(const ea_psum *p)
{
    st_pair r = { p->n, 0, 0, 0, 0, 0 };
    xs_moments(p->n, &p->y, &p->yy, p->in_y, p->in_yy, &r.my, &r.syy);
    xs_moments(p->n, &p->x, &p->xx, p->in_x, p->in_xx, &r.mx, &r.sxx);
    r.sxy = xs_comoment(p->n, &p->y, &p->x, &p->xy, p->in_y, p->in_x, p->in_xy);
    return r;
}

/* Mergeable mode: the moments of numeric and duration arms from the exact
 * sums, so that they depend on the set of per-user values only. */
static void ea_refresh_moments(ea_engine *ea, int x)
{
    if (!ea->mergeable) return;
    const ea_experiment_cfg *e = &ea->cfg->experiments[x];
    for (int v = 0; v < e->nvariants; v++)
        for (int m = 0; m < e->nmetrics; m++) {
            if (e->metrics[m].type == EA_CONVERSION) continue;
            ea_arm *a = &ea->st[x].arm[v][m];
            const ea_xarm *xa = ea_xa(ea, x, v, m);
            xs_moments(a->n, &xa->s1, &xa->s2, xa->in1, xa->in2, &a->mean, &a->m2);
        }
}

/* Per-metric estimate (diff, var) of treatment v against control, for the
 * mSPRT. 0 if not computable yet. */
static int ea_estimate(const ea_engine *ea, int x, int m, int v, double *diff, double *var)
{
    const ea_experiment_cfg *e = &ea->cfg->experiments[x];
    const ea_exp_stats *st = &ea->st[x];
    int c = e->control_idx;
    const ea_arm *at = &st->arm[v][m], *ac = &st->arm[c][m];
    const ea_metric_cfg *mc = &e->metrics[m];
    if (mc->quantile_line) return 0;   /* fixed-horizon only */
    if (ea_metric_paired(mc)) {
        /* CUPED's adjusted difference, a ratio's delta-method one: the
         * plug-in mSPRT takes any asymptotically normal estimate */
        double need = e->min_sample_size > 2 ? (double)e->min_sample_size : 2;
        st_pair pt = ea_ps_moments(ea_ps((ea_engine *)ea, x, v, m));
        st_pair pc = ea_ps_moments(ea_ps((ea_engine *)ea, x, c, m));
        if (pt.n < need || pc.n < need) return 0;
        if (mc->type == EA_RATIO) {
            st_ratio_test rt;
            if (st_ratio_test_run(&pt, &pc, e->alpha, &rt) < 0) return 0;
            *diff = rt.diff; *var = rt.var;
        } else {
            st_cuped cu;
            if (st_cuped_run(&pt, &pc, e->alpha, &cu) < 0) return 0;
            *diff = cu.diff; *var = cu.var;
        }
        return *var > 0;
    }
    if (mc->type == EA_CONVERSION) {
        double nt = (double)st->users[v], nc = (double)st->users[c];
        if (nt < 1 || nc < 1) return 0;
        double pt = (double)at->conversions / nt, pc = (double)ac->conversions / nc;
        *diff = pt - pc;
        *var = pt * (1 - pt) / nt + pc * (1 - pc) / nc;
    } else {
        /* values, not just exposed users, at min_sample_size per arm: a
         * variance estimated from a handful of values would make the
         * plug-in mSPRT, and its interval, overconfident early on */
        double need = e->min_sample_size > 2 ? (double)e->min_sample_size : 2;
        if (at->n < need || ac->n < need) return 0;
        *diff = at->mean - ac->mean;
        *var = at->m2 / (at->n - 1) / at->n + ac->m2 / (ac->n - 1) / ac->n;
    }
    return *var > 0;
}

void ea_look(ea_engine *ea, int x)
{
    const ea_experiment_cfg *e = &ea->cfg->experiments[x];
    ea_exp_stats *st = &ea->st[x];
    st->updates = 0;
    ea_refresh_moments(ea, x);
    /* the sample-ratio check is sequential whatever the metrics' tests are:
     * a fixed-horizon check read at every report flags fair splits far more
     * often than its level says */
    double alloc[EA_MAX_VARIANTS];
    for (int v = 0; v < e->nvariants; v++) alloc[v] = e->variants[v].allocation;
    double srm = st_srm_seq_p(st->users, alloc, e->nvariants, ST_SRM_CONCENTRATION);
    if (srm < st->srm_p_min) st->srm_p_min = srm;
    if (e->sequential != EA_SEQ_MSPRT) return;
    int c = e->control_idx;
    double mss = (double)e->min_sample_size;
    if ((double)st->users[c] < mss) return;
    for (int v = 0; v < e->nvariants; v++) {
        if (v == c || (double)st->users[v] < mss) continue;
        for (int m = 0; m < e->nmetrics; m++) {
            double diff, var;
            if (!ea_estimate(ea, x, m, v, &diff, &var)) continue;
            double tau2 = e->metrics[m].tau * e->metrics[m].tau;
            ea_seq *q = &st->seq[v][m];
            double p = st_msprt_p(diff, var, tau2);
            if (p < q->p_min) q->p_min = p;
            if (p < e->alpha && !q->side) q->side = diff > 0 ? 1 : -1;
            double hw = st_msprt_half_width(var, tau2, e->alpha);
            if (e->metrics[m].type == EA_CONVERSION && e->metrics[m].cov_val < 0) {
                if (diff - hw > q->ci_low) q->ci_low = diff - hw;
                if (diff + hw < q->ci_high) q->ci_high = diff + hw;
            } else {
                /* numeric and duration: this look's interval, not the
                 * running intersection. Their per-user values are still
                 * accruing (sums grow, slow clickers arrive last), so an
                 * early look describes a different, narrower population
                 * and its interval, kept in an intersection, ended up 10x
                 * narrower than the fixed-horizon one and excluded the
                 * estimate (test 360). This look's interval is never
                 * narrower than the fixed one once an arm has 8 values
                 * (2 ln(1/alpha) >= t^2 for alpha <= 0.05) */
                q->ci_low = diff - hw;
                q->ci_high = diff + hw;
            }
            q->looks++;
        }
    }
}

void ea_look_all(ea_engine *ea)
{
    for (int x = 0; x < ea->cfg->nexperiments; x++) ea_look(ea, x);
}

const char *ea_metric_type_name(int t)
{
    return t == EA_CONVERSION ? "conversion" : t == EA_NUMERIC ? "numeric" : t == EA_DURATION ? "duration" : "ratio";
}

/* Decision for one treatment row, from the corrected p-values. */
static void ea_decide(const ea_experiment_cfg *e, const ea_metric_cfg *mc, ea_row *r,
                      uint64_t nt, uint64_t nc)
{
    /* with one treatment there is nothing to correct for: say so plainly */
    const char *corr = e->nvariants <= 2 ? "one treatment, no correction needed"
                     : e->correction == EA_HOLM ? "Holm-corrected"
                     : e->correction == EA_BONFERRONI ? "Bonferroni-corrected" : "uncorrected";
    int seq = e->sequential == EA_SEQ_MSPRT;
    double p = seq ? r->av_p_adj : r->p_adj;
    double lo = seq ? r->av_ci_low : r->lift_ci_low, hi = seq ? r->av_ci_high : r->lift_ci_high;
    const char *kind = seq ? "always-valid" : "fixed-horizon";
    r->decision = Decision_keep_running;
    if (r->srm_flag) {
        snprintf(r->reason, sizeof r->reason, "sample ratio mismatch (always-valid p=%.3g < %g): the "
                 "split is broken, no decision until the assignment is fixed", r->srm_p, EA_SRM_ALPHA);
        return;
    }
    if (nt < (uint64_t)e->min_sample_size || nc < (uint64_t)e->min_sample_size) {
        snprintf(r->reason, sizeof r->reason, "waiting for min_sample_size %lld users per arm "
                 "(treatment %llu, control %llu)", (long long)e->min_sample_size,
                 (unsigned long long)nt, (unsigned long long)nc);
        return;
    }
    if (seq && mc->quantile_line) {
        snprintf(r->reason, sizeof r->reason, "quantile metrics are fixed-horizon only (no always-valid "
                 "test): fixed-horizon p=%.3g, lift %+.4g [%.4g, %.4g]; read it at the planned sample "
                 "size, or set sequential: off", r->p_adj, r->lift, r->lift_ci_low, r->lift_ci_high);
        return;
    }
    if (p < e->alpha) {
        /* under msprt the side is the one the always-valid interval first
         * excluded 0 on (p < alpha is that exclusion), kept: the winner
         * cannot change with the sign of today's lift, though a numeric
         * interval (this look's, see ea_look) may hold 0 again */
        int dir = seq && r->av_side ? r->av_side : (r->lift > 0) - (r->lift < 0);
        int better = mc->goal == EA_MAXIMIZE ? dir > 0 : dir < 0;
        r->decision = better ? Decision_treatment_wins : Decision_control_wins;
        snprintf(r->reason, sizeof r->reason, "%s p=%.3g (%s) < alpha %g: %s %s, lift %+.4g [%.4g, %.4g]",
                 kind, p, corr, e->alpha, better ? "treatment" : "control", "wins", r->lift, lo, hi);
        return;
    }
    if (mc->min_effect > 0 && lo > -mc->min_effect && hi < mc->min_effect) {
        r->decision = Decision_no_difference;
        snprintf(r->reason, sizeof r->reason, "%s interval [%.4g, %.4g] excludes the minimum effect "
                 "of interest ±%g: no difference worth having", kind, lo, hi, mc->min_effect);
        return;
    }
    if (!seq)
        snprintf(r->reason, sizeof r->reason, "fixed-horizon p=%.3g >= alpha %g: read it at the "
                 "planned sample size only", p, e->alpha);
    else if (mc->min_effect > 0)
        snprintf(r->reason, sizeof r->reason, "always-valid p=%.3g >= alpha %g and interval "
                 "[%.4g, %.4g] still reaches ±%g: keep running", p, e->alpha, lo, hi, mc->min_effect);
    else
        snprintf(r->reason, sizeof r->reason, "always-valid p=%.3g >= alpha %g: keep running "
                 "(set min_effect to allow stopping for no difference)", p, e->alpha);
}

/* A CUPED or ratio metric's row: variant v's estimate, and against
 * control its adjusted (CUPED) or delta-method (ratio) difference. */
static void ea_row_paired(ea_engine *ea, int x, int m, int v, ea_row *r)
{
    const ea_experiment_cfg *e = &ea->cfg->experiments[x];
    const ea_metric_cfg *mc = &e->metrics[m];
    int c = e->control_idx;
    const ea_exp_stats *st = &ea->st[x];
    st_pair pv = ea_ps_moments(ea_ps(ea, x, v, m)), pc = ea_ps_moments(ea_ps(ea, x, c, m));
    if (mc->type == EA_RATIO) {
        r->numerator = pv.my * pv.n; r->denominator = pv.mx * pv.n;
        r->conversions = (uint64_t)pv.n;
        r->test = "delta_ratio_z";
        st_ratio_arm ra;
        if (st_ratio_arm_run(&pv, e->alpha, &ra) == 0) {
            r->mean = ra.ratio; r->sd = ra.se; r->ci_low = ra.ci.low; r->ci_high = ra.ci.high;
        } else {
            r->mean = 0; r->ci_low = -INFINITY; r->ci_high = INFINITY;
        }
        st_ratio_test t;
        if (v != c && st_ratio_test_run(&pv, &pc, e->alpha, &t) == 0) {
            r->lift = t.diff; r->rel_lift = t.rel_lift; r->lift_se = t.se;
            r->lift_ci_low = t.diff_ci.low; r->lift_ci_high = t.diff_ci.high;
            r->p_value = t.p_value;
        } else if (v != c) {
            r->lift_ci_low = -INFINITY; r->lift_ci_high = INFINITY;
        }
        return;
    }
    /* CUPED: the arm's own (unadjusted) estimate, the adjusted lift */
    r->test = "cuped_welch_t";
    if (mc->type == EA_CONVERSION) {
        const ea_arm *a = &st->arm[v][m];
        r->conversions = a->conversions;
        r->rate = r->users ? (double)a->conversions / (double)r->users : 0;
        r->mean = r->rate;
        st_interval w = st_wilson(a->conversions, r->users, e->alpha);
        r->ci_low = w.low; r->ci_high = w.high;
        r->sd = pv.n > 1 ? sqrt(pv.syy / (pv.n - 1)) : 0;
    } else {
        r->conversions = (uint64_t)pv.n;
        double sd = pv.n > 1 ? sqrt(pv.syy / (pv.n - 1)) : 0;
        st_mean_ci mi = st_mean_interval(pv.n, pv.my, sd, e->alpha);
        r->mean = pv.my; r->sd = mi.sd; r->ci_low = mi.ci.low; r->ci_high = mi.ci.high;
    }
    st_cuped cu;
    if (v != c && st_cuped_run(&pv, &pc, e->alpha, &cu) == 0) {
        r->lift = cu.diff; r->rel_lift = cu.rel_lift; r->lift_se = cu.se;
        r->lift_ci_low = cu.diff_ci.low; r->lift_ci_high = cu.diff_ci.high;
        r->p_value = cu.p_value;
        r->theta = cu.theta; r->var_reduction = cu.variance_reduction; r->lift_plain = cu.diff_plain;
    } else if (v != c) {
        r->lift = pv.my - pc.my;
        r->lift_ci_low = -INFINITY; r->lift_ci_high = INFINITY;
    }
}

/* Quantile metrics: each arm's per-user values, sorted, at every report.
 * Held only for this call (8 bytes per value, in ea->qbuf); the values
 * themselves are the users' own (no memory per arm beyond them). */
typedef struct ea_qarm { size_t n; double q, se; st_interval ci; } ea_qarm;

static int ea_dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void ea_quantiles(ea_engine *ea, int x, int m, ea_qarm *qs)
{
    const ea_experiment_cfg *e = &ea->cfg->experiments[x];
    const ea_metric_cfg *mc = &e->metrics[m];
    size_t total = 0, at[EA_MAX_VARIANTS];
    for (int v = 0; v < e->nvariants; v++) { at[v] = total; total += ea->st[x].users[v]; }
    if (total > ea->qbuf_cap) {
        ea->qbuf = ea_xrealloc(ea->qbuf, total * sizeof *ea->qbuf);
        ea->qbuf_cap = total;
    }
    size_t start[EA_MAX_VARIANTS];
    memcpy(start, at, sizeof at);
    for (size_t i = 0; i < ea->us.cap; i++) {
        if (!ea->us.tab[i].blk) continue;
        ea_block *b = ea_blk(&ea->us, ea->us.tab[i].blk);
        char *p = (char *)ea_blk_slots(b);
        for (int k = 0; k < b->nslots; k++, p += ea->us.slot_size[((ea_slot *)p)->exp]) {
            ea_slot *sl = (ea_slot *)p;
            if (sl->exp != x) continue;
            const ea_uval *uv = &ea_uvals(sl)[m];
            double val;
            /* the users the mean counts: every exposed user for a sum or a
             * count, those with a value for a mean or a duration */
            if (mc->type == EA_DURATION || mc->aggregate == EA_MEAN) {
                if (!uv->count) continue;
                val = mc->type == EA_DURATION ? uv->sum : uv->sum / uv->count;
            } else {
                val = mc->aggregate == EA_COUNT ? (double)uv->count : uv->sum;
            }
            int v = sl->variant;
            if (at[v] < start[v] + ea->st[x].users[v]) ea->qbuf[at[v]++] = val;
            break;
        }
    }
    for (int v = 0; v < e->nvariants; v++) {
        size_t n = at[v] - start[v];
        double *xs = n ? ea->qbuf + start[v] : NULL;   /* no buffer yet before any user */
        if (n) qsort(xs, n, sizeof *xs, ea_dbl_cmp);
        qs[v].n = n;
        qs[v].q = st_quantile_sorted(xs, n, mc->quantile);
        qs[v].ci = st_quantile_ci_sorted(xs, n, mc->quantile, e->alpha);
        qs[v].se = st_quantile_woodruff_se(xs, n, mc->quantile, e->alpha);
    }
}

static void ea_row_quantile(const ea_experiment_cfg *e, const ea_metric_cfg *mc, const ea_qarm *qs,
                            int v, ea_row *r)
{
    int c = e->control_idx;
    r->quantile = mc->quantile;
    r->conversions = qs[v].n;
    r->mean = qs[v].q; r->ci_low = qs[v].ci.low; r->ci_high = qs[v].ci.high;
    r->test = "quantile_woodruff_z";
    if (v == c) return;
    if (qs[v].n < 2 || qs[c].n < 2) {
        r->lift = qs[v].q - qs[c].q;
        r->lift_ci_low = -INFINITY; r->lift_ci_high = INFINITY;
        return;
    }
    st_quantile_test t;
    st_quantile_test_run(qs[v].q, qs[v].se, qs[c].q, qs[c].se, e->alpha, &t);
    r->lift = t.diff; r->rel_lift = t.rel_lift; r->lift_se = t.se;
    r->lift_ci_low = t.diff_ci.low; r->lift_ci_high = t.diff_ci.high;
    r->p_value = t.p_value;
}

int ea_results(ea_engine *ea, const ea_row **out)
{
    const ea_config *cfg = ea->cfg;
    int need = 0;
    for (int x = 0; x < cfg->nexperiments; x++)
        need += cfg->experiments[x].nmetrics * cfg->experiments[x].nvariants;
    if (need > ea->rows_cap) {
        ea->rows = ea_xrealloc(ea->rows, (size_t)need * sizeof *ea->rows);
        ea->rows_cap = need;
    }
    /* no look here: the sequence of looks depends on the data only (one
     * every EA_LOOK_EVERY updates), not on when reports are read, so that a
     * restarted run and a single run agree exactly */
    int nr = 0;
    for (int x = 0; x < cfg->nexperiments; x++) {
        const ea_experiment_cfg *e = &cfg->experiments[x];
        ea_refresh_moments(ea, x);
        const ea_exp_stats *st = &ea->st[x];
        double srm = st->srm_p_min;
        int c = e->control_idx;
        for (int m = 0; m < e->nmetrics; m++) {
            const ea_metric_cfg *mc = &e->metrics[m];
            ea_qarm qs[EA_MAX_VARIANTS];
            if (mc->quantile_line) ea_quantiles(ea, x, m, qs);
            double ps[EA_MAX_VARIANTS], avs[EA_MAX_VARIANTS];
            int nt = 0, tidx[EA_MAX_VARIANTS];
            for (int v = 0; v < e->nvariants; v++) {
                ea_row *r = &ea->rows[nr++];
                memset(r, 0, sizeof *r);
                r->exp = x; r->metric = m; r->variant = v; r->is_control = v == c;
                r->srm_p = srm; r->srm_flag = srm < EA_SRM_ALPHA; r->mixed = st->mixed;
                r->users = st->users[v];
                r->p_value = r->p_adj = r->av_p = r->av_p_adj = 1;
                r->av_ci_low = -INFINITY; r->av_ci_high = INFINITY;
                const ea_arm *a = &st->arm[v][m], *ac = &st->arm[c][m];
                if (ea_metric_paired(mc)) {
                    ea_row_paired(ea, x, m, v, r);
                } else if (mc->quantile_line) {
                    ea_row_quantile(e, mc, qs, v, r);
                } else if (mc->type == EA_CONVERSION) {
                    r->conversions = a->conversions;
                    r->rate = r->users ? (double)a->conversions / (double)r->users : 0;
                    r->mean = r->rate;
                    r->sd = r->users > 1 ? sqrt(r->rate * (1 - r->rate) * (double)r->users / (double)(r->users - 1)) : 0;
                    st_interval w = st_wilson(a->conversions, r->users, e->alpha);
                    r->ci_low = w.low; r->ci_high = w.high;
                    r->test = "z_two_proportion";
                    st_prop_test t;
                    if (v != c && st_prop_test_run(a->conversions, r->users, ac->conversions,
                                                   st->users[c], e->alpha, &t) == 0) {
                        r->lift = t.diff; r->rel_lift = t.rel_lift;
                        r->lift_ci_low = t.diff_ci.low; r->lift_ci_high = t.diff_ci.high;
                        r->p_value = t.p_value;
                    }
                } else {
                    r->conversions = (uint64_t)a->n;
                    double sd = a->n > 1 ? sqrt(a->m2 / (a->n - 1)) : 0;
                    st_mean_ci mi = st_mean_interval(a->n, a->mean, sd, e->alpha);
                    r->mean = a->mean; r->sd = mi.sd; r->ci_low = mi.ci.low; r->ci_high = mi.ci.high;
                    r->test = "welch_t";
                    double sdc = ac->n > 1 ? sqrt(ac->m2 / (ac->n - 1)) : 0;
                    st_welch w;
                    if (v != c && st_welch_run(a->n, a->mean, sd, ac->n, ac->mean, sdc, e->alpha, &w) == 0) {
                        r->lift = w.diff; r->rel_lift = w.rel_lift;
                        r->lift_ci_low = w.diff_ci.low; r->lift_ci_high = w.diff_ci.high;
                        r->p_value = w.p_value; r->lift_se = w.se;
                    } else if (v != c) {
                        r->lift = a->mean - ac->mean;
                        r->lift_ci_low = -INFINITY; r->lift_ci_high = INFINITY;
                    }
                }
                if (v == c) {
                    r->test = "";
                    if (r->srm_flag)
                        snprintf(r->reason, sizeof r->reason, "control; sample ratio mismatch (always-"
                                 "valid p=%.3g < %g): the split is broken, no decision until the "
                                 "assignment is fixed", srm, EA_SRM_ALPHA);
                    else
                        snprintf(r->reason, sizeof r->reason, "control");
                    continue;
                }
                const ea_seq *q = &st->seq[v][m];
                r->av_p = e->sequential == EA_SEQ_MSPRT ? q->p_min : 1;
                r->av_ci_low = q->ci_low; r->av_ci_high = q->ci_high;
                r->av_side = (int)q->side;
                ps[nt] = r->p_value; avs[nt] = r->av_p; tidx[nt] = nr - 1; nt++;
            }
            double pa[EA_MAX_VARIANTS], ava[EA_MAX_VARIANTS];
            if (e->correction == EA_HOLM) { st_holm(ps, pa, nt); st_holm(avs, ava, nt); }
            else if (e->correction == EA_BONFERRONI) { st_bonferroni(ps, pa, nt); st_bonferroni(avs, ava, nt); }
            else for (int i = 0; i < nt; i++) { pa[i] = ps[i]; ava[i] = avs[i]; }
            for (int i = 0; i < nt; i++) {
                ea_row *r = &ea->rows[tidx[i]];
                r->p_adj = pa[i]; r->av_p_adj = ava[i];
                r->significant = pa[i] < e->alpha;
                ea_decide(e, mc, r, r->users, st->users[c]);
            }
        }
    }
    *out = ea->rows;
    return nr;
}
