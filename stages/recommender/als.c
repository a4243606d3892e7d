/* als.c — implicit-feedback matrix factorisation (Hu, Koren, Volinsky,
 * "Collaborative Filtering for Implicit Feedback Datasets", ICDM 2008):
 * minimise sum over all (u, i) of c_ui (p_ui - x_u.y_i)^2
 *          + reg (sum |x_u|^2 + sum |y_i|^2),
 * p_ui = 1 for the training interactions (0 elsewhere), c_ui = 1 + alpha r_ui
 * (r_ui the interaction weight, or 1 with --als-binary).
 *
 * Alternating: with Y fixed each x_u solves (YtY + Yt(Cu - I)Y + reg I) x =
 * Yt Cu p_u; after Takács, Pilászy and Tikk ("Applications of the conjugate
 * gradient method for implicit feedback collaborative filtering", RecSys
 * 2011) that system is not formed: a few conjugate-gradient steps from the
 * previous x_u, each applying the matrix as YtY·v + sum_i (c_ui - 1)(y_i.v) y_i
 * (O(f^2 + n_u f)). CG on an SPD system lowers the quadratic at every step,
 * so the loss never increases. Users, then items, are split over the
 * threads. Factors start at small seeded random values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "train.h"

/* 8-wide vector helpers (GCC/Clang vector extensions: SSE2 pairs by
 * default, one AVX register where the compiler may use it); scalar tails. */
typedef float v8sf __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) float dotf(const float *a, const float *b, uint32_t f)
{
    v8sf acc = { 0 };
    uint32_t k = 0;
    for (; k + 8 <= f; k += 8) {
        v8sf x, y;
        memcpy(&x, a + k, 32); memcpy(&y, b + k, 32);
        acc += x * y;
    }
    float t = 0;
    for (; k < f; k++) t += a[k] * b[k];
    return t + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* out += w * y */
static inline __attribute__((always_inline)) void axpyf(float *out, float w, const float *y, uint32_t f)
{
    v8sf wv = { w, w, w, w, w, w, w, w };
    uint32_t k = 0;
    for (; k + 8 <= f; k += 8) {
        v8sf o, x;
        memcpy(&o, out + k, 32); memcpy(&x, y + k, 32);
        o += wv * x;
        memcpy(out + k, &o, 32);
    }
    for (; k < f; k++) out[k] += w * y[k];
}

/* G = M^T M over the rows of M (n x f), double. */
static void gram(const float *M, uint32_t n, uint32_t f, double *G)
{
    memset(G, 0, (size_t)f * f * sizeof *G);
    for (uint32_t i = 0; i < n; i++) {
        const float *y = M + (size_t)i * f;
        for (uint32_t a = 0; a < f; a++) {
            double ya = y[a];
            double *g = G + (size_t)a * f;
            for (uint32_t b = a; b < f; b++) g[b] += ya * y[b];
        }
    }
    for (uint32_t a = 0; a < f; a++)
        for (uint32_t b = 0; b < a; b++) G[(size_t)a * f + b] = G[(size_t)b * f + a];
}

typedef struct {
    const rec_csr *R;         /* rows to solve (users or items) */
    float *X;                 /* their factors */
    const float *Y;           /* the fixed side */
    const float *G;           /* Y^T Y */
    uint32_t f, cg;
    double reg, alpha;
    int binary;
    float *scratch;           /* per thread: 4f */
} solve_ctx;

/* A v for row u: G v + sum (c - 1)(y.v) y + reg v */
static inline __attribute__((always_inline)) void apply(const solve_ctx *c, uint32_t u, const float *v, float *out)
{
    uint32_t f = c->f;
    float reg = (float)c->reg;
    for (uint32_t a = 0; a < f; a++) out[a] = reg * v[a];
    for (uint32_t b = 0; b < f; b++) axpyf(out, v[b], c->G + (size_t)b * f, f);   /* G symmetric: out += v[b] G[b][:] */
    for (uint32_t e = c->R->off[u]; e < c->R->off[u + 1]; e++) {
        const float *y = c->Y + (size_t)c->R->idx[e] * f;
        float r = c->binary ? 1.0f : c->R->val[e];
        axpyf(out, (float)(c->alpha * r) * dotf(y, v, f), y, f);
    }
}

static inline __attribute__((always_inline)) void solve_rows_impl(void *vc, uint64_t b, uint64_t e, int th)
{
    solve_ctx *c = vc;
    uint32_t f = c->f;
    float *r = c->scratch + (size_t)th * 4 * f, *p = r + f, *Ap = p + f, *bb = Ap + f;
    for (uint64_t u = b; u < e; u++) {
        float *x = c->X + u * f;
        /* b = sum c_ui y_i */
        memset(bb, 0, f * sizeof *bb);
        for (uint32_t q = c->R->off[u]; q < c->R->off[u + 1]; q++) {
            const float *y = c->Y + (size_t)c->R->idx[q] * f;
            axpyf(bb, (float)(1 + c->alpha * (c->binary ? 1.0f : c->R->val[q])), y, f);
        }
        apply(c, (uint32_t)u, x, Ap);
        double rs = 0;
        for (uint32_t a = 0; a < f; a++) { r[a] = bb[a] - Ap[a]; p[a] = r[a]; rs += (double)r[a] * r[a]; }
        for (uint32_t it = 0; it < c->cg && rs > 1e-20; it++) {
            apply(c, (uint32_t)u, p, Ap);
            double pAp = 0;
            for (uint32_t a = 0; a < f; a++) pAp += (double)p[a] * Ap[a];
            if (!(pAp > 0)) break;
            float al = (float)(rs / pAp);
            double rs2 = 0;
            for (uint32_t a = 0; a < f; a++) { x[a] += al * p[a]; r[a] -= al * Ap[a]; rs2 += (double)r[a] * r[a]; }
            float beta = (float)(rs2 / rs);
            for (uint32_t a = 0; a < f; a++) p[a] = r[a] + beta * p[a];
            rs = rs2;
        }
    }
}

/* The solver compiled twice: for AVX2+FMA (chosen at run time when the CPU
 * has it) and for the baseline. */
static void solve_rows_generic(void *vc, uint64_t b, uint64_t e, int th) { solve_rows_impl(vc, b, e, th); }
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2,fma")))
static void solve_rows_avx2(void *vc, uint64_t b, uint64_t e, int th) { solve_rows_impl(vc, b, e, th); }
#endif

typedef void (*solve_fn)(void *, uint64_t, uint64_t, int);
static solve_fn pick_solver(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return solve_rows_avx2;
#endif
    return solve_rows_generic;
}

double als_loss(const rec_train *t, const float *X, const float *Y, uint32_t f, double reg, double alpha, int binary)
{
    double *G = malloc((size_t)f * f * sizeof *G);
    if (!G) return NAN;
    gram(Y, t->n_items, f, G);
    double L = 0;
    for (uint32_t u = 0; u < t->n_users; u++) {
        const float *x = X + (size_t)u * f;
        double q = 0;                              /* x^T G x: sum over all items of s^2 */
        for (uint32_t a = 0; a < f; a++) {
            double s = 0;
            for (uint32_t b = 0; b < f; b++) s += G[(size_t)a * f + b] * x[b];
            q += s * x[a];
        }
        L += q;
        for (uint32_t e = t->R.off[u]; e < t->R.off[u + 1]; e++) {
            double s = dotf(x, Y + (size_t)t->R.idx[e] * f, f);
            double c = 1 + alpha * (binary ? 1.0 : t->R.val[e]);
            L += c * (1 - s) * (1 - s) - s * s;
        }
        L += reg * dotf(x, x, f);
    }
    for (uint32_t i = 0; i < t->n_items; i++) L += reg * dotf(Y + (size_t)i * f, Y + (size_t)i * f, f);
    free(G);
    return L;
}

int als_train(rec_model *m, const rec_train *t, const train_params *p, double *loss)
{
    uint32_t f = (uint32_t)p->als_f, nu = t->n_users, ni = m->n_items;
    int nt = (int)(p->threads < 1 ? 1 : p->threads > 64 ? 64 : p->threads);
    float *X = malloc(((size_t)nu + 1) * f * sizeof *X);
    float *Y = malloc(((size_t)ni + 1) * f * sizeof *Y);
    double *G = malloc((size_t)f * f * sizeof *G);
    float *Gf = malloc((size_t)f * f * sizeof *Gf);
    float *scr = malloc((size_t)nt * 4 * f * sizeof *scr);
    if (!X || !Y || !G || !Gf || !scr) { free(X); free(Y); free(G); free(Gf); free(scr); return -1; }
    uint64_t s = (uint64_t)p->seed * 0x9E3779B97F4A7C15ULL + 1;
    float scale = 0.1f / sqrtf((float)f);
    for (size_t k = 0; k < (size_t)ni * f; k++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        Y[k] = scale * (float)((s >> 11) * (1.0 / 9007199254740992.0));
    }
    memset(X, 0, (size_t)nu * f * sizeof *X);
    /* items beyond the training matrix (metadata only) keep Y = 0 */
    rec_csr Rt = t->Rt;
    if (ni > t->n_items) for (size_t k = (size_t)t->n_items * f; k < (size_t)ni * f; k++) Y[k] = 0;
    Rt.rows = t->n_items < ni ? t->n_items : ni;
    solve_fn solve_rows = pick_solver();
    for (int64_t it = 0; it < p->als_iters; it++) {
        solve_ctx cu = { &t->R, X, Y, Gf, f, (uint32_t)p->als_cg, p->als_reg, p->als_alpha, p->als_binary, scr };
        gram(Y, ni, f, G);
        for (size_t k = 0; k < (size_t)f * f; k++) Gf[k] = (float)G[k];
        par_for_dyn(nt, nu, 64, solve_rows, &cu);
        solve_ctx ci = { &Rt, Y, X, Gf, f, (uint32_t)p->als_cg, p->als_reg, p->als_alpha, p->als_binary, scr };
        gram(X, nu, f, G);
        for (size_t k = 0; k < (size_t)f * f; k++) Gf[k] = (float)G[k];
        par_for_dyn(nt, Rt.rows, 64, solve_rows, &ci);
        if (loss) loss[it] = als_loss(t, X, Y, f, p->als_reg, p->als_alpha, p->als_binary);
    }
    free(X); free(G); free(Gf); free(scr);
    free(m->als_Y);
    m->als_Y = Y;
    m->als_f = f;
    m->als_reg = (float)p->als_reg;
    m->als_alpha = (float)p->als_alpha;
    m->als_binary = p->als_binary;
    model_als_gram(m);
    model_set_param(m, "als.factors", f);
    model_set_param(m, "als.iterations", (double)p->als_iters);
    model_set_param(m, "als.cg_steps", (double)p->als_cg);
    model_set_param(m, "als.reg", p->als_reg);
    model_set_param(m, "als.alpha", p->als_alpha);
    model_set_param(m, "als.binary", p->als_binary);
    return 0;
}
