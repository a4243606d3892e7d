/* main.c — alerter: Metric, Drift and ExperimentResult records in, Alert
 * records out (and exec:/webhook: notifications), by the rules of a YAML
 * file. The state machine lives in engine.c, its SQL in store.c, the rules
 * file in rules.c, delivery in notify.c; the flags in flags.c, reading and
 * refusing records in input.c, reloads, stored silences and where an
 * alert goes in live.c, --changelog in follow.c, the
 * counters in stats.c, the `ack` and `silence` subcommands in admin.c.
 * This file gives libstream's runner (runner.h) the callbacks. See
 * README.md. */
#include <signal.h>
#include <string.h>
#include "admin.h"
#include "flags.h"
#include "follow.h"
#include "input.h"
#include "live.h"
#include "log.h"
#include "runner.h"
#include "sig.h"
#include "stats.h"

typedef struct al_main {
    const al_flags *fl;
    stream_in *in;
    stream_out *out;
    al_live lv;              /* rules, engine, notifier, silences */
    const stream_pos *pos;   /* of the record being handled */
    al_input *rd;            /* reads the records the input only verifies */
    al_follow *fw;           /* --changelog, or NULL */
} al_main;

/* The engine's clock: the input's event time, per Kafka partition. */
static int64_t al_input_time(void *ctx, int64_t ts)
{
    al_main *m = ctx;
    stream_in_note_time(m->in, m->pos, ts);
    return stream_in_event_time(m->in);
}

static int al_emit(void *ctx, const al_rule *r, const Alert *a)
{
    al_main *m = ctx;
    return al_live_route(&m->lv, m->out, r, a);
}

/* Alerts, acks and silences as --state holds them (with --changelog the
 * alerts come from there, partition by partition, as Kafka assigns them). */
static int al_restore(void *ctx, runner *r, state *st)
{
    al_main *m = ctx;
    if (m->fl->changelog) {
        al_engine_load_none(m->lv.eng);
        return al_live_load_silences(&m->lv, state_db(st)) < 0 ? RUNNER_FAIL : RUNNER_OK;
    }
    if (al_engine_load(m->lv.eng, state_db(st)) < 0 || al_live_load_silences(&m->lv, state_db(st)) < 0) return RUNNER_FAIL;
    if (al_engine_active(m->lv.eng))
        log_info("resumed from %s: %llu alerts, %llu firing", m->fl->common.state,
                 (unsigned long long)al_engine_active(m->lv.eng), (unsigned long long)al_engine_firing(m->lv.eng));
    return RUNNER_OK;
}

/* Notifications that fail for good go to the input's own --dead-letter. */
static int al_init(void *ctx, runner *r)
{
    al_main *m = ctx;
    m->in = runner_in(r);
    m->out = runner_out(r);
    /* the input verifies; al_input_read reads what the rules need */
    stream_in_set_verify_only(m->in, 1);
    m->rd = al_input_new();
    const al_flags *f = m->fl;
    al_notify_cfg ncfg = { m->lv.cfg.group_by, m->lv.cfg.ngroup_by, (int)f->retries, f->backoff, f->backoff_max,
                           f->exec_timeout, f->webhook_timeout, (int)f->max_batch, stream_in_dead_letter(m->in) };
    m->lv.nt = al_notify_new(&ncfg);
    if (!m->lv.nt) log_fatal("out of memory");
    al_engine_set_time_source(m->lv.eng, al_input_time, m);
    if (f->changelog && !(m->fw = al_follow_open(f->changelog, &f->common.kafka_conf, m->lv.eng, m->in, m->out)))
        return RUNNER_FAIL;
    if (!f->changelog && !runner_state(r) && stream_in_is_kafka(m->in))
        log_warn("Kafka input without --state or --changelog: the alerts start from nothing after a restart");
    return RUNNER_OK;
}

static int al_record(void *ctx, runner *r, stream_rec *rec)
{
    al_main *m = ctx;
    if (sig_reload_requested()) al_live_reload(&m->lv, &m->fl->rules);
    al_input_read(m->rd, rec);
    const char *bad = NULL;
    m->pos = &rec->pos;
    if (m->fw) al_follow_record(m->fw, rec->pos.topic ? rec->pos.partition : -1);
    int er = al_engine_record(m->lv.eng, rec->type, &rec->as, &bad);
    if (er == AL_ERR) return RUNNER_FAIL;
    if (er != AL_OK) al_input_reject(m->in, rec, er, bad);
    if (m->fl->crash_after && stream_in_count(m->in) >= (uint64_t)m->fl->crash_after) raise(SIGKILL);
    return RUNNER_OK;
}

/* SIGHUP; a quiet input still delivers queued notifications, and with
 * --state picks up acks and silences written by `alerter ack|silence`. */
static int al_tick(void *ctx, runner *r)
{
    al_main *m = ctx;
    if (sig_reload_requested()) al_live_reload(&m->lv, &m->fl->rules);
    return al_notify_pending(m->lv.nt) || runner_state(r) ? RUNNER_SYNC : RUNNER_OK;
}

/* Notifications go out before the checkpoint: a restart neither re-fires
 * what was delivered nor forgets what is firing. With --changelog the
 * alerts go there before the input is committed (follow.h). */
static int al_flush(void *ctx, runner *r)
{
    al_main *m = ctx;
    al_notify_flush(m->lv.nt);
    return m->fw ? al_follow_checkpoint(m->fw) : 0;
}

/* --changelog: partitions move; everything read so far is checkpointed
 * before the offsets are committed, so the next owner starts there. */
static int al_revoke(void *ctx, runner *r)
{
    al_main *m = ctx;
    al_follow_rebalanced(m->fw);
    if (al_flush(m, r)) { sig_request_stop(); return -1; }
    return 0;
}

/* The input is quiet: alerts of partitions that went are dropped now. */
static int al_idle(void *ctx, runner *r)
{
    al_main *m = ctx;
    if (m->fw) al_follow_keep_owned(m->fw);
    return RUNNER_OK;
}

static int al_save(void *ctx, runner *r, state *st)
{
    al_main *m = ctx;
    return al_engine_load_acks(m->lv.eng, state_db(st)) < 0 || al_live_load_silences(&m->lv, state_db(st)) < 0 ||
           al_engine_save(m->lv.eng, state_db(st)) < 0 ? -1 : 0;
}

/* before the input closes: the notifier holds the input's dead letter */
static void al_fini(void *ctx, runner *r)
{
    al_main *m = ctx;
    al_notify_free(m->lv.nt);
    m->lv.nt = NULL;
    al_input_free(m->rd);
    m->rd = NULL;
    al_follow_close(m->fw);
    m->fw = NULL;
}

static void al_stats_fill(void *ctx, runner *r, void *snap)
{
    al_main *m = ctx;
    al_stats_take(snap, m->lv.eng, m->lv.nt, m->fw);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "ack")) return al_ack_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "silence")) return al_silence_main(argc - 1, argv + 1);
    al_main m = {0};
    m.fl = al_flags_start(argc, argv, &m.lv.cfg);
    m.lv.eng = al_engine_new(&m.lv.cfg, m.fl->max_alerts, al_emit, &m);
    if (!m.lv.eng) log_fatal("out of memory");
    /* End of input resolves nothing: the end of a stream is not a time.
     * Firing alerts stay in --state for the next run. */
    const runner_def def = {
        .stage = "alerter", .state_version = AL_STATE_VERSION, .state_schema = al_state_schema, .tick_ms = 1000,
        .counters = al_counter_table, .stats_size = sizeof(al_stats), .stats = al_stats_fill,
        .restore = al_restore, .init = al_init, .record = al_record, .tick = al_tick, .flush = al_flush,
        .save = al_save, .fini = al_fini,
        .revoke = m.fl->changelog ? al_revoke : NULL, .idle = m.fl->changelog ? al_idle : NULL,
    };
    int status = runner_main(&def, &m.fl->common, &m);
    al_engine_free(m.lv.eng);
    al_live_free(&m.lv);
    al_flags_free();
    return status;
}
