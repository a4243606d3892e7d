/* parts.c — `aggregate --emit partials`: one engine per input partition
 * owned (parts.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "parts.h"
#include "seen.h"
#include "timefmt.h"

/* One input partition owned. */
struct agg_part {
    agg_parts *ps;
    char topic[128];
    int32_t partition, partitions;
    uint32_t epoch;
    agg_engine *eng;
    int64_t from, to;       /* input offsets: first read in this epoch, next to read */
    int64_t max_ts;         /* its event time (stream_in_part_time: its records', or its watermark marks') */
    uint64_t closed;        /* windows_emitted when its watermark was last sent */
    int idle_sent;          /* its open windows and its watermark marked idle went out (at its end
                             * for --idle-timeout): the merge passes it until it reads again */
    int64_t idle_at;        /* mono_us of its last idle mark (repeated: the merge's lease) */
};

/* Never called: a partials engine emits partials, not Metrics (its
 * features are off) */
static int part_emit(void *ctx, const Metric *m)
{
    agg_parts *ps = ctx;
    return stream_write(ps->out, &Metric_desc, m, NULL, 0);
}

static void part_src(const agg_part *p, int64_t wm, int idle, agg_psrc *src)
{
    src->topic = p->topic;
    src->partition = p->partition;
    src->partitions = p->partitions;
    src->from = p->from;
    src->to = p->to;
    src->watermark = wm;
    src->idle = idle;
    src->config = p->ps->config_hash;
}

/* Kafka key: its source partition (record_key). */
static int part_write(agg_part *p, const MetricPartial *m)
{
    p->ps->partials++;
    return stream_write(p->ps->out, &MetricPartial_desc, m, NULL, 0);
}

static int part_on_partial(void *ctx, const agg_wview *w, const agg_entry *en)
{
    agg_part *p = ctx;
    agg_psrc src;
    part_src(p, agg_engine_watermark(p->eng), 0, &src);
    MetricPartial m;
    agg_partial_build(&src, w, en, &p->ps->psc, &m);
    return part_write(p, &m);
}

/* testing (--crash-after): die with partials delivered past the last
 * commit, which the next owner emits again */
static void crash_after_partials(agg_parts *ps)
{
    if (ps->crash_after && stream_in_count(ps->in) >= ps->crash_after && stream_flush(ps->out) == 0)
        raise(SIGKILL);
}

static int part_send_wm(agg_part *p, int64_t wm, int idle)
{
    agg_psrc src;
    part_src(p, wm, idle, &src);
    MetricPartial m;
    agg_partial_watermark(&src, &m);
    p->closed = agg_engine_counters(p->eng)->windows_emitted;
    return part_write(p, &m);
}

static agg_part *part_new(agg_parts *ps, const char *topic, int32_t partition, int32_t partitions, uint32_t epoch)
{
    agg_part *p = calloc(1, sizeof *p);
    if (!p) log_fatal("aggregate: out of memory");
    p->ps = ps;
    snprintf(p->topic, sizeof p->topic, "%s", topic);
    p->partition = partition;
    p->partitions = partitions;
    p->epoch = epoch;
    p->from = p->to = -1;
    p->max_ts = INT64_MIN;
    p->eng = agg_engine_new(&ps->cfg, NULL, part_emit, ps);
    agg_engine_set_partial(p->eng, part_on_partial, p);
    if (ps->n == ps->cap) {
        int cap = ps->cap ? ps->cap * 2 : 16;
        agg_part **np = realloc(ps->v, (size_t)cap * sizeof *np);
        if (!np) log_fatal("aggregate: out of memory");
        ps->v = np;
        ps->cap = cap;
    }
    ps->v[ps->n++] = p;
    log_kv(LOG_DEBUG, "partition windows started", "\"topic\":\"%s\",\"partition\":%d", topic, (int)partition);
    return p;
}

static void counters_add(agg_counters *t, const agg_counters *c)
{
    t->events += c->events; t->samples += c->samples; t->late += c->late; t->bad_value += c->bad_value;
    t->series_dropped += c->series_dropped; t->windows_emitted += c->windows_emitted;
    t->metrics_emitted += c->metrics_emitted;
}

/* Its windows are forgotten, not emitted: whoever owns the partition
 * next rebuilds them from the committed offset (the earliest they need). */
static void part_drop(agg_parts *ps, int i)
{
    agg_part *p = ps->v[i];
    counters_add(&ps->gone, agg_engine_counters(p->eng));
    log_kv(LOG_INFO, "partition windows dropped (re-read by its next owner)", "\"topic\":\"%s\",\"partition\":%d,"
           "\"series\":%llu", p->topic, (int)p->partition, (unsigned long long)agg_engine_series(p->eng));
    agg_engine_free(p->eng);
    free(p);
    ps->v[i] = ps->v[--ps->n];
}

static agg_part *part_find(agg_parts *ps, const char *topic, int32_t partition)
{
    for (int i = 0; i < ps->n; i++)
        if (ps->v[i]->partition == partition && !strcmp(ps->v[i]->topic, topic)) return ps->v[i];
    return NULL;
}

/* After a rebalance: partitions no longer owned, or owned again (a new
 * epoch: read again from the committed offset), lose their windows; every
 * partition owned has an entry, also one that delivered nothing yet, so
 * its watermark reaches the merge. A new entry tells the merge at once
 * that the partition is read again (not idle, whatever its last owner
 * said): it waits for it until this one has caught up. -1: writing failed. */
static int parts_refresh(agg_parts *ps)
{
    if (!stream_in_is_kafka(ps->in)) return 0;
    for (int i = 0; i < ps->n;) {
        stream_part sp;
        int owned = 0;
        for (int k = 0; stream_in_owned(ps->in, k, &sp); k++)
            if (sp.partition == ps->v[i]->partition && !strcmp(sp.topic, ps->v[i]->topic)) {
                owned = sp.epoch == ps->v[i]->epoch;
                break;
            }
        if (owned) i++;
        else part_drop(ps, i);
    }
    stream_part sp;
    for (int k = 0; stream_in_owned(ps->in, k, &sp); k++)
        if (!part_find(ps, sp.topic, sp.partition)) {
            if (sp.partitions <= sp.partition) {
                log_kv(LOG_WARN, "partition count of the input topic unknown: its partials wait",
                       "\"topic\":\"%s\"", sp.topic);
                continue;
            }
            if (part_send_wm(part_new(ps, sp.topic, sp.partition, sp.partitions, sp.epoch), INT64_MIN, 0) < 0)
                return -1;
        }
    return 0;
}

static int64_t part_commit_limit(void *ctx, const char *topic, int32_t partition)
{
    agg_part *p = part_find(ctx, topic, partition);
    return p ? agg_engine_first_offset(p->eng) : INT64_MAX;
}

/* The partition's event time moved to t (its records, or the watermark
 * marks read from it): windows it passes close, and their partials go out
 * before the watermark that passes them. -1: writing failed. */
static int part_advance(agg_parts *ps, agg_part *p, int64_t t)
{
    if (t <= p->max_ts) return 0;
    p->max_ts = t;
    if (agg_engine_advance(p->eng, t) != AGG_OK) return -1;
    if (agg_engine_counters(p->eng)->windows_emitted != p->closed) {
        if (part_send_wm(p, agg_engine_watermark(p->eng), 0) < 0) return -1;
        crash_after_partials(ps);
    }
    return 0;
}

/* A partition at its end for --idle-timeout holds nothing back: its
 * windows close by the time of the other partitions this instance owns
 * (stream_in_event_time leaves it out; the largest when all are idle), as
 * one process reading them all would close them. The merge, which hears
 * from other instances too, must not wait for it either (an instance
 * whose partitions are all quiet, or all empty, would hold every window
 * back): when it goes idle its open windows' partials go out as they stand
 * (kept open here: a later, larger partial of a window replaces them in
 * the merge), then its watermark marked idle, also one that never had a
 * record (INT64_MIN), so the merge leaves it out of its minimum. A record
 * it brings later for a window closed meanwhile is late, as it would be
 * for one process that read on elsewhere. */
static int parts_idle(agg_parts *ps)
{
    int64_t t = stream_in_event_time(ps->in);
    stream_part sp;
    for (int k = 0; stream_in_owned(ps->in, k, &sp); k++) {
        if (!sp.idle) {
            /* watermark marks may have moved it on with no record since */
            agg_part *p = part_find(ps, sp.topic, sp.partition);
            stream_pos pos = { sp.topic, sp.partition, 0, 0 };
            if (p && p->epoch == sp.epoch && part_advance(ps, p, stream_in_part_time(ps->in, &pos)) < 0) return -1;
            continue;
        }
        agg_part *p = part_find(ps, sp.topic, sp.partition);
        if (!p || p->epoch != sp.epoch) continue;
        int64_t before = agg_engine_watermark(p->eng);
        if (agg_engine_advance(p->eng, t) != AGG_OK) return -1;
        int64_t wm = agg_engine_watermark(p->eng);
        int64_t now = mono_us();
        if (wm != before || !p->idle_sent || now - p->idle_at >= ps->heartbeat_us) {
            uint64_t closed = p->closed;
            if (!p->idle_sent && agg_engine_emit_open(p->eng) < 0) return -1;
            if (part_send_wm(p, wm, 1) < 0) return -1;
            p->idle_sent = 1;
            p->idle_at = now;
            if (p->closed != closed) crash_after_partials(ps);
        }
    }
    return 0;
}

int agg_parts_tick(agg_parts *ps)
{
    /* every time, announced rebalance or not: a partition assigned that
     * delivered nothing yet (empty) needs its entry to be heard of as idle */
    ps->rebalanced = 0;
    if (parts_refresh(ps) < 0) return -1;
    return parts_idle(ps);
}

int agg_parts_record(agg_parts *ps, stream_rec *r, agg_engine **eng)
{
    if (ps->rebalanced) { ps->rebalanced = 0; if (parts_refresh(ps) < 0) return AGG_ERR; }
    agg_part *p = r->pos.topic ? part_find(ps, r->pos.topic, r->pos.partition) : ps->v[0];
    if (!p) {
        if (parts_refresh(ps) < 0) return AGG_ERR;
        p = part_find(ps, r->pos.topic, r->pos.partition);
        if (!p) {   /* no partial can say how many partitions to wait for: stop uncommitted, restart */
            log_kv(LOG_ERROR, "the input topic's partition count is unknown (no metadata)", "\"topic\":\"%s\"",
                   r->pos.topic);
            return AGG_ERR;
        }
    }
    *eng = p->eng;
    if (p->idle_sent) {
        /* it reads again: the merge waits for it again, told before any
         * partial of what it reads now */
        p->idle_sent = 0;
        if (part_send_wm(p, agg_engine_watermark(p->eng), 0) < 0) return AGG_ERR;
    }
    if (p->from < 0) p->from = r->pos.offset;
    p->to = r->pos.offset + 1;
    agg_engine_set_offset(p->eng, r->pos.offset);
    int64_t ts = r->type == &Event_desc ? r->as.event.ts : r->as.sample.ts;
    int ar = r->type == &Event_desc ? agg_engine_event(p->eng, &r->as.event) : agg_engine_sample(p->eng, &r->as.sample);
    if (ar != AGG_OK) return ar;
    return part_advance(ps, p, stream_in_note_part_time(ps->in, &r->pos, ts)) < 0 ? AGG_ERR : AGG_OK;
}

int agg_parts_finish(agg_parts *ps)
{
    if (parts_refresh(ps) < 0) return -1;   /* never a partition revoked meanwhile: another member finishes it */
    for (int i = 0; i < ps->n; i++) {
        agg_part *p = ps->v[i];
        if (agg_engine_flush(p->eng) != AGG_OK || part_send_wm(p, INT64_MAX, 0) < 0) return -1;
    }
    return 0;
}


void agg_parts_init(agg_parts *ps, const agg_config *cfg, uint64_t crash_after)
{
    memset(ps, 0, sizeof *ps);
    ps->cfg = *cfg;
    ps->crash_after = crash_after;
    agg_engine *tmp = agg_engine_new(cfg, NULL, part_emit, ps);
    ps->config_hash = agg_engine_config_hash(tmp);
    agg_engine_free(tmp);
}

void agg_parts_start(agg_parts *ps, stream_in *in, stream_out *out, int32_t part, int32_t parts)
{
    ps->in = in;
    ps->out = out;
    if (stream_in_is_kafka(in)) stream_in_set_commit_limit(in, part_commit_limit, ps);
    else part_new(ps, "-", part, parts, 1);
}

void agg_parts_sum(const agg_parts *ps, agg_counters *sum, uint64_t *dups, uint64_t *untracked)
{
    *sum = ps->gone;
    *dups = *untracked = 0;
    for (int i = 0; i < ps->n; i++) {
        counters_add(sum, agg_engine_counters(ps->v[i]->eng));
        agg_seen *seen = agg_engine_seen(ps->v[i]->eng);
        if (seen) { *dups += agg_seen_duplicates(seen); *untracked += agg_seen_untracked(seen); }
    }
}

void agg_parts_free(agg_parts *ps)
{
    for (int i = 0; i < ps->n; i++) { agg_engine_free(ps->v[i]->eng); free(ps->v[i]); }
    free(ps->v);
    agg_pscratch_free(&ps->psc);
}
