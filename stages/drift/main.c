/* main.c — drift: Metric records in, Drift records (and Holt forecasts as
 * Metric records) out. The detectors live in detect.c, the per-series
 * state in engine.c, its --state blob in checkpoint.c, --changelog in
 * follow.c, the flags in flags.c, the counter table in run.c; this file
 * gives libstream's
 * runner (runner.h) the callbacks. See README.md. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "checkpoint.h"
#include "follow.h"
#include "run.h"
#include "log.h"
#include "sig.h"

static int emit_drift(void *ctx, const Drift *d)
{
    drift_main *a = ctx;
    return stream_write(a->out, &Drift_desc, d, NULL, 0);
}

static int emit_metric(void *ctx, const Metric *m)
{
    drift_main *a = ctx;
    return stream_write(a->out, &Metric_desc, m, NULL, 0);
}

/* The detectors as --state saved them, and how many input records that
 * covers. */
static int drift_restore(void *ctx, runner *r, state *st)
{
    drift_main *a = ctx;
    return drift_checkpoint_load(a->eng, st, a->fl->common.state, &a->skip);
}

/* A regular file is read again from its start after a crash: skip what the
 * saved state covers. A pipe brings new data, so nothing is skipped (a
 * replayed overlap is refused as out_of_order). Kafka resumes at the saved
 * offsets. */
static int drift_init(void *ctx, runner *r)
{
    drift_main *a = ctx;
    a->out = runner_out(r);
    stream_in *in = runner_in(r);
    struct stat sb;
    int regular = strcmp(a->fl->common.in, "-") != 0 && stat(a->fl->common.in, &sb) == 0 && S_ISREG(sb.st_mode);
    if (stream_in_is_kafka(in) || !regular) a->skip = 0;
    else if (a->skip) log_info("skipping the %llu input records the saved state already covers", (unsigned long long)a->skip);
    if (a->fl->changelog) return drift_follow_open(a, in);
    if (!runner_state(r) && stream_in_is_kafka(in))
        log_warn("Kafka input without --state or --changelog: the detectors start from nothing after a restart");
    return RUNNER_OK;
}

static const char *const reasons[] = { "", "bad_value", "missing_field", "out_of_order", "bad_record" };

static int drift_record(void *ctx, runner *r, stream_rec *rec)
{
    drift_main *a = ctx;
    stream_in *in = runner_in(r);
    if (a->skip && stream_in_count(in) <= a->skip) return RUNNER_SKIP;
    if (a->rebalanced) drift_follow_keep_owned(a);
    if (rec->type == &Metric_desc) {
        const char *why = "";
        int er = drift_engine_metric_at(a->eng, &rec->as.metric, rec->pos.topic ? rec->pos.partition : -1, &why);
        if (er == DRIFT_ERR) return RUNNER_FAIL;
        if (er != DRIFT_OK) {
            const Metric *m = &rec->as.metric;
            char detail[300];
            snprintf(detail, sizeof detail, "Metric %.*s: %s", (int)(m->name.len > 100 ? 100 : m->name.len),
                     m->name.ptr ? m->name.ptr : "", why);
            stream_reject(in, &rec->pos, reasons[er], detail, rec->data, rec->len);
        }
        if (a->fl->pass_through && stream_write_rec(a->out, rec) < 0) return RUNNER_FAIL;
    } else if (a->fl->pass_through) {
        if (stream_write_rec(a->out, rec) < 0) return RUNNER_FAIL;
    } else {
        char detail[160];
        snprintf(detail, sizeof detail, "a %s record; drift reads Metric records (--pass-through forwards others)",
                 fbrec_desc_name(rec->type));
        stream_reject(in, &rec->pos, "wrong_type", detail, rec->data, rec->len);
    }
    if (a->fl->crash_after && stream_in_count(in) >= (uint64_t)a->fl->crash_after) raise(SIGKILL);
    return RUNNER_OK;
}

/* --changelog: a checkpoint when due (follow.h); before it, nothing is
 * committed. */
static int drift_flush(void *ctx, runner *r)
{
    drift_main *a = ctx;
    return a->cl ? drift_follow_checkpoint(a, a->finishing) : 0;
}

/* --changelog: partitions move; everything read so far is checkpointed
 * before the offsets are committed, so the next owner starts there. */
static int drift_revoke(void *ctx, runner *r)
{
    drift_main *a = ctx;
    a->rebalanced = 1;
    if (drift_follow_checkpoint(a, 1)) { sig_request_stop(); return -1; }
    return 0;
}

/* The input is quiet: series of partitions that went are dropped now. */
static int drift_idle(void *ctx, runner *r)
{
    drift_main *a = ctx;
    if (a->rebalanced) drift_follow_keep_owned(a);
    return RUNNER_OK;
}

static int drift_finish(void *ctx, runner *r)
{
    ((drift_main *)ctx)->finishing = 1;
    return 0;
}

static int drift_tick(void *ctx, runner *r)
{
    if (sig_reload_requested())
        log_info("SIGHUP: drift has no configuration file to reload; its settings are its flags");
    return RUNNER_OK;
}

/* The detectors and the input position (records read, for byte streams;
 * Kafka's offsets are saved beside it by the runner). */
static int drift_save(void *ctx, runner *r, state *st)
{
    drift_main *a = ctx;
    stream_in *in = runner_in(r);
    return drift_checkpoint_save(a->eng, st, stream_in_is_kafka(in) ? 0 : stream_in_count(in));
}

int main(int argc, char **argv)
{
    drift_main a = { .fl = drift_flags_start(argc, argv) };
    a.eng = drift_engine_new(&a.fl->cfg, emit_drift, emit_metric, &a);
    const runner_def def = {
        .stage = "drift", .state_version = DRIFT_STATE_VERSION,
        .tick_ms = 500, .checkpoint_us = a.fl->checkpoint_every,
        .counters = drift_counter_table, .stats_size = drift_stats_size, .stats = drift_stats_fill,
        .restore = drift_restore, .init = drift_init, .record = drift_record, .tick = drift_tick, .save = drift_save,
        .flush = drift_flush, .finish = drift_finish,
        .revoke = a.fl->changelog ? drift_revoke : NULL, .idle = a.fl->changelog ? drift_idle : NULL,
    };
    int status = runner_main(&def, &a.fl->common, &a);
    drift_follow_close(&a);
    drift_engine_free(a.eng);
    drift_flags_free();
    return status;
}
