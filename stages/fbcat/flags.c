/* flags.c — fbcat's flag table and the mode built from it (flags.h). */
#include "flags.h"
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "kafka.h"

/* --encode, each --type: a record type of the schemas' generated list (a
 * root type: one with a file identifier), by its name or full name */
static int type_check(const char *v, char *why, size_t n)
{
    const fbrec_desc *d = fbrec_desc_by_name(v);
    if (d && fbrec_desc_ident(d)) return 0;
    int nroots;
    const fbrec_desc *const *roots = fbrec_root_descs(&nroots);
    const char *cands[64];
    int nc = 0;
    for (int i = 0; i < nroots && nc < 64; i++) cands[nc++] = fbrec_desc_name(roots[i]);
    const char *like = cli_suggest(v, cands, nc);
    snprintf(why, n, "'%s' is not a record type (%s)%s%s%s", v, fbcount_type_list(), like ? " (did you mean " : "",
             like ? like : "", like ? "?)" : "");
    return -1;
}

#define AT(member, dv) CLI_FIELD(fbcat_flags, member, dv)
static const cli_opt opts[] = {
    { "encode", 0, CLI_STR, AT(encode_type, NULL), "TYPE",
      "read JSON lines (either --json-style, or a mix) and write TYPE records (Event, Sample, Metric, ...)", 0, 0,
      .check = type_check },
    { "type", 't', CLI_LIST, AT(types, NULL), "TYPE,...",
      "keep only records of these types (the others are skipped)", 0, 0, .check = type_check },
    { "count", 'c', CLI_BOOL, AT(count, NULL), NULL,
      "print the number of records per type instead of the records", 0, 0 },
    { "records", 'r', CLI_BOOL, AT(records, NULL), NULL,
      "write records, not JSON (same as --format records)", 0, 0 },
    { "eof", 'e', CLI_BOOL, AT(eof, NULL), NULL,
      "Kafka input: stop once every partition read is at its end (as kcat -e)", 0, 0 },
    { "offset", 'o', CLI_STR, AT(offset, NULL), "WHERE",
      "Kafka input without ?group=: start at beginning (default), end, offset N, -N (N before "
      "the end) or s@MS (first message at or after MS ms since the epoch), in every partition", 0, 0 },
    { "partition", 'p', CLI_INT, AT(partition, "-1"), "N",
      "Kafka input without ?group=: read only partition N (-1: all)", -1, 2147483647.0 },
    { "meta", 'm', CLI_BOOL, AT(meta, NULL), NULL,
      "Kafka input without ?group=: add \"_kafka\":{topic, partition, offset, key, ts_ms, ts_iso} "
      "to each JSON line", 0, 0 },
    { "kcat", 0, CLI_BOOL, AT(kcat, NULL), NULL,
      "input is kcat -C -f '%R%s' output (each message: 4-byte big-endian length, its bytes)", 0, 0 },
    { 0 },
};
#undef AT

static cli_spec spec = {
    .stage = "fbcat",
    .summary = "print a record stream as JSON lines, encode JSON lines into records, count or filter by "
               "type; --in kafka://HOST:PORT/TOPIC reads a topic with no consumer group (partitions "
               "assigned directly, nothing committed: a peek), from the beginning unless -o, until "
               "stopped or, with -e, to the end; with ?group=G it is a group member like every stage",
    .usage = "fbcat [FLAGS]\n"
             "fbcat --in kafka://HOST:PORT/TOPIC [-o WHERE] [-p N] [-e] [-m] [FLAGS]\n"
             "kcat -C -b HOST:PORT -t TOPIC -e -f '%R%s' | fbcat --kcat [FLAGS]",
    .example = "fbcat < events.rec | head -3\n"
               "  fbcat --in kafka://localhost:9092/events -e -m | jq '{p: ._kafka.partition, user_id}'\n"
               "  fbcat --in kafka://localhost:9092/metrics -o -10 -p 0 -e   # the last 10 of partition 0\n"
               "  kcat -C -b localhost:9092 -t events -e -f '%R%s' | fbcat --kcat\n"
               "  fbcat --type Metric --records < mixed.rec > metrics.rec\n"
               "  echo '{\"ts\":1,\"name\":\"cpu_usage\",\"value\":0.5}' | fbcat --encode Sample > s.rec\n"
               "  fbcat --count < events.rec",
    .opts = opts,
    .kafka_in_groupless = 1,
};

/* --in kafka://: a peek without ?group=, or a group member (which spells -e
 * as &eof=1); the checks of the peek-only flags */
static void fbcat_kafka_in(fbcat_flags *f)
{
    cli_common *c = &f->common;
    char err[256], group[256];
    if (!strncmp(c->in, "kafka://", 8)) {
        int uri_eof = 0;
        if (kafka_uri_parse(c->in, f->brokers, sizeof f->brokers, f->topic, sizeof f->topic, group, sizeof group,
                            &uri_eof, err, sizeof err) < 0)
            cli_usage_error(&spec, "--in %s: %s", c->in, err);
        f->peek = !group[0];
        f->pc.stop_at_eof |= uri_eof;
        if (!f->peek && f->eof && !uri_eof) {   /* the group member's own spelling of -e */
            snprintf(f->in_uri, sizeof f->in_uri, "%s&eof=1", c->in);
            c->in = f->in_uri;
        }
    }
    if (!f->peek && (f->offset || f->partition >= 0 || f->meta))
        cli_usage_error(&spec, "%s: only for --in kafka://HOST:PORT/TOPIC without ?group=",
                        f->offset ? "-o/--offset" : f->partition >= 0 ? "-p/--partition" : "-m/--meta");
    if (f->eof && !f->peek && strncmp(c->in, "kafka://", 8))
        cli_usage_error(&spec, "-e/--eof: only for Kafka input (a file or pipe ends by itself)");
    if ((f->peek || f->kcat) && f->encode)
        cli_usage_error(&spec, "--encode: reads JSON lines, not %s", f->peek ? "a Kafka topic" : "kcat's output");
    if (f->peek && f->kcat)
        cli_usage_error(&spec, "--kcat: reads kcat's output from a file or stdin, not --in kafka://");
    f->pc.start.from = KAFKA_PEEK_BEGINNING;
    if (f->offset && kafka_peek_parse_start(f->offset, &f->pc.start, err, sizeof err) < 0)
        cli_usage_error(&spec, "-o/--offset: %s", err);
    if (f->peek) {
        if (kafka_conf_check(&c->kafka_conf, err, sizeof err) < 0)
            cli_usage_error(&spec, "%s", err);
        f->pc.brokers = f->brokers;
        f->pc.topic = f->topic;
    }
}

void fbcat_flags_start(int argc, char **argv, fbcat_flags *f)
{
    spec.conf = f;   /* where the table's rows write */
    cli_common *c = &f->common;
    int first = cli_parse(argc, argv, &spec, c);
    /* --format's default is "records" for every stage, but fbcat's natural
     * output is JSON: only an explicit --format records (or --records) asks for records */
    int explicit_format = cli_given(&spec, "format");
    if (first < argc)
        cli_usage_error(&spec, "unexpected argument '%s'", argv[first]);
    if (f->records && explicit_format && strcmp(c->format, "records"))
        cli_usage_error(&spec, "--records: contradicts --format %s", c->format);
    /* decoding prints JSON unless records were asked for; encoding writes
     * records unless JSON was asked for */
    if (!f->encode_type && !explicit_format && !f->records)
        c->format = "json";
    if (f->records)
        c->format = "records";
    f->json_counts = explicit_format && !strcmp(c->format, "json");

    if (f->encode_type) {
        f->encode = fbrec_desc_by_name(f->encode_type);   /* a record type: type_check */
        if (f->count || f->types.n)
            cli_usage_error(&spec, "--encode: cannot be combined with --count or --type");
    }
    char err[256];
    if (fbcount_init(&f->fc, f->types.items, f->types.n, err, sizeof err) < 0)
        cli_usage_error(&spec, "--type: %s", err);

    f->pc = (fbcat_peek_conf){ .common = c, .count_mode = f->count, .meta = f->meta,
                               .partition = (int32_t)f->partition, .stop_at_eof = f->eof };
    fbcat_kafka_in(f);
    if (cli_given(&spec, "state"))
        cli_usage_error(&spec, "--state: fbcat keeps no state (it reads and writes one record at a time)");
    cli_start(&spec, c);
}
