/* partial.c — ExperimentPartial records out, and their merge (partial.h). */
#include "partial.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "timefmt.h"

int ea_partial_write(stream_out *out, ea_engine *ea, const ea_partial_src *src)
{
    const ea_config *cfg = ea_cfg(ea);
    for (int x = 0; x < cfg->nexperiments; x++) {
        const ea_experiment_cfg *e = &cfg->experiments[x];
        const ea_exp_stats *st = ea_stats(ea, x);
        int na = e->nvariants * e->nmetrics;
        ArmPartial arms[EA_MAX_VARIANTS * EA_MAX_METRICS];
        xsum s1[EA_MAX_VARIANTS * EA_MAX_METRICS], s2[EA_MAX_VARIANTS * EA_MAX_METRICS];
        /* normalized copies of the pair sums (1,048 bytes an arm: not on the stack) */
        ea_psum *ps = e->npaired ? calloc((size_t)na, sizeof *ps) : NULL;
        if (e->npaired && !ps) log_fatal("experiment-analyzer: out of memory");
        for (int v = 0; v < e->nvariants; v++)
            for (int m = 0; m < e->nmetrics; m++) {
                int i = v * e->nmetrics + m;
                const ea_xarm *xa = ea_xarm_of(ea, x, v, m);
                ArmPartial *a = &arms[i];
                ArmPartial_init(a);
                a->conversions = st->arm[v][m].conversions;
                a->n = (uint64_t)st->arm[v][m].n;
                s1[i] = xa->s1; s2[i] = xa->s2;
                xs_normalize(&s1[i]); xs_normalize(&s2[i]);   /* canonical: what a reader compares */
                a->sum = s1[i].limb; a->sum_count = XS_LIMBS;
                a->sum_sq = s2[i].limb; a->sum_sq_count = XS_LIMBS;
                a->limb_exp = XS_LOW;
                a->inexact = xa->inexact; a->inexact_sum = xa->in1; a->inexact_sum_sq = xa->in2;
                const ea_psum *p = ea_psum_of(ea, x, v, m);
                if (!p) continue;
                ps[i] = *p;
                xsum *pw[5] = { &ps[i].y, &ps[i].x, &ps[i].yy, &ps[i].xx, &ps[i].xy };
                for (int k = 0; k < 5; k++) xs_normalize(pw[k]);
                a->pair_n = (uint64_t)ps[i].n;
                a->sum_y = ps[i].y.limb; a->sum_y_count = XS_LIMBS;
                a->sum_x = ps[i].x.limb; a->sum_x_count = XS_LIMBS;
                a->sum_yy = ps[i].yy.limb; a->sum_yy_count = XS_LIMBS;
                a->sum_xx = ps[i].xx.limb; a->sum_xx_count = XS_LIMBS;
                a->sum_xy = ps[i].xy.limb; a->sum_xy_count = XS_LIMBS;
                a->pair_inexact_y = ps[i].in_y; a->pair_inexact_x = ps[i].in_x;
                a->pair_inexact_yy = ps[i].in_yy; a->pair_inexact_xx = ps[i].in_xx;
                a->pair_inexact_xy = ps[i].in_xy;
            }
        char fp[17];
        ea_fingerprint(e, fp);
        ExperimentPartial o;
        ExperimentPartial_init(&o);
        o.experiment = FB_STR(e->name);
        o.fingerprint = FB_STR(fp);
        o.topic = FB_STR(src->topic ? src->topic : "-");
        o.partition = src->partition; o.partitions = src->partitions;
        o.offset = src->offset;
        o.watermark = src->watermark; o.prev_watermark = src->prev_watermark;
        o.boundary = src->boundary; o.boundary_last = src->boundary_last; o.every = src->every;
        o.final = (uint8_t)(src->final != 0);
        o.last_ts = src->last_ts;
        o.users = st->users; o.users_count = (uint32_t)e->nvariants;
        o.mixed = st->mixed; o.dropped = st->dropped;
        o.arms = arms; o.arms_count = (uint32_t)na;
        o.metrics = e->nmetrics;
        o.events = src->events;
        int rc = stream_write(out, &ExperimentPartial_desc, &o, NULL, 0);
        free(ps);
        if (rc < 0) return -1;
    }
    return 0;
}

/* ---- merge ---------------------------------------------------------------- */

typedef struct ea_pexp {        /* one experiment of one snapshot */
    int have;
    int64_t offset, last_ts;
    uint64_t users[EA_MAX_VARIANTS], mixed, dropped;
    uint64_t *conv, *n;          /* variants x metrics */
    ea_xarm *xa;
    ea_psum *ps;                 /* variants x metrics, CUPED and ratio metrics' (NULL: none) */
} ea_pexp;

typedef struct ea_snap {        /* one partition at one boundary (or final) */
    int64_t boundary, boundary_last, watermark;
    int64_t idle_at;             /* mono_us an idle one was last read (the lease) */
    int nhave;                   /* experiments received */
    ea_pexp *exp;
} ea_snap;

typedef struct ea_mpart {
    ea_snap *snaps; int n, cap;  /* by boundary, ascending */
    ea_snap *final;
} ea_mpart;

struct ea_merger {
    ea_engine *ea;
    const ea_config *cfg;
    int64_t every;
    char *topic;
    int partitions;              /* 0 until the first partial */
    ea_mpart *parts;
    struct ea_snap **pick;       /* per partition, ea_merger_next's choice */
    int64_t done;                /* last boundary merged (or passed) */
    int started, final_done;
    uint64_t kept, ignored;
    int64_t idle_lease;          /* ea_merger_set_idle_lease */
};

void ea_merger_set_idle_lease(ea_merger *m, int64_t us) { m->idle_lease = us; }

ea_merger *ea_merger_new(ea_engine *ea, int64_t every)
{
    ea_merger *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->ea = ea;
    m->cfg = ea_cfg(ea);
    m->every = every;
    return m;
}

static void ea_snap_free(const ea_config *cfg, ea_snap *s)
{
    if (!s || !s->exp) return;
    for (int x = 0; x < cfg->nexperiments; x++) {
        free(s->exp[x].conv); free(s->exp[x].n); free(s->exp[x].xa); free(s->exp[x].ps);
    }
    free(s->exp);
    s->exp = NULL;
}

void ea_merger_free(ea_merger *m)
{
    if (!m) return;
    for (int p = 0; p < m->partitions; p++) {
        for (int i = 0; i < m->parts[p].n; i++) ea_snap_free(m->cfg, &m->parts[p].snaps[i]);
        free(m->parts[p].snaps);
        if (m->parts[p].final) { ea_snap_free(m->cfg, m->parts[p].final); free(m->parts[p].final); }
    }
    free(m->parts);
    free(m->pick);
    free(m->topic);
    free(m);
}

uint64_t ea_merger_kept(const ea_merger *m) { return m->kept; }
uint64_t ea_merger_ignored(const ea_merger *m) { return m->ignored; }
int ea_merger_done(const ea_merger *m) { return m->final_done; }

static void *ea_mcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) log_fatal("experiment-analyzer: out of memory");
    return p;
}

static void ea_snap_init(const ea_config *cfg, ea_snap *s, int64_t boundary)
{
    memset(s, 0, sizeof *s);
    s->boundary = boundary;
    s->exp = ea_mcalloc((size_t)cfg->nexperiments, sizeof *s->exp);
}

/* Kinds of snapshot (partial.h): one a crossing or a final wrote
 * (boundary <= boundary_last < INT64_MAX), an idle one (boundary_last
 * INT64_MAX: the partition's state while it reads nothing), or one standing
 * for no boundary (an idle one's replacement once it reads again). */
static int ea_snap_normal(const ea_snap *s)
{
    return s->boundary != INT64_MIN && s->boundary <= s->boundary_last && s->boundary_last != INT64_MAX;
}
static int ea_snap_idle(const ea_snap *s) { return s->boundary_last == INT64_MAX; }

static ea_snap *ea_snap_find(ea_mpart *pt, int64_t b)
{
    for (int i = 0; i < pt->n; i++) if (pt->snaps[i].boundary == b) return &pt->snaps[i];
    return NULL;
}

/* The snapshot of partition p at boundary b, created in order if new. */
static ea_snap *ea_snap_at(ea_merger *m, ea_mpart *pt, int64_t b)
{
    int i = 0;
    while (i < pt->n && pt->snaps[i].boundary < b) i++;
    if (i < pt->n && pt->snaps[i].boundary == b) return &pt->snaps[i];
    if (pt->n == pt->cap) {
        pt->cap = pt->cap ? pt->cap * 2 : 8;
        pt->snaps = realloc(pt->snaps, (size_t)pt->cap * sizeof *pt->snaps);
        if (!pt->snaps) log_fatal("experiment-analyzer: out of memory");
    }
    if (i < pt->n) memmove(&pt->snaps[i + 1], &pt->snaps[i], (size_t)(pt->n - i) * sizeof *pt->snaps);
    pt->n++;
    ea_snap_init(m->cfg, &pt->snaps[i], b);
    return &pt->snaps[i];
}

/* Exact sum limbs as xs_normalize leaves them, the top one within what sums
 * of 2^32 in-range values reach (2^46): merging 65,536 cannot overflow.
 * The index of the first bad limb, or -1. */
static int ea_limbs_bad(const int64_t *l, uint32_t n)
{
    for (uint32_t j = 0; j < n; j++) {
        int top = j == XS_LIMBS - 1;
        if (top ? (l[j] > (INT64_C(1) << 46) || l[j] < -(INT64_C(1) << 46))
                : (l[j] < 0 || l[j] >= (INT64_C(1) << 32)))
            return (int)j;
    }
    return -1;
}

static void ea_limbs_load(xsum *s, const int64_t *l, uint32_t n)
{
    memset(s, 0, sizeof *s);
    if (n) memcpy(s->limb, l, n * sizeof(int64_t));
}

int ea_merger_add(ea_merger *m, const ExperimentPartial *p, char *err, size_t errlen)
{
    const ea_config *cfg = m->cfg;
    int x = ea_config_find(cfg, p->experiment.ptr ? p->experiment.ptr : "", p->experiment.len);
    if (x < 0) {
        snprintf(err, errlen, "experiment \"%.*s\" is not in the configuration",
                 (int)(p->experiment.len > 60 ? 60 : p->experiment.len), p->experiment.ptr);
        return -1;
    }
    const ea_experiment_cfg *e = &cfg->experiments[x];
    char fp[17];
    ea_fingerprint(e, fp);
    int nv = e->nvariants, nm = e->nmetrics;
    if (!fb_str_eq(p->fingerprint, fp)) {
        snprintf(err, errlen, "experiment \"%s\": written for another definition (fingerprint %.*s, this "
                 "configuration's %s)", e->name, (int)(p->fingerprint.len > 16 ? 16 : p->fingerprint.len),
                 p->fingerprint.ptr, fp);
        return -1;
    }
    if (p->every != m->every) {
        snprintf(err, errlen, "experiment \"%s\": partial for reports every %lld µs, this merge's "
                 "--report-every is %lld µs", e->name, (long long)p->every, (long long)m->every);
        return -1;
    }
    if ((int)p->users_count != nv || p->metrics != nm || (int)p->arms_count != nv * nm) {
        snprintf(err, errlen, "experiment \"%s\": %u variants and %u arms, the configuration has %d and %d",
                 e->name, p->users_count, p->arms_count, nv, nv * nm);
        return -1;
    }
    for (int i = 0; i < nv * nm; i++) {
        const ArmPartial *a = &p->arms[i];
        if (a->limb_exp != XS_LOW || a->sum_count > XS_LIMBS || a->sum_sq_count > XS_LIMBS) {
            snprintf(err, errlen, "experiment \"%s\": exact sums of another layout (limb_exp %d, %u limbs)",
                     e->name, a->limb_exp, a->sum_count);
            return -1;
        }
        for (int k = 0; k < 2; k++) {
            const int64_t *l = k ? a->sum_sq : a->sum;
            int j = ea_limbs_bad(l, k ? a->sum_sq_count : a->sum_count);
            if (j >= 0) {
                snprintf(err, errlen, "experiment \"%s\": exact sum limb %d out of range (%lld)", e->name, j,
                         (long long)l[j]);
                return -1;
            }
        }
        const ea_metric_cfg *mc = &e->metrics[i % nm];
        if (!ea_metric_paired(mc)) continue;
        /* CUPED and ratio: the pair sums, every one of them */
        const int64_t *pl[5] = { a->sum_y, a->sum_x, a->sum_yy, a->sum_xx, a->sum_xy };
        uint32_t pn[5] = { a->sum_y_count, a->sum_x_count, a->sum_yy_count, a->sum_xx_count, a->sum_xy_count };
        for (int k = 0; k < 5; k++) {
            if (!pn[k] || pn[k] > XS_LIMBS) {
                snprintf(err, errlen, "experiment \"%s\", metric \"%s\": %s metric without its pair sums "
                         "(%u limbs; written by a version that cannot merge it?)", e->name, mc->name,
                         mc->type == EA_RATIO ? "ratio" : "CUPED", pn[k]);
                return -1;
            }
            int j = ea_limbs_bad(pl[k], pn[k]);
            if (j >= 0) {
                snprintf(err, errlen, "experiment \"%s\", metric \"%s\": pair sum limb %d out of range (%lld)",
                         e->name, mc->name, j, (long long)pl[k][j]);
                return -1;
            }
        }
        if (a->pair_n > (UINT64_C(1) << 53)) {
            snprintf(err, errlen, "experiment \"%s\", metric \"%s\": %llu users in the pair sums",
                     e->name, mc->name, (unsigned long long)a->pair_n);
            return -1;
        }
    }
    if (p->partitions < 1 || p->partitions > 65536 || p->partition < 0 || p->partition >= p->partitions) {
        snprintf(err, errlen, "partition %d of %d: out of range", p->partition, p->partitions);
        return -1;
    }
    if (!m->partitions) {
        m->partitions = p->partitions;
        m->parts = ea_mcalloc((size_t)p->partitions, sizeof *m->parts);
        m->pick = ea_mcalloc((size_t)p->partitions, sizeof *m->pick);
        m->topic = strndup(p->topic.ptr ? p->topic.ptr : "", p->topic.len);
        if (!m->topic) log_fatal("experiment-analyzer: out of memory");
    } else if (p->partitions != m->partitions || !fb_str_eq(p->topic, m->topic)) {
        snprintf(err, errlen, "source %.*s with %d partitions: this merge reads %s with %d (one merge per source)",
                 (int)(p->topic.len > 60 ? 60 : p->topic.len), p->topic.ptr, p->partitions, m->topic,
                 m->partitions);
        return -1;
    }
    ea_mpart *pt = &m->parts[p->partition];
    ea_snap *s;
    if (p->final) {
        if (!pt->final) {
            pt->final = ea_mcalloc(1, sizeof *pt->final);
            ea_snap_init(cfg, pt->final, p->boundary);
        }
        s = pt->final;
    } else if (m->started && p->boundary_last < m->done) {
        /* a boundary merged already: a re-emission of what was used, or
         * what ends an idle snapshot held (the partition reads again) */
        if (!(s = ea_snap_find(pt, p->boundary))) { m->ignored++; return 0; }
    } else {
        s = ea_snap_at(m, pt, p->boundary);
    }
    if (!p->final && p->boundary_last == INT64_MAX) s->idle_at = mono_us();   /* a repeat renews it */
    ea_pexp *pe = &s->exp[x];
    if (pe->have && p->offset < pe->offset) { m->ignored++; return 0; }   /* covers less */
    if (pe->have && p->offset == pe->offset) {
        /* the same records: a copy, or the same state for other
         * boundaries (an idle snapshot ended, or idle again where it
         * stopped): the later one says which */
        if (p->final || p->boundary_last == s->boundary_last) { m->ignored++; return 0; }
        s->boundary_last = p->boundary_last;
        s->watermark = p->watermark;
        m->kept++;
        return 0;
    }
    if (!pe->have) {
        s->nhave++;
        pe->conv = ea_mcalloc((size_t)(nv * nm), sizeof *pe->conv);
        pe->n = ea_mcalloc((size_t)(nv * nm), sizeof *pe->n);
        pe->xa = ea_mcalloc((size_t)(nv * nm), sizeof *pe->xa);
        if (e->npaired) pe->ps = ea_mcalloc((size_t)(nv * nm), sizeof *pe->ps);
    }
    pe->have = 1;
    pe->offset = p->offset;
    pe->last_ts = p->last_ts;
    memcpy(pe->users, p->users, (size_t)nv * sizeof *p->users);
    pe->mixed = p->mixed; pe->dropped = p->dropped;
    for (int i = 0; i < nv * nm; i++) {
        const ArmPartial *a = &p->arms[i];
        pe->conv[i] = a->conversions;
        pe->n[i] = a->n;
        ea_xarm *xa = &pe->xa[i];
        memset(xa, 0, sizeof *xa);
        ea_limbs_load(&xa->s1, a->sum, a->sum_count);
        ea_limbs_load(&xa->s2, a->sum_sq, a->sum_sq_count);
        xa->in1 = a->inexact_sum; xa->in2 = a->inexact_sum_sq; xa->inexact = a->inexact;
        if (!pe->ps) continue;
        ea_psum *ps = &pe->ps[i];
        memset(ps, 0, sizeof *ps);
        const ea_metric_cfg *mc = &e->metrics[i % nm];
        if (!ea_metric_paired(mc)) continue;
        ps->n = (double)a->pair_n;
        ea_limbs_load(&ps->y, a->sum_y, a->sum_y_count);
        ea_limbs_load(&ps->x, a->sum_x, a->sum_x_count);
        ea_limbs_load(&ps->yy, a->sum_yy, a->sum_yy_count);
        ea_limbs_load(&ps->xx, a->sum_xx, a->sum_xx_count);
        ea_limbs_load(&ps->xy, a->sum_xy, a->sum_xy_count);
        ps->in_y = a->pair_inexact_y; ps->in_x = a->pair_inexact_x;
        ps->in_yy = a->pair_inexact_yy; ps->in_xx = a->pair_inexact_xx; ps->in_xy = a->pair_inexact_xy;
    }
    s->boundary_last = p->boundary_last;
    s->watermark = p->watermark;
    m->kept++;
    return 0;
}

/* Load the sum of the chosen snapshots (NULL: the partition contributes
 * nothing) into the engine. */
static void ea_merger_load(ea_merger *m, ea_snap **pick, int64_t *last_ts)
{
    const ea_config *cfg = m->cfg;
    *last_ts = 0;
    for (int x = 0; x < cfg->nexperiments; x++) {
        const ea_experiment_cfg *e = &cfg->experiments[x];
        ea_exp_stats *st = ea_stats_mut(m->ea, x);
        memset(st->users, 0, sizeof st->users);
        st->mixed = st->dropped = 0;
        for (int v = 0; v < e->nvariants; v++)
            for (int k = 0; k < e->nmetrics; k++) {
                st->arm[v][k].conversions = 0;
                st->arm[v][k].n = 0;
                memset(ea_xarm_of(m->ea, x, v, k), 0, sizeof(ea_xarm));
                ea_psum *ps = ea_psum_of(m->ea, x, v, k);
                if (ps) memset(ps, 0, sizeof *ps);
            }
        /* in partition order: the rounded sums of values outside the exact
         * range are then the same at every merge of the same partials */
        for (int p = 0; p < m->partitions; p++) {
            if (!pick[p]) continue;
            const ea_pexp *pe = &pick[p]->exp[x];
            if (pe->last_ts > *last_ts) *last_ts = pe->last_ts;
            for (int v = 0; v < e->nvariants; v++) st->users[v] += pe->users[v];
            st->mixed += pe->mixed; st->dropped += pe->dropped;
            for (int v = 0; v < e->nvariants; v++)
                for (int k = 0; k < e->nmetrics; k++) {
                    int i = v * e->nmetrics + k;
                    st->arm[v][k].conversions += pe->conv[i];
                    st->arm[v][k].n += (double)pe->n[i];
                    ea_xarm *xa = ea_xarm_of(m->ea, x, v, k);
                    xs_merge(&xa->s1, &pe->xa[i].s1);
                    xs_merge(&xa->s2, &pe->xa[i].s2);
                    xa->in1 += pe->xa[i].in1; xa->in2 += pe->xa[i].in2;
                    xa->inexact += pe->xa[i].inexact;
                    ea_psum *ps = ea_psum_of(m->ea, x, v, k);
                    if (!ps || !pe->ps) continue;
                    const ea_psum *q = &pe->ps[i];
                    ps->n += q->n;
                    xs_merge(&ps->y, &q->y); xs_merge(&ps->x, &q->x);
                    xs_merge(&ps->yy, &q->yy); xs_merge(&ps->xx, &q->xx); xs_merge(&ps->xy, &q->xy);
                    ps->in_y += q->in_y; ps->in_x += q->in_x;
                    ps->in_yy += q->in_yy; ps->in_xx += q->in_xx; ps->in_xy += q->in_xy;
                }
        }
    }
}

static int ea_snap_complete(const ea_merger *m, const ea_snap *s)
{
    return s && s->nhave == m->cfg->nexperiments;
}

/* Drop the snapshots no later boundary can use. */
static void ea_merger_gc(ea_merger *m)
{
    for (int p = 0; p < m->partitions; p++) {
        ea_mpart *pt = &m->parts[p];
        int k = 0;
        while (k < pt->n && ea_snap_complete(m, &pt->snaps[k]) && pt->snaps[k].boundary_last < m->done) k++;
        if (!k) continue;
        for (int i = 0; i < k; i++) ea_snap_free(m->cfg, &pt->snaps[i]);
        memmove(pt->snaps, pt->snaps + k, (size_t)(pt->n - k) * sizeof *pt->snaps);
        pt->n -= k;
    }
}

int ea_merger_next(ea_merger *m, int64_t *last_ts)
{
    if (!m->partitions || m->final_done) return 0;
    ea_snap **pick = m->pick;
    /* without boundaries (--report-every 0) only the last report */
    while (m->every) {
        /* the next boundary some partition sat below */
        int64_t b = INT64_MAX;
        int found = 0;
        for (int p = 0; p < m->partitions; p++) {
            ea_mpart *pt = &m->parts[p];
            for (int i = 0; i < pt->n; i++)
                if (ea_snap_normal(&pt->snaps[i]) && (!m->started || pt->snaps[i].boundary > m->done) &&
                    pt->snaps[i].boundary < b) {
                    b = pt->snaps[i].boundary; found = 1;
                    break;
                }
            /* a partition without any event sat below nothing */
            if (pt->final && pt->final->watermark != INT64_MIN &&
                (!m->started || pt->final->boundary > m->done) && pt->final->boundary < b) {
                b = pt->final->boundary; found = 1;
            }
        }
        if (!found) break;
        int crossed = 0;
        for (int p = 0; p < m->partitions; p++) {
            ea_mpart *pt = &m->parts[p];
            pick[p] = NULL;
            int ready = 0;
            ea_snap *idle = NULL;
            for (int i = 0; i < pt->n && !ready; i++) {
                ea_snap *s = &pt->snaps[i];
                if (ea_snap_idle(s) && s->boundary <= b) idle = s;
                if (!ea_snap_normal(s)) continue;
                if (s->boundary <= b && b <= s->boundary_last) {
                    if (!ea_snap_complete(m, s)) return 0;      /* the rest of it is on its way */
                    pick[p] = s; crossed = ready = 1;
                }
            }
            if (ready) continue;
            if (pt->final && ea_snap_complete(m, pt->final) && pt->final->watermark < b) {
                pick[p] = pt->final;                             /* ended before b */
                continue;
            }
            /* reads nothing: as it stands, while its instance repeats so
             * (gone, records may come before its next owner reads them) */
            if (idle && mono_us() - idle->idle_at <= m->idle_lease) {
                if (!ea_snap_complete(m, idle)) return 0;
                pick[p] = idle;
                continue;
            }
            /* nothing yet before b: it had no event before b, or it is late */
            int64_t first = INT64_MAX;
            for (int i = 0; i < pt->n && first == INT64_MAX; i++)
                if (ea_snap_normal(&pt->snaps[i])) first = pt->snaps[i].boundary;
            if (pt->final && pt->final->watermark != INT64_MIN && pt->final->boundary < first)
                first = pt->final->boundary;
            if (first == INT64_MAX || first <= b) return 0;      /* not there yet */
            crossed = 1;                                          /* its first event is at or after b */
        }
        m->started = 1;
        m->done = b;
        if (crossed) {
            ea_merger_load(m, pick, last_ts);
            ea_merger_gc(m);
            return 1;
        }
        ea_merger_gc(m);
    }
    /* the last report: every partition at its end */
    for (int p = 0; p < m->partitions; p++) {
        if (!ea_snap_complete(m, m->parts[p].final)) return 0;
        pick[p] = m->parts[p].final;
    }
    ea_merger_load(m, pick, last_ts);
    m->final_done = 1;
    return 1;
}
