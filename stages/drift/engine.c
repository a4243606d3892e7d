/* engine.c — per-series state, the step for one Metric, and the checkpoint
 * blob (see engine.h; the formulas are in detect.c, the rules in README.md).
 *
 * Series key: the metric name, then the labels sorted by key, NUL-separated
 * ("name\0k1\0v1\0k2\0v2\0"), so label order in the input does not matter.
 * The same buffer holds the strings the output records point to. */
#include "engine.h"
#include "sizes.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hash.h"
#include "log.h"

#define DRIFT_MAX_LABELS STREAMREC_MAX_LABELS   /* sizes.h: what ingest can send, and more */
/* "DRF2": ph and cusum on self-starting baselines with a scale statistic
 * (issue 18). "DRF1" blobs (frozen baselines; before that an EWMA zscore)
 * are refused with a message that says so. */
#define DRIFT_BLOB_MAGIC 0x32465244u
#define DRIFT_BLOB_MAGIC_V1 0x31465244u
#define NDET (Detector_MAX + 1)
/* Times and counts are kept within +-2^61 (times: about 73,000 years in µs),
 * so sums of two of them (a step, a forecast time) never overflow. */
#define DRIFT_TLIM ((int64_t)1 << 61)
#define DRIFT_VLIM 1e150          /* |observation| beyond this: bad_value (squares must stay finite) */

typedef struct series {
    char *key; uint32_t keylen, namelen, nlabels;
    KeyValue *kv;                 /* nlabels, pointing into key */
    int64_t n, last_end, step;
    dd_cusum cusum; dd_ph ph; dd_adwin aw; dd_holt holt;
    dd_rz *rz;                    /* zscore only: 2.5 KiB */
    uint8_t z_anom, psi_drifted, ks_drifted;
    int64_t z_ok, since;
    double *ref, *cur; int ref_n, cur_n, cur_head;
    int64_t quiet[NDET];          /* a drift from detector d again only once n >= quiet[d] */
    int32_t part;                 /* the input partition of its latest record (-1: none, or a byte stream) */
    uint8_t dirty;                /* tracking: changed since the last drift_engine_changed */
} series;

struct drift_engine {
    drift_config c;
    drift_emit_drift ed; drift_emit_metric em; void *ctx;
    series **s; uint64_t ns, scap;
    uint32_t *tab; uint64_t tcap;  /* open addressing: series index + 1, 0 empty */
    char *kb; size_t kbcap;        /* key scratch */
    double *sa, *sb;               /* psi/ks scratch, window each */
    KeyValue *lab;                 /* forecast labels scratch */
    const KeyValue **ord;          /* labels in key order scratch */
    char *fname; size_t fnamecap;
    char why[200];
    drift_counters cnt;
    int track;                     /* drift_engine_track: keep the list below */
    series **dirty; size_t ndirty, dcap;   /* changed since the last drift_engine_changed */
};

static void *xmalloc(size_t n) { void *p = malloc(n ? n : 1); if (!p) log_fatal("out of memory"); return p; }
static void *xcalloc(size_t n, size_t sz) { void *p = calloc(n ? n : 1, sz); if (!p) log_fatal("out of memory"); return p; }

static int uses(const drift_engine *e, int d) { return (e->c.detectors >> d) & 1u; }
static int uses_win(const drift_engine *e) { return uses(e, Detector_psi) || uses(e, Detector_ks); }

drift_engine *drift_engine_new(const drift_config *c, drift_emit_drift ed, drift_emit_metric em, void *ctx)
{
    drift_engine *e = xcalloc(1, sizeof *e);
    e->c = *c;
    if (!(e->c.anomaly_rate > 0 && e->c.anomaly_rate < 1)) e->c.anomaly_rate = DRIFT_ANOMALY_RATE;
    e->ed = ed; e->em = em; e->ctx = ctx;
    e->tcap = 64;
    e->tab = xcalloc(e->tcap, sizeof *e->tab);
    e->sa = xmalloc((size_t)c->window * sizeof(double));
    e->sb = xmalloc((size_t)c->window * sizeof(double));
    e->lab = xmalloc((DRIFT_MAX_LABELS + 1) * sizeof(KeyValue));
    e->ord = xmalloc(DRIFT_MAX_LABELS * sizeof *e->ord);
    return e;
}

static void series_free(series *s)
{
    if (!s) return;
    free(s->key); free(s->kv); free(s->aw.v); free(s->ref); free(s->cur); free(s->rz);
    free(s);
}

void drift_engine_free(drift_engine *e)
{
    if (!e) return;
    for (uint64_t i = 0; i < e->ns; i++) series_free(e->s[i]);
    free(e->s); free(e->tab); free(e->kb); free(e->sa); free(e->sb); free(e->lab); free(e->ord); free(e->fname);
    free(e->dirty);
    free(e);
}

uint64_t drift_engine_series(const drift_engine *e) { return e->ns; }
const drift_counters *drift_engine_counters(const drift_engine *e) { return &e->cnt; }

uint64_t drift_config_fingerprint(const drift_config *c)
{
    /* only what shapes the saved state: thresholds may change across restarts */
    uint64_t h = HASH_FNV1A64_BASIS;
    h = hash_fnv1a64_more(h, &c->detectors, sizeof c->detectors);
    h = hash_fnv1a64_more(h, &c->field, sizeof c->field);
    h = hash_fnv1a64_more(h, &c->field_q, sizeof c->field_q);
    h = hash_fnv1a64_more(h, &c->warmup, sizeof c->warmup);
    /* the zscore state is a robust window now (issue 18): a blob of the
     * EWMA baseline it replaced reads as other settings, never as garbage */
    static const char zscore_state[] = "zscore: median/MAD window of 128, 64 behind";
    h = hash_fnv1a64_more(h, zscore_state, sizeof zscore_state);
    h = hash_fnv1a64_more(h, &c->ph_delta, sizeof c->ph_delta);
    h = hash_fnv1a64_more(h, &c->cusum_k, sizeof c->cusum_k);
    h = hash_fnv1a64_more(h, &c->adwin_max, sizeof c->adwin_max);
    h = hash_fnv1a64_more(h, &c->window, sizeof c->window);
    h = hash_fnv1a64_more(h, &c->holt_alpha, sizeof c->holt_alpha);
    h = hash_fnv1a64_more(h, &c->holt_beta, sizeof c->holt_beta);
    return h;
}

/* ---- series table ------------------------------------------------------- */

static void tab_grow(drift_engine *e)
{
    uint64_t cap = e->tcap * 2;
    uint32_t *t = xcalloc(cap, sizeof *t);
    for (uint64_t i = 0; i < e->ns; i++) {
        uint64_t h = hash_table(e->s[i]->key, e->s[i]->keylen) & (cap - 1);
        while (t[h]) h = (h + 1) & (cap - 1);
        t[h] = (uint32_t)(i + 1);
    }
    free(e->tab);
    e->tab = t; e->tcap = cap;
}

/* the slot of key, or of the empty place where it would go */
static uint64_t tab_find(const drift_engine *e, const char *key, uint32_t len)
{
    uint64_t h = hash_table(key, len) & (e->tcap - 1);
    for (;;) {
        uint32_t v = e->tab[h];
        if (!v) return h;
        const series *s = e->s[v - 1];
        if (s->keylen == len && memcmp(s->key, key, len) == 0) return h;
        h = (h + 1) & (e->tcap - 1);
    }
}

/* A series from its key bytes (validated by the caller). */
static series *series_new(drift_engine *e, const char *key, uint32_t keylen, uint32_t namelen, uint32_t nlabels)
{
    series *s = xcalloc(1, sizeof *s);
    s->key = xmalloc(keylen);
    memcpy(s->key, key, keylen);
    s->keylen = keylen; s->namelen = namelen; s->nlabels = nlabels;
    s->kv = xcalloc(nlabels, sizeof *s->kv);
    const char *p = s->key + namelen + 1;
    for (uint32_t i = 0; i < nlabels; i++) {
        size_t kl = strlen(p);
        s->kv[i].key = FB_STRN(p, kl); p += kl + 1;
        size_t vl = strlen(p);
        s->kv[i].value = FB_STRN(p, vl); p += vl + 1;
    }
    if (uses(e, Detector_zscore)) s->rz = xcalloc(1, sizeof *s->rz);
    if (uses(e, Detector_adwin)) { s->aw.cap = (int)e->c.adwin_max; s->aw.v = xmalloc((size_t)s->aw.cap * sizeof(double)); }
    if (uses_win(e)) {
        s->ref = xmalloc((size_t)e->c.window * sizeof(double));
        s->cur = xmalloc((size_t)e->c.window * sizeof(double));
    }
    return s;
}

static void series_insert(drift_engine *e, series *s, uint64_t slot)
{
    if (e->ns == e->scap) {
        e->scap = e->scap ? e->scap * 2 : 64;
        series **n = realloc(e->s, e->scap * sizeof *n);
        if (!n) log_fatal("out of memory");
        e->s = n;
    }
    e->s[e->ns++] = s;
    e->tab[slot] = (uint32_t)e->ns;
    if (e->ns * 2 > e->tcap) tab_grow(e);
}

static int kv_cmp(const KeyValue *a, const KeyValue *b)
{
    uint32_t n = a->key.len < b->key.len ? a->key.len : b->key.len;
    int c = n ? memcmp(a->key.ptr, b->key.ptr, n) : 0;
    return c ? c : (a->key.len > b->key.len) - (a->key.len < b->key.len);
}

/* Key order, then place in the record (ord points into one labels array),
 * so that the order is the insertion sort's. */
static int kv_ptr_cmp(const void *a, const void *b)
{
    const KeyValue *x = *(const KeyValue *const *)a, *y = *(const KeyValue *const *)b;
    int c = kv_cmp(x, y);
    return c ? c : (x > y) - (x < y);
}

/* Key of m into e->kb; 0, or -1 with *why. */
static int build_key(drift_engine *e, const Metric *m, uint32_t *len, const char **why)
{
    if (!m->name.ptr || !m->name.len) { *why = "the Metric has no name"; return -1; }
    if (m->labels_count > DRIFT_MAX_LABELS) {
        snprintf(e->why, sizeof e->why, "%u labels, more than %d", m->labels_count, DRIFT_MAX_LABELS);
        *why = e->why; return -1;
    }
    const KeyValue **ord = e->ord;
    size_t need = m->name.len + 1;
    for (uint32_t i = 0; i < m->labels_count; i++) {
        const KeyValue *kv = &m->labels[i];
        if (memchr(kv->key.ptr ? kv->key.ptr : "", 0, kv->key.len) ||
            memchr(kv->value.ptr ? kv->value.ptr : "", 0, kv->value.len)) {
            *why = "a label contains a NUL byte"; return -1;
        }
        need += kv->key.len + kv->value.len + 2;
        ord[i] = kv;
    }
    if (m->labels_count <= 16) {                 /* insertion sort: the usual handful of labels */
        for (uint32_t i = 1; i < m->labels_count; i++) {
            const KeyValue *kv = ord[i];
            uint32_t j = i;
            while (j > 0 && kv_cmp(ord[j - 1], kv) > 0) { ord[j] = ord[j - 1]; j--; }
            ord[j] = kv;
        }
    } else {                                     /* thousands: stable too (ties by position) */
        qsort(ord, m->labels_count, sizeof *ord, kv_ptr_cmp);
    }
    if (memchr(m->name.ptr, 0, m->name.len)) { *why = "the name contains a NUL byte"; return -1; }
    if (need > UINT32_MAX / 2) { *why = "key too long"; return -1; }
    if (need > e->kbcap) {
        free(e->kb);
        e->kbcap = need * 2;
        e->kb = xmalloc(e->kbcap);
    }
    size_t n = 0;
    memcpy(e->kb, m->name.ptr, m->name.len); n += m->name.len; e->kb[n++] = 0;
    for (uint32_t i = 0; i < m->labels_count; i++) {
        if (ord[i]->key.len) memcpy(e->kb + n, ord[i]->key.ptr, ord[i]->key.len);
        n += ord[i]->key.len; e->kb[n++] = 0;
        if (ord[i]->value.len) memcpy(e->kb + n, ord[i]->value.ptr, ord[i]->value.len);
        n += ord[i]->value.len; e->kb[n++] = 0;
    }
    *len = (uint32_t)n;
    return 0;
}

/* ---- the step ------------------------------------------------------------ */

static int observation(drift_engine *e, const Metric *m, double *x, const char **why)
{
    switch (e->c.field) {
    case DRIFT_F_VALUE: *x = m->value; return 0;
    case DRIFT_F_MEAN: *x = m->mean; return 0;
    case DRIFT_F_COUNT: *x = (double)m->count; return 0;
    case DRIFT_F_SUM: *x = m->sum; return 0;
    case DRIFT_F_MIN: *x = m->min; return 0;
    case DRIFT_F_MAX: *x = m->max; return 0;
    case DRIFT_F_STDDEV: *x = m->stddev; return 0;
    default:
        for (uint32_t i = 0; i < m->quantiles_count; i++)
            if (fabs(m->quantiles[i].q - e->c.field_q) < 1e-9) { *x = m->quantiles[i].value; return 0; }
        snprintf(e->why, sizeof e->why, "no quantile %g in the Metric (--field)", e->c.field_q);
        *why = e->why;
        return -1;
    }
}

static Severity severity_of(double ratio)
{
    return ratio < 2 ? Severity_warning : ratio < 4 ? Severity_critical : Severity_emergency;
}

static int emit(drift_engine *e, const series *s, int64_t ts, Detector det, DriftKind kind,
                double stat, double thr, double p, double ref, double cur, Severity sev)
{
    Drift d;
    Drift_init(&d);
    d.ts = ts;
    d.series = FB_STRN(s->key, s->namelen);
    d.labels = s->kv; d.labels_count = s->nlabels;
    d.detector = det; d.kind = kind;
    d.statistic = stat; d.threshold = thr; d.p_value = p;
    d.reference = ref; d.current = cur;
    d.severity = kind == DriftKind_recovery ? Severity_info : sev;
    if (kind == DriftKind_drift) e->cnt.drifts++;
    else if (kind == DriftKind_anomaly) e->cnt.anomalies++;
    else e->cnt.recoveries++;
    return e->ed(e->ctx, &d);
}

static double mean_of(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return n ? s / n : 0;
}

static int forecasts(drift_engine *e, series *s, int64_t ts)
{
    size_t need = s->namelen + 10;
    if (need > e->fnamecap) { free(e->fname); e->fnamecap = need * 2; e->fname = xmalloc(e->fnamecap); }
    memcpy(e->fname, "forecast.", 9);
    memcpy(e->fname + 9, s->key, s->namelen);
    e->fname[9 + s->namelen] = 0;
    memcpy(e->lab, s->kv, s->nlabels * sizeof *e->lab);
    /* the horizon label goes last, or replaces one the series already has
     * (two labels of one name would make an ambiguous series downstream) */
    uint32_t hl = s->nlabels, nl = s->nlabels + 1;
    for (uint32_t j = 0; j < s->nlabels; j++)
        if (fb_str_eq(s->kv[j].key, "horizon")) { hl = j; nl = s->nlabels; break; }
    for (int i = 0; i < e->c.nhorizons; i++) {
        double half, k = (double)e->c.horizons[i] / (double)s->step;
        double y = dd_holt_forecast(&s->holt, k, e->c.holt_alpha, e->c.holt_beta, &half);
        Metric m;
        Metric_init(&m);
        m.name = FB_STRN(e->fname, 9 + s->namelen);
        e->lab[hl].key = FB_STR("horizon");
        e->lab[hl].value = FB_STR(e->c.horizon_names[i]);
        m.labels = e->lab; m.labels_count = nl;
        m.window_start = m.window_end = ts + e->c.horizons[i];
        m.count = (uint64_t)s->n;
        m.value = y; m.min = y - half; m.max = y + half;
        m.stddev = half / 1.959963984540054;
        e->cnt.forecasts++;
        if (e->em(e->ctx, &m) < 0) return -1;
    }
    return 0;
}

static int window_tests(drift_engine *e, series *s, int64_t ts, int alert_ok)
{
    int W = (int)e->c.window;
    if (s->ref_n < W) { return 0; }
    if (s->cur_n < W || s->since < e->c.every || !alert_ok) return 0;
    s->since = 0;
    double rmean = mean_of(s->ref, W), cmean = 0;
    for (int i = 0; i < W; i++) e->sb[i] = s->cur[(s->cur_head + i) % W];
    cmean = mean_of(e->sb, W);
    memcpy(e->sa, s->ref, (size_t)W * sizeof(double));
    if (uses(e, Detector_psi)) {
        double v = dd_psi(e->sa, W, e->sb, W, (int)e->c.bins), thr = e->c.psi_threshold;
        if (!s->psi_drifted && v > thr) {
            s->psi_drifted = 1;
            if (emit(e, s, ts, Detector_psi, DriftKind_drift, v, thr, -1, rmean, cmean, severity_of(v / thr)) < 0) return -1;
        } else if (s->psi_drifted && v <= thr) {
            s->psi_drifted = 0;
            if (emit(e, s, ts, Detector_psi, DriftKind_recovery, v, thr, -1, rmean, cmean, 0) < 0) return -1;
        }
    }
    if (uses(e, Detector_ks)) {
        double p, D = dd_ks(e->sa, e->sb, W, &p), a = e->c.ks_alpha;
        if (!s->ks_drifted && p < a) {
            s->ks_drifted = 1;
            Severity sev = p < a * 1e-6 ? Severity_emergency : p < a * 1e-3 ? Severity_critical : Severity_warning;
            if (emit(e, s, ts, Detector_ks, DriftKind_drift, D, a, p, rmean, cmean, sev) < 0) return -1;
        } else if (s->ks_drifted && p >= a) {
            s->ks_drifted = 0;
            if (emit(e, s, ts, Detector_ks, DriftKind_recovery, D, a, p, rmean, cmean, 0) < 0) return -1;
        }
    }
    return 0;
}

static void mark_dirty(drift_engine *e, series *s)
{
    if (!e->track || s->dirty) return;
    if (e->ndirty == e->dcap) {
        e->dcap = e->dcap ? e->dcap * 2 : 256;
        series **d = realloc(e->dirty, e->dcap * sizeof *d);
        if (!d) log_fatal("out of memory");
        e->dirty = d;
    }
    e->dirty[e->ndirty++] = s;
    s->dirty = 1;
}

int drift_engine_metric(drift_engine *e, const Metric *m, const char **why)
{
    return drift_engine_metric_at(e, m, -1, why);
}

int drift_engine_metric_at(drift_engine *e, const Metric *m, int32_t part, const char **why)
{
    double x;
    uint32_t klen;
    if (build_key(e, m, &klen, why) < 0) return DRIFT_BADREC;
    if (observation(e, m, &x, why) < 0) return DRIFT_MISSING;
    if (!isfinite(x)) { *why = "the observed value is NaN or infinite"; return DRIFT_BADVALUE; }
    /* squares of larger values overflow the running variances (every detector
     * of the series would go blind, silently) */
    if (fabs(x) > DRIFT_VLIM) {
        snprintf(e->why, sizeof e->why, "the observed value %g is beyond +-%g", x, DRIFT_VLIM);
        *why = e->why;
        return DRIFT_BADVALUE;
    }
    if (m->window_end < -DRIFT_TLIM || m->window_end > DRIFT_TLIM) {
        snprintf(e->why, sizeof e->why, "window_end %lld is out of range", (long long)m->window_end);
        *why = e->why;
        return DRIFT_BADREC;
    }
    uint64_t slot = tab_find(e, e->kb, klen);
    series *s;
    if (e->tab[slot]) s = e->s[e->tab[slot] - 1];
    else {
        if ((int64_t)e->ns >= e->c.max_series) { e->cnt.untracked++; return DRIFT_OK; }
        s = series_new(e, e->kb, klen, m->name.len, m->labels_count);
        s->part = part;
        series_insert(e, s, slot);
    }
    int64_t ts = m->window_end;
    if (s->n > 0 && ts <= s->last_end) {
        snprintf(e->why, sizeof e->why, "window_end %lld is not after the series' previous one (%lld)",
                 (long long)ts, (long long)s->last_end);
        *why = e->why;
        return DRIFT_ORDER;
    }
    int64_t ws = m->window_start;
    s->step = s->n > 0 ? ts - s->last_end : (ws < ts && ws >= -DRIFT_TLIM ? ts - ws : 0);
    s->last_end = ts;
    s->n++;
    /* the partition its latest record came on owns it (a producer that
     * keys by series sends it on one only) */
    s->part = part;
    mark_dirty(e, s);
    e->cnt.observations++;
    const drift_config *c = &e->c;
    int alert_ok = s->n > c->warmup;
    double stat, ref, eps, m0, m1;

    dd_change ch;
    if (uses(e, Detector_page_hinkley) && dd_ph_add(&s->ph, x, c->warmup, c->ph_delta, c->ph_lambda, &ch) &&
        alert_ok && s->n >= s->quiet[Detector_page_hinkley]) {
        s->quiet[Detector_page_hinkley] = s->n + c->cooldown;
        if (emit(e, s, ts, Detector_page_hinkley, DriftKind_drift, ch.stat, c->ph_lambda, -1, ch.ref, ch.cur,
                 severity_of(ch.stat / c->ph_lambda)) < 0) return DRIFT_ERR;
    }
    if (uses(e, Detector_cusum) && dd_cusum_add(&s->cusum, x, c->warmup, c->cusum_k, c->cusum_h, &ch) &&
        alert_ok && s->n >= s->quiet[Detector_cusum]) {
        s->quiet[Detector_cusum] = s->n + c->cooldown;
        if (emit(e, s, ts, Detector_cusum, DriftKind_drift, ch.stat, c->cusum_h, -1, ch.ref, ch.cur,
                 severity_of(ch.stat / c->cusum_h)) < 0) return DRIFT_ERR;
    }
    if (uses(e, Detector_adwin) && dd_adwin_add(&s->aw, x, c->adwin_delta, (int)c->adwin_min, &stat, &eps, &m0, &m1) &&
        alert_ok && s->n >= s->quiet[Detector_adwin]) {
        s->quiet[Detector_adwin] = s->n + c->cooldown;
        if (emit(e, s, ts, Detector_adwin, DriftKind_drift, stat, eps, -1, m0, m1,
                 severity_of(eps > 0 ? stat / eps : INFINITY)) < 0) return DRIFT_ERR;
    }
    if (uses(e, Detector_zscore)) {
        int ready;
        double z = dd_rz_z(s->rz, x, &ref, &ready), az = fabs(z);
        double thr = dd_rz_threshold(s->rz, c->anomaly_rate, c->threshold);
        if (ready && alert_ok && !s->z_anom) {
            /* every point that could alarm teaches the threshold: the
             * alarms stay at anomaly_rate per such point (detect.h) */
            int alarm = az > thr;
            dd_rz_learn(s->rz, alarm, c->anomaly_rate, c->threshold);
            if (alarm) {
                s->z_anom = 1; s->z_ok = 0;
                if (emit(e, s, ts, Detector_zscore, DriftKind_anomaly, z, thr, -1, ref, x,
                         severity_of(az / thr)) < 0) return DRIFT_ERR;
            }
        } else if (s->z_anom) {
            s->z_ok = az <= thr ? s->z_ok + 1 : 0;
            if (s->z_ok >= c->recovery) {
                s->z_anom = 0;
                if (emit(e, s, ts, Detector_zscore, DriftKind_recovery, z, thr, -1, ref, x, 0) < 0)
                    return DRIFT_ERR;
            }
        }
        dd_rz_add(s->rz, x);
    }
    if (uses_win(e)) {
        int W = (int)c->window;
        if (s->ref_n < W) s->ref[s->ref_n++] = x;
        else {
            if (s->cur_n < W) s->cur[(s->cur_head + s->cur_n++) % W] = x;
            else { s->cur[s->cur_head] = x; s->cur_head = (s->cur_head + 1) % W; }
            s->since++;
        }
        if (window_tests(e, s, ts, alert_ok) < 0) return DRIFT_ERR;
    }
    if (c->nhorizons) {
        dd_holt_add(&s->holt, x, c->holt_alpha, c->holt_beta);
        if (alert_ok && s->step > 0 && forecasts(e, s, ts) < 0) return DRIFT_ERR;
    }
    return DRIFT_OK;
}

/* ---- checkpoint blob (little-endian host, fixed-width fields) ------------ */

typedef struct wbuf { uint8_t *p; size_t len, cap; } wbuf;
static void wput(wbuf *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 256;
        uint8_t *p = realloc(b->p, b->cap);
        if (!p) log_fatal("out of memory");
        b->p = p;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}
static void w64(wbuf *b, uint64_t v) { wput(b, &v, 8); }
static void wi64(wbuf *b, int64_t v) { wput(b, &v, 8); }
static void wf(wbuf *b, double v) { wput(b, &v, 8); }
static void w32(wbuf *b, uint32_t v) { wput(b, &v, 4); }
static void w8(wbuf *b, uint8_t v) { wput(b, &v, 1); }
static void wwelford(wbuf *b, const dd_welford *w) { wi64(b, w->n); wf(b, w->mean); wf(b, w->m2); }
static void wbase(wbuf *b, const dd_base *s) { wwelford(b, &s->x); wwelford(b, &s->g); }
static void wphside(wbuf *b, const dd_ph_side *s)
{
    wf(b, s->mean); wf(b, s->up); wf(b, s->up_min); wf(b, s->dn); wf(b, s->dn_max);
}

typedef struct rbuf { const uint8_t *p, *end; int bad; } rbuf;
static void rget(rbuf *r, void *out, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) { r->bad = 1; memset(out, 0, n); return; }
    memcpy(out, r->p, n);
    r->p += n;
}
static uint64_t r64(rbuf *r) { uint64_t v; rget(r, &v, 8); return v; }
static int64_t ri64(rbuf *r) { int64_t v; rget(r, &v, 8); return v; }
static double rf(rbuf *r) { double v; rget(r, &v, 8); return v; }
static uint32_t r32(rbuf *r) { uint32_t v; rget(r, &v, 4); return v; }
static uint8_t r8(rbuf *r) { uint8_t v; rget(r, &v, 1); return v; }
static void rwelford(rbuf *r, dd_welford *w) { w->n = ri64(r); w->mean = rf(r); w->m2 = rf(r); }
static void rbase(rbuf *r, dd_base *s) { rwelford(r, &s->x); rwelford(r, &s->g); }
static void rphside(rbuf *r, dd_ph_side *s)
{
    s->mean = rf(r); s->up = rf(r); s->up_min = rf(r); s->dn = rf(r); s->dn_max = rf(r);
}

/* One series' part of the blob. */
static void series_put(wbuf *b, const drift_engine *e, const series *s)
{
    w32(b, s->keylen); wput(b, s->key, s->keylen);
    w32(b, s->namelen); w32(b, s->nlabels);
    wi64(b, s->n); wi64(b, s->last_end); wi64(b, s->step);
    wbase(b, &s->cusum.base);
    wf(b, s->cusum.pos); wf(b, s->cusum.neg); wf(b, s->cusum.spos); wf(b, s->cusum.sneg);
    wbase(b, &s->ph.base); wi64(b, s->ph.n); wphside(b, &s->ph.lvl); wphside(b, &s->ph.scl);
    if (s->rz) {
        const dd_rz *z = s->rz;
        wi64(b, z->n); w32(b, (uint32_t)z->head); w8(b, (uint8_t)z->thr_set); wf(b, z->log_thr);
        wi64(b, z->learned);
        int zcnt = z->n < DD_RZ_WINDOW + DD_RZ_LAG ? (int)z->n : DD_RZ_WINDOW + DD_RZ_LAG;
        for (int k = 0; k < zcnt; k++) wf(b, z->ring[k]);
        for (int k = 0; k < zcnt - DD_RZ_LAG; k++) wf(b, z->sorted[k]);
    }
    w8(b, s->z_anom); wi64(b, s->z_ok);
    w32(b, (uint32_t)s->aw.n);
    for (int k = 0; k < s->aw.n; k++) wf(b, s->aw.v[k]);
    wi64(b, s->holt.n); wi64(b, s->holt.ne); wf(b, s->holt.level); wf(b, s->holt.trend); wf(b, s->holt.sse);
    w32(b, (uint32_t)s->ref_n);
    for (int k = 0; k < s->ref_n; k++) wf(b, s->ref[k]);
    w32(b, (uint32_t)s->cur_n);
    for (int k = 0; k < s->cur_n; k++) wf(b, s->cur[(s->cur_head + k) % e->c.window]);
    wi64(b, s->since); w8(b, s->psi_drifted); w8(b, s->ks_drifted);
    for (int d = 0; d < NDET; d++) wi64(b, s->quiet[d]);
}

int drift_engine_save(const drift_engine *e, uint64_t extra, uint8_t **data, size_t *len)
{
    wbuf b = {0};
    w32(&b, DRIFT_BLOB_MAGIC);
    w64(&b, drift_config_fingerprint(&e->c));
    w64(&b, extra);
    const drift_counters *c = &e->cnt;
    w64(&b, c->observations); w64(&b, c->drifts); w64(&b, c->anomalies); w64(&b, c->recoveries);
    w64(&b, c->forecasts); w64(&b, c->untracked);
    w64(&b, 0);             /* reserved: was a counter never incremented (always 0) */
    w64(&b, e->ns);
    for (uint64_t i = 0; i < e->ns; i++) series_put(&b, e, e->s[i]);
    *data = b.p;
    *len = b.len;
    return 0;
}

/* The key must be name\0 then nlabels (key\0 value\0) pairs, nothing more. */
static int key_ok(const uint8_t *k, uint32_t len, uint32_t namelen, uint32_t nlabels)
{
    if (!len || namelen == 0 || namelen >= len || k[namelen] != 0 || memchr(k, 0, namelen)) return 0;
    if (nlabels > DRIFT_MAX_LABELS) return 0;
    uint32_t p = namelen + 1;
    for (uint32_t i = 0; i < 2 * nlabels; i++) {
        const uint8_t *z = p < len ? memchr(k + p, 0, len - p) : NULL;
        if (!z) return 0;
        p = (uint32_t)(z - k) + 1;
    }
    return p == len;
}

/* One series from the blob at r, not yet in the table: NULL when it is
 * corrupt (r->p where it was found so). */
static series *series_get(rbuf *r, drift_engine *e)
{
    int W = (int)e->c.window;
    uint32_t kl = r32(r);
    const uint8_t *k = r->p;
    if (r->bad || kl > (size_t)(r->end - r->p)) return NULL;
    r->p += kl;
    uint32_t nl = r32(r), nlab = r32(r);
    if (r->bad || !key_ok(k, kl, nl, nlab)) return NULL;
    series *s = series_new(e, (const char *)k, kl, nl, nlab);
    s->part = -1;
    s->n = ri64(r); s->last_end = ri64(r); s->step = ri64(r);
    rbase(r, &s->cusum.base);
    s->cusum.pos = rf(r); s->cusum.neg = rf(r); s->cusum.spos = rf(r); s->cusum.sneg = rf(r);
    rbase(r, &s->ph.base); s->ph.n = ri64(r); rphside(r, &s->ph.lvl); rphside(r, &s->ph.scl);
    if (s->rz) {
        dd_rz *z = s->rz;
        z->n = ri64(r); uint32_t zh = r32(r); z->thr_set = r8(r) ? 1 : 0; z->log_thr = rf(r);
        z->learned = ri64(r);
        if (r->bad || z->n < 0 || z->n > DRIFT_TLIM || z->learned < 0 || z->learned > z->n ||
            zh >= DD_RZ_WINDOW + DD_RZ_LAG || (zh && z->n < DD_RZ_WINDOW + DD_RZ_LAG) ||
            !isfinite(z->log_thr)) goto corrupt;
        z->head = (int)zh;
        int zcnt = z->n < DD_RZ_WINDOW + DD_RZ_LAG ? (int)z->n : DD_RZ_WINDOW + DD_RZ_LAG;
        for (int q = 0; q < zcnt; q++) z->ring[q] = rf(r);
        for (int q = 0; q < zcnt - DD_RZ_LAG; q++) z->sorted[q] = rf(r);
    }
    s->z_anom = r8(r) ? 1 : 0; s->z_ok = ri64(r);
    uint32_t an = r32(r);
    if (an > (uint32_t)s->aw.cap) goto corrupt;
    for (uint32_t q = 0; q < an; q++) s->aw.v[q] = rf(r);
    s->aw.n = (int)an;
    s->holt.n = ri64(r); s->holt.ne = ri64(r); s->holt.level = rf(r); s->holt.trend = rf(r); s->holt.sse = rf(r);
    uint32_t rn = r32(r);
    if (rn > (uint32_t)(uses_win(e) ? W : 0)) goto corrupt;
    for (uint32_t q = 0; q < rn; q++) s->ref[q] = rf(r);
    s->ref_n = (int)rn;
    uint32_t cn = r32(r);
    if (cn > (uint32_t)(uses_win(e) ? W : 0) || (cn && rn < (uint32_t)W)) goto corrupt;
    for (uint32_t q = 0; q < cn; q++) s->cur[q] = rf(r);
    s->cur_n = (int)cn;
    s->since = ri64(r); s->psi_drifted = r8(r) ? 1 : 0; s->ks_drifted = r8(r) ? 1 : 0;
    for (int d = 0; d < NDET; d++) s->quiet[d] = ri64(r);
    const int64_t cnts[] = { s->n, s->ph.n, s->holt.n, s->holt.ne, s->cusum.base.x.n, s->cusum.base.g.n,
                             s->ph.base.x.n, s->ph.base.g.n, s->z_ok, s->since };
    for (size_t q = 0; q < sizeof cnts / sizeof cnts[0]; q++)
        if (cnts[q] < 0 || cnts[q] > DRIFT_TLIM) goto corrupt;
    for (int d = 0; d < NDET; d++)
        if (s->quiet[d] < 0 || s->quiet[d] > 2 * DRIFT_TLIM) goto corrupt;
    if (r->bad || s->last_end < -DRIFT_TLIM || s->last_end > DRIFT_TLIM || s->step < 0 ||
        s->step > 2 * DRIFT_TLIM) goto corrupt;
    return s;
corrupt:
    series_free(s);
    return NULL;
}

int drift_engine_load(drift_engine *e, const uint8_t *data, size_t len, uint64_t *extra,
                      char *err, size_t errlen)
{
    rbuf r = { data, data + len, 0 };
    uint32_t magic = r32(&r);
    if (magic == DRIFT_BLOB_MAGIC_V1 && !r.bad) {
        snprintf(err, errlen, "drift state: written by an older drift (state format 1: ph and cusum on "
                 "a frozen baseline; see the upgrade note in the drift README): delete the state file or "
                 "use a new --state file; the detectors start again from the input");
        return DRIFT_LOAD_SETTINGS;
    }
    if (magic != DRIFT_BLOB_MAGIC || r.bad) { snprintf(err, errlen, "drift state: not a drift state blob"); return -1; }
    if (r64(&r) != drift_config_fingerprint(&e->c)) {
        snprintf(err, errlen, "drift state: saved with other settings (detectors, --field, --warmup, "
                 "--ph-delta, --cusum-k, --adwin-max, --window, --holt-*): use the same "
                 "settings or a new --state file");
        return DRIFT_LOAD_SETTINGS;
    }
    *extra = r64(&r);
    drift_counters c;
    c.observations = r64(&r); c.drifts = r64(&r); c.anomalies = r64(&r); c.recoveries = r64(&r);
    c.forecasts = r64(&r); c.untracked = r64(&r);
    (void)r64(&r);          /* reserved (see drift_engine_save) */
    uint64_t ns = r64(&r);
    if (!r.bad && ns > (uint64_t)e->c.max_series && ns <= (uint64_t)(r.end - r.p) / 64) {
        snprintf(err, errlen, "drift state: holds %llu series, more than --max-series %llu: raise "
                 "--max-series to at least %llu or use a new --state file", (unsigned long long)ns,
                 (unsigned long long)e->c.max_series, (unsigned long long)ns);
        return DRIFT_LOAD_SETTINGS;
    }
    if (r.bad || ns > (uint64_t)(r.end - r.p) / 64) {
        snprintf(err, errlen, "drift state: corrupt header (%llu series)", (unsigned long long)ns);
        return -1;
    }
    for (uint64_t i = 0; i < ns; i++) {
        series *s = series_get(&r, e);
        if (!s) goto corrupt;
        uint64_t slot = tab_find(e, s->key, s->keylen);
        if (e->tab[slot]) { series_free(s); goto corrupt; }    /* a series twice */
        series_insert(e, s, slot);
    }
    if (r.bad || r.p != r.end) goto corrupt;
    e->cnt = c;
    return 0;
corrupt:
    snprintf(err, errlen, "drift state: corrupt blob at byte %zu of %zu", (size_t)(r.p - data), len);
    return -1;
}

/* ---- one series at a time (--changelog) ---------------------------------- */

void drift_engine_track(drift_engine *e) { e->track = 1; }

int drift_engine_changed(drift_engine *e, drift_series_fn fn, void *ctx)
{
    wbuf b = {0};
    int rc = 0;
    uint64_t fp = drift_config_fingerprint(&e->c);
    size_t i = 0;
    for (; i < e->ndirty; i++) {
        const series *s = e->dirty[i];
        b.len = 0;
        w32(&b, DRIFT_SERIES_MAGIC);
        w64(&b, fp);
        series_put(&b, e, s);
        if (fn(ctx, s->part, s->key, s->keylen, b.p, b.len)) { rc = -1; break; }
    }
    /* what was handed over is clean; the rest stays listed for the next try */
    for (size_t k = 0; k < i; k++) e->dirty[k]->dirty = 0;
    if (i < e->ndirty) memmove(e->dirty, e->dirty + i, (e->ndirty - i) * sizeof *e->dirty);
    e->ndirty -= i;
    free(b.p);
    return rc;
}

/* The table again from e->s (after series left it). */
static void tab_rebuild(drift_engine *e)
{
    memset(e->tab, 0, e->tcap * sizeof *e->tab);
    for (uint64_t i = 0; i < e->ns; i++) {
        uint64_t h = hash_table(e->s[i]->key, e->s[i]->keylen) & (e->tcap - 1);
        while (e->tab[h]) h = (h + 1) & (e->tcap - 1);
        e->tab[h] = (uint32_t)(i + 1);
    }
}

uint64_t drift_engine_drop_part(drift_engine *e, int32_t part)
{
    uint64_t kept = 0, dropped = 0;
    size_t nd = 0;
    for (size_t k = 0; k < e->ndirty; k++)
        if (e->dirty[k]->part != part) e->dirty[nd++] = e->dirty[k];
    e->ndirty = nd;
    for (uint64_t i = 0; i < e->ns; i++) {
        if (e->s[i]->part == part) { series_free(e->s[i]); dropped++; }
        else e->s[kept++] = e->s[i];
    }
    if (!dropped) return 0;
    e->ns = kept;
    tab_rebuild(e);
    return dropped;
}

int drift_engine_restore_series(drift_engine *e, int32_t part, const uint8_t *blob, size_t len,
                                char *err, size_t errlen)
{
    rbuf r = { blob, blob + len, 0 };
    uint32_t magic = r32(&r);
    if (magic != DRIFT_SERIES_MAGIC || r.bad) {
        snprintf(err, errlen, "not a drift series (%zu bytes)", len);
        return -1;
    }
    if (r64(&r) != drift_config_fingerprint(&e->c)) {
        snprintf(err, errlen, "written by a drift with other settings (detectors, --field, --warmup, --ph-delta, "
                 "--cusum-k, --adwin-max, --window, --holt-*): give every instance of the group the same, or "
                 "use a new changelog topic");
        return DRIFT_LOAD_SETTINGS;
    }
    series *s = series_get(&r, e);
    if (s && (r.bad || r.p != r.end)) { series_free(s); s = NULL; }
    if (!s) {
        snprintf(err, errlen, "corrupt drift series at byte %zu of %zu", (size_t)(r.p - blob), len);
        return -1;
    }
    s->part = part;
    uint64_t slot = tab_find(e, s->key, s->keylen);
    if (e->tab[slot]) {          /* a later checkpoint of the same series: it replaces */
        series *old = e->s[e->tab[slot] - 1];
        if (old->dirty)
            for (size_t k = 0; k < e->ndirty; k++)
                if (e->dirty[k] == old) { e->dirty[k] = e->dirty[--e->ndirty]; break; }
        series_free(old);
        e->s[e->tab[slot] - 1] = s;
        return 0;
    }
    if ((int64_t)e->ns >= e->c.max_series) {
        series_free(s);
        return DRIFT_RESTORE_FULL;
    }
    series_insert(e, s, slot);
    return 0;
}
