/* flags.c — the alerter's flag table, its rules files and --check
 * (flags.h). */
#include "flags.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static al_flags fl;

#define AT(member, dv) CLI_FIELD(al_flags, member, dv)

static const cli_opt al_opts[] = {
    { "rules", 'r', CLI_LIST, AT(rules, NULL), "FILE",
      "alert rules (YAML), repeatable: Prometheus rule files (groups:) and at most one file in "
      "the alerter's own format (rules:); stages/alerter/rules.default*.yaml have the usual ones", 0, 0,
      .required = 1 },
    { "check", 0, CLI_BOOL, AT(check, NULL), NULL,
      "validate the rules file, print a summary and exit (0 valid, 2 not)", 0, 0 },
    { "max-alerts", 0, CLI_INT, AT(max_alerts, "100000"), "N",
      "alerts held at once (pending + firing); past it new alerts are refused (counted)", 1, 1e9 },
    { "notify-retries", 0, CLI_INT, AT(retries, "3"), "N",
      "exec:/webhook: retries after a failed attempt, then the payload is dead-lettered", 0, 20 },
    { "retry-backoff", 0, CLI_DURATION, AT(backoff, "500ms"), "DURATION",
      "first retry delay; doubles per retry (with jitter) up to --retry-backoff-max", 1000, 6e8 },
    { "retry-backoff-max", 0, CLI_DURATION, AT(backoff_max, "30s"), "DURATION",
      "longest retry delay", 1000, 36e8 },
    { "exec-timeout", 0, CLI_DURATION, AT(exec_timeout, "10s"), "DURATION",
      "an exec: command running longer is killed (a failed attempt)", 1000, 36e8 },
    { "webhook-timeout", 0, CLI_DURATION, AT(webhook_timeout, "5s"), "DURATION",
      "a webhook: POST taking longer fails (a failed attempt)", 1000, 36e8 },
    { "max-batch", 0, CLI_INT, AT(max_batch, "100"), "N",
      "alerts in one exec:/webhook: payload; a fuller group is sent at once", 1, 100000 },
    { "changelog", 0, CLI_STR, AT(changelog, NULL), "kafka://HOST:PORT/TOPIC",
      "Kafka input in a group: write each alert (pending, firing; a tombstone when it resolves) to this "
      "compacted topic (as many partitions as the input) and read it back when its partition is assigned, "
      "so an alert follows its series' partition; --state still keeps acks and silences", 0, 0 },
    { "crash-after", 0, CLI_INT, AT(crash_after, "0"), "N",
      "testing: kill -9 itself after N input records (0: never)", 0, 1e15 },
    { 0 }
};
#undef AT

static const cli_spec al_spec = {
    .stage = "alerter",
    .summary = "alert rules on Metric, Drift and ExperimentResult records: Alert records, exec: and webhook: notifications",
    .usage = "alerter --rules FILE [FLAGS]\n"
             "       alerter ack FINGERPRINT --state DB      (alerter ack --help)\n"
             "       alerter silence --state DB [--rule NAME] [--label K=V]... --starts TIME --ends TIME",
    .example = "aggregate < samples.rec | alerter --rules stages/alerter/rules.default.yaml --format json",
    .opts = al_opts,
    .conf = &fl,
};

const al_flags *al_flags_start(int argc, char **argv, al_config *cfg)
{
    int first = cli_parse(argc, argv, &al_spec, &fl.common);
    if (first < argc) cli_usage_error(&al_spec, "unexpected argument '%s'", argv[first]);
    char err[600];
    if (al_config_load_files(fl.rules.items, fl.rules.n, cfg, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", al_spec.stage, err);
        exit(2);
    }
    const char *in = fl.common.in ? fl.common.in : "-";
    if (fl.changelog && strncmp(fl.changelog, "kafka://", 8))
        cli_usage_error(&al_spec, "--changelog %s: not a kafka:// URI", fl.changelog);
    if (fl.changelog && strncmp(in, "kafka://", 8))
        cli_usage_error(&al_spec, "--changelog needs a Kafka --in (a consumer group whose partitions it follows)");
    if (fl.backoff_max < fl.backoff) cli_usage_error(&al_spec, "--retry-backoff-max is below --retry-backoff");
    if (fl.check) {
        for (int i = 0; i < fl.rules.n; i++) printf("%s%s", i ? ", " : "", fl.rules.items[i]);
        printf(": %d rules, %d silences, %d inhibit rules: ok\n", cfg->nrules, cfg->nsilences, cfg->ninhibit);
        al_config_free(cfg);
        al_flags_free();
        exit(0);
    }
    cli_start(&al_spec, &fl.common);
    return &fl;
}

void al_flags_free(void)
{
    cli_list_free(&fl.rules);
}
