/* serve.h — the serving engine: user histories (history.h) + the current
 * model (model.h) + business rules (rules.h) -> one ranked list per user.
 *
 * The stream (serving.c, called by main.c's runner callbacks) feeds Event
 * records to serve_event, and main.c calls serve_flush when the micro-batch
 * is due; the users batch (users.c through batch.c) calls serve_users. Each list is: model_score over the whole catalogue with the
 * user's current history (so the latest interaction counts at once), then
 * rules_rank (filters, boosts, diversity, top N by a bounded heap).
 *
 * Model swap: serve_reload_check (called by the loop before each flush)
 * looks at the model file's inode, size and mtime and, when they changed or
 * force is set (SIGHUP), loads the new file completely, binds the rules to it
 * and only then swaps it in. Scoring happens only inside serve_flush /
 * serve_users on the calling thread (and its short-lived workers, joined
 * before return), so no list ever mixes two models and the histories — which
 * name items by interned id, not by model index — carry over untouched: no
 * event is lost or misattributed across a swap. A file that fails to load
 * leaves the old model serving (counted, logged once per file change).
 *
 * A user the engine does not hold (and --state does not have) starts from
 * the interactions the model carries for them (model_user_interactions:
 * what they did in the training data, up to `train --user-history`), so
 * the seen filter excludes and the scoring history counts them although
 * this process never saw those events. Users already held keep their
 * history across a model swap (nothing is merged from the new model).
 *
 * Per-user EASE sums (score_cache_bytes, --score-cache-mb): a streamed
 * user's sum is kept after their first list and one row added per new item
 * (serve_event), so a list does not re-sum the history; bounded by the
 * byte budget (FIFO replacement), emptied on a model swap.
 *
 * Not thread-safe: one engine per thread of control. */
#ifndef STREAMREC_REC_SERVE_H
#define STREAMREC_REC_SERVE_H
#include <stddef.h>
#include <stdint.h>
#include "fbrec.h"
#include "history.h"
#include "rules.h"
#include "state.h"

typedef struct serve_conf {
    const char *model_path;     /* required */
    const char *rules_path;     /* NULL: rules_default() (seen items filtered) */
    uint32_t top;               /* list length N */
    hist_limits limits;
    uint32_t threads;           /* scoring threads per flush, >= 1 */
    int64_t state_max_age_us;   /* --state rows not updated for this long are deleted; 0 keeps all */
    size_t score_cache_bytes;   /* per-user EASE sums kept at most (--score-cache-mb); 0: none */
    int no_model_history;       /* do not start new users from the model's training interactions (eval feeds them itself) */
} serve_conf;

typedef struct serve_stats {
    uint64_t events;            /* interactions recorded */
    uint64_t not_interaction;   /* events with weight 0 (impression, exposure) */
    uint64_t unknown_items;     /* recorded interactions whose item the current model does not know */
    uint64_t lists, short_lists, empty_lists;
    uint64_t reloads, reload_failures;
    uint64_t restored_users;    /* histories read back from --state */
    uint64_t model_history_users; /* new users started from the model's training interactions */
    uint64_t model_known_events;  /* events of such users already in those interactions: not counted twice */
    uint64_t duplicate_events;  /* copies of one of the user's last HIST_RECENT_IDS events (same event_id): not counted */
    uint64_t pruned_users;      /* --state rows deleted past --state-max-age */
    uint64_t dropped_users;     /* users forgotten because their partition moved to another instance */
    uint64_t restored_partitions; /* partitions whose histories were read from --changelog */
    uint64_t changelog_users;   /* user histories applied from --changelog (a user may count more than once) */
    uint64_t changelog_bad;     /* --changelog records not understood (logged), left out */
    double score_seconds;       /* wall time inside scoring (all threads together) */
    double score_cpu_seconds;   /* CPU time of the same (all threads): what a list costs a core,
                                 * without the time other processes took the core away */
} serve_stats;

typedef struct serve serve;

/* Loads model and rules. NULL with err ("--model x.db: reason", or the rules
 * file's "FILE:LINE:COL: reason"); *usage set to 1 when the problem is the
 * configuration (exit 2) rather than a runtime failure (exit 1). */
serve *serve_new(const serve_conf *c, char *err, size_t errlen, int *usage);
/* The same engine around a model already in memory (recommender eval: the
 * lists of a freshly trained model through the serving path). The model
 * stays the caller's and must outlive the engine; conf.model_path is not
 * read and serve_reload_check must not be called. */
struct rec_model;
serve *serve_new_model(const serve_conf *c, struct rec_model *m, char *err, size_t errlen, int *usage);
void serve_free(serve *s);

/* Record an Event. 1 recorded, 0 ignored (not an interaction, or a copy
 * of one of the user's last HIST_RECENT_IDS events by event_id), -1 refused
 * with *why set ("missing user_id", ...). */
int serve_event(serve *s, const Event *e, const char **why);

/* Callback for each finished list, in user order. rec->items points into
 * engine memory valid during the call. Non-zero stops the flush (error). */
typedef int (*serve_emit_fn)(void *ctx, const Recommendation *rec);

/* Lists for every pending user (then none is pending). 0, or the emit
 * callback's non-zero return. */
int serve_flush(serve *s, serve_emit_fn emit, void *ctx);
size_t serve_pending(const serve *s);
/* Forget which users are pending (the batch mode loads history only). */
void serve_forget_pending(serve *s);
/* Lists for these users (history from earlier serve_event calls; unknown
 * users get the model's cold-start list). */
int serve_users(serve *s, const char *const *users, const size_t *lens, size_t n,
                serve_emit_fn emit, void *ctx);

/* --state: histories persist in st (table rec_history: one row per user,
 * the hist_encode blob). A user not held in memory is looked up there on
 * their first event or batch request, so evicted users and every user
 * after a restart keep their history. serve_checkpoint saves the users of
 * the last flush and those pending, with the input offsets, in one
 * transaction (call it after the flush's output is flushed). The schema
 * for state_open is SERVE_STATE_SCHEMA. */
#define SERVE_STATE_VERSION 2
extern const char *const SERVE_STATE_SCHEMA;
int serve_set_state(serve *s, state *st);          /* 0, or -1: the file could not be upgraded */
int serve_checkpoint(serve *s, stream_in *in);

/* Partitions (Kafka input). Each held user is tagged with the input
 * partition of their events (serve_set_partition before serve_event).
 * With a changelog (changelog.h) serve_checkpoint also writes the saved
 * users there and a marker per partition whose position moved.
 *
 * serve_take_partition: partition p is assigned to this process (called
 * from the assignment, before any of its records): the offset to read it
 * from, or -1 for the group's committed one. With a changelog, p's users
 * are replaced by what the changelog holds (in memory, or in --state when
 * given) and the start is its last marker; if this process held p and
 * wrote the changelog's last record, nothing is read. Without, p's
 * --state offset. A changelog that cannot be read ends the process
 * (log_fatal): serving p from a partial history is what this prevents.
 * serve_keep_partitions: after a rebalance, every held partition not in
 * owned is dropped (serve_drop_partition): its users leave memory and
 * --state, its saved offset is deleted, so neither is used again. */
struct changelog;
void serve_set_changelog(serve *s, struct changelog *cl);
void serve_set_partition(serve *s, int32_t part);
int64_t serve_take_partition(serve *s, const char *topic, int32_t p);
int serve_drop_partition(serve *s, int32_t p);
int serve_keep_partitions(serve *s, const int32_t *owned, int n);

/* Reload the model (and the rules file) if the model file changed, or
 * unconditionally with force. 1 swapped, 0 nothing to do, -1 failed (old
 * model and rules kept; logged). */
int serve_reload_check(serve *s, int force);

const char *serve_model_version(const serve *s);
uint32_t serve_model_items(const serve *s);
const serve_stats *serve_get_stats(const serve *s);
const hist_store *serve_history(const serve *s);
const rules_counts *serve_rules_counts(const serve *s);   /* summed over threads */
/* Per-list scoring latency quantile (q in [0,1]), seconds; 0 if no list yet. */
double serve_latency_quantile(const serve *s, double q);
double serve_latency_max(const serve *s);
#endif
