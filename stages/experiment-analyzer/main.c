/* experiment-analyzer — A/B experiments from Event records: exposures,
 * metrics, tests, always-valid decisions; ExperimentResult records out.
 * `experiment-analyzer assign` prints the variant of user ids on stdin.
 * The logic lives in analyze.c (engine), stats.c, assign.c, config.c,
 * report.c and, for the scale-out modes, partial.c and scaleout.c; this
 * file is the stage's shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analyze.h"
#include "assign.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "run.h"
#include "sdnotify.h"
#include "state.h"
#include "stream.h"

static cli_common common;
static const char *opt_config, *opt_report, *opt_report_file, *opt_experiment;
static const char *opt_emit;
static cli_count_or_duration opt_report_every, opt_dedup_window;
static int64_t opt_max_users, opt_partition, opt_partitions, opt_dedup_max;
static int opt_merge, opt_mergeable;

static const cli_opt ea_opts[] = {
    { "config", 'c', CLI_STR, &opt_config, NULL, "FILE", "experiments (YAML)", 0, 0, .required = 1 },
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
    { "config", 'c', CLI_STR, &opt_config, NULL, "FILE", "experiments (YAML)", 0, 0, .required = 1 },
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
    const char *unmerge_exp = NULL;
    const ea_metric_cfg *unmerge = mergeable ? ea_config_unmergeable(&cfg, &unmerge_exp) : NULL;
    if (unmerge) {
        /* a quantile is no function of sums: refuse rather than merge it
         * wrong (CUPED and ratio metrics merge: their pair sums) */
        fprintf(stderr, "experiment-analyzer: %s: experiment \"%s\", metric \"%s\": quantile metrics are "
                "not mergeable (--emit partials, --merge, --mergeable): a quantile needs every user's value, "
                "which partials do not carry (they carry counts and exact sums); run one process without "
                "them\n", opt_merge ? "--merge" : emit_partials ? "--emit partials" : "--mergeable",
                unmerge_exp, unmerge->name);
        ea_config_free(&cfg);
        return 2;
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

    ea_ctx c = {
        .cfg = &cfg, .report = opt_report, .report_file = opt_report_file,
        .max_users = (uint64_t)opt_max_users, .dedup_span_us = opt_dedup_window.us,
        .dedup_n = (uint64_t)(opt_dedup_window.us ? opt_dedup_max : opt_dedup_window.count),
        .idle_us = common.idle_timeout,
    };
    c.m_results = metrics_counter("streamrec_experiment_results_total", "ExperimentResult records written");
    c.m_users = metrics_gauge("streamrec_experiment_users", "exposed users held in memory");
    c.m_mem = metrics_gauge("streamrec_experiment_memory_bytes", "bytes held for exposed users");
    c.m_unknown = metrics_gauge("streamrec_experiment_unknown_events",
                                "events naming an experiment not in the config");
    c.m_dups = metrics_counter("streamrec_experiment_duplicates_total",
                               "events dropped: their event_id was among the last --dedup-window counted");
    c.ea = ea_engine_new(&c, mergeable);
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
        status = emit_partials ? ea_partials_main(&c, every_us, (int32_t)opt_partition, (int32_t)opt_partitions)
                               : ea_merge_main(&c, every_us);
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
