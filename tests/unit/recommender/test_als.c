/* test_als.c — implicit ALS: the loss never increases over the iterations;
 * the factors reproduce a known rank-2 (block) preference matrix; the
 * fold-in of a new user solves the normal equations (checked by hand with
 * one factor, and against a plain Gaussian elimination with 5, 13 and 16
 * factors: the blocked Cholesky's four-row columns and their tails); the
 * ALS dot products of one to eight users at once are the same floats with
 * 512-bit vectors as with AVX2 (and as one user alone). */
#include <math.h>
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

/* x of als_fold_in against the normal equations solved here by Gaussian
 * elimination with partial pivoting, for factor counts that hit the
 * Cholesky's four-row vectors, their scalar tail and the tiled
 * accumulation (f % 8 == 0). */
static void test_fold_in_against_elimination(void)
{
    const uint32_t fs[] = { 5, 13, 16 }, N = 40;
    for (size_t t = 0; t < sizeof fs / sizeof *fs; t++) {
        uint32_t f = fs[t];
        char **ids = calloc(N, sizeof *ids);
        for (uint32_t i = 0; i < N; i++) { char b[16]; snprintf(b, sizeof b, "i%u", i); ids[i] = strdup(b); }
        rec_model *m = model_new(N, ids);
        m->alg = ALG_ALS;
        m->als_f = f; m->als_reg = 0.5; m->als_alpha = 2;
        m->als_Y = malloc((size_t)N * f * sizeof(float));
        uint32_t r = 12345 + f;
        for (uint32_t i = 0; i < N * f; i++) { r = r * 1103515245u + 12345u; m->als_Y[i] = (float)((r >> 8) % 2001) / 1000.0f - 1.0f; }
        model_als_gram(m);
        model_scratch *sc = model_scratch_new(m);
        hist_entry h[9];
        for (int k = 0; k < 9; k++) h[k] = (hist_entry){ (uint32_t)(k * 4 + 1), 1.0f + (float)k / 3, 0 };
        double x[16] = { 0 }, A[16][17];
        CHECK(als_fold_in(m, h, 9, x, sc) == 0);
        /* A = YtY + sum (c-1) y y^T + reg I, b = sum c y, in A[.][f] */
        for (uint32_t a = 0; a < f; a++)
            for (uint32_t q = 0; q <= f; q++) {
                double v = 0;
                if (q < f) {
                    for (uint32_t i = 0; i < N; i++) v += (double)m->als_Y[i * f + a] * m->als_Y[i * f + q];
                    if (q == a) v += m->als_reg;
                }
                for (int k = 0; k < 9; k++) {
                    double c = 1.0 + m->als_alpha * h[k].weight;
                    const float *y = m->als_Y + (size_t)h[k].item * f;
                    v += q < f ? (c - 1) * y[a] * y[q] : c * y[a];
                }
                A[a][q] = v;
            }
        for (uint32_t c = 0; c < f; c++) {
            uint32_t piv = c;
            for (uint32_t i = c + 1; i < f; i++) if (fabs(A[i][c]) > fabs(A[piv][c])) piv = i;
            for (uint32_t q = 0; q <= f; q++) { double tmp = A[c][q]; A[c][q] = A[piv][q]; A[piv][q] = tmp; }
            for (uint32_t i = c + 1; i < f; i++) {
                double l = A[i][c] / A[c][c];
                for (uint32_t q = c; q <= f; q++) A[i][q] -= l * A[c][q];
            }
        }
        double ref[16];
        for (uint32_t i = f; i-- > 0;) {
            double v = A[i][f];
            for (uint32_t q = i + 1; q < f; q++) v -= A[i][q] * ref[q];
            ref[i] = v / A[i][i];
        }
        for (uint32_t a = 0; a < f; a++) CHECK_NEAR(x[a], ref[a], 1e-9 * (1 + fabs(ref[a])));
        model_scratch_free(sc);
        model_free(m);
    }
}

/* The ALS part of a hybrid for groups of 1..8 users (model_als_batch) and
 * for each user alone (model_score of an ALS-only hybrid) with the
 * AVX-512 dot products, against the AVX2 ones: the same floats bit for
 * bit, and each near a dot product in double. 45 items: two whole panels
 * of sixteen and a tail of thirteen; f = 13 and 32. Without AVX-512 on
 * this CPU both runs take the AVX2 path (said on stderr). */
static void test_dots_wide_same(void)
{
    const uint32_t fs[] = { 13, 32 }, N = 45;
    if (!__builtin_cpu_supports("avx512f")) fprintf(stderr, "  (no AVX-512F here: both runs use AVX2)\n");
    for (size_t t = 0; t < sizeof fs / sizeof *fs; t++) {
        uint32_t f = fs[t];
        char **ids = calloc(N, sizeof *ids);
        for (uint32_t i = 0; i < N; i++) { char b[16]; snprintf(b, sizeof b, "i%u", i); ids[i] = strdup(b); }
        rec_model *m = model_new(N, ids);
        m->alg = ALG_HYBRID;
        m->w[ALG_ALS] = 1;
        m->als_f = f; m->als_reg = 0.5; m->als_alpha = 2;
        m->als_Y = malloc((size_t)N * f * sizeof(float));
        uint32_t r = 777 + f;
        for (uint32_t i = 0; i < N * f; i++) { r = r * 1103515245u + 12345u; m->als_Y[i] = (float)((r >> 8) % 2001) / 1000.0f - 1.0f; }
        model_als_gram(m);
        model_scratch *sc = model_scratch_new(m);
        hist_entry h[8][5];
        const hist_entry *hp[8];
        size_t n[8];
        for (int u = 0; u < 8; u++) {
            n[u] = 1 + (size_t)u % 5;
            for (size_t k = 0; k < n[u]; k++) h[u][k] = (hist_entry){ (uint32_t)((u * 7 + k * 11) % N), 1.0f + (float)k, 0 };
            hp[u] = h[u];
        }
        float out[2][8][45], mx[2][8], alone[2][8][45];
        uint8_t ok[2][8];
        for (uint32_t g = 1; g <= 8; g++) {
            for (int wide = 0; wide < 2; wide++) {
                int old = model_score_isa_cap(wide ? 2 : 1);
                float *o[8];
                for (int u = 0; u < 8; u++) o[u] = out[wide][u];
                memset(out[wide], 0, sizeof out[wide]);
                CHECK(model_als_batch(m, hp, n, g, o, mx[wide], ok[wide], sc) == 1);
                for (uint32_t u = 0; u < g; u++) model_score(m, h[u], n[u], alone[wide][u], sc);
                model_score_isa_cap(old);
            }
            for (uint32_t u = 0; u < g; u++) {
                CHECK(ok[0][u] && ok[1][u]);
                CHECK_MSG(!memcmp(out[0][u], out[1][u], sizeof out[0][u]), "f %u, group of %u, user %u: AVX-512 and AVX2 differ", f, g, u);
                CHECK_MSG(!memcmp(&mx[0][u], &mx[1][u], sizeof mx[0][u]), "f %u, group of %u, user %u: maxima differ", f, g, u);
                CHECK_MSG(!memcmp(alone[0][u], alone[1][u], sizeof alone[0][u]), "f %u, user %u alone: AVX-512 and AVX2 differ", f, u);
                /* against x·y in double, x from the fold-in */
                double x[32];
                CHECK(als_fold_in(m, h[u], n[u], x, sc) == 0);
                float best = 0;
                for (uint32_t i = 0; i < N; i++) {
                    double d = 0;
                    for (uint32_t a = 0; a < f; a++) d += (double)(float)x[a] * m->als_Y[(size_t)i * f + a];
                    CHECK_NEAR(out[1][u][i], d, 1e-4 * (1 + fabs(d)));
                    if (out[1][u][i] > best) best = out[1][u][i];
                }
                CHECK(mx[1][u] == best);
            }
        }
        model_scratch_free(sc);
        model_free(m);
    }
}

TEST_MAIN(test_loss_and_recovery, test_fold_in_by_hand, test_fold_in_against_elimination, test_dots_wide_same)
