/* fbcat — the record stream's cat: records to JSON lines (the default),
 * JSON lines to records (--encode TYPE), counts per type (--count), and a
 * filter by type (--type). See README.md. */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "fbcount.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "sdnotify.h"
#include "stream.h"

static cli_common common;
static const char *encode_type;
static int count_mode, records_flag;
static cli_list types;

static const cli_opt opts[] = {
    { "encode", 'e', CLI_STR, &encode_type, NULL, "TYPE",
      "read JSON lines (schema field names) and write TYPE records (Event, Sample, Metric, ...)", 0, 0 },
    { "type", 't', CLI_LIST, &types, NULL, "TYPE,...",
      "keep only records of these types (the others are skipped)", 0, 0 },
    { "count", 'c', CLI_BOOL, &count_mode, NULL, NULL,
      "print the number of records per type instead of the records", 0, 0 },
    { "records", 'r', CLI_BOOL, &records_flag, NULL, NULL,
      "write records, not JSON (same as --format records)", 0, 0 },
    { 0 },
};

static const cli_spec spec = {
    .stage = "fbcat",
    .summary = "print a record stream as JSON lines, encode JSON lines into records, count or filter by type",
    .usage = "fbcat [FLAGS]",
    .example = "fbcat < events.rec | head -3\n"
               "  fbcat --type Metric --records < mixed.rec > metrics.rec\n"
               "  echo '{\"ts\":1,\"name\":\"cpu_usage\",\"value\":0.5}' | fbcat --encode Sample > s.rec\n"
               "  fbcat --count < events.rec",
    .opts = opts,
};

/* Did the command line say --format explicitly? Its default is "records"
 * for every stage, but fbcat's natural output is JSON, so only an explicit
 * --format records (or --records) asks for records. */
static int fbcat_format_given(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--format") || !strncmp(argv[i], "--format=", 9))
            return 1;
    }
    return 0;
}

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
    int explicit_format = fbcat_format_given(argc, argv);
    int first = cli_parse(argc, argv, &spec, &common);
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
    cli_start(&spec, &common);

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
