/* analyze_int.h — the experiment engine's insides (analyze.c), shared with
 * the file that reads its statistics into results (results.c) and the one
 * that saves and loads them (checkpoint.c), and with nothing else: callers
 * use analyze.h. */
#ifndef EA_ANALYZE_INT_H
#define EA_ANALYZE_INT_H
#include "analyze.h"
#include "seen.h"
#include "store.h"
#include "xsum.h"

struct ea_engine {
    const ea_config *cfg;
    ea_exp_stats *st;             /* per experiment */
    ea_store us;                  /* the exposed users (store.h) */
    uint8_t type_used[256];       /* EventType -> some metric uses it */
    int name_metrics;             /* some metric matches Event.name */
    int last_exp;                 /* cache for the experiment lookup */
    uint64_t unknown_exp;
    ea_row *rows; int rows_cap;
    ea_seen seen;                 /* event_ids counted (seen.h); off unless ea_set_dedup */
    const Event *checked;         /* ea_is_duplicate found it new: ea_event need not look again */
    uint64_t checked_h;
    int mergeable;                /* ea_set_mergeable: looks at reports only, exact moments */
    ea_xarm *xarm;                /* mergeable: per experiment EA_MAX_VARIANTS x EA_MAX_METRICS */
    ea_psum **psum;               /* per experiment with CUPED or ratio metrics: nvariants x
                                     nmetrics (NULL otherwise) */
    double *qbuf; size_t qbuf_cap;   /* quantile metrics: one arm's values at ea_results */
    int settings_saved;           /* --state: ea_setting written by this process */
};

/* Mergeable mode: the exact sums beside the Welford moments (which
 * ea_refresh_moments then overwrites from them). */
static inline ea_xarm *ea_xa(ea_engine *ea, int x, int v, int m)
{
    return &ea->xarm[((size_t)x * EA_MAX_VARIANTS + (size_t)v) * EA_MAX_METRICS + (size_t)m];
}
/* CUPED and ratio metrics: the user's pair (y, x) for metric m, from its
 * values (see ea_psum). */
static inline void ea_pair_of(const ea_metric_cfg *mc, const ea_uval *val, int m, double *y, double *x)
{
    const ea_uval *uv = &val[m];
    if (mc->type == EA_RATIO) {
        *y = mc->aggregate == EA_COUNT ? (double)uv->count : uv->sum;
        *x = (double)uv->den;
        return;
    }
    *y = mc->type == EA_CONVERSION ? (uv->count ? 1 : 0) : mc->aggregate == EA_COUNT ? (double)uv->count : uv->sum;
    *x = val[mc->cov_val].sum;
}
static inline ea_psum *ea_ps(ea_engine *ea, int x, int v, int m)
{
    return &ea->psum[x][v * ea->cfg->experiments[x].nmetrics + m];
}
/* A term xsum refused (rc < 0: out of its exact range) goes to the
 * rounded side sum instead. */
static inline void ea_ps_side(double *in, int rc, double v, int sign)
{
    if (rc < 0) *in += sign * v;
}
static inline void ea_ps_add(ea_psum *p, double y, double x, int sign)
{
    p->n += sign;
    ea_ps_side(&p->in_y, xs_add(&p->y, y, sign), y, sign);
    ea_ps_side(&p->in_x, xs_add(&p->x, x, sign), x, sign);
    ea_ps_side(&p->in_yy, xs_add_sq(&p->yy, y, sign), y * y, sign);
    ea_ps_side(&p->in_xx, xs_add_sq(&p->xx, x, sign), x * x, sign);
    ea_ps_side(&p->in_xy, xs_add_prod(&p->xy, y, x, sign), y * x, sign);
}

/* results.c: a look at experiment x's statistics (the sample-ratio check,
 * and the mSPRT when the experiment is sequential); ea_event calls it every
 * EA_LOOK_EVERY updates, ea_look_all at reports. */
void ea_look(ea_engine *ea, int x);
#endif
