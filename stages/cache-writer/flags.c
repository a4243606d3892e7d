/* flags.c — cache-writer's flag table, and the layout's settings and the
 * Redis address built from it (flags.h). */
#include "flags.h"
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "secret.h"

/* What aggregate emits: its own top-K (top.clicks, top.purchases: value =
 * count, rank label), per-item counts by event type, and per-item ratios,
 * which only mean something over enough impressions (ctr) or clicks
 * (conversion). */
#define DEFAULT_BOARDS "top.clicks,top.purchases,item.events:count,item.ctr@20,item.conversion@20"

/* each value is its index: layout_names[v].name is v's name */
static const cli_name layout_names[] = {
    { "json", LAYOUT_JSON }, { "zset", LAYOUT_ZSET }, { "fb", LAYOUT_FB }, { 0 }
};

#define AT(member, dv) CLI_FIELD(cw_flags, member, dv)
static const cli_opt opts[] = {
    { "redis", 0, CLI_STR, AT(redis, "redis://127.0.0.1:6379"), "URI",
      "redis://[user@]host[:port][/db] or unix:///path.sock (a password here is visible to every local user: "
      "use --redis-password-file, the credential redis-password or $REDISCLI_AUTH)", 0, 0 },
    { "redis-password-file", 0, CLI_STR, AT(redis_password_file, NULL), "FILE|NAME",
      "Redis password from FILE, or from the systemd credential NAME (LoadCredential=); "
      "default: the credential redis-password if the unit has it", 0, 0 },
    { "prefix", 0, CLI_STR, AT(lc.prefix, ""), "STR", "prepended to every key", 0, 0 },
    { "layout", 0, CLI_ENUM, AT(layout, "json"), "json|zset|fb", "how rec:USER is stored", 0, 0,
      .names = layout_names },
    { "ttl", 0, CLI_STR, AT(ttl, "0"), "DURATION|adaptive:MIN:MAX",
      "expiry of rec:USER keys (0: none); adaptive: MIN*MAX / the user's average gap between records "
      "(event time), within MIN..MAX; MIN for a user seen once", 0, 0 },
    { "metric-ttl", 0, CLI_DURATION, AT(metric_ttl_us, "0"), "DURATION",
      "expiry of metric, feature and leaderboard keys (0: none)", 0, 0 },
    { "pipeline", 0, CLI_INT, AT(pipeline, "256"), "N", "commands in flight at most", 1, 100000 },
    { "leaderboard", 0, CLI_LIST, AT(leaderboards, DEFAULT_BOARDS), "NAME[:count][@MIN],...",
      "Metrics (with an item_id label) kept as leaderboards: scored by value, or by count with :count; "
      "@MIN leaves out Metrics whose count is below MIN", 0, 0 },
    { "leaderboard-size", 0, CLI_INT, AT(leaderboard_size, "100"), "N", "entries kept per leaderboard", 1, 1000000 },
    { "redis-stats", 0, CLI_DURATION, AT(redis_stats_us, "0"), "DURATION",
      "instead of writing records: every DURATION, write Redis's own figures (INFO: hit rate, hits, misses, "
      "expired and evicted keys, memory; keys and memory per key prefix by SCAN) as Metric records to --out", 0, 0 },
    { "redis-stats-keys", 0, CLI_INT, AT(redis_stats_keys, "1000"), "N",
      "--redis-stats: keys examined per sample at most (SCAN + MEMORY USAGE); more are estimated", 1, 10000000 },
    { "zstd-level", 0, CLI_INT, AT(zstd_level, "3"), "N", "compression level of --layout fb", 1, 19 },
    { 0 },
};
#undef AT

static cli_spec spec = {
    .stage = "cache-writer",
    .summary = "write Recommendation and Metric records to Redis: pipelined, newer wins, nothing dropped",
    .usage = "cache-writer [FLAGS]",
    .example = "recommender --model model.db < events.rec | cache-writer --redis redis://127.0.0.1:6379 --ttl 1h\n"
               "  redis-cli GET rec:u42\n"
               "cache-writer --redis-stats 5s --out kafka://127.0.0.1:9092/metrics   # Redis's hit rate, memory, keys",
    .opts = opts,
};

/* The password, in this order: --redis-password-file, the systemd credential
 * "redis-password", the URI, $REDISCLI_AUTH (redis_uri_parse). One given in
 * the URI is scrubbed from argv, so /proc/PID/cmdline does not keep it. */
static void redis_password(const cw_flags *f, redis_uri *uri, char *err, size_t errlen)
{
    char pw[sizeof uri->password];
    int from_file = 0;
    if (f->redis_password_file) {
        if (secret_read(f->redis_password_file, pw, sizeof pw, err, errlen))
            cli_usage_error(&spec, "--redis-password-file: %s", err);
        from_file = 1;
    } else {
        /* an empty credential is the unit's SetCredential= default: no
         * password file was installed, so the URI or $REDISCLI_AUTH decide */
        int r = secret_credential("redis-password", pw, sizeof pw, err, errlen);
        if (r < 0) cli_usage_error(&spec, "credential redis-password: %s", err);
        from_file = r == 1 && pw[0];
    }
    char *at = strchr(f->redis, '@'), *scheme = strstr(f->redis, "://");
    char *colon = scheme && at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
    if (colon && at > colon + 1) {
        if (!from_file)
            log_warn("--redis: the password in the URI is visible to every local user while the command starts; "
                     "use --redis-password-file or $REDISCLI_AUTH");
        secret_scrub(colon + 1, (size_t)(at - colon - 1));
    }
    if (from_file) {
        memcpy(uri->password, pw, sizeof pw);
        memset(pw, 0, sizeof pw);
    }
    /* without AUTH the connection would be the default user's: writes
     * under other rights than the ones the person set up */
    if (uri->user[0] && !uri->password[0])
        cli_usage_error(&spec, "--redis: user '%s' has no password: give it with --redis-password-file, "
                        "the credential redis-password or $REDISCLI_AUTH", uri->user);
}

void cw_flags_start(int argc, char **argv, cw_flags *f)
{
    spec.conf = f;   /* where the table's rows write */
    int first = cli_parse(argc, argv, &spec, &f->common);
    if (first < argc) cli_usage_error(&spec, "unexpected argument '%s'", argv[first]);
    char err[300];
    f->boards = calloc((size_t)f->leaderboards.n + 1, sizeof *f->boards);
    if (!f->boards) log_fatal("out of memory");
    for (int i = 0; i < f->leaderboards.n; i++)
        if (layout_board_parse(f->leaderboards.items[i], &f->boards[i], err, sizeof err))
            cli_usage_error(&spec, "--leaderboard: %s", err);
    layout_conf *lc = &f->lc;
    lc->metric_ttl_ms = f->metric_ttl_us / 1000;
    lc->leaderboard_size = f->leaderboard_size;
    lc->boards = f->boards;
    lc->nboards = f->leaderboards.n;
    lc->zstd_level = (int)f->zstd_level;
    lc->pipeline_depth = (int)f->pipeline;
    if (layout_ttl_parse(f->ttl, &lc->rec_ttl_ms, &lc->rec_ttl_min_ms, &lc->rec_ttl_max_ms, err, sizeof err))
        cli_usage_error(&spec, "--ttl: %s", err);
    lc->rec_layout = (rec_layout)f->layout;
    f->layout_name = layout_names[f->layout].name;
    if (redis_uri_parse(f->redis, &f->uri, err, sizeof err)) cli_usage_error(&spec, "--redis: %s", err);
    redis_password(f, &f->uri, err, sizeof err);
    if (f->redis_stats_us > 0) {
        if (strcmp(f->common.in, "-")) cli_usage_error(&spec, "--in: --redis-stats reads no input");
    } else if (strcmp(f->common.out, "-")) {
        cli_usage_error(&spec, "--out: cache-writer writes to Redis only (or, with --redis-stats, "
                        "Redis's figures to --out)");
    }
    /* Redis is the stage's state: a --state file would be taken for a
     * checkpoint it never writes */
    if (cli_given(&spec, "state"))
        cli_usage_error(&spec, "--state: cache-writer keeps no state file: Redis holds what it wrote, "
                        "and Kafka offsets are committed once Redis acknowledged them");
    cli_start(&spec, &f->common);
}

void cw_flags_free(cw_flags *f)
{
    free(f->boards);
    f->boards = NULL;
}
