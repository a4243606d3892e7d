/* serve.c — the serving engine (serve.h): histories, the current model and
 * its bound rules, micro-batch scoring on worker threads, model swap.
 *
 * Items: the history interns item ids (gid); `map` translates gid -> index
 * in the current model (-1 unknown), extended as new gids appear and
 * rebuilt whole on a swap, so one lookup per distinct item per model.
 *
 * Latency: every list's scoring time (model_score + rules_rank) goes into a
 * log-linear histogram (16 buckets per power of two: quantiles within 6%),
 * which is what the quantiles in the metrics file come from. */
#include "serve.h"
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "changelog.h"
#include "hash.h"
#include "log.h"
#include "model.h"
#include "modelfile.h"
#include "score.h"
#include "timefmt.h"

static uint64_t ns_now(void);

#define LAT_BUCKETS (16 + 60 * 16)       /* lat_bucket() of any 64-bit value */
#define RULES_REBIND_S 3600           /* "new items" horizon moves with the clock */

/* One user of a worker's group (see worker_run): their history as the
 * model sees it, their item sets, and their ALS scores. */
typedef struct lane {
    hist_entry *he; rules_hist *rh; size_t hcap;
    uint32_t *seen, *bought; size_t seencap, boughtcap;   /* the user's sets as model indices */
    rules_user_sets sets;
    size_t k, ks;                     /* history entries; with the older seen items */
    float *als;                       /* n_items: the ALS part (model_als_batch) */
    uint8_t als_ok;
} lane;

typedef struct worker {
    model_scratch *ms;
    rules_scratch *rs;
    float *scores;
    lane ln[ALS_BATCH];
    uint8_t *mark;                    /* n_items, all 0 between lists: the history's items */
    /* job */
    struct serve *s;
    const uint32_t *slots;            /* UINT32_MAX: a user without history */
    size_t from, to;
    double secs, cpu_secs;
    pthread_t tid;
} worker;

/* Per-user EASE sums (model_ease_dim int32s each, exact: see score.h), so a list costs the
 * same whatever the history's length: filled when a user's streamed list is first
 * scored, then one row added per new item as events arrive. A fixed pool
 * of entries within --score-cache-mb, replaced in FIFO order (never one of
 * the batch being scored); an entry belongs to (slot, hist_slot_gen), so
 * an evicted or restored user never sees another's sum. Emptied when the
 * model changes. */
typedef struct ease_cache {
    uint32_t dim, n, hand;
    int32_t *acc;                     /* n * dim */
    uint32_t *slot, *gen;             /* owner of each entry (gen 0: free) */
    uint8_t *state;                   /* model_score_cached's state */
    uint64_t *batch;                  /* the batch that last used the entry */
    uint32_t *of_slot; size_t of_cap; /* user slot -> entry + 1 */
} ease_cache;

typedef struct file_id { dev_t dev; ino_t ino; off_t size; struct timespec mtime; } file_id;

struct serve {
    serve_conf conf;
    int borrowed;                     /* the model belongs to the caller (serve_new_model) */
    hist_store *hist;
    rec_model *model;
    rules *rules;
    rules_bound *rb;
    int64_t bound_at;                 /* epoch s */
    int32_t *map; uint32_t map_n, map_cap;
    file_id loaded, failed;
    int have_failed;
    worker *w; uint32_t nw;
    /* batch output */
    rules_pick *picks; uint32_t *npicks; uint64_t *lat_ns; uint32_t *bslots; size_t bcap;
    ScoredItem *items;
    rules_counts rc_total;            /* counts of workers freed by swaps */
    size_t last_n;                    /* users of the last batch not yet checkpointed */
    state *sdb;
    sqlite3_stmt *st_get, *st_put, *st_prune;
    changelog *cl;
    int32_t cur_part;                 /* input partition of the event being recorded, -1 none */
    /* per input partition (index = partition): held (its users may be in
     * memory or --state), and the input offset of the last changelog
     * marker this process wrote, -1 none */
    uint8_t *p_held; size_t p_cap;
    int64_t pruned_at;          /* when state_prune last ran (us), 0: never */
    uint8_t *enc; size_t enclen, enccap;
    ease_cache ec;
    int32_t *bent;                    /* the batch's cache entries, -1: none */
    /* users started from the model: (hist_slot_gen, newest training time
     * in µs) by slot, so a replayed training event does not count twice */
    uint32_t *mh_gen; int64_t *mh_until; size_t mh_cap;
    uint64_t batch_no;
    uint64_t lat[LAT_BUCKETS];
    uint64_t lat_n, lat_max;
    serve_stats st;
};

/* ---- model bookkeeping ---- */

static int file_stat(const char *path, file_id *id)
{
    struct stat sb;
    if (stat(path, &sb)) return -1;
    id->dev = sb.st_dev;
    id->ino = sb.st_ino;
    id->size = sb.st_size;
    id->mtime = sb.st_mtim;
    return 0;
}

static int file_same(const file_id *a, const file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static int64_t cat_index(const void *ctx, const char *id, size_t len) { return model_item_index(ctx, id, len); }
static const char *cat_cats(const void *ctx, uint32_t i) { return model_item_categories(ctx, i); }
static int64_t cat_first(const void *ctx, uint32_t i) { return model_item_first_seen(ctx, i); }

static rules_bound *bind_rules(const rules *r, const rec_model *m, int64_t now_s)
{
    rules_catalog c = { model_n_items(m), m, cat_index, cat_cats, cat_first };
    return rules_bind(r, &c, now_s);
}

static void workers_free(serve *s)
{
    for (uint32_t i = 0; i < s->nw; i++) {
        worker *w = &s->w[i];
        if (w->rs) {
            const rules_counts *c = rules_scratch_counts(w->rs);
            s->rc_total.lists += c->lists;
            s->rc_total.filtered += c->filtered;
            s->rc_total.boosted += c->boosted;
            s->rc_total.diversity_skipped += c->diversity_skipped;
            s->rc_total.short_lists += c->short_lists;
        }
        model_scratch_free(w->ms);
        rules_scratch_free(w->rs);
        free(w->scores); free(w->mark);
        for (int g = 0; g < ALS_BATCH; g++) {
            lane *l = &w->ln[g];
            free(l->he); free(l->rh); free(l->seen); free(l->bought); free(l->als);
        }
    }
    free(s->w);
    s->w = NULL;
    s->nw = 0;
}

static int workers_new(serve *s)
{
    uint32_t n = s->conf.threads ? s->conf.threads : 1;
    s->w = calloc(n, sizeof *s->w);
    if (!s->w) return -1;
    s->nw = n;
    for (uint32_t i = 0; i < n; i++) {
        worker *w = &s->w[i];
        w->s = s;
        w->ms = model_scratch_new(s->model);
        w->rs = rules_scratch_new(s->rb);
        w->scores = malloc(((size_t)model_n_items(s->model) + 1) * sizeof *w->scores);
        w->mark = calloc((size_t)model_n_items(s->model) + 1, 1);
        if (!w->ms || !w->rs || !w->scores || !w->mark) return -1;
        /* a model without a batchable ALS part needs none of these */
        for (int g = 0; g < ALS_BATCH && model_als_batchable(s->model); g++)
            if (!(w->ln[g].als = malloc(((size_t)model_n_items(s->model) + 1) * sizeof *w->ln[g].als))) return -1;
    }
    return 0;
}

/* Extend the gid -> model index map to every interned item. */
static int map_sync(serve *s)
{
    uint32_t n = hist_n_gids(s->hist);
    if (n <= s->map_n) return 0;
    if (n > s->map_cap) {
        uint32_t cap = s->map_cap ? s->map_cap : 1024;
        while (cap < n) cap *= 2;
        int32_t *m = realloc(s->map, cap * sizeof *m);
        if (!m) return -1;
        s->map = m;
        s->map_cap = cap;
    }
    for (uint32_t g = s->map_n; g < n; g++) {
        size_t len;
        const char *id = hist_gid_str(s->hist, g, &len);
        int64_t idx = model_item_index(s->model, id, len);
        s->map[g] = idx < 0 ? -1 : (int32_t)idx;
    }
    s->map_n = n;
    return 0;
}

static void cache_free(ease_cache *c)
{
    free(c->acc); free(c->slot); free(c->gen); free(c->state); free(c->batch); free(c->of_slot);
    memset(c, 0, sizeof *c);
}

/* An empty cache for the current model, within budget bytes. */
static void cache_new(serve *s)
{
    ease_cache *c = &s->ec;
    cache_free(c);
    uint32_t dim = model_ease_dim(s->model);
    if (!dim || !s->conf.score_cache_bytes) return;
    size_t per = (size_t)dim * sizeof(int32_t) + 2 * sizeof(uint32_t) + 1 + sizeof(uint64_t);
    size_t n = s->conf.score_cache_bytes / per;
    if (n > INT32_MAX) n = INT32_MAX;
    if (!n) return;
    c->acc = malloc(n * dim * sizeof *c->acc);
    c->slot = calloc(n, sizeof *c->slot);
    c->gen = calloc(n, sizeof *c->gen);
    c->state = calloc(n, 1);
    c->batch = calloc(n, sizeof *c->batch);
    if (!c->acc || !c->slot || !c->gen || !c->state || !c->batch) { cache_free(c); log_fatal("out of memory (--score-cache-mb)"); }
    c->dim = dim;
    c->n = (uint32_t)n;
}

/* The valid entry of a user, or -1. */
static int64_t cache_find(const serve *s, uint32_t slot)
{
    const ease_cache *c = &s->ec;
    if (!c->n || slot >= c->of_cap || !c->of_slot[slot]) return -1;
    uint32_t e = c->of_slot[slot] - 1;
    return c->slot[e] == slot && c->gen[e] == hist_slot_gen(s->hist, slot) && c->gen[e] ? (int64_t)e : -1;
}

/* The user's entry for this batch: theirs, or a new one (state 0); -1 when
 * every entry is taken by this batch. */
static int64_t cache_take(serve *s, uint32_t slot)
{
    ease_cache *c = &s->ec;
    if (!c->n || slot == UINT32_MAX) return -1;
    int64_t e = cache_find(s, slot);
    if (e < 0) {
        uint32_t tries = 0;
        while (c->batch[c->hand] == s->batch_no && tries++ < c->n) c->hand = (c->hand + 1) % c->n;
        if (c->batch[c->hand] == s->batch_no) return -1;
        e = c->hand;
        c->hand = (c->hand + 1) % c->n;
        if (slot >= c->of_cap) {
            size_t cap = c->of_cap ? c->of_cap : 1024;
            while (cap <= slot) cap *= 2;
            uint32_t *o = realloc(c->of_slot, cap * sizeof *o);
            if (!o) log_fatal("out of memory");
            memset(o + c->of_cap, 0, (cap - c->of_cap) * sizeof *o);
            c->of_slot = o;
            c->of_cap = cap;
        }
        c->slot[e] = slot;
        c->gen[e] = hist_slot_gen(s->hist, slot);
        c->state[e] = 0;
        c->of_slot[slot] = (uint32_t)e + 1;
    }
    c->batch[e] = s->batch_no;
    return e;
}

/* Install model m with rules r (both taken); frees the old ones. */
static int install(serve *s, rec_model *m, rules *r, rules_bound *rb, const file_id *id)
{
    workers_free(s);
    if (s->model) model_free(s->model);
    if (s->rules && s->rules != r) rules_free(s->rules);
    rules_bound_free(s->rb);
    s->model = m;
    s->rules = r;
    s->rb = rb;
    s->bound_at = now_us() / 1000000;
    s->loaded = *id;
    s->map_n = 0;
    if (map_sync(s) || workers_new(s)) return -1;
    cache_new(s);
    return 0;
}

static rules *load_rules(const char *path, char *err, size_t errlen)
{
    if (!path) {
        rules *r = rules_default();
        if (!r) snprintf(err, errlen, "out of memory");
        return r;
    }
    return rules_load(path, err, errlen);
}

serve *serve_new(const serve_conf *c, char *err, size_t errlen, int *usage)
{
    *usage = 0;
    serve *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return NULL; }
    s->conf = *c;
    s->cur_part = -1;
    if (!s->conf.top) s->conf.top = 10;
    rules *r = load_rules(c->rules_path, err, errlen);
    if (!r) { *usage = 1; free(s); return NULL; }
    file_id id;
    if (file_stat(c->model_path, &id)) {
        snprintf(err, errlen, "--model %s: %s", c->model_path, strerror(errno));
        rules_free(r);
        free(s);
        return NULL;
    }
    char merr[400];
    rec_model *m = model_load(c->model_path, merr, sizeof merr);
    if (!m) {
        snprintf(err, errlen, "--model %s: %s", c->model_path, merr);
        rules_free(r);
        free(s);
        return NULL;
    }
    rules_bound *rb = bind_rules(r, m, now_us() / 1000000);
    s->hist = hist_new(&c->limits);
    if (!rb || !s->hist || install(s, m, r, rb, &id)) {
        snprintf(err, errlen, "out of memory");
        if (!s->model) { model_free(m); rules_free(r); rules_bound_free(rb); }
        serve_free(s);
        return NULL;
    }
    return s;
}

serve *serve_new_model(const serve_conf *c, rec_model *m, char *err, size_t errlen, int *usage)
{
    *usage = 0;
    serve *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return NULL; }
    s->conf = *c;
    s->cur_part = -1;
    if (!s->conf.top) s->conf.top = 10;
    s->borrowed = 1;
    rules *r = load_rules(c->rules_path, err, errlen);
    if (!r) { *usage = 1; free(s); return NULL; }
    file_id none = { 0 };
    rules_bound *rb = bind_rules(r, m, now_us() / 1000000);
    s->hist = hist_new(&c->limits);
    if (!rb || !s->hist || install(s, m, r, rb, &none)) {
        snprintf(err, errlen, "out of memory");
        if (!s->model) { rules_free(r); rules_bound_free(rb); }
        serve_free(s);
        return NULL;
    }
    return s;
}

void serve_free(serve *s)
{
    if (!s) return;
    workers_free(s);
    if (s->model && !s->borrowed) model_free(s->model);
    rules_free(s->rules);
    rules_bound_free(s->rb);
    hist_free(s->hist);
    if (s->st_get) sqlite3_finalize(s->st_get);
    if (s->st_put) sqlite3_finalize(s->st_put);
    if (s->st_prune) sqlite3_finalize(s->st_prune);
    free(s->p_held);
    free(s->enc);
    cache_free(&s->ec);
    free(s->bent);
    free(s->mh_gen); free(s->mh_until);
    free(s->map);
    free(s->picks); free(s->npicks); free(s->lat_ns); free(s->bslots); free(s->items);
    free(s);
}

int serve_reload_check(serve *s, int force)
{
    file_id id;
    if (file_stat(s->conf.model_path, &id)) {
        if (force) log_warn("reload: --model %s: %s (keeping model %s)", s->conf.model_path, strerror(errno),
                            model_version(s->model));
        return force ? -1 : 0;
    }
    if (!force && file_same(&id, &s->loaded)) return 0;
    if (!force && s->have_failed && file_same(&id, &s->failed)) return 0;
    char err[400];
    rules *r = s->rules;
    if (force && s->conf.rules_path) {
        r = load_rules(s->conf.rules_path, err, sizeof err);
        if (!r) goto fail;
    }
    rec_model *m = model_load(s->conf.model_path, err, sizeof err);
    if (!m) { if (r != s->rules) rules_free(r); goto fail; }
    rules_bound *rb = bind_rules(r, m, now_us() / 1000000);
    if (!rb) { snprintf(err, sizeof err, "out of memory"); model_free(m); if (r != s->rules) rules_free(r); goto fail; }
    char old[64];
    snprintf(old, sizeof old, "%s", model_version(s->model));
    if (install(s, m, r, rb, &id)) log_fatal("reload: out of memory");
    s->have_failed = 0;
    s->st.reloads++;
    char e1[128], e2[128];
    log_kv(LOG_INFO, "model reloaded", "\"from\":\"%s\",\"to\":\"%s\",\"items\":%u,\"unknown_rule_items\":%u",
           log_jesc(e1, sizeof e1, old), log_jesc(e2, sizeof e2, model_version(m)), model_n_items(m),
           rules_bound_unknown_items(rb));
    return 1;
fail:
    s->st.reload_failures++;
    s->failed = id;
    s->have_failed = 1;
    log_error("reload failed, still serving model %s: %s", model_version(s->model), err);
    return -1;
}

/* ---- --state ---- */

/* part: the input partition of the user's events (-1 a byte stream, or a
 * row of version 1); model_until: the end of the user's training data
 * when their history started from the model (NULL otherwise). */
const char *const SERVE_STATE_SCHEMA =
    "CREATE TABLE IF NOT EXISTS rec_history(user_id TEXT PRIMARY KEY, items BLOB NOT NULL, updated INTEGER,"
    " part INTEGER NOT NULL DEFAULT -1, model_until INTEGER);"
    "CREATE INDEX IF NOT EXISTS rec_history_updated ON rec_history(updated);";

int serve_set_state(serve *s, state *st)
{
    s->sdb = st;
    /* a version 1 file has neither column: added (its rows: partition unknown) */
    sqlite3_stmt *q = NULL;
    int has_part = 0;
    if (sqlite3_prepare_v2(state_db(st), "SELECT 1 FROM pragma_table_info('rec_history') WHERE name = 'part'", -1,
                           &q, NULL) == SQLITE_OK)
        has_part = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    if (!has_part &&
        state_exec(st, "ALTER TABLE rec_history ADD COLUMN part INTEGER NOT NULL DEFAULT -1;"
                       "ALTER TABLE rec_history ADD COLUMN model_until INTEGER;"))
        return -1;
    return state_exec(st, "CREATE INDEX IF NOT EXISTS rec_history_part ON rec_history(part)");
}

void serve_set_changelog(serve *s, changelog *cl) { s->cl = cl; }
void serve_set_partition(serve *s, int32_t part) { s->cur_part = part; }

/* The end of the user's training data if their history started from the
 * model and was not replaced since, else INT64_MIN. */
static int64_t mh_get(const serve *s, uint32_t slot)
{
    if (slot < s->mh_cap && s->mh_gen[slot] && s->mh_gen[slot] == hist_slot_gen(s->hist, slot)) return s->mh_until[slot];
    return INT64_MIN;
}

static void mh_set(serve *s, uint32_t slot, int64_t until)
{
    if (slot >= s->mh_cap) {
        size_t cap = s->mh_cap ? s->mh_cap : 1024;
        while (cap <= slot) cap *= 2;
        uint32_t *g = realloc(s->mh_gen, cap * sizeof *g);
        if (g) s->mh_gen = g;
        int64_t *t = realloc(s->mh_until, cap * sizeof *t);
        if (t) s->mh_until = t;
        if (!g || !t) log_fatal("out of memory");
        memset(s->mh_gen + s->mh_cap, 0, (cap - s->mh_cap) * sizeof *g);
        s->mh_cap = cap;
    }
    s->mh_gen[slot] = until == INT64_MIN ? 0 : hist_slot_gen(s->hist, slot);
    s->mh_until[slot] = until;
}

/* The user's saved history into memory: slot, or -1 (none saved, or unreadable). */
static int64_t state_restore(serve *s, const char *user, size_t ulen)
{
    sqlite3 *db = state_db(s->sdb);
    if (!s->st_get && sqlite3_prepare_v2(db, "SELECT items, part, model_until FROM rec_history WHERE user_id = ?", -1, &s->st_get, NULL)) {
        log_error("--state: %s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_text(s->st_get, 1, user, (int)ulen, SQLITE_STATIC);
    int64_t slot = -1;
    int rc = sqlite3_step(s->st_get);
    if (rc == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(s->st_get, 0);
        int n = sqlite3_column_bytes(s->st_get, 0);
        slot = hist_decode(s->hist, user, ulen, p, (size_t)n);
        if (hist_get_stats(s->hist)->set_oom) log_fatal("out of memory (the user's seen items)");
        if (slot >= 0) {
            hist_set_part(s->hist, (uint32_t)slot, sqlite3_column_int(s->st_get, 1));
            mh_set(s, (uint32_t)slot, sqlite3_column_type(s->st_get, 2) == SQLITE_NULL ? INT64_MIN
                                                                                      : sqlite3_column_int64(s->st_get, 2));
        }
        if (slot < 0) log_warn("--state: the saved history of %.*s is unreadable: ignored", (int)(ulen > 64 ? 64 : ulen), user);
        else s->st.restored_users++;
        if (slot >= 0 && map_sync(s)) log_fatal("out of memory");
    } else if (rc != SQLITE_DONE) {
        log_error("--state: %s", sqlite3_errmsg(db));
    }
    sqlite3_reset(s->st_get);
    sqlite3_clear_bindings(s->st_get);
    return slot;
}

static int state_put_row(serve *s, const char *uid, size_t ulen, const uint8_t *blob, size_t n, int32_t part,
                         int64_t until)
{
    sqlite3_bind_text(s->st_put, 1, uid, (int)ulen, SQLITE_STATIC);
    sqlite3_bind_blob64(s->st_put, 2, blob, n, SQLITE_STATIC);
    sqlite3_bind_int64(s->st_put, 3, now_us());
    sqlite3_bind_int(s->st_put, 4, part);
    if (until == INT64_MIN) sqlite3_bind_null(s->st_put, 5);
    else sqlite3_bind_int64(s->st_put, 5, until);
    int rc = sqlite3_step(s->st_put) == SQLITE_DONE ? 0 : -1;
    if (rc) log_error("--state: save history: %s", sqlite3_errmsg(state_db(s->sdb)));
    sqlite3_reset(s->st_put);
    return rc;
}

static int state_save_user(serve *s, uint32_t slot)
{
    s->enclen = 0;
    if (hist_encode(s->hist, slot, &s->enc, &s->enclen, &s->enccap)) return -1;
    size_t ulen;
    const char *uid = hist_user_id(s->hist, slot, &ulen);
    return state_put_row(s, uid, ulen, s->enc, s->enclen, hist_part(s->hist, slot), mh_get(s, slot));
}

/* Delete the rows of users inactive for longer than --state-max-age, so the
 * file stays bounded by the users active within that age. Runs inside the
 * checkpoint's transaction, at most once per PRUNE_EVERY_US (or per max age
 * when that is shorter), through the index on `updated`. */
#define PRUNE_EVERY_US 60000000LL
static int state_prune(serve *s)
{
    int64_t age = s->conf.state_max_age_us, now = now_us();
    if (age <= 0) return 0;
    int64_t every = age < PRUNE_EVERY_US ? age : PRUNE_EVERY_US;
    if (s->pruned_at && now - s->pruned_at < every) return 0;
    s->pruned_at = now;
    sqlite3 *db = state_db(s->sdb);
    if (!s->st_prune && sqlite3_prepare_v2(db, "DELETE FROM rec_history WHERE updated < ?", -1, &s->st_prune, NULL)) {
        log_error("--state: %s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(s->st_prune, 1, now - age);
    int rc = sqlite3_step(s->st_prune) == SQLITE_DONE ? 0 : -1;
    if (rc) log_error("--state: prune: %s", sqlite3_errmsg(db));
    else s->st.pruned_users += (uint64_t)sqlite3_changes(db);
    sqlite3_reset(s->st_prune);
    return rc;
}

static int state_prepare_put(serve *s)
{
    sqlite3 *db = state_db(s->sdb);
    if (!s->st_put && sqlite3_prepare_v2(db, "INSERT INTO rec_history(user_id, items, updated, part, model_until) "
                                         "VALUES(?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET "
                                         "items = excluded.items, updated = excluded.updated, part = excluded.part, "
                                         "model_until = excluded.model_until", -1, &s->st_put, NULL)) {
        log_error("--state: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

/* Per-partition bookkeeping, grown to hold partition p. -1 out of memory. */
static int part_slot(serve *s, int32_t p)
{
    if (p < 0) return -1;
    if ((size_t)p >= s->p_cap) {
        size_t cap = s->p_cap ? s->p_cap : 16;
        while (cap <= (size_t)p) cap *= 2;
        uint8_t *h = realloc(s->p_held, cap);
        if (!h) log_fatal("out of memory");
        s->p_held = h;
        for (size_t i = s->p_cap; i < cap; i++) s->p_held[i] = 0;
        s->p_cap = cap;
    }
    return 0;
}

/* --changelog: the users of the last batch and those pending, then, once
 * all are acknowledged, a marker for each owned partition whose position
 * moved since its last one (so the next owner starts right there). */
static int changelog_write_users(serve *s, stream_in *in)
{
    size_t np;
    const uint32_t *pend = hist_pending(s->hist, &np);
    for (size_t k = 0; k < s->last_n + np; k++) {
        uint32_t slot = k < s->last_n ? s->bslots[k] : pend[k - s->last_n];
        size_t ulen;
        const char *uid = hist_user_id(s->hist, slot, &ulen);
        if (!uid) continue;
        s->enclen = 0;
        if (hist_encode(s->hist, slot, &s->enc, &s->enclen, &s->enccap) ||
            changelog_put(s->cl, hist_part(s->hist, slot), uid, ulen, mh_get(s, slot), s->enc, s->enclen))
            return -1;
    }
    return changelog_checkpoint(s->cl, in);
}

int serve_checkpoint(serve *s, stream_in *in)
{
    if (s->cl && in && changelog_write_users(s, in)) return -1;
    if (!s->sdb) { s->last_n = 0; return 0; }
    if (state_prepare_put(s)) return -1;
    if (state_begin(s->sdb)) return -1;
    size_t np;
    const uint32_t *pend = hist_pending(s->hist, &np);
    for (size_t i = 0; i < s->last_n; i++)
        if (hist_user_id(s->hist, s->bslots[i], NULL) && state_save_user(s, s->bslots[i])) goto fail;
    for (size_t i = 0; i < np; i++) if (state_save_user(s, pend[i])) goto fail;
    if (state_prune(s)) goto fail;
    if (state_save_offsets(s->sdb, in) || state_commit(s->sdb)) goto fail;
    s->last_n = 0;
    return 0;
fail:
    state_rollback(s->sdb);
    return -1;
}

/* Forget partition p's users here: memory, --state rows and its saved
 * offset (another instance owns p now, or is about to hand it over). */
static int part_forget(serve *s, int32_t p)
{
    uint32_t n = hist_drop_part(s->hist, p);
    if (s->sdb) {
        sqlite3 *db = state_db(s->sdb);
        sqlite3_stmt *q = NULL;
        int rc = sqlite3_prepare_v2(db, "DELETE FROM rec_history WHERE part = ?", -1, &q, NULL);
        if (rc == SQLITE_OK) { sqlite3_bind_int(q, 1, p); rc = sqlite3_step(q) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR; }
        sqlite3_finalize(q);
        q = NULL;
        if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, "DELETE FROM streamrec_offsets WHERE partition = ?", -1, &q, NULL);
        if (rc == SQLITE_OK) { sqlite3_bind_int(q, 1, p); rc = sqlite3_step(q) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR; }
        sqlite3_finalize(q);
        if (rc != SQLITE_OK) { log_error("--state: forget partition %d: %s", (int)p, sqlite3_errmsg(db)); return -1; }
    }
    if (n) log_kv(LOG_INFO, "partition's users dropped", "\"partition\":%d,\"users\":%u", (int)p, n);
    s->st.dropped_users += n;
    return 0;
}

int serve_drop_partition(serve *s, int32_t p)
{
    if (part_slot(s, p)) return 0;
    if (!s->p_held[p]) return 0;
    s->p_held[p] = 0;
    if (s->cl) changelog_forget(s->cl, p);
    return part_forget(s, p);
}

int serve_keep_partitions(serve *s, const int32_t *owned, int n)
{
    for (size_t p = 0; p < s->p_cap; p++) {
        if (!s->p_held[p]) continue;
        int keep = 0;
        for (int i = 0; i < n && !keep; i++) keep = owned[i] == (int32_t)p;
        if (!keep && serve_drop_partition(s, (int32_t)p)) return -1;
    }
    return 0;
}

typedef struct restore_ctx { serve *s; int32_t part; uint64_t evicted; } restore_ctx;

static int restore_user(void *ctx, const char *user, size_t ulen, int64_t until, const uint8_t *blob, size_t n)
{
    restore_ctx *rc = ctx;
    serve *s = rc->s;
    if (s->sdb) return state_put_row(s, user, ulen, blob, n, rc->part, until);
    uint64_t ev = hist_get_stats(s->hist)->evictions;
    int64_t slot = hist_decode(s->hist, user, ulen, blob, n);
    if (hist_get_stats(s->hist)->set_oom) log_fatal("out of memory (the user's seen items)");
    rc->evicted += hist_get_stats(s->hist)->evictions - ev;
    if (slot < 0) {
        log_warn("--changelog: the history of %.*s is unreadable: left out", (int)(ulen > 64 ? 64 : ulen), user);
        return 0;
    }
    hist_set_part(s->hist, (uint32_t)slot, rc->part);
    mh_set(s, (uint32_t)slot, until);
    if (map_sync(s)) log_fatal("out of memory");
    return 0;
}

int64_t serve_take_partition(serve *s, const char *topic, int32_t p)
{
    if (part_slot(s, p)) return -1;
    if (!s->cl) {
        /* no changelog: what --state saved for p is ours only if p never
         * left this process; kafka.c prefers the group's committed offset
         * when another member read on */
        s->p_held[p] = 1;
        return s->sdb ? state_start_offset(s->sdb, topic, p) : -1;
    }
    int64_t current = s->p_held[p] ? changelog_current(s->cl, p) : -1;
    if (current >= 0) {
        /* ours all along (an eager rebalance hands it back): nothing to read */
        log_kv(LOG_INFO, "partition kept: its histories are current here", "\"partition\":%d,\"start\":%lld", (int)p,
               (long long)current);
        return current;
    }
    if (part_forget(s, p)) log_fatal("--state: cannot drop partition %d's stale histories", (int)p);
    restore_ctx rc = { s, p, 0 };
    changelog_restored got;
    double t0 = (double)ns_now() / 1e9;
    if (s->sdb && (state_prepare_put(s) || state_begin(s->sdb))) log_fatal("--state: cannot restore partition %d", (int)p);
    if (changelog_restore(s->cl, p, restore_user, &rc, &got)) {
        if (s->sdb) state_rollback(s->sdb);
        log_fatal("--changelog %s: partition %d could not be restored; not serving it from a partial history",
                  changelog_topic(s->cl), (int)p);
    }
    if (s->sdb && state_commit(s->sdb)) log_fatal("--state: cannot restore partition %d", (int)p);
    s->p_held[p] = 1;
    s->st.restored_partitions++;
    s->st.changelog_users += got.applied;
    s->st.changelog_bad += got.bad;
    log_kv(LOG_INFO, "partition restored from the changelog",
           "\"partition\":%d,\"records\":%llu,\"users_applied\":%llu,\"left_out\":%llu,\"bad\":%llu,\"start\":%lld,"
           "\"evicted\":%llu,\"seconds\":%.3f", (int)p, (unsigned long long)got.records,
           (unsigned long long)got.applied, (unsigned long long)got.left_out, (unsigned long long)got.bad,
           (long long)got.covered,
           (unsigned long long)rc.evicted, (double)ns_now() / 1e9 - t0);
    if (rc.evicted)
        log_kv(LOG_WARN, "restored histories evicted past --max-users: those users start again from the model",
               "\"partition\":%d,\"evicted\":%llu,\"hint\":\"raise --max-users or use --state\"", (int)p,
               (unsigned long long)rc.evicted);
    return got.covered;
}

/* ---- events ---- */

/* A user new to this process (not held, not in --state): their training
 * interactions, as the model carries them, become their history and seen
 * set, oldest first. The slot, or -1 when the model has none for them. */
static int64_t model_history(serve *s, const char *user, size_t ulen)
{
    if (s->conf.no_model_history) return -1;
    int64_t u = model_user_index(s->model, user, ulen);
    if (u < 0) return -1;
    const uint32_t *items;
    const float *w;
    const int64_t *ts;
    uint32_t n = model_user_interactions(s->model, (uint32_t)u, &items, &w, &ts);
    int64_t slot = hist_user(s->hist, user, ulen), until = INT64_MIN;
    for (uint32_t k = 0; k < n && slot >= 0; k++) {
        const char *id = model_item_id(s->model, items[k]);
        slot = hist_seed(s->hist, user, ulen, id, strlen(id), w[k], ts[k] * 1000000);
        if (ts[k] * 1000000 > until) until = ts[k] * 1000000;
    }
    if (slot < 0 || map_sync(s)) log_fatal("out of memory");
    mh_set(s, (uint32_t)slot, until);
    if (hist_get_stats(s->hist)->set_oom) log_fatal("out of memory (the user's seen items)");
    s->st.model_history_users++;
    return slot;
}

int serve_event(serve *s, const Event *e, const char **why)
{
    if (!e->user_id.ptr || !e->user_id.len) { *why = "missing user_id"; return -1; }
    if (!e->item_id.ptr || !e->item_id.len) { *why = "missing item_id"; return -1; }
    float w = event_weight(e->type, e->value);
    if (!(w > 0)) { s->st.not_interaction++; return 0; }
    int64_t held = hist_find(s->hist, e->user_id.ptr, e->user_id.len);
    if (held < 0) {   /* one lookup for a held user, the common case */
        if (s->sdb) held = state_restore(s, e->user_id.ptr, e->user_id.len);
        if (held < 0) held = model_history(s, e->user_id.ptr, e->user_id.len);
        if (held < 0) held = hist_find(s->hist, e->user_id.ptr, e->user_id.len);   /* an unreadable saved one may be held */
    }
    /* a copy of one of the user's recent events (ingest writes the lines
     * since its last commit again after a crash): counted once. The ids
     * are part of the user's saved history, so this holds across a
     * partition's move too. An event without an id is never a copy. The
     * hashes are saved, so a stable hash (hash.h), not hash_table. */
    uint64_t id_hash = e->event_id.len ? hash_seeded64(e->event_id.ptr, e->event_id.len, 0) : 0;
    if (e->event_id.len && held >= 0 && hist_event_seen(s->hist, (uint32_t)held, id_hash)) {
        s->st.duplicate_events++;
        return 0;
    }
    uint32_t before = hist_n_gids(s->hist);
    if (held >= 0 && (size_t)held < s->mh_cap && s->mh_gen[held] &&
        s->mh_gen[held] == hist_slot_gen(s->hist, (uint32_t)held) && e->ts <= s->mh_until[held] &&
        e->type != EventType_purchase) {      /* a purchase goes on: the bought set */
        /* an event no newer than the user's training data, about an item
         * already in it: the model's interactions hold it (a replay after
         * a restart), so it is not added again; the user still gets a list */
        int64_t gid = hist_gid_find(s->hist, e->item_id.ptr, e->item_id.len);
        if (gid >= 0 && idset_has(hist_seen(s->hist, (uint32_t)held), (uint32_t)gid)) {
            (void)hist_touch(s->hist, (uint32_t)held);
            hist_set_part(s->hist, (uint32_t)held, s->cur_part);
            if (e->event_id.len) (void)hist_event_note(s->hist, (uint32_t)held, id_hash);
            s->st.model_known_events++;
            s->st.events++;
            return 1;
        }
    }
    uint32_t nseen = held >= 0 ? hist_seen(s->hist, (uint32_t)held)->n : 0;
    int64_t slot = hist_add(s->hist, e->user_id.ptr, e->user_id.len, e->item_id.ptr, e->item_id.len,
                            w, e->ts, e->type);
    if (hist_n_gids(s->hist) != before && map_sync(s)) log_fatal("out of memory");
    if (hist_get_stats(s->hist)->set_oom) log_fatal("out of memory (the user's seen items)");
    s->st.events++;
    /* the user is held even when the item was refused (catalogue full) */
    int64_t tagged = slot >= 0 ? slot : hist_find(s->hist, e->user_id.ptr, e->user_id.len);
    if (tagged >= 0) hist_set_part(s->hist, (uint32_t)tagged, s->cur_part);
    if (tagged >= 0 && e->event_id.len) (void)hist_event_note(s->hist, (uint32_t)tagged, id_hash);
    if (hist_get_stats(s->hist)->set_oom) log_fatal("out of memory (the user's recent event ids)");
    if (slot >= 0) {
        int64_t gid = hist_gid_find(s->hist, e->item_id.ptr, e->item_id.len);
        if (gid >= 0 && s->map[gid] < 0) s->st.unknown_items++;
        /* a new item of a user whose EASE sum is cached: one row, counted
         * as scoring time (it is what the next list would have cost) */
        int64_t ce = slot == held && hist_seen(s->hist, (uint32_t)slot)->n != nseen ? cache_find(s, (uint32_t)slot) : -1;
        if (ce >= 0 && gid >= 0 && s->map[gid] >= 0) {
            uint64_t t0 = ns_now();
            model_ease_add(s->model, (uint32_t)s->map[gid], s->ec.acc + (size_t)ce * s->ec.dim, &s->ec.state[ce]);
            double d = (double)(ns_now() - t0) / 1e9;   /* one row: too short to be worth a CPU-clock call */
            s->st.score_seconds += d;
            s->st.score_cpu_seconds += d;
        }
    }
    return 1;
}

size_t serve_pending(const serve *s)
{
    size_t n;
    hist_pending(s->hist, &n);
    return n;
}

void serve_forget_pending(serve *s) { hist_pending_clear(s->hist); }

/* ---- scoring ---- */

static uint64_t ns_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* CPU time of the calling thread (a system call: once per batch) */
static uint64_t ns_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* The model indices of a user's item set (items the model knows) into *buf. */
static size_t set_indices(const serve *s, const idset *set, uint32_t **buf, size_t *cap)
{
    if (!set || !set->n) return 0;
    if (set->n > *cap) {
        size_t c = (size_t)set->n * 2;
        uint32_t *b = realloc(*buf, c * sizeof *b);
        if (!b) log_fatal("out of memory");
        *buf = b;
        *cap = c;
    }
    size_t n = idset_list(set, *buf), k = 0;
    for (size_t j = 0; j < n; j++) {
        uint32_t g = (*buf)[j];
        int32_t idx = g < s->map_n ? s->map[g] : -1;
        if (idx >= 0) (*buf)[k++] = (uint32_t)idx;
    }
    return k;
}

/* A lane's history scratch holds at least n entries (doubling). */
static void lane_reserve(lane *w, size_t n)
{
    if (n <= w->hcap) return;
    size_t cap = n * 2;
    hist_entry *he = realloc(w->he, cap * sizeof *he);
    if (he) w->he = he;
    rules_hist *rh = realloc(w->rh, cap * sizeof *rh);
    if (rh) w->rh = rh;
    if (!he || !rh) log_fatal("out of memory");
    w->hcap = cap;
}

static int cmp_hist_item(const void *a, const void *b)
{
    uint32_t x = ((const hist_entry *)a)->item, y = ((const hist_entry *)b)->item;
    return (x > y) - (x < y);
}

/* Items of the seen set that fell out of the capped history still score:
 * appended to he[0..k) with the mean weight of the kept entries (1 if none)
 * and the oldest kept time, so --max-history bounds what is remembered per
 * interaction, not which interactions count. Returns the new length. */
static size_t add_older_seen(lane *l, uint8_t *mark, size_t k, const rules_user_sets *sets)
{
    if (sets->nseen <= k) return k;              /* every seen item is an entry */
    lane_reserve(l, sets->nseen + k);
    float wsum = 0;
    int64_t oldest = INT64_MAX;
    for (size_t j = 0; j < k; j++) {
        wsum += l->he[j].weight;
        if (l->he[j].ts < oldest) oldest = l->he[j].ts;
        mark[l->he[j].item] = 1;
    }
    float wmean = k ? wsum / (float)k : 1;
    if (!k) oldest = 0;
    size_t n = k;
    for (size_t j = 0; j < sets->nseen; j++)
        if (!mark[sets->seen[j]]) l->he[n++] = (hist_entry){ sets->seen[j], wmean, oldest };
    for (size_t j = 0; j < k; j++) mark[l->he[j].item] = 0;
    /* in model order: the seen set lists serving's ids, which the users served
     * before assign, and float sums must not depend on them */
    qsort(l->he + k, n - k, sizeof *l->he, cmp_hist_item);
    return n;
}

/* Lane l gets the history and sets of user slot (UINT32_MAX: none). */
static void lane_fill(const serve *s, worker *w, lane *l, uint32_t slot)
{
    uint32_t n = 0;
    const hist_item *it = slot == UINT32_MAX ? NULL : hist_items(s->hist, slot, &n);
    lane_reserve(l, n);
    size_t k = 0;
    for (uint32_t j = 0; j < n; j++) {
        int32_t idx = it[j].gid < s->map_n ? s->map[it[j].gid] : -1;
        if (idx < 0) continue;
        l->he[k] = (hist_entry){ (uint32_t)idx, it[j].weight, it[j].ts / 1000000 };
        l->rh[k] = (rules_hist){ (uint32_t)idx, it[j].weight, it[j].types };
        k++;
    }
    l->sets = (rules_user_sets){ 0 };
    if (slot != UINT32_MAX) {
        l->sets.nseen = set_indices(s, hist_seen(s->hist, slot), &l->seen, &l->seencap);
        l->sets.seen = l->seen;
        l->sets.nbought = set_indices(s, hist_bought(s->hist, slot), &l->bought, &l->boughtcap);
        l->sets.bought = l->bought;
    }
    l->k = k;
    l->ks = add_older_seen(l, w->mark, k, &l->sets);
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    serve *s = w->s;
    uint32_t top = s->conf.top;
    uint64_t t_start = ns_now(), c_start = ns_cpu();
    /* groups of up to ALS_BATCH users: their ALS parts in one pass over the
     * item factors, then each list as before; the pass's time is shared
     * equally among the group's lists */
    for (size_t i0 = w->from; i0 < w->to; i0 += ALS_BATCH) {
        uint32_t g = w->to - i0 < ALS_BATCH ? (uint32_t)(w->to - i0) : ALS_BATCH;
        const hist_entry *hs[ALS_BATCH];
        size_t ns[ALS_BATCH];
        float *outs[ALS_BATCH];
        uint8_t oks[ALS_BATCH];
        float mxs[ALS_BATCH] = { 0 };
        for (uint32_t u = 0; u < g; u++) {
            lane *l = &w->ln[u];
            lane_fill(s, w, l, w->slots[i0 + u]);
            hs[u] = l->he; ns[u] = l->ks; outs[u] = l->als;
        }
        uint64_t t0 = ns_now();
        int batched = g > 1 && w->ln[0].als && model_als_batch(s->model, hs, ns, g, outs, mxs, oks, w->ms);
        uint64_t share = batched ? (ns_now() - t0) / g : 0;
        for (uint32_t u = 0; u < g; u++) {
            size_t i = i0 + u;
            lane *l = &w->ln[u];
            t0 = ns_now();
            int32_t ce = s->bent[i];
            model_score_pre(s->model, l->he, l->ks, w->scores, w->ms,
                            ce >= 0 ? s->ec.acc + (size_t)ce * s->ec.dim : NULL, ce >= 0 ? &s->ec.state[ce] : NULL,
                            l->als, mxs[u], batched ? (oks[u] ? 1 : 2) : 0);
            s->npicks[i] = (uint32_t)rules_rank(s->rb, w->scores, l->rh, l->k, &l->sets, top, s->picks + i * top, w->rs);
            s->lat_ns[i] = ns_now() - t0 + share;
        }
    }
    w->secs = (double)(ns_now() - t_start) / 1e9;
    w->cpu_secs = (double)(ns_cpu() - c_start) / 1e9;
    return NULL;
}

/* Log-linear bucket of a duration: exact below 16 ns, then 16 buckets per
 * power of two (6% relative resolution). */
static size_t lat_bucket(uint64_t ns)
{
    if (ns < 16) return (size_t)ns;
    int e = 63 - __builtin_clzll(ns);                  /* >= 4 */
    return 16 + (size_t)(e - 4) * 16 + (size_t)((ns >> (e - 4)) & 15);
}

static double lat_bucket_high(size_t b)
{
    if (b < 16) return (double)b + 1;
    int e = (int)((b - 16) / 16) + 4;
    return ldexp(17.0 + (double)((b - 16) % 16), e - 4);
}

static void lat_add(serve *s, uint64_t ns)
{
    size_t b = lat_bucket(ns);
    if (b >= LAT_BUCKETS) b = LAT_BUCKETS - 1;
    s->lat[b]++;
    s->lat_n++;
    if (ns > s->lat_max) s->lat_max = ns;
}

double serve_latency_quantile(const serve *s, double q)
{
    if (!s->lat_n) return 0;
    uint64_t want = (uint64_t)ceil(q * (double)s->lat_n);
    if (want < 1) want = 1;
    uint64_t acc = 0;
    for (size_t b = 0; b < LAT_BUCKETS; b++) {
        acc += s->lat[b];
        if (acc < want) continue;
        double hi = lat_bucket_high(b);                /* upper bound of the bucket */
        if (hi > (double)s->lat_max) hi = (double)s->lat_max;
        return hi / 1e9;
    }
    return (double)s->lat_max / 1e9;
}

double serve_latency_max(const serve *s) { return (double)s->lat_max / 1e9; }

static int batch_room(serve *s, size_t n)
{
    if (n <= s->bcap) return 0;
    size_t cap = n;
    rules_pick *p = realloc(s->picks, cap * s->conf.top * sizeof *p);
    if (p) s->picks = p;
    uint32_t *np = realloc(s->npicks, cap * sizeof *np);
    if (np) s->npicks = np;
    uint64_t *l = realloc(s->lat_ns, cap * sizeof *l);
    if (l) s->lat_ns = l;
    uint32_t *bs = realloc(s->bslots, cap * sizeof *bs);
    if (bs) s->bslots = bs;
    int32_t *be = realloc(s->bent, cap * sizeof *be);
    if (be) s->bent = be;
    if (!p || !np || !l || !bs || !be) return -1;
    s->bcap = cap;
    if (!s->items && !(s->items = calloc(s->conf.top, sizeof *s->items))) return -1;
    return 0;
}

/* Score users slots[0..n) into picks/npicks, on up to nw threads. With
 * take, users without a cached EASE sum get an entry (streaming: their next
 * list will use it); without (the users batch: one list each), only sums
 * already cached are used, so a batch does not churn the cache. */
static void score_batch(serve *s, const uint32_t *slots, size_t n, int take)
{
    if (s->map_n < hist_n_gids(s->hist) && map_sync(s)) log_fatal("out of memory");
    int64_t now_s = now_us() / 1000000;
    if (now_s - s->bound_at >= RULES_REBIND_S) {
        rules_bound *rb = bind_rules(s->rules, s->model, now_s);
        if (rb) {
            workers_free(s);
            rules_bound_free(s->rb);
            s->rb = rb;
            s->bound_at = now_s;
            if (workers_new(s)) log_fatal("out of memory");
        }
    }
    s->batch_no++;
    for (size_t i = 0; i < n; i++)
        s->bent[i] = (int32_t)(take ? cache_take(s, slots[i]) : slots[i] == UINT32_MAX ? -1 : cache_find(s, slots[i]));
    uint32_t nt = s->nw;
    if (nt > 1 && n < (size_t)nt * 8) nt = 1;      /* not worth a thread */
    size_t per = (n + nt - 1) / nt;
    uint32_t started = 0;
    for (uint32_t t = 0; t < nt; t++) {
        worker *w = &s->w[t];
        w->slots = slots;
        w->from = t * per;
        w->to = w->from + per < n ? w->from + per : n;
        if (w->from >= w->to) { w->secs = w->cpu_secs = 0; continue; }
        if (t == 0) continue;
        if (pthread_create(&w->tid, NULL, worker_run, w)) { w->tid = 0; worker_run(w); }
        else started |= 1u << (t & 31);
    }
    if (s->w[0].from < s->w[0].to) worker_run(&s->w[0]);
    for (uint32_t t = 1; t < nt; t++)
        if (started & (1u << (t & 31))) pthread_join(s->w[t].tid, NULL);
    for (uint32_t t = 0; t < nt; t++) {
        s->st.score_seconds += s->w[t].secs;
        s->st.score_cpu_seconds += s->w[t].cpu_secs;
    }
    for (size_t i = 0; i < n; i++) lat_add(s, s->lat_ns[i]);
}

static int emit_batch(serve *s, const char *const *users, const size_t *lens, size_t n,
                      serve_emit_fn emit, void *ctx)
{
    int64_t ts = now_us();
    const char *alg = model_algorithm(s->model), *ver = model_version(s->model);
    for (size_t i = 0; i < n; i++) {
        uint32_t np = s->npicks[i];
        for (uint32_t j = 0; j < np; j++) {
            const rules_pick *p = &s->picks[i * s->conf.top + j];
            s->items[j].item_id = FB_STR(model_item_id(s->model, p->item));
            s->items[j].score = p->score;
        }
        Recommendation rec;
        Recommendation_init(&rec);
        size_t ulen = users ? lens[i] : 0;
        const char *uid = users ? users[i] : hist_user_id(s->hist, s->bslots[i], &ulen);
        rec.user_id = FB_STRN(uid, ulen);
        rec.items = s->items;
        rec.items_count = np;
        rec.algorithm = FB_STR(alg);
        rec.model_version = FB_STR(ver);
        rec.ts = ts;
        s->st.lists++;
        if (np < s->conf.top) s->st.short_lists++;
        if (!np) s->st.empty_lists++;
        int rc = emit(ctx, &rec);
        if (rc) return rc;
    }
    return 0;
}

int serve_flush(serve *s, serve_emit_fn emit, void *ctx)
{
    size_t n;
    const uint32_t *pend = hist_pending(s->hist, &n);
    if (!n) return 0;
    if (batch_room(s, n)) log_fatal("out of memory");
    memcpy(s->bslots, pend, n * sizeof *pend);
    score_batch(s, s->bslots, n, 1);
    hist_pending_clear(s->hist);
    s->last_n = n;
    return emit_batch(s, NULL, NULL, n, emit, ctx);
}

int serve_users(serve *s, const char *const *users, const size_t *lens, size_t n,
                serve_emit_fn emit, void *ctx)
{
    if (!n) return 0;
    if (batch_room(s, n)) log_fatal("out of memory");
    s->last_n = 0;                   /* bslots is reused: nothing of a flush left to save */
    for (size_t i = 0; i < n; i++) {
        /* touch held users, so a restore below never evicts one of this batch */
        int64_t slot = hist_find(s->hist, users[i], lens[i]);
        if (slot >= 0) slot = hist_user(s->hist, users[i], lens[i]);
        else if (s->sdb) slot = state_restore(s, users[i], lens[i]);
        if (slot < 0) slot = model_history(s, users[i], lens[i]);
        s->bslots[i] = slot < 0 ? UINT32_MAX : (uint32_t)slot;
    }
    score_batch(s, s->bslots, n, 0);
    return emit_batch(s, users, lens, n, emit, ctx);
}

const char *serve_model_version(const serve *s) { return model_version(s->model); }
uint32_t serve_model_items(const serve *s) { return model_n_items(s->model); }
const serve_stats *serve_get_stats(const serve *s) { return &s->st; }
const hist_store *serve_history(const serve *s) { return s->hist; }

const rules_counts *serve_rules_counts(const serve *s)
{
    static rules_counts sum;
    sum = s->rc_total;
    for (uint32_t i = 0; i < s->nw; i++) {
        const rules_counts *c = rules_scratch_counts(s->w[i].rs);
        sum.lists += c->lists;
        sum.filtered += c->filtered;
        sum.boosted += c->boosted;
        sum.diversity_skipped += c->diversity_skipped;
        sum.short_lists += c->short_lists;
    }
    return &sum;
}
