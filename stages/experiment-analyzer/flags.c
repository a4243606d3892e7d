/* flags.c — experiment-analyzer's flag tables, the experiments file and the
 * checks between flags (flags.h). The rows write into ea_flags (cli.h's
 * CLI_FIELD). */
#include "flags.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"

static const cli_name report_names[] = { { "html", EA_REPORT_HTML }, { "markdown", EA_REPORT_MARKDOWN }, { 0 } };
static const cli_name emit_names[] = { { "results", 0 }, { "partials", 1 }, { 0 } };

#define AT(member, dv) CLI_FIELD(ea_flags, member, dv)
static const cli_opt ea_opts[] = {
    { "config", 'c', CLI_STR, AT(config, NULL), "FILE", "experiments (YAML)", 0, 0, .required = 1 },
    { "report-every", 0, CLI_COUNT_OR_DURATION, AT(report_every, "10m"), "N|DURATION",
      "emit results every N events, or every DURATION of event time (\"0\": only at the end)", 0, 1e12 },
    { "report", 0, CLI_ENUM, AT(report, NULL), "html|markdown",
      "also write a human report (rewritten at every report)", 0, 0, .names = report_names },
    { "report-file", 0, CLI_STR, AT(report_file, NULL), "PATH",
      "where --report goes (default experiment-report.html or .md)", 0, 0 },
    { "max-users", 0, CLI_INT, AT(max_users, "10000000"), "N",
      "bound on exposed users kept (memory); later new users are counted and ignored", 1, 1073741824 },
    { "dedup-window", 0, CLI_COUNT_OR_DURATION, AT(dedup_window, "100000"), "N|DURATION",
      "event_ids of the last N events that concern an experiment remembered, or of those within "
      "DURATION of event time of the newest (at most --dedup-max), to drop the copies an upstream "
      "replay sends again (24-40 bytes each; 0: off)", 0, 1e9 },
    { "dedup-max", 0, CLI_INT, AT(dedup_max, "1000000"), "N",
      "ids a --dedup-window DURATION remembers at most (past it the oldest leave early)", 1, 1e9 },
    { "emit", 0, CLI_ENUM, AT(emit_partials, "results"), "results|partials",
      "partials: per source partition and report, ExperimentPartial records for --merge "
      "(scale-out: README \"Scaling out\")", 0, 0, .names = emit_names },
    { "merge", 0, CLI_BOOL, AT(merge, NULL), NULL,
      "read ExperimentPartial records, write the ExperimentResult records one process would", 0, 0 },
    { "mergeable", 0, CLI_BOOL, AT(mergeable, NULL), NULL,
      "compute as --emit partials | --merge do (a look at each report, exact moments), in one process", 0, 0 },
    { "partition", 0, CLI_INT, AT(partition, "0"), "I",
      "--emit partials from a file or pipe: which partition of the source it is (0-based)", 0, 65535 },
    { "partitions", 0, CLI_INT, AT(partitions, "0"), "P",
      "--emit partials: how many partitions the source has (default: the Kafka topic's, or 1 for a "
      "file or pipe; given for Kafka, it must be the topic's)", 0, 65536 },
    { 0 }
};

static cli_spec ea_spec = {
    .stage = "experiment-analyzer",
    .summary = "A/B experiment analysis: Event records in, ExperimentResult records out",
    .usage = "experiment-analyzer --config FILE [FLAGS]\n"
             "       experiment-analyzer assign --config FILE [--experiment NAME] < user_ids",
    .example = "ingest < events.jsonl | experiment-analyzer --config experiments.yaml \\\n"
               "    --report html --report-file report.html --format json",
    .opts = ea_opts,
};

static const cli_opt ea_assign_opts[] = {
    { "config", 'c', CLI_STR, AT(config, NULL), "FILE", "experiments (YAML)", 0, 0, .required = 1 },
    { "experiment", 'e', CLI_STR, AT(experiment, NULL), "NAME",
      "which experiment (needed when the file has several)", 0, 0 },
    { 0 }
};
#undef AT

static cli_spec ea_assign_spec = {
    .stage = "experiment-analyzer assign",
    .summary = "print the variant of each user id read on stdin (one per line), as the analyzer assigns it:\n"
               "bucket = splitmix64_finalizer(fnv1a64(KEY \":\" user_id)) mod 10000 (KEY: the salt, else the\n"
               "experiment name); variants own consecutive bucket ranges in config order (see the README)",
    .usage = "experiment-analyzer assign --config FILE [--experiment NAME] < user_ids",
    .example = "printf 'u1\\nu2\\n' | experiment-analyzer assign --config experiments.yaml",
    .opts = ea_assign_opts,
    .no_common = 1,
};

static void ea_load_config(const cli_spec *spec, const char *path, ea_config *cfg)
{
    char err[512];
    if (ea_config_load(path, cfg, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", spec->stage, err);
        exit(2);
    }
}

void ea_assign_flags(int argc, char **argv, ea_flags *f, ea_config *cfg, const ea_experiment_cfg **exp)
{
    memset(f, 0, sizeof *f);
    ea_assign_spec.conf = f;
    cli_parse(argc, argv, &ea_assign_spec, NULL);
    ea_load_config(&ea_assign_spec, f->config, cfg);
    int x = 0;
    if (f->experiment) {
        x = ea_config_find(cfg, f->experiment, strlen(f->experiment));
        if (x < 0) {
            ea_config_free(cfg);
            cli_usage_error(&ea_assign_spec, "--experiment: no experiment \"%s\" in %s", f->experiment, f->config);
        }
    } else if (cfg->nexperiments > 1) {
        ea_config_free(cfg);
        cli_usage_error(&ea_assign_spec, "--experiment: %s defines several experiments; name one", f->config);
    }
    *exp = &cfg->experiments[x];
}

/* A usage error after the experiments were loaded: they are freed first
 * (the sanitizers' leak check runs at exit). */
#define EA_USAGE(...) do { ea_config_free(cfg); cli_usage_error(&ea_spec, __VA_ARGS__); } while (0)

void ea_flags_start(int argc, char **argv, ea_flags *f, ea_config *cfg)
{
    memset(f, 0, sizeof *f);
    f->report = -1;
    ea_spec.conf = f;
    cli_parse(argc, argv, &ea_spec, &f->common);
    ea_load_config(&ea_spec, f->config, cfg);
    int mergeable = f->mergeable || f->merge || f->emit_partials;
    const char *mode = f->merge ? "--merge" : f->emit_partials ? "--emit partials" : "--mergeable";
    if (mergeable && f->report_every.count)
        EA_USAGE("--report-every: %s needs a DURATION of event time (or 0), not a count of "
                 "events: partitions agree on times, not on counts", mode);
    const char *unmerge_exp = NULL;
    const ea_metric_cfg *unmerge = mergeable ? ea_config_unmergeable(cfg, &unmerge_exp) : NULL;
    if (unmerge) {
        /* a quantile is no function of sums: refuse rather than merge it
         * wrong (CUPED and ratio metrics merge: their pair sums) */
        fprintf(stderr, "experiment-analyzer: %s: experiment \"%s\", metric \"%s\": quantile metrics are "
                "not mergeable (--emit partials, --merge, --mergeable): a quantile needs every user's value, "
                "which partials do not carry (they carry counts and exact sums); run one process without "
                "them\n", mode, unmerge_exp, unmerge->name);
        ea_config_free(cfg);
        exit(2);
    }
    if (f->merge && f->emit_partials)
        EA_USAGE("--merge reads partials and writes results: drop --emit partials");
    if (f->emit_partials && f->report >= 0)
        EA_USAGE("--report: written by --merge, which has the results, not by --emit partials");
    if (!f->emit_partials && (cli_given(&ea_spec, "partition") || cli_given(&ea_spec, "partitions")))
        EA_USAGE("--%s: only with --emit partials (which partition of the source a file or pipe holds, and "
                 "how many it has)", cli_given(&ea_spec, "partition") ? "partition" : "partitions");
    if (f->partition > 0 && !f->partitions)
        EA_USAGE("--partition %lld: without --partitions the source is one partition (0)", (long long)f->partition);
    if (f->partition >= (f->partitions ? f->partitions : 1))
        EA_USAGE("--partition %lld: not below --partitions %lld", (long long)f->partition,
                 (long long)f->partitions);
    cli_start(&ea_spec, &f->common);
}
