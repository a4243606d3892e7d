/* scaleout.c — the run loops of experiment-analyzer's scale-out (README
 * "Scaling out"): --emit partials (per source partition, ExperimentPartial
 * records at each report boundary) and --merge (partials in, the results
 * one process would write). The records and the merge are partial.c's;
 * the single-process run is main.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analyze.h"
#include "log.h"
#include "metrics.h"
#include "partial.h"
#include "run.h"
#include "sig.h"
#include "state.h"
#include "stream.h"
#include "timefmt.h"

/* --emit partials: one engine per source partition (its users are its
 * own: events are keyed by user), a report boundary per partition by its
 * own watermark (partial.h). */
typedef struct ea_part {
    ea_engine *ea;
    int64_t wm, next, last_ts, offset;
    uint64_t events;
    int read_any;                 /* a record of it was read (the engine may be an idle one's) */
    int idle_sent;                /* its idle snapshot went out: it stands until the partition reads again */
    int64_t idle_at;              /* mono_us it last went out (repeated: the merge's lease) */
} ea_part;

typedef struct ea_pctx {
    ea_ctx *c;
    ea_part *parts;
    int32_t np;                   /* partitions of the source */
    int64_t every_us;
    int failed;                   /* writing from the tick failed */
} ea_pctx;

/* A snapshot standing for boundaries [boundary, last] (partial.h). */
static int ea_part_emit_range(ea_pctx *pc, ea_part *p, int32_t partition, int64_t prev_wm, int64_t boundary,
                              int64_t last, int final)
{
    ea_ctx *c = pc->c;
    ea_partial_src src = {
        .topic = c->topic, .partition = partition, .partitions = pc->np,
        .offset = p->offset, .watermark = p->wm, .prev_watermark = prev_wm,
        .boundary = boundary, .boundary_last = last, .every = pc->every_us,
        .last_ts = p->last_ts, .events = p->events, .final = final,
    };
    if (ea_partial_write(c->out, p->ea, &src) < 0) return -1;
    metrics_add(c->m_results, (double)c->cfg->nexperiments);
    return 0;
}

static int ea_part_emit(ea_pctx *pc, ea_part *p, int32_t partition, int64_t prev_wm, int final)
{
    return ea_part_emit_range(pc, p, partition, prev_wm, p->next, p->wm, final);
}

/* The boundary an idle snapshot of p stands from: its next one, or, before
 * its first event, every one (INT64_MIN). */
static int64_t ea_idle_key(const ea_part *p) { return p->next ? p->next : INT64_MIN; }

/* A quiet input's tick (Kafka): a partition this instance owns that has had
 * nothing unread for --idle-timeout, also one that never had an event,
 * sends its snapshot as it stands for every boundary from its next one on
 * (boundary_last INT64_MAX: idle), so the merge does not wait for it while
 * the other partitions cross boundaries (partial.h); again every
 * --idle-timeout while it stays idle (the merge's lease). */
static void ea_parts_tick(void *ctx)
{
    ea_pctx *pc = ctx;
    if (pc->failed || !pc->every_us) return;
    stream_part sp;
    int sent = 0;
    for (int k = 0; stream_in_owned(pc->c->in, k, &sp); k++) {
        if (!sp.idle || sp.partition < 0 || sp.partition >= pc->np) continue;
        ea_part *p = &pc->parts[sp.partition];
        int64_t now = mono_us();
        if (p->idle_sent && now - p->idle_at < pc->c->idle_us) continue;
        if (!pc->c->topic && !(pc->c->topic = strdup(sp.topic))) log_fatal("out of memory");
        if (!p->ea) p->ea = ea_engine_new(pc->c, 1);
        if (ea_part_emit_range(pc, p, sp.partition, p->wm, ea_idle_key(p), INT64_MAX, 0) < 0) {
            pc->failed = 1;
            sig_request_stop();
            return;
        }
        p->idle_sent = 1;
        p->idle_at = now;
        sent = 1;
    }
    if (sent && stream_flush(pc->c->out) < 0) { pc->failed = 1; sig_request_stop(); }
}

/* Kafka assigned partition p to this instance. Its engine is a function of
 * the partition's records from its start: one this instance holds resumes
 * from where it stopped (whoever read the partition meanwhile re-emitted
 * partials the merge already has, or will have from us); else the
 * partition is read from its start, to rebuild its users. Nothing is ever
 * committed in this mode, so the group's offsets never point past that. */
static int64_t ea_part_start(void *ctx, const char *topic, int32_t partition)
{
    ea_pctx *pc = ctx;
    if (!pc->c->topic) {
        pc->c->topic = strdup(topic);
        if (!pc->c->topic) log_fatal("out of memory");
    }
    if (partition < 0 || partition >= pc->np) return -1;   /* its records are refused */
    ea_part *p = &pc->parts[partition];
    return p->ea ? p->offset : 0;
}

int ea_partials_main(ea_ctx *c, int64_t every_us, int32_t partition, int32_t partitions)
{
    /* the merge waits for every partition of the source: a wrong count
     * would hold every report back (too many) or refuse events (too few) */
    int topic_np = stream_in_partition_count(c->in);
    if (stream_in_is_kafka(c->in)) {
        if (topic_np < 1 && !partitions) {
            log_error("--emit partials: the input topic's partition count is unknown (no metadata from the "
                      "brokers): give --partitions");
            return 1;
        }
        if (topic_np >= 1 && partitions && partitions != topic_np) {
            log_error("--partitions %lld: the input topic has %d partitions", (long long)partitions, topic_np);
            return 2;
        }
        if (topic_np >= 1) partitions = topic_np;
    } else if (!partitions) {
        partitions = 1;
    }
    int32_t np = partitions;
    ea_part *parts = calloc((size_t)np, sizeof *parts);
    if (!parts) log_fatal("out of memory");
    for (int32_t i = 0; i < np; i++) parts[i].wm = INT64_MIN;
    int kafka = stream_in_is_kafka(c->in);
    ea_pctx pc = { c, parts, np, every_us, 0 };
    if (kafka) {
        stream_in_set_start(c->in, ea_part_start, &pc);
        stream_in_set_no_commit(c->in);
        stream_in_set_tick(c->in, 500, ea_parts_tick, &pc);
    }
    else parts[partition].ea = ea_engine_new(c, 1);   /* its final partial even when empty */
    stream_rec r;
    int rc;
    uint64_t old = 0;
    while ((rc = stream_in_next(c->in, &r)) == 1) {
        if (r.type != &Event_desc) continue;
        int32_t pi = kafka ? r.pos.partition : partition;
        if (pi < 0 || pi >= np) {
            char detail[160];
            snprintf(detail, sizeof detail, "source partition %d: --partitions says %d", (int)pi, (int)np);
            stream_reject(c->in, &r.pos, "bad_partition", detail, r.data, r.len);
            continue;
        }
        ea_part *p = &parts[pi];
        if (kafka && p->read_any && r.pos.offset < p->offset) { old++; continue; }   /* counted already */
        if (!p->ea) p->ea = ea_engine_new(c, 1);
        if (!p->read_any) {
            p->read_any = 1;
            /* rebuilt from the start: a partition whose start was deleted
             * (retention) cannot give every exposure back */
            if (kafka && r.pos.offset > 0)
                log_kv(LOG_WARN, "partition read from after its start: events before were deleted (retention "
                       "shorter than the experiments); its users' results miss them",
                       "\"topic\":\"%s\",\"partition\":%d,\"first_offset\":%lld", r.pos.topic,
                       (int)pi, (long long)r.pos.offset);
        }
        const Event *ev = &r.as.event;
        int dup = ea_is_duplicate(p->ea, ev);
        if (p->idle_sent) {
            /* it reads again: its idle snapshot stands no longer. A record
             * crossing its next boundary says so itself (the snapshot
             * below, same boundary and offset); else one standing for no
             * boundary takes its place, before anything else it sends */
            p->idle_sent = 0;
            if ((dup || !(every_us && p->next && ev->ts >= p->next)) &&
                ea_part_emit_range(&pc, p, pi, p->wm, ea_idle_key(p),
                                   p->next ? p->next - 1 : INT64_MIN, 0) < 0) { rc = -1; break; }
        }
        if (dup) { p->offset = r.pos.offset + 1; continue; }
        /* the single run's cadence, on this partition's watermark */
        int64_t prev = p->wm;
        if (ev->ts > p->wm) p->wm = ev->ts;
        int64_t t = p->wm;
        if (every_us && t >= p->next) {
            if (p->next && ea_part_emit(&pc, p, pi, prev, 0) < 0) { rc = -1; break; }
            p->next = ea_next_boundary(t, every_us);
        }
        if (ev->ts > p->last_ts) p->last_ts = ev->ts;
        p->events++;
        ea_event_outcome(c, &r, ea_event(p->ea, ev));
        p->offset = r.pos.offset + 1;
        if (stream_sync_due(c->in)) {
            /* deliver the partials (over Kafka nothing is committed: ea_part_start) */
            if (stream_sync(c->in, c->out) < 0) { rc = -1; break; }
            metrics_tick();
        }
    }
    /* the end of a file or pipe: every partition's last snapshot. Not for
     * Kafka (a topic has no end) nor when stopped by a signal (the input
     * did not end: the next run goes on) */
    if (pc.failed) rc = -1;
    int ended = rc == 0 && !kafka && !sig_stop_requested();
    for (int32_t i = 0; ended && i < np; i++)
        if (parts[i].ea && ea_part_emit(&pc, &parts[i], i, parts[i].wm, 1) < 0) rc = -1;
    if (stream_sync(c->in, c->out) < 0) rc = -1;
    uint64_t users = 0, dups = 0, events = 0;
    for (int32_t i = 0; i < np; i++) {
        if (!parts[i].ea) continue;
        users += ea_users(parts[i].ea); dups += ea_duplicates(parts[i].ea); events += parts[i].events;
        ea_free(parts[i].ea);
    }
    free(parts);
    log_kv(LOG_INFO, "done", "\"records\":%llu,\"events\":%llu,\"exposed_users\":%llu,\"duplicates\":%llu,"
           "\"already_counted\":%llu,\"final\":%s", (unsigned long long)stream_in_count(c->in),
           (unsigned long long)events, (unsigned long long)users, (unsigned long long)dups,
           (unsigned long long)old, ended ? "true" : "false");
    return rc == 0 ? 0 : 1;
}

/* --merge over Kafka: every partition of the partials topic from its
 * start, always. The merge's state (the snapshots of boundaries not merged
 * yet, the sequential looks) is a function of the partials, so a restart
 * rebuilds it by reading them again; nothing is committed. */
static int64_t ea_merge_start(void *ctx, const char *topic, int32_t partition)
{
    (void)ctx; (void)topic; (void)partition;
    return 0;
}

#define EA_MERGE_BLOB "experiment-analyzer.merge"

/* --merge: partials in, the results one process would write out. With
 * --state, the number of reports written (saved once they are delivered):
 * a restarted merge recomputes those and writes only the ones after. */
int ea_merge_main(ea_ctx *c, int64_t every_us)
{
    ea_merger *m = ea_merger_new(c->ea, every_us);
    if (!m) log_fatal("out of memory");
    /* emitters repeat an idle snapshot every --idle-timeout: three missed,
     * its instance may be gone */
    ea_merger_set_idle_lease(m, 3 * c->idle_us);
    int kafka = stream_in_is_kafka(c->in);
    if (kafka) {
        stream_in_set_start(c->in, ea_merge_start, NULL);
        stream_in_set_no_commit(c->in);
    }
    int64_t written = 0, saved = 0;
    if (c->st) {
        void *blob = NULL;
        size_t len = 0;
        int g = state_get(c->st, EA_MERGE_BLOB, &blob, &len);
        if (g < 0) { ea_merger_free(m); return 1; }
        if (g > 0 && len == sizeof written) memcpy(&written, blob, sizeof written);
        free(blob);
        saved = written;
        if (written) log_kv(LOG_INFO, "merge: reports already written", "\"reports\":%lld", (long long)written);
    }
    stream_rec r;
    int rc;
    int64_t reports = 0;
    uint64_t refused = 0;
    while ((rc = stream_in_next(c->in, &r)) == 1) {
        if (r.type != &ExperimentPartial_desc) {
            stream_reject(c->in, &r.pos, "not_a_partial", "--merge reads ExperimentPartial records "
                          "(experiment-analyzer --emit partials)", r.data, r.len);
            refused++;
            continue;
        }
        char err[256];
        if (ea_merger_add(m, &r.as.experiment_partial, err, sizeof err) < 0) {
            stream_reject(c->in, &r.pos, "bad_partial", err, r.data, r.len);
            refused++;
            continue;
        }
        while (ea_merger_next(m, &c->last_ts) == 1) {
            /* every report takes its look; only the new ones are written */
            if (++reports <= written) { ea_look_all(c->ea); continue; }
            if (ea_emit(c) < 0) { rc = -1; break; }
            written = reports;
        }
        if (rc < 0) break;
        if (stream_sync_due(c->in)) {
            if (stream_sync(c->in, c->out) < 0) { rc = -1; break; }
            if (c->st && written > saved) {
                if (state_put(c->st, EA_MERGE_BLOB, &written, sizeof written) < 0) { rc = -1; break; }
                saved = written;
            }
            metrics_tick();
        }
    }
    if (stream_sync(c->in, c->out) < 0) rc = -1;
    if (rc == 0 && c->st && written > saved && state_put(c->st, EA_MERGE_BLOB, &written, sizeof written) < 0) rc = -1;
    int done = ea_merger_done(m);
    if (rc == 0 && !done && !kafka)
        log_warn("end of input before every partition's last partial: the last report is not written");
    log_kv(LOG_INFO, "done", "\"records\":%llu,\"partials_kept\":%llu,\"partials_ignored\":%llu,"
           "\"refused\":%llu,\"reports\":%lld,\"complete\":%s",
           (unsigned long long)stream_in_count(c->in), (unsigned long long)ea_merger_kept(m),
           (unsigned long long)ea_merger_ignored(m), (unsigned long long)refused, (long long)reports,
           done ? "true" : "false");
    ea_merger_free(m);
    return rc == 0 ? 0 : 1;
}
