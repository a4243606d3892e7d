/* main.c — aggregate: Event and Sample records in, windowed Metric records
 * (and feature-store metrics) out. The logic lives in engine.c (one
 * engine; emit.c what its closing windows write, merge.c --merge's
 * sources), parts.c (--emit partials), partial.c (--merge), checkpoint.c,
 * flags.c (the flags and the config they make) and run.c (opening the
 * engine, dead-letter reasons, counter tables); this file is the runner's
 * callbacks (runner.h).
 * See README.md. */
#include <signal.h>
#include "checkpoint.h"
#include "flags.h"
#include "log.h"
#include "run.h"
#include "sig.h"
#include "timefmt.h"

static agg_flags fl;

static int agg_restore(void *ctx, runner *r, state *st)
{
    agg_main *a = ctx;
    if (agg_open(a, &fl, st) < 0) return RUNNER_FAIL;
    int lr = agg_checkpoint_load(st, a->eng);
    if (lr == -2) return RUNNER_USAGE;
    if (lr < 0) return RUNNER_FAIL;
    if (lr == 1) log_info("resumed from %s: %llu series in open windows", fl.common.state,
                          (unsigned long long)agg_engine_series(a->eng));
    return RUNNER_OK;
}

static int agg_init(void *ctx, runner *r)
{
    agg_main *a = ctx;
    a->in = runner_in(r);
    a->out = runner_out(r);
    if (!runner_state(r) && agg_open(a, &fl, NULL) < 0) return RUNNER_FAIL;
    a->menc = agg_menc_new();
    stream_out_set_encoder(a->out, &Metric_desc, agg_menc_stream, a->menc);
    if (a->partials) agg_parts_start(&a->parts, a->in, a->out, fl.in_part, fl.in_parts);
    else if (!runner_state(r) && stream_in_is_kafka(a->in))
        log_warn("Kafka input without --state: offsets are committed as records are read, so the "
                 "events of open windows are lost if the process dies (use --state for at-least-once)");
    return RUNNER_OK;
}

static int64_t agg_ts(const stream_rec *r) { return r->type == &Event_desc ? r->as.event.ts : r->as.sample.ts; }

static int agg_record(void *ctx, runner *rn, stream_rec *r)
{
    agg_main *a = ctx;
    int ar = AGG_OK;
    agg_engine *eng = a->eng;
    int data = (r->type == &Event_desc || r->type == &Sample_desc) && !a->merge;
    if (data && fl.max_future && agg_ts(r) > now_us() + fl.max_future) ar = AGG_FUTURE;
    else if (data && a->partials) ar = agg_parts_record(&a->parts, r, &eng);
    else if (data && r->type == &Event_desc) ar = agg_engine_event(a->eng, &r->as.event);
    else if (data) ar = agg_engine_sample(a->eng, &r->as.sample);
    else if (a->merge && r->type == &MetricPartial_desc) {
        const char *why = "";
        int mr = agg_partial_merge(a->eng, &r->as.metric_partial, &a->psc, &why);
        if (mr == AGG_ERR) return RUNNER_FAIL;
        if (mr == AGG_BADVALUE) stream_reject(a->in, &r->pos, "bad_partial", why, r->data, r->len);
        else a->merged++;
    }
    else if (fl.pass_through) { if (stream_write_rec(a->out, r) < 0) return RUNNER_FAIL; }
    else a->ignored++;
    if (ar == AGG_ERR) return RUNNER_FAIL;
    if (ar != AGG_OK && ar != AGG_DUP) agg_reject(a, eng, r, ar);
    else if (ar == AGG_OK && data && !a->partials) {
        stream_in_note_time(a->in, &r->pos, agg_ts(r));
        if (agg_engine_advance(a->eng, stream_in_event_time(a->in)) != AGG_OK) return RUNNER_FAIL;
    }
    if (fl.crash_after && !a->partials && stream_in_count(a->in) >= (uint64_t)fl.crash_after) raise(SIGKILL);
    /* the feature cache is full: its rows go to --state now */
    return a->fs && agg_features_want_save(a->fs) ? RUNNER_SYNC : RUNNER_OK;
}

/* A quiet input: a partition that went idle may let the watermark on. */
static int agg_idle(void *ctx, runner *r)
{
    agg_main *a = ctx;
    if (a->merge) return agg_merge_caught_up(a->in) && agg_engine_merge_live(a->eng) != AGG_OK ? RUNNER_FAIL : RUNNER_OK;
    if (a->partials) return RUNNER_OK;
    return agg_engine_advance(a->eng, stream_in_event_time(a->in)) != AGG_OK ? RUNNER_FAIL : RUNNER_OK;
}

/* --emit partials, at each sync point and quiet tick: partitions moved,
 * and partitions idle while others are busy (agg_parts_tick). */
static int agg_tick(void *ctx, runner *r)
{
    agg_main *a = ctx;
    return a->partials && agg_parts_tick(&a->parts) < 0 ? RUNNER_FAIL : RUNNER_OK;
}

/* Partitions are about to move: --emit partials checks its partitions'
 * windows at the next record (with --state the runner then saves and
 * commits: the commit never runs past the checkpoint). */
static int agg_revoke(void *ctx, runner *r)
{
    ((agg_main *)ctx)->parts.rebalanced = 1;
    return 0;
}

/* End of input closes every window. A stop request with --state keeps them
 * open in the checkpoint instead, for the next run to continue; a stopped
 * Kafka member of --emit partials leaves them to the next owner, who re-reads
 * them from the committed offset. */
static int agg_finish(void *ctx, runner *r)
{
    agg_main *a = ctx;
    if (a->partials)
        return !(stream_in_is_kafka(a->in) && sig_stop_requested()) && agg_parts_finish(&a->parts) < 0 ? -1 : 0;
    return !(runner_state(r) && sig_stop_requested()) && agg_engine_flush(a->eng) != AGG_OK ? -1 : 0;
}

static int agg_save(void *ctx, runner *r, state *st)
{
    agg_main *a = ctx;
    return agg_checkpoint_put(st, a->eng, a->fs);
}

/* Before the runner closes --state: the feature store's statements live on
 * its database, and SQLite cannot close a database with statements open. */
static void agg_fini(void *ctx, runner *r)
{
    (void)r;
    agg_main_free(ctx);
}

int main(int argc, char **argv)
{
    agg_flags_start(argc, argv, &fl);
    agg_main a = {0};

    a.partials = fl.cfg.mode == AGG_MODE_PARTIALS;
    a.merge = fl.cfg.mode == AGG_MODE_MERGE;
    if (a.partials) {
        agg_parts_init(&a.parts, &fl.cfg, (uint64_t)fl.crash_after);
        a.parts.heartbeat_us = fl.common.idle_timeout;
    }
    const runner_def def = {
        .stage = "aggregate", .state_version = AGG_STATE_VERSION, .state_schema = agg_state_schema,
        .tick_ms = 500, .checkpoint_us = fl.checkpoint_every, .quiet_sync_us = fl.checkpoint_every,
        .counters = a.partials ? agg_table_partials : a.merge ? agg_table_merge : agg_table,
        .stats_size = agg_stats_size(), .stats = agg_stats_fill,
        .restore = agg_restore, .init = agg_init, .record = agg_record, .idle = agg_idle, .tick = agg_tick,
        .revoke = agg_revoke, .finish = agg_finish, .save = agg_save, .fini = agg_fini,
    };
    return runner_main(&def, &fl.common, &a);
}
