/* ingest — JSON lines or CSV from stdin, files (.zst) or Kafka into Event and
 * Sample records; refusals go to --dead-letter with a reason (ingest.h). */
#define _GNU_SOURCE   /* sched_getaffinity, CPU_COUNT */
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "sizes.h"
#include "par.h"
#include "sdnotify.h"
#include "sig.h"
#include "stream.h"
#include "timefmt.h"

static cli_common common;
static const char *rate_limit, *event_type;
static int in_csv, rate_arrival;
static const cli_name in_format_names[] = { { "json", 0 }, { "csv", 1 }, { 0 } };
static const cli_name rate_clock_names[] = { { "event", 0 }, { "arrival", 1 }, { 0 } };
static int64_t max_line, max_string, max_attrs, max_skew, dedup_max, rate_users, threads, crash_after;
static int64_t max_partition_skew;
static cli_count_or_duration dedup_window;
static double rate_burst;
static cli_list maps;

static const cli_opt opts[] = {
    { "in-format", 0, CLI_ENUM, &in_csv, "json", NULL, "input format: JSON lines, or CSV with a header", 0, 0,
      .names = in_format_names },
    { "map", 0, CLI_LIST, &maps, NULL, "FIELD=COLUMN,...", "CSV: take a record field from a column (e.g. user_id=userId)", 0, 0 },
    { "event-type", 0, CLI_STR, &event_type, NULL, "NAME", "CSV: event_type of every row (when no column gives it)", 0, 0 },
    { "max-line", 0, CLI_SIZE, &max_line, "1M", "SIZE", "longer lines are refused (line_too_long)", 16, 1 << 30 },
    { "max-string", 0, CLI_SIZE, &max_string, "1k", "SIZE", "longest string value or key (too_long)", 8, STREAMREC_MAX_STRING },
    { "max-attrs", 0, CLI_INT, &max_attrs, "64", "N", "attrs/labels per record at most (too_long)", 1, STREAMREC_MAX_ATTRS },
    { "max-skew", 0, CLI_DURATION, &max_skew, "1d", "DURATION", "how far ts may lie in the future (implausible_timestamp)", 0, 0 },
    { "max-partition-skew", 0, CLI_DURATION, &max_partition_skew, "2s", "DURATION",
      "Kafka input: a partition more than this ahead in event time of the slowest one is not read "
      "until it catches up, so a backlog's output goes back at most this much plus the input's own "
      "disorder (0: off)", 0, 0 },
    { "dedup-window", 0, CLI_COUNT_OR_DURATION, &dedup_window, "100000", "N|DURATION",
      "duplicates dropped among the last N event_ids (24-40 bytes each; 0: off), or among those "
      "of the last DURATION of event time (at most --dedup-max ids, 32-48 bytes each)", 0, 1e9 },
    { "dedup-max", 0, CLI_INT, &dedup_max, "1000000", "N",
      "ids a --dedup-window DURATION remembers at most (past it the oldest leave early, counted)", 1, 1e9 },
    { "rate-limit", 0, CLI_STR, &rate_limit, NULL, "N/s", "per-user events per second (or N/m, N/h) of event time; excess: rate_limited", 0, 0 },
    { "rate-burst", 0, CLI_DOUBLE, &rate_burst, "0", "N", "token bucket size (0: one second's worth)", 0, 1e9 },
    { "rate-clock", 0, CLI_ENUM, &rate_arrival, "event", NULL,
      "rate-limit buckets refill with the events' ts (replays decide alike) or arrival time (forged ts earn nothing)", 0, 0,
      .names = rate_clock_names },
    { "rate-limit-users", 0, CLI_INT, &rate_users, "100000", "N", "users tracked by the rate limiter (24 bytes each)", 16, 1e8 },
    { "threads", 0, CLI_INT, &threads, "0", "N",
      "parser threads for JSON lines from stdin or files (0: auto, 2 with 2+ CPUs; 1: no threads); "
      "same output, dead letters and metrics as 1", 0, 64 },
    { "crash-after", 0, CLI_INT, &crash_after, "0", "N",
      "testing: after N input lines deliver the output, commit nothing, and kill -9 itself "
      "(the worst case of at least once; 0: never)", 0, 1e15 },
    { 0 },
};

static const cli_spec spec = {
    .stage = "ingest",
    .summary = "JSON lines or CSV into Event and Sample records, strict, counted, deduplicated",
    .usage = "ingest [FLAGS]",
    .example = "ingest --in events.jsonl --dead-letter bad.jsonl > events.rec\n"
               "ingest --in ratings.csv.zst --in-format csv --event-type rating \\\n"
               "       --map user_id=userId,item_id=movieId,value=rating,ts=timestamp > ratings.rec",
    .opts = opts,
};

/* Where the sequential loop's records go, and the line they come from. */
typedef struct emit_ctx {
    stream_out *out;
    stream_in *in;
    const stream_pos *pos;      /* the line's, when its time is noted (Kafka with --max-partition-skew) */
} emit_ctx;

static int emit(void *ctx, const fb_desc *d, const void *rec, const void *key, size_t keylen)
{
    emit_ctx *e = ctx;
    int64_t ts = d == &Event_desc ? ((const Event *)rec)->ts : d == &Sample_desc ? ((const Sample *)rec)->ts : 0;
    /* its input is text: the freshness gauge follows what it writes (metrics.h) */
    if (ts) metrics_note_event_time(ts);
    /* an input partition's event time is known only once its line is
     * parsed: noted per partition, it decides which partition is read next */
    if (ts && e->pos) stream_in_note_time(e->in, e->pos, ts);
    return stream_write(e->out, d, rec, key, keylen);
}

/* A quiet Kafka input: what was read is delivered and committed now, not
 * when the next line comes. Else a rebalance meanwhile (its own commit can
 * be refused: "rebalance in progress") hands the partitions on at the last
 * commit, and their new owner writes again, late, what this one wrote. */
static uint64_t quiet_synced;
static void quiet_tick(void *ctx)
{
    ingest_run *r = ctx;
    if (r->failed || stream_in_count(r->in) == quiet_synced) return;
    if (stream_sync(r->in, r->out)) { r->failed = 1; sig_request_stop(); return; }
    quiet_synced = stream_in_count(r->in);
}

/* "100/s", "6000/m", "5/h", "20": events per second. */
static double parse_rate(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v > 0) || !isfinite(v)) return -1;
    if (!*end || !strcmp(end, "/s")) return v;
    if (!strcmp(end, "/m") || !strcmp(end, "/min")) return v / 60;
    if (!strcmp(end, "/h")) return v / 3600;
    return -1;
}

int main(int argc, char **argv)
{
    int first = cli_parse(argc, argv, &spec, &common);
    if (first < argc) cli_usage_error(&spec, "unexpected argument '%s'", argv[first]);
    /* Nothing ingest could store would make its output exactly once (what it
     * wrote after its last commit is written again after a crash, whatever
     * it saved before): the copies die downstream, by event_id (README). */
    if (common.state)
        cli_usage_error(&spec, "--state: ingest keeps no state: its output is at least once whatever it "
                        "would store, and aggregate and experiment-analyzer drop the copies a restart "
                        "writes again by event_id; remove --state");
    ingest_conf c = {
        .max_line = (size_t)max_line, .max_string = (size_t)max_string, .max_attrs = (uint32_t)max_attrs,
        .max_skew_us = max_skew, .rate_users = (uint32_t)rate_users,
        .dedup_window = (uint64_t)(dedup_window.us ? dedup_max : dedup_window.count),
        .dedup_span_us = dedup_window.us,
        .event_type = event_type, .max_record = common.max_record > (int64_t)STREAMREC_DERIVED_ROOM * 2
                          ? (size_t)common.max_record - STREAMREC_DERIVED_ROOM : (size_t)common.max_record / 2,
    };
    char err[320];
    c.csv = in_csv;
    for (int i = 0; i < maps.n; i++)
        if (ingest_map_add(&c, maps.items[i], err, sizeof err)) cli_usage_error(&spec, "--map: %s", err);
    if ((maps.n || event_type) && !c.csv) cli_usage_error(&spec, "--map and --event-type need --in-format csv");
    if (rate_limit) {
        c.rate_per_s = parse_rate(rate_limit);
        if (c.rate_per_s <= 0) cli_usage_error(&spec, "--rate-limit: '%s' is not N/s, N/m or N/h", rate_limit);
        c.rate_burst = rate_burst > 0 ? rate_burst : (c.rate_per_s < 1 ? 1 : c.rate_per_s);
    } else if (rate_burst > 0) {
        cli_usage_error(&spec, "--rate-burst needs --rate-limit");
    }
    c.rate_arrival = rate_arrival;
    cli_start(&spec, &common);

    stream_in *in = stream_in_open(common.in, &common);
    if (!in) return 1;
    stream_out *out = stream_out_open(common.out, &common);
    if (!out) { stream_in_close(in); return 1; }
    stream_line line;
    static emit_ctx ectx;
    ectx.out = out;
    ectx.in = in;
    if (stream_in_is_kafka(in) && max_partition_skew > 0) {
        stream_in_set_max_partition_skew(in, max_partition_skew);
        ectx.pos = &line.pos;   /* the sequential loop's: Kafka input is never threaded (par.c) */
    }
    c.emit = emit;
    c.emit_ctx = &ectx;
    static ingest g;
    if (ingest_init(&g, &c, err, sizeof err)) cli_usage_error(&spec, "%s", err);
    /* every reason at zero from the start, so alerts on them exist before the first */
    for (int i = 0; ingest_reasons[i]; i++)
        metrics_counter_l("streamrec_records_invalid_total", "Records refused as invalid, by reason.", "reason",
                          ingest_reasons[i]);
    metrics_series *m_dups = metrics_counter("streamrec_ingest_duplicates_total", "Events dropped as duplicates (--dedup-window)");
    metrics_series *m_events = metrics_counter("streamrec_ingest_events_total", "Event records written");
    metrics_series *m_samples = metrics_counter("streamrec_ingest_samples_total", "Sample records written");
    sd_ready();

    stream_pos first_pos = { 0 };
    int rc = 0, par = 0;
    ingest_run run = { .in = in, .out = out, .g = &g, .max_line = (size_t)max_line, .strict = common.strict,
                       .m_dups = m_dups, .m_events = m_events, .m_samples = m_samples,
                       .every_line = stream_in_is_kafka(in) };
    if (stream_in_is_kafka(in)) stream_in_set_tick(in, 500, quiet_tick, &run);
    /* Kafka to Kafka: several instances in one group write into each
     * output partition; watermark marks tell its readers how far each
     * input partition is (schemas/README.md "Watermark marks") */
    if (stream_in_is_kafka(in) && !stream_out_is_json(out) && stream_in_set_marks(in, out) == 0)
        log_kv(LOG_INFO, "watermark marks on", "\"producer\":\"%s\"", stream_in_marks_producer(in));
    if (crash_after) threads = 1;   /* the sequential loop counts the lines */
    if (threads == 0) {   /* the CPUs this process may run on (taskset, cpusets), not the machine's */
        cpu_set_t cs;
        long ncpu = sched_getaffinity(0, sizeof cs, &cs) == 0 ? CPU_COUNT(&cs) : sysconf(_SC_NPROCESSORS_ONLN);
        threads = ncpu >= 2 ? 2 : 1;
    }
    if (threads >= 2 && ingest_par_ok(&c, in, common.out) && ingest_run_par(&run, &c, (int)threads) == 0) {
        par = 1;
        rc = run.rc;
    }
    while (!par && (rc = stream_in_next_line(in, &line, (size_t)max_line)) > 0) {
        if (line.too_long) {
            ingest_run_too_long(&run, &line.pos, line.ptr, line.len);
            continue;
        }
        if (!g.csv_open) {
            first_pos = line.pos;
            ingest_set_pos(&g, line.pos.topic, line.pos.partition, line.pos.offset);
        }
        uint64_t ev0 = g.n_events, sm0 = g.n_samples;
        int r = ingest_line(&g, line.ptr, line.len, 0);   /* the clock only if the line needs it */
        size_t rl = line.len;
        const char *raw = r == ING_BAD && c.csv ? ingest_csv_raw(&g, &rl) : line.ptr;
        /* before the outcome, which may commit: at least this line's records come again */
        if (crash_after && stream_in_count(in) >= (uint64_t)crash_after) {
            (void)stream_flush(out);   /* every record since the last commit is out: all of them come again */
            raise(SIGKILL);
        }
        if (ingest_run_outcome(&run, r, &first_pos, g.reason, g.detail, raw, rl, ev0, sm0)) break;
    }
    int failed = run.failed, usage = run.usage;
    uint64_t too_long = run.too_long;
    if (!failed && rc >= 0 && ingest_finish(&g) == ING_BAD) {
        size_t rl;
        const char *raw = ingest_csv_raw(&g, &rl);
        ingest_run_reject(&run, &first_pos, g.reason, g.detail, raw, rl);
    }
    if (!failed && stream_sync(in, out)) failed = 1;
    stream_align_stats al;
    stream_in_align_stats(in, &al);
    log_kv(LOG_INFO, "done", "\"lines\":%llu,\"ok\":%llu,\"refused\":%llu,\"duplicates\":%llu,"
           "\"events\":%llu,\"samples\":%llu,\"rate_limit_untracked\":%llu,\"dedup_left_early\":%llu,"
           "\"held_back\":%llu,\"pauses\":%llu,\"marks\":%llu,\"threads\":%d",
           (unsigned long long)stream_in_count(in), (unsigned long long)g.n_lines_ok,
           (unsigned long long)(g.n_bad + too_long), (unsigned long long)g.n_dups,
           (unsigned long long)g.n_events, (unsigned long long)g.n_samples,
           (unsigned long long)g.rl.untracked, (unsigned long long)g.dd.early,
           (unsigned long long)al.held, (unsigned long long)al.pauses,
           (unsigned long long)stream_in_marks_written(in), par ? (int)threads : 1);
    sd_stopping();
    ingest_free(&g);
    stream_in_close(in);
    int oc = stream_out_close(out);
    cli_list_free(&maps);
    cli_common_free(&common);
    if (usage) return 2;
    return (failed || rc < 0 || oc) ? 1 : 0;
}
