/* fbcat — the record stream's cat: records to JSON lines (the default),
 * JSON lines to records (--encode TYPE), counts per type (--count), and a
 * filter by type (--type); a Kafka topic read without a group, and kcat's
 * output, through peek.c. See README.md. */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "fbcount.h"
#include "json.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "pass.h"
#include "peek.h"
#include "sdnotify.h"
#include "stream.h"

static cli_common common;
static const char *encode_type, *offset_arg;
static int count_mode, records_flag, eof_flag, meta_flag, kcat_flag;
static int64_t partition_arg;
static cli_list types;

static const cli_opt opts[] = {
    { "encode", 0, CLI_STR, &encode_type, NULL, "TYPE",
      "read JSON lines (either --json-style, or a mix) and write TYPE records (Event, Sample, Metric, ...)", 0, 0 },
    { "type", 't', CLI_LIST, &types, NULL, "TYPE,...",
      "keep only records of these types (the others are skipped)", 0, 0 },
    { "count", 'c', CLI_BOOL, &count_mode, NULL, NULL,
      "print the number of records per type instead of the records", 0, 0 },
    { "records", 'r', CLI_BOOL, &records_flag, NULL, NULL,
      "write records, not JSON (same as --format records)", 0, 0 },
    { "eof", 'e', CLI_BOOL, &eof_flag, NULL, NULL,
      "Kafka input: stop once every partition read is at its end (as kcat -e)", 0, 0 },
    { "offset", 'o', CLI_STR, &offset_arg, NULL, "WHERE",
      "Kafka input without ?group=: start at beginning (default), end, offset N, -N (N before "
      "the end) or s@MS (first message at or after MS ms since the epoch), in every partition", 0, 0 },
    { "partition", 'p', CLI_INT, &partition_arg, "-1", "N",
      "Kafka input without ?group=: read only partition N (-1: all)", -1, 2147483647.0 },
    { "meta", 'm', CLI_BOOL, &meta_flag, NULL, NULL,
      "Kafka input without ?group=: add \"_kafka\":{topic, partition, offset, key, ts_ms, ts_iso} "
      "to each JSON line", 0, 0 },
    { "kcat", 0, CLI_BOOL, &kcat_flag, NULL, NULL,
      "input is kcat -C -f '%R%s' output (each message: 4-byte big-endian length, its bytes)", 0, 0 },
    { 0 },
};

static const cli_spec spec = {
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

static int fbcat_encode(const fb_desc *d, stream_in *in, stream_out *out)
{
    json_doc doc;
    json_doc_init(&doc);
    arena a;
    arena_init(&a, 0);
    AnyRecord rec;
    stream_line l;
    char err[256];
    int rc;
    size_t max_line = common.max_record > 0 ? (size_t)common.max_record : 16u << 20;
    while ((rc = stream_in_next_line(in, &l, max_line)) > 0) {
        size_t k = 0;
        while (k < l.len && (l.ptr[k] == ' ' || l.ptr[k] == '\t'))
            k++;
        if (k == l.len)
            continue;   /* blank line */
        if (l.too_long) {
            stream_reject(in, &l.pos, "too_long", "line longer than --max-record", l.ptr, l.len);
            continue;
        }
        if (json_parse(&doc, l.ptr, l.len) < 0) {
            char msg[220];
            snprintf(msg, sizeof msg, "column %zu: %s", doc.err_offset + 1, doc.err);
            stream_reject(in, &l.pos, "bad_json", msg, l.ptr, l.len);
            continue;
        }
        arena_reset(&a);
        if (fb_from_json(d, &doc, json_root(&doc), &rec, &a, err, sizeof err) < 0) {
            stream_reject(in, &l.pos, "bad_record", err, l.ptr, l.len);
            continue;
        }
        if (stream_write(out, d, &rec, NULL, 0) < 0) {
            rc = -1;
            break;
        }
        if (stream_sync_due(in) && stream_sync(in, out) < 0) {
            rc = -1;
            break;
        }
        sd_watchdog_tick();
    }
    arena_free(&a);
    json_doc_free(&doc);
    return rc;
}

static int fbcat_decode(stream_in *in, stream_out *out, fbcount *fc)
{
    stream_rec r;
    int rc;
    while ((rc = stream_in_next(in, &r)) > 0) {
        if (!fbcount_wanted(fc, r.type))
            continue;
        if (count_mode)
            fbcount_add(fc, r.type);
        else if (stream_write_rec(out, &r) < 0)
            return -1;
        if (stream_sync_due(in) && stream_sync(in, out) < 0)
            return -1;
        sd_watchdog_tick();
    }
    return rc;
}

int main(int argc, char **argv)
{
    int first = cli_parse(argc, argv, &spec, &common);
    /* --format's default is "records" for every stage, but fbcat's natural
     * output is JSON: only an explicit --format records (or --records) asks for records */
    int explicit_format = cli_given(&spec, "format");
    if (first < argc)
        cli_usage_error(&spec, "unexpected argument '%s'", argv[first]);
    if (records_flag && explicit_format && strcmp(common.format, "records"))
        cli_usage_error(&spec, "--records: contradicts --format %s", common.format);
    /* decoding prints JSON unless records were asked for; encoding writes
     * records unless JSON was asked for */
    if (!encode_type && !explicit_format && !records_flag)
        common.format = "json";
    if (records_flag)
        common.format = "records";

    const fb_desc *enc = NULL;
    if (encode_type) {
        enc = fb_desc_by_name(encode_type);
        if (!enc || !fb_desc_ident(enc))
            cli_usage_error(&spec, "--encode: '%s' is not a record type (%s)", encode_type,
                            fbcount_type_list());
        if (count_mode || types.n)
            cli_usage_error(&spec, "--encode: cannot be combined with --count or --type");
    }
    fbcount fc;
    char err[256];
    if (fbcount_init(&fc, types.items, types.n, err, sizeof err) < 0)
        cli_usage_error(&spec, "--type: %s", err);

    /* a Kafka topic without ?group=, or kcat's output: peek.c */
    fbcat_peek_conf pc = { .common = &common, .count_mode = count_mode, .meta = meta_flag,
                           .partition = (int32_t)partition_arg, .stop_at_eof = eof_flag };
    char brokers[512], topic[256], group[256], in_uri[1024];
    int peek = 0;
    if (!strncmp(common.in, "kafka://", 8)) {
        int uri_eof = 0;
        if (kafka_uri_parse(common.in, brokers, sizeof brokers, topic, sizeof topic, group, sizeof group,
                            &uri_eof, err, sizeof err) < 0)
            cli_usage_error(&spec, "--in %s: %s", common.in, err);
        peek = !group[0];
        pc.stop_at_eof |= uri_eof;
        if (!peek && eof_flag && !uri_eof) {   /* the group member's own spelling of -e */
            snprintf(in_uri, sizeof in_uri, "%s&eof=1", common.in);
            common.in = in_uri;
        }
    }
    if (!peek && (offset_arg || partition_arg >= 0 || meta_flag))
        cli_usage_error(&spec, "%s: only for --in kafka://HOST:PORT/TOPIC without ?group=",
                        offset_arg ? "-o/--offset" : partition_arg >= 0 ? "-p/--partition" : "-m/--meta");
    if (eof_flag && !peek && strncmp(common.in, "kafka://", 8))
        cli_usage_error(&spec, "-e/--eof: only for Kafka input (a file or pipe ends by itself)");
    if ((peek || kcat_flag) && enc)
        cli_usage_error(&spec, "--encode: reads JSON lines, not %s", peek ? "a Kafka topic" : "kcat's output");
    if (peek && kcat_flag)
        cli_usage_error(&spec, "--kcat: reads kcat's output from a file or stdin, not --in kafka://");
    pc.start.from = KAFKA_PEEK_BEGINNING;
    if (offset_arg && kafka_peek_parse_start(offset_arg, &pc.start, err, sizeof err) < 0)
        cli_usage_error(&spec, "-o/--offset: %s", err);
    if (peek) {
        if (kafka_conf_check(&common.kafka_conf, err, sizeof err) < 0)
            cli_usage_error(&spec, "%s", err);
        pc.brokers = brokers;
        pc.topic = topic;
    }
    cli_start(&spec, &common);
    if (peek && common.connect_timeout > 0) {   /* as stream.c does for every Kafka URI */
        int rr = kafka_reachable(brokers, &common.kafka_conf, common.connect_timeout / 1000, err, sizeof err);
        if (rr == KAFKA_UNRESOLVED)
            cli_die(2, "--in %s: %s", common.in, err);
        if (rr)
            cli_die(1, "--in %s: no Kafka broker answered within --connect-timeout: %s", common.in, err);
    }
    if (peek || kcat_flag) {
        stream_out *out = stream_out_open(common.out, &common);
        if (!out)
            return 1;
        int rc = peek ? fbcat_peek_kafka(&pc, &fc, out) : fbcat_peek_kcat(&pc, &fc, out);
        if (count_mode && fbcount_print(&fc, out, explicit_format && !strcmp(common.format, "json")) < 0)
            rc = -1;
        if (rc >= 0 && stream_flush(out) < 0)
            rc = -1;
        sd_stopping();
        int orc = stream_out_close(out);
        return rc < 0 || orc < 0 ? 1 : 0;
    }

    if (fbcat_pass_applies(&common, enc != NULL, count_mode, types.n))
        return fbcat_pass(&common);
    stream_in *in = stream_in_open(common.in, &common);
    if (!in)
        return 1;
    stream_out *out = stream_out_open(common.out, &common);
    if (!out) {
        stream_in_close(in);
        return 1;
    }
    /* Counting, or copying records between byte streams, never looks inside
     * a record: verify each one (same checks, same rejects), skip decoding. */
    if (!enc && (count_mode || (!strcmp(common.format, "records") && !stream_in_is_kafka(in) &&
                                strncmp(common.out, "kafka://", 8) != 0)))
        stream_in_set_verify_only(in, 1);
    sd_ready();
    int rc = enc ? fbcat_encode(enc, in, out) : fbcat_decode(in, out, &fc);
    /* a stream that ends in an error still gets the counts of what was read
     * before it (the error is logged and the exit status is 1) */
    if (count_mode && fbcount_print(&fc, out, explicit_format && !strcmp(common.format, "json")) < 0)
        rc = -1;
    if (rc >= 0 && stream_sync(in, out) < 0)
        rc = -1;
    sd_stopping();
    stream_in_close(in);
    int orc = stream_out_close(out);
    return rc < 0 || orc < 0 ? 1 : 0;
}
