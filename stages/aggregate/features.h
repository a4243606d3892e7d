/* features.h — the feature store: per-user and per-item features, kept in
 * the --state database (tables user_features, item_features; README.md
 * documents the columns) with an in-memory cache of the rows in use.
 *
 * Features change when a feature bucket closes (see engine.h): the bucket's
 * per-key deltas are applied in key order at the bucket's end time, so the
 * store's content depends only on the events, not on their arrival order.
 *
 * Formulas (t = the bucket's end, half-lives configurable):
 *   interactions   = views + clicks + add_to_carts + purchases + ratings + custom
 *   avg_rating     = rating_sum / ratings (absent when ratings == 0)
 *   activity_score = sum over events of w(type) * 2^-((t_bucket - t)/H_act),
 *                    w: view 1, click 2, add_to_cart 3, purchase 5, rating 2,
 *                    custom 1, impression and exposure 0; decayed per bucket
 *   popularity     = the same with w = 1 for every interaction and H_pop
 *   recency_score  = 2^-((t - last_seen)/H_rec), in (0, 1]
 *
 * Memory: without a database at most max_keys rows are kept; keys beyond
 * that are not tracked (counted in dropped). With a database, dirty rows are
 * written by agg_features_save (inside the caller's checkpoint transaction)
 * and the cache is emptied when it holds more than max_keys rows; rows are
 * read back on demand. */
#ifndef AGG_FEATURES_H
#define AGG_FEATURES_H
#include <sqlite3.h>
#include <stdint.h>
#include "series.h"

extern const char agg_features_schema[];

typedef struct agg_fcfg {
    int64_t activity_hl, recency_hl, popularity_hl;   /* µs */
    int64_t max_keys;
} agg_fcfg;

typedef struct agg_features agg_features;

/* db may be NULL (memory only); the schema must already exist in db. */
agg_features *agg_features_new(sqlite3 *db, const agg_fcfg *cfg);
void agg_features_free(agg_features *f);
/* Apply d to the row of (item ? item : user) id at time at. Returns the
 * updated row (valid until the next call), NULL if the key was dropped
 * (memory bound without a database) or on a database error (logged; *err set). */
const agg_frow *agg_features_apply(agg_features *f, int item, const char *id, uint32_t len,
                                   const agg_fdelta *d, int64_t at, int *err);
/* Write dirty rows (call inside a transaction). 0 or -1. */
int agg_features_save(agg_features *f);
int agg_features_want_save(const agg_features *f);
uint64_t agg_features_dropped(const agg_features *f);
uint64_t agg_features_cached(const agg_features *f);

uint64_t agg_frow_interactions(const agg_frow *r);
double agg_frow_recency(const agg_features *f, const agg_frow *r, int64_t at);
#endif
