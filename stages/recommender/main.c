/* main.c — recommender: one binary, three modes.
 *
 *   recommender train ...   Event records -> model file (train.h)
 *   recommender eval ...    offline evaluation on a held-out split (eval.h)
 *   recommender [serve] ... Event records in, Recommendation records out
 *                           (this file: flags, the loop, micro-batches,
 *                           reload, metrics; the engine is serve.c), or the
 *                           users batch with --users (batch.c)
 *
 * Delivery: the input position is committed (stream_sync) only right after
 * a flush, when no user is pending, so every event whose list was not yet
 * written is read again after a crash. With --state the flushed users'
 * histories and the Kafka offsets are saved in one transaction first (after
 * the output is flushed), so a restart resumes both together. See README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "batch.h"
#include "changelog.h"
#include "cli.h"
#include "eval.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "sdnotify.h"
#include "serve.h"
#include "sig.h"
#include "state.h"
#include "stream.h"
#include "timefmt.h"
#include "train.h"

static cli_common common;
static const char *opt_model, *opt_rules, *opt_users, *opt_changelog;
static int64_t opt_top, opt_flush, opt_max_batch, opt_max_users, opt_max_history, opt_max_catalog, opt_threads, opt_state_max_age, opt_score_cache_mb;
static int opt_check;

static const cli_opt serve_opts[] = {
    { "model", 'm', CLI_STR, &opt_model, NULL, "MODEL.db",
      "model file made by `recommender train`; reloaded on SIGHUP and when the file changes", 0, 0, .required = 1 },
    { "top", 'n', CLI_INT, &opt_top, "10", "N", "items per list", 1, 1000 },
    { "flush-interval", 'f', CLI_DURATION, &opt_flush, "1s", "DURATION",
      "micro-batch: lists for the users seen are written this long after the batch's first event "
      "(and at end of input, and when --max-batch users are pending)", 0, 3600e6 },
    { "max-batch", 0, CLI_INT, &opt_max_batch, "10000", "N", "users per micro-batch at most", 1, 10000000 },
    { "max-users", 0, CLI_INT, &opt_max_users, "1000000", "N",
      "user histories held; past it the least recently updated user is evicted (counted)", 1, 1e9 },
    { "max-history", 0, CLI_INT, &opt_max_history, "200", "N",
      "interactions kept per user; past it the oldest is replaced (counted)", 1, 100000 },
    { "max-catalog", 0, CLI_INT, &opt_max_catalog, "10000000", "N",
      "distinct item ids remembered; past it events about new items are refused (counted)", 1, 1e9 },
    { "rules", 'r', CLI_STR, &opt_rules, NULL, "RULES.yaml",
      "business rules: filters, boosts, diversity (see README.md); re-read on SIGHUP", 0, 0 },
    { "users", 'u', CLI_STR, &opt_users, NULL, "FILE|-",
      "batch: one list per user_id in FILE (one per line), history from --in if given", 0, 0 },
    { "state-max-age", 0, CLI_DURATION, &opt_state_max_age, "90d", "DURATION",
      "--state: delete the saved history of users inactive this long (0: keep every user); bounds the file", 0, 0 },
    { "changelog", 0, CLI_STR, &opt_changelog, NULL, "kafka://HOST:PORT/TOPIC",
      "Kafka input in a group: write each user's history to this topic (partitioned like the input) and read a "
      "partition's histories back when it is assigned, so they follow the partition (README \"Scale-out\")", 0, 0 },
    { "threads", 't', CLI_INT, &opt_threads, "1", "N", "scoring threads per micro-batch", 1, 64 },
    { "score-cache-mb", 0, CLI_INT, &opt_score_cache_mb, "64", "MIB",
      "memory for per-user EASE sums, updated as events arrive, so a list costs the same on a long history (0: none)",
      0, 1048576 },
    { "check", 0, CLI_BOOL, &opt_check, NULL, NULL, "load the model and the rules, print what they hold, exit", 0, 0 },
    { 0 }
};

static const cli_spec serve_spec = {
    .stage = "recommender",
    .summary = "recommendations on a stream: Event records in, Recommendation records (top N per user seen) out; "
               "subcommands train and eval",
    .usage = "recommender [serve] --model MODEL.db [FLAGS]\n"
             "       recommender train --in EVENTS --model MODEL.db [FLAGS]   (recommender train --help)\n"
             "       recommender eval --in EVENTS [FLAGS]                     (recommender eval --help)",
    .example = "recommender train --in events.rec --model model.db\n"
               "  recommender --model model.db --rules rules.yaml < events.rec | fbcat\n"
               "  recommender --model model.db --users users.txt --top 20 > recs.rec",
    .opts = serve_opts,
};

typedef struct serve_main {
    serve *s;
    state *st;
    stream_out *out;
    metrics_series *m_events, *m_notint, *m_other, *m_unknown, *m_lists, *m_short, *m_empty;
    metrics_series *m_users, *m_set_bytes, *m_evict, *m_evict_pend, *m_hdrop, *m_catfull;
    metrics_series *m_parts_restored, *m_cl_users, *m_cl_bad, *m_dropped;
    metrics_series *m_reloads, *m_reload_fail, *m_restored, *m_seeded, *m_pruned, *m_items, *m_filtered, *m_boosted, *m_divskip;
    metrics_series *m_q50, *m_q90, *m_q99, *m_q999, *m_max, *m_rate;
    serve_stats last;
    hist_stats hlast;
    rules_counts rlast;
    uint64_t other, other_last;
    stream_in *in;
    changelog *cl;
    int rebalanced;               /* partitions were assigned or revoked since the last record */
    int64_t batch_start;          /* mono µs of the pending batch's first event, 0: none */
    int failed;                   /* a flush from the idle tick failed */
} serve_main;

/* Every list fits the next reader's --max-record (schemas/SIZES.md): item
 * ids are as long as ingest allows, so N of them may not. Items are taken
 * best first while the record's upper bound stays within the limit; one
 * that would cross it is left out (a shorter one after it may still fit),
 * counted and logged. A list whose user_id and names alone are over the
 * limit (no stage before writes such a user_id) is not written, counted
 * and logged. The bound: 512 bytes for prefix, identifier, root table and
 * vtables, each string its bytes + 8 (length, NUL, padding), each item
 * 40 more (its table, vtable offset, score, vector slot, alignment). */
static int emit_rec(void *ctx, const Recommendation *rec)
{
    serve_main *a = ctx;
    static metrics_series *m_cut, *m_dropped;
    static ScoredItem *kept;     /* reachable till exit; at most --top items */
    static uint32_t kept_cap;
    uint64_t limit = common.max_record > 0 ? (uint64_t)common.max_record : UINT64_MAX;
    uint64_t need = 512 + (uint64_t)rec->user_id.len + 8 + rec->algorithm.len + 8 + rec->model_version.len + 8;
    uint64_t with_items = need;
    for (uint32_t i = 0; i < rec->items_count; i++) with_items += 40 + (uint64_t)rec->items[i].item_id.len + 8;
    if (with_items <= limit) return stream_write(a->out, &Recommendation_desc, rec, NULL, 0);
    if (!m_cut) {
        m_cut = metrics_counter("streamrec_recommender_items_cut_total",
                                "items left out of a list to keep the record within --max-record");
        m_dropped = metrics_counter("streamrec_recommender_lists_too_large_total",
                                    "lists not written: user_id and names alone over --max-record");
    }
    if (need > limit) {
        metrics_add(m_dropped, 1);
        log_kv(LOG_ERROR, "list not written: its user_id alone is over --max-record",
               "\"user_id_bytes\":%u,\"max_record\":%llu", rec->user_id.len, (unsigned long long)limit);
        return 0;
    }
    if (kept_cap < rec->items_count) {
        ScoredItem *k = realloc(kept, rec->items_count * sizeof *k);
        if (!k) log_fatal("out of memory");
        kept = k;
        kept_cap = rec->items_count;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < rec->items_count; i++) {
        uint64_t one = 40 + (uint64_t)rec->items[i].item_id.len + 8;
        if (need + one > limit) continue;
        need += one;
        kept[n++] = rec->items[i];
    }
    metrics_add(m_cut, rec->items_count - n);
    log_kv(LOG_WARN, "list cut to fit --max-record", "\"items\":%u,\"kept\":%u,\"max_record\":%llu",
           rec->items_count, n, (unsigned long long)limit);
    Recommendation cut = *rec;
    cut.items = kept;
    cut.items_count = n;
    return stream_write(a->out, &Recommendation_desc, &cut, NULL, 0);
}

#define DELTA(series, now, before) metrics_add(series, (double)((now) - (before)))

static void update_metrics(serve_main *a)
{
    const serve_stats *st = serve_get_stats(a->s);
    DELTA(a->m_events, st->events, a->last.events);
    DELTA(a->m_notint, st->not_interaction, a->last.not_interaction);
    DELTA(a->m_unknown, st->unknown_items, a->last.unknown_items);
    DELTA(a->m_lists, st->lists, a->last.lists);
    DELTA(a->m_short, st->short_lists, a->last.short_lists);
    DELTA(a->m_empty, st->empty_lists, a->last.empty_lists);
    DELTA(a->m_reloads, st->reloads, a->last.reloads);
    DELTA(a->m_reload_fail, st->reload_failures, a->last.reload_failures);
    DELTA(a->m_restored, st->restored_users, a->last.restored_users);
    DELTA(a->m_seeded, st->model_history_users, a->last.model_history_users);
    DELTA(a->m_pruned, st->pruned_users, a->last.pruned_users);
    DELTA(a->m_parts_restored, st->restored_partitions, a->last.restored_partitions);
    DELTA(a->m_cl_users, st->changelog_users, a->last.changelog_users);
    DELTA(a->m_cl_bad, st->changelog_bad, a->last.changelog_bad);
    DELTA(a->m_dropped, st->dropped_users, a->last.dropped_users);
    DELTA(a->m_other, a->other, a->other_last);
    a->last = *st;
    a->other_last = a->other;
    const hist_store *h = serve_history(a->s);
    const hist_stats *hs = hist_get_stats(h);
    DELTA(a->m_evict, hs->evictions, a->hlast.evictions);
    DELTA(a->m_evict_pend, hs->evicted_pending, a->hlast.evicted_pending);
    DELTA(a->m_hdrop, hs->entries_dropped, a->hlast.entries_dropped);
    DELTA(a->m_catfull, hs->catalog_full, a->hlast.catalog_full);
    a->hlast = *hs;
    const rules_counts *rc = serve_rules_counts(a->s);
    DELTA(a->m_filtered, rc->filtered, a->rlast.filtered);
    DELTA(a->m_boosted, rc->boosted, a->rlast.boosted);
    DELTA(a->m_divskip, rc->diversity_skipped, a->rlast.diversity_skipped);
    a->rlast = *rc;
    metrics_set(a->m_users, hist_n_users(h));
    metrics_set(a->m_set_bytes, (double)hist_set_bytes(h));
    metrics_set(a->m_q50, serve_latency_quantile(a->s, 0.5));
    metrics_set(a->m_q90, serve_latency_quantile(a->s, 0.9));
    metrics_set(a->m_q99, serve_latency_quantile(a->s, 0.99));
    metrics_set(a->m_q999, serve_latency_quantile(a->s, 0.999));
    metrics_set(a->m_max, serve_latency_max(a->s));
    if (st->score_seconds > 0) metrics_set(a->m_rate, (double)st->lists / st->score_seconds);
    metrics_tick();
}

static void register_metrics(serve_main *a)
{
    a->m_events = metrics_counter("streamrec_recommender_events_total", "interactions recorded into user histories");
    a->m_notint = metrics_counter_l("streamrec_recommender_ignored_total", "records not used", "reason", "not_interaction");
    a->m_other = metrics_counter_l("streamrec_recommender_ignored_total", "records not used", "reason", "other_type");
    a->m_unknown = metrics_counter("streamrec_recommender_unknown_items_total",
                                   "interactions with items the current model does not know");
    a->m_lists = metrics_counter("streamrec_recommender_lists_total", "Recommendation records written");
    a->m_short = metrics_counter("streamrec_recommender_short_lists_total", "lists shorter than --top (rules or catalogue)");
    a->m_empty = metrics_counter("streamrec_recommender_empty_lists_total", "lists with no item");
    a->m_users = metrics_gauge("streamrec_recommender_users", "user histories held");
    a->m_set_bytes = metrics_gauge("streamrec_recommender_seen_set_bytes",
                                   "memory of the held users' seen and bought item sets (the complete seen filter)");
    a->m_evict = metrics_counter("streamrec_recommender_user_evictions_total", "users evicted past --max-users");
    a->m_evict_pend = metrics_counter("streamrec_recommender_user_evictions_pending_total",
                                      "evicted users whose list was still pending");
    a->m_hdrop = metrics_counter("streamrec_recommender_history_dropped_total", "interactions replaced past --max-history");
    a->m_catfull = metrics_counter("streamrec_recommender_catalog_full_total", "events refused past --max-catalog");
    a->m_reloads = metrics_counter("streamrec_recommender_model_reloads_total", "model swaps");
    a->m_reload_fail = metrics_counter("streamrec_recommender_model_reload_failures_total",
                                       "model files that failed to load (old model kept)");
    a->m_restored = metrics_counter("streamrec_recommender_restored_users_total",
                                    "user histories read back from --state (evicted users, restarts)");
    a->m_seeded = metrics_counter("streamrec_recommender_model_history_users_total",
                                  "users new to this process whose history started from the model's training interactions");
    a->m_pruned = metrics_counter("streamrec_recommender_pruned_users_total",
                                  "saved histories deleted from --state past --state-max-age");
    a->m_parts_restored = metrics_counter("streamrec_recommender_partitions_restored_total",
                                          "input partitions whose users' histories were read from --changelog");
    a->m_cl_users = metrics_counter("streamrec_recommender_changelog_users_total",
                                    "user histories applied from --changelog");
    a->m_cl_bad = metrics_counter("streamrec_recommender_changelog_bad_total",
                                  "--changelog records not understood (logged), left out");
    a->m_dropped = metrics_counter("streamrec_recommender_partition_users_dropped_total",
                                   "users forgotten because their input partition moved to another instance");
    a->m_items = metrics_gauge("streamrec_recommender_model_items", "items in the current model");
    a->m_filtered = metrics_counter("streamrec_recommender_rule_filtered_total", "items removed by filter rules");
    a->m_boosted = metrics_counter("streamrec_recommender_rule_boosted_total", "candidates boosted");
    a->m_divskip = metrics_counter("streamrec_recommender_rule_diversity_skipped_total", "candidates skipped by diversity");
    const char *h = "scoring time per list (model_score + rules), seconds";
    a->m_q50 = metrics_gauge_l("streamrec_recommender_list_seconds", h, "quantile", "0.5");
    a->m_q90 = metrics_gauge_l("streamrec_recommender_list_seconds", h, "quantile", "0.9");
    a->m_q99 = metrics_gauge_l("streamrec_recommender_list_seconds", h, "quantile", "0.99");
    a->m_q999 = metrics_gauge_l("streamrec_recommender_list_seconds", h, "quantile", "0.999");
    a->m_max = metrics_gauge("streamrec_recommender_list_seconds_max", "slowest list, seconds");
    a->m_rate = metrics_gauge("streamrec_recommender_lists_per_thread_second",
                              "lists scored per second of scoring thread time");
}


/* With --state: the output is flushed first, then the histories of the
 * batch and the input offsets are saved together, then offsets committed. */
static int checkpoint(serve_main *a, stream_in *in)
{
    if (!a->st && !a->cl) return 0;
    if (stream_flush(a->out)) return -1;
    return serve_checkpoint(a->s, in);
}

static int do_flush(serve_main *a, stream_in *in, int force_reload)
{
    int rl = serve_reload_check(a->s, force_reload);
    if (rl == 1) metrics_set(a->m_items, serve_model_items(a->s));
    if (serve_flush(a->s, emit_rec, a)) return -1;
    if (checkpoint(a, in) || stream_sync(in, a->out)) return -1;
    update_metrics(a);
    return 0;
}

/* Kafka assigned a partition: its users' histories come first (changelog.h). */
static int64_t on_assign(void *ctx, const char *topic, int32_t partition)
{
    serve_main *a = ctx;
    a->rebalanced = 1;
    return serve_take_partition(a->s, topic, partition);
}

/* Kafka takes partitions away: the pending users' lists are written and
 * their histories saved (changelog, --state) before the offsets are
 * committed, so the next owner starts where these histories end. */
static int before_revoke(void *ctx)
{
    serve_main *a = ctx;
    a->rebalanced = 1;
    if (a->failed) return -1;
    if (serve_flush(a->s, emit_rec, a) || checkpoint(a, a->in)) { a->failed = 1; sig_request_stop(); return -1; }
    a->batch_start = 0;
    return 0;
}

/* After a rebalance: the users of partitions no longer owned are dropped. */
static int after_rebalance(serve_main *a)
{
    a->rebalanced = 0;
    int32_t owned[1024];
    int n = 0;
    stream_part sp;
    while (n < 1024 && stream_in_owned(a->in, n, &sp)) owned[n++] = sp.partition;
    return serve_keep_partitions(a->s, owned, n);
}

/* While the input is quiet (stream_in_set_tick, when libstream has it):
 * flush a due micro-batch, handle SIGHUP. Without it pending users wait for
 * the next record or the end of input. */
static void on_idle_tick(void *ctx)
{
    serve_main *a = ctx;
    if (a->failed) return;
    /* a rebalance while quiet: partitions gone are dropped now, not at the
     * next record (another rebalance could hand one back before it); not
     * while nothing is owned: between an eager revoke and its assignment
     * everything would go, also what comes straight back */
    stream_part any;
    if (a->rebalanced && stream_in_owned(a->in, 0, &any) && after_rebalance(a)) {
        a->failed = 1;
        sig_request_stop();
        return;
    }
    int hup = sig_reload_requested();
    if (serve_pending(a->s) && (hup || mono_us() - a->batch_start >= opt_flush)) {
        if (do_flush(a, a->in, hup) < 0) { a->failed = 1; sig_request_stop(); return; }
        a->batch_start = 0;
    } else if (hup) {
        serve_reload_check(a->s, 1);
    }
}

static void log_done(serve_main *a, uint64_t batch_users)
{
    const serve_stats *st = serve_get_stats(a->s);
    const hist_stats *hs = hist_get_stats(serve_history(a->s));
    log_kv(LOG_INFO, "done",
           "\"events\":%llu,\"not_interaction\":%llu,\"other_type\":%llu,\"unknown_items\":%llu,"
           "\"lists\":%llu,\"short_lists\":%llu,\"batch_users\":%llu,\"users\":%u,\"seen_set_bytes\":%zu,\"evictions\":%llu,"
           "\"history_dropped\":%llu,\"restored_users\":%llu,\"model_history_users\":%llu,\"model_known_events\":%llu,\"pruned_users\":%llu,\"dropped_users\":%llu,\"restored_partitions\":%llu,\"changelog_users\":%llu,\"reloads\":%llu,\"reload_failures\":%llu,"
           "\"score_seconds\":%.3f,\"lists_per_thread_second\":%.0f,\"score_cpu_seconds\":%.3f,\"lists_per_cpu_second\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f",
           (unsigned long long)st->events, (unsigned long long)st->not_interaction, (unsigned long long)a->other,
           (unsigned long long)st->unknown_items, (unsigned long long)st->lists,
           (unsigned long long)st->short_lists, (unsigned long long)batch_users, hist_n_users(serve_history(a->s)),
           hist_set_bytes(serve_history(a->s)),
           (unsigned long long)hs->evictions, (unsigned long long)hs->entries_dropped,
           (unsigned long long)st->restored_users, (unsigned long long)st->model_history_users, (unsigned long long)st->model_known_events, (unsigned long long)st->pruned_users, (unsigned long long)st->dropped_users, (unsigned long long)st->restored_partitions, (unsigned long long)st->changelog_users, (unsigned long long)st->reloads, (unsigned long long)st->reload_failures, st->score_seconds,
           st->score_seconds > 0 ? (double)st->lists / st->score_seconds : 0.0,
           st->score_cpu_seconds, st->score_cpu_seconds > 0 ? (double)st->lists / st->score_cpu_seconds : 0.0,
           serve_latency_quantile(a->s, 0.5) * 1e6, serve_latency_quantile(a->s, 0.99) * 1e6,
           serve_latency_max(a->s) * 1e6);
}

static int serve_cmd(int argc, char **argv)
{
    int first = cli_parse(argc, argv, &serve_spec, &common);
    if (first < argc) cli_usage_error(&serve_spec, "unexpected argument '%s'", argv[first]);
    /* the users batch reads history only from an --in on the command line */
    int events_in = !opt_users || cli_given(&serve_spec, "in");
    if (opt_users && events_in && !strcmp(opt_users, "-") && !strcmp(common.in, "-"))
        cli_usage_error(&serve_spec, "--users -: stdin cannot carry both the users and the --in events");
    if (opt_max_batch >= opt_max_users)
        cli_usage_error(&serve_spec, "--max-batch (%lld) must be below --max-users (%lld), so no pending user is evicted",
                        (long long)opt_max_batch, (long long)opt_max_users);
    if (opt_changelog && (opt_users || !common.in || strncmp(common.in, "kafka://", 8)))
        cli_usage_error(&serve_spec, "--changelog needs a Kafka --in (and no --users)");
    if (opt_changelog && strncmp(opt_changelog, "kafka://", 8))
        cli_usage_error(&serve_spec, "--changelog %s: not a kafka:// URI", opt_changelog);
    cli_start(&serve_spec, &common);

    serve_conf conf = {
        .model_path = opt_model, .rules_path = opt_rules, .top = (uint32_t)opt_top,
        .limits = { (uint32_t)opt_max_users, (uint32_t)opt_max_history, (uint32_t)opt_max_catalog },
        .threads = (uint32_t)opt_threads,
        .state_max_age_us = opt_state_max_age,
        .score_cache_bytes = (size_t)opt_score_cache_mb << 20,
    };
    char err[600];
    int usage;
    serve_main a = {0};
    a.s = serve_new(&conf, err, sizeof err, &usage);
    if (!a.s) {
        if (usage) { fprintf(stderr, "recommender: %s\n", err); metrics_shutdown(); return 2; }
        log_error("%s", err);
        metrics_shutdown();
        return 1;
    }
    register_metrics(&a);
    metrics_set(a.m_items, serve_model_items(a.s));
    if (opt_check) {
        rules *r = opt_rules ? rules_load(opt_rules, err, sizeof err) : rules_default();
        char desc[1024] = "";
        if (r) rules_describe(r, desc, sizeof desc);
        printf("model %s: version %s, %u items\nrules: %s\n", opt_model, serve_model_version(a.s),
               serve_model_items(a.s), desc);
        rules_free(r);
        serve_free(a.s);
        metrics_shutdown();
        return 0;
    }
    log_info("serving model %s (version %s), top %lld, flush every %lld ms", opt_model, serve_model_version(a.s),
             (long long)opt_top, (long long)(opt_flush / 1000));
    int status = 1, rc = 0;
    uint64_t batch_users = 0;
    stream_in *in = NULL;
    if (common.state) {
        a.st = state_open(common.state, "recommender", SERVE_STATE_VERSION, SERVE_STATE_SCHEMA);
        if (!a.st) goto done;
        if (serve_set_state(a.s, a.st)) goto done;
    }
    if (events_in && !(in = stream_in_open(common.in, &common))) goto done;
    if (opt_changelog) {
        char cerr[600];
        a.cl = changelog_open(opt_changelog, &common.kafka_conf, cerr, sizeof cerr);
        if (!a.cl) { log_error("--changelog %s: %s", opt_changelog, cerr); goto done; }
        int np = stream_in_partition_count(in);
        if (np > changelog_partitions(a.cl)) {
            log_error("--changelog %s: %d partitions, fewer than the input's %d: create it with as many",
                      opt_changelog, (int)changelog_partitions(a.cl), np);
            goto done;
        }
        serve_set_changelog(a.s, a.cl);
    }
    if (in && stream_in_is_kafka(in) && !opt_users) {
        stream_in_set_start(in, on_assign, &a);
        stream_in_set_before_revoke(in, before_revoke, &a);
    } else if (in && a.st) {
        stream_in_set_start(in, state_start_offset, a.st);
    }
    a.in = in;
    if (in && !opt_users) stream_in_set_tick(in, (int)(opt_flush / 1000 > 10 ? opt_flush / 1000 : 10), on_idle_tick, &a);
    a.out = stream_out_open(common.out, &common);
    if (!a.out) goto done;
    sd_ready();

    if (in) {
        stream_rec r;
        while ((rc = stream_in_next(in, &r)) == 1) {
            if (a.rebalanced && after_rebalance(&a)) { rc = -1; break; }
            if (r.type == &Event_desc) {
                const char *why;
                serve_set_partition(a.s, r.pos.topic ? r.pos.partition : -1);
                if (serve_event(a.s, &r.as.event, &why) < 0)
                    stream_reject(in, &r.pos, "bad_event", why, r.data, r.len);
            } else {
                a.other++;
            }
            if (opt_users) continue;                 /* batch: history only */
            size_t pend = serve_pending(a.s);
            int64_t now = mono_us();
            if (pend && !a.batch_start) a.batch_start = now;
            int hup = sig_reload_requested();
            if (pend && (now - a.batch_start >= opt_flush || pend >= (size_t)opt_max_batch || hup)) {
                if (do_flush(&a, in, hup) < 0) { rc = -1; break; }
                a.batch_start = 0;
            } else if (hup) {
                serve_reload_check(a.s, 1);
            } else if (stream_sync_due(in)) {
                if (!pend && (checkpoint(&a, in) || stream_sync(in, a.out))) { rc = -1; break; }
                update_metrics(&a);
                sd_status("%llu events, %llu lists, model %s", (unsigned long long)serve_get_stats(a.s)->events,
                          (unsigned long long)serve_get_stats(a.s)->lists, serve_model_version(a.s));
            }
        }
        if (a.failed) rc = -1;
        if (rc == 0 && !opt_users && do_flush(&a, in, sig_reload_requested()) < 0) rc = -1;
    }
    if (rc == 0 && opt_users) {
        if (in && checkpoint(&a, in)) rc = -1;
        serve_forget_pending(a.s);
        serve_reload_check(a.s, sig_reload_requested());
        if (rc == 0 && batch_run(a.s, opt_users, &common, (size_t)opt_max_batch, emit_rec, &a, &batch_users) < 0)
            rc = -1;
        else if (stream_flush(a.out)) rc = -1;
        if (rc == 0 && in && stream_sync(in, a.out)) rc = -1;
    }
    update_metrics(&a);
    if (rc == 0) status = 0;
    log_done(&a, batch_users);
done:
    if (in) stream_in_close(in);
    if (a.out && stream_out_close(a.out) != 0) status = 1;
    sd_stopping();
    serve_free(a.s);
    if (a.st) state_close(a.st);
    changelog_close(a.cl);
    metrics_shutdown();
    return status;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "train")) return train_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "eval")) return eval_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "serve")) return serve_cmd(argc - 1, argv + 1);
    return serve_cmd(argc, argv);
}
