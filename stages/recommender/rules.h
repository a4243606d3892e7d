/* rules.h — business rules over a scored catalogue: filters, boosts and
 * diversity, then the top-N selection (a bounded heap: no full sort).
 *
 * The rules file (YAML, read strictly through yamlcfg: an unknown key, a
 * wrong type or a value out of bounds is "FILE:LINE:COL: reason"):
 *
 *   filter:
 *     seen:              { enabled: true }     # items the user interacted with (on by default)
 *     already_purchased: { enabled: true }     # items the user bought (matters when seen is off)
 *     blocked:           { items: [i1, i2], file: blocked.txt }
 *     out_of_stock:      { file: oos.txt }     # one item id per line, '#' comments
 *   boost:
 *     stack: false                             # false: only the highest-priority matching boost applies
 *     max_factor: 10                           # with stack: cap on the product of factors
 *     promoted:             { priority: 1, factor: 2.0, items: [i9] }
 *     new_items:            { priority: 2, factor: 1.5, days: 30 }
 *     favourite_categories: { priority: 3, factor: 1.2, top: 3 }
 *   diversity:
 *     max_per_category: 2                      # at most 2 items share any one category/author
 *     pool: 200                                # candidates considered for boosts and diversity
 *
 * Every rule takes `enabled: false` to switch it off; a rule not written is
 * off, except filter.seen which is on unless switched off. Relative file
 * paths are relative to the rules file's directory.
 *
 * Order, fixed and documented (README.md):
 *   1. filters: seen, already purchased, blocked, out of stock remove items
 *      for good — no boost brings them back;
 *   2. boosts: each item gets the factor of its matching boost with the
 *      highest priority (lowest number; ties: promoted, new_items,
 *      favourite_categories), or with stack: true the product of every
 *      matching factor, capped at max_factor. A factor multiplies a positive
 *      score and multiplies a negative one by 1/factor, so a boost always
 *      raises an item;
 *   3. diversity: walking the boosted ranking, an item is taken only if none
 *      of its categories already has max_per_category items in the list;
 *   4. the first N taken are the list (fewer if the rules leave fewer).
 * Boosts by favourite category and diversity work on a candidate pool: the
 * best `pool` items after filters and the item-level boosts (promoted, new);
 * without them the top N come straight from the heap.
 *
 * Items are identified by the model's item index; a catalogue interface
 * (rules_catalog) resolves ids, categories and first-seen times, so rules
 * bind to each model (rules_bind) and rebind after a reload. */
#ifndef STREAMREC_REC_RULES_H
#define STREAMREC_REC_RULES_H
#include <stddef.h>
#include <stdint.h>

/* The parsed file. `line` is where the rule's key sits (0: not written),
 * `enabled_line` where its enabled key sits (0: not written, meaning on). */
typedef struct rules_switch { int enabled, enabled_line, line; } rules_switch;
typedef struct rules_itemset {
    int enabled, enabled_line, line;
    char **items; int nitems;
    char *file; int file_line;
} rules_itemset;
typedef struct rules_boost {
    int enabled, enabled_line, line;
    int64_t priority;                                      /* 0: the default (1, 2, 3) */
    double factor;
    char **items; int nitems; char *file; int file_line;   /* promoted */
    int64_t days;                                          /* new_items, default 30 */
    int64_t top;                                           /* favourite_categories, default 3 */
} rules_boost;
typedef struct rules_filter { rules_switch seen, already_purchased; rules_itemset blocked, out_of_stock; } rules_filter;
typedef struct rules_boosts {
    int stack; double max_factor;
    rules_boost promoted, new_items, favourite_categories;
} rules_boosts;
typedef struct rules_diversity {
    int enabled, enabled_line, line;
    int64_t max_per_category, pool;                        /* pool default max(5 * N, 100) */
} rules_diversity;
typedef struct rules_config {
    rules_filter filter;
    rules_boosts boost;
    rules_diversity diversity;
} rules_config;

typedef struct rules rules;

/* Parse a rules file (or text, for tests). NULL with err "FILE:LINE:COL: reason"
 * or "FILE:LINE: reason" (an unreadable items file names the line of its key). */
rules *rules_load(const char *path, char *err, size_t errlen);
rules *rules_load_string(const char *name, const char *text, char *err, size_t errlen);
/* No rules file: seen items filtered, nothing else. */
rules *rules_default(void);
void rules_free(rules *r);
/* One line per active rule, in the order applied ("filter seen", "boost
 * promoted x2 (priority 1, 3 items)", ...), for the startup log. */
size_t rules_describe(const rules *r, char *buf, size_t n);

/* What the rules need to know about a model's catalogue. */
typedef struct rules_catalog {
    uint32_t n_items;
    const void *ctx;
    int64_t (*index)(const void *ctx, const char *id, size_t len);   /* -1 unknown */
    const char *(*categories)(const void *ctx, uint32_t idx);        /* "A|B", or NULL */
    int64_t (*first_seen)(const void *ctx, uint32_t idx);            /* epoch s, 0 unknown */
} rules_catalog;

/* Rules resolved against one catalogue at time now_s (for "new items"):
 * item lists become index sets, categories are split on '|' and interned.
 * Listed items the catalogue does not know are counted (unknown_items).
 * NULL on out of memory. */
typedef struct rules_bound rules_bound;
rules_bound *rules_bind(const rules *r, const rules_catalog *c, int64_t now_s);
void rules_bound_free(rules_bound *b);
uint32_t rules_bound_unknown_items(const rules_bound *b);
uint32_t rules_bound_n_categories(const rules_bound *b);

/* One item of the user's history, as model index. */
typedef struct rules_hist { uint32_t item; float weight; uint16_t types; /* 1 << EventType */ } rules_hist;
typedef struct rules_pick { uint32_t item; float score; } rules_pick;

/* Per-thread working memory; counters of what the rules did. */
typedef struct rules_counts {
    uint64_t lists, filtered, boosted, diversity_skipped, short_lists;
} rules_counts;
typedef struct rules_scratch rules_scratch;
rules_scratch *rules_scratch_new(const rules_bound *b);
void rules_scratch_free(rules_scratch *s);
const rules_counts *rules_scratch_counts(const rules_scratch *s);

/* Everything the user interacted with / bought, as model indices, beyond
 * the (possibly capped) history h: what the seen and already-purchased
 * filters remove. Items of h count as seen (and bought when their types
 * say so) without being repeated here. */
typedef struct rules_user_sets {
    const uint32_t *seen; size_t nseen;
    const uint32_t *bought; size_t nbought;
} rules_user_sets;

/* Rank one user's list: scores (model_n_items floats, used as scratch:
 * filtered and boosted items become -inf), the user's history and sets (may
 * be NULL) in; up to top picks out, best first, scores after boosts. NaN
 * and -inf scores are never picked. Returns the number of picks. s must
 * come from rules_scratch_new for this b. */
size_t rules_rank(const rules_bound *b, float *scores, const rules_hist *h, size_t nh,
                  const rules_user_sets *sets, size_t top, rules_pick *out, rules_scratch *s);
#endif
