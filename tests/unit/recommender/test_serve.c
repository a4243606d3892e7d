/* test_serve.c — the serving engine with real model files (trained by
 * train_main in a child process): a swap keeps every history and maps items
 * by id, so an item only the new model knows, touched under the old one,
 * is still excluded after the swap; an unchanged file is not reloaded; a
 * corrupt file is refused with the old model kept; 1 and 3 scoring threads
 * give identical lists; the users batch gives unknown users the cold list;
 * items past the history cap still count in the scores. */
#define _GNU_SOURCE
#include "../testhelp.h"
#include <math.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../../../stages/recommender/model.h"
#include "../../../stages/recommender/serve.h"
#include "../../../stages/recommender/train.h"
#include "fb.h"
#include "fbrec.h"
#include "hash.h"

static char dir[] = "/tmp/test_serve_XXXXXX";

/* Size-prefixed Event records: user u%d clicks item %s. */
static void write_events(const char *path, int users, int with_new)
{
    FILE *f = fopen(path, "wb");
    fb_builder b;
    fb_builder_init(&b);
    char u[32], it[32];
    int64_t ts = 1795000000LL * 1000000;
    for (int k = 0; k < users; k++) {
        for (int j = 0; j < 6; j++) {
            Event e;
            Event_init(&e);
            snprintf(u, sizeof u, "u%d", k);
            if (with_new && j == 0 && k % 2 == 0) snprintf(it, sizeof it, "new");
            else snprintf(it, sizeof it, "i%d", (k * 7 + j * 3) % 40 + (k % 2) * 40);
            e.user_id = FB_STR(u);
            e.item_id = FB_STR(it);
            e.type = EventType_click;
            e.ts = ts += 1000;
            fbrec_encode(&b, &Event_desc, &e, 1);
            size_t len;
            const uint8_t *d = fb_data(&b, &len);
            fwrite(d, 1, len, f);
        }
    }
    fb_builder_free(&b);
    fclose(f);
}

static int train(const char *events, const char *model, const char *version)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* EASE over every item with 2 users (the default 10 leaves none here) */
        char *argv[] = { "train", "--in", (char *)events, "--model", (char *)model, "--model-version",
                         (char *)version, "--log-level", "error", "--ease-min-users", "2", NULL };
        _exit(train_main(11, argv));
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

typedef struct got { char user[32]; char items[10][32]; int n; char version[64]; } got;
typedef struct sink { got g[512]; int n; } sink;

static int collect(void *ctx, const Recommendation *r)
{
    sink *s = ctx;
    if (s->n >= 512) return 1;
    got *g = &s->g[s->n++];
    snprintf(g->user, sizeof g->user, "%.*s", (int)r->user_id.len, r->user_id.ptr);
    snprintf(g->version, sizeof g->version, "%.*s", (int)r->model_version.len, r->model_version.ptr);
    g->n = (int)r->items_count;
    for (uint32_t i = 0; i < r->items_count && i < 10; i++)
        snprintf(g->items[i], sizeof g->items[i], "%.*s", (int)r->items[i].item_id.len, r->items[i].item_id.ptr);
    return 0;
}

static int has_item(const got *g, const char *item)
{
    for (int i = 0; i < g->n; i++) if (!strcmp(g->items[i], item)) return 1;
    return 0;
}

static void feed(serve *s, const char *user, const char *item)
{
    Event e;
    Event_init(&e);
    e.user_id = FB_STR(user);
    e.item_id = FB_STR(item);
    e.type = EventType_click;
    e.ts = 1795000000LL * 1000000;
    const char *why;
    CHECK_EQ_INT(serve_event(s, &e, &why), 1);
}

static char p_old[256], p_new[256], p_live[256], p_bad[256];

static void swap_in(const char *from)
{
    char tmp[300], cmd[1400];
    snprintf(tmp, sizeof tmp, "%s/.tmp.db", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && mv '%s' '%s'", from, tmp, tmp, p_live);
    CHECK_EQ_INT(system(cmd), 0);
}

static void test_swap(void)
{
    swap_in(p_old);
    serve_conf c = { .model_path = p_live, .top = 10, .limits = { 1000, 50, 10000 }, .threads = 1 };
    char err[512];
    int usage;
    serve *s = serve_new(&c, err, sizeof err, &usage);
    CHECK_MSG(s != NULL, "%s", err);
    if (!s) return;
    CHECK_EQ_STR(serve_model_version(s), "old");
    feed(s, "probe", "new");                 /* unknown to the old model */
    feed(s, "probe", "i3");
    CHECK_EQ_INT(serve_get_stats(s)->unknown_items, 1);
    sink k = {0};
    CHECK_EQ_INT(serve_reload_check(s, 0), 0);          /* unchanged file */
    CHECK_EQ_INT(serve_flush(s, collect, &k), 0);
    CHECK_EQ_INT(k.n, 1);
    CHECK(!has_item(&k.g[0], "i3") && !has_item(&k.g[0], "new"));
    swap_in(p_bad);
    CHECK_EQ_INT(serve_reload_check(s, 0), -1);
    CHECK_EQ_INT(serve_reload_check(s, 0), 0);          /* the same bad file is not retried */
    CHECK_EQ_STR(serve_model_version(s), "old");
    swap_in(p_new);
    CHECK_EQ_INT(serve_reload_check(s, 0), 1);
    CHECK_EQ_STR(serve_model_version(s), "new-model");
    feed(s, "probe", "i4");
    /* "new" is what the new model ranks first for most users: it must stay
     * out of probe's list, since probe touched it under the old model */
    k.n = 0;
    CHECK_EQ_INT(serve_flush(s, collect, &k), 0);
    CHECK_EQ_INT(k.n, 1);
    CHECK_EQ_STR(k.g[0].version, "new-model");
    CHECK(!has_item(&k.g[0], "new") && !has_item(&k.g[0], "i3") && !has_item(&k.g[0], "i4"));
    CHECK_EQ_INT(k.g[0].n, 10);
    /* a fresh user does get "new" from the new model's cold list or
     * neighbours: the check above is not vacuous */
    feed(s, "other", "i3");
    k.n = 0;
    serve_flush(s, collect, &k);
    const char *u[] = { "nobody" };
    size_t l[] = { 6 };
    serve_users(s, u, l, 1, collect, &k);
    CHECK_EQ_INT(k.n, 2);
    CHECK(has_item(&k.g[0], "new") || has_item(&k.g[1], "new"));
    CHECK_EQ_INT(serve_get_stats(s)->reloads, 1);
    CHECK_EQ_INT(serve_get_stats(s)->reload_failures, 1);
    CHECK_EQ_INT(serve_reload_check(s, 1), 1);          /* SIGHUP: forced */
    serve_free(s);
}

static void run_threads(uint32_t threads, sink *k)
{
    serve_conf c = { .model_path = p_new, .top = 10, .limits = { 1000, 50, 10000 }, .threads = threads };
    char err[512], u[32], it[32];
    int usage;
    serve *s = serve_new(&c, err, sizeof err, &usage);
    CHECK_MSG(s != NULL, "%s", err);
    if (!s) return;
    for (int i = 0; i < 300; i++) {
        snprintf(u, sizeof u, "t%d", i % 150);
        snprintf(it, sizeof it, "i%d", (i * 13) % 80);
        feed(s, u, it);
    }
    CHECK_EQ_INT(serve_pending(s), 150);
    CHECK_EQ_INT(serve_flush(s, collect, k), 0);
    CHECK_EQ_INT(serve_pending(s), 0);
    serve_free(s);
}

static void test_threads(void)
{
    static sink a, b;
    run_threads(1, &a);
    run_threads(3, &b);
    CHECK_EQ_INT(a.n, 150);
    CHECK_EQ_INT(b.n, 150);
    CHECK(a.n == b.n && memcmp(a.g, b.g, sizeof a.g[0] * (size_t)a.n) == 0);
}

typedef struct scored { int n; char user[32]; char items[10][32]; float score[10]; } scored;
typedef struct ssink { scored l[800]; int n; } ssink;
static int collect_scored(void *ctx, const Recommendation *r)
{
    ssink *k = ctx;
    if (k->n >= 800) return 1;
    scored *g = &k->l[k->n++];
    snprintf(g->user, sizeof g->user, "%.*s", (int)r->user_id.len, r->user_id.ptr);
    g->n = (int)r->items_count;
    for (uint32_t i = 0; i < r->items_count && i < 10; i++) {
        snprintf(g->items[i], sizeof g->items[i], "%.*s", (int)r->items[i].item_id.len, r->items[i].item_id.ptr);
        g->score[i] = r->items[i].score;
    }
    return 0;
}

/* Lists of one user who clicked 12 items (equal weights), scored with a
 * history cap of `cap`. */
static void capped_list(uint32_t cap, const char *model, ssink *out)
{
    char err[512];
    int usage;
    serve_conf c = { .model_path = model, .top = 10, .limits = { 10, cap, 1000 }, .threads = 1 };
    serve *s = serve_new(&c, err, sizeof err, &usage);
    CHECK(s != NULL);
    if (!s) return;
    char it[16];
    for (int j = 0; j < 12; j++) { snprintf(it, sizeof it, "i%d", j * 3); feed(s, "heavy", it); }
    out->n = 0;
    CHECK_EQ_INT(serve_flush(s, collect_scored, out), 0);
    serve_free(s);
}

/* Past --max-history the older items still score (with the kept entries'
 * mean weight; here every weight is a click's 2): a cap of 3 gives the
 * list of an uncapped history, for the default hybrid model — the same
 * items with the same scores, within float rounding: the older items join
 * the history in another order, so the neighbour and fold-in sums may move
 * in the last bit, and two items of tied scores may trade places. */
static void test_cap_scores_all_seen(void)
{
    static ssink full, capped;
    capped_list(100, p_old, &full);
    capped_list(3, p_old, &capped);
    CHECK_EQ_INT(full.n, 1);
    CHECK_EQ_INT(capped.n, 1);
    CHECK_EQ_INT(full.l[0].n, 10);
    CHECK_EQ_INT(capped.l[0].n, 10);
    for (int j = 0; j < full.l[0].n && j < 10; j++) {
        int at = -1;
        for (int q = 0; q < capped.l[0].n && q < 10; q++) if (!strcmp(capped.l[0].items[q], full.l[0].items[j])) at = q;
        CHECK_MSG(at >= 0, "%s (rank %d uncapped) is not in the capped list", full.l[0].items[j], j);
        if (at < 0) continue;
        float a = full.l[0].score[j], b = capped.l[0].score[at];
        CHECK_MSG(fabsf(a - b) <= 1e-6f * fabsf(a), "%s: %.9g uncapped, %.9g capped", full.l[0].items[j], a, b);
        CHECK_MSG(fabsf(capped.l[0].score[j] - a) <= 1e-6f * fabsf(a), "rank %d: %.9g uncapped, %.9g capped", j, a,
                  capped.l[0].score[j]);
    }
}

static void test_bad_config(void)
{
    char rpath[300], err[512];
    snprintf(rpath, sizeof rpath, "%s/rules.yaml", dir);
    FILE *f = fopen(rpath, "w");
    fputs("diversity:\n  max_per_category: 0\n", f);
    fclose(f);
    serve_conf c = { .model_path = p_new, .rules_path = rpath, .top = 10, .limits = { 10, 10, 10 }, .threads = 1 };
    int usage = 0;
    serve *s = serve_new(&c, err, sizeof err, &usage);
    CHECK(s == NULL);
    CHECK_EQ_INT(usage, 1);
    CHECK_MSG(strstr(err, "rules.yaml:2:") != NULL, "%s", err);
    c.rules_path = NULL;
    c.model_path = p_bad;
    s = serve_new(&c, err, sizeof err, &usage);
    CHECK(s == NULL);
    CHECK_EQ_INT(usage, 0);
    unlink(rpath);
}

/* The per-user EASE sums (--score-cache-mb), filled at a user's first list
 * and then updated one row per new item, give the lists of the uncached
 * engine (scores within float rounding of a different summation order),
 * also when the cache holds only 3 of the 6 users of a batch (entries
 * replaced) and users are evicted past --max-users 6 (their slot reused by
 * another user). */
static void cache_run(size_t bytes, ssink *k)
{
    serve_conf c = { .model_path = p_old, .top = 10, .limits = { 6, 50, 10000 }, .threads = 1,
                     .score_cache_bytes = bytes };
    char err[512], u[32], it[32];
    int usage;
    serve *s = serve_new(&c, err, sizeof err, &usage);
    CHECK_MSG(s != NULL, "%s", err);
    if (!s) return;
    /* five regular users stay held; a new stranger each round evicts the
     * last one, so their slot goes to another user */
    for (int round = 0; round < 8; round++) {
        for (int i = 0; i < 5; i++) {
            snprintf(u, sizeof u, "c%d", i);
            snprintf(it, sizeof it, "i%d", (i * 11 + round * 7) % 80);
            feed(s, u, it);
        }
        snprintf(u, sizeof u, "stranger%d", round);
        for (int j = 0; j <= round % 3; j++) {
            snprintf(it, sizeof it, "i%d", (round * 13 + j * 5) % 80);
            feed(s, u, it);
        }
        CHECK_EQ_INT(serve_flush(s, collect_scored, k), 0);
    }
    serve_free(s);
}

static void test_score_cache(void)
{
    char err[256];
    rec_model *m = model_load(p_old, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (!m) return;
    uint32_t dim = model_ease_dim(m);
    model_free(m);
    CHECK(dim > 0);
    static ssink plain, cached, big;
    cache_run(0, &plain);
    cache_run(3 * ((size_t)dim * 4 + 17), &cached);
    cache_run((size_t)64 << 20, &big);
    CHECK_EQ_INT(plain.n, 48);
    const ssink *runs[2] = { &cached, &big };
    for (int r = 0; r < 2; r++) {
        CHECK_EQ_INT(runs[r]->n, plain.n);
        for (int i = 0; i < plain.n && i < runs[r]->n; i++) {
            const scored *a = &plain.l[i], *b = &runs[r]->l[i];
            CHECK_EQ_STR(a->user, b->user);
            CHECK_EQ_INT(a->n, b->n);
            /* the EASE sums are exact (int32): cached, recomputed or
             * evicted, every list is the same bit for bit */
            for (int j = 0; j < a->n && j < b->n; j++) {
                CHECK_MSG(memcmp(&a->score[j], &b->score[j], sizeof a->score[j]) == 0,
                          "run %d list %d rank %d: %.9g vs %.9g", r, i, j, a->score[j], b->score[j]);
                CHECK_MSG(!strcmp(a->items[j], b->items[j]), "run %d list %d rank %d: %s vs %s", r, i, j, a->items[j], b->items[j]);
            }
        }
    }
}

static void setup(void)
{
    if (!mkdtemp(dir)) { perror("mkdtemp"); exit(1); }
    char ev_old[256], ev_new[256];
    snprintf(ev_old, sizeof ev_old, "%s/old.rec", dir);
    snprintf(ev_new, sizeof ev_new, "%s/new.rec", dir);
    snprintf(p_old, sizeof p_old, "%s/old.db", dir);
    snprintf(p_new, sizeof p_new, "%s/new.db", dir);
    snprintf(p_live, sizeof p_live, "%s/live.db", dir);
    snprintf(p_bad, sizeof p_bad, "%s/bad.db", dir);
    write_events(ev_old, 100, 0);
    write_events(ev_new, 100, 1);
    CHECK_EQ_INT(train(ev_old, p_old, "old"), 0);
    CHECK_EQ_INT(train(ev_new, p_new, "new-model"), 0);
    FILE *f = fopen(p_bad, "w");
    fputs("this is not a model\n", f);
    fclose(f);
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

/* A copy of an event (the same event_id: ingest writes the lines since its
 * last commit again after a crash) is not counted again, also after the
 * user's history went through a save and restore (another instance took
 * the partition); an event without an id always counts. */
static void test_copies(void)
{
    swap_in(p_old);
    serve_conf c = { .model_path = p_live, .top = 10, .limits = { 1000, 50, 10000 }, .threads = 1,
                     .no_model_history = 1 };
    char err[512];
    int usage;
    serve *s = serve_new(&c, err, sizeof err, &usage);
    CHECK_MSG(s != NULL, "%s", err);
    if (!s) return;
    Event e;
    Event_init(&e);
    e.user_id = FB_STR("dup");
    e.item_id = FB_STR("i3");
    e.type = EventType_click;
    e.ts = 1795000000LL * 1000000;
    e.event_id = FB_STR("ev-1");
    const char *why;
    CHECK_EQ_INT(serve_event(s, &e, &why), 1);
    CHECK_EQ_INT(serve_event(s, &e, &why), 0);
    e.event_id = FB_STR("ev-2");
    CHECK_EQ_INT(serve_event(s, &e, &why), 1);
    e.event_id = FB_STR("");
    CHECK_EQ_INT(serve_event(s, &e, &why), 1);
    CHECK_EQ_INT(serve_event(s, &e, &why), 1);
    CHECK_EQ_INT(serve_get_stats(s)->duplicate_events, 1);
    const hist_store *h = serve_history(s);
    int64_t slot = hist_find(h, "dup", 3);
    uint32_t n = 0;
    const hist_item *it = hist_items(h, (uint32_t)slot, &n);
    CHECK(n == 1 && it[0].weight == 4 * event_weight(EventType_click, 0));
    /* saved and restored elsewhere: ev-1 is still known there */
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    CHECK_EQ_INT(hist_encode(h, (uint32_t)slot, &buf, &len, &cap), 0);
    /* the ids' hashes travel in --state and the changelog: they must be the
     * stable hash (hash.h), the last ones of the blob, oldest first */
    uint64_t want[2] = { hash_seeded64("ev-1", 4, 0), hash_seeded64("ev-2", 4, 0) }, tail[2] = { 0, 0 };
    if (len >= 20) memcpy(tail, buf + len - 16, 16);
    uint32_t nids = 0;
    if (len >= 20) memcpy(&nids, buf + len - 20, 4);
    CHECK(nids == 2 && tail[0] == want[0] && tail[1] == want[1]);
    serve *s2 = serve_new(&c, err, sizeof err, &usage);
    CHECK_MSG(s2 != NULL, "%s", err);
    if (s2) {
        feed(s2, "other", "i3");         /* i3 interned and mapped the way serve does it */
        CHECK(hist_decode((hist_store *)serve_history(s2), "dup", 3, buf, len) >= 0);
        e.event_id = FB_STR("ev-1");
        CHECK_EQ_INT(serve_event(s2, &e, &why), 0);
        e.event_id = FB_STR("ev-3");
        CHECK_EQ_INT(serve_event(s2, &e, &why), 1);
        CHECK_EQ_INT(serve_get_stats(s2)->duplicate_events, 1);
        serve_free(s2);
    }
    free(buf);
    serve_free(s);
}

TEST_MAIN(setup, test_copies, test_swap, test_threads, test_cap_scores_all_seen, test_score_cache, test_bad_config, teardown)
