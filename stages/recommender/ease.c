/* ease.c — EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse
 * Data", WWW 2019): B = I - P diag(1/diag(P)), P = (X^T X + lambda I)^-1,
 * over binary X. score(j) = sum over the user's items i of B[i][j].
 *
 * The dense inverse costs k^3 flops for k items, so only items with at
 * least ease_min_users training users are modelled, the ease_max_items most
 * popular of them at most (others get no EASE score; the hybrid ranks them
 * by its other components).
 *
 * Linear algebra, double precision, row-major, k padded to a multiple of 8
 * (padding rows/columns are identity, which decouples them):
 *   1. G = X^T X + lambda I  (lower triangle), from each user's items;
 *   2. blocked right-looking Cholesky G = L L^T;
 *   3. W = L^-1 by block rows, in place;
 *   4. P = W^T W (W^T materialised);
 * every step's bulk is one kernel, C -= A·T (T row-major), with a 4x8
 * AVX2/FMA register block when the CPU has it, split over the threads by
 * row groups.
 *
 * Sequence adjacency (ease_seq > 0): B += ease_seq · A, where A[i][j] sums,
 * over the training users, exp(-(d-1)) for each time i and j appear d <=
 * ease_seq_lag steps apart (and at different times) in the user's
 * interactions in time order, divided by sqrt(users of i · users of j) (a
 * cosine). Items a user takes one after the other (a session, the pages a
 * catalogue shows together) say something the bag of items X does not;
 * folded into B it costs serving nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "log.h"
#include "train.h"

#define NB 96        /* block size: multiple of 8 */

/* C[m x n] -= A[m x kk] · T[kk x n]; m % 4 == 0, n % 8 == 0. */
#define KERNEL_BODY                                                               \
    for (size_t i = 0; i < m; i += 4) {                                           \
        const double *a0 = A + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda; \
        for (size_t j = 0; j < n; j += 8) {                                       \
            v4d c00, c01, c10, c11, c20, c21, c30, c31;                           \
            double *r0 = C + i * ldc + j, *r1 = r0 + ldc, *r2 = r1 + ldc, *r3 = r2 + ldc; \
            memcpy(&c00, r0, 32); memcpy(&c01, r0 + 4, 32);                       \
            memcpy(&c10, r1, 32); memcpy(&c11, r1 + 4, 32);                       \
            memcpy(&c20, r2, 32); memcpy(&c21, r2 + 4, 32);                       \
            memcpy(&c30, r3, 32); memcpy(&c31, r3 + 4, 32);                       \
            const double *tp = T + j;                                             \
            for (size_t t = 0; t < kk; t++, tp += ldt) {                          \
                v4d t0, t1;                                                       \
                memcpy(&t0, tp, 32); memcpy(&t1, tp + 4, 32);                     \
                v4d b0 = { a0[t], a0[t], a0[t], a0[t] };                          \
                v4d b1 = { a1[t], a1[t], a1[t], a1[t] };                          \
                v4d b2 = { a2[t], a2[t], a2[t], a2[t] };                          \
                v4d b3 = { a3[t], a3[t], a3[t], a3[t] };                          \
                c00 -= b0 * t0; c01 -= b0 * t1;                                   \
                c10 -= b1 * t0; c11 -= b1 * t1;                                   \
                c20 -= b2 * t0; c21 -= b2 * t1;                                   \
                c30 -= b3 * t0; c31 -= b3 * t1;                                   \
            }                                                                     \
            memcpy(r0, &c00, 32); memcpy(r0 + 4, &c01, 32);                       \
            memcpy(r1, &c10, 32); memcpy(r1 + 4, &c11, 32);                       \
            memcpy(r2, &c20, 32); memcpy(r2 + 4, &c21, 32);                       \
            memcpy(r3, &c30, 32); memcpy(r3 + 4, &c31, 32);                       \
        }                                                                         \
    }

typedef double v4d __attribute__((vector_size(32)));

static void gemm_sub_generic(size_t m, size_t n, size_t kk, const double *A, size_t lda,
                             const double *T, size_t ldt, double *C, size_t ldc)
{
    KERNEL_BODY
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2,fma")))
static void gemm_sub_avx2(size_t m, size_t n, size_t kk, const double *A, size_t lda,
                          const double *T, size_t ldt, double *C, size_t ldc)
{
    KERNEL_BODY
}
#define HAVE_AVX2_KERNEL 1
#endif

typedef void (*gemm_fn)(size_t, size_t, size_t, const double *, size_t, const double *, size_t, double *, size_t);

static gemm_fn pick_kernel(void)
{
#ifdef HAVE_AVX2_KERNEL
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return gemm_sub_avx2;
#endif
    return gemm_sub_generic;
}

/* Cache-blocked C -= A·T: kk in chunks of KC, n in chunks of NC, so a
 * KC x NC block of T (<= 1 MiB) is reused by every row group. */
#define KC 256
#define NC 512
static void gemm_blocked(gemm_fn g, size_t m, size_t n, size_t kk, const double *A, size_t lda,
                         const double *T, size_t ldt, double *C, size_t ldc)
{
    for (size_t t0 = 0; t0 < kk; t0 += KC) {
        size_t kc = kk - t0 < KC ? kk - t0 : KC;
        for (size_t j0 = 0; j0 < n; j0 += NC) {
            size_t nc = n - j0 < NC ? n - j0 : NC;
            g(m, nc, kc, A + t0, lda, T + t0 * ldt + j0, ldt, C + j0, ldc);
        }
    }
}

/* ---- parallel steps -------------------------------------------------------- */

typedef struct {
    gemm_fn gemm;
    double *M; size_t k;     /* the matrix (k x k, padded) */
    double *Tp;              /* scratch panel, NB x k */
    double *Wt;              /* W transposed */
    double *C;               /* scratch rows */
    size_t kb, nb;           /* current block column */
    size_t i0;               /* current block row start */
} lin;

/* Cholesky trailing update, rows in groups of 4 from kb+nb:
 * M[i][kb+nb .. i] -= L[i][kb..kb+nb) · Tp (Tp[t][j] = L[j][kb+t]). */
static void chol_update(void *vc, uint64_t b, uint64_t e, int th)
{
    lin *c = vc;
    size_t s = c->kb + c->nb;
    for (uint64_t g = b; g < e; g++) {
        size_t i = s + g * 32;
        size_t rows = c->k - i < 32 ? c->k - i : 32;
        size_t ncol = (i + rows - s + 7) / 8 * 8;       /* up to and past the diagonal */
        if (s + ncol > c->k) ncol = c->k - s;
        gemm_blocked(c->gemm, rows, ncol, c->nb, c->M + i * c->k + c->kb, c->k, c->Tp + s, c->k, c->M + i * c->k + s, c->k);
    }
}

/* Unblocked Cholesky of the nb x nb diagonal block at (kb, kb). */
static int chol_diag(double *M, size_t k, size_t kb, size_t nb)
{
    for (size_t j = kb; j < kb + nb; j++) {
        double d = M[j * k + j];
        for (size_t t = kb; t < j; t++) d -= M[j * k + t] * M[j * k + t];
        if (!(d > 0)) return -1;
        d = sqrt(d);
        M[j * k + j] = d;
        for (size_t i = j + 1; i < kb + nb; i++) {
            double s = M[i * k + j];
            for (size_t t = kb; t < j; t++) s -= M[i * k + t] * M[j * k + t];
            M[i * k + j] = s / d;
        }
    }
    return 0;
}

/* Panel rows below the diagonal block: row r of L21 solves
 * x · L11^T = a, i.e. x_c = (a_c - sum_{t<c} x_t L11[c][t]) / L11[c][c]. */
static void chol_panel(void *vc, uint64_t b, uint64_t e, int th)
{
    lin *c = vc;
    size_t k = c->k, kb = c->kb, nb = c->nb;
    for (uint64_t r = b; r < e; r++) {
        double *x = c->M + (kb + nb + r) * k + kb;
        for (size_t cc = 0; cc < nb; cc++) {
            const double *l = c->M + (kb + cc) * k + kb;
            double s = x[cc];
            for (size_t t = 0; t < cc; t++) s -= x[t] * l[t];
            x[cc] = s / l[cc];
        }
    }
}

static int cholesky(lin *c, int nt)
{
    size_t k = c->k;
    for (size_t kb = 0; kb < k; kb += NB) {
        size_t nb = k - kb < NB ? k - kb : NB;
        c->kb = kb; c->nb = nb;
        if (chol_diag(c->M, k, kb, nb)) return -1;
        size_t rest = k - kb - nb;
        if (!rest) break;
        par_for(nt, rest, chol_panel, c);
        for (size_t j = kb + nb; j < k; j++)
            for (size_t t = 0; t < nb; t++) c->Tp[t * k + j] = c->M[j * k + kb + t];
        par_for_dyn(nt, (rest + 31) / 32, 1, chol_update, c);
    }
    return 0;
}

/* W = L^-1, block row by block row (i0 = c->i0, nb rows): C = -L[i0.., 0..i0) · W[0..i0, 0..i0)
 * then W[i-block, 0..i0) = L_ii^-1 C. Columns split over threads in groups of 8. */
static void inv_gemm(void *vc, uint64_t b, uint64_t e, int th)
{
    lin *c = vc;
    size_t k = c->k, i0 = c->i0, nb = c->nb;
    size_t j0 = b * 8, n = (e - b) * 8;
    /* W rows t in [0, i0) have nonzeros only in columns <= t: start at j0 */
    gemm_blocked(c->gemm, nb, n, i0 - j0, c->M + i0 * k + j0, k, c->M + j0 * k + j0, k, c->C + j0, k);
}

static void triangular_inverse(lin *c, int nt)
{
    size_t k = c->k;
    double *Lii = malloc(NB * NB * sizeof *Lii);
    for (size_t i0 = 0; i0 < k; i0 += NB) {
        size_t nb = k - i0 < NB ? k - i0 : NB;
        c->i0 = i0; c->nb = nb;
        for (size_t r = 0; r < nb; r++)
            for (size_t t = 0; t <= r; t++) Lii[r * NB + t] = c->M[(i0 + r) * k + i0 + t];
        if (i0) {
            memset(c->C, 0, nb * k * sizeof *c->C);
            par_for_dyn(nt, i0 / 8, 16, inv_gemm, c);
            /* solve L_ii X = C (forward substitution, row axpy form) */
            for (size_t r = 0; r < nb; r++) {
                double *xr = c->C + r * k;
                for (size_t t = 0; t < r; t++) {
                    double l = Lii[r * NB + t];
                    const double *xt = c->C + t * k;
                    for (size_t j = 0; j < i0; j++) xr[j] -= l * xt[j];
                }
                double inv = 1.0 / Lii[r * NB + r];
                for (size_t j = 0; j < i0; j++) xr[j] *= inv;
            }
            for (size_t r = 0; r < nb; r++) memcpy(c->M + (i0 + r) * k, c->C + r * k, i0 * sizeof(double));
        }
        /* diagonal block: L_ii^-1 */
        for (size_t r = 0; r < nb; r++) {
            double *w = c->M + (i0 + r) * k + i0;
            for (size_t j = 0; j < nb; j++) w[j] = 0;
            for (size_t j = 0; j <= r; j++) {
                double s = j == r ? 1.0 : 0.0;
                for (size_t t = j; t < r; t++) s -= Lii[r * NB + t] * c->M[(i0 + t) * k + i0 + j];
                w[j] = s / Lii[r * NB + r];
            }
        }
    }
    free(Lii);
}

/* P row block a (rows a0..a0+nb): P[a, b] = sum_t Wt[a][t] W[t][b] for b >= a0,
 * t >= max(a, b): into C, then back into M (W rows of this block are no
 * longer needed by later blocks, which only read W rows >= their start). */
static void prod_rows(void *vc, uint64_t b, uint64_t e, int th)
{
    lin *c = vc;
    size_t k = c->k, a0 = c->i0, nb = c->nb;
    /* columns j0..j1, t from a0 (Wt rows of the a-block are zero before a0;
     * W[t][j] = 0 for t < j, so starting every column at a0 only adds zeros) */
    size_t j0 = a0 + b * 8, n = (e - b) * 8;
    gemm_blocked(c->gemm, nb, n, k - a0, c->Wt + a0 * k + a0, k, c->M + a0 * k + j0, k, c->C + j0, k);
}

static void wtw(lin *c, int nt)
{
    size_t k = c->k;
    for (size_t t0 = 0; t0 < k; t0 += 32)          /* Wt = W^T, in 32 x 32 tiles */
        for (size_t a0 = 0; a0 <= t0; a0 += 32)
            for (size_t t = t0; t < t0 + 32 && t < k; t++)
                for (size_t a = a0; a < a0 + 32 && a < k; a++) c->Wt[a * k + t] = c->M[t * k + a];
    for (size_t a0 = 0; a0 < k; a0 += NB) {
        size_t nb = k - a0 < NB ? k - a0 : NB;
        c->i0 = a0; c->nb = nb;
        memset(c->C, 0, nb * k * sizeof *c->C);
        par_for(nt, (k - a0) / 8, prod_rows, c);
        for (size_t r = 0; r < nb; r++)
            for (size_t j = a0; j < k; j++) c->M[(a0 + r) * k + j] = -c->C[r * k + j];
    }
    /* mirror the upper triangle into the lower */
    for (size_t i0 = 0; i0 < k; i0 += 32)
        for (size_t j0 = 0; j0 <= i0; j0 += 32)
            for (size_t i = i0; i < i0 + 32 && i < k; i++)
                for (size_t j = j0; j < j0 + 32 && j < i; j++) c->M[i * k + j] = c->M[j * k + i];
}

/* Inverse of the SPD matrix M (k x k, k % 8 == 0, full storage, lower
 * triangle read) in place. 0 or -1 (not positive definite / OOM). */
int ease_spd_inverse(double *M, size_t k, int nt)
{
    lin c = { pick_kernel(), M, k, NULL, NULL, NULL, 0, 0, 0 };
    c.Tp = calloc((size_t)NB * k, sizeof *c.Tp);
    c.C = calloc((size_t)NB * k, sizeof *c.C);
    c.Wt = calloc((size_t)k * k, sizeof *c.Wt);
    int rc = -1;
    if (!c.Tp || !c.C || !c.Wt) goto out;
    struct timespec q0, q1, q2, q3;
    clock_gettime(CLOCK_MONOTONIC, &q0);
    if (cholesky(&c, nt)) goto out;
    clock_gettime(CLOCK_MONOTONIC, &q1);
    for (size_t i = 0; i < k; i++) memset(M + i * k + i + 1, 0, (k - i - 1) * sizeof *M);
    triangular_inverse(&c, nt);
    clock_gettime(CLOCK_MONOTONIC, &q2);
    wtw(&c, nt);
    clock_gettime(CLOCK_MONOTONIC, &q3);
    log_kv(LOG_DEBUG, "ease inverse", "\"k\":%zu,\"cholesky_s\":%.3f,\"inverse_s\":%.3f,\"product_s\":%.3f", k,
                (q1.tv_sec - q0.tv_sec) + (q1.tv_nsec - q0.tv_nsec) / 1e9,
                (q2.tv_sec - q1.tv_sec) + (q2.tv_nsec - q1.tv_nsec) / 1e9,
                (q3.tv_sec - q2.tv_sec) + (q3.tv_nsec - q2.tv_nsec) / 1e9);
    rc = 0;
out:
    free(c.Tp); free(c.C); free(c.Wt);
    return rc;
}

/* ---- EASE ----------------------------------------------------------------- */

typedef struct { uint32_t i; uint32_t cnt; } icnt;
static int by_cnt_desc(const void *a, const void *b)
{
    const icnt *x = a, *y = b;
    if (x->cnt != y->cnt) return x->cnt > y->cnt ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

typedef struct { const rec_train *t; const int32_t *pos; double *G; size_t k; int nt; } gram_ctx;

/* Thread th accumulates the rows a of G with a % nt == th (lower triangle). */
static void gram_rows(void *vc, uint64_t b, uint64_t e, int th)
{
    gram_ctx *c = vc;
    const rec_train *t = c->t;
    uint32_t *sel = malloc((t->n_items ? t->n_items : 1) * sizeof *sel);
    if (!sel) return;
    for (uint64_t part = b; part < e; part++) {
        for (uint32_t u = 0; u < t->n_users; u++) {
            uint32_t ns = 0;
            for (uint32_t q = t->R.off[u]; q < t->R.off[u + 1]; q++) {
                int32_t p = c->pos[t->R.idx[q]];
                if (p >= 0) sel[ns++] = (uint32_t)p;
            }
            for (uint32_t x = 0; x < ns; x++) {
                uint32_t a = sel[x];
                if (a % (uint32_t)c->nt != part) continue;
                double *row = c->G + (size_t)a * c->k;
                for (uint32_t y = 0; y < ns; y++) if (sel[y] <= a) row[sel[y]] += 1;
            }
        }
    }
    free(sel);
}

typedef struct { int64_t ts; uint32_t item; } seq_ev;
static int by_time(const void *a, const void *b)
{
    const seq_ev *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;   /* same second: item index, so the order is fixed */
}

/* B += ease_seq · A (the header above). Interactions without a time (ts
 * 0) have no place in a sequence and are left out; two of the same second
 * hold their places but make no pair (their order is not known: with
 * coarse times the item index would make up the sequence). 0, or -1 out
 * of memory. */
static int ease_add_seq(rec_model *m, const rec_train *t, const train_params *p)
{
    uint32_t k = m->ease_n, lag = (uint32_t)p->ease_seq_lag;
    uint32_t maxrow = 0;
    for (uint32_t u = 0; u < t->n_users; u++)
        if (t->R.off[u + 1] - t->R.off[u] > maxrow) maxrow = t->R.off[u + 1] - t->R.off[u];
    double *A = calloc((size_t)k * k, sizeof *A);
    seq_ev *ev = malloc((maxrow ? maxrow : 1) * sizeof *ev);
    double wl[101];
    if (!A || !ev || lag > 100) { free(A); free(ev); return -1; }
    for (uint32_t d = 1; d <= lag; d++) wl[d] = exp(-(double)(d - 1));
    for (uint32_t u = 0; u < t->n_users; u++) {
        uint32_t n = 0;
        for (uint32_t q = t->R.off[u]; q < t->R.off[u + 1]; q++)
            if (t->R.ts[q]) ev[n++] = (seq_ev){ t->R.ts[q], t->R.idx[q] };
        qsort(ev, n, sizeof *ev, by_time);
        for (uint32_t q = 0; q < n; q++) {
            int32_t a = m->ease_pos[ev[q].item];
            if (a < 0) continue;
            for (uint32_t d = 1; d <= lag && q + d < n; d++) {
                int32_t b = m->ease_pos[ev[q + d].item];
                if (b < 0 || b == a || ev[q + d].ts == ev[q].ts) continue;
                A[(size_t)a * k + b] += wl[d];
                A[(size_t)b * k + a] += wl[d];
            }
        }
    }
    free(ev);
    for (uint32_t a = 0; a < k; a++) {
        double ua = t->Rt.off[m->ease_idx[a] + 1] - t->Rt.off[m->ease_idx[a]];
        for (uint32_t b = 0; b < k; b++) {
            double x = A[(size_t)a * k + b];
            if (x == 0) continue;
            double ub = t->Rt.off[m->ease_idx[b] + 1] - t->Rt.off[m->ease_idx[b]];
            m->ease_B[(size_t)a * k + b] += (float)(p->ease_seq * x / sqrt(ua * ub));
        }
    }
    free(A);
    return 0;
}

int ease_train(rec_model *m, const rec_train *t, const train_params *p, char *err, size_t errlen)
{
    uint32_t ni = t->n_items;
    icnt *ic = malloc((ni ? ni : 1) * sizeof *ic);
    if (!ic) { snprintf(err, errlen, "out of memory"); return -1; }
    uint32_t k = 0;
    for (uint32_t i = 0; i < ni; i++) {
        uint32_t cnt = t->Rt.off[i + 1] - t->Rt.off[i];
        if (cnt >= (uint32_t)p->ease_min_users && cnt > 0) ic[k++] = (icnt){ i, cnt };
    }
    qsort(ic, k, sizeof *ic, by_cnt_desc);
    if (k > (uint32_t)p->ease_max_items) k = (uint32_t)p->ease_max_items;
    free(m->ease_idx); free(m->ease_pos); free(m->ease_B); free(m->ease_Q);
    m->ease_idx = NULL; m->ease_pos = NULL; m->ease_B = NULL; m->ease_Q = NULL; m->ease_n = 0;
    if (!k) { free(ic); return 0; }
    /* model order: by item index (cache-friendlier for scoring) */
    m->ease_idx = malloc(k * sizeof *m->ease_idx);
    m->ease_pos = malloc((m->n_items ? m->n_items : 1) * sizeof *m->ease_pos);
    size_t kp = (k + 7) / 8 * 8;
    double *G = calloc(kp * kp, sizeof *G);
    if (!m->ease_idx || !m->ease_pos || !G) { free(ic); free(G); snprintf(err, errlen, "out of memory (EASE over %u items)", k); return -1; }
    for (uint32_t i = 0; i < m->n_items; i++) m->ease_pos[i] = -1;
    for (uint32_t a = 0; a < k; a++) m->ease_pos[ic[a].i] = 0;
    free(ic);
    uint32_t q = 0;
    for (uint32_t i = 0; i < m->n_items; i++) if (m->ease_pos[i] == 0) { m->ease_pos[i] = (int32_t)q; m->ease_idx[q++] = i; }
    int nt = p->threads < 1 ? 1 : p->threads;
    gram_ctx gc = { t, m->ease_pos, G, kp, nt };
    par_for(nt, (uint64_t)nt, gram_rows, &gc);
    for (size_t a = 0; a < kp; a++) G[a * kp + a] += a < k ? p->ease_lambda : 1.0;
    if (ease_spd_inverse(G, kp, nt)) {
        free(G);
        snprintf(err, errlen, "EASE: Gram matrix not positive definite (lambda %g too small?)", p->ease_lambda);
        return -1;
    }
    m->ease_B = malloc((size_t)k * k * sizeof *m->ease_B);
    if (!m->ease_B) { free(G); snprintf(err, errlen, "out of memory"); return -1; }
    for (uint32_t i = 0; i < k; i++)
        for (uint32_t j = 0; j < k; j++)
            m->ease_B[(size_t)i * k + j] = i == j ? 0.0f : (float)(-G[(size_t)i * kp + j] / G[(size_t)j * kp + j]);
    free(G);
    m->ease_n = k;
    if (p->ease_seq > 0 && ease_add_seq(m, t, p)) { snprintf(err, errlen, "out of memory (EASE sequence, %u items)", k); return -1; }
    if (model_ease_quantize(m, err, errlen)) return -1;   /* scoring (eval) as serving scores */
    model_set_param(m, "ease.lambda", p->ease_lambda);
    model_set_param(m, "ease.min_users", p->ease_min_users);
    model_set_param(m, "ease.items", k);
    model_set_param(m, "ease.seq", p->ease_seq);
    model_set_param(m, "ease.seq_lag", (double)p->ease_seq_lag);
    return 0;
}
