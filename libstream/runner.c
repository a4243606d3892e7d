/* runner.c — the stage life cycle (runner.h). */
#include "runner.h"
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "metrics.h"
#include "sdnotify.h"
#include "sig.h"
#include "timefmt.h"

#define RUNNER_PUBLISH_US 100000

struct runner {
    const runner_def *def;
    void *ctx;
    stream_in *in;
    stream_out *out;
    state *st;
    counters cn;
    void *snap;             /* def->stats_size bytes */
    int dirty;              /* records since the last sync */
    int failed;             /* a sync from a quiet tick failed */
    int64_t last_sync;      /* mono_us of the last sync */
    int64_t published_us;   /* ... and of the last counters refresh at a sync point */
    uint64_t checkpoints;
};

stream_in *runner_in(runner *r) { return r->in; }
stream_out *runner_out(runner *r) { return r->out; }
state *runner_state(runner *r) { return r->st; }
uint64_t runner_checkpoints(const runner *r) { return r->checkpoints; }

static const void *runner_stats(runner *r)
{
    if (!r->def->stats) return r->snap;
    memset(r->snap, 0, r->def->stats_size);
    r->def->stats(r->ctx, r, r->snap);
    return r->snap;
}

/* counters to Prometheus, then the heartbeat */
static void runner_publish(runner *r)
{
    if (r->def->counters) counters_publish(&r->cn, runner_stats(r));
    metrics_tick();
}

/* Deliver, checkpoint, then commit (runner.h): the commit never runs past
 * the state saved. 0, -1, or 1: flush declined (nothing committed). */
static int runner_sync(runner *r)
{
    const runner_def *d = r->def;
    int k = d->flush ? d->flush(r->ctx, r) : 0;
    if (k < 0) return -1;
    if (k == RUNNER_SKIP) return 1;
    if (r->st && !d->own_state) {
        if (r->out && stream_flush(r->out) < 0) return -1;
        if (state_begin(r->st) < 0) return -1;
        if ((d->save && d->save(r->ctx, r, r->st) < 0) || (!d->no_commit && state_save_offsets(r->st, r->in) < 0)) {
            state_rollback(r->st);
            return -1;
        }
        if (state_commit(r->st) < 0) return -1;
        r->checkpoints++;
    }
    r->last_sync = mono_us();
    if (stream_sync(r->in, r->out) < 0) return -1;
    r->dirty = 0;
    return 0;
}

/* Partitions are about to move: the stage's revoke, then with --state the
 * same sync; nonzero, nothing is committed (stream.h). */
static int runner_before_revoke(void *p)
{
    runner *r = p;
    if (r->def->revoke && r->def->revoke(r->ctx, r) != 0) return -1;
    return r->st && !r->def->own_state ? runner_sync(r) : 0;
}

/* A stage's answer: the worst of two (fail, then sync). */
static int runner_want(int a, int b) { return a < 0 || b < 0 ? RUNNER_FAIL : a == RUNNER_SYNC ? a : b; }

/* The input is quiet: deliver what the last records produced (so nothing
 * waits in a buffer for the next record) and keep the heartbeat. */
static void runner_idle(void *p)
{
    runner *r = p;
    int want = r->def->idle ? r->def->idle(r->ctx, r) : RUNNER_OK;
    if (want >= 0 && r->def->tick) want = runner_want(want, r->def->tick(r->ctx, r));
    int due = r->dirty && mono_us() - r->last_sync >= r->def->quiet_sync_us;
    if (want < 0 || (!r->failed && (want == RUNNER_SYNC || due) && runner_sync(r) < 0)) {
        r->failed = 1;
        sig_request_stop();
    }
    runner_publish(r);
}

/* A sync point while records flow; want: the record's answer. */
static int runner_sync_point(runner *r, int want)
{
    if (r->def->tick) want = runner_want(want, r->def->tick(r->ctx, r));
    if (want < 0) return -1;
    int64_t now = mono_us();
    int sync = want == RUNNER_SYNC || !r->st || now - r->last_sync >= r->def->checkpoint_us;
    if (sync) {
        int k = runner_sync(r);
        if (k < 0) return -1;
        sync = k == 0;      /* declined: as if none was due */
    }
    /* Only a sync restarts stream_sync_due's count: while a checkpoint is
     * not due, every record is a sync point. Refreshing the counters and
     * STATUS= for each would cost more than the record. */
    if (!sync && now - r->published_us < RUNNER_PUBLISH_US) return 0;
    r->published_us = now;
    runner_publish(r);
    if (r->def->counters) {
        char status[256];
        counters_status(&r->cn, r->snap, status, sizeof status);
        if (r->def->status) r->def->status(r->ctx, r, status, sizeof status);
        if (status[0]) sd_status("%s", status);
    }
    return 0;
}

/* runner_loop for a stage that reads lines */
static int runner_line_loop(runner *r)
{
    int rc;
    stream_line l;
    while ((rc = stream_in_next_line(r->in, &l, r->def->max_line)) == 1) {
        int k = r->def->line(r->ctx, r, &l);
        if (k < 0) return -1;
        if (k == RUNNER_SKIP) continue;
        r->dirty = 1;
        if ((stream_sync_due(r->in) || k == RUNNER_SYNC) && runner_sync_point(r, k) < 0) return -1;
    }
    return rc;
}

static int runner_loop(runner *r)
{
    if (r->def->line) return runner_line_loop(r);
    int rc;
    stream_rec rec;
    /* in locals, not reloaded through r after each call (per record) */
    stream_in *in = r->in;
    int (*record)(void *, runner *, stream_rec *) = r->def->record;
    void *ctx = r->ctx;
    while ((rc = stream_in_next(in, &rec)) == 1) {
        int k = record(ctx, r, &rec);
        if (k < 0) return -1;
        if (k == RUNNER_SKIP) continue;
        r->dirty = 1;
        if ((stream_sync_due(in) || k == RUNNER_SYNC) && runner_sync_point(r, k) < 0) return -1;
    }
    return rc;
}

int runner_main(const runner_def *def, const cli_common *common, void *ctx)
{
    runner r = { .def = def, .ctx = ctx };
    int status = 1;
    r.snap = calloc(1, def->stats_size ? def->stats_size : 1);
    if (!r.snap) log_fatal("out of memory");
    if (def->counters) counters_init(&r.cn, def->counters);
    if (common->state) {
        r.st = state_open(common->state, def->stage, def->state_version, def->state_schema);
        if (!r.st) goto done;
        int k = def->restore ? def->restore(ctx, &r, r.st) : RUNNER_OK;
        if (k == RUNNER_USAGE) status = 2;
        if (k < 0) goto done;
    }
    r.in = stream_in_open(common->in, common);
    if (!r.in) goto done;
    if (def->no_commit) stream_in_set_no_commit(r.in);
    else if (r.st && !def->own_state) stream_in_set_start(r.in, state_start_offset, r.st);
    if ((r.st && !def->own_state) || def->revoke) stream_in_set_before_revoke(r.in, runner_before_revoke, &r);
    if (!def->no_out && !(r.out = stream_out_open(common->out, common))) goto done;
    if (def->init) {
        int k = def->init(ctx, &r);
        if (k == RUNNER_USAGE) status = 2;
        if (k < 0) goto done;
    }
    if (def->counters) counters_baseline(&r.cn, runner_stats(&r));
    stream_in_set_tick(r.in, def->tick_ms, runner_idle, &r);
    sd_ready();
    r.last_sync = mono_us();

    int rc = runner_loop(&r);
    if (r.failed) rc = -1;
    if (rc == 0 && def->finish && def->finish(ctx, &r) < 0) rc = -1;
    if (rc == 0 && runner_sync(&r) < 0) rc = -1;
    runner_publish(&r);
    if (rc == 0) status = 0;
    if (def->counters) {
        char fields[2048];
        counters_done(&r.cn, r.snap, fields, sizeof fields);
        log_kv(LOG_INFO, "done", "%s", fields);
    }
done:
    if (def->fini) def->fini(ctx, &r);
    if (r.in) stream_in_close(r.in);
    if (r.out && stream_out_close(r.out) != 0) status = 1;
    if (r.st) state_close(r.st);
    free(r.snap);
    return status;
}
