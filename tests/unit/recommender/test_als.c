/* test_als.c — implicit ALS: the loss never increases over the iterations;
 * the factors reproduce a known rank-2 (block) preference matrix; the
 * fold-in of a new user solves the normal equations (checked by hand with
 * one factor). */
#include "../testhelp.h"
#include "../../../stages/recommender/train.h"

/* 24 users x 12 items: users 0-11 used items 0-5, users 12-23 items 6-11
 * (each user misses one item of their block, which ALS must fill in). */
static void blocks(rec_data *d, rec_train *t)
{
    data_init(d);
    char u[16], it[16];
    for (int x = 0; x < 24; x++)
        for (int i = 0; i < 6; i++) {
            if (i == x % 6) continue;
            snprintf(u, sizeof u, "u%d", x);
            snprintf(it, sizeof it, "i%d", (x < 12 ? 0 : 6) + i);
            data_add(d, u, strlen(u), it, strlen(it), 1.0f, 0);
        }
    data_finish(d);
    train_build(t, d->users.n, d->items.n, d->n, d->u, d->i, d->w, d->ts);
}

static void test_loss_and_recovery(void)
{
    rec_data d; rec_train t;
    blocks(&d, &t);
    train_params p;
    train_params_default(&p);
    p.als_f = 4; p.als_iters = 12; p.als_cg = 3; p.als_reg = 0.05; p.als_alpha = 10;
    double loss[12];
    char err[128];
    rec_model *m = train_model(&d, &t, ALG_ALS, &p, loss, err, sizeof err);
    CHECK(m != NULL);
    for (int k = 1; k < 12; k++) CHECK_MSG(loss[k] <= loss[k - 1] * (1 + 1e-6), "iteration %d: %g > %g", k, loss[k], loss[k - 1]);
    CHECK(loss[11] < loss[0]);
    /* fold-in of user 0's history: its block (the missing item too) near 1, the other block near 0 */
    hist_entry h[6];
    size_t n = 0;
    for (uint32_t e = t.R.off[0]; e < t.R.off[1]; e++) h[n++] = (hist_entry){ t.R.idx[e], 1, 0 };
    model_scratch *sc = model_scratch_new(m);
    float s[12];
    model_score(m, h, n, s, sc);
    for (int i = 0; i < 12; i++) {
        char id[8];
        snprintf(id, sizeof id, "i%d", i);
        int64_t x = idmap_get(&d.items, id, strlen(id));
        if (i < 6) CHECK_MSG(s[x] > 0.6, "item %d: %g", i, s[x]);
        else CHECK_MSG(fabs(s[x]) < 0.25, "item %d: %g", i, s[x]);
    }
    model_scratch_free(sc);
    model_free(m);
    train_free(&t);
    data_free(&d);
}

static void test_fold_in_by_hand(void)
{
    /* f = 1, Y = (1, 2), reg 1, alpha 1; history: item 0 with weight 1
     * A = YtY + (c-1) y0^2 + reg = 5 + 1 + 1 = 7, b = c y0 = 2: x = 2/7 */
    char **ids = calloc(2, sizeof *ids);
    ids[0] = strdup("p"); ids[1] = strdup("q");
    rec_model *m = model_new(2, ids);
    m->alg = ALG_ALS;
    m->als_f = 1; m->als_reg = 1; m->als_alpha = 1;
    m->als_Y = malloc(2 * sizeof(float));
    m->als_Y[0] = 1; m->als_Y[1] = 2;
    model_als_gram(m);
    model_scratch *sc = model_scratch_new(m);
    hist_entry h = { 0, 1, 0 };
    float s[2];
    model_score(m, &h, 1, s, sc);
    CHECK_NEAR(s[0], 2.0 / 7, 1e-5);
    CHECK_NEAR(s[1], 4.0 / 7, 1e-5);
    /* weight 3: c = 4, A = 5 + 3 + 1 = 9, b = 4: x = 4/9 */
    h.weight = 3;
    model_score(m, &h, 1, s, sc);
    CHECK_NEAR(s[1], 8.0 / 9, 1e-5);
    model_scratch_free(sc);
    model_free(m);
}

TEST_MAIN(test_loss_and_recovery, test_fold_in_by_hand)
