/* merge.c — aggregate --merge (AGG_MODE_MERGE): the source partitions and
 * their watermarks, and folding their window partials into the engine's
 * windows, one partial per (series, window, source), the better cover
 * winning. Separate from engine.c because only the merge mode uses it: the
 * windows it fills close and emit as engine.c and emit.c close any. */
#include "engine_int.h"
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "timefmt.h"

/* dst = src, exactly (a sample's sums are copied, not re-added) */
static void entry_copy(const agg_engine *e, agg_entry *d, const agg_entry *s)
{
    if (agg_entry_kind(d) == AGG_K_SAMPLE) {
        agg_sketch_free(&d->u.s.sk);
        agg_sketch_init(&d->u.s.sk);
        agg_sketch_merge(&e->dd, &d->u.s.sk, &s->u.s.sk);
        d->u.s.sk.min = s->u.s.sk.min;
        d->u.s.sk.max = s->u.s.sk.max;
        d->u.s.st = s->u.s.st;
    } else {
        memcpy(&d->u, &s->u, sizeof d->u);
    }
}


uint64_t agg_engine_merge_repeats(const agg_engine *e) { return e->merge_repeats; }
uint64_t agg_engine_merge_late(const agg_engine *e) { return e->merge_late; }

static int sources_complete(const agg_engine *e)
{
    if (!e->nsrc) return 0;
    for (int i = 0; i < e->nsrc; i++) {
        const agg_source *s = &e->srcs[i];
        int32_t want = 0, have = 0;
        for (int j = 0; j < e->nsrc; j++) {
            const agg_source *t = &e->srcs[j];
            if (t->tlen != s->tlen || memcmp(t->topic, s->topic, s->tlen)) continue;
            if (t->partitions > want) want = t->partitions;
            have++;
        }
        if (have < want) return 0;
    }
    return 1;
}

int agg_engine_source(agg_engine *e, const char *topic, uint32_t tlen, int32_t partition, int32_t partitions)
{
    if (partition < 0 || partitions < 1 || partition >= partitions || partitions > AGG_MAX_SOURCES) return -1;
    for (int i = 0; i < e->nsrc; i++) {
        agg_source *s = &e->srcs[i];
        if (s->partition == partition && s->tlen == tlen && !memcmp(s->topic, topic, tlen)) {
            if (partitions > s->partitions) s->partitions = partitions;
            return i;
        }
    }
    if (e->nsrc >= AGG_MAX_SOURCES) return -1;
    if (e->nsrc == e->capsrc) {
        int cap = e->capsrc ? e->capsrc * 2 : 16;
        agg_source *ns = realloc(e->srcs, (size_t)cap * sizeof *ns);
        if (!ns) log_fatal("aggregate: out of memory");
        e->srcs = ns;
        e->capsrc = cap;
    }
    agg_source *s = &e->srcs[e->nsrc++];
    s->topic = malloc(tlen + 1);
    if (!s->topic) log_fatal("aggregate: out of memory");
    memcpy(s->topic, topic, tlen);
    s->topic[tlen] = 0;
    s->tlen = tlen;
    s->partition = partition;
    s->partitions = partitions;
    s->wm = INT64_MIN;
    s->idle = 0;
    s->idle_until = 0;
    return e->nsrc - 1;
}

/* The minimum over the sources; INT64_MIN until every partition of every
 * source topic has been heard from. live (the merge has read every partial
 * there is: agg_engine_merge_live): over the sources not idle, the maximum
 * when all are (as one process's Kafka input: kafka_src_event_time). An
 * idle source sent the partials of its open windows before it said so (on
 * the same partials partition: they are read first), so closing windows
 * past its watermark loses nothing of it; when it reads again its emitter
 * says so before anything else. Not while a backlog is read: the partials
 * topic's partitions are read in no common order, and a source idle back
 * then may have sent partials since that another partition holds still. */
static int64_t merge_time(const agg_engine *e, int live)
{
    if (!sources_complete(e)) return INT64_MIN;
    int64_t lo = INT64_MAX, hi = INT64_MIN, now = mono_us();
    int active = 0;
    for (int i = 0; i < e->nsrc; i++) {
        if (e->srcs[i].wm > hi) hi = e->srcs[i].wm;
        /* an idle mark not repeated within the lease: its emitter may be
         * gone (kill -9), and records may come to the partition before its
         * next owner reads them: it holds the merge again */
        if (live && e->srcs[i].idle && now < e->srcs[i].idle_until) continue;
        active = 1;
        if (e->srcs[i].wm < lo) lo = e->srcs[i].wm;
    }
    return active ? lo : hi;
}

int agg_engine_source_progress(agg_engine *e, int src, int64_t wm, int idle)
{
    if (src < 0 || src >= e->nsrc) return AGG_OK;
    agg_source *s = &e->srcs[src];
    if (idle) s->idle_until = mono_us() + e->idle_lease;   /* a repeat renews it */
    else if (wm <= s->wm && !s->idle) return AGG_OK;
    if (wm > s->wm) s->wm = wm;
    s->idle = idle;
    return agg_engine_advance(e, merge_time(e, 0));
}

int agg_engine_merge_live(agg_engine *e) { return agg_engine_advance(e, merge_time(e, 1)); }

void agg_engine_set_idle_lease(agg_engine *e, int64_t us) { e->idle_lease = us; }

static int merge_win(agg_engine *e, int src, int spec, int64_t start, agg_win **out)
{
    if (src < 0 || src >= e->nsrc) return AGG_BADVALUE;
    if (!((spec >= 0 && spec < e->cfg.nspecs) || (spec == AGG_BUCKET_SPEC && e->cfg.features)))
        return AGG_BADVALUE;
    agg_wspec tmp;
    const agg_wspec *ws = spec_of(e, spec, &tmp);
    if (start < -AGG_MAX_TS || start > AGG_MAX_TS || agg_floor_div(start, ws->hop) * ws->hop != start)
        return AGG_BADVALUE;
    if (agg_wm_is_late(&e->wm, start + ws->size)) { e->merge_late++; return AGG_LATE; }
    *out = agg_get_win_src(e, spec, start, src);
    return AGG_OK;
}

/* Does partial n replace the one held, k? A partial whose emitter started
 * reading after the first record k has of the window misses some of it
 * (a new owner re-reading from its commit); of two that both saw the
 * window from its start, the one read further wins; equal: a repeat. */
static int cover_better(const agg_cover *n, const agg_cover *k)
{
    if (k->to < 0) return 1;
    if (n->from > k->first) return 0;
    if (k->from > n->first) return 1;
    return n->to > k->to;
}

int agg_engine_merge_window(agg_engine *e, int src, int spec, int64_t start, const agg_cover *cov,
                            uint64_t events, const agg_hll *users, const agg_hll *sessions)
{
    agg_win *w;
    int rc = merge_win(e, src, spec, start, &w);
    if (rc != AGG_OK) return rc;
    if (!cover_better(cov, &w->cov)) { e->merge_repeats++; return AGG_DUP; }
    w->cov = *cov;
    w->events = events;
    free(w->users);
    free(w->sessions);
    w->users = users ? agg_hll_dup(users) : NULL;
    w->sessions = sessions ? agg_hll_dup(sessions) : NULL;
    return AGG_OK;
}

int agg_engine_merge_entry(agg_engine *e, int src, int spec, int64_t start, const agg_cover *cov,
                           const uint8_t *key, uint32_t klen, const agg_entry *val)
{
    agg_win *w;
    int rc = merge_win(e, src, spec, start, &w);
    if (rc != AGG_OK) return rc;
    uint8_t want = spec == AGG_BUCKET_SPEC ? 0 : 1;   /* window series vs feature deltas */
    if (klen < 1 || (want && key[0] != AGG_K_COUNT && key[0] != AGG_K_ITEM && key[0] != AGG_K_SAMPLE) ||
        (!want && key[0] != AGG_K_FUSER && key[0] != AGG_K_FITEM))
        return AGG_BADVALUE;
    uint64_t h = agg_key_hash(key, klen);
    agg_entry *en = agg_map_find(&w->map, key, klen, h);
    if (en) {
        if (!cover_better(cov, &en->cov)) { e->merge_repeats++; return AGG_DUP; }
    } else if (!(en = agg_series_new(e, w, key, klen, h))) {
        return AGG_OK;
    }
    en->cov = *cov;
    entry_copy(e, en, val);
    return AGG_OK;
}
