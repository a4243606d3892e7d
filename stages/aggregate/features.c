/* features.c — the feature store (see features.h). */
#include "features.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"

#define FCOLS "interactions, impressions, views, clicks, add_to_carts, purchases, " \
              "ratings, exposures, customs, rating_sum, avg_rating, first_seen, " \
              "last_seen, activity_score, popularity, score_ts"
#define FTABLE(T, K) "CREATE TABLE IF NOT EXISTS " T " (" K " TEXT PRIMARY KEY, " \
    "interactions INTEGER NOT NULL, impressions INTEGER NOT NULL, views INTEGER NOT NULL, " \
    "clicks INTEGER NOT NULL, add_to_carts INTEGER NOT NULL, purchases INTEGER NOT NULL, " \
    "ratings INTEGER NOT NULL, exposures INTEGER NOT NULL, customs INTEGER NOT NULL, " \
    "rating_sum REAL NOT NULL, avg_rating REAL, first_seen INTEGER NOT NULL, " \
    "last_seen INTEGER NOT NULL, activity_score REAL NOT NULL, popularity REAL NOT NULL, " \
    "score_ts INTEGER NOT NULL) WITHOUT ROWID;"

const char agg_features_schema[] = FTABLE("user_features", "user_id") FTABLE("item_features", "item_id");

static const double agg_act_weight[AGG_NTYPES] = { 0, 1, 2, 3, 5, 2, 0, 1 };
static const double agg_pop_weight[AGG_NTYPES] = { 0, 1, 1, 1, 1, 1, 0, 1 };

struct agg_features {
    sqlite3 *db;
    agg_fcfg cfg;
    agg_map cache;
    agg_key key;
    sqlite3_stmt *get[2], *put[2];
    uint64_t dropped;
};

agg_features *agg_features_new(sqlite3 *db, const agg_fcfg *cfg)
{
    agg_features *f = calloc(1, sizeof *f);
    if (!f) log_fatal("aggregate: out of memory");
    f->db = db;
    f->cfg = *cfg;
    agg_map_init(&f->cache);
    if (db) {
        static const char *tab[2] = { "user_features", "item_features" };
        static const char *col[2] = { "user_id", "item_id" };
        for (int i = 0; i < 2; i++) {
            char sql[1024];
            snprintf(sql, sizeof sql, "SELECT " FCOLS " FROM %s WHERE %s = ?1", tab[i], col[i]);
            if (sqlite3_prepare_v2(db, sql, -1, &f->get[i], NULL) != SQLITE_OK) goto fail;
            snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO %s (%s, " FCOLS ") VALUES "
                     "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)", tab[i], col[i]);
            if (sqlite3_prepare_v2(db, sql, -1, &f->put[i], NULL) != SQLITE_OK) goto fail;
        }
    }
    return f;
fail:
    log_error("aggregate: feature store: %s", sqlite3_errmsg(db));
    agg_features_free(f);
    return NULL;
}

void agg_features_free(agg_features *f)
{
    if (!f) return;
    for (int i = 0; i < 2; i++) { sqlite3_finalize(f->get[i]); sqlite3_finalize(f->put[i]); }
    agg_map_free(&f->cache);
    agg_key_free(&f->key);
    free(f);
}

uint64_t agg_frow_interactions(const agg_frow *r)
{
    uint64_t n = 0;
    for (int t = 0; t < AGG_NTYPES; t++) if (agg_pop_weight[t] > 0) n += r->ev[t];
    return n;
}

double agg_frow_recency(const agg_features *f, const agg_frow *r, int64_t at)
{
    double age = (double)(at - r->last_seen);
    if (age < 0) age = 0;
    return exp2(-age / (double)f->cfg.recency_hl);
}

static int load_row(agg_features *f, int item, const char *id, uint32_t len, agg_frow *r, int *found)
{
    sqlite3_stmt *s = f->get[item];
    *found = 0;
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, id, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        /* columns: interactions(0) then per-type counts in EventType order */
        static const int col_of_type[AGG_NTYPES] = { 1, 2, 3, 4, 5, 6, 7, 8 };
        for (int t = 0; t < AGG_NTYPES; t++) r->ev[t] = (uint64_t)sqlite3_column_int64(s, col_of_type[t]);
        r->rating_sum = sqlite3_column_double(s, 9);
        r->first_seen = sqlite3_column_int64(s, 11);
        r->last_seen = sqlite3_column_int64(s, 12);
        r->activity = sqlite3_column_double(s, 13);
        r->popularity = sqlite3_column_double(s, 14);
        r->score_ts = sqlite3_column_int64(s, 15);
        *found = 1;
    } else if (rc != SQLITE_DONE) {
        log_error("aggregate: feature store read: %s", sqlite3_errmsg(f->db));
        sqlite3_reset(s);
        return -1;
    }
    sqlite3_reset(s);
    return 0;
}

const agg_frow *agg_features_apply(agg_features *f, int item, const char *id, uint32_t len,
                                   const agg_fdelta *d, int64_t at, int *err)
{
    *err = 0;
    agg_key_reset(&f->key, AGG_K_FROW);
    agg_key_str(&f->key, item ? "i" : "u", 1);
    agg_key_str(&f->key, id, len);
    uint64_t h = agg_key_hash(f->key.p, f->key.len);
    agg_entry *e = agg_map_find(&f->cache, f->key.p, f->key.len, h);
    if (!e) {
        agg_frow r;
        memset(&r, 0, sizeof r);
        int found = 0;
        if (f->db) {
            if (load_row(f, item, id, len, &r, &found) < 0) { *err = 1; return NULL; }
        } else if ((int64_t)f->cache.n >= f->cfg.max_keys) {
            f->dropped++;
            return NULL;
        }
        if (!found) { r.first_seen = d->min_ts; r.last_seen = d->max_ts; r.score_ts = at; }
        e = agg_map_insert(&f->cache, f->key.p, f->key.len, h);
        e->u.row = r;
    }
    agg_frow *r = &e->u.row;
    double wa = 0, wp = 0;
    for (int t = 0; t < AGG_NTYPES; t++) {
        r->ev[t] += d->ev[t];
        wa += agg_act_weight[t] * (double)d->ev[t];
        wp += agg_pop_weight[t] * (double)d->ev[t];
    }
    r->rating_sum += agg_dd_value(d->rating_sum);
    if (d->min_ts < r->first_seen) r->first_seen = d->min_ts;
    if (d->max_ts > r->last_seen) r->last_seen = d->max_ts;
    double dt = at > r->score_ts ? (double)(at - r->score_ts) : 0;
    r->activity = r->activity * exp2(-dt / (double)f->cfg.activity_hl) + wa;
    r->popularity = r->popularity * exp2(-dt / (double)f->cfg.popularity_hl) + wp;
    if (at > r->score_ts) r->score_ts = at;
    r->dirty = 1;
    return r;
}

static int save_row(agg_features *f, const agg_entry *e)
{
    agg_key_rd rd;
    agg_key_rd_init(&rd, e);
    const char *kind, *id;
    uint32_t kl, il;
    if (!agg_key_next(&rd, &kind, &kl) || !agg_key_next(&rd, &id, &il)) return 0;
    int item = kind[0] == 'i';
    const agg_frow *r = &e->u.row;
    sqlite3_stmt *s = f->put[item];
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, id, (int)il, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (int64_t)agg_frow_interactions(r));
    for (int t = 0; t < AGG_NTYPES; t++) sqlite3_bind_int64(s, 3 + t, (int64_t)r->ev[t]);
    sqlite3_bind_double(s, 11, r->rating_sum);
    if (r->ev[5]) sqlite3_bind_double(s, 12, r->rating_sum / (double)r->ev[5]);
    else sqlite3_bind_null(s, 12);
    sqlite3_bind_int64(s, 13, r->first_seen);
    sqlite3_bind_int64(s, 14, r->last_seen);
    sqlite3_bind_double(s, 15, r->activity);
    sqlite3_bind_double(s, 16, r->popularity);
    sqlite3_bind_int64(s, 17, r->score_ts);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        log_error("aggregate: feature store write: %s", sqlite3_errmsg(f->db));
        return -1;
    }
    return 0;
}

int agg_features_save(agg_features *f)
{
    if (!f->db) return 0;
    for (size_t i = 0; i < f->cache.cap; i++) {
        agg_entry *e = f->cache.slots[i];
        if (!e || !e->u.row.dirty) continue;
        if (save_row(f, e) < 0) return -1;
        e->u.row.dirty = 0;
    }
    /* everything is on disk now: drop the cache when it outgrew its bound */
    if ((int64_t)f->cache.n > f->cfg.max_keys) {
        agg_map_free(&f->cache);
        agg_map_init(&f->cache);
    }
    return 0;
}

int agg_features_want_save(const agg_features *f)
{
    return f->db && (int64_t)f->cache.n > f->cfg.max_keys;
}

uint64_t agg_features_dropped(const agg_features *f) { return f->dropped; }
uint64_t agg_features_cached(const agg_features *f) { return f->cache.n; }
