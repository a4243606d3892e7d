/* analyze.c — exposures, metric attribution and the sufficient statistics
 * they feed (see analyze.h).
 *
 * The users (who was exposed to what, and their values) live in store.c;
 * the looks, estimates and decisions read from these statistics in
 * results.c; the --state tables in checkpoint.c; analyze_int.h is what
 * they share. */
#include "analyze_int.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "assign.h"
#include "hash.h"
#include "sizes.h"
#include "log.h"
#include "seen.h"
#include "stats.h"
#include "store.h"
#include "xsum.h"

#define EA_LOOK_EVERY 16

ea_engine *ea_new(const ea_config *cfg, uint64_t max_users)
{
    ea_engine *ea = calloc(1, sizeof *ea);
    if (!ea) return NULL;
    ea->cfg = cfg;
    ea->st = calloc((size_t)cfg->nexperiments, sizeof *ea->st);
    int sr = ea_store_init(&ea->us, cfg->nexperiments, max_users);
    ea->psum = calloc((size_t)cfg->nexperiments, sizeof *ea->psum);
    if (!ea->st || sr < 0 || !ea->psum) { ea_free(ea); return NULL; }
    for (int x = 0; x < cfg->nexperiments; x++) {
        const ea_experiment_cfg *e = &cfg->experiments[x];
        if (!e->npaired) continue;
        ea->psum[x] = calloc((size_t)e->nvariants * (size_t)e->nmetrics, sizeof(ea_psum));
        if (!ea->psum[x]) { ea_free(ea); return NULL; }
    }
    for (int x = 0; x < cfg->nexperiments; x++) {
        const ea_experiment_cfg *e = &cfg->experiments[x];
        ea->us.slot_size[x] = sizeof(ea_slot) + (size_t)e->nvals * sizeof(ea_uval);
        for (int v = 0; v < EA_MAX_VARIANTS; v++)
            for (int m = 0; m < EA_MAX_METRICS; m++) {
                ea->st[x].seq[v][m].p_min = 1;
                ea->st[x].seq[v][m].ci_low = -INFINITY;
                ea->st[x].seq[v][m].ci_high = INFINITY;
            }
        ea->st[x].srm_p_min = 1;
        for (int m = 0; m < e->nmetrics; m++) {
            const ea_metric_cfg *mc = &e->metrics[m];
            if (mc->event_type >= 0) ea->type_used[(uint8_t)mc->event_type] = 1;
            else ea->name_metrics = 1;
            /* the covariate's and the denominator's events feed statistics too */
            if (mc->covariate) {
                if (mc->cov_event_type >= 0) ea->type_used[(uint8_t)mc->cov_event_type] = 1;
                else ea->name_metrics = 1;
            }
            if (mc->denominator) {
                if (mc->den_event_type >= 0) ea->type_used[(uint8_t)mc->den_event_type] = 1;
                else ea->name_metrics = 1;
            }
        }
    }
    return ea;
}

void ea_free(ea_engine *ea)
{
    if (!ea) return;
    free(ea->st);
    ea_store_free(&ea->us);
    free(ea->rows); free(ea->xarm);
    if (ea->psum)
        for (int x = 0; x < ea->cfg->nexperiments; x++) free(ea->psum[x]);
    free(ea->psum); free(ea->qbuf);
    ea_seen_free(&ea->seen);
    free(ea);
}

const ea_config *ea_cfg(const ea_engine *ea) { return ea->cfg; }
const ea_exp_stats *ea_stats(const ea_engine *ea, int exp) { return &ea->st[exp]; }
uint64_t ea_users(const ea_engine *ea) { return ea->us.n; }
uint64_t ea_events_unknown_experiment(const ea_engine *ea) { return ea->unknown_exp; }

int ea_set_dedup(ea_engine *ea, uint64_t n, int64_t span_us)
{
    ea_seen_free(&ea->seen);
    return ea_seen_init(&ea->seen, n, span_us);
}

static int ea_find_exp(ea_engine *ea, fb_str name);

/* Could ev change a statistic (ea_event remembers exactly these ids)? */
static int ea_concerns(ea_engine *ea, const Event *ev)
{
    if (!ev->user_id.len) return 0;
    if (ea->type_used[(uint8_t)ev->type] || ea->name_metrics) return 1;
    return ev->experiment.len && ea_find_exp(ea, ev->experiment) >= 0;
}

int ea_is_duplicate(ea_engine *ea, const Event *ev)
{
    ea->checked = NULL;
    /* no probe (a cache miss) for the events no experiment looks at */
    if (!ea->seen.d.n || !ev->event_id.len || !ea_concerns(ea, ev)) return 0;
    uint64_t h = ea_seen_hash(ev->event_id.ptr, ev->event_id.len);
    ea_seen_at(&ea->seen, ev->ts);
    dedup_prefetch(&ea->seen.d, h);   /* also the slot the next add evicts */
    if (ea_seen_check(&ea->seen, h)) return 1;
    ea->checked = ev;
    ea->checked_h = h;
    return 0;
}

uint64_t ea_duplicates(const ea_engine *ea) { return ea->seen.duplicates; }
uint64_t ea_users_dropped(const ea_engine *ea)
{
    uint64_t n = 0;
    for (int x = 0; x < ea->cfg->nexperiments; x++) n += ea->st[x].dropped;
    return n;
}
size_t ea_memory(const ea_engine *ea) { return ea_store_memory(&ea->us); }
/* Welford add and replace, for the per-variant moments of per-user values. */
static inline void ea_arm_add(ea_arm *a, double x)
{
    a->n += 1;
    double d = x - a->mean;
    a->mean += d / a->n;
    a->m2 += d * (x - a->mean);
}
static inline void ea_arm_replace(ea_arm *a, double old, double x)
{
    double mean0 = a->mean;
    a->mean += (x - old) / a->n;
    a->m2 += (x - old) * (x - a->mean + old - mean0);
    if (a->m2 < 0) a->m2 = 0;
}

static void ea_x_add(ea_engine *ea, int x, int v, int m, double val, int sign)
{
    if (!ea->mergeable || val == 0) return;
    ea_xarm *a = ea_xa(ea, x, v, m);
    if (xs_add(&a->s1, val, sign) == 0 && xs_add_sq(&a->s2, val, sign) == 0) return;
    /* out of the exact range (xs_add_sq refuses exactly what xs_add does,
     * so nothing was added): kept apart, rounded */
    a->in1 += sign * val;
    a->in2 += sign * val * val;
    if (sign > 0) a->inexact++;
}

int ea_set_mergeable(ea_engine *ea)
{
    size_t n = (size_t)ea->cfg->nexperiments * EA_MAX_VARIANTS * EA_MAX_METRICS;
    ea->xarm = calloc(n ? n : 1, sizeof *ea->xarm);
    if (!ea->xarm) return -1;
    ea->mergeable = 1;
    return 0;
}
int ea_is_mergeable(const ea_engine *ea) { return ea->mergeable; }
ea_xarm *ea_xarm_of(ea_engine *ea, int x, int v, int m) { return ea->mergeable ? ea_xa(ea, x, v, m) : NULL; }
ea_exp_stats *ea_stats_mut(ea_engine *ea, int x) { return &ea->st[x]; }
ea_psum *ea_psum_of(ea_engine *ea, int x, int v, int m)
{
    return ea->psum[x] && ea_metric_paired(&ea->cfg->experiments[x].metrics[m]) ? ea_ps(ea, x, v, m) : NULL;
}

static int ea_find_exp(ea_engine *ea, fb_str name)
{
    const ea_config *c = ea->cfg;
    int l = ea->last_exp;
    if (l < c->nexperiments && fb_str_eq(name, c->experiments[l].name)) return l;
    for (int x = 0; x < c->nexperiments; x++)
        if (fb_str_eq(name, c->experiments[x].name)) { ea->last_exp = x; return x; }
    return -1;
}


/* Expose (or re-see) user u in experiment x, variant v. */
static void ea_expose(ea_engine *ea, int x, ea_entry *u, int v, int64_t ts)
{
    ea_slot *s = ea_slot_find(&ea->us, u, x);
    if (s) {
        if (s->variant != v && !(s->flags & EA_F_MIXED)) {
            s->flags |= EA_F_MIXED;
            ea->st[x].mixed++;
            ea_mark_dirty(&ea->us, u, s);
        }
        return;
    }
    const ea_experiment_cfg *e = &ea->cfg->experiments[x];
    s = ea_slot_new(&ea->us, u, x, v, ts);
    ea_exp_stats *st = &ea->st[x];
    st->users[v]++;
    for (int m = 0; m < e->nmetrics; m++) {  /* a sum counts every exposed user, from 0 */
        const ea_metric_cfg *mc = &e->metrics[m];
        if (mc->type == EA_NUMERIC && mc->aggregate != EA_MEAN) ea_arm_add(&st->arm[v][m], 0);
        if (ea_metric_paired(mc)) ea_ps_add(ea_ps(ea, x, v, m), 0, 0, 1);
    }
    ea_mark_dirty(&ea->us, u, s);
    /* mergeable: looks come with the reports (a count of updates across
     * partitions is not something partitions can agree on) */
    if (++st->updates >= EA_LOOK_EVERY && !ea->mergeable) ea_look(ea, x);
}

static int ea_metric_matches(const ea_metric_cfg *m, const Event *ev)
{
    if (m->event_type >= 0) return ev->type == m->event_type;
    return fb_str_eq(ev->name, m->event);
}

/* A CUPED or ratio metric's share of ea_attribute: the event may move the
 * metric (or numerator), the denominator, or the covariate; the arm's pair
 * sums follow. 1 if anything changed. */
static int ea_attribute_paired(ea_engine *ea, ea_slot *s, const ea_metric_cfg *mc, int m,
                               const Event *ev, uint64_t since)
{
    const ea_experiment_cfg *e = &ea->cfg->experiments[s->exp];
    ea_uval *val = ea_uvals(s), *uv = &val[m];
    int in_window = !(mc->window && since > (uint64_t)mc->window) &&
                    !(!mc->window && e->end_us && ev->ts >= e->end_us);
    double y0, x0;
    ea_pair_of(mc, val, m, &y0, &x0);
    int changed = 0;
    if (in_window && ea_metric_matches(mc, ev)) {
        ea_arm *arm = &ea->st[s->exp].arm[s->variant][m];
        if (mc->type == EA_CONVERSION) {
            if (!uv->count) { uv->count = 1; arm->conversions++; changed = 1; }
        } else if (mc->aggregate == EA_COUNT) {
            if (uv->count < UINT32_MAX) {
                uv->count++;
                if (mc->type == EA_NUMERIC) ea_arm_replace(arm, uv->count - 1, uv->count);
                changed = 1;
            }
        } else if (isfinite(ev->value)) {
            double old = uv->sum;
            uv->sum += ev->value;
            uv->count++;
            if (mc->type == EA_NUMERIC) ea_arm_replace(arm, old, uv->sum);
            changed = 1;
        }
    }
    if (mc->type == EA_RATIO && in_window &&
        (mc->den_event_type >= 0 ? ev->type == mc->den_event_type : fb_str_eq(ev->name, mc->denominator)) &&
        uv->den < UINT32_MAX) {
        uv->den++;
        changed = 1;
    }
    /* the covariate is the user's pre-experiment value: its newest report
     * counts (a replay or a correction replaces, never adds), windows do
     * not apply */
    if (mc->cov_val >= 0 && isfinite(ev->value) &&
        (mc->cov_event_type >= 0 ? ev->type == mc->cov_event_type : fb_str_eq(ev->name, mc->covariate))) {
        val[mc->cov_val].sum = ev->value;
        val[mc->cov_val].count = 1;
        changed = 1;
    }
    if (!changed) return 0;
    double y1, x1;
    ea_pair_of(mc, val, m, &y1, &x1);
    ea_psum *p = ea_ps(ea, s->exp, s->variant, m);
    ea_ps_add(p, y0, x0, -1);
    ea_ps_add(p, y1, x1, 1);
    return 1;
}

/* Attribute a metric event to every experiment the user was exposed to. */
static void ea_attribute(ea_engine *ea, ea_entry *u, const Event *ev)
{
    ea_block *b = ea_blk(&ea->us, u->blk);
    char *p = (char *)ea_blk_slots(b);
    for (int i = 0; i < b->nslots; i++, p += ea->us.slot_size[((ea_slot *)p)->exp]) {
        ea_slot *s = (ea_slot *)p;
        const ea_experiment_cfg *e = &ea->cfg->experiments[s->exp];
        if (ev->ts < s->exposed_ts) continue;
        /* time since exposure, in uint64: both ends may be anywhere in
         * int64 (a producer's choice), where the signed difference overflows */
        uint64_t since = (uint64_t)ev->ts - (uint64_t)s->exposed_ts;
        int touched = 0;
        ea_uval *val = ea_uvals(s);
        for (int m = 0; m < e->nmetrics; m++) {
            const ea_metric_cfg *mc = &e->metrics[m];
            if (ea_metric_paired(mc)) {
                if (ea_attribute_paired(ea, s, mc, m, ev, since)) touched = 1;
                continue;
            }
            if (!ea_metric_matches(mc, ev)) continue;
            if (mc->window && since > (uint64_t)mc->window) continue;
            if (!mc->window && e->end_us && ev->ts >= e->end_us) continue;
            ea_uval *uv = &val[m];
            ea_arm *arm = &ea->st[s->exp].arm[s->variant][m];
            switch (mc->type) {
            case EA_CONVERSION:
                if (uv->count) continue;
                uv->count = 1;
                arm->conversions++;
                break;
            case EA_DURATION:
                if (uv->count) continue;
                uv->count = 1;
                uv->sum = (double)since / 1e6;
                ea_arm_add(arm, uv->sum);
                ea_x_add(ea, s->exp, s->variant, m, uv->sum, 1);
                break;
            default:
                if (mc->aggregate == EA_COUNT) {
                    double old = uv->count;
                    if (uv->count == UINT32_MAX) continue;
                    uv->count++;
                    ea_arm_replace(arm, old, uv->count);
                    ea_x_add(ea, s->exp, s->variant, m, old, -1);
                    ea_x_add(ea, s->exp, s->variant, m, uv->count, 1);
                    break;
                }
                if (!isfinite(ev->value)) continue;
                if (mc->aggregate == EA_SUM) {
                    double old = uv->sum;
                    uv->sum += ev->value;
                    uv->count++;
                    ea_arm_replace(arm, old, uv->sum);
                    ea_x_add(ea, s->exp, s->variant, m, old, -1);
                    ea_x_add(ea, s->exp, s->variant, m, uv->sum, 1);
                } else {
                    double old = uv->count ? uv->sum / uv->count : 0;
                    uv->sum += ev->value;
                    uv->count++;
                    if (uv->count == 1) ea_arm_add(arm, uv->sum);
                    else ea_arm_replace(arm, old, uv->sum / uv->count);
                    ea_x_add(ea, s->exp, s->variant, m, old, -1);
                    ea_x_add(ea, s->exp, s->variant, m, uv->sum / uv->count, 1);
                }
            }
            touched = 1;
        }
        if (touched) {
            ea_mark_dirty(&ea->us, u, s);
            if (++ea->st[s->exp].updates >= EA_LOOK_EVERY && !ea->mergeable) ea_look(ea, s->exp);
        }
    }
}

int ea_event(ea_engine *ea, const Event *ev)
{
    const Event *checked = ea->checked;   /* a hint for this call only */
    ea->checked = NULL;
    int x = -1, v = -1;
    if (ev->experiment.ptr && ev->experiment.len) {
        x = ea_find_exp(ea, ev->experiment);
        if (x < 0) ea->unknown_exp++;
    }
    int metric_event = ea->type_used[(uint8_t)ev->type] || ea->name_metrics;
    if (x < 0 && !metric_event) return EA_OK;
    if (!ev->user_id.ptr || !ev->user_id.len) return x >= 0 ? EA_NO_USER : EA_OK;
    if (ev->user_id.len > EA_MAX_KEY) return x >= 0 ? EA_BAD_USER : EA_OK;
    const ea_experiment_cfg *e = x >= 0 ? &ea->cfg->experiments[x] : NULL;
    if (e) {
        if (ev->variant.ptr && ev->variant.len) {
            v = ea_variant_find(e, ev->variant.ptr, ev->variant.len);
            if (v < 0) return EA_UNKNOWN_VARIANT;
        }
        if ((e->exposure == EA_EXPOSE_EXPOSURE && ev->type != EventType_exposure) ||
            (e->start_us && ev->ts < e->start_us) || (e->end_us && ev->ts >= e->end_us))
            e = NULL;   /* carries the experiment but does not expose */
    }
    /* every event that may change a statistic is remembered, also one of a
     * user not exposed yet: its copy could be attributed after an exposure */
    if (ea->seen.d.n && ev->event_id.len) {
        if (checked == ev) {
            ea_seen_add(&ea->seen, ea->checked_h);
        } else {
            uint64_t h = ea_seen_hash(ev->event_id.ptr, ev->event_id.len);
            ea_seen_at(&ea->seen, ev->ts);
            if (ea_seen_check(&ea->seen, h)) return EA_DUPLICATE;
            ea_seen_add(&ea->seen, h);
        }
    }
    uint32_t tag = ea_user_tag(ev->user_id.ptr, ev->user_id.len);
    ea_entry *u = ea_probe(&ea->us, ev->user_id.ptr, ev->user_id.len, tag);
    if (e) {
        if (v < 0) v = ea_assign(e, ev->user_id.ptr, ev->user_id.len);
        if (!u->blk) {
            u = ea_insert(&ea->us, u, ev->user_id.ptr, ev->user_id.len, tag, ea->us.slot_size[x]);
            if (!u) {
                if (!ea->st[x].dropped++)
                    log_warn("max users (%llu) reached: new exposures are ignored from now on",
                             (unsigned long long)ea->us.max_users);
                return EA_OK;
            }
        }
        ea_expose(ea, x, u, v, ev->ts);
    }
    if (u->blk && metric_event) ea_attribute(ea, u, ev);
    return EA_OK;
}
