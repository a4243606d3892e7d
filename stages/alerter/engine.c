/* engine.c — the alert table and its state machine (engine.h).
 *
 * Alerts live in a dense array (iteration, swap-remove) indexed by an
 * open-addressing hash of the fingerprint (linear probing, tombstones,
 * rebuilt when they pile up). Per record: every rule that matches updates
 * its alert; notifications due from that record are delivered after all
 * rules ran, so a critical alert from the same record inhibits the warning.
 * When a record moves the clock on by a second or more, a sweep runs first
 * (on the state left by the earlier records): it resolves silent series
 * (resolve_after), escalates, repeats, and delivers firing alerts whose
 * silence or inhibition has ended. */
#include "engine_int.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hash.h"
#include "log.h"

#define AL_SWEEP_US 1000000   /* sweep at most once per second of event time */

/* Home slot of a 64-bit key in a power-of-two table (Fibonacci hashing). */
static uint32_t al_home(uint64_t key, uint32_t cap) { return (uint32_t)(key * 0x9E3779B97F4A7C15ULL >> 32) & (cap - 1); }
static void al_inh_rebuild(al_engine *e);

/* The fingerprint's first part, the rule's name: the same for every record,
 * so the engine keeps it per rule (set_config) and hashes only the labels. */
static uint64_t al_fp_seed(const char *rule)
{
    return hash_fnv1a64_more(hash_fnv1a64_more(HASH_FNV1A64_SHORT_BASIS, rule, strlen(rule)), "\xff", 1);
}

static uint64_t al_fp_labels(uint64_t h, const KeyValue *labels, int n)
{
    for (int i = 0; i < n; i++) {
        h = hash_fnv1a64_more(h, labels[i].key.ptr, labels[i].key.len); h = hash_fnv1a64_more(h, "", 1);
        h = hash_fnv1a64_more(h, labels[i].value.ptr, labels[i].value.len); h = hash_fnv1a64_more(h, "", 1);
    }
    return h;
}

/* LANES fingerprints (FNV-1a, continuing from h[0..LANES-1]) in one pass
 * over the labels: each byte is loaded once and the lanes' multiplies are
 * independent, so three matched rules cost about what one did. Inlined
 * with a constant LANES, the lanes live in registers. */
static inline __attribute__((always_inline))
void al_fp_lanes(uint64_t *h, int lanes, const KeyValue *labels, int n)
{
    uint64_t a[4] = { 0, 0, 0, 0 };
    for (int l = 0; l < lanes; l++) a[l] = h[l];
    for (int i = 0; i < n; i++) {
        const fb_str part[2] = { labels[i].key, labels[i].value };
        for (int k = 0; k < 2; k++) {
            const uint8_t *p = (const uint8_t *)part[k].ptr;
            for (size_t j = 0; j < part[k].len; j++)
                for (int l = 0; l < lanes; l++) a[l] = (a[l] ^ p[j]) * HASH_FNV1A64_PRIME;
            /* the 0 byte after key and value: XOR with 0 changes nothing */
            for (int l = 0; l < lanes; l++) a[l] *= HASH_FNV1A64_PRIME;
        }
    }
    for (int l = 0; l < lanes; l++) h[l] = a[l];
}

/* h[i] = al_fp_labels(h[i], labels, n) for every i < count, at most four
 * per pass. */
static void al_fp_labels_many(uint64_t *h, int count, const KeyValue *labels, int n)
{
    for (; count >= 4; h += 4, count -= 4) al_fp_lanes(h, 4, labels, n);
    switch (count) {
    case 3: al_fp_lanes(h, 3, labels, n); break;
    case 2: al_fp_lanes(h, 2, labels, n); break;
    case 1: al_fp_lanes(h, 1, labels, n); break;
    default: break;
    }
}

uint64_t al_fingerprint(const char *rule, const KeyValue *labels, int n)
{
    return al_fp_labels(al_fp_seed(rule), labels, n);
}

/* What each rule of cfg gives every record and alert alike: its name's
 * hash, its threshold's text (new engine, reload). */
static void al_fp_seeds(al_engine *e, const al_config *cfg)
{
    if (e->nrule_fp < cfg->nrules) {
        uint64_t *s = realloc(e->rule_fp, (size_t)cfg->nrules * sizeof *s);
        if (s) e->rule_fp = s;
        char (*t)[AL_THRESHOLD_TEXT] = realloc(e->rule_thr, (size_t)cfg->nrules * sizeof *t);
        if (t) e->rule_thr = t;
        if (!s || !t) log_fatal("out of memory");
        e->nrule_fp = cfg->nrules;
    }
    for (int i = 0; i < cfg->nrules; i++) {
        e->rule_fp[i] = al_fp_seed(cfg->rules[i].name);
        al_threshold_text(&cfg->rules[i], e->rule_thr[i]);
    }
}

/* "%016llx" by hand: once per alert sent, where snprintf cost ~900
 * instructions. */
void al_fp_hex(uint64_t fp, char out[17])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, fp >>= 4) out[i] = digits[fp & 15];
    out[16] = 0;
}

int al_fp_parse(const char *s, uint64_t *fp)
{
    if (strlen(s) != 16 || strspn(s, "0123456789abcdef") != 16) return -1;
    *fp = strtoull(s, NULL, 16);
    return 0;
}

int al_labels_next(const char **p, const char *end, fb_str *key, fb_str *value)
{
    const char *k = *p;
    if (!k || k >= end) return 0;
    const char *us = memchr(k, 0x1f, (size_t)(end - k));
    const char *rs = us ? memchr(us + 1, 0x1e, (size_t)(end - us - 1)) : NULL;
    if (!rs) return 0;
    *key = FB_STRN(k, us - k);
    *value = FB_STRN(us + 1, rs - us - 1);
    *p = rs + 1;
    return 1;
}

al_engine *al_engine_new(const al_config *cfg, int64_t max_alerts, al_emit_fn emit, void *ctx)
{
    al_engine *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->cfg = cfg; e->max_alerts = max_alerts; e->emit = emit; e->ctx = ctx;
    e->clock = e->last_sweep = INT64_MIN;
    e->cur_part = -1;
    al_fp_seeds(e, cfg);
    al_inh_rebuild(e);
    return e;
}

static void al_alert_free(al_alert *a) { free(a->labels); }

void al_engine_free(al_engine *e)
{
    if (!e) return;
    for (uint32_t i = 0; i < e->n; i++) al_alert_free(&e->v[i]);
    free(e->v); free(e->idx); free(e->due); free(e->hit); free(e->hitval); free(e->hitfp); free(e->gone); free(e->clgone); free(e->pclock); free(e->rule_fp); free(e->rule_thr);
    for (int k = 0; k < e->ninh; k++) { free(e->cmap[k].key); free(e->cmap[k].cnt); }
    free(e->cmap);
    free(e);
}

const al_counters *al_engine_counters(const al_engine *e) { return &e->c; }
uint64_t al_engine_active(const al_engine *e) { return e->n; }
uint64_t al_engine_firing(const al_engine *e) { return e->nfiring; }
int64_t al_engine_clock(const al_engine *e) { return e->clock; }

void al_engine_set_time_source(al_engine *e, al_time_fn fn, void *ctx) { e->time_fn = fn; e->time_ctx = ctx; }
void al_engine_set_part(al_engine *e, int32_t part) { e->cur_part = part; }
void al_engine_track(al_engine *e) { e->track_cl = 1; }

/* Partition part's clock, grown to hold it; NULL for no partition. */
static struct al_pclock *al_pclock(al_engine *e, int32_t part)
{
    if (part < 0) return NULL;
    if ((uint32_t)part >= e->npclock) {
        uint32_t n = e->npclock ? e->npclock : 16;
        while (n <= (uint32_t)part) n *= 2;
        struct al_pclock *c = realloc(e->pclock, n * sizeof *c);
        if (!c) log_fatal("out of memory");
        for (uint32_t i = e->npclock; i < n; i++) c[i].clock = c[i].last_sweep = INT64_MIN;
        e->pclock = c;
        e->npclock = n;
    }
    return &e->pclock[part];
}

uint64_t al_engine_drop_part(al_engine *e, int32_t part)
{
    uint64_t n = 0;
    for (uint32_t k = e->n; k-- > 0; ) {
        al_alert *a = &e->v[k];
        if (a->part != part) continue;
        a->cl_saved = 0;    /* it moves on with its partition: no tombstone */
        al_remove(e, a);
        n++;
    }
    /* nor for those removed since the last checkpoint (a reload between a
     * revoke and this): the partition's changelog is another owner's now,
     * or (a stale hand-back) is about to be read back as it is */
    uint32_t kept = 0;
    for (uint32_t k = 0; k < e->nclgone; k++)
        if (e->clgone[k].part != part) e->clgone[kept++] = e->clgone[k];
    e->nclgone = kept;
    struct al_pclock *pc = al_pclock(e, part);
    if (pc) pc->clock = pc->last_sweep = INT64_MIN;
    return n;
}

/* ---- index ---------------------------------------------------------------- */

static int al_index_rebuild(al_engine *e, uint32_t want)
{
    uint32_t cap = 64;
    while (cap < want * 2) cap *= 2;
    int32_t *idx = calloc(cap, sizeof *idx);
    if (!idx) return -1;
    for (uint32_t i = 0; i < e->n; i++) {
        uint32_t s = al_home(e->v[i].fp, cap);
        while (idx[s]) s = (s + 1) & (cap - 1);
        idx[s] = (int32_t)i + 1;
    }
    free(e->idx);
    e->idx = idx; e->icap = cap; e->itomb = 0;
    return 0;
}

/* Slot holding fp, or -1. */
static int64_t al_slot(const al_engine *e, uint64_t fp)
{
    if (!e->icap) return -1;
    uint32_t s = al_home(fp, e->icap);
    for (;;) {
        int32_t x = e->idx[s];
        if (x == 0) return -1;
        if (x > 0 && e->v[x - 1].fp == fp) return s;
        s = (s + 1) & (e->icap - 1);
    }
}

al_alert *al_find(al_engine *e, uint64_t fp)
{
    int64_t s = al_slot(e, fp);
    return s < 0 ? NULL : &e->v[e->idx[s] - 1];
}

al_alert *al_insert(al_engine *e, uint64_t fp)
{
    if (e->n == e->cap) {
        uint32_t cap = e->cap ? e->cap * 2 : 64;
        al_alert *v = realloc(e->v, cap * sizeof *v);
        if (!v) return NULL;
        e->v = v; e->cap = cap;
    }
    if ((e->n + 1 + e->itomb) * 2 > e->icap && al_index_rebuild(e, e->n + 1) < 0) return NULL;
    uint32_t s = al_home(fp, e->icap);
    while (e->idx[s] > 0) s = (s + 1) & (e->icap - 1);
    if (e->idx[s] < 0) e->itomb--;
    al_alert *a = &e->v[e->n];
    memset(a, 0, sizeof *a);
    a->fp = fp;
    a->dirty = AL_DIRTY_ALL;
    a->part = e->cur_part;
    e->idx[s] = (int32_t)e->n + 1;
    e->n++;
    return a;
}

/* a's partition of the changelog no longer holds it: a tombstone is due */
static void al_gone_cl(al_engine *e, const al_alert *a)
{
    if (!e->track_cl || !a->cl_saved || a->part < 0) return;
    if (e->nclgone == e->capclgone) {
        uint32_t cap = e->capclgone ? e->capclgone * 2 : 64;
        struct al_gone_cl *g = realloc(e->clgone, cap * sizeof *g);
        if (!g) log_fatal("out of memory");
        e->clgone = g; e->capclgone = cap;
    }
    e->clgone[e->nclgone].fp = a->fp;
    e->clgone[e->nclgone++].part = a->part;
}

void al_remove(al_engine *e, al_alert *a)
{
    uint32_t i = (uint32_t)(a - e->v);
    al_gone_cl(e, a);
    if (a->src_mask) al_inh_set(e, a, 0);
    if (a->state == AL_FIRING) e->nfiring--;
    /* only a row that exists needs deleting; without --state nothing is
     * saved, so the list stays empty instead of growing all run */
    if (a->saved && e->ngone == e->capgone) {
        uint32_t cap = e->capgone ? e->capgone * 2 : 64;
        uint64_t *g = realloc(e->gone, cap * sizeof *g);
        if (!g) log_fatal("out of memory");
        e->gone = g; e->capgone = cap;
    }
    if (a->saved) e->gone[e->ngone++] = a->fp;
    int64_t s = al_slot(e, a->fp);
    e->idx[s] = -1; e->itomb++;
    al_alert_free(a);
    uint32_t last = e->n - 1;
    if (i != last) {
        e->v[i] = e->v[last];
        e->idx[al_slot(e, e->v[i].fp)] = (int32_t)i + 1;
    }
    e->n--;
}

int al_copy_labels(al_alert *a, const KeyValue *kv, int n)
{
    size_t bytes = (size_t)n * sizeof(KeyValue);
    for (int i = 0; i < n; i++) bytes += kv[i].key.len + kv[i].value.len + 2;
    char *blk = malloc(bytes ? bytes : 1);
    if (!blk) return -1;
    KeyValue *out = (KeyValue *)blk;
    char *p = blk + (size_t)n * sizeof(KeyValue);
    for (int i = 0; i < n; i++) {
        memcpy(p, kv[i].key.ptr, kv[i].key.len); p[kv[i].key.len] = 0;
        out[i].key = FB_STRN(p, kv[i].key.len); p += kv[i].key.len + 1;
        memcpy(p, kv[i].value.ptr, kv[i].value.len); p[kv[i].value.len] = 0;
        out[i].value = FB_STRN(p, kv[i].value.len); p += kv[i].value.len + 1;
    }
    a->labels = out; a->nlabels = n;
    return 0;
}

/* ---- delivery --------------------------------------------------------------- */

static int al_kv_get(const KeyValue *kv, int n, const char *key, fb_str *out)
{
    for (int i = 0; i < n; i++)
        if (fb_str_eq(kv[i].key, key)) { *out = kv[i].value; return 1; }
    return 0;
}

void al_engine_set_extra_silences(al_engine *e, const al_silence *s, int n)
{
    e->xsil = s;
    e->nxsil = n;
}

static int al_silenced(const al_engine *e, const al_alert *a, int64_t t)
{
    const al_rule *r = &e->cfg->rules[a->rule];
    for (int i = 0; i < e->cfg->nsilences + e->nxsil; i++) {
        const al_silence *s = i < e->cfg->nsilences ? &e->cfg->silences[i] : &e->xsil[i - e->cfg->nsilences];
        if (t < s->starts_us || t >= s->ends_us) continue;
        if (s->rule && strcmp(s->rule, r->name)) continue;
        int ok = 1;
        for (int j = 0; j < s->nlabels && ok; j++) {
            fb_str v;
            ok = al_kv_get(a->labels, a->nlabels, s->labels[j].key, &v) && fb_str_eq(v, s->labels[j].value);
        }
        if (ok) return 1;
    }
    return 0;
}

/* The key of alert a under inhibit rule in: FNV-1a over the values of the
 * `equal` labels (with a presence byte: absent differs from empty), or over
 * every label when there is no `equal` list. */
static uint64_t al_inh_key(const al_inhibit *in, const al_alert *a)
{
    uint64_t h = HASH_FNV1A64_SHORT_BASIS;
    if (in->nequal == 0) {
        for (int i = 0; i < a->nlabels; i++) {
            h = hash_fnv1a64_more(h, a->labels[i].key.ptr, a->labels[i].key.len); h = hash_fnv1a64_more(h, "", 1);
            h = hash_fnv1a64_more(h, a->labels[i].value.ptr, a->labels[i].value.len); h = hash_fnv1a64_more(h, "", 1);
        }
        return h;
    }
    for (int i = 0; i < in->nequal; i++) {
        fb_str v;
        if (al_kv_get(a->labels, a->nlabels, in->equal[i], &v)) {
            h = hash_fnv1a64_more(h, "\x01", 1); h = hash_fnv1a64_more(h, v.ptr, v.len);
        } else {
            h = hash_fnv1a64_more(h, "\x02", 1);
        }
        h = hash_fnv1a64_more(h, "", 1);
    }
    return h;
}

/* Grow (or create) a count map, dropping keys whose count went back to 0. */
static void al_cmap_grow(struct al_cmap *m)
{
    uint32_t live = 0;
    for (uint32_t i = 0; i < m->cap; i++) live += m->cnt[i] > 0;
    struct al_cmap g = { NULL, NULL, 64, 0 };
    while ((live + 1) * 4 > g.cap) g.cap *= 2;
    g.key = calloc(g.cap, sizeof *g.key);
    g.cnt = calloc(g.cap, sizeof *g.cnt);
    if (!g.key || !g.cnt) log_fatal("out of memory");
    for (uint32_t i = 0; i < m->cap; i++) {
        if (!m->cnt[i]) continue;
        uint32_t j = al_home(m->key[i], g.cap);
        while (g.key[j]) j = (j + 1) & (g.cap - 1);
        g.key[j] = m->key[i]; g.cnt[j] = m->cnt[i]; g.used++;
    }
    free(m->key); free(m->cnt);
    *m = g;
}

/* The count of key (keys are never 0: 0 marks a free slot). A slot keeps
 * its key once given one, even at count 0, so probing stays correct
 * without tombstones; growing drops the zeros. NULL: absent (lookup). */
static uint32_t *al_cmap_slot(struct al_cmap *m, uint64_t key, int insert)
{
    if (insert && (m->used + 1) * 2 > m->cap) al_cmap_grow(m);
    if (!m->cap) return NULL;
    uint32_t j = al_home(key, m->cap);
    while (m->key[j]) {
        if (m->key[j] == key) return &m->cnt[j];
        j = (j + 1) & (m->cap - 1);
    }
    if (!insert) return NULL;
    m->key[j] = key;
    m->used++;
    return &m->cnt[j];
}

/* Make a's contribution to the index match its state: a firing alert is a
 * source of every inhibit rule whose source severity it reaches. */
void al_inh_set(al_engine *e, al_alert *a, int present)
{
    uint32_t want = 0;
    if (present && a->state == AL_FIRING)
        for (int k = 0; k < e->ninh; k++)
            if (a->severity >= e->inh[k].source_severity) want |= 1u << k;
    for (int k = 0; k < e->ninh; k++) {
        uint32_t bit = 1u << k;
        if ((want & bit) == (a->src_mask & bit)) continue;
        uint64_t key = al_inh_key(&e->inh[k], a) | 1;   /* never 0: 0 marks a free slot */
        uint32_t *c = al_cmap_slot(&e->cmap[k], key, 1);
        if (want & bit) (*c)++;
        else if (*c) (*c)--;
    }
    a->src_mask = want;
}

/* Without an inhibit section the default rule is: critical (or above)
 * hides warning with identical labels. */
static void al_inh_rebuild(al_engine *e)
{
    static const al_inhibit def = { Severity_critical, Severity_warning, NULL, 0, 0 };
    for (int k = 0; k < e->ninh; k++) { free(e->cmap[k].key); free(e->cmap[k].cnt); }
    free(e->cmap);
    e->inh = e->cfg->inhibit_given ? e->cfg->inhibit : &def;
    e->ninh = e->cfg->inhibit_given ? e->cfg->ninhibit : 1;
    e->cmap = calloc((size_t)e->ninh + 1, sizeof *e->cmap);
    if (!e->cmap) log_fatal("out of memory");
    for (uint32_t i = 0; i < e->n; i++) {
        e->v[i].src_mask = 0;
        al_inh_set(e, &e->v[i], 1);
    }
}

/* Is a firing alert hidden by another firing one? One lookup per inhibit
 * rule that targets its severity (a source's severity is always above the
 * target's, so t never counts for itself). Two different label sets
 * sharing a 64-bit key would inhibit wrongly: odds of about n/2^64. */
static int al_inhibited(const al_engine *e, const al_alert *t)
{
    for (int k = 0; k < e->ninh; k++) {
        if (e->inh[k].target_severity != t->severity) continue;
        uint64_t key = al_inh_key(&e->inh[k], t) | 1;
        uint32_t *c = al_cmap_slot(&e->cmap[k], key, 0);
        if (c && *c) return 1;
    }
    return 0;
}

/* Key order of labels: bytes, then the shorter first. */
static int al_key_after(fb_str a, fb_str b)
{
    uint32_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    return c ? c > 0 : a.len > b.len;
}

static int al_send(al_engine *e, al_alert *a, int status, int64_t ends_at)
{
    const al_rule *r = &e->cfg->rules[a->rule];
    char fp[17], summary[1024];
    al_fp_hex(a->fp, fp);
    Alert out;
    Alert_init(&out);
    out.fingerprint = FB_STRN(fp, 16);
    out.rule = FB_STR(r->name);
    out.status = (AlertStatus)status;
    out.severity = (Severity)a->severity;
    out.summary = FB_STR(al_render_summary_thr(r, e->rule_thr[a->rule], a->labels, a->nlabels, a->value, a->severity,
                                               summary, sizeof summary));
    out.labels = a->labels; out.labels_count = (uint32_t)a->nlabels;
    KeyValue *merged = NULL;
    if (r->nalert_labels) {
        /* a Prometheus rule's labels join the series' (the rule's win on a
         * clash, as in Prometheus); kept sorted by key */
        merged = malloc((size_t)(a->nlabels + r->nalert_labels) * sizeof *merged);
        if (!merged) log_fatal("out of memory");
        int n = 0;
        for (int i = 0; i < a->nlabels; i++) {
            int clash = 0;
            for (int k = 0; k < r->nalert_labels && !clash; k++) clash = fb_str_eq(a->labels[i].key, r->alert_labels[k].key);
            if (!clash) merged[n++] = a->labels[i];
        }
        for (int k = 0; k < r->nalert_labels; k++) {
            KeyValue x = { FB_STR(r->alert_labels[k].key), FB_STR(r->alert_labels[k].value) };
            int j = n++;
            for (; j > 0 && al_key_after(merged[j - 1].key, x.key); j--)
                merged[j] = merged[j - 1];
            merged[j] = x;
        }
        out.labels = merged; out.labels_count = (uint32_t)n;
    }
    out.value = a->value;
    out.threshold = r->threshold;
    out.starts_at = a->starts_at;
    out.ends_at = ends_at;
    e->c.notified++;
    int rc = e->emit(e->ctx, r, &out);
    free(merged);
    return rc;
}

/* Deliver a firing alert now (time t) unless silenced or inhibited. */
static int al_deliver_firing(al_engine *e, al_alert *a, int64_t t)
{
    if (al_silenced(e, a, t)) { if (!a->suppressed) e->c.silenced++; a->suppressed = 1; return 0; }
    if (al_inhibited(e, a)) { if (!a->suppressed) e->c.inhibited++; a->suppressed = 1; return 0; }
    a->suppressed = 0;
    if (a->notified) e->c.repeats++;
    a->notified = 1;
    a->dirty = AL_DIRTY_ALL;
    a->last_sent = t;
    return al_send(e, a, AlertStatus_firing, 0);
}

/* Resolve and forget; the resolved notification goes out only if the
 * firing one did (a receiver never hears of an alert only as resolved). */
static int al_resolve(al_engine *e, al_alert *a, int64_t ends_at)
{
    int rc = 0;
    if (a->state == AL_FIRING) {
        e->c.resolved++;
        if (a->notified) rc = al_send(e, a, AlertStatus_resolved, ends_at);
    }
    al_remove(e, a);
    return rc;
}

static int al_due_push(al_engine *e, uint64_t fp)
{
    if (e->ndue == e->capdue) {
        uint32_t cap = e->capdue ? e->capdue * 2 : 16;
        uint64_t *d = realloc(e->due, cap * sizeof *d);
        if (!d) return -1;
        e->due = d; e->capdue = cap;
    }
    e->due[e->ndue++] = fp;
    return 0;
}

static int al_due_cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Deliver the due list, higher severities first (so an inhibiting alert is
 * out before the one it hides), then by fingerprint: deterministic. */
static int al_deliver_due(al_engine *e, int64_t t)
{
    if (!e->ndue) return 0;
    qsort(e->due, e->ndue, sizeof e->due[0], al_due_cmp);
    for (int sev = Severity_MAX; sev >= Severity_MIN; sev--)
        for (uint32_t i = 0; i < e->ndue; i++) {
            al_alert *a = al_find(e, e->due[i]);
            if (!a || a->state != AL_FIRING || a->severity != sev) continue;
            if (al_deliver_firing(e, a, t) < 0) return -1;
        }
    e->ndue = 0;
    return 0;
}

/* A sweep at time t of every alert, or (part >= 0) of partition part's. */
static int al_sweep(al_engine *e, int64_t t, int32_t part)
{
    for (uint32_t k = e->n; k-- > 0; ) {
        al_alert *a = &e->v[k];
        if (part >= 0 && a->part != part) continue;
        const al_rule *r = &e->cfg->rules[a->rule];
        if (r->resolve_after_us && t - a->last_seen >= r->resolve_after_us) {
            if (al_resolve(e, a, a->last_seen + r->resolve_after_us) < 0) return -1;
            continue;
        }
        if (a->state != AL_FIRING) continue;
        if (r->escalate_to > a->severity && !a->acked && t - a->fired_at >= r->escalate_after_us) {
            a->severity = r->escalate_to;
            a->dirty = AL_DIRTY_ALL;
            al_inh_set(e, a, 1);
            a->notified = 0;
            e->c.escalations++;
        }
        int due = !a->notified ||
                  (r->repeat_us && !a->acked && t - a->last_sent >= r->repeat_us);
        if (due && al_due_push(e, a->fp) < 0) return -1;
    }
    return al_deliver_due(e, t);
}

uint64_t al_engine_set_config(al_engine *e, const al_config *cfg)
{
    uint64_t gone = 0;
    for (uint32_t k = e->n; k-- > 0; ) {
        al_alert *a = &e->v[k];
        int ri = al_rule_find(cfg, e->cfg->rules[a->rule].name);
        if (ri < 0) { al_remove(e, a); gone++; continue; }
        a->rule = ri;
    }
    e->cfg = cfg;
    al_fp_seeds(e, cfg);
    al_inh_rebuild(e);
    return gone;
}

int al_engine_ack(al_engine *e, uint64_t fp)
{
    al_alert *a = al_find(e, fp);
    if (!a || a->state != AL_FIRING) return 0;
    a->acked = 1;
    a->dirty = AL_DIRTY_ALL;
    return 1;
}

int al_engine_record(al_engine *e, const fbrec_desc *d, const AnyRecord *rec, const char **bad_rule)
{
    al_view v;
    int vr = al_view_make(&v, d, rec);
    if (vr == 0) { e->c.ignored++; return AL_OK; }
    if (vr < 0) return AL_TOO_MANY_LABELS;
    /* values first: a NaN refuses the whole record before anything changes */
    int nmatch = 0;
    const al_config *cfg = e->cfg;
    if (e->caphit < cfg->nrules) {
        int *h = realloc(e->hit, (size_t)cfg->nrules * sizeof *h);
        if (h) e->hit = h;
        double *hv = realloc(e->hitval, (size_t)cfg->nrules * sizeof *hv);
        if (hv) e->hitval = hv;
        uint64_t *hf = realloc(e->hitfp, (size_t)cfg->nrules * sizeof *hf);
        if (hf) e->hitfp = hf;
        if (!h || !hv || !hf) log_fatal("out of memory");
        e->caphit = cfg->nrules;
    }
    for (int i = 0; i < cfg->nrules; i++) {
        const al_rule *r = &cfg->rules[i];
        if (!al_rule_matches(r, &v)) continue;
        double x = 0;
        if (!al_rule_value(r, &v, &x)) continue;
        if (!isfinite(x) && !v.recovery) { *bad_rule = r->name; return AL_BAD_VALUE; }
        e->hit[nmatch] = i;
        e->hitfp[nmatch] = e->rule_fp[i];
        e->hitval[nmatch++] = x;
    }
    if (!nmatch) { e->c.ignored++; return AL_OK; }
    if (v.ts < -AL_TLIM || v.ts > AL_TLIM) return AL_BAD_TIME;
    e->c.matched++;
    al_fp_labels_many(e->hitfp, nmatch, v.labels, v.nlabels);
    /* Time reaches v.ts: the sweep sees the state the records before v.ts
     * left, whatever the order of the records that share v.ts. */
    int64_t now = e->time_fn ? e->time_fn(e->time_ctx, v.ts) : v.ts;
    struct al_pclock *pc = e->track_cl ? al_pclock(e, e->cur_part) : NULL;
    if (pc) {
        /* --changelog: the partition's own clock (engine_int.h) */
        if (now > e->clock) e->clock = now;
        if (v.ts > pc->clock) {
            pc->clock = v.ts;
            if (pc->last_sweep == INT64_MIN || pc->clock - pc->last_sweep >= AL_SWEEP_US) {
                pc->last_sweep = pc->clock;
                if (al_sweep(e, pc->clock, e->cur_part) < 0) return AL_ERR;
            }
        }
    } else if (now > e->clock) {
        e->clock = now;
        if (e->last_sweep == INT64_MIN || e->clock - e->last_sweep >= AL_SWEEP_US) {
            e->last_sweep = e->clock;
            if (al_sweep(e, e->clock, -1) < 0) return AL_ERR;
        }
    }
    for (int h = 0; h < nmatch; h++) {
        int i = e->hit[h];
        const al_rule *r = &cfg->rules[i];
        double x = e->hitval[h];
        int holds = !v.recovery && al_cond_holds(r, x);
        uint64_t fp = e->hitfp[h];
        al_alert *a = al_find(e, fp);
        if (a && v.ts < a->last_seen) { e->c.stale++; continue; }
        if (!holds) {
            if (a && al_resolve(e, a, v.ts) < 0) return AL_ERR;
            continue;
        }
        if (!a) {
            if ((int64_t)e->n >= e->max_alerts) { e->c.dropped++; continue; }
            a = al_insert(e, fp);
            if (!a || al_copy_labels(a, v.labels, v.nlabels) < 0) log_fatal("out of memory");
            a->rule = i;
            a->state = AL_PENDING;
            a->severity = r->severity;
            a->starts_at = v.ts;
        }
        if (a->part != e->cur_part) {
            /* its series came on another partition before (the input's
             * keys changed): the old one's changelog forgets it */
            al_gone_cl(e, a);
            a->cl_saved = 0;
            a->part = e->cur_part;
        }
        a->last_seen = v.ts;
        a->dirty = AL_DIRTY_ALL;
        a->value = x;
        if (a->state == AL_PENDING && v.ts - a->starts_at >= r->for_us) {
            a->state = AL_FIRING;
            a->fired_at = v.ts;
            e->nfiring++;
            e->c.fired++;
            al_inh_set(e, a, 1);
            if (al_due_push(e, fp) < 0) log_fatal("out of memory");
        }
    }
    if (e->ndue && al_deliver_due(e, pc ? pc->clock : e->clock) < 0) return AL_ERR;
    return AL_OK;
}
