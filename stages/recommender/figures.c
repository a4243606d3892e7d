/* figures.c — the recommender's counter table and the snapshot it reads
 * (serving.h). Rows come in the order the series were registered, then the
 * done line's own rows in its order. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "metrics.h"
#include "serving.h"

typedef struct rec_figures {
    uint64_t events, not_interaction, other_type, unknown_items, lists, short_lists, empty_lists, batch_users;
    uint64_t users, seen_set_bytes, evictions, evicted_pending, history_dropped, catalog_full;
    uint64_t reloads, reload_failures, restored_users, model_history_users, model_known_events, duplicate_events, pruned_users;
    uint64_t dropped_users, restored_partitions, changelog_users, changelog_bad, model_items;
    uint64_t filtered, boosted, diversity_skipped;
    double q50, q90, q99, q999, max_s, rate;   /* seconds per list; rate NaN: no scoring time yet */
    double score_seconds, lists_per_thread_second, score_cpu_seconds, lists_per_cpu_second;
    double p50_us, p99_us, max_us;
} rec_figures;

const size_t rec_figures_size = sizeof(rec_figures);

void rec_figures_fill(void *ctx, runner *r, void *snap)
{
    (void)r;
    rec_run *a = ctx;
    rec_figures *f = snap;
    const serve_stats *st = serve_get_stats(a->s);
    const hist_store *h = serve_history(a->s);
    const hist_stats *hs = hist_get_stats(h);
    const rules_counts *rc = serve_rules_counts(a->s);
    *f = (rec_figures){
        .events = st->events, .not_interaction = st->not_interaction, .other_type = a->other,
        .unknown_items = st->unknown_items, .lists = st->lists, .short_lists = st->short_lists,
        .empty_lists = st->empty_lists, .batch_users = a->batch_users,
        .users = hist_n_users(h), .seen_set_bytes = hist_set_bytes(h), .evictions = hs->evictions,
        .evicted_pending = hs->evicted_pending, .history_dropped = hs->entries_dropped, .catalog_full = hs->catalog_full,
        .reloads = st->reloads, .reload_failures = st->reload_failures, .restored_users = st->restored_users,
        .model_history_users = st->model_history_users, .model_known_events = st->model_known_events,
        .duplicate_events = st->duplicate_events,
        .pruned_users = st->pruned_users, .dropped_users = st->dropped_users,
        .restored_partitions = st->restored_partitions, .changelog_users = st->changelog_users,
        .changelog_bad = st->changelog_bad, .model_items = serve_model_items(a->s),
        .filtered = rc->filtered, .boosted = rc->boosted, .diversity_skipped = rc->diversity_skipped,
        .q50 = serve_latency_quantile(a->s, 0.5), .q90 = serve_latency_quantile(a->s, 0.9),
        .q99 = serve_latency_quantile(a->s, 0.99), .q999 = serve_latency_quantile(a->s, 0.999),
        .max_s = serve_latency_max(a->s),
        .rate = st->score_seconds > 0 ? (double)st->lists / st->score_seconds : NAN,
        .score_seconds = st->score_seconds,
        .lists_per_thread_second = st->score_seconds > 0 ? (double)st->lists / st->score_seconds : 0.0,
        .score_cpu_seconds = st->score_cpu_seconds,
        .lists_per_cpu_second = st->score_cpu_seconds > 0 ? (double)st->lists / st->score_cpu_seconds : 0.0,
    };
    f->p50_us = f->q50 * 1e6;
    f->p99_us = f->q99 * 1e6;
    f->max_us = f->max_s * 1e6;
}

void rec_status(void *ctx, runner *r, char *buf, size_t n)
{
    (void)r;
    size_t l = strlen(buf);
    if (l < n) snprintf(buf + l, n - l, ", model %s", serve_model_version(((rec_run *)ctx)->s));
}

#define O(f) offsetof(rec_figures, f)
#define P "streamrec_recommender_"
#define DONE(f) { COUNTER_DONE_ONLY, NULL, NULL, O(f), #f }
#define DONE_F(f, d) { COUNTER_DONE_ONLY, NULL, NULL, O(f), #f, .value = COUNTER_F64, .decimals = d }
static const char list_seconds_help[] = "scoring time per list (model_score + rules), seconds";
#define LIST_SECONDS(f, q) { COUNTER_GAUGE, P "list_seconds", list_seconds_help, O(f), .value = COUNTER_F64, \
                             .label = "quantile", .label_value = q }
const counter_def rec_counters[] = {
    { COUNTER_TOTAL, P "events_total", "interactions recorded into user histories", O(events), "events", "events" },
    { COUNTER_TOTAL, P "ignored_total", "records not used", O(not_interaction), "not_interaction",
      .label = "reason", .label_value = "not_interaction" },
    { COUNTER_TOTAL, P "ignored_total", "records not used", O(other_type), "other_type",
      .label = "reason", .label_value = "other_type" },
    { COUNTER_TOTAL, P "unknown_items_total", "interactions with items the current model does not know",
      O(unknown_items), "unknown_items" },
    { COUNTER_TOTAL, P "lists_total", "Recommendation records written", O(lists), "lists", "lists" },
    { COUNTER_TOTAL, P "short_lists_total", "lists shorter than --top (rules or catalogue)", O(short_lists),
      "short_lists" },
    { COUNTER_TOTAL, P "empty_lists_total", "lists with no item", O(empty_lists) },
    DONE(batch_users),
    { COUNTER_GAUGE, P "users", "user histories held", O(users), "users" },
    { COUNTER_GAUGE, P "seen_set_bytes",
      "memory of the held users' seen and bought item sets (the complete seen filter)", O(seen_set_bytes),
      "seen_set_bytes" },
    { COUNTER_TOTAL, P "user_evictions_total", "users evicted past --max-users", O(evictions), "evictions" },
    { COUNTER_TOTAL, P "user_evictions_pending_total", "evicted users whose list was still pending",
      O(evicted_pending) },
    { COUNTER_TOTAL, P "history_dropped_total", "interactions replaced past --max-history", O(history_dropped),
      "history_dropped" },
    { COUNTER_TOTAL, P "catalog_full_total", "events refused past --max-catalog", O(catalog_full) },
    { COUNTER_TOTAL, P "model_reloads_total", "model swaps", O(reloads) },
    { COUNTER_TOTAL, P "model_reload_failures_total", "model files that failed to load (old model kept)",
      O(reload_failures) },
    { COUNTER_TOTAL, P "restored_users_total", "user histories read back from --state (evicted users, restarts)",
      O(restored_users), "restored_users" },
    { COUNTER_TOTAL, P "model_history_users_total",
      "users new to this process whose history started from the model's training interactions",
      O(model_history_users), "model_history_users" },
    DONE(model_known_events),
    DONE(duplicate_events),
    { COUNTER_TOTAL, P "pruned_users_total", "saved histories deleted from --state past --state-max-age",
      O(pruned_users), "pruned_users" },
    DONE(dropped_users),
    { COUNTER_TOTAL, P "partitions_restored_total",
      "input partitions whose users' histories were read from --changelog", O(restored_partitions),
      "restored_partitions" },
    { COUNTER_TOTAL, P "changelog_users_total", "user histories applied from --changelog", O(changelog_users),
      "changelog_users" },
    DONE(reloads),
    DONE(reload_failures),
    { COUNTER_TOTAL, P "changelog_bad_total", "--changelog records not understood (logged), left out",
      O(changelog_bad) },
    { COUNTER_TOTAL, P "partition_users_dropped_total",
      "users forgotten because their input partition moved to another instance", O(dropped_users) },
    { COUNTER_GAUGE, P "model_items", "items in the current model", O(model_items) },
    { COUNTER_TOTAL, P "rule_filtered_total", "items removed by filter rules", O(filtered) },
    { COUNTER_TOTAL, P "rule_boosted_total", "candidates boosted", O(boosted) },
    { COUNTER_TOTAL, P "rule_diversity_skipped_total", "candidates skipped by diversity", O(diversity_skipped) },
    LIST_SECONDS(q50, "0.5"), LIST_SECONDS(q90, "0.9"), LIST_SECONDS(q99, "0.99"), LIST_SECONDS(q999, "0.999"),
    { COUNTER_GAUGE, P "list_seconds_max", "slowest list, seconds", O(max_s), .value = COUNTER_F64 },
    { COUNTER_GAUGE, P "lists_per_thread_second", "lists scored per second of scoring thread time", O(rate),
      .value = COUNTER_F64 },
    DONE_F(score_seconds, 3), DONE_F(lists_per_thread_second, 0), DONE_F(score_cpu_seconds, 3),
    DONE_F(lists_per_cpu_second, 0), DONE_F(p50_us, 1), DONE_F(p99_us, 1), DONE_F(max_us, 1),
    { 0 }
};

void rec_counters_start(counters *cn) { counters_init(cn, rec_counters); }

void rec_counters_end(counters *cn, rec_run *a, int done_line)
{
    rec_figures f;
    rec_figures_fill(a, NULL, &f);
    counters_publish(cn, &f);
    metrics_tick();
    if (!done_line) return;
    char fields[2048];
    counters_done(cn, &f, fields, sizeof fields);
    log_kv(LOG_INFO, "done", "%s", fields);
}
