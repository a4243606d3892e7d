/* clicommon.c — the flags every stage shares (--in, --out, --format,
 * --state, --dead-letter, --max-record, -X, ...; schemas/README.md "What
 * every stage shares"): their table, the checks of their values before
 * anything is opened, and cli_start, which brings up logging, metrics,
 * sd_notify and signals from them. A file of its own because it is the
 * stages' common contract, not the parser: cli.c parses any table, this
 * file is one table and what follows from it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "cli_int.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "sdnotify.h"
#include "sig.h"
#include "stream.h"

void cli_common_free(cli_common *c)
{
    if (c) cli_list_free(&c->kafka_conf);
}

void cli_build_common(cli_ctx *cx)
{
    cli_common *c = cx->common;
    cli_opt *o = cx->copts;
    int n = 0;
#define COPT(nm, sh, ty, tgt, dv, mv, hp, mn, mx) \
    o[n++] = (cli_opt){ .name = nm, .short_name = sh, .type = ty, .target = tgt, \
                        .defval = dv, .metavar = mv, .help = hp, .min = mn, .max = mx }
    COPT("in", 0, CLI_STR, &c->in, "-", "URI",
         "read from: - (stdin), a file (zstd detected), kafka://HOST:PORT/TOPIC?group=G", 0, 0);
    COPT("out", 0, CLI_STR, &c->out, "-", "URI",
         "write to: - (stdout), a file (.zst compresses), kafka://HOST:PORT/TOPIC", 0, 0);
    COPT("format", 0, CLI_STR, &c->format, "records", "records|json",
         "output records, or JSON lines (for people and jq); without --format, "
         "a terminal on stdout gets JSON lines", 0, 0);
    static const cli_name formats[] = { { "records", 0 }, { "json", 1 }, { 0 } };
    o[n - 1].names = formats;
    COPT("json-style", 0, CLI_STR, &c->json_style, "jq", "jq|flatc",
         "JSON with every field, labels as an object, quantiles as p50/p95/..., times also "
         "as NAME_iso (jq); or exactly what flatc --json prints (flatc)", 0, 0);
    static const cli_name json_styles[] = { { "jq", 0 }, { "flatc", 1 }, { 0 } };
    o[n - 1].names = json_styles;
    COPT("compress", 0, CLI_STR, &c->compress, NULL, "zstd[:LEVEL]",
         "compress the output (LEVEL 1..22; a .zst path compresses too)", 0, 0);
    COPT("state", 0, CLI_STR, &c->state, NULL, "PATH.db",
         "state database (SQLite, WAL); with Kafka input it keeps the offsets too", 0, 0);
    COPT("dead-letter", 0, CLI_STR, &c->dead_letter, NULL, "URI",
         "write refused input here as JSON lines {pos, error, raw}", 0, 0);
    COPT("strict", 0, CLI_BOOL, &c->strict, NULL, NULL,
         "the first bad record is fatal (exit 1)", 0, 0);
    COPT("log-level", 0, CLI_STR, &c->log_level, "info", "LEVEL",
         "debug, info, warn or error (JSON lines on stderr)", 0, 0);
    COPT("metrics-file", 0, CLI_STR, &c->metrics_file, NULL, "PATH",
         "Prometheus text file, rewritten atomically every 5 s and at exit", 0, 0);
    COPT("max-record", 0, CLI_SIZE, &c->max_record, "16M", "SIZE",
         "largest record (or line) accepted", 64, 1024.0 * 1024 * 1024);
    COPT("connect-timeout", 0, CLI_DURATION, &c->connect_timeout, "10s", "DURATION",
         "at start, how long Kafka or Redis may not answer before the stage "
         "gives up (exit 1; 2 at once for a name that resolves nowhere); once "
         "running, outages are retried", 1000, 3600e6);
    COPT("idle-timeout", 0, CLI_DURATION, &c->idle_timeout, "10s", "DURATION",
         "Kafka input: a partition with nothing unread for this long stops holding the "
         "event-time watermark back (it is the minimum over the partitions owned)", 0, 0);
    COPT("kafka-conf", 'X', CLI_LIST, &c->kafka_conf, NULL, "KEY=VALUE",
         "librdkafka property, repeatable (e.g. -X security.protocol=ssl)", 0, 0);
#undef COPT
    /* a stage flag of the same name replaces the shared one (its own
     * default, help and target): fbcat prints JSON unless told otherwise */
    int k = 0;
    for (int i = 0; i < n; i++) {
        int shadowed = 0;
        for (int j = 0; j < cx->nstage && !shadowed; j++)
            shadowed = !strcmp(cx->spec->opts[j].name, o[i].name);
        if (!shadowed) o[k++] = o[i];
    }
    cx->ncopts = k;
}

void cli_validate_common(const cli_spec *spec, const cli_common *c)
{
    if (!c) return;
    if (!c->in || !*c->in) cli_usage_error(spec, "--in: empty URI (use - for stdin)");
    if (!c->out || !*c->out) cli_usage_error(spec, "--out: empty URI (use - for stdout)");
    if (c->compress && strcmp(c->compress, "none")) {
        const char *z = c->compress;
        if (strncmp(z, "zstd", 4) || (z[4] && z[4] != ':'))
            cli_usage_error(spec, "--compress: '%s' is not zstd or zstd:LEVEL", z);
        if (z[4] == ':') {
            char *end;
            long lv = strtol(z + 5, &end, 10);
            if (!z[5] || *end || lv < 1 || lv > 22)
                cli_usage_error(spec, "--compress: level '%s' is not in 1..22", z + 5);
        }
    }
    /* an input file that is not there (or not readable) is a usage mistake:
     * said plainly, as cat would, without opening it (a FIFO would block) */
    if (strcmp(c->in, "-") && strncmp(c->in, "kafka://", 8)) {
        struct stat st;
        int e = stat(c->in, &st) ? errno : S_ISDIR(st.st_mode) ? EISDIR : access(c->in, R_OK) ? errno : 0;
        if (e) {
            fprintf(stderr, "%s: %s: %s\n", cli_stage(spec), c->in, strerror(e));
            fflush(stderr);
            exit(2);
        }
    }
    /* URIs and -X are configuration: a mistake there is a usage error
     * (exit 2) before anything is opened, not a runtime failure */
    char err[512];
    const char *uris[] = { c->in, c->out, c->dead_letter };
    const char *names[] = { "--in", "--out", "--dead-letter" };
    for (int i = 0; i < 3; i++) {
        if (!uris[i]) continue;
        if (stream_uri_check(uris[i], err, sizeof err))
            cli_usage_error(spec, "%s: %s", names[i], err);
    }
    if (!strncmp(c->in, "kafka://", 8)) {
        char brokers[512], topic[256], group[256];
        int eof;
        if (kafka_uri_parse(c->in, brokers, sizeof brokers, topic, sizeof topic, group,
                            sizeof group, &eof, err, sizeof err) == 0 && !group[0] &&
            !spec->kafka_in_groupless)
            cli_usage_error(spec, "--in: %s: Kafka input needs a consumer group (?group=NAME)", c->in);
    }
    if (kafka_conf_check(&c->kafka_conf, err, sizeof err))
        cli_usage_error(spec, "%s", err);
    log_level lv;
    if (log_parse_level(c->log_level, &lv) < 0)
        cli_usage_error(spec, "--log-level: '%s' is not debug, info, warn or error",
                        c->log_level ? c->log_level : "");
}

static void cli_atexit_metrics(void) { metrics_shutdown(); }

void cli_start(const cli_spec *spec, const cli_common *common)
{
    static int started;
    const char *stage = cli_stage(spec);
    cli_validate_common(spec, spec->no_common ? NULL : common);
    const cli_common *c = spec->no_common ? NULL : common;
    log_init(stage, c ? c->log_level : NULL);
    sd_init();          /* read NOTIFY_SOCKET before threads exist */
    metrics_init(stage, c ? c->metrics_file : NULL, 5000);
    sig_install();
    if (!started) {
        started = 1;
        atexit(cli_atexit_metrics);
    }
}
