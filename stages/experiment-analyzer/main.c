/* experiment-analyzer — A/B experiments from Event records: exposures,
 * metrics, tests, always-valid decisions; ExperimentResult records out.
 * `experiment-analyzer assign` prints the variant of user ids on stdin.
 * The logic lives in analyze.c (engine), stats.c, assign.c, config.c,
 * report.c and, for the scale-out modes, partial.c and scaleout.c. This
 * file is the flags, the single run's callbacks on the runner (runner.h)
 * and its counter table; scaleout.c holds the scale-out modes' runner
 * definitions. */
#include <stddef.h>
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

/* The single run (README "Usage"): one engine, results at each report. */
static int ea_restore(void *ctx, runner *r, state *st)
{
    int lr = ea_state_load(((ea_ctx *)ctx)->ea, st);
    return lr == -2 ? RUNNER_USAGE : lr < 0 ? RUNNER_FAIL : RUNNER_OK;
}

static int ea_init(void *ctx, runner *r)
{
    ea_ctx *c = ctx;
    c->in = runner_in(r);
    c->out = runner_out(r);
    return RUNNER_OK;
}

static int ea_record(void *ctx, runner *rn, stream_rec *r)
{
    ea_ctx *c = ctx;
    if (r->type != &Event_desc) { c->ignored++; return RUNNER_OK; }   /* counted: ignored_total */
    if (ea_is_duplicate(c->ea, &r->as.event))
        return RUNNER_OK;   /* a copy of a counted event changes nothing, not even the report cadence */
    const Event *ev = &r->as.event;
    /* reports by event time go by the time the input is complete up to
     * (over Kafka partitions their minimum), so a partition read ahead does
     * not date a report the others have not reached */
    stream_in_note_time(c->in, &r->pos, ev->ts);
    int64_t t = c->every_us ? stream_in_event_time(c->in) : INT64_MIN;
    if (c->every_us && t != INT64_MIN && t >= c->next_ts) {
        if (c->next_ts && ea_emit(c) < 0) return RUNNER_FAIL;
        if (c->next_ts) c->reports++;
        c->next_ts = ea_next_boundary(t, c->every_us);
    }
    if (ev->ts > c->last_ts) c->last_ts = ev->ts;
    c->fresh = 0;
    ea_event_outcome(c, r, ea_event(c->ea, ev));
    if (c->every_events && ++c->nev % c->every_events == 0) {
        if (ea_emit(c) < 0) return RUNNER_FAIL;
        c->reports++;
        c->fresh = 1;
    }
    return RUNNER_OK;
}

/* the report at end of input, unless the last one already says it all */
static int ea_finish(void *ctx, runner *r)
{
    ea_ctx *c = ctx;
    return !c->fresh && ea_emit(c) < 0 ? -1 : 0;
}

static int ea_save(void *ctx, runner *r, state *st) { return ea_state_save(((ea_ctx *)ctx)->ea, st); }

static void ea_stats_fill(void *ctx, runner *r, void *snap)
{
    ea_ctx *c = ctx;
    ea_snap *s = snap;
    ea_figures *d = &s->d;
    d->records = stream_in_count(runner_in(r));
    d->exposed_users = ea_users(c->ea);
    d->memory_bytes = ea_memory(c->ea);
    d->bytes_per_user = d->exposed_users ? (double)d->memory_bytes / (double)d->exposed_users : 0.0;
    d->reports = (uint64_t)c->reports;
    d->duplicates = ea_duplicates(c->ea);
    d->unknown = ea_events_unknown_experiment(c->ea);
    d->ignored = c->ignored;
    d->users_dropped = ea_users_dropped(c->ea);
    s->m = *d;
}

#define D(f) offsetof(ea_snap, d.f)
static const counter_def ea_table[] = {
    EA_METRIC_ROWS("exposed users"),
    { COUNTER_DONE_ONLY, NULL, NULL, D(records), "records" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(exposed_users), "exposed_users" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(memory_bytes), "memory_bytes" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(bytes_per_user), "bytes_per_user", NULL, COUNTER_F64 },
    { COUNTER_DONE_ONLY, NULL, NULL, D(reports), "reports", "reports" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(duplicates), "duplicates" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(ignored), "ignored" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(users_dropped), "users_dropped" },
    { 0 }
};
#undef D

/* Every sync point checkpoints (the users and the input offsets). */
static const runner_def ea_def = {
    .stage = "experiment-analyzer", .state_version = 1, .state_schema = ea_state_schema, .tick_ms = 500,
    .counters = ea_table, .stats_size = sizeof(ea_snap), .stats = ea_stats_fill,
    .restore = ea_restore, .init = ea_init, .record = ea_record, .finish = ea_finish, .save = ea_save,
};

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
        .idle_us = common.idle_timeout, .every_us = every_us, .every_events = every_events,
        .partition = (int32_t)opt_partition, .partitions = (int32_t)opt_partitions,
    };
    c.m_results = metrics_counter("streamrec_experiment_results_total", "ExperimentResult records written");
    c.ea = ea_engine_new(&c, mergeable);
    int status = 2;
    if (common.state && emit_partials)
        /* usage error, before anything is opened */
        log_error("--state: not with --emit partials, which keeps none: a partition's owner rebuilds its users "
                  "from the partition's start (README \"Scaling out\")");
    else
        status = runner_main(emit_partials ? &ea_partials_def : opt_merge ? &ea_merge_def : &ea_def, &common, &c);
    free(c.topic);
    ea_free(c.ea);
    ea_config_free(&cfg);
    return status;
}
