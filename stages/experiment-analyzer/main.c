/* experiment-analyzer — A/B experiments from Event records: exposures,
 * metrics, tests, always-valid decisions; ExperimentResult records out.
 * `experiment-analyzer assign` prints the variant of user ids on stdin.
 * The logic lives in analyze.c (engine), stats.c, assign.c, config.c and
 * report.c; this file is the stage's shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analyze.h"
#include "assign.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "partial.h"
#include "report.h"
#include "sdnotify.h"
#include "sig.h"
#include "state.h"
#include "stream.h"

static cli_common common;
static const char *opt_config, *opt_report, *opt_report_file, *opt_experiment;
static const char *opt_emit;
static cli_count_or_duration opt_report_every, opt_dedup_window;
static int64_t opt_max_users, opt_partition, opt_partitions, opt_dedup_max;
static int opt_merge, opt_mergeable;

static const cli_opt ea_opts[] = {
    { "config", 'c', CLI_STR, &opt_config, NULL, "FILE", "experiments (YAML), required", 0, 0 },
    { "report-every", 0, CLI_COUNT_OR_DURATION, &opt_report_every, "10m", "N|DURATION",
      "emit results every N events, or every DURATION of event time (\"0\": only at the end)", 0, 1e12 },
    { "report", 0, CLI_STR, &opt_report, NULL, "html|markdown",
      "also write a human report (rewritten at every report)", 0, 0 },
    { "report-file", 0, CLI_STR, &opt_report_file, NULL, "PATH",
      "where --report goes (default experiment-report.html or .md)", 0, 0 },
    { "max-users", 0, CLI_INT, &opt_max_users, "10000000", "N",
      "bound on exposed users kept (memory); later new users are counted and ignored", 1, 1073741824 },
    { "dedup-window", 0, CLI_COUNT_OR_DURATION, &opt_dedup_window, "100000", "N|DURATION",
      "event_ids of the last N events that concern an experiment remembered, or of those within "
      "DURATION of event time of the newest (at most --dedup-max), to drop the copies an upstream "
      "replay sends again (24-40 bytes each; 0: off)", 0, 1e9 },
    { "dedup-max", 0, CLI_INT, &opt_dedup_max, "1000000", "N",
      "ids a --dedup-window DURATION remembers at most (past it the oldest leave early)", 1, 1e9 },
    { "emit", 0, CLI_STR, &opt_emit, "results", "results|partials",
      "partials: per source partition and report, ExperimentPartial records for --merge "
      "(scale-out: README \"Scaling out\")", 0, 0 },
    { "merge", 0, CLI_BOOL, &opt_merge, NULL, NULL,
      "read ExperimentPartial records, write the ExperimentResult records one process would", 0, 0 },
    { "mergeable", 0, CLI_BOOL, &opt_mergeable, NULL, NULL,
      "compute as --emit partials | --merge do (a look at each report, exact moments), in one process", 0, 0 },
    { "partition", 0, CLI_INT, &opt_partition, "0", "I",
      "--emit partials from a file or pipe: which partition of the source it is (0-based)", 0, 65535 },
    { "partitions", 0, CLI_INT, &opt_partitions, "0", "P",
      "--emit partials: how many partitions the source has (default: the Kafka topic's, or 1 for a "
      "file or pipe; given for Kafka, it must be the topic's)", 0, 65536 },
    { 0 }
};

static const cli_spec ea_spec = {
    .stage = "experiment-analyzer",
    .summary = "A/B experiment analysis: Event records in, ExperimentResult records out",
    .usage = "experiment-analyzer --config FILE [FLAGS]\n"
             "       experiment-analyzer assign --config FILE [--experiment NAME] < user_ids",
    .example = "ingest < events.jsonl | experiment-analyzer --config experiments.yaml \\\n"
               "    --report html --report-file report.html --format json",
    .opts = ea_opts,
};

static const cli_opt ea_assign_opts[] = {
    { "config", 'c', CLI_STR, &opt_config, NULL, "FILE", "experiments (YAML), required", 0, 0 },
    { "experiment", 'e', CLI_STR, &opt_experiment, NULL, "NAME",
      "which experiment (needed when the file has several)", 0, 0 },
    { 0 }
};
static const cli_spec ea_assign_spec = {
    .stage = "experiment-analyzer assign",
    .summary = "print the variant of each user id read on stdin (one per line), as the analyzer assigns it:\n"
               "bucket = splitmix64_finalizer(fnv1a64(KEY \":\" user_id)) mod 10000 (KEY: the salt, else the\n"
               "experiment name); variants own consecutive bucket ranges in config order (see the README)",
    .usage = "experiment-analyzer assign --config FILE [--experiment NAME] < user_ids",
    .example = "printf 'u1\\nu2\\n' | experiment-analyzer assign --config experiments.yaml",
    .opts = ea_assign_opts,
    .no_common = 1,
};

static void ea_load_config(const cli_spec *spec, ea_config *cfg)
{
    char err[512];
    if (!opt_config) cli_usage_error(spec, "--config is required");
    if (ea_config_load(opt_config, cfg, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", spec->stage, err);
        exit(2);
    }
}

static int ea_assign_main(int argc, char **argv)
{
    ea_config cfg;
    cli_parse(argc, argv, &ea_assign_spec, NULL);
    ea_load_config(&ea_assign_spec, &cfg);
    int x = 0;
    if (opt_experiment) {
        x = ea_config_find(&cfg, opt_experiment, strlen(opt_experiment));
        if (x < 0) { ea_config_free(&cfg); cli_usage_error(&ea_assign_spec, "--experiment: no experiment \"%s\" in %s", opt_experiment, opt_config); }
    } else if (cfg.nexperiments > 1) {
        ea_config_free(&cfg);
        cli_usage_error(&ea_assign_spec, "--experiment: %s defines several experiments; name one", opt_config);
    }
    const ea_experiment_cfg *e = &cfg.experiments[x];
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        fputs(e->variants[ea_assign(e, line, (size_t)n)].name, stdout);
        putchar('\n');
    }
    free(line);
    ea_config_free(&cfg);
    if (fflush(stdout) != 0 || ferror(stdout)) { fprintf(stderr, "experiment-analyzer assign: write error\n"); return 1; }
    return 0;
}

typedef struct ea_ctx {
    ea_engine *ea;
    const ea_config *cfg;
    stream_in *in;
    stream_out *out;
    state *st;
    int64_t last_ts;
    char *topic;                  /* --emit partials from Kafka: the source topic */
    metrics_series *m_results, *m_users, *m_mem, *m_unknown, *m_dups;
} ea_ctx;

static int ea_emit(ea_ctx *c)
{
    /* mergeable: the one look of this report (analyze.h) */
    if (ea_is_mergeable(c->ea)) ea_look_all(c->ea);
    const ea_row *rows;
    int n = ea_results(c->ea, &rows);
    for (int i = 0; i < n; i++) {
        const ea_row *r = &rows[i];
        const ea_experiment_cfg *e = &c->cfg->experiments[r->exp];
        const ea_metric_cfg *mc = &e->metrics[r->metric];
        ExperimentResult o;
        ExperimentResult_init(&o);
        o.ts = c->last_ts;
        o.experiment = FB_STR(e->name);
        o.metric = FB_STR(mc->name);
        o.variant = FB_STR(e->variants[r->variant].name);
        o.control = FB_STR(e->control);
        o.users = r->users; o.conversions = r->conversions;
        o.mean = r->mean; o.stddev = r->sd; o.rate = r->rate;
        o.ci_low = r->ci_low; o.ci_high = r->ci_high;
        o.lift = r->lift; o.lift_ci_low = r->lift_ci_low; o.lift_ci_high = r->lift_ci_high;
        o.p_value = r->p_value; o.test = FB_STR(r->test);
        o.significant = (uint8_t)r->significant;
        o.srm_p_value = r->srm_p; o.srm_flag = (uint8_t)r->srm_flag;
        o.decision = (Decision)r->decision;
        o.relative_lift = r->rel_lift;
        o.always_valid_p_value = r->av_p_adj;
        o.decision_reason = FB_STR(r->reason);
        o.p_value_adjusted = r->p_adj;
        o.always_valid_ci_low = r->av_ci_low; o.always_valid_ci_high = r->av_ci_high;
        o.mixed_users = r->mixed;
        o.primary = (uint8_t)(r->metric == e->primary_idx);
        o.alpha = e->alpha;
        o.metric_type = FB_STR(ea_metric_type_name(mc->type));
        if (stream_write(c->out, &ExperimentResult_desc, &o, NULL, 0) < 0) return -1;
        metrics_add(c->m_results, 1);
    }
    if (opt_report) {
        const char *path = opt_report_file ? opt_report_file :
            strcmp(opt_report, "html") == 0 ? "experiment-report.html" : "experiment-report.md";
        if (ea_report_write(path, strcmp(opt_report, "html") == 0 ? EA_REPORT_HTML : EA_REPORT_MARKDOWN,
                            c->cfg, rows, n, c->last_ts) < 0) return -1;
    }
    return 0;
}

/* Save state (with the input offsets) then deliver output and commit input. */
static int ea_checkpoint(ea_ctx *c)
{
    metrics_set(c->m_users, (double)ea_users(c->ea));
    metrics_set(c->m_mem, (double)ea_memory(c->ea));
    metrics_set(c->m_unknown, (double)ea_events_unknown_experiment(c->ea));
    if (c->st) {
        if (state_begin(c->st) < 0) return -1;
        if (ea_state_save(c->ea, c->st) < 0 || state_save_offsets(c->st, c->in) < 0) {
            state_rollback(c->st);
            return -1;
        }
        if (state_commit(c->st) < 0) return -1;
    }
    return stream_sync(c->in, c->out);
}

/* Partitions are about to move (a rebalance): save the state with the
 * offsets before they are committed, so the commit never runs past what
 * the state holds. Nonzero: nothing is committed. */
static int ea_before_revoke(void *ctx) { return ea_checkpoint(ctx); }

/* The report boundary after event time t: the one formula of the single
 * run, each partition of --emit partials and --merge. */
static int64_t ea_next_boundary(int64_t t, int64_t every) { return (t / every + 1) * every; }

/* The outcome of ea_event: rejects go to the dead letter. */
static void ea_event_outcome(ea_ctx *c, stream_rec *r, int er)
{
    const Event *ev = &r->as.event;
    if (er == EA_UNKNOWN_VARIANT) {
        char detail[200];
        snprintf(detail, sizeof detail, "experiment %.*s has no variant \"%.*s\"",
                 (int)(ev->experiment.len > 60 ? 60 : ev->experiment.len), ev->experiment.ptr,
                 (int)(ev->variant.len > 60 ? 60 : ev->variant.len), ev->variant.ptr);
        stream_reject(c->in, &r->pos, "unknown_variant", detail, r->data, r->len);
    } else if (er == EA_BAD_USER) {
        stream_reject(c->in, &r->pos, "bad_user_id", "user_id longer than 16 MiB (schemas/SIZES.md)",
                      r->data, r->len);
    } else if (er == EA_NO_USER) {
        stream_reject(c->in, &r->pos, "no_user_id", "event names an experiment but no user_id",
                      r->data, r->len);
    }
}

static ea_engine *ea_engine_new(const ea_config *cfg, int mergeable)
{
    ea_engine *ea = ea_new(cfg, (uint64_t)opt_max_users);
    if (!ea || ea_set_dedup(ea, (uint64_t)(opt_dedup_window.us ? opt_dedup_max : opt_dedup_window.count),
                            opt_dedup_window.us) < 0 ||
        (mergeable && ea_set_mergeable(ea) < 0))
        log_fatal("out of memory");
    return ea;
}

/* --emit partials: one engine per source partition (its users are its
 * own: events are keyed by user), a report boundary per partition by its
 * own watermark (partial.h). */
typedef struct ea_part {
    ea_engine *ea;
    int64_t wm, next, last_ts, offset;
    uint64_t events;
} ea_part;

static int ea_part_emit(ea_ctx *c, ea_part *p, int32_t partition, int64_t prev_wm, int final)
{
    ea_partial_src src = {
        .topic = c->topic, .partition = partition, .partitions = (int32_t)opt_partitions,
        .offset = p->offset, .watermark = p->wm, .prev_watermark = prev_wm,
        .boundary = p->next, .boundary_last = p->wm, .every = opt_report_every.us,
        .last_ts = p->last_ts, .events = p->events, .final = final,
    };
    if (ea_partial_write(c->out, p->ea, &src) < 0) return -1;
    metrics_add(c->m_results, (double)c->cfg->nexperiments);
    return 0;
}

typedef struct ea_pctx {
    ea_ctx *c;
    ea_part *parts;
    int32_t np;
} ea_pctx;

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

static int ea_partials_main(ea_ctx *c, int64_t every_us)
{
    /* the merge waits for every partition of the source: a wrong count
     * would hold every report back (too many) or refuse events (too few) */
    int topic_np = stream_in_partition_count(c->in);
    if (stream_in_is_kafka(c->in)) {
        if (topic_np < 1 && !opt_partitions) {
            log_error("--emit partials: the input topic's partition count is unknown (no metadata from the "
                      "brokers): give --partitions");
            return 1;
        }
        if (topic_np >= 1 && opt_partitions && opt_partitions != topic_np) {
            log_error("--partitions %lld: the input topic has %d partitions", (long long)opt_partitions, topic_np);
            return 2;
        }
        if (topic_np >= 1) opt_partitions = topic_np;
    } else if (!opt_partitions) {
        opt_partitions = 1;
    }
    int32_t np = (int32_t)opt_partitions;
    ea_part *parts = calloc((size_t)np, sizeof *parts);
    if (!parts) log_fatal("out of memory");
    for (int32_t i = 0; i < np; i++) parts[i].wm = INT64_MIN;
    int kafka = stream_in_is_kafka(c->in);
    ea_pctx pc = { c, parts, np };
    if (kafka) {
        stream_in_set_start(c->in, ea_part_start, &pc);
        stream_in_set_no_commit(c->in);
    }
    else parts[opt_partition].ea = ea_engine_new(c->cfg, 1);   /* its final partial even when empty */
    stream_rec r;
    int rc;
    uint64_t old = 0;
    while ((rc = stream_in_next(c->in, &r)) == 1) {
        if (r.type != &Event_desc) continue;
        int32_t pi = kafka ? r.pos.partition : (int32_t)opt_partition;
        if (pi < 0 || pi >= np) {
            char detail[160];
            snprintf(detail, sizeof detail, "source partition %d: --partitions says %d", (int)pi, (int)np);
            stream_reject(c->in, &r.pos, "bad_partition", detail, r.data, r.len);
            continue;
        }
        ea_part *p = &parts[pi];
        if (kafka && p->ea && r.pos.offset < p->offset) { old++; continue; }   /* counted already */
        if (!p->ea) {
            p->ea = ea_engine_new(c->cfg, 1);
            /* rebuilt from the start: a partition whose start was deleted
             * (retention) cannot give every exposure back */
            if (kafka && r.pos.offset > 0)
                log_kv(LOG_WARN, "partition read from after its start: events before were deleted (retention "
                       "shorter than the experiments); its users' results miss them",
                       "\"topic\":\"%s\",\"partition\":%d,\"first_offset\":%lld", r.pos.topic,
                       (int)pi, (long long)r.pos.offset);
        }
        const Event *ev = &r.as.event;
        if (ea_is_duplicate(p->ea, ev)) { p->offset = r.pos.offset + 1; continue; }
        /* the single run's cadence, on this partition's watermark */
        int64_t prev = p->wm;
        if (ev->ts > p->wm) p->wm = ev->ts;
        int64_t t = p->wm;
        if (every_us && t >= p->next) {
            if (p->next && ea_part_emit(c, p, pi, prev, 0) < 0) { rc = -1; break; }
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
    int ended = rc == 0 && !kafka && !sig_stop_requested();
    for (int32_t i = 0; ended && i < np; i++)
        if (parts[i].ea && ea_part_emit(c, &parts[i], i, parts[i].wm, 1) < 0) rc = -1;
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
static int ea_merge_main(ea_ctx *c, int64_t every_us)
{
    ea_merger *m = ea_merger_new(c->ea, every_us);
    if (!m) log_fatal("out of memory");
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

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "assign") == 0) return ea_assign_main(argc - 1, argv + 1);
    cli_parse(argc, argv, &ea_spec, &common);
    ea_config cfg;
    ea_load_config(&ea_spec, &cfg);
    if (opt_report && strcmp(opt_report, "html") && strcmp(opt_report, "markdown")) {
        ea_config_free(&cfg);
        cli_usage_error(&ea_spec, "--report: \"%s\" is not html or markdown", opt_report);
    }
    int emit_partials = strcmp(opt_emit, "partials") == 0;
    if (!emit_partials && strcmp(opt_emit, "results")) {
        ea_config_free(&cfg);
        cli_usage_error(&ea_spec, "--emit: \"%s\" is not results or partials", opt_emit);
    }
    int64_t every_events = opt_report_every.count, every_us = opt_report_every.us;
    int mergeable = opt_mergeable || opt_merge || emit_partials;
    if (mergeable && every_events) {
        ea_config_free(&cfg);
        cli_usage_error(&ea_spec, "--report-every: %s needs a DURATION of event time (or 0), not a count of "
                        "events: partitions agree on times, not on counts",
                        opt_merge ? "--merge" : emit_partials ? "--emit partials" : "--mergeable");
    }
    if (opt_merge && emit_partials) {
        ea_config_free(&cfg);
        cli_usage_error(&ea_spec, "--merge reads partials and writes results: drop --emit partials");
    }
    if (emit_partials && opt_report) {
        ea_config_free(&cfg);
        cli_usage_error(&ea_spec, "--report: written by --merge, which has the results, not by --emit partials");
    }
    if (opt_partition >= (opt_partitions ? opt_partitions : 1)) {
        ea_config_free(&cfg);
        cli_usage_error(&ea_spec, "--partition %lld: not below --partitions %lld", (long long)opt_partition,
                        (long long)opt_partitions);
    }
    cli_start(&ea_spec, &common);

    ea_ctx c = { .cfg = &cfg };
    c.m_results = metrics_counter("streamrec_experiment_results_total", "ExperimentResult records written");
    c.m_users = metrics_gauge("streamrec_experiment_users", "exposed users held in memory");
    c.m_mem = metrics_gauge("streamrec_experiment_memory_bytes", "bytes held for exposed users");
    c.m_unknown = metrics_gauge("streamrec_experiment_unknown_events",
                                "events naming an experiment not in the config");
    c.m_dups = metrics_counter("streamrec_experiment_duplicates_total",
                               "events dropped: their event_id was among the last --dedup-window counted");
    c.ea = ea_engine_new(&cfg, mergeable);
    int status = 1;
    if (common.state && emit_partials) {
        /* usage error, before anything is opened */
        log_error("--state: not with --emit partials, which keeps none: a partition's owner rebuilds its users "
                  "from the partition's start (README \"Scaling out\")");
        status = 2;
        goto done;
    }
    if (common.state && opt_merge) {
        c.st = state_open(common.state, "experiment-analyzer", 1, "");
        if (!c.st) goto done;
    } else if (common.state) {
        c.st = state_open(common.state, "experiment-analyzer", 1, ea_state_schema);
        if (!c.st) goto done;
        int lr = ea_state_load(c.ea, c.st);
        if (lr == -2) { status = 2; goto done; }
        if (lr < 0) goto done;
    }
    if (emit_partials || opt_merge) {
        c.in = stream_in_open(common.in, &common);
        if (!c.in) goto done;
        c.out = stream_out_open(common.out, &common);
        if (!c.out) goto done;
        sd_ready();
        status = emit_partials ? ea_partials_main(&c, every_us) : ea_merge_main(&c, every_us);
        goto done;
    }
    uint64_t dups0 = ea_duplicates(c.ea);   /* Prometheus counters count this process only */
    c.in = stream_in_open(common.in, &common);
    if (!c.in) goto done;
    if (c.st) {
        stream_in_set_start(c.in, state_start_offset, c.st);
        stream_in_set_before_revoke(c.in, ea_before_revoke, &c);
    }
    c.out = stream_out_open(common.out, &common);
    if (!c.out) goto done;
    sd_ready();

    stream_rec r;
    int rc;
    int64_t nev = 0, next_ts = 0, reports = 0;
    int fresh = 0;     /* the last report is up to date: no Event since */
    while ((rc = stream_in_next(c.in, &r)) == 1) {
        if (r.type == &Event_desc && ea_is_duplicate(c.ea, &r.as.event)) {
            /* a copy of a counted event: changes nothing, not even the report cadence */
        } else if (r.type == &Event_desc) {
            const Event *ev = &r.as.event;
            /* reports by event time go by the time the input is complete
             * up to (over Kafka partitions their minimum), so a partition
             * read ahead does not date a report the others have not reached */
            stream_in_note_time(c.in, &r.pos, ev->ts);
            int64_t t = every_us ? stream_in_event_time(c.in) : INT64_MIN;
            if (every_us && t != INT64_MIN && t >= next_ts) {
                if (next_ts && ea_emit(&c) < 0) { rc = -1; break; }
                if (next_ts) reports++;
                next_ts = ea_next_boundary(t, every_us);
            }
            if (ev->ts > c.last_ts) c.last_ts = ev->ts;
            fresh = 0;
            ea_event_outcome(&c, &r, ea_event(c.ea, ev));
            if (every_events && ++nev % every_events == 0) {
                if (ea_emit(&c) < 0) { rc = -1; break; }
                reports++;
                fresh = 1;
            }
        }
        if (stream_sync_due(c.in)) {
            metrics_set(c.m_dups, (double)(ea_duplicates(c.ea) - dups0));
            if (ea_checkpoint(&c) < 0) { rc = -1; break; }
            sd_status("%llu exposed users, %lld reports", (unsigned long long)ea_users(c.ea), (long long)reports);
            metrics_tick();
        }
    }
    /* the report at end of input, unless the last one already says it all */
    if (rc == 0 && !fresh && ea_emit(&c) < 0) rc = -1;
    metrics_set(c.m_dups, (double)(ea_duplicates(c.ea) - dups0));
    if (ea_checkpoint(&c) < 0) rc = -1;
    if (rc == 0) status = 0;
    {
        uint64_t nu = ea_users(c.ea);
        size_t mem = ea_memory(c.ea);
        log_kv(LOG_INFO, "done", "\"records\":%llu,\"exposed_users\":%llu,\"memory_bytes\":%llu,"
               "\"bytes_per_user\":%.0f,\"reports\":%lld,\"duplicates\":%llu",
               (unsigned long long)stream_in_count(c.in),
               (unsigned long long)nu, (unsigned long long)mem, nu ? (double)mem / (double)nu : 0.0,
               (long long)reports, (unsigned long long)ea_duplicates(c.ea));
    }
done:
    if (c.in) stream_in_close(c.in);
    if (c.out && stream_out_close(c.out) != 0) status = 1;
    if (c.st) state_close(c.st);
    free(c.topic);
    ea_free(c.ea);
    ea_config_free(&cfg);
    metrics_shutdown();
    return status;
}
