/* test_pop.c — popularity: plain counts, and exponential decay with a
 * half-life measured back from the newest training interaction; an empty
 * history gets popularity from every algorithm. */
#include "../testhelp.h"
#include "../../../stages/recommender/train.h"

static void test_decay(void)
{
    rec_data d;
    data_init(&d);
    int64_t T = 1700000000, H = 86400;
    data_add(&d, "u1", 2, "a", 1, 1, T);           /* newest: weight 1 */
    data_add(&d, "u2", 2, "a", 1, 1, T - H);       /* one half-life: 1/2 */
    data_add(&d, "u3", 2, "b", 1, 4, T - 2 * H);   /* two: 1/4 (weights do not count) */
    data_add(&d, "u4", 2, "b", 1, 1, T - 2 * H);
    data_finish(&d);
    rec_train t;
    train_build(&t, d.users.n, d.items.n, d.n, d.u, d.i, d.w, d.ts);
    train_params p;
    train_params_default(&p);
    char err[128];
    rec_model *m = train_model(&d, &t, ALG_POP, &p, NULL, err, sizeof err);
    uint32_t a = (uint32_t)idmap_get(&d.items, "a", 1), b = (uint32_t)idmap_get(&d.items, "b", 1);
    CHECK_NEAR(m->pop[a], 2, 1e-6);
    CHECK_NEAR(m->pop[b], 2, 1e-6);
    model_free(m);
    p.half_life_us = H * 1000000LL;
    m = train_model(&d, &t, ALG_POP, &p, NULL, err, sizeof err);
    CHECK_NEAR(m->pop[a], 1.5, 1e-6);
    CHECK_NEAR(m->pop[b], 0.5, 1e-6);
    model_free(m);
    /* the hybrid with an empty history ranks by popularity */
    p.ease_min_users = 1;
    m = train_model(&d, &t, ALG_HYBRID, &p, NULL, err, sizeof err);
    CHECK(m != NULL);
    model_scratch *sc = model_scratch_new(m);
    float s[2];
    model_score(m, NULL, 0, s, sc);
    CHECK(s[a] > s[b]);
    CHECK_NEAR(s[a], 1.5, 1e-6);
    model_scratch_free(sc);
    model_free(m);
    train_free(&t);
    data_free(&d);
}

TEST_MAIN(test_decay)
