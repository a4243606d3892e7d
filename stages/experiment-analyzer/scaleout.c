/* scaleout.c — the runner callbacks of experiment-analyzer's scale-out (README
 * "Scaling out"): --emit partials (per source partition, ExperimentPartial
 * records at each report boundary) and --merge (partials in, the results
 * one process would write). The records and the merge are partial.c's;
 * the single-process run is main.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analyze.h"
#include "arena.h"
#include "hold.h"
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
 * own watermark (partial.h). A partition carrying watermark marks gives
 * its engine the records in event-time order, each once the marks have
 * passed it (hold.h); one without marks, as they come. */
typedef struct ea_part {
    ea_engine *ea;
    ea_hold held;                 /* records past the marks' time, waiting */
    int64_t wm, next, last_ts, offset;
    uint64_t events;
    int read_any;                 /* a record of it was read (the engine may be an idle one's) */
    int idle_sent;                /* its idle snapshot went out: it stands until the partition reads again */
    int64_t idle_at;              /* mono_us it last went out (repeated: the merge's lease) */
    int64_t marks_last;           /* the last boundary its marks' time stood for (ea_parts_release_owned) */
} ea_part;

typedef struct ea_pctx {
    ea_ctx *c;
    ea_part *parts;
    int32_t np;                   /* partitions of the source */
    int64_t every_us;
    int kafka;
    uint64_t old;                 /* records of a partition read again, counted already */
    int ended;                    /* the input ended: every partition's last snapshot went out */
    uint64_t seq;                 /* records read (the order of held records of one time) */
    size_t held_bytes;            /* copies held, over every partition (EA_HOLD_MAX_BYTES) */
    uint64_t held_total, released_early, marks_passed;
    arena ar;                     /* a released record's decoded fields */
} ea_pctx;

/* The most bytes of records held for the marks (hold.h), over every
 * partition: past it the earliest held records of the partition that
 * grew are counted at once (released_early: they may land one report
 * late), so a producer that never marks progress cannot grow it without
 * end. 64 MiB: ~300,000 events of ~200 bytes, minutes of a busy topic's
 * lag between two ingest instances. */
#define EA_HOLD_MAX_BYTES ((size_t)64 << 20)

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

/* Count one Event of partition pi now: its boundary (the single run's
 * cadence, on this partition's watermark), then the engine. dup: it is a
 * copy of one counted (ea_is_duplicate, asked once per record). */
static int ea_part_count(ea_pctx *pc, ea_part *p, int32_t pi, stream_rec *r, int dup)
{
    ea_ctx *c = pc->c;
    const Event *ev = &r->as.event;
    if (dup) return RUNNER_SKIP;
    int64_t prev = p->wm;
    if (ev->ts > p->wm) p->wm = ev->ts;
    int64_t t = p->wm;
    if (pc->every_us && t >= p->next) {
        if (p->next && ea_part_emit(pc, p, pi, prev, 0) < 0) return RUNNER_FAIL;
        p->next = ea_next_boundary(t, pc->every_us);
    }
    if (ev->ts > p->last_ts) p->last_ts = ev->ts;
    p->events++;
    ea_event_outcome(c, r, ea_event(p->ea, ev));
    return RUNNER_OK;
}

/* Count the held records of partition pi up to event time t, earliest
 * first (hold.h). */
static int ea_part_release(ea_pctx *pc, ea_part *p, int32_t pi, int64_t t)
{
    const ea_held *h;
    while ((h = ea_hold_min(&p->held)) && h->ts <= t) {
        ea_held e;
        ea_hold_pop(&p->held, &e);
        pc->held_bytes -= e.len;
        stream_rec r = { .type = &Event_desc, .data = e.data, .len = e.len,
                         .pos = { .topic = pc->c->topic, .partition = pi, .offset = e.offset } };
        char err[160];
        arena_reset(&pc->ar);
        int rc;
        if (fbrec_decode(&Event_desc, e.data, e.len, 0, &r.as.event, &pc->ar, err, sizeof err) < 0) {
            /* it was verified when read: a copy that no longer decodes is a bug, said so */
            stream_reject(pc->c->in, &r.pos, "bad_record", err, e.data, e.len);
            rc = RUNNER_SKIP;
        } else {
            rc = ea_part_count(pc, p, pi, &r, ea_is_duplicate(p->ea, &r.as.event));
        }
        free(e.data);
        if (rc == RUNNER_FAIL) return RUNNER_FAIL;
    }
    return RUNNER_OK;
}

/* A partition's time by its watermark marks moved on with no record of
 * its own since (a quiet input's tick, and each sync point): what they
 * passed is counted; and when they passed its next boundary with nothing
 * of it crossing (a partition with few events while others are busy), its
 * snapshot goes out as it stands for the boundaries up to that time, as
 * aggregate closes a partition's windows by its marks: the merge need not
 * wait for its next event. Not a boundary of its own making: its watermark
 * sat below the next one, which some event crossed (every input partition
 * holds one past it), so one process reports it too. A record crossing it
 * later sends the same boundary again, covering more. */
static int ea_parts_release_owned(ea_pctx *pc)
{
    stream_part sp;
    int sent = 0;
    for (int k = 0; stream_in_owned(pc->c->in, k, &sp); k++) {
        if (sp.partition < 0 || sp.partition >= pc->np) continue;
        ea_part *p = &pc->parts[sp.partition];
        if (!p->ea) continue;
        /* idle: every input partition idle and this one read to its end,
         * nothing older can come: all of it */
        stream_pos pos = { sp.topic, sp.partition, 0, 0 };
        int64_t t = sp.idle ? INT64_MAX : stream_in_part_time(pc->c->in, &pos);
        if (p->held.n && ea_part_release(pc, p, sp.partition, t) == RUNNER_FAIL) return RUNNER_FAIL;
        /* without marks t is its records' largest time: below its next boundary */
        if (sp.idle || !pc->every_us || !p->next || p->idle_sent || t == INT64_MIN || t < p->next) continue;
        int64_t last = ea_next_boundary(t, pc->every_us) - pc->every_us;
        if (last <= p->marks_last) continue;
        if (ea_part_emit_range(pc, p, sp.partition, p->wm, p->next, last, 0) < 0) return RUNNER_FAIL;
        p->marks_last = last;
        pc->marks_passed++;
        sent = 1;
    }
    return sent && stream_flush(pc->c->out) < 0 ? RUNNER_FAIL : RUNNER_OK;
}

static int ea_parts_tick(void *ctx, runner *r)
{
    (void)r;
    return ea_parts_release_owned(((ea_ctx *)ctx)->scale);
}

/* A quiet input's tick (Kafka): a partition this instance owns that has had
 * nothing unread for --idle-timeout, also one that never had an event,
 * sends its snapshot as it stands for every boundary from its next one on
 * (boundary_last INT64_MAX: idle), so the merge does not wait for it while
 * the other partitions cross boundaries (partial.h); again every
 * --idle-timeout while it stays idle (the merge's lease). */
static int ea_parts_idle(void *ctx, runner *r)
{
    ea_pctx *pc = ((ea_ctx *)ctx)->scale;
    if (ea_parts_release_owned(pc) == RUNNER_FAIL) return RUNNER_FAIL;   /* an idle one's held records first */
    if (!pc->kafka || !pc->every_us) return RUNNER_OK;
    stream_part sp;
    int sent = 0;
    for (int k = 0; stream_in_owned(pc->c->in, k, &sp); k++) {
        if (!sp.idle || sp.partition < 0 || sp.partition >= pc->np) continue;
        ea_part *p = &pc->parts[sp.partition];
        int64_t now = mono_us();
        if (p->idle_sent && now - p->idle_at < pc->c->idle_us) continue;
        if (!pc->c->topic && !(pc->c->topic = strdup(sp.topic))) log_fatal("out of memory");
        if (!p->ea) p->ea = ea_engine_new(pc->c, 1);
        if (ea_part_emit_range(pc, p, sp.partition, p->wm, ea_idle_key(p), INT64_MAX, 0) < 0) return RUNNER_FAIL;
        p->idle_sent = 1;
        p->idle_at = now;
        sent = 1;
    }
    return sent && stream_flush(pc->c->out) < 0 ? RUNNER_FAIL : RUNNER_OK;
}

/* Kafka assigned partition p to this instance. Its engine is a function of
 * the partition's records from its start: one this instance holds resumes
 * from where it stopped (whoever read the partition meanwhile re-emitted
 * partials the merge already has, or will have from us); else the
 * partition is read from its start, to rebuild its users. Nothing is ever
 * committed in this mode, so the group's offsets never point past that. */
static int64_t ea_part_start(void *ctx, const char *topic, int32_t partition)
{
    ea_pctx *pc = ctx;   /* the start callback's own context */
    if (!pc->c->topic) {
        pc->c->topic = strdup(topic);
        if (!pc->c->topic) log_fatal("out of memory");
    }
    if (partition < 0 || partition >= pc->np) return -1;   /* its records are refused */
    ea_part *p = &pc->parts[partition];
    return p->ea ? p->offset : 0;
}

/* the merge waits for every partition of the source: a wrong count would
 * hold every report back (too many) or refuse events (too few) */
static int ea_partials_init(void *ctx, runner *r)
{
    ea_ctx *c = ctx;
    c->in = runner_in(r);
    c->out = runner_out(r);
    int32_t partitions = c->partitions;
    int topic_np = stream_in_partition_count(c->in);
    int kafka = stream_in_is_kafka(c->in);
    if (kafka) {
        if (topic_np < 1 && !partitions) {
            log_error("--emit partials: the input topic's partition count is unknown (no metadata from the "
                      "brokers): give --partitions");
            return RUNNER_FAIL;
        }
        if (topic_np >= 1 && partitions && partitions != topic_np) {
            log_error("--partitions %lld: the input topic has %d partitions", (long long)partitions, topic_np);
            return RUNNER_USAGE;
        }
        if (topic_np >= 1) partitions = topic_np;
    } else if (!partitions) {
        partitions = 1;
    }
    ea_pctx *pc = calloc(1, sizeof *pc);
    ea_part *parts = calloc((size_t)partitions, sizeof *parts);
    if (!pc || !parts) log_fatal("out of memory");
    for (int32_t i = 0; i < partitions; i++) parts[i].wm = INT64_MIN;
    *pc = (ea_pctx){ .c = c, .parts = parts, .np = partitions, .every_us = c->every_us, .kafka = kafka };
    arena_init(&pc->ar, 0);
    c->scale = pc;
    if (kafka) stream_in_set_start(c->in, ea_part_start, pc);   /* never committed: the runner's no_commit */
    else parts[c->partition].ea = ea_engine_new(c, 1);          /* its final partial even when empty */
    return RUNNER_OK;
}

static int ea_partials_record(void *ctx, runner *rn, stream_rec *r)
{
    ea_ctx *c = ctx;
    ea_pctx *pc = c->scale;
    if (r->type != &Event_desc) { c->ignored++; return RUNNER_SKIP; }   /* counted: ignored_total */
    int32_t pi = pc->kafka ? r->pos.partition : c->partition;
    if (pi < 0 || pi >= pc->np) {
        char detail[160];
        snprintf(detail, sizeof detail, "source partition %d: --partitions says %d", (int)pi, (int)pc->np);
        stream_reject(c->in, &r->pos, "bad_partition", detail, r->data, r->len);
        return RUNNER_SKIP;
    }
    ea_part *p = &pc->parts[pi];
    if (pc->kafka && p->read_any && r->pos.offset < p->offset) { pc->old++; return RUNNER_SKIP; }   /* counted already */
    if (!p->ea) p->ea = ea_engine_new(c, 1);
    if (!p->read_any) {
        p->read_any = 1;
        /* rebuilt from the start: a partition whose start was deleted
         * (retention) cannot give every exposure back */
        if (pc->kafka && r->pos.offset > 0)
            log_kv(LOG_WARN, "partition read from after its start: events before were deleted (retention "
                   "shorter than the experiments); its users' results miss them",
                   "\"topic\":\"%s\",\"partition\":%d,\"first_offset\":%lld", r->pos.topic,
                   (int)pi, (long long)r->pos.offset);
    }
    const Event *ev = &r->as.event;
    /* the partition's time: its records' (this one's included), or what
     * its watermark marks say (INT64_MIN: not known yet). A record past it,
     * or not before one held, waits its turn (hold.h) */
    int64_t t = INT64_MAX;
    if (pc->kafka) t = stream_in_note_part_time(c->in, &r->pos, ev->ts);
    const ea_held *first = ea_hold_min(&p->held);
    int now = ev->ts <= t && (!first || ev->ts < first->ts);
    int dup = now && ea_is_duplicate(p->ea, ev);
    if (p->idle_sent) {
        /* it reads again: its idle snapshot stands no longer. A record
         * crossing its next boundary now says so itself (the snapshot
         * below, same boundary and offset); else one standing for no
         * boundary takes its place, before anything else it sends */
        p->idle_sent = 0;
        if ((!now || dup || !(pc->every_us && p->next && ev->ts >= p->next)) &&
            ea_part_emit_range(pc, p, pi, p->wm, ea_idle_key(p), p->next ? p->next - 1 : INT64_MIN, 0) < 0)
            return RUNNER_FAIL;
    }
    int rc = RUNNER_OK;
    if (now) {
        rc = ea_part_count(pc, p, pi, r, dup);
        if (rc == RUNNER_FAIL) return rc;
    } else {
        if (ea_hold_push(&p->held, ev->ts, pc->seq, r->pos.offset, r->data, r->len) < 0)
            log_fatal("out of memory");
        pc->held_bytes += r->len;
        pc->held_total++;
    }
    pc->seq++;
    p->offset = r->pos.offset + 1;
    if (ea_part_release(pc, p, pi, t) == RUNNER_FAIL) return RUNNER_FAIL;
    while (pc->held_bytes > EA_HOLD_MAX_BYTES && (first = ea_hold_min(&p->held))) {
        if (!pc->released_early++)
            log_kv(LOG_WARN, "more held for the watermark marks than the bound: the earliest are counted "
                   "now (they may land in a later report)", "\"bytes\":%zu,\"partition\":%d",
                   pc->held_bytes, (int)pi);
        if (ea_part_release(pc, p, pi, first->ts) == RUNNER_FAIL) return RUNNER_FAIL;
    }
    return rc;
}

/* The end of a file or pipe: every partition's last snapshot. Not for Kafka
 * (a topic has no end) nor when stopped by a signal (the input did not end:
 * the next run goes on). */
static int ea_partials_finish(void *ctx, runner *r)
{
    ea_pctx *pc = ((ea_ctx *)ctx)->scale;
    pc->ended = !pc->kafka && !sig_stop_requested();
    for (int32_t i = 0; pc->ended && i < pc->np; i++)
        if (pc->parts[i].ea && (ea_part_release(pc, &pc->parts[i], i, INT64_MAX) == RUNNER_FAIL ||
                                ea_part_emit(pc, &pc->parts[i], i, pc->parts[i].wm, 1) < 0)) return -1;
    return 0;
}

static void ea_partials_stats(void *ctx, runner *r, void *snap)
{
    ea_pctx *pc = ((ea_ctx *)ctx)->scale;
    ea_figures *d = &((ea_snap *)snap)->d;
    d->records = stream_in_count(runner_in(r));
    for (int32_t i = 0; i < pc->np; i++) {
        if (!pc->parts[i].ea) continue;
        d->exposed_users += ea_users(pc->parts[i].ea);
        d->duplicates += ea_duplicates(pc->parts[i].ea);
        d->events += pc->parts[i].events;
        d->users_dropped += ea_users_dropped(pc->parts[i].ea);
        d->held += pc->parts[i].held.n;
    }
    d->held_total = pc->held_total;
    d->released_early = pc->released_early;
    d->marks_passed = pc->marks_passed;
    d->ignored = ((ea_ctx *)ctx)->ignored;
    d->already_counted = pc->old;
    d->final = (uint64_t)pc->ended;
    ((ea_snap *)snap)->m = *d;   /* the Prometheus rows read m: without it every gauge stayed unset */
}

static void ea_partials_fini(void *ctx, runner *r)
{
    ea_ctx *c = ctx;
    ea_pctx *pc = c->scale;
    if (!pc) return;
    for (int32_t i = 0; i < pc->np; i++) { ea_free(pc->parts[i].ea); ea_hold_free(&pc->parts[i].held); }
    arena_free(&pc->ar);
    free(pc->parts);
    free(pc);
    c->scale = NULL;
}

#define D(f) offsetof(ea_snap, d.f)
static const counter_def ea_partials_table[] = {
    EA_METRIC_ROWS(NULL),
    { COUNTER_GAUGE, "streamrec_experiment_held_records",
      "records waiting until the watermark marks pass them (README Scaling out)", offsetof(ea_snap, m.held) },
    { COUNTER_DONE_ONLY, NULL, NULL, D(records), "records" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(events), "events" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(exposed_users), "exposed_users" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(duplicates), "duplicates" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(already_counted), "already_counted" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(held_total), "held_for_marks" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(held), "held_now" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(released_early), "released_early" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(marks_passed), "passed_by_marks" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(ignored), "ignored" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(users_dropped), "users_dropped" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(final), "final", NULL, COUNTER_BOOL },
    { 0 }
};

/* --emit partials: one engine per source partition (its users are its own:
 * events are keyed by user), a report boundary per partition by its own
 * watermark (partial.h). Nothing is ever committed (ea_part_start). */
const runner_def ea_partials_def = {
    .stage = "experiment-analyzer", .state_version = 1, .tick_ms = 500, .no_commit = 1,
    .counters = ea_partials_table, .stats_size = sizeof(ea_snap), .stats = ea_partials_stats,
    .init = ea_partials_init, .record = ea_partials_record, .idle = ea_parts_idle, .tick = ea_parts_tick,
    .finish = ea_partials_finish,
    .fini = ea_partials_fini,
};

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
typedef struct ea_mctx {
    ea_merger *m;
    int kafka;
    int64_t written, saved;       /* reports written (this run or before), and saved in --state */
    uint64_t refused;
} ea_mctx;

static ea_mctx *ea_merge_ctx(ea_ctx *c)
{
    if (!c->scale && !(c->scale = calloc(1, sizeof(ea_mctx)))) log_fatal("out of memory");
    return c->scale;
}

static int ea_merge_restore(void *ctx, runner *r, state *st)
{
    ea_mctx *mc = ea_merge_ctx(ctx);
    void *blob = NULL;
    size_t len = 0;
    int g = state_get(st, EA_MERGE_BLOB, &blob, &len);
    if (g < 0) return RUNNER_FAIL;
    if (g > 0 && len == sizeof mc->written) memcpy(&mc->written, blob, sizeof mc->written);
    free(blob);
    mc->saved = mc->written;
    if (mc->written) log_kv(LOG_INFO, "merge: reports already written", "\"reports\":%lld", (long long)mc->written);
    return RUNNER_OK;
}

static int ea_merge_init(void *ctx, runner *r)
{
    ea_ctx *c = ctx;
    ea_mctx *mc = ea_merge_ctx(c);
    c->in = runner_in(r);
    c->out = runner_out(r);
    mc->m = ea_merger_new(c->ea, c->every_us);
    if (!mc->m) log_fatal("out of memory");
    /* emitters repeat an idle snapshot every --idle-timeout: three missed,
     * its instance may be gone */
    ea_merger_set_idle_lease(mc->m, 3 * c->idle_us);
    mc->kafka = stream_in_is_kafka(c->in);
    if (mc->kafka) stream_in_set_start(c->in, ea_merge_start, NULL);   /* never committed: the runner's no_commit */
    return RUNNER_OK;
}

static int ea_merge_record(void *ctx, runner *rn, stream_rec *r)
{
    ea_ctx *c = ctx;
    ea_mctx *mc = c->scale;
    if (r->type != &ExperimentPartial_desc) {
        stream_reject(c->in, &r->pos, "not_a_partial", "--merge reads ExperimentPartial records "
                      "(experiment-analyzer --emit partials)", r->data, r->len);
        mc->refused++;
        return RUNNER_SKIP;
    }
    char err[256];
    if (ea_merger_add(mc->m, &r->as.experiment_partial, err, sizeof err) < 0) {
        stream_reject(c->in, &r->pos, "bad_partial", err, r->data, r->len);
        mc->refused++;
        return RUNNER_SKIP;
    }
    while (ea_merger_next(mc->m, &c->last_ts) == 1) {
        /* every report takes its look; only the new ones are written */
        if (++c->reports <= mc->written) { ea_look_all(c->ea); continue; }
        if (ea_emit(c) < 0) return RUNNER_FAIL;
        mc->written = c->reports;
    }
    return RUNNER_OK;
}

/* the reports written, once the runner delivered them (--out is flushed
 * before the checkpoint) */
static int ea_merge_save(void *ctx, runner *r, state *st)
{
    ea_mctx *mc = ((ea_ctx *)ctx)->scale;
    if (mc->written <= mc->saved) return 0;
    if (state_put(st, EA_MERGE_BLOB, &mc->written, sizeof mc->written) < 0) return -1;
    mc->saved = mc->written;
    return 0;
}

static int ea_merge_finish(void *ctx, runner *r)
{
    ea_mctx *mc = ((ea_ctx *)ctx)->scale;
    if (!ea_merger_done(mc->m) && !mc->kafka)
        log_warn("end of input before every partition's last partial: the last report is not written");
    return 0;
}

static void ea_merge_stats(void *ctx, runner *r, void *snap)
{
    ea_ctx *c = ctx;
    ea_mctx *mc = c->scale;
    ea_figures *d = &((ea_snap *)snap)->d;
    d->records = stream_in_count(runner_in(r));
    d->partials_kept = ea_merger_kept(mc->m);
    d->partials_ignored = ea_merger_ignored(mc->m);
    d->refused = mc->refused;
    d->reports = (uint64_t)c->reports;
    d->complete = (uint64_t)ea_merger_done(mc->m);
}

static void ea_merge_fini(void *ctx, runner *r)
{
    ea_ctx *c = ctx;
    ea_mctx *mc = c->scale;
    if (!mc) return;
    ea_merger_free(mc->m);
    free(mc);
    c->scale = NULL;
}

static const counter_def ea_merge_table[] = {
    EA_METRIC_ROWS(NULL),
    { COUNTER_DONE_ONLY, NULL, NULL, D(records), "records" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(partials_kept), "partials_kept" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(partials_ignored), "partials_ignored" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(refused), "refused" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(reports), "reports" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(complete), "complete", NULL, COUNTER_BOOL },
    { 0 }
};
#undef D

/* --merge over Kafka reads every partition of the partials topic from its
 * start, always (ea_merge_start): its state (the snapshots of boundaries
 * not merged yet, the sequential looks) is a function of the partials, so
 * a restart rebuilds it by reading them again; nothing is committed. Its
 * --state has no tables of its own (an empty schema). */
const runner_def ea_merge_def = {
    .stage = "experiment-analyzer", .state_version = 1, .state_schema = "", .tick_ms = 500, .no_commit = 1,
    .counters = ea_merge_table, .stats_size = sizeof(ea_snap), .stats = ea_merge_stats,
    .restore = ea_merge_restore, .init = ea_merge_init, .record = ea_merge_record, .save = ea_merge_save,
    .finish = ea_merge_finish, .fini = ea_merge_fini,
};
