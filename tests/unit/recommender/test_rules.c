/* test_rules.c — business rules on a small hand-made catalogue: the top-N
 * selection against a brute-force full sort (random scores, ties, NaN),
 * each filter, each boost, boost priorities and stacking, diversity, the
 * documented order (a filtered item never comes back through a boost), rules
 * switched off, and config errors that name the line. */
#define _GNU_SOURCE
#include "../testhelp.h"
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include "../../../stages/recommender/rules.h"
#include "fbrec.h"

/* catalogue: i0..i9; categories and first-seen times below */
#define NI 10
static const char *cats[NI] = { "A", "A", "B", "B|C", "C", "A|C", NULL, "B", "A", "C" };
#define NOW (1000 * 86400LL)
#define OLD (NOW - 10 * 86400)
static const int64_t first[NI] = { OLD, OLD, OLD, OLD, OLD, OLD, 0, OLD, NOW - 3600, OLD };

static int64_t cat_index(const void *ctx, const char *id, size_t len)
{
    (void)ctx;
    if (len == 2 && id[0] == 'i' && id[1] >= '0' && id[1] <= '9') return id[1] - '0';
    return -1;
}
static const char *cat_cats(const void *ctx, uint32_t i) { (void)ctx; return cats[i]; }
static int64_t cat_first(const void *ctx, uint32_t i) { (void)ctx; return first[i]; }
static const rules_catalog catalog = { NI, NULL, cat_index, cat_cats, cat_first };

static rules *load(const char *text)
{
    char err[512];
    rules *r = rules_load_string("t.yaml", text, err, sizeof err);
    if (!r) fprintf(stderr, "unexpected: %s\n", err);
    return r;
}

/* rank with fresh copies of scores; returns count, picks in out */
static size_t rank(const rules *r, const float *sc, const rules_hist *h, size_t nh, size_t top, rules_pick *out)
{
    rules_bound *b = rules_bind(r, &catalog, NOW);
    rules_scratch *s = rules_scratch_new(b);
    float tmp[NI];
    memcpy(tmp, sc, sizeof tmp);
    size_t n = rules_rank(b, tmp, h, nh, NULL, top, out, s);
    rules_scratch_free(s);
    rules_bound_free(b);
    return n;
}

static int has(const rules_pick *p, size_t n, uint32_t item)
{
    for (size_t i = 0; i < n; i++) if (p[i].item == item) return 1;
    return 0;
}

static const float base[NI] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0.5f };

static void test_default_seen(void)
{
    rules *r = rules_default();
    rules_hist h[] = { { 0, 1, 1 << EventType_view }, { 2, 1, 1 << EventType_click } };
    rules_pick p[NI];
    size_t n = rank(r, base, h, 2, 3, p);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(p[0].item, 1);
    CHECK_EQ_INT(p[1].item, 3);
    CHECK_EQ_INT(p[2].item, 4);
    CHECK_NEAR(p[0].score, 8, 0);
    /* asking for more than there is: every unseen item, once */
    n = rank(r, base, h, 2, 20, p);
    CHECK_EQ_INT(n, NI - 2);
    rules_free(r);
}

/* Random scores with ties and NaN: the heap selection equals a full sort
 * (value desc, index asc), for many N. */
static void test_topn_vs_sort(void)
{
    enum { N = 1000 };
    rules_catalog big = { N, NULL, cat_index, NULL, NULL };
    rules *r = rules_default();
    rules_bound *b = rules_bind(r, &big, NOW);
    rules_scratch *s = rules_scratch_new(b);
    static float sc[N], tmp[N];
    static uint32_t order[N];
    uint32_t seed = 12345;
    int bad = 0;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < N; i++) {
            seed = seed * 1103515245u + 12345u;
            sc[i] = (float)((seed >> 16) % 50) - 25;         /* many ties, negatives */
            if (i % 97 == 13) sc[i] = NAN;
        }
        rules_hist h[3] = { { (uint32_t)round, 1, 2 }, { (uint32_t)round * 7, 1, 2 }, { 999, 1, 2 } };
        memcpy(tmp, sc, sizeof sc);
        size_t top = (size_t)(round % 20) + 1;
        rules_pick p[64];
        size_t n = rules_rank(b, tmp, h, 3, NULL, top, p, s);
        /* brute force: selection sort of the admissible items */
        size_t m = 0;
        for (uint32_t i = 0; i < N; i++) {
            if (isnan(sc[i]) || i == (uint32_t)round || i == (uint32_t)round * 7 || i == 999) continue;
            order[m++] = i;
        }
        for (size_t i = 0; i < top && i < m; i++) {
            size_t best = i;
            for (size_t j = i + 1; j < m; j++)
                if (sc[order[j]] > sc[order[best]] || (sc[order[j]] == sc[order[best]] && order[j] < order[best])) best = j;
            uint32_t t = order[i]; order[i] = order[best]; order[best] = t;
        }
        if (n != top) bad++;
        for (size_t i = 0; i < n; i++) if (p[i].item != order[i]) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    rules_scratch_free(s);
    rules_bound_free(b);
    rules_free(r);
}

static int64_t big_index(const void *ctx, const char *id, size_t len)
{
    (void)ctx;
    if (len < 2 || id[0] != 'i') return -1;
    return atoi(id + 1);
}

/* The same with promoted items and negative, tied and NaN scores: equal
 * to a full sort of the boosted values. Sparse promotions (offered first)
 * and dense ones (every third item: boosted in place) take different paths. */
static int promo_sparse(uint32_t i) { return i == 5 || i == 100 || i == 101 || i == 500 || i == 776 || i == 0; }
static int promo_dense(uint32_t i) { return i % 3 == 1; }

static void topn_boosted(int (*promo)(uint32_t))
{
    enum { N = 777 };
    rules_catalog big = { N, NULL, big_index, NULL, NULL };
    static char yaml[16384];
    size_t k = (size_t)snprintf(yaml, sizeof yaml, "boost:\n  promoted: { factor: 3, items: [");
    for (uint32_t i = 0; i < N; i++)
        if (promo(i)) k += (size_t)snprintf(yaml + k, sizeof yaml - k, "i%u, ", i);
    snprintf(yaml + k - 2, sizeof yaml - k + 2, "] }\n");
    rules *r = load(yaml);
    rules_bound *b = rules_bind(r, &big, NOW);
    rules_scratch *s = rules_scratch_new(b);
    static float sc[N], tmp[N], val[N];
    static uint32_t order[N];
    uint32_t seed = 99;
    int bad = 0;
    for (int round = 0; round < 60; round++) {
        for (int i = 0; i < N; i++) {
            seed = seed * 1103515245u + 12345u;
            sc[i] = (float)((seed >> 16) % 40) - 20;
            if (i % 101 == 7) sc[i] = NAN;
        }
        memcpy(tmp, sc, sizeof sc);
        size_t top = (size_t)(round % 25) + 1;
        rules_pick p[64];
        size_t n = rules_rank(b, tmp, NULL, 0, NULL, top, p, s);
        size_t m = 0;
        for (uint32_t i = 0; i < N; i++) {
            if (isnan(sc[i])) continue;
            val[i] = promo(i) ? (sc[i] >= 0 ? sc[i] * 3 : sc[i] * (float)(1.0 / 3)) : sc[i];
            order[m++] = i;
        }
        for (size_t i = 0; i < top && i < m; i++) {
            size_t best = i;
            for (size_t j = i + 1; j < m; j++)
                if (val[order[j]] > val[order[best]] || (val[order[j]] == val[order[best]] && order[j] < order[best])) best = j;
            uint32_t t = order[i]; order[i] = order[best]; order[best] = t;
        }
        if (n != top) bad++;
        for (size_t i = 0; i < n; i++) if (p[i].item != order[i] || p[i].score != val[order[i]]) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    rules_scratch_free(s);
    rules_bound_free(b);
    rules_free(r);
}

static void test_topn_boosted_vs_sort(void)
{
    topn_boosted(promo_sparse);
    topn_boosted(promo_dense);
}

static void test_filters(void)
{
    rules *r = load("filter:\n"
                    "  seen: { enabled: false }\n"
                    "  already_purchased: {}\n"
                    "  blocked: { items: [i1, nope] }\n"
                    "  out_of_stock: { items: [i3] }\n");
    CHECK(r != NULL);
    if (!r) return;
    rules_hist h[] = { { 0, 1, 1 << EventType_view }, { 2, 4, 1 << EventType_purchase } };
    rules_pick p[NI];
    size_t n = rank(r, base, h, 2, 4, p);
    /* seen is off: i0 (only viewed) comes back; i2 purchased, i1 blocked, i3 out of stock */
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(p[0].item, 0);
    CHECK_EQ_INT(p[1].item, 4);
    CHECK(!has(p, n, 1) && !has(p, n, 2) && !has(p, n, 3));
    rules_bound *b = rules_bind(r, &catalog, NOW);
    CHECK_EQ_INT(rules_bound_unknown_items(b), 1);        /* "nope" */
    rules_bound_free(b);
    rules_free(r);

    /* the same file with the filters switched off */
    r = load("filter:\n"
             "  already_purchased: { enabled: false }\n"
             "  blocked: { enabled: false, items: [i1] }\n"
             "  out_of_stock: { enabled: no, items: [i3] }\n");
    n = rank(r, base, h, 2, 3, p);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(p[0].item, 1);
    CHECK_EQ_INT(p[1].item, 3);
    CHECK_EQ_INT(p[2].item, 4);
    rules_free(r);
}

static void test_items_file(void)
{
    char dir[] = "/tmp/test_rules_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256], list[256];
    snprintf(list, sizeof list, "%s/blocked.txt", dir);
    FILE *f = fopen(list, "w");
    fputs("# blocked by legal\n i0 \n\ni4\r\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/rules.yaml", dir);
    f = fopen(path, "w");
    fputs("filter:\n  blocked:\n    file: blocked.txt\n    items: [i1]\n", f);
    fclose(f);
    char err[512];
    rules *r = rules_load(path, err, sizeof err);
    CHECK_MSG(r != NULL, "%s", err);
    if (r) {
        rules_pick p[NI];
        size_t n = rank(r, base, NULL, 0, 3, p);
        CHECK_EQ_INT(n, 3);
        CHECK_EQ_INT(p[0].item, 2);
        CHECK_EQ_INT(p[1].item, 3);
        CHECK_EQ_INT(p[2].item, 5);
        rules_free(r);
    }
    unlink(list);
    r = rules_load(path, err, sizeof err);
    CHECK(r == NULL);
    /* the error names the rules file and the line of the file key */
    CHECK_MSG(strstr(err, "rules.yaml:3:") && strstr(err, "blocked.txt"), "%s", err);
    unlink(path);
    rmdir(dir);
}

static void test_boosts(void)
{
    rules_pick p[NI];
    /* promoted i4 (5 -> 10) jumps over everything */
    rules *r = load("boost:\n  promoted: { factor: 2, items: [i4] }\n");
    size_t n = rank(r, base, NULL, 0, 3, p);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(p[0].item, 4);
    CHECK_NEAR(p[0].score, 10, 1e-6);
    CHECK_EQ_INT(p[1].item, 0);
    rules_free(r);

    /* a boost raises a negative score too (divides it) */
    float neg[NI] = { -1, -2, -3, -4, -5, -6, -7, -8, -9, -10 };
    r = load("boost:\n  promoted: { factor: 4, items: [i2] }\n");
    n = rank(r, neg, NULL, 0, 2, p);
    CHECK_EQ_INT(p[0].item, 2);
    CHECK_NEAR(p[0].score, -0.75, 1e-6);
    rules_free(r);

    /* new items: i8 first seen an hour ago, the others 10 days ago, i6 unknown */
    r = load("boost:\n  new_items: { factor: 20, days: 1 }\n");
    n = rank(r, base, NULL, 0, 1, p);
    CHECK_EQ_INT(p[0].item, 8);
    rules_free(r);

    /* priorities: i8 is promoted (x3) and new (x20). Without stack the
     * highest-priority matching boost alone applies. */
    r = load("boost:\n  promoted: { priority: 1, factor: 3, items: [i8] }\n  new_items: { priority: 2, factor: 20, days: 2 }\n");
    n = rank(r, base, NULL, 0, NI, p);
    for (size_t i = 0; i < n; i++) if (p[i].item == 8) CHECK_NEAR(p[i].score, 3, 1e-6);
    rules_free(r);
    r = load("boost:\n  promoted: { priority: 5, factor: 3, items: [i8] }\n  new_items: { priority: 2, factor: 20, days: 2 }\n");
    n = rank(r, base, NULL, 0, 1, p);
    CHECK_EQ_INT(p[0].item, 8);
    CHECK_NEAR(p[0].score, 20, 1e-5);
    rules_free(r);
    /* stacked: 3 * 20 = 60, capped at 50 */
    r = load("boost:\n  stack: true\n  max_factor: 50\n  promoted: { factor: 3, items: [i8] }\n  new_items: { factor: 20, days: 2 }\n");
    n = rank(r, base, NULL, 0, 1, p);
    CHECK_NEAR(p[0].score, 50, 1e-4);
    rules_free(r);
    r = load("boost:\n  stack: true\n  promoted: { factor: 3, items: [i8] }\n  new_items: { factor: 20, days: 2 }\n");
    n = rank(r, base, NULL, 0, 1, p);
    CHECK_NEAR(p[0].score, 60, 1e-4);
    rules_free(r);
    /* switched off: nothing moves */
    r = load("boost:\n  promoted: { enabled: false, factor: 100, items: [i9] }\n");
    n = rank(r, base, NULL, 0, 1, p);
    CHECK_EQ_INT(p[0].item, 0);
    rules_free(r);
}

static void test_favourite_categories(void)
{
    rules_pick p[NI];
    /* the user mostly likes C (i4, i9 via history: weight 5) and a little A */
    rules_hist h[] = { { 4, 5, 2 }, { 9, 1, 2 }, { 0, 1, 2 } };
    rules *r = load("boost:\n  favourite_categories: { factor: 2, top: 1 }\n");
    size_t n = rank(r, base, h, 3, 3, p);
    /* unseen: i1 8(A) i2 7(B) i3 6(B|C -> 12) i5 4(A|C -> 8) i6 3 i7 2 i8 1(A) */
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(p[0].item, 3);
    CHECK_NEAR(p[0].score, 12, 1e-6);
    CHECK_EQ_INT(p[1].item, 1);                   /* 8, tie with i5's 8: lower index first */
    CHECK_EQ_INT(p[2].item, 5);
    rules_free(r);
    /* top: 2 makes A a favourite too: i1 16, i3 12, i5 8 */
    r = load("boost:\n  favourite_categories: { factor: 2, top: 2 }\n");
    n = rank(r, base, h, 3, 2, p);
    CHECK_EQ_INT(p[0].item, 1);
    CHECK_NEAR(p[0].score, 16, 1e-6);
    CHECK_EQ_INT(p[1].item, 3);
    rules_free(r);
}

static void test_diversity(void)
{
    rules_pick p[NI];
    rules *r = load("diversity:\n  max_per_category: 1\n");
    size_t n = rank(r, base, NULL, 0, 10, p);
    /* i0 A, i1 A skip, i2 B, i3 B|C skip, i4 C, i5 A|C skip, i6 none, i7 B skip, i8 A skip, i9 C skip */
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(p[0].item, 0);
    CHECK_EQ_INT(p[1].item, 2);
    CHECK_EQ_INT(p[2].item, 4);
    CHECK_EQ_INT(p[3].item, 6);
    rules_free(r);
    r = load("diversity:\n  max_per_category: 2\n");
    n = rank(r, base, NULL, 0, 5, p);
    /* i0 A1, i1 A2, i2 B1, i3 B2 C1, i4 C2 */
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(p[4].item, 4);
    /* a second list with the same scratch starts from zero counts */
    rules_free(r);
    r = load("diversity:\n  enabled: false\n  max_per_category: 1\n");
    n = rank(r, base, NULL, 0, 3, p);
    CHECK_EQ_INT(p[1].item, 1);
    rules_free(r);
}

/* The documented order: filters first (a promoted blocked item stays out),
 * boosts before diversity (the boosted item takes its category's place). */
static void test_order(void)
{
    rules_pick p[NI];
    rules *r = load("filter:\n  blocked: { items: [i9] }\n"
                    "boost:\n  promoted: { factor: 1000, items: [i9, i8] }\n"
                    "diversity:\n  max_per_category: 1\n");
    rules_bound *b = rules_bind(r, &catalog, NOW);
    rules_scratch *s = rules_scratch_new(b);
    for (int round = 0; round < 3; round++) {      /* scratch reuse keeps counts clean */
        float tmp[NI];
        memcpy(tmp, base, sizeof tmp);
        size_t n = rules_rank(b, tmp, NULL, 0, NULL, 10, p, s);
        CHECK(!has(p, n, 9));
        CHECK_EQ_INT(p[0].item, 8);                /* 1 * 1000 */
        CHECK(!has(p, n, 0) && !has(p, n, 1));      /* A is taken by i8 */
        CHECK_EQ_INT(n, 4);                          /* i8 A, i2 B, i4 C, i6 - */
    }
    CHECK_EQ_INT(rules_scratch_counts(s)->lists, 3);
    rules_scratch_free(s);
    rules_bound_free(b);
    rules_free(r);
}

static void expect_error(const char *text, const char *want)
{
    char err[512];
    rules *r = rules_load_string("t.yaml", text, err, sizeof err);
    CHECK(r == NULL);
    CHECK_MSG(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
    rules_free(r);
}

static void test_errors(void)
{
    expect_error("filter:\n  blockd: { items: [a] }\n", "t.yaml:2:3: unknown key 'blockd'");
    expect_error("boost:\n  promoted: { factor: 0, items: [a] }\n", "t.yaml:2:");
    expect_error("boost:\n  new_items: { days: 3 }\n", "factor");
    expect_error("diversity:\n  max_per_category: two\n", "t.yaml:2:");
    expect_error("diversity:\n  pool: 10\n", "max_per_category");
    expect_error("boost:\n  stack: maybe\n", "t.yaml:2:");
    char buf[512];
    rules *r = load("boost:\n  promoted: { factor: 2, items: [a, b] }\ndiversity: { max_per_category: 2 }\n");
    rules_describe(r, buf, sizeof buf);
    CHECK_MSG(strstr(buf, "filter seen") && strstr(buf, "promoted x2") && strstr(buf, "diversity max 2"), "%s", buf);
    rules_free(r);
}

TEST_MAIN(test_default_seen, test_topn_vs_sort, test_topn_boosted_vs_sort, test_filters, test_items_file, test_boosts,
          test_favourite_categories, test_diversity, test_order, test_errors)
