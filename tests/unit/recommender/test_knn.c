/* test_knn.c — item-kNN cosine similarities and scoring on a matrix small
 * enough to check by hand; top-k pruning; user-kNN. */
#include "../testhelp.h"
#include "../../../stages/recommender/train.h"

/* users: u1{a,b} u2{a,b,c} u3{b,c} u4{a,b}; item columns over users:
 * a=(1,1,0,1) b=(1,1,1,1) c=(0,1,1,0):
 * cos(a,b)=3/(sqrt3*2)  cos(a,c)=1/(sqrt3*sqrt2)  cos(b,c)=2/(2*sqrt2) */
static void build(rec_data *d, rec_train *t)
{
    data_init(d);
    const char *r[][2] = { { "u1", "a" }, { "u1", "b" }, { "u2", "a" }, { "u2", "b" }, { "u2", "c" },
                           { "u3", "b" }, { "u3", "c" }, { "u4", "a" }, { "u4", "b" }, { "u4", "a" } };
    for (size_t k = 0; k < sizeof r / sizeof r[0]; k++) data_add(d, r[k][0], 2, r[k][1], 1, 2.0f, (int64_t)k);
    data_finish(d);
    CHECK_EQ_INT(d->n, 9);          /* the repeated (u4, a) merged */
    train_build(t, d->users.n, d->items.n, d->n, d->u, d->i, d->w, d->ts);
}

static double sim_of(const rec_model *m, uint32_t i, uint32_t j)
{
    for (uint32_t e = m->knn.off[i]; e < m->knn.off[i + 1]; e++) if (m->knn.nbr[e] == j) return m->knn.sim[e];
    return 0;
}

static void test_cosine(void)
{
    rec_data d; rec_train t;
    build(&d, &t);
    train_params p;
    train_params_default(&p);
    p.knn_k = 10;
    char err[128];
    rec_model *m = train_model(&d, &t, ALG_KNN, &p, NULL, err, sizeof err);
    CHECK(m != NULL);
    uint32_t a = (uint32_t)idmap_get(&d.items, "a", 1), b = (uint32_t)idmap_get(&d.items, "b", 1), c = (uint32_t)idmap_get(&d.items, "c", 1);
    CHECK_NEAR(sim_of(m, a, b), 3 / (sqrt(3) * 2), 1e-6);
    CHECK_NEAR(sim_of(m, b, a), 3 / (sqrt(3) * 2), 1e-6);
    CHECK_NEAR(sim_of(m, a, c), 1 / (sqrt(3) * sqrt(2)), 1e-6);
    CHECK_NEAR(sim_of(m, b, c), 2 / (2 * sqrt(2)), 1e-6);
    CHECK_NEAR(sim_of(m, a, a), 0, 0);            /* no self-similarity */
    /* a user who saw a (weight 2): score = 2 * sim */
    float s[3];
    model_scratch *sc = model_scratch_new(m);
    hist_entry h = { a, 2, 0 };
    model_score(m, &h, 1, s, sc);
    CHECK(s[b] > s[c]);
    CHECK_NEAR(s[b], 2 * 3 / (sqrt(3) * 2), 1e-4);
    CHECK_NEAR(s[c], 2 / (sqrt(3) * sqrt(2)), 1e-4);
    model_scratch_free(sc);
    model_free(m);
    /* k = 1: each target keeps its single best source; c keeps b only */
    p.knn_k = 1;
    m = train_model(&d, &t, ALG_KNN, &p, NULL, err, sizeof err);
    CHECK_NEAR(sim_of(m, a, c), 0, 0);
    CHECK(sim_of(m, b, c) > 0.7);
    CHECK_EQ_INT(m->knn.off[m->n_items], 3);
    model_free(m);
    train_free(&t);
    data_free(&d);
}

static void test_uknn(void)
{
    rec_data d; rec_train t;
    build(&d, &t);
    train_params p;
    train_params_default(&p);
    p.uknn_k = 1;
    char err[128];
    rec_model *m = train_model(&d, &t, ALG_UKNN, &p, NULL, err, sizeof err);
    CHECK(m != NULL);
    uint32_t a = (uint32_t)idmap_get(&d.items, "a", 1), c = (uint32_t)idmap_get(&d.items, "c", 1);
    /* history {c}: cos with u2 {a,b,c} = 1/sqrt3, with u3 {b,c} = 1/sqrt2: u3 is the neighbour */
    model_scratch *sc = model_scratch_new(m);
    float s[3];
    hist_entry h = { c, 1, 0 };
    model_score(m, &h, 1, s, sc);
    uint32_t b = (uint32_t)idmap_get(&d.items, "b", 1);
    CHECK_NEAR(s[b] - 1e-6f * m->pop[b] / 4, 1 / sqrt(2), 1e-5);
    CHECK(s[a] < 1e-3);               /* a is only in u2's list */
    model_scratch_free(sc);
    model_free(m);
    train_free(&t);
    data_free(&d);
}

TEST_MAIN(test_cosine, test_uknn)
