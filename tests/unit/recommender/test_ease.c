/* test_ease.c — the blocked SPD inverse against Gauss-Jordan (sizes that
 * cross the block and cache-tile boundaries, 1 and 2 threads), EASE's
 * B = I - P diag(1/diag P) on a small data set against the formula
 * evaluated independently here, and the sequence term --ease-seq adds to B
 * against pairs spelled out by hand. */
#include "../testhelp.h"
#include "../../../stages/recommender/train.h"

/* plain Gauss-Jordan with partial pivoting, for reference */
static void gj_inverse(const double *A, double *X, size_t n)
{
    double *M = malloc(n * 2 * n * sizeof *M);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < 2 * n; j++) M[i * 2 * n + j] = j < n ? A[i * n + j] : (j - n == i);
    for (size_t c = 0; c < n; c++) {
        size_t piv = c;
        for (size_t r = c + 1; r < n; r++) if (fabs(M[r * 2 * n + c]) > fabs(M[piv * 2 * n + c])) piv = r;
        for (size_t j = 0; j < 2 * n; j++) { double x = M[c * 2 * n + j]; M[c * 2 * n + j] = M[piv * 2 * n + j]; M[piv * 2 * n + j] = x; }
        double d = M[c * 2 * n + c];
        for (size_t j = 0; j < 2 * n; j++) M[c * 2 * n + j] /= d;
        for (size_t r = 0; r < n; r++) {
            if (r == c) continue;
            double f = M[r * 2 * n + c];
            for (size_t j = 0; j < 2 * n; j++) M[r * 2 * n + j] -= f * M[c * 2 * n + j];
        }
    }
    for (size_t i = 0; i < n; i++) for (size_t j = 0; j < n; j++) X[i * n + j] = M[i * 2 * n + n + j];
    free(M);
}

static void check_inverse(size_t k, int nt)
{
    double *A = malloc(k * k * sizeof *A), *M = malloc(k * k * sizeof *M), *R = malloc(k * k * sizeof *R);
    uint64_t s = 12345 + k;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j <= i; j++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            double v = (double)(s % 1000) / 1000.0 - 0.5;
            A[i * k + j] = A[j * k + i] = v;
        }
    for (size_t i = 0; i < k; i++) A[i * k + i] += (double)k * 0.6;   /* diagonally dominant: SPD */
    memcpy(M, A, k * k * sizeof *M);
    CHECK_EQ_INT(ease_spd_inverse(M, k, nt), 0);
    gj_inverse(A, R, k);
    double err = 0;
    for (size_t q = 0; q < k * k; q++) if (fabs(M[q] - R[q]) > err) err = fabs(M[q] - R[q]);
    CHECK_MSG(err < 1e-10, "k=%zu threads=%d max error %g", k, nt, err);
    free(A); free(M); free(R);
}

static void test_inverse(void)
{
    check_inverse(8, 1);
    check_inverse(96, 2);      /* one block exactly */
    check_inverse(200, 2);     /* blocks of 96 + a partial one */
    check_inverse(264, 1);     /* past a 256 tile of the inner dimension */
    check_inverse(528, 2);     /* past a 512 tile of columns */
    /* not positive definite: refused */
    double bad[64] = { 0 };
    for (int i = 0; i < 8; i++) bad[i * 8 + i] = i == 3 ? -1 : 1;
    CHECK_EQ_INT(ease_spd_inverse(bad, 8, 1), -1);
}

static void test_ease_formula(void)
{
    rec_data d;
    data_init(&d);
    /* 6 users, 4 items */
    const char *r[][2] = { { "1", "a" }, { "1", "b" }, { "2", "a" }, { "2", "c" }, { "3", "b" }, { "3", "c" },
                           { "3", "d" }, { "4", "a" }, { "4", "b" }, { "4", "d" }, { "5", "c" }, { "5", "d" }, { "6", "a" } };
    for (size_t k = 0; k < sizeof r / sizeof r[0]; k++) data_add(&d, r[k][0], 1, r[k][1], 1, 3.0f, 0);
    data_finish(&d);
    rec_train t;
    train_build(&t, d.users.n, d.items.n, d.n, d.u, d.i, d.w, d.ts);
    train_params p;
    train_params_default(&p);
    p.ease_lambda = 0.5;
    p.ease_min_users = 1;
    char err[128];
    rec_model *m = train_model(&d, &t, ALG_EASE, &p, NULL, err, sizeof err);
    CHECK(m != NULL);
    CHECK_EQ_INT(m->ease_n, 4);
    /* reference: G = X^T X + lambda I, P = G^-1, B_ij = -P_ij / P_jj */
    double G[16] = { 0 }, P[16];
    for (size_t q = 0; q < d.n; q++)
        for (size_t e = 0; e < d.n; e++)
            if (d.u[q] == d.u[e]) G[d.i[q] * 4 + d.i[e]] += 1;
    for (int i = 0; i < 4; i++) G[i * 4 + i] += 0.5;
    gj_inverse(G, P, 4);
    for (uint32_t i = 0; i < 4; i++)
        for (uint32_t j = 0; j < 4; j++) {
            double want = i == j ? 0 : -P[i * 4 + j] / P[j * 4 + j];
            int32_t pi = m->ease_pos[i], pj = m->ease_pos[j];
            CHECK_NEAR(m->ease_B[(size_t)pi * 4 + pj], want, 1e-5);
        }
    /* scoring a history {a, b}: row a + row b */
    model_scratch *sc = model_scratch_new(m);
    float s[4];
    hist_entry h[3] = { { 0, 1, 0 }, { 1, 1, 0 }, { 0, 5, 0 } };   /* a repeated: counts once */
    model_score(m, h, 3, s, sc);
    for (uint32_t j = 2; j < 4; j++) {
        double want = -P[0 * 4 + j] / P[j * 4 + j] - P[1 * 4 + j] / P[j * 4 + j];
        CHECK_NEAR(s[j], want, 1e-4);
    }
    /* the same scratch again, history {b, a}: the rows already summed for
     * the last list are forgotten (both count again) */
    hist_entry h2[2] = { { 1, 1, 0 }, { 0, 1, 0 } };
    float s2[4];
    model_score(m, h2, 2, s2, sc);
    for (uint32_t j = 2; j < 4; j++) CHECK_NEAR(s2[j], s[j], 1e-6);
    model_scratch_free(sc);
    model_free(m);
    /* min users: only items with >= 4 users are modelled */
    p.ease_min_users = 4;
    m = train_model(&d, &t, ALG_EASE, &p, NULL, err, sizeof err);
    CHECK_EQ_INT(m->ease_n, 1);      /* only a has 4 users */
    model_free(m);
    train_free(&t);
    data_free(&d);
}

/* B with --ease-seq X minus B without = X * A / sqrt(users(i) users(j)),
 * A the adjacency of items in each user's time order (1 for neighbours,
 * e^-1 two steps apart, e^-2 three), written out here by hand */
static void test_ease_seq(void)
{
    rec_data d;
    data_init(&d);
    /* items a b c d get indices 0 1 2 3 (first seen) */
    struct { const char *u, *i; int64_t ts; } r[] = {
        { "1", "a", 10 }, { "1", "b", 20 }, { "1", "c", 30 }, { "1", "d", 40 },   /* a b c d */
        /* a c d (the same second: item order, and a c are no pair: their order is unknown), b has no time */
        { "2", "c", 5 }, { "2", "a", 5 }, { "2", "d", 6 }, { "2", "b", 0 },
        { "3", "d", 100 }, { "3", "b", 50 },                  /* b d */
    };
    for (size_t k = 0; k < sizeof r / sizeof r[0]; k++) data_add(&d, r[k].u, 1, r[k].i, 1, 1.0f, r[k].ts);
    data_finish(&d);
    rec_train t;
    train_build(&t, d.users.n, d.items.n, d.n, d.u, d.i, d.w, d.ts);
    train_params p;
    train_params_default(&p);
    p.ease_lambda = 0.5;
    p.ease_min_users = 1;
    char err[128];
    p.ease_seq = 0;
    rec_model *plain = train_model(&d, &t, ALG_EASE, &p, NULL, err, sizeof err);
    double e1 = exp(-1), e2 = exp(-2);
    double A[4][4] = { { 0, 1, e1, e2 + e1 }, { 1, 0, 1, e1 + 1 }, { e1, 1, 0, 2 }, { e2 + e1, e1 + 1, 2, 0 } };
    double A1[4][4] = { { 0, 1, 0, 0 }, { 1, 0, 1, 1 }, { 0, 1, 0, 2 }, { 0, 1, 2, 0 } };   /* lag 1 only */
    double users[4] = { 2, 3, 2, 3 };
    for (int lag = 3; lag >= 1; lag -= 2) {
        p.ease_seq = 0.7;
        p.ease_seq_lag = lag;
        rec_model *m = train_model(&d, &t, ALG_EASE, &p, NULL, err, sizeof err);
        CHECK(plain && m);
        if (!plain || !m) break;
        CHECK_EQ_INT(m->ease_n, 4);
        CHECK_NEAR(model_param(m, "ease.seq", 0), 0.7, 1e-12);
        for (uint32_t i = 0; i < 4; i++)
            for (uint32_t j = 0; j < 4; j++) {
                size_t q = (size_t)m->ease_pos[i] * 4 + (size_t)m->ease_pos[j];
                double a = lag == 3 ? A[i][j] : A1[i][j];
                CHECK_MSG(fabs(m->ease_B[q] - plain->ease_B[q] - 0.7 * a / sqrt(users[i] * users[j])) < 1e-5,
                          "lag %d B[%u][%u]: %g more than without, want %g", lag, i, j,
                          m->ease_B[q] - plain->ease_B[q], 0.7 * a / sqrt(users[i] * users[j]));
            }
        model_free(m);
    }
    model_free(plain);
    train_free(&t);
    data_free(&d);
}

TEST_MAIN(test_inverse, test_ease_formula, test_ease_seq)
