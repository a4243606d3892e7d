/* main.c — recommender: one binary, three modes.
 *
 *   recommender train ...   Event records -> model file (train.c)
 *   recommender eval ...    offline evaluation on a held-out split (eval.c)
 *   recommender [serve] ... Event records in, Recommendation records out:
 *                           here the stream on the runner (runner.h); the
 *                           batch with --users (users.c)
 *
 * Flags: flags.c; engine: serve.c; counter table: figures.c; when the
 * micro-batch is due: microbatch.c. Delivery: the
 * input is committed only right after a flush, when no user is pending
 * (rec_flush declines otherwise), so every event whose list was not yet
 * written is read again after a crash. --state is the engine's (own_state):
 * the flushed users' histories and the offsets are saved in one
 * transaction after the output is flushed, so a restart resumes both. */
#include <stdio.h>
#include <string.h>
#include "microbatch.h"
#include "eval.h"
#include "log.h"
#include "sdnotify.h"
#include "sig.h"
#include "train.h"

static rec_flags fl;

static int rec_restore(void *ctx, runner *r, state *st)
{
    rec_run *a = ctx;
    a->st = st;
    return serve_set_state(a->s, st) ? RUNNER_FAIL : RUNNER_OK;
}

/* Kafka assigned a partition: its users' histories come first (changelog.h). */
static int64_t on_assign(void *ctx, const char *topic, int32_t partition)
{
    rec_run *a = ctx;
    a->rebalanced = 1;
    return serve_take_partition(a->s, topic, partition);
}

static int rec_init(void *ctx, runner *r)
{
    rec_run *a = ctx;
    a->in = runner_in(r);
    a->out = runner_out(r);
    if (fl.changelog && rec_changelog_open(a) < 0) return RUNNER_FAIL;
    if (stream_in_is_kafka(a->in)) stream_in_set_start(a->in, on_assign, a);
    else if (a->st) stream_in_set_start(a->in, state_start_offset, a->st);
    return RUNNER_OK;
}

static int rec_record(void *ctx, runner *r, stream_rec *rec)
{
    rec_run *a = ctx;
    if (a->rebalanced && rec_keep_owned(a)) return RUNNER_FAIL;
    rec_take(a, rec);
    return rec_batch_check(a);
}

/* The input is quiet: a due batch is written. Partitions gone in a
 * rebalance are dropped now, not at the next record (another rebalance
 * could hand one back before it); not while nothing is owned: between an
 * eager revoke and its assignment everything would go. */
static int rec_idle(void *ctx, runner *r)
{
    rec_run *a = ctx;
    stream_part any;
    if (a->failed) return RUNNER_OK;
    if (a->rebalanced && stream_in_owned(a->in, 0, &any) && rec_keep_owned(a)) { a->failed = 1; return RUNNER_FAIL; }
    return rec_batch_check(a);
}

/* A sync: a due batch is written (the model reloaded first if its file
 * changed) and checkpointed; otherwise only a point where no user is
 * pending is checkpointed and committed. */
static int rec_flush(void *ctx, runner *r)
{
    rec_run *a = ctx;
    if (!a->flush_due && serve_pending(a->s)) return RUNNER_SKIP;
    if (a->flush_due) {
        a->flush_due = 0;
        serve_reload_check(a->s, a->hup);
        if (serve_flush(a->s, rec_emit, a)) { a->failed = 1; return -1; }
        a->batch_start = 0;
    }
    if (rec_checkpoint(a)) { a->failed = 1; return -1; }
    return 0;
}

/* Kafka takes partitions away: the pending users' lists are written and
 * their histories saved (changelog, --state) before the offsets are
 * committed, so the next owner starts where these histories end. */
static int rec_revoke(void *ctx, runner *r)
{
    rec_run *a = ctx;
    a->rebalanced = 1;
    if (a->failed) return -1;
    if (serve_flush(a->s, rec_emit, a) || rec_checkpoint(a)) { a->failed = 1; sig_request_stop(); return -1; }
    a->batch_start = 0;
    return 0;
}

/* End of input: the last batch, however young (unless a flush failed). */
static int rec_finish(void *ctx, runner *r)
{
    rec_run *a = ctx;
    if (a->failed) return -1;
    a->flush_due = 1;
    a->hup = sig_reload_requested();
    return 0;
}

static void rec_fini(void *ctx, runner *r) { serve_free(((rec_run *)ctx)->s); }

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "train")) return train_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "eval")) return eval_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "serve")) argc--, argv++;
    rec_flags_start(argc, argv, &fl);
    serve_conf conf = rec_flags_serve_conf(&fl);
    char err[600];
    int usage;
    rec_run a = { .fl = &fl, .s = serve_new(&conf, err, sizeof err, &usage) };
    if (!a.s && usage) { fprintf(stderr, "recommender: %s\n", err); return 2; }
    if (!a.s) { log_error("%s", err); return 1; }
    if (fl.check) return rec_check(&a);
    log_info("serving model %s (version %s), top %lld, flush every %lld ms", fl.model, serve_model_version(a.s),
             (long long)fl.top, (long long)(fl.flush_us / 1000));
    const runner_def def = {
        .stage = "recommender", .state_version = SERVE_STATE_VERSION, .state_schema = SERVE_STATE_SCHEMA,
        .own_state = 1, .tick_ms = (int)(fl.flush_us / 1000 > 10 ? fl.flush_us / 1000 : 10),
        .quiet_sync_us = INT64_MAX,     /* a quiet input syncs when its batch is due (rec_idle), not before */
        .counters = rec_counters, .stats_size = rec_figures_size, .stats = rec_figures_fill, .status = rec_status,
        .restore = rec_restore, .init = rec_init, .record = rec_record, .idle = rec_idle, .flush = rec_flush,
        .revoke = rec_revoke, .finish = rec_finish, .fini = rec_fini,
    };
    int status = fl.users ? rec_users_run(&a) : runner_main(&def, &fl.common, &a);
    sd_stopping();
    changelog_close(a.cl);
    return status;
}
