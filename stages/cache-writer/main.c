/* cache-writer — Recommendation and Metric records into Redis, pipelined,
 * newer-wins, without loss (see layout.h for the keys, rpipe.h for
 * delivery). This file is the stage on the runner (runner.h): its
 * callbacks; run.c holds the counter table, flags.c the flags, redisstats.c
 * the --redis-stats mode, which reads no input. */
#include "flags.h"
#include "log.h"
#include "redisstats.h"
#include "run.h"
#include "sdnotify.h"

static cw_flags fl;

/* Commands queued or held back (NX answers, checked groups) not yet sent? */
static int unsent(const cw_main *c) { return c->pipe.unsent || layout_pending(&c->lay) || c->lay.nx_open; }

static int cw_init(void *ctx, runner *r)
{
    cw_main *c = ctx;
    char err[300];
    layout_init(&c->lay, &fl.lc);
    c->opened = 1;
    if (rpipe_open(&c->pipe, &fl.uri, (int)fl.pipeline, layout_scripts, SCRIPT_COUNT, rpipe_reject, runner_in(r),
                   fl.lc.rec_layout == LAYOUT_JSON ? layout_probe : NULL, &c->lay))
        return RUNNER_FAIL;
    int wc = rpipe_wait_connected(&c->pipe, fl.common.connect_timeout, err, sizeof err);
    if (wc) return rpipe_start_failed(wc, &fl.uri, fl.common.connect_timeout, err) == 2 ? RUNNER_USAGE : RUNNER_FAIL;
    layout_attach(&c->lay, &c->pipe);
    c->connected = 1;
    log_info("writing to Redis at %s (layout %s, pipeline %lld)",
             fl.uri.unix_path[0] ? fl.uri.unix_path : fl.uri.host, fl.layout_name, (long long)fl.pipeline);
    return RUNNER_OK;
}

static int cw_record(void *ctx, runner *r, stream_rec *rec)
{
    cw_main *c = ctx;
    int w = 0;
    if (rec->type == &Recommendation_desc) w = layout_recommendation(&c->lay, &c->pipe, &rec->as.recommendation, rec);
    else if (rec->type == &Metric_desc) w = layout_metric(&c->lay, &c->pipe, &rec->as.metric, rec);
    else c->skipped++;
    if (w) return RUNNER_FAIL;
    /* about to wait for input: send what is queued, so Redis is never
     * behind a quiet pipe (replies are read later) */
    if (unsent(c) && stream_in_quiet(runner_in(r)) && layout_send(&c->lay, &c->pipe))
        return RUNNER_FAIL;
    return RUNNER_OK;
}

/* While the input is quiet (Kafka included): send what is queued, so
 * Redis is not behind what was read. */
static int cw_idle(void *ctx, runner *r)
{
    cw_main *c = ctx;
    if (c->failed || !unsent(c)) return RUNNER_OK;
    if (layout_send(&c->lay, &c->pipe)) c->failed = 1;
    return c->failed ? RUNNER_FAIL : RUNNER_OK;
}

/* Each sync: offsets are committed only after Redis acknowledged every
 * write derived from what was read (a rebalance too: cw_revoke). */
static int cw_flush(void *ctx, runner *r)
{
    cw_main *c = ctx;
    return layout_drain(&c->lay, &c->pipe);
}

static int cw_revoke(void *ctx, runner *r)
{
    cw_main *c = ctx;
    int queued = c->pipe.count + layout_queued(&c->lay);
    if (layout_drain(&c->lay, &c->pipe)) return -1;
    log_kv(LOG_INFO, "rebalance: Redis acknowledged every write before the offsets are committed",
           "\"drained\":%d", queued);
    return 0;
}

static void cw_fini(void *ctx, runner *r)
{
    cw_main *c = ctx;
    if (c->connected) sd_stopping();
    if (c->opened) layout_free(&c->lay);
    rpipe_close(&c->pipe);
}

int main(int argc, char **argv)
{
    cw_flags_start(argc, argv, &fl);
    int status;
    if (fl.redis_stats_us > 0) {
        redis_stats_conf rc = { .prefix = fl.lc.prefix, .interval_us = fl.redis_stats_us,
                                .keys_per_sample = fl.redis_stats_keys };
        status = redis_stats_main(&fl.uri, &fl.common, &rc);
    } else {
        cw_main c = {0};
        const runner_def def = {
            .stage = "cache-writer", .no_out = 1, .tick_ms = 50,
            /* a quiet input sends what is queued (idle) but commits at the
             * next sync point, as records flow */
            .quiet_sync_us = INT64_MAX,
            .counters = cw_counters, .stats_size = cw_snap_size, .stats = cw_stats,
            .init = cw_init, .record = cw_record, .idle = cw_idle, .flush = cw_flush, .revoke = cw_revoke,
            .fini = cw_fini,
        };
        status = runner_main(&def, &fl.common, &c);
    }
    cw_flags_free(&fl);
    return status;
}
