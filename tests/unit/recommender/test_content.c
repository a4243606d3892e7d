/* test_content.c — item metadata CSV parsing (quotes, escapes, CRLF, BOM,
 * short rows, mapping errors), term extraction, and TF-IDF cosine
 * similarity checked by hand. */
#include "../testhelp.h"
#include "../../../stages/recommender/train.h"

static void test_csv(void)
{
    rec_data d;
    data_init(&d);
    char err[256];
    const char *csv = "\xEF\xBB\xBFmovieId,title,genres\r\n"
                      "1,\"Toy Story (1995)\",Adventure|Animation\r\n"
                      "2,\"Say \"\"Hi\"\", Bob\",Comedy\r\n"
                      "\r\n"
                      "3\n"
                      "4,Heat (1995),Action|Crime|Thriller";
    long n = data_parse_items_csv(&d, csv, strlen(csv), "id=movieId,categories=genres,text=title", err, sizeof err);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(d.items.n, 4);
    int64_t i2 = idmap_get(&d.items, "2", 1);
    CHECK(i2 >= 0);
    CHECK_EQ_STR(d.text[i2], "Say \"Hi\", Bob");
    CHECK_EQ_STR(d.cats[i2], "Comedy");
    int64_t i4 = idmap_get(&d.items, "4", 1);
    CHECK_EQ_STR(d.cats[i4], "Action|Crime|Thriller");
    int64_t i3 = idmap_get(&d.items, "3", 1);
    CHECK(i3 >= 0 && d.cats[i3] == NULL && d.text[i3] == NULL);
    /* mapping errors name the problem */
    CHECK_EQ_INT(data_parse_items_csv(&d, csv, strlen(csv), "id=nope", err, sizeof err), -1);
    CHECK(strstr(err, "nope") != NULL);
    CHECK_EQ_INT(data_parse_items_csv(&d, csv, strlen(csv), "genres=genres", err, sizeof err), -1);
    CHECK_EQ_INT(data_parse_items_csv(&d, csv, strlen(csv), "categories=genres", err, sizeof err), -1);
    CHECK(strstr(err, "id") != NULL);
    CHECK_EQ_INT(data_parse_items_csv(&d, "", 0, "id=x", err, sizeof err), -1);
    /* several text columns joined */
    const char *b = "book_id,authors,title,year\n7,\"Austen, Jane\",Emma,1815\n";
    CHECK_EQ_INT(data_parse_items_csv(&d, b, strlen(b), "id=book_id,categories=authors,text=title+year", err, sizeof err), 1);
    CHECK_EQ_STR(d.text[idmap_get(&d.items, "7", 1)], "Emma 1815");
    data_free(&d);
}

typedef struct { char t[8][32]; int n; } terms;
static void collect(void *ctx, const char *term, size_t len)
{
    terms *t = ctx;
    if (t->n < 8) snprintf(t->t[t->n++], 32, "%.*s", (int)len, term);
}

static void test_terms(void)
{
    terms t = { .n = 0 };
    data_item_terms("Sci-Fi| Drama |(no genres listed)", "The Matrix (1999) a", collect, &t);
    CHECK_EQ_INT(t.n, 5);
    CHECK_EQ_STR(t.t[0], "c:sci-fi");
    CHECK_EQ_STR(t.t[1], "c:drama");
    CHECK_EQ_STR(t.t[2], "t:the");
    CHECK_EQ_STR(t.t[3], "t:matrix");
    CHECK_EQ_STR(t.t[4], "t:1999");        /* "a": one letter, skipped */
}

static void test_tfidf_cosine(void)
{
    rec_data d;
    data_init(&d);
    char err[128];
    const char *csv = "id,c\na,X|Y\nb,Y\nc,Z\n";
    CHECK_EQ_INT(data_parse_items_csv(&d, csv, strlen(csv), "id=id,categories=c", err, sizeof err), 3);
    rec_train t;
    train_build(&t, 0, d.items.n, 0, NULL, NULL, NULL, NULL);
    train_params p;
    train_params_default(&p);
    rec_model *m = train_model(&d, &t, ALG_CONTENT, &p, NULL, err, sizeof err);
    CHECK(m != NULL);
    /* idf X = ln 3, Y = ln 1.5: cos(a, b) = ln1.5 / sqrt(ln3^2 + ln1.5^2); c shares nothing */
    double want = log(1.5) / sqrt(log(3) * log(3) + log(1.5) * log(1.5));
    model_scratch *sc = model_scratch_new(m);
    float s[3];
    hist_entry h = { (uint32_t)idmap_get(&d.items, "b", 1), 1, 0 };
    model_score(m, &h, 1, s, sc);
    CHECK_NEAR(s[idmap_get(&d.items, "a", 1)], want, 1e-5);
    CHECK(s[idmap_get(&d.items, "c", 1)] < 1e-5);
    CHECK_EQ_STR(model_item_categories(m, (uint32_t)idmap_get(&d.items, "a", 1)), "X|Y");
    model_scratch_free(sc);
    model_free(m);
    train_free(&t);
    data_free(&d);
}

TEST_MAIN(test_csv, test_terms, test_tfidf_cosine)
