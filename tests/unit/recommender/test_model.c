/* test_model.c — the model file: save/load round trip (items, metadata,
 * components, scores identical), atomic replace (a reader of the old file
 * is unaffected, no temp file left), corrupt files refused; event weights;
 * top-k selection. */
#include "../testhelp.h"
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include "fbrec.h"
#include "../../../stages/recommender/train.h"

static char dir[] = "/tmp/test_model.XXXXXX";

static void small_data(rec_data *d, rec_train *t)
{
    data_init(d);
    const char *rows[][2] = { { "u1", "a" }, { "u1", "b" }, { "u1", "c" }, { "u2", "a" }, { "u2", "b" },
                              { "u3", "b" }, { "u3", "c" }, { "u3", "d" }, { "u4", "a" }, { "u4", "d" },
                              { "u5", "c" }, { "u5", "d" }, { "u5", "e" } };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++)
        CHECK_EQ_INT(data_add(d, rows[k][0], 2, rows[k][1], 1, 1.0f + (float)(k % 3), 1000 + (int64_t)k), 0);
    data_finish(d);
    char err[256];
    const char *csv = "id,genres,title\na,X|Y,Alpha one\nb,Y,\"Beta, two\"\nf,X,Fresh\n";
    CHECK(data_parse_items_csv(d, csv, strlen(csv), "id=id,categories=genres,text=title", err, sizeof err) == 3);
    CHECK_EQ_INT(train_build(t, d->users.n, d->items.n, d->n, d->u, d->i, d->w, d->ts), 0);
}

static void test_round_trip(void)
{
    rec_data d; rec_train t;
    small_data(&d, &t);
    train_params p;
    train_params_default(&p);
    p.als_f = 4; p.als_iters = 3; p.ease_min_users = 1; p.knn_k = 3; p.cnt_k = 3;
    p.w[ALG_UKNN] = 0.2f;
    char err[256];
    rec_model *m = train_model(&d, &t, ALG_HYBRID, &p, NULL, err, sizeof err);
    CHECK(m != NULL);
    if (!m) return;
    snprintf(m->version, sizeof m->version, "v1");
    char path[256];
    snprintf(path, sizeof path, "%s/m.db", dir);
    CHECK_EQ_INT(model_save(m, path, err, sizeof err), 0);
    rec_model *l = model_load(path, err, sizeof err);
    CHECK_MSG(l != NULL, "%s", err);
    if (!l) { model_free(m); return; }
    CHECK_EQ_STR(model_version(l), "v1");
    CHECK_EQ_STR(model_algorithm(l), "hybrid");
    /* EASE in fixed point: the loaded model's is the trained one's; the
     * scale is the largest power of two under which no column's sum of
     * |B| reaches 2^31 (so no sum of distinct rows overflows int32); the
     * float B is not kept, so a loaded model is not saved again */
    CHECK(m->ease_n > 0 && l->ease_n == m->ease_n && l->ease_B == NULL);
    CHECK(l->ease_unit == m->ease_unit && l->ease_unit > 0);
    CHECK(!memcmp(l->ease_Q, m->ease_Q, (size_t)m->ease_n * m->ease_n * sizeof *m->ease_Q));
    double bmax = 0;
    for (uint32_t j = 0; j < m->ease_n; j++) {
        double bs = 0; int64_t qs = 0;
        for (uint32_t i = 0; i < m->ease_n; i++) {
            size_t e = (size_t)i * m->ease_n + j;
            bs += fabs(m->ease_B[e]);
            qs += llabs((long long)m->ease_Q[e]);
            CHECK(fabs(m->ease_Q[e] * (double)m->ease_unit - m->ease_B[e]) <= 0.5 * m->ease_unit);
        }
        CHECK(qs <= INT32_MAX);
        if (bs > bmax) bmax = bs;
    }
    CHECK(bmax / m->ease_unit >= 1073741824.0 && bmax / m->ease_unit < 2147483648.0);
    char lpath[300];
    snprintf(lpath, sizeof lpath, "%s/l.db", dir);
    CHECK_EQ_INT(model_save(l, lpath, err, sizeof err), -1);
    CHECK(strstr(err, "fixed point") != NULL);
    CHECK_EQ_INT(model_n_items(l), 6);
    CHECK_EQ_INT(model_item_index(l, "f", 1), model_item_index(m, "f", 1));
    CHECK_EQ_INT(model_item_index(l, "zz", 2), -1);
    int64_t b = model_item_index(l, "b", 1);
    CHECK(b >= 0);
    CHECK_EQ_STR(model_item_categories(l, (uint32_t)b), "Y");
    CHECK_EQ_INT(model_item_first_seen(l, (uint32_t)b), model_item_first_seen(m, (uint32_t)b));
    CHECK(model_item_first_seen(l, (uint32_t)b) >= 1000);
    CHECK_NEAR(model_param(l, "ease.lambda", 0), p.ease_lambda, 0);
    /* identical scores for a few histories, including the empty one */
    model_scratch *s1 = model_scratch_new(m), *s2 = model_scratch_new(l);
    float a1[6], a2[6];
    hist_entry h[2] = { { (uint32_t)model_item_index(m, "a", 1), 1, 0 }, { (uint32_t)model_item_index(m, "d", 1), 3, 0 } };
    for (size_t n = 0; n <= 2; n++) {
        model_score(m, h, n, a1, s1);
        model_score(l, h, n, a2, s2);
        for (int i = 0; i < 6; i++) CHECK_NEAR(a1[i], a2[i], 1e-6);
    }
    /* the new item "f" (metadata only) gets a content score from "a" (shares X) */
    model_score(l, h, 1, a2, s2);
    CHECK(a2[model_item_index(l, "f", 1)] > 0);
    model_scratch_free(s1); model_scratch_free(s2);

    /* atomic replace: a new version renames over the file; the loaded
     * model is unaffected; no temporary file is left */
    snprintf(m->version, sizeof m->version, "v2");
    CHECK_EQ_INT(model_save(m, path, err, sizeof err), 0);
    CHECK_EQ_STR(model_version(l), "v1");
    rec_model *l2 = model_load(path, err, sizeof err);
    CHECK(l2 && !strcmp(model_version(l2), "v2"));
    model_free(l2);
    DIR *dd = opendir(dir);
    int files = 0;
    struct dirent *de;
    while (dd && (de = readdir(dd))) if (de->d_name[0] != '.') { files++; CHECK_EQ_STR(de->d_name, "m.db"); }
    if (dd) closedir(dd);
    CHECK_EQ_INT(files, 1);
    /* save into a missing directory fails cleanly */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/nope/m.db", dir);
    CHECK_EQ_INT(model_save(m, bad, err, sizeof err), -1);
    model_free(l);
    model_free(m);
    train_free(&t);
    data_free(&d);
    unlink(path);
}

static void test_refused(void)
{
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/junk.db", dir);
    FILE *f = fopen(path, "w");
    fputs("this is not sqlite", f);
    fclose(f);
    CHECK(model_load(path, err, sizeof err) == NULL);
    CHECK(model_load("/nonexistent/model.db", err, sizeof err) == NULL);
    CHECK(strstr(err, "No such file") != NULL);
    unlink(path);
    /* a SQLite file without our tables */
    snprintf(path, sizeof path, "%s/other.db", dir);
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_exec(db, "CREATE TABLE meta(key TEXT, value); INSERT INTO meta VALUES('format', 2);", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK(model_load(path, err, sizeof err) == NULL);
    CHECK(strstr(err, "format") != NULL);
    unlink(path);
}

static void test_event_weight(void)
{
    CHECK_NEAR(event_weight(EventType_view, 0), 1, 0);
    CHECK_NEAR(event_weight(EventType_click, 0), 2, 0);
    CHECK_NEAR(event_weight(EventType_add_to_cart, 12.5), 3, 0);
    CHECK_NEAR(event_weight(EventType_purchase, 9.99), 4, 0);
    CHECK_NEAR(event_weight(EventType_rating, 3.5), 3.5, 0);
    CHECK_NEAR(event_weight(EventType_rating, 0), 1, 0);       /* no value: still an interaction */
    CHECK_NEAR(event_weight(EventType_rating, 0.1), 0.5, 0);
    CHECK_NEAR(event_weight(EventType_rating, 50), 5, 0);
    CHECK_NEAR(event_weight(EventType_rating, NAN), 1, 0);
    CHECK_NEAR(event_weight(EventType_impression, 1), 0, 0);
    CHECK_NEAR(event_weight(EventType_exposure, 1), 0, 0);
    CHECK_NEAR(event_weight(EventType_custom, 0), 1, 0);
    CHECK_NEAR(event_weight(99, 0), 0, 0);
}

static void test_topk(void)
{
    float s[8] = { 0.5f, 2, 2, -INFINITY, 7, 1, 3, 0 };
    uint8_t skip[8] = { 0, 0, 0, 0, 0, 0, 1, 0 };
    uint32_t out[8];
    size_t n = model_topk(s, 8, 3, skip, out);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(out[0], 4);
    CHECK_EQ_INT(out[1], 1);       /* tie 2 vs 2: lower index first */
    CHECK_EQ_INT(out[2], 2);
    n = model_topk(s, 8, 20, skip, out);
    CHECK_EQ_INT(n, 6);            /* 8 minus skipped minus -inf */
    for (size_t k = 1; k < n; k++) CHECK(s[out[k - 1]] >= s[out[k]]);
    CHECK_EQ_INT(model_topk(s, 8, 0, NULL, out), 0);
}

/* The hybrid's one-pass blend gives, bit for bit, the component-at-a-time
 * definition: Σ over components in order of w_c · score_c / max(score_c),
 * then the popularity tie-break; for short histories (sparse components
 * walked) and long ones (dense passes), with one scratch reused across
 * histories (its buffers must come back to zero), with and without
 * popularity in the blend. */
static void test_hybrid_blend(void)
{
    rec_data d; rec_train t;
    data_init(&d);
    uint64_t r = 12345;
    char u[16], it[16];
    for (int k = 0; k < 6000; k++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        int user = (int)((r >> 33) % 200), item = (int)((r >> 20) % 300);
        if (item > 150) item = (item * (user % 7 + 1)) % 300;   /* some structure */
        int ul = snprintf(u, sizeof u, "u%d", user), il = snprintf(it, sizeof it, "i%d", item);
        CHECK_EQ_INT(data_add(&d, u, (size_t)ul, it, (size_t)il, 1.0f + (float)(k % 4), 1000 + k), 0);
    }
    data_finish(&d);
    char err[256];
    char csv[20000];
    size_t len = (size_t)snprintf(csv, sizeof csv, "id,genres,title\n");
    for (int i = 0; i < 300; i++) len += (size_t)snprintf(csv + len, sizeof csv - len, "i%d,G%d|H%d,word%d\n", i, i % 9, i % 4, i % 13);
    CHECK(data_parse_items_csv(&d, csv, len, "id=id,categories=genres,text=title", err, sizeof err) > 0);
    CHECK_EQ_INT(train_build(&t, d.users.n, d.items.n, d.n, d.u, d.i, d.w, d.ts), 0);
    for (int variant = 0; variant < 2; variant++) {
        train_params p;
        train_params_default(&p);
        p.als_f = 8; p.als_iters = 3; p.ease_min_users = 5; p.knn_k = 5; p.cnt_k = 4;
        if (variant) p.w[ALG_POP] = 0.1f;
        rec_model *m = train_model(&d, &t, ALG_HYBRID, &p, NULL, err, sizeof err);
        CHECK_MSG(m != NULL, "%s", err);
        if (!m) continue;
        CHECK(m->knn.n && m->cnt.n && m->als_f && m->ease_n);
        uint32_t N = model_n_items(m);
        model_scratch *s = model_scratch_new(m), *ref_s = model_scratch_new(m);
        float *got = malloc(N * sizeof *got), *want = malloc(N * sizeof *want), *tmp = malloc(N * sizeof *tmp);
        hist_entry h[60];
        for (int trial = 0; trial < 40; trial++) {
            size_t n = trial % 3 == 0 ? 40 + (size_t)trial % 20 : 1 + (size_t)trial % 6;
            for (size_t a = 0; a < n; a++) {
                r = r * 6364136223846793005ull + 1442695040888963407ull;
                h[a] = (hist_entry){ (uint32_t)((r >> 33) % N), 1.0f + (float)(a % 3), 0 };
            }
            model_score(m, h, n, got, s);
            memset(want, 0, N * sizeof *want);
            for (int c = 0; c < ALG_HYBRID; c++) {
                float w = m->w[c];
                if (!(w > 0)) continue;
                memset(tmp, 0, N * sizeof *tmp);
                switch ((rec_alg)c) {
                case ALG_POP: score_pop(m, tmp); break;
                case ALG_KNN: score_nbr(&m->knn, h, n, tmp); break;
                case ALG_CONTENT: score_nbr(&m->cnt, h, n, tmp); break;
                case ALG_ALS: score_als(m, h, n, tmp, ref_s); break;
                case ALG_EASE: score_ease(m, h, n, tmp, ref_s); break;
                default: break;
                }
                float mx = 0;
                for (uint32_t i = 0; i < N; i++) if (tmp[i] > mx) mx = tmp[i];
                if (!(mx > 0)) continue;
                float k = w / mx;
                for (uint32_t i = 0; i < N; i++) want[i] += k * tmp[i];
            }
            float kp = 1e-6f / m->pop_max;
            for (uint32_t i = 0; i < N; i++) want[i] += kp * m->pop[i];
            int same = 1;
            for (uint32_t i = 0; i < N; i++) if (memcmp(&got[i], &want[i], sizeof got[i]) && got[i] != want[i]) same = 0;
            CHECK_MSG(same, "variant %d trial %d (|h| %zu): hybrid blend differs from the definition", variant, trial, n);
        }
        /* the ALS parts of a group of users in one pass (model_als_batch,
         * as serving does for --users and flushes) give every user the
         * scores model_score gives them alone, bit for bit: groups of 1 to
         * ALS_BATCH, an empty history among them */
        hist_entry gh[ALS_BATCH][60];
        const hist_entry *ghp[ALS_BATCH];
        size_t gn[ALS_BATCH];
        float *gout[ALS_BATCH], gmx[ALS_BATCH];
        uint8_t gok[ALS_BATCH];
        for (int q = 0; q < ALS_BATCH; q++) gout[q] = malloc(N * sizeof *gout[q]);
        for (uint32_t g = 1; g <= ALS_BATCH; g++) {
            for (uint32_t q = 0; q < g; q++) {
                gn[q] = q == 2 ? 0 : 1 + (size_t)(q * 7 + g) % 50;
                for (size_t a = 0; a < gn[q]; a++) {
                    r = r * 6364136223846793005ull + 1442695040888963407ull;
                    gh[q][a] = (hist_entry){ (uint32_t)((r >> 33) % N), 1.0f + (float)(a % 4), 0 };
                }
                ghp[q] = gh[q];
            }
            CHECK_EQ_INT(model_als_batch(m, ghp, gn, g, gout, gmx, gok, s), 1);
            for (uint32_t q = 0; q < g; q++) {
                CHECK_EQ_INT(gok[q], gn[q] > 0);
                model_score(m, gh[q], gn[q], want, ref_s);
                model_score_pre(m, gh[q], gn[q], got, s, NULL, NULL, gout[q], gmx[q], gok[q] ? 1 : 2);
                CHECK_MSG(!memcmp(got, want, N * sizeof *got), "variant %d: user %u of a group of %u scores differently", variant, q, g);
            }
        }
        for (int q = 0; q < ALS_BATCH; q++) free(gout[q]);
        free(got); free(want); free(tmp);
        model_scratch_free(s); model_scratch_free(ref_s);
        model_free(m);
    }
    train_free(&t);
    data_free(&d);
}

/* The training users' interactions: kept per user oldest first, only the
 * newest max_per_user, saved and loaded; a file whose users.* blobs do not
 * agree is refused. */
static void test_user_histories(void)
{
    rec_data d; rec_train t;
    small_data(&d, &t);
    train_params p;
    train_params_default(&p);
    p.als_f = 4; p.als_iters = 1; p.ease_min_users = 1;
    char err[256];
    rec_model *m = train_model(&d, &t, ALG_KNN, &p, NULL, err, sizeof err);
    CHECK(m != NULL);
    if (!m) { train_free(&t); data_free(&d); return; }
    CHECK_EQ_INT(model_user_index(m, "u1", 2), -1);             /* none until set */
    CHECK_EQ_INT(model_set_user_histories(m, &t, d.users.ids, 2), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/u.db", dir);
    CHECK_EQ_INT(model_save(m, path, err, sizeof err), 0);
    rec_model *l = model_load(path, err, sizeof err);
    CHECK_MSG(l != NULL, "%s", err);
    if (l) {
        CHECK_EQ_INT(model_user_index(l, "zz", 2), -1);
        int64_t u = model_user_index(l, "u1", 2);              /* u1: a (1000), b (1001), c (1002) */
        CHECK(u >= 0);
        const uint32_t *it; const float *w; const int64_t *ts;
        uint32_t n = model_user_interactions(l, (uint32_t)u, &it, &w, &ts);
        CHECK_EQ_INT(n, 2);                                     /* the newest two, oldest first */
        if (n == 2) {
            CHECK_EQ_STR(model_item_id(l, it[0]), "b");
            CHECK_EQ_STR(model_item_id(l, it[1]), "c");
            CHECK_EQ_INT(ts[0], 1001);
            CHECK_EQ_INT(ts[1], 1002);
            CHECK_NEAR(w[1], 3, 0);
        }
        u = model_user_index(l, "u2", 2);
        CHECK(u >= 0 && model_user_interactions(l, (uint32_t)u, &it, &w, &ts) == 2);
        model_free(l);
    }
    /* an item index out of range in users.item: refused */
    sqlite3 *db;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    uint32_t junk[10];                                          /* 5 users x 2 entries */
    for (int k = 0; k < 10; k++) junk[k] = 99;
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "UPDATE blobs SET data = ? WHERE name = 'users.item'", -1, &st, NULL);
    sqlite3_bind_blob(st, 1, junk, sizeof junk, SQLITE_STATIC);
    CHECK_EQ_INT(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    CHECK(model_load(path, err, sizeof err) == NULL);
    CHECK_MSG(strstr(err, "users") != NULL, "%s", err);
    unlink(path);
    model_free(m);
    train_free(&t);
    data_free(&d);
}

static void setup(void) { CHECK(mkdtemp(dir) != NULL); }
static void teardown(void) { rmdir(dir); }

TEST_MAIN(setup, test_round_trip, test_user_histories, test_hybrid_blend, test_refused, test_event_weight, test_topk, teardown)
