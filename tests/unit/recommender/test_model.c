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

static void setup(void) { CHECK(mkdtemp(dir) != NULL); }
static void teardown(void) { rmdir(dir); }

TEST_MAIN(setup, test_round_trip, test_refused, test_event_weight, test_topk, teardown)
