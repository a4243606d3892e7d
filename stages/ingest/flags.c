/* flags.c — ingest's flag table and the parser's config built from it
 * (flags.h). The rows write into ingest_flags (cli.h's CLI_FIELD); what the
 * table cannot say (--map items, a rate with its unit, limits between
 * flags) is checked after parsing. */
#define _GNU_SOURCE   /* sched_getaffinity, CPU_COUNT */
#include "flags.h"
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sizes.h"

static const cli_name in_format_names[] = { { "json", 0 }, { "csv", 1 }, { 0 } };
static const cli_name rate_clock_names[] = { { "event", 0 }, { "arrival", 1 }, { 0 } };

#define AT(member, dv) CLI_FIELD(ingest_flags, member, dv)
static const cli_opt ingest_opts[] = {
    { "in-format", 0, CLI_ENUM, AT(conf.csv, "json"), NULL, "input format: JSON lines, or CSV with a header", 0, 0,
      .names = in_format_names },
    { "map", 0, CLI_LIST, AT(maps, NULL), "FIELD=COLUMN,...", "CSV: take a record field from a column (e.g. user_id=userId)", 0, 0 },
    { "event-type", 0, CLI_STR, AT(conf.event_type, NULL), "NAME", "CSV: event_type of every row (when no column gives it)", 0, 0 },
    { "max-line", 0, CLI_SIZE, AT(max_line, "1M"), "SIZE", "longer lines are refused (line_too_long)", 16, 1 << 30 },
    { "max-string", 0, CLI_SIZE, AT(max_string, "1k"), "SIZE", "longest string value or key (too_long)", 8, STREAMREC_MAX_STRING },
    { "max-attrs", 0, CLI_INT, AT(max_attrs, "64"), "N", "attrs/labels per record at most (too_long)", 1, STREAMREC_MAX_ATTRS },
    { "max-skew", 0, CLI_DURATION, AT(conf.max_skew_us, "1d"), "DURATION", "how far ts may lie in the future (implausible_timestamp)", 0, 0 },
    { "max-partition-skew", 0, CLI_DURATION, AT(max_partition_skew, "2s"), "DURATION",
      "Kafka input: a partition more than this ahead in event time of the slowest one is not read "
      "until it catches up, so a backlog's output goes back at most this much plus the input's own "
      "disorder (0: off)", 0, 0 },
    { "dedup-window", 0, CLI_COUNT_OR_DURATION, AT(dedup_window, "100000"), "N|DURATION",
      "duplicates dropped among the last N event_ids (24-40 bytes each; 0: off), or among those "
      "of the last DURATION of event time (at most --dedup-max ids, 32-48 bytes each)", 0, 1e9 },
    { "dedup-max", 0, CLI_INT, AT(dedup_max, "1000000"), "N",
      "ids a --dedup-window DURATION remembers at most (past it the oldest leave early, counted)", 1, 1e9 },
    { "rate-limit", 0, CLI_STR, AT(rate_limit, NULL), "N/s", "per-user events per second (or N/m, N/h) of event time; excess: rate_limited", 0, 0 },
    { "rate-burst", 0, CLI_DOUBLE, AT(rate_burst, "0"), "N", "token bucket size (0: one second's worth)", 0, 1e9 },
    { "rate-clock", 0, CLI_ENUM, AT(conf.rate_arrival, "event"), NULL,
      "rate-limit buckets refill with the events' ts (replays decide alike) or arrival time (forged ts earn nothing)", 0, 0,
      .names = rate_clock_names },
    { "rate-limit-users", 0, CLI_INT, AT(rate_users, "100000"), "N", "users tracked by the rate limiter (24 bytes each)", 16, 1e8 },
    { "threads", 0, CLI_INT, AT(threads, "0"), "N",
      "parser threads for JSON lines from stdin or files (0: auto, 2 with 2+ CPUs; 1: no threads); "
      "same output, dead letters and metrics as 1", 0, 64 },
    { "crash-after", 0, CLI_INT, AT(crash_after, "0"), "N",
      "testing: after N input lines deliver the output, commit nothing, and kill -9 itself "
      "(the worst case of at least once; 0: never)", 0, 1e15 },
    { 0 },
};
#undef AT

static cli_spec ingest_spec = {
    .stage = "ingest",
    .summary = "JSON lines or CSV into Event and Sample records, strict, counted, deduplicated",
    .usage = "ingest [FLAGS]",
    .example = "ingest --in events.jsonl --dead-letter bad.jsonl > events.rec\n"
               "ingest --in ratings.csv.zst --in-format csv --event-type rating \\\n"
               "       --map user_id=userId,item_id=movieId,value=rating,ts=timestamp > ratings.rec",
    .opts = ingest_opts,
};

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

/* What the table cannot say: the flags into the parser's units, --map's
 * items, the rate, and the limits between flags. */
static void ingest_build_conf(ingest_flags *f)
{
    ingest_conf *c = &f->conf;
    /* Nothing ingest could store would make its output exactly once (what it
     * wrote after its last commit is written again after a crash, whatever
     * it saved before): the copies die downstream, by event_id (README). */
    if (f->common.state)
        cli_usage_error(&ingest_spec, "--state: ingest keeps no state: its output is at least once whatever it "
                        "would store, and aggregate and experiment-analyzer drop the copies a restart "
                        "writes again by event_id; remove --state");
    c->max_line = (size_t)f->max_line;
    c->max_string = (size_t)f->max_string;
    c->max_attrs = (uint32_t)f->max_attrs;
    c->rate_users = (uint32_t)f->rate_users;
    c->dedup_window = (uint64_t)(f->dedup_window.us ? f->dedup_max : f->dedup_window.count);
    c->dedup_span_us = f->dedup_window.us;
    int64_t max_record = f->common.max_record;
    c->max_record = max_record > (int64_t)STREAMREC_DERIVED_ROOM * 2 ? (size_t)max_record - STREAMREC_DERIVED_ROOM
                                                                     : (size_t)max_record / 2;
    char err[320];
    for (int i = 0; i < f->maps.n; i++)
        if (ingest_map_add(c, f->maps.items[i], err, sizeof err)) cli_usage_error(&ingest_spec, "--map: %s", err);
    if ((f->maps.n || c->event_type) && !c->csv) cli_usage_error(&ingest_spec, "--map and --event-type need --in-format csv");
    if (f->rate_limit) {
        c->rate_per_s = parse_rate(f->rate_limit);
        if (c->rate_per_s <= 0) cli_usage_error(&ingest_spec, "--rate-limit: '%s' is not N/s, N/m or N/h", f->rate_limit);
        c->rate_burst = f->rate_burst > 0 ? f->rate_burst : (c->rate_per_s < 1 ? 1 : c->rate_per_s);
    } else if (f->rate_burst > 0) {
        cli_usage_error(&ingest_spec, "--rate-burst needs --rate-limit");
    }
    if (f->crash_after) f->threads = 1;   /* the sequential loop counts the lines */
    if (f->threads == 0) {   /* the CPUs this process may run on (taskset, cpusets), not the machine's */
        cpu_set_t cs;
        long ncpu = sched_getaffinity(0, sizeof cs, &cs) == 0 ? CPU_COUNT(&cs) : sysconf(_SC_NPROCESSORS_ONLN);
        f->threads = ncpu >= 2 ? 2 : 1;
    }
}

void ingest_flags_start(int argc, char **argv, ingest_flags *f)
{
    memset(f, 0, sizeof *f);
    ingest_spec.conf = f;
    int first = cli_parse(argc, argv, &ingest_spec, &f->common);
    if (first < argc) cli_usage_error(&ingest_spec, "unexpected argument '%s'", argv[first]);
    ingest_build_conf(f);
    cli_start(&ingest_spec, &f->common);
}

void ingest_usage_error(const char *msg)
{
    cli_usage_error(&ingest_spec, "%s", msg);
}

void ingest_flags_free(ingest_flags *f)
{
    cli_list_free(&f->maps);
    cli_common_free(&f->common);
}
