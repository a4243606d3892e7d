/* main.c — alerter: Metric, Drift and ExperimentResult records in, Alert
 * records out (and exec:/webhook: notifications), by the rules of a YAML
 * file. The state machine lives in engine.c, its SQL in store.c, the rules
 * file in rules.c, delivery in notify.c, the `ack` and `silence`
 * subcommands in admin.c; this file gives libstream's runner (runner.h)
 * the flags, the callbacks and the counters. See README.md. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "admin.h"
#include "cli.h"
#include "engine.h"
#include "arena.h"
#include "log.h"
#include "mread.h"
#include "notify.h"
#include "rules.h"
#include "runner.h"
#include "sig.h"
#include "state.h"
#include "store.h"
#include "stream.h"

static cli_common common;
static cli_list opt_rules;
static int64_t opt_max_alerts, opt_retries, opt_backoff, opt_backoff_max, opt_exec_timeout, opt_webhook_timeout;
static int64_t opt_max_batch;
static int opt_check;

static const cli_opt al_opts[] = {
    { "rules", 'r', CLI_LIST, &opt_rules, NULL, "FILE",
      "alert rules (YAML), required, repeatable: Prometheus rule files (groups:) and at most one file in "
      "the alerter's own format (rules:); stages/alerter/rules.default*.yaml have the usual ones", 0, 0 },
    { "check", 0, CLI_BOOL, &opt_check, NULL, NULL,
      "validate the rules file, print a summary and exit (0 valid, 2 not)", 0, 0 },
    { "max-alerts", 0, CLI_INT, &opt_max_alerts, "100000", "N",
      "alerts held at once (pending + firing); past it new alerts are refused (counted)", 1, 1e9 },
    { "notify-retries", 0, CLI_INT, &opt_retries, "3", "N",
      "exec:/webhook: retries after a failed attempt, then the payload is dead-lettered", 0, 20 },
    { "retry-backoff", 0, CLI_DURATION, &opt_backoff, "500ms", "DURATION",
      "first retry delay; doubles per retry (with jitter) up to --retry-backoff-max", 1000, 6e8 },
    { "retry-backoff-max", 0, CLI_DURATION, &opt_backoff_max, "30s", "DURATION",
      "longest retry delay", 1000, 36e8 },
    { "exec-timeout", 0, CLI_DURATION, &opt_exec_timeout, "10s", "DURATION",
      "an exec: command running longer is killed (a failed attempt)", 1000, 36e8 },
    { "webhook-timeout", 0, CLI_DURATION, &opt_webhook_timeout, "5s", "DURATION",
      "a webhook: POST taking longer fails (a failed attempt)", 1000, 36e8 },
    { "max-batch", 0, CLI_INT, &opt_max_batch, "100", "N",
      "alerts in one exec:/webhook: payload; a fuller group is sent at once", 1, 100000 },
    { 0 }
};

static const cli_spec al_spec = {
    .stage = "alerter",
    .summary = "alert rules on Metric, Drift and ExperimentResult records: Alert records, exec: and webhook: notifications",
    .usage = "alerter --rules FILE [FLAGS]\n"
             "       alerter ack FINGERPRINT --state DB      (alerter ack --help)\n"
             "       alerter silence --state DB [--rule NAME] [--label K=V]... --starts TIME --ends TIME",
    .example = "aggregate < samples.rec | alerter --rules stages/alerter/rules.default.yaml --format json",
    .opts = al_opts,
};

typedef struct al_main {
    stream_in *in;
    stream_out *out;
    al_engine *eng;
    al_notify *nt;
    al_config cfg;
    al_silence *xs; int nxs; /* silences from the state database */
    const stream_pos *pos;  /* of the record being handled */
    al_mread *mr;           /* Metrics read in place (the input only verifies) */
    arena ar;               /* the other types, decoded here */
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
    if (r->nchannels == 0)
        return stream_write(m->out, &Alert_desc, a, NULL, 0);
    for (int i = 0; i < r->nchannels; i++) {
        const char *c = r->channels[i];
        if (!strcmp(c, "out") || !strcmp(c, "stdout")) {
            if (stream_write(m->out, &Alert_desc, a, NULL, 0) < 0) return -1;
        } else if (al_notify_add(m->nt, c, a) < 0) {
            log_fatal("out of memory");
        }
    }
    return 0;
}

/* Hand the engine the silences `alerter silence` stored (it keeps a
 * pointer to them until the next call). */
static int al_load_silences(al_main *m, sqlite3 *db)
{
    al_silence *xs;
    int n;
    if (al_store_load_silences(db, al_engine_clock(m->eng), &xs, &n) < 0) return -1;
    al_engine_set_extra_silences(m->eng, xs, n);
    al_store_free_silences(m->xs, m->nxs);
    m->xs = xs; m->nxs = n;
    return 0;
}

/* SIGHUP: read the rules file again; a bad file keeps the running rules.
 * Queued notifications go out first (their rules may be gone). */
static void al_reload(al_main *m)
{
    al_config next;
    char err[600];
    if (al_config_load_files(opt_rules.items, opt_rules.n, &next, err, sizeof err) < 0) {
        log_error("SIGHUP: %s: keeping the rules in use", err);
        return;
    }
    al_notify_flush(m->nt);
    /* the engine points at m->cfg: keep the old rules alive (by value)
     * while it maps its alerts from their names to the new ones */
    al_config old = m->cfg;
    al_engine_set_config(m->eng, &old);
    m->cfg = next;
    uint64_t gone = al_engine_set_config(m->eng, &m->cfg);
    al_notify_set_group_by(m->nt, m->cfg.group_by, m->cfg.ngroup_by);
    al_config_free(&old);
    log_kv(LOG_INFO, "rules reloaded", "\"rules\":%d,\"alerts_dropped\":%llu", m->cfg.nrules,
           (unsigned long long)gone);
}

static void al_load_rules(const cli_spec *spec, al_config *cfg)
{
    char err[600];
    if (!opt_rules.n) cli_usage_error(spec, "--rules is required (try stages/alerter/rules.default.yaml)");
    if (al_config_load_files(opt_rules.items, opt_rules.n, cfg, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", spec->stage, err);
        exit(2);
    }
}

/* Alerts, acks and silences as --state holds them. */
static int al_restore(void *ctx, runner *r, state *st)
{
    al_main *m = ctx;
    if (al_engine_load(m->eng, state_db(st)) < 0 || al_load_silences(m, state_db(st)) < 0) return RUNNER_FAIL;
    if (al_engine_active(m->eng))
        log_info("resumed from %s: %llu alerts, %llu firing", common.state,
                 (unsigned long long)al_engine_active(m->eng), (unsigned long long)al_engine_firing(m->eng));
    return RUNNER_OK;
}

/* Notifications that fail for good go to the input's own --dead-letter. */
static int al_init(void *ctx, runner *r)
{
    al_main *m = ctx;
    m->in = runner_in(r);
    m->out = runner_out(r);
    /* the input verifies; al_decode reads what the rules need */
    stream_in_set_verify_only(m->in, 1);
    m->mr = calloc(1, sizeof *m->mr);
    if (!m->mr) log_fatal("out of memory");
    arena_init(&m->ar, 0);
    al_notify_cfg ncfg = { m->cfg.group_by, m->cfg.ngroup_by, (int)opt_retries, opt_backoff, opt_backoff_max,
                           opt_exec_timeout, opt_webhook_timeout, (int)opt_max_batch, stream_in_dead_letter(m->in) };
    m->nt = al_notify_new(&ncfg);
    if (!m->nt) log_fatal("out of memory");
    al_engine_set_time_source(m->eng, al_input_time, m);
    return RUNNER_OK;
}

/* rec->as from the verified record: a Metric read in place (mread.h),
 * other types decoded as stream_in_next would have. */
static void al_decode(al_main *m, stream_rec *rec)
{
    if (rec->type == &Metric_desc) {
        if (al_metric_read(m->mr, rec->data, rec->len, &rec->as.metric) < 0) log_fatal("out of memory");
    } else {
        arena_reset(&m->ar);
        /* as stream_in_next: a Kafka message may be aligned as if size-prefixed */
        if (fb_decode(rec->type, rec->data, rec->len, 0, &rec->as, &m->ar, NULL, 0) < 0 &&
            fb_decode(rec->type, rec->data, rec->len, 1, &rec->as, &m->ar, NULL, 0) < 0)
            log_fatal("a verified %s record does not decode", fb_desc_name(rec->type));
    }
    stream_rec_note_event_time(rec);
}

static int al_record(void *ctx, runner *r, stream_rec *rec)
{
    al_main *m = ctx;
    if (sig_reload_requested()) al_reload(m);
    al_decode(m, rec);
    const char *bad = NULL;
    m->pos = &rec->pos;
    int er = al_engine_record(m->eng, rec->type, &rec->as, &bad);
    if (er == AL_ERR) return RUNNER_FAIL;
    if (er == AL_BAD_VALUE) {
        char detail[300];
        snprintf(detail, sizeof detail, "rule \"%s\": the value it compares is NaN or infinite", bad);
        stream_reject(m->in, &rec->pos, "bad_value", detail, rec->data, rec->len);
    } else if (er == AL_BAD_TIME) {
        stream_reject(m->in, &rec->pos, "bad_time", "the record's time is more than 2^61 us from 1970",
                      rec->data, rec->len);
    } else if (er == AL_TOO_MANY_LABELS) {
        char detail[100];
        snprintf(detail, sizeof detail, "more than %d labels", AL_MAX_LABELS - 1);   /* one slot: the series name */
        stream_reject(m->in, &rec->pos, "too_many_labels", detail, rec->data, rec->len);
    }
    return RUNNER_OK;
}

/* SIGHUP; a quiet input still delivers queued notifications, and with
 * --state picks up acks and silences written by `alerter ack|silence`. */
static int al_tick(void *ctx, runner *r)
{
    al_main *m = ctx;
    if (sig_reload_requested()) al_reload(m);
    return al_notify_pending(m->nt) || runner_state(r) ? RUNNER_SYNC : RUNNER_OK;
}

/* Notifications go out before the checkpoint: a restart neither re-fires
 * what was delivered nor forgets what is firing. */
static int al_flush(void *ctx, runner *r)
{
    al_main *m = ctx;
    al_notify_flush(m->nt);
    return 0;
}

static int al_save(void *ctx, runner *r, state *st)
{
    al_main *m = ctx;
    return al_engine_load_acks(m->eng, state_db(st)) < 0 || al_load_silences(m, state_db(st)) < 0 ||
           al_engine_save(m->eng, state_db(st)) < 0 ? -1 : 0;
}

/* before the input closes: the notifier holds the input's dead letter */
static void al_fini(void *ctx, runner *r)
{
    al_main *m = ctx;
    al_notify_free(m->nt);
    m->nt = NULL;
    if (m->mr) al_mread_free(m->mr);
    free(m->mr);
    m->mr = NULL;
    arena_free(&m->ar);
}

typedef struct al_stats {
    al_counters c;
    al_notify_counters n;
    uint64_t active, firing;
} al_stats;

static void al_stats_fill(void *ctx, runner *r, void *snap)
{
    al_main *m = ctx;
    al_stats *s = snap;
    s->c = *al_engine_counters(m->eng);
    if (m->nt) s->n = *al_notify_counts(m->nt);
    s->active = al_engine_active(m->eng);
    s->firing = al_engine_firing(m->eng);
}

#define C(f) offsetof(al_stats, c.f)
#define N(f) offsetof(al_stats, n.f)
#define PAYLOAD "exec:/webhook: payloads "
static const counter_def al_counter_table[] = {
    { COUNTER_GAUGE, "streamrec_alerter_alerts", "alerts held (pending + firing)", offsetof(al_stats, active), NULL,
      "alerts" },
    { COUNTER_DONE_ONLY, NULL, NULL, C(matched), "matched", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_ignored_total", "records no rule looks at", C(ignored), "ignored", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_fired_total", "alerts that went from pending to firing", C(fired), "fired", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_resolved_total", "firing alerts resolved", C(resolved), "resolved", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_notifications_total", "firing/resolved notifications delivered to channels",
      C(notified), "notifications", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_escalations_total", "alerts raised to their escalate_to severity",
      C(escalations), NULL, NULL },
    { COUNTER_TOTAL, "streamrec_alerter_silenced_total", "firing alerts held back by a silence", C(silenced),
      "silenced", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_inhibited_total", "firing alerts held back by an inhibit rule", C(inhibited),
      "inhibited", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_alerts_dropped_total", "new alerts refused past --max-alerts", C(dropped),
      "dropped", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_stale_total", "records older than their alert's last record, skipped",
      C(stale), "stale", NULL },
    { COUNTER_GAUGE, "streamrec_alerter_alerts_firing", "alerts firing", offsetof(al_stats, firing), "firing",
      "firing" },
    { COUNTER_TOTAL, "streamrec_alerter_payloads_sent_total", PAYLOAD "delivered", N(sent), "payloads_sent", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_payloads_failed_total", PAYLOAD "that failed after every retry (dead-lettered)",
      N(failed), "payloads_failed", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_payload_retries_total", "exec:/webhook: retries", N(retries), NULL, NULL },
    { 0 }
};
#undef C
#undef N

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "ack")) return al_ack_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "silence")) return al_silence_main(argc - 1, argv + 1);
    int first = cli_parse(argc, argv, &al_spec, &common);
    if (first < argc) cli_usage_error(&al_spec, "unexpected argument '%s'", argv[first]);
    al_main m = {0};
    al_load_rules(&al_spec, &m.cfg);
    if (opt_backoff_max < opt_backoff) cli_usage_error(&al_spec, "--retry-backoff-max is below --retry-backoff");
    if (opt_check) {
        for (int i = 0; i < opt_rules.n; i++) printf("%s%s", i ? ", " : "", opt_rules.items[i]);
        printf(": %d rules, %d silences, %d inhibit rules: ok\n", m.cfg.nrules, m.cfg.nsilences, m.cfg.ninhibit);
        al_config_free(&m.cfg);
        cli_list_free(&opt_rules);
        return 0;
    }
    cli_start(&al_spec, &common);

    m.eng = al_engine_new(&m.cfg, opt_max_alerts, al_emit, &m);
    if (!m.eng) log_fatal("out of memory");
    /* End of input resolves nothing: the end of a stream is not a time.
     * Firing alerts stay in --state for the next run. */
    const runner_def def = {
        .stage = "alerter", .state_version = AL_STATE_VERSION, .state_schema = al_state_schema, .tick_ms = 1000,
        .counters = al_counter_table, .stats_size = sizeof(al_stats), .stats = al_stats_fill,
        .restore = al_restore, .init = al_init, .record = al_record, .tick = al_tick, .flush = al_flush,
        .save = al_save, .fini = al_fini,
    };
    int status = runner_main(&def, &common, &m);
    al_engine_free(m.eng);
    al_store_free_silences(m.xs, m.nxs);
    al_config_free(&m.cfg);
    cli_list_free(&opt_rules);
    return status;
}
