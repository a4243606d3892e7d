/* main.c — alerter: Metric, Drift and ExperimentResult records in, Alert
 * records out (and exec:/webhook: notifications), by the rules of a YAML
 * file. The state machine lives in engine.c, the rules file in rules.c,
 * delivery in notify.c; this file wires flags, streams, state, and the
 * `alerter ack` subcommand. See README.md. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "deadletter.h"
#include "engine.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "rules.h"
#include "runner.h"
#include "sig.h"
#include "state.h"
#include "stream.h"
#include "timefmt.h"

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

static const cli_opt ack_opts[] = { { 0 } };
static cli_common ack_common;
static const cli_spec ack_spec = {
    .stage = "alerter",
    .summary = "acknowledge a firing alert: it stops repeating and escalating until it resolves",
    .usage = "alerter ack FINGERPRINT... --state DB",
    .example = "alerter ack 3f2a9c0d11e4b7a5 --state /var/lib/streamrec/prod/alerter.db",
    .opts = ack_opts,
};

typedef struct al_main {
    stream_in *in;
    stream_out *out;
    al_engine *eng;
    al_notify *nt;
    al_config cfg;
    al_silence *xs; int nxs; /* silences from the state database */
    const stream_pos *pos;  /* of the record being handled */
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

static void al_free_silences(al_silence *xs, int n)
{
    for (int i = 0; i < n; i++) {
        free(xs[i].rule);
        for (int j = 0; j < xs[i].nlabels; j++) { free(xs[i].labels[j].key); free(xs[i].labels[j].value); }
        free(xs[i].labels);
    }
    free(xs);
}

/* Labels column of the silences table (al_labels_next), as `alerter
 * silence` writes them. */
static int al_parse_labels(const char *p, int len, yc_kv **out)
{
    int n = 0;
    for (int i = 0; i < len; i++) n += p[i] == 0x1e;
    yc_kv *kv = calloc((size_t)n + 1, sizeof *kv);
    if (!kv) log_fatal("out of memory");
    int k = 0;
    fb_str key, value;
    for (const char *end = p ? p + len : NULL; k < n && al_labels_next(&p, end, &key, &value); k++) {
        kv[k].key = strndup(key.ptr, key.len);
        kv[k].value = strndup(value.ptr, value.len);
    }
    *out = kv;
    return k;
}

/* Read the silences `alerter silence` stored (those not over yet). */
static int al_load_silences(al_main *m, sqlite3 *db)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT rule, labels, starts, ends FROM silences WHERE ends > ? ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK) {
        log_error("reading silences: %s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(q, 1, al_engine_clock(m->eng));   /* INT64_MIN before any record: all */
    al_silence *xs = NULL;
    int n = 0, cap = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            al_silence *g = realloc(xs, (size_t)cap * sizeof *g);
            if (!g) log_fatal("out of memory");
            xs = g;
        }
        al_silence *x = &xs[n++];
        memset(x, 0, sizeof *x);
        const char *rule = (const char *)sqlite3_column_text(q, 0);
        x->rule = rule ? strdup(rule) : NULL;
        x->nlabels = al_parse_labels(sqlite3_column_blob(q, 1), sqlite3_column_bytes(q, 1), &x->labels);
        x->starts_us = sqlite3_column_int64(q, 2);
        x->ends_us = sqlite3_column_int64(q, 3);
    }
    sqlite3_finalize(q);
    al_engine_set_extra_silences(m->eng, xs, n);
    al_free_silences(m->xs, m->nxs);
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

static int al_ack_main(int argc, char **argv)
{
    int first = cli_parse(argc, argv, &ack_spec, &ack_common);
    if (!ack_common.state) cli_usage_error(&ack_spec, "--state is required (the alerter's state database)");
    if (first >= argc) cli_usage_error(&ack_spec, "give the FINGERPRINT of a firing alert");
    for (int i = first; i < argc; i++) {
        uint64_t fp;
        if (al_fp_parse(argv[i], &fp) < 0)
            cli_usage_error(&ack_spec, "'%s' is not a fingerprint (16 lower-case hex digits)", argv[i]);
    }
    cli_start(&ack_spec, &ack_common);
    state *st = state_open(ack_common.state, "alerter", AL_STATE_VERSION, al_state_schema);
    if (!st) return 1;
    int status = 0;
    sqlite3 *db = state_db(st);
    for (int i = first; i < argc; i++) {
        sqlite3_stmt *q = NULL;
        int firing = 0;
        if (sqlite3_prepare_v2(db, "SELECT rule FROM alerts WHERE fp = ? AND state = 1", -1, &q, NULL) == SQLITE_OK) {
            sqlite3_bind_text(q, 1, argv[i], -1, SQLITE_STATIC);
            firing = sqlite3_step(q) == SQLITE_ROW;
        }
        sqlite3_finalize(q);
        if (!firing) {
            log_error("%s: no firing alert with this fingerprint in %s", argv[i], ack_common.state);
            status = 1;
            continue;
        }
        if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO acks VALUES (?, ?)", -1, &q, NULL) != SQLITE_OK ||
            sqlite3_bind_text(q, 1, argv[i], -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(q, 2, now_us()) != SQLITE_OK || sqlite3_step(q) != SQLITE_DONE) {
            log_error("%s: %s", ack_common.state, sqlite3_errmsg(db));
            status = 1;
        } else {
            log_info("acknowledged %s", argv[i]);
        }
        sqlite3_finalize(q);
    }
    state_close(st);
    metrics_shutdown();
    return status;
}

static const char *sil_rule, *sil_starts, *sil_ends, *sil_comment;
static cli_list sil_labels;
static const cli_opt sil_opts[] = {
    { "rule", 0, CLI_STR, &sil_rule, NULL, "NAME", "silence this rule's alerts (default: any rule)", 0, 0 },
    { "label", 'l', CLI_LIST, &sil_labels, NULL, "KEY=VALUE,...", "alerts whose labels have these values", 0, 0 },
    { "starts", 0, CLI_STR, &sil_starts, NULL, "TIME", "event time it starts (ISO 8601), required", 0, 0 },
    { "ends", 0, CLI_STR, &sil_ends, NULL, "TIME", "event time it ends (ISO 8601, exclusive), required", 0, 0 },
    { "comment", 0, CLI_STR, &sil_comment, NULL, "TEXT", "why (kept in the database)", 0, 0 },
    { 0 }
};
static cli_common sil_common;
static const cli_spec sil_spec = {
    .stage = "alerter",
    .summary = "add a silence to the state database: matching alerts are not notified between --starts and --ends "
               "(event time); the running alerter reads it within a second",
    .usage = "alerter silence --state DB [--rule NAME] [--label K=V]... --starts TIME --ends TIME [--comment TEXT]",
    .example = "alerter silence --state alerter.db --label host=web-3 --starts 2026-11-23T10:00Z --ends 2026-11-23T12:00Z",
    .opts = sil_opts,
};

static int al_silence_main(int argc, char **argv)
{
    int first = cli_parse(argc, argv, &sil_spec, &sil_common);
    if (first < argc) cli_usage_error(&sil_spec, "unexpected argument '%s'", argv[first]);
    if (!sil_common.state) cli_usage_error(&sil_spec, "--state is required (the alerter's state database)");
    int64_t starts, ends;
    if (!sil_starts || time_parse_iso(sil_starts, strlen(sil_starts), &starts) < 0)
        cli_usage_error(&sil_spec, "--starts: give an ISO 8601 time");
    if (!sil_ends || time_parse_iso(sil_ends, strlen(sil_ends), &ends) < 0)
        cli_usage_error(&sil_spec, "--ends: give an ISO 8601 time");
    if (ends <= starts) cli_usage_error(&sil_spec, "--ends is not after --starts");
    if (!sil_rule && !sil_labels.n) cli_usage_error(&sil_spec, "give --rule or --label (a silence of everything is a mistake)");
    size_t cap = 1;
    for (int i = 0; i < sil_labels.n; i++) cap += strlen(sil_labels.items[i]) + 1;
    char *lb = malloc(cap);
    if (!lb) log_fatal("out of memory");
    size_t o = 0;
    for (int i = 0; i < sil_labels.n; i++) {
        const char *kv = sil_labels.items[i], *eq = strchr(kv, '=');
        if (!eq || eq == kv || strpbrk(kv, "\x1e\x1f"))
            cli_usage_error(&sil_spec, "--label: '%s' is not KEY=VALUE", kv);
        memcpy(lb + o, kv, (size_t)(eq - kv)); o += (size_t)(eq - kv); lb[o++] = 0x1f;
        memcpy(lb + o, eq + 1, strlen(eq + 1)); o += strlen(eq + 1); lb[o++] = 0x1e;
    }
    cli_start(&sil_spec, &sil_common);
    state *st = state_open(sil_common.state, "alerter", AL_STATE_VERSION, al_state_schema);
    if (!st) { free(lb); return 1; }
    sqlite3 *db = state_db(st);
    sqlite3_stmt *q = NULL;
    int status = 1;
    if (sqlite3_prepare_v2(db, "INSERT INTO silences (rule, labels, starts, ends, comment, created) VALUES (?,?,?,?,?,?)",
                           -1, &q, NULL) == SQLITE_OK) {
        if (sil_rule) sqlite3_bind_text(q, 1, sil_rule, -1, SQLITE_STATIC);
        sqlite3_bind_blob(q, 2, lb, (int)o, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, starts);
        sqlite3_bind_int64(q, 4, ends);
        if (sil_comment) sqlite3_bind_text(q, 5, sil_comment, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 6, now_us());
        if (sqlite3_step(q) == SQLITE_DONE) status = 0;
    }
    if (status == 0) log_kv(LOG_INFO, "silence added", "\"id\":%lld", (long long)sqlite3_last_insert_rowid(db));
    else log_error("%s: %s", sil_common.state, sqlite3_errmsg(db));
    sqlite3_finalize(q);
    state_close(st);
    free(lb);
    metrics_shutdown();
    return status;
}

/* Restore alerts and silences from --state; notifications that fail for
 * good go to the input's own --dead-letter. */
static int al_init(void *ctx, runner *r)
{
    al_main *m = ctx;
    m->in = runner_in(r);
    m->out = runner_out(r);
    state *st = runner_state(r);
    if (st) {
        if (al_engine_load(m->eng, state_db(st)) < 0 || al_load_silences(m, state_db(st)) < 0) return RUNNER_FAIL;
        if (al_engine_active(m->eng))
            log_info("resumed from %s: %llu alerts, %llu firing", common.state,
                     (unsigned long long)al_engine_active(m->eng), (unsigned long long)al_engine_firing(m->eng));
    }
    al_notify_cfg ncfg = { m->cfg.group_by, m->cfg.ngroup_by, (int)opt_retries, opt_backoff, opt_backoff_max,
                           opt_exec_timeout, opt_webhook_timeout, (int)opt_max_batch, stream_in_dead_letter(m->in) };
    m->nt = al_notify_new(&ncfg);
    if (!m->nt) log_fatal("out of memory");
    al_engine_set_time_source(m->eng, al_input_time, m);
    return RUNNER_OK;
}

static int al_record(void *ctx, runner *r, stream_rec *rec)
{
    al_main *m = ctx;
    if (sig_reload_requested()) al_reload(m);
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
        .init = al_init, .record = al_record, .tick = al_tick, .flush = al_flush, .save = al_save, .fini = al_fini,
    };
    int status = runner_main(&def, &common, &m);
    al_engine_free(m.eng);
    al_free_silences(m.xs, m.nxs);
    al_config_free(&m.cfg);
    cli_list_free(&opt_rules);
    metrics_shutdown();
    return status;
}
