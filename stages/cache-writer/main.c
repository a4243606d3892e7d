/* cache-writer — Recommendation and Metric records into Redis, pipelined,
 * newer-wins, without loss (see layout.h for the keys, rpipe.h for delivery). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include "cli.h"
#include "layout.h"
#include "redisstats.h"
#include "log.h"
#include "metrics.h"
#include "rpipe.h"
#include "secret.h"
#include "sdnotify.h"
#include "sig.h"
#include "stream.h"

static cli_common common;
static const char *redis_addr, *redis_password_file, *prefix, *layout_name, *ttl_arg;
static int64_t redis_stats_us, redis_stats_keys, metric_ttl_us, pipeline_depth, leaderboard_size, zstd_level;
static cli_list leaderboards;

/* What aggregate emits: its own top-K (top.clicks, top.purchases: value =
 * count, rank label), per-item counts by event type, and per-item ratios,
 * which only mean something over enough impressions (ctr) or clicks
 * (conversion). */
#define DEFAULT_BOARDS "top.clicks,top.purchases,item.events:count,item.ctr@20,item.conversion@20"

static const cli_opt opts[] = {
    { "redis", 0, CLI_STR, &redis_addr, "redis://127.0.0.1:6379", "URI",
      "redis://[user@]host[:port][/db] or unix:///path.sock (a password here is visible to every local user: "
      "use --redis-password-file, the credential redis-password or $REDISCLI_AUTH)", 0, 0 },
    { "redis-password-file", 0, CLI_STR, &redis_password_file, NULL, "FILE|NAME",
      "Redis password from FILE, or from the systemd credential NAME (LoadCredential=); "
      "default: the credential redis-password if the unit has it", 0, 0 },
    { "prefix", 0, CLI_STR, &prefix, "", "STR", "prepended to every key", 0, 0 },
    { "layout", 0, CLI_STR, &layout_name, "json", "json|zset|fb", "how rec:USER is stored", 0, 0 },
    { "ttl", 0, CLI_STR, &ttl_arg, "0", "DURATION|adaptive:MIN:MAX",
      "expiry of rec:USER keys (0: none); adaptive: MIN*MAX / the user's average gap between records "
      "(event time), within MIN..MAX; MIN for a user seen once", 0, 0 },
    { "metric-ttl", 0, CLI_DURATION, &metric_ttl_us, "0", "DURATION", "expiry of metric, feature and leaderboard keys (0: none)", 0, 0 },
    { "pipeline", 0, CLI_INT, &pipeline_depth, "256", "N", "commands in flight at most", 1, 100000 },
    { "leaderboard", 0, CLI_LIST, &leaderboards, DEFAULT_BOARDS, "NAME[:count][@MIN],...",
      "Metrics (with an item_id label) kept as leaderboards: scored by value, or by count with :count; "
      "@MIN leaves out Metrics whose count is below MIN", 0, 0 },
    { "leaderboard-size", 0, CLI_INT, &leaderboard_size, "100", "N", "entries kept per leaderboard", 1, 1000000 },
    { "redis-stats", 0, CLI_DURATION, &redis_stats_us, "0", "DURATION",
      "instead of writing records: every DURATION, write Redis's own figures (INFO: hit rate, hits, misses, "
      "expired and evicted keys, memory; keys and memory per key prefix by SCAN) as Metric records to --out", 0, 0 },
    { "redis-stats-keys", 0, CLI_INT, &redis_stats_keys, "1000", "N",
      "--redis-stats: keys examined per sample at most (SCAN + MEMORY USAGE); more are estimated", 1, 10000000 },
    { "zstd-level", 0, CLI_INT, &zstd_level, "3", "N", "compression level of --layout fb", 1, 19 },
    { 0 },
};

static const cli_spec spec = {
    .stage = "cache-writer",
    .summary = "write Recommendation and Metric records to Redis: pipelined, newer wins, nothing dropped",
    .usage = "cache-writer [FLAGS]",
    .example = "recommender --model model.db < events.rec | cache-writer --redis redis://127.0.0.1:6379 --ttl 1h\n"
               "  redis-cli GET rec:u42\n"
               "cache-writer --redis-stats 5s --out kafka://127.0.0.1:9092/metrics   # Redis's hit rate, memory, keys",
    .opts = opts,
};

/* Input that can keep us waiting (a pipe, a socket, a terminal on stdin):
 * its fd, polled so that queued commands are sent before we block on it.
 * -1 for files, which never block, and for Kafka.
 * (libstream has no "input is about to wait" hook for the stage; see README.) */
static int waiting_input_fd(const char *uri)
{
    struct stat st;
    if (strcmp(uri, "-") || fstat(0, &st)) return -1;
    return S_ISREG(st.st_mode) ? -1 : 0;
}

static int input_ready(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    return poll(&pfd, 1, 0) != 0;   /* readable, hung up, or error: read will not wait */
}

/* While the input is quiet (stream_in_set_tick, when libstream has it; Kafka
 * included): send what is queued, so Redis is not behind what was read. */
typedef struct idle_tick { layout *lay; rpipe *pipe; int failed; } idle_tick;
static void on_idle_tick(void *ctx)
{
    idle_tick *t = ctx;
    if (t->failed || !(t->pipe->unsent || layout_pending(t->lay) || t->lay->nx_open)) return;
    if (layout_send(t->lay, t->pipe)) { t->failed = 1; sig_request_stop(); }
}

/* A Kafka rebalance takes partitions away: every write derived from what
 * was read must be acknowledged by Redis before the offsets are committed. */
typedef struct revoke_ctx { layout *lay; rpipe *pipe; } revoke_ctx;
static int on_revoke(void *ctx)
{
    revoke_ctx *r = ctx;
    int queued = r->pipe->count + layout_queued(r->lay);
    if (layout_drain(r->lay, r->pipe)) return -1;
    log_kv(LOG_INFO, "rebalance: Redis acknowledged every write before the offsets are committed",
           "\"drained\":%d", queued);
    return 0;
}

static void on_redis_error(void *ctx, const rpipe_slot *s, const char *msg)
{
    char detail[512];
    snprintf(detail, sizeof detail, "%.*s: %s", (int)s->key.len, s->key.p ? s->key.p : "", msg);
    stream_reject((stream_in *)ctx, &s->pos, "redis_error", detail, s->raw.p, s->raw.len);
}

/* The password, in this order: --redis-password-file, the systemd credential
 * "redis-password", the URI, $REDISCLI_AUTH (redis_uri_parse). One given in
 * the URI is scrubbed from argv, so /proc/PID/cmdline does not keep it. */
static void redis_password(redis_uri *uri, char *err, size_t errlen)
{
    char pw[sizeof uri->password];
    int from_file = 0;
    if (redis_password_file) {
        if (secret_read(redis_password_file, pw, sizeof pw, err, errlen))
            cli_usage_error(&spec, "--redis-password-file: %s", err);
        from_file = 1;
    } else {
        /* an empty credential is the unit's SetCredential= default: no
         * password file was installed, so the URI or $REDISCLI_AUTH decide */
        int r = secret_credential("redis-password", pw, sizeof pw, err, errlen);
        if (r < 0) cli_usage_error(&spec, "credential redis-password: %s", err);
        from_file = r == 1 && pw[0];
    }
    char *at = strchr(redis_addr, '@'), *scheme = strstr(redis_addr, "://");
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

/* Start-up failure of the connection: the message and exit status. */
static int connect_failed(int wc, const redis_uri *uri, const char *err)
{
    /* a wrong address (2) is the person's to fix; Redis not answering (1)
     * may be Redis still starting: systemd restarts us (after 2 it does not) */
    char t[32], where[300];   /* the address without the password the URI may hold */
    cli_format_duration(common.connect_timeout, t, sizeof t);
    if (uri->unix_path[0]) snprintf(where, sizeof where, "%s", uri->unix_path);
    else snprintf(where, sizeof where, "%s:%d", uri->host, uri->port);
    if (wc == RPIPE_UNRESOLVED) fprintf(stderr, "cache-writer: --redis %s: %s\n", where, err);
    else if (wc == RPIPE_UNREACHABLE)
        fprintf(stderr, "cache-writer: --redis %s: Redis did not answer within %s (--connect-timeout): %s\n",
                where, t, err);
    return wc == RPIPE_UNRESOLVED ? 2 : 1;
}

/* --redis-stats: no input read; Redis's own figures to --out until stopped. */
static int redis_stats_main(redis_uri *uri)
{
    if (strcmp(common.in, "-")) cli_usage_error(&spec, "--in: --redis-stats reads no input");
    cli_start(&spec, &common);
    stream_out *out = stream_out_open(common.out, &common);
    if (!out) return 1;
    rpipe pipe;
    char err[300], instance[300];
    if (uri->unix_path[0]) snprintf(instance, sizeof instance, "%s", uri->unix_path);
    else snprintf(instance, sizeof instance, "%s:%d", uri->host, uri->port);
    if (rpipe_open(&pipe, uri, 1, NULL, 0, NULL, NULL, NULL, NULL)) {
        rpipe_close(&pipe);
        stream_out_close(out);
        return 1;
    }
    int wc = rpipe_wait_connected(&pipe, common.connect_timeout, err, sizeof err);
    if (wc) {
        rpipe_close(&pipe);
        stream_out_close(out);
        return connect_failed(wc, uri, err);
    }
    sd_ready();
    char t[32];
    cli_format_duration(redis_stats_us, t, sizeof t);
    log_info("sampling Redis at %s every %s (%lld keys a sample at most)", instance, t, (long long)redis_stats_keys);
    redis_stats_conf rc = { .prefix = prefix, .instance = instance, .interval_us = redis_stats_us,
                            .keys_per_sample = redis_stats_keys };
    int failed = redis_stats_run(&pipe, out, &rc) != 0;
    sd_stopping();
    rpipe_close(&pipe);
    if (stream_out_close(out)) failed = 1;
    return failed;
}

int main(int argc, char **argv)
{
    int first = cli_parse(argc, argv, &spec, &common);
    if (first < argc) cli_usage_error(&spec, "unexpected argument '%s'", argv[first]);
    char err[300];
    layout_board *boards = calloc((size_t)leaderboards.n + 1, sizeof *boards);
    if (!boards) log_fatal("out of memory");
    for (int i = 0; i < leaderboards.n; i++)
        if (layout_board_parse(leaderboards.items[i], &boards[i], err, sizeof err))
            cli_usage_error(&spec, "--leaderboard: %s", err);
    layout_conf lc = {
        .prefix = prefix, .metric_ttl_ms = metric_ttl_us / 1000,
        .leaderboard_size = leaderboard_size, .boards = boards,
        .nboards = leaderboards.n, .zstd_level = (int)zstd_level,
        .pipeline_depth = (int)pipeline_depth,
    };
    if (layout_ttl_parse(ttl_arg, &lc.rec_ttl_ms, &lc.rec_ttl_min_ms, &lc.rec_ttl_max_ms, err, sizeof err))
        cli_usage_error(&spec, "--ttl: %s", err);
    if (!strcmp(layout_name, "json")) lc.rec_layout = LAYOUT_JSON;
    else if (!strcmp(layout_name, "zset")) lc.rec_layout = LAYOUT_ZSET;
    else if (!strcmp(layout_name, "fb")) lc.rec_layout = LAYOUT_FB;
    else cli_usage_error(&spec, "--layout: '%s' is not one of json, zset, fb", layout_name);
    redis_uri uri;
    if (redis_uri_parse(redis_addr, &uri, err, sizeof err)) cli_usage_error(&spec, "--redis: %s", err);
    redis_password(&uri, err, sizeof err);
    if (redis_stats_us > 0) { free(boards); return redis_stats_main(&uri); }
    if (strcmp(common.out, "-")) cli_usage_error(&spec, "--out: cache-writer writes to Redis only (or, with --redis-stats, "
                                                 "Redis's figures to --out)");
    cli_start(&spec, &common);

    stream_in *in = stream_in_open(common.in, &common);
    if (!in) { free(boards); return 1; }
    layout lay;
    layout_init(&lay, &lc);
    rpipe pipe;
    if (rpipe_open(&pipe, &uri, (int)pipeline_depth, layout_scripts, SCRIPT_COUNT, on_redis_error, in,
                   lc.rec_layout == LAYOUT_JSON ? layout_probe : NULL, &lay)) {
        layout_free(&lay);
        stream_in_close(in);
        free(boards);
        return 1;
    }
    int wc = rpipe_wait_connected(&pipe, common.connect_timeout, err, sizeof err);
    if (wc) {
        layout_free(&lay);
        rpipe_close(&pipe);
        stream_in_close(in);
        free(boards);
        return connect_failed(wc, &uri, err);
    }
    layout_attach(&lay, &pipe);
    metrics_series *skipped = metrics_counter("streamrec_cache_skipped_total",
                                              "Records of types cache-writer does not store");
    sd_ready();
    log_info("writing to Redis at %s (layout %s, pipeline %lld)",
             uri.unix_path[0] ? uri.unix_path : uri.host, layout_name, (long long)pipeline_depth);

    stream_rec r;
    int rc, failed = 0, wait_fd = waiting_input_fd(common.in);
    revoke_ctx rv = { &lay, &pipe };
    stream_in_set_before_revoke(in, on_revoke, &rv);
    idle_tick tick = { &lay, &pipe, 0 };
    stream_in_set_tick(in, 50, on_idle_tick, &tick);
    while ((rc = stream_in_next(in, &r)) > 0) {
        int w = 0;
        if (r.type == &Recommendation_desc) w = layout_recommendation(&lay, &pipe, &r.as.recommendation, &r);
        else if (r.type == &Metric_desc) w = layout_metric(&lay, &pipe, &r.as.metric, &r);
        else metrics_add(skipped, 1);
        if (w) { failed = 1; break; }
        /* about to wait for input: send what is queued, so Redis is never
         * behind a quiet pipe (replies are read later) */
        if (wait_fd >= 0 && (pipe.unsent || layout_pending(&lay) || lay.nx_open) && !input_ready(wait_fd) &&
            layout_send(&lay, &pipe)) { failed = 1; break; }
        if (stream_sync_due(in)) {
            /* offsets are committed only after Redis acknowledged every write */
            if (layout_drain(&lay, &pipe)) { failed = 1; break; }
            stream_sync(in, NULL);
            sd_status("%llu records, %llu Redis writes, %llu errors", (unsigned long long)stream_in_count(in),
                      (unsigned long long)pipe.writes, (unsigned long long)pipe.errors);
        }
        sd_watchdog_tick();
        metrics_tick();
    }
    if (tick.failed) failed = 1;
    if (!failed && layout_drain(&lay, &pipe) == 0) stream_sync(in, NULL);
    else failed = 1;
    log_kv(LOG_INFO, "done", "\"records\":%llu,\"writes\":%llu,\"errors\":%llu,\"reconnects\":%llu,\"retries\":%llu,"
           "\"set_nx\":%llu,\"set_nx_found_key\":%llu,\"checked\":%llu,\"aborted\":%llu,\"scripted\":%llu",
           (unsigned long long)stream_in_count(in), (unsigned long long)pipe.writes,
           (unsigned long long)pipe.errors, (unsigned long long)pipe.reconnects,
           (unsigned long long)pipe.retries, (unsigned long long)lay.nx_sent,
           (unsigned long long)lay.nx_existed, (unsigned long long)lay.checked,
           (unsigned long long)lay.aborted, (unsigned long long)lay.scripted);
    sd_stopping();
    layout_free(&lay);
    free(boards);
    rpipe_close(&pipe);
    stream_in_close(in);
    return (failed || rc < 0) ? 1 : 0;
}
