/* score.c — scoring every item for one user's history with a rec_model
 * (score.h for the contract): the component scorers the hybrid blends
 * (popularity, neighbour sums, EASE in fixed point, the ALS fold-in and
 * its dot products, one user or a batch), the one-pass hybrid, and the
 * top-k selection of a list. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model_impl.h"

#define FOLD_CHUNK 64     /* history items whose factors the ALS fold-in gathers at a time */

model_scratch *model_scratch_new(const rec_model *m)
{
    model_scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->n = m->n_items;
    s->tmp = calloc(m->n_items ? m->n_items : 1, sizeof *s->tmp);
    size_t f = m->als_f ? m->als_f : 1;
    s->A = calloc(f * f, sizeof *s->A);
    s->b = calloc(f, sizeof *s->b); s->x = calloc(f, sizeof *s->x);
    s->r = calloc(f, sizeof *s->r); s->p = calloc(f, sizeof *s->p); s->Ap = calloc(f, sizeof *s->Ap);
    s->yh = calloc(FOLD_CHUNK * f, sizeof *s->yh); s->ch = calloc(FOLD_CHUNK, sizeof *s->ch);
    if (!s->yh || !s->ch) { model_scratch_free(s); return NULL; }
    if (m->ease_n) {
        s->eacc = calloc(m->ease_n, sizeof *s->eacc);
        s->emark = calloc(m->ease_n, 1);
        s->efl = calloc(m->ease_n, sizeof *s->efl);
        if (!s->eacc || !s->emark || !s->efl) { model_scratch_free(s); return NULL; }
    }
    size_t nb = m->n_items ? m->n_items : 1;
    s->kbuf = calloc(nb, sizeof *s->kbuf); s->cbuf = calloc(nb, sizeof *s->cbuf);
    s->ebuf = calloc(nb, sizeof *s->ebuf); s->zero = calloc(nb, sizeof *s->zero);
    if (!s->kbuf || !s->cbuf || !s->ebuf || !s->zero) { model_scratch_free(s); return NULL; }
    if (m->uk_users) {
        s->uacc = calloc(m->uk_users, sizeof *s->uacc);
        s->utouch = malloc(m->uk_users * sizeof *s->utouch);
        if (!s->uacc || !s->utouch) { model_scratch_free(s); return NULL; }
    }
    if (!s->tmp || !s->A || !s->b || !s->x || !s->r || !s->p || !s->Ap) { model_scratch_free(s); return NULL; }
    return s;
}

void model_scratch_free(model_scratch *s)
{
    if (!s) return;
    free(s->uacc); free(s->utouch); free(s->eacc); free(s->emark); free(s->efl);
    free(s->kbuf); free(s->cbuf); free(s->ebuf); free(s->zero);
    free(s->yh); free(s->ch);
    free(s->tmp); free(s->A); free(s->b); free(s->x); free(s->r); free(s->p); free(s->Ap);
    free(s);
}

void score_pop(const rec_model *m, float *out)
{
    memcpy(out, m->pop, m->n_items * sizeof *out);
}

void score_nbr(const nbr_csr *c, const hist_entry *h, size_t n, float *out)
{
    for (size_t k = 0; k < n; k++) {
        uint32_t i = h[k].item;
        if (i >= c->n) continue;
        float w = h[k].weight;
        for (uint32_t e = c->off[i]; e < c->off[i + 1]; e++) out[c->nbr[e]] += w * c->sim[e];
    }
}

/* EASE: scores = x_u B restricted to the modelled items; x_u binary (an
 * item counts once, whatever its weight: EASE was fitted on binary X). The
 * rows of ease_Q are summed densely in int32 (vectorised; exact, so in any
 * order the same), then converted and scattered once. */
typedef int32_t v8si_e __attribute__((vector_size(32)));

/* The largest power of two s with s * (max over columns j of sum_i |B_ij|)
 * < 2^31, lowered until the rounded entries keep that bound too: then
 * every sum of distinct rows (a user's) fits an int32. */
int model_ease_quantize(rec_model *m, char *err, size_t errlen)
{
    uint32_t k = m->ease_n;
    free(m->ease_Q); m->ease_Q = NULL; m->ease_unit = 0;
    if (!k) return 0;
    double *col = calloc(k, sizeof *col);
    int64_t *qcol = calloc(k, sizeof *qcol);
    m->ease_Q = malloc((size_t)k * k * sizeof *m->ease_Q);
    if (!col || !qcol || !m->ease_Q) {
        free(col); free(qcol); free(m->ease_Q); m->ease_Q = NULL;
        snprintf(err, errlen, "out of memory (EASE over %u items)", k); return -1;
    }
    for (size_t i = 0; i < k; i++)
        for (uint32_t j = 0; j < k; j++) {
            float b = m->ease_B[i * k + j];
            if (!isfinite(b)) {
                free(col); free(qcol); free(m->ease_Q); m->ease_Q = NULL;
                snprintf(err, errlen, "ease.B[%zu][%u] is not a finite number", i, j); return -1;
            }
            col[j] += fabs(b);
        }
    double mx = 0;
    for (uint32_t j = 0; j < k; j++) if (col[j] > mx) mx = col[j];
    int e = 0;
    if (mx > 0) {
        (void)frexp(mx, &e);              /* 2^(e-1) <= mx < 2^e */
        e = 31 - e;                       /* 2^e * mx < 2^31 */
    }
    if (e > 100) e = 100;                 /* the unit stays a normal float */
    for (;; e--) {
        double s = ldexp(1.0, e);
        memset(qcol, 0, k * sizeof *qcol);
        for (size_t i = 0; i < k; i++)
            for (uint32_t j = 0; j < k; j++) {
                int32_t q = (int32_t)lrint(m->ease_B[i * k + j] * s);
                m->ease_Q[i * k + j] = q;
                qcol[j] += q < 0 ? -(int64_t)q : q;
            }
        int64_t qmx = 0;
        for (uint32_t j = 0; j < k; j++) if (qcol[j] > qmx) qmx = qcol[j];
        if (qmx <= INT32_MAX) break;
    }
    m->ease_unit = ldexpf(1.0f, -e);
    free(col); free(qcol);
    return 0;
}

static inline void ease_row_add(int32_t *acc, const int32_t *row, uint32_t k)
{
    uint32_t j = 0;
    for (; j + 8 <= k; j += 8) {
        v8si_e x, y;
        memcpy(&x, acc + j, 32); memcpy(&y, row + j, 32);
        x += y;
        memcpy(acc + j, &x, 32);
    }
    for (; j < k; j++) acc[j] += row[j];
}

/* acc = (first ? 0 : acc) + the nr rows: four rows per pass over acc, so
 * acc is loaded and stored once per four rows. int32 sums are exact and
 * do not overflow (model_ease_quantize's bound holds for any set of
 * distinct rows), so the grouping cannot change a bit of the result. */
static inline __attribute__((always_inline))
void ease_rows_impl(int32_t *acc, const int32_t *const *rows, size_t nr, uint32_t k, int first)
{
    size_t r = 0;
    if (first) {
        memcpy(acc, rows[0], k * sizeof *acc);
        r = 1;
    }
    for (; r + 4 <= nr; r += 4) {
        const int32_t *a = rows[r], *b = rows[r + 1], *c = rows[r + 2], *d = rows[r + 3];
        uint32_t j = 0;
        for (; j + 8 <= k; j += 8) {
            v8si_e x, ya, yb, yc, yd;
            memcpy(&x, acc + j, 32);
            memcpy(&ya, a + j, 32); memcpy(&yb, b + j, 32); memcpy(&yc, c + j, 32); memcpy(&yd, d + j, 32);
            x += (ya + yb) + (yc + yd);
            memcpy(acc + j, &x, 32);
        }
        for (; j < k; j++) acc[j] += (a[j] + b[j]) + (c[j] + d[j]);
    }
    for (; r < nr; r++) ease_row_add(acc, rows[r], k);
}
static void ease_rows_generic(int32_t *acc, const int32_t *const *rows, size_t nr, uint32_t k, int first)
{ ease_rows_impl(acc, rows, nr, k, first); }
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2")))
static void ease_rows_avx2(int32_t *acc, const int32_t *const *rows, size_t nr, uint32_t k, int first)
{ ease_rows_impl(acc, rows, nr, k, first); }
#else
#define ease_rows_avx2 ease_rows_generic
#endif
static int have_avx2(void);

/* Sums the rows of the history's distinct modelled items into s->eacc
 * (ease_n). 1, or 0 when no history item is modelled (eacc not written). */
static int ease_sum(const rec_model *m, const hist_entry *h, size_t n, model_scratch *s)
{
    uint32_t k = m->ease_n;
    if (!k || !s->eacc) return 0;
    int32_t *acc = s->eacc;
    const int32_t *rows[64];                     /* gathered, summed 64 at a time */
    size_t nr = 0;
    int any = 0;
    for (size_t a = 0; a < n; a++) {
        int32_t p = h[a].item < m->n_items ? m->ease_pos[h[a].item] : -1;
        if (p < 0 || s->emark[p]) continue;      /* a repeated item counts once (binary X) */
        s->emark[p] = 1;
        rows[nr++] = m->ease_Q + (size_t)p * k;
        if (nr == sizeof rows / sizeof *rows) {
            if (have_avx2()) ease_rows_avx2(acc, rows, nr, k, !any);
            else ease_rows_generic(acc, rows, nr, k, !any);
            any = 1;
            nr = 0;
        }
    }
    if (nr) {
        if (have_avx2()) ease_rows_avx2(acc, rows, nr, k, !any);
        else ease_rows_generic(acc, rows, nr, k, !any);
        any = 1;
    }
    for (size_t a = 0; a < n; a++) {
        int32_t p = h[a].item < m->n_items ? m->ease_pos[h[a].item] : -1;
        if (p >= 0) s->emark[p] = 0;
    }
    return any;
}

void score_ease(const rec_model *m, const hist_entry *h, size_t n, float *out, model_scratch *s)
{
    if (!ease_sum(m, h, n, s)) return;
    for (uint32_t j = 0; j < m->ease_n; j++) out[m->ease_idx[j]] += (float)s->eacc[j] * m->ease_unit;
}

void model_als_gram(rec_model *m)
{
    uint32_t f = m->als_f;
    free(m->als_YtY);
    free(m->als_Yt);
    m->als_Yt = NULL;
    m->als_YtY = calloc((size_t)f * f, sizeof *m->als_YtY);
    if (!m->als_YtY) return;
    /* the panel copy the dot products read (dots_impl) */
    uint32_t padded = (m->n_items + 15) & ~15u;   /* whole panels, the padding zero */
    m->als_Yt = calloc((size_t)f * padded, sizeof *m->als_Yt);
    if (!m->als_Yt) { free(m->als_YtY); m->als_YtY = NULL; return; }
    for (uint32_t i = 0; i < m->n_items; i++)
        for (uint32_t a = 0; a < f; a++)
            m->als_Yt[(size_t)(i / 16) * 16 * f + (size_t)a * 16 + i % 16] = m->als_Y[(size_t)i * f + a];
    for (uint32_t i = 0; i < m->n_items; i++) {
        const float *y = m->als_Y + (size_t)i * f;
        for (uint32_t a = 0; a < f; a++)
            for (uint32_t b = a; b < f; b++) m->als_YtY[a * f + b] += (double)y[a] * y[b];
    }
    for (uint32_t a = 0; a < f; a++)
        for (uint32_t b = 0; b < a; b++) m->als_YtY[a * f + b] = m->als_YtY[b * f + a];
}

/* Solve A x = b (A SPD, f x f, row-major, both triangles filled; the upper
 * triangle is overwritten by the Cholesky factor transposed, U = Lᵀ, the
 * lower one left as it was). 0 or -1 if A is not positive definite.
 * Column j of L is worked out for four rows at once: row j of A (upper
 * triangle, still A's own values right of the diagonal) is column j, and
 * the finished columns k < j sit in rows k of U, contiguous across rows i.
 * Each entry still gets s = A[i][j] − Σ_k L[i][k]·L[j][k] in k order, a
 * multiply then a subtract (never fused: compiled for AVX2 without FMA),
 * so the factor, and every list, is the same bit for bit as the row-at-a-
 * time loop's. The vector type is double[4]; f % 4 need not be 0. */
typedef double v4d_c __attribute__((vector_size(32)));
static inline __attribute__((always_inline)) int chol_impl(double *A, const double *b, double *x, uint32_t f)
{
    for (uint32_t j = 0; j < f; j++) {
        double *uj = A + (size_t)j * f;          /* row j of U: L[i][j] for i > j */
        double d = uj[j];
        for (uint32_t k = 0; k < j; k++) d -= A[(size_t)k * f + j] * A[(size_t)k * f + j];
        if (!(d > 0)) return -1;
        d = sqrt(d);
        uj[j] = d;
        uint32_t i = j + 1;
        for (; i + 4 <= f; i += 4) {
            v4d_c s;
            memcpy(&s, uj + i, 32);
            for (uint32_t k = 0; k < j; k++) {
                const double *uk = A + (size_t)k * f;
                double l = uk[j];
                v4d_c lv = { l, l, l, l }, v;
                memcpy(&v, uk + i, 32);
                s -= v * lv;
            }
            v4d_c dv = { d, d, d, d };
            s /= dv;
            memcpy(uj + i, &s, 32);
        }
        for (; i < f; i++) {
            double s = uj[i];
            for (uint32_t k = 0; k < j; k++) s -= A[(size_t)k * f + i] * A[(size_t)k * f + j];
            uj[i] = s / d;
        }
    }
    for (uint32_t i = 0; i < f; i++) {       /* L y = b */
        double s = b[i];
        for (uint32_t k = 0; k < i; k++) s -= A[(size_t)k * f + i] * x[k];
        x[i] = s / A[(size_t)i * f + i];
    }
    for (uint32_t i = f; i-- > 0;) {         /* L^T x = y */
        double s = x[i];
        const double *ui = A + (size_t)i * f;
        for (uint32_t k = i + 1; k < f; k++) s -= ui[k] * x[k];
        x[i] = s / ui[i];
    }
    return 0;
}
static int chol_generic(double *A, const double *b, double *x, uint32_t f) { return chol_impl(A, b, x, f); }
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* no "fma" here: a fused multiply-subtract would round differently */
__attribute__((target("avx2"))) static int chol_avx2(double *A, const double *b, double *x, uint32_t f)
{ return chol_impl(A, b, x, f); }
#else
#define chol_avx2 chol_generic
#endif
static int chol_solve(double *A, const double *b, double *x, uint32_t f)
{
    return have_avx2() ? chol_avx2(A, b, x, f) : chol_generic(A, b, x, f);
}

/* Fold-in of Hu-Koren-Volinsky: x = (YtY + Yt(Cu - I)Y + reg I)^-1 Yt Cu p,
 * with c = 1 + alpha*w for each history item (p = 1 there, 0 elsewhere).
 * The accumulation of A (|h| rank-one updates of f x f) and the item dot
 * products are written with vector types, and compiled twice (AVX2+FMA
 * chosen at run time, and the baseline): serving spends its time here. */
typedef float v8sf __attribute__((vector_size(32)));
typedef double v4d __attribute__((vector_size(32)));
typedef int v8si __attribute__((vector_size(32)));

/* A += Σ (c−1)·y·yᵀ over a gathered chunk (yh: nh × f, ch: c − 1), lower
 * triangle (q <= a; the diagonal tiles also write some entries above it,
 * which the caller overwrites by symmetry), in tiles of 4 rows × 8 columns
 * held in registers across the chunk's items: each entry gets the same
 * fused multiply-adds in the same item order as one rank-one update per
 * item, without loading and storing A for every item. f % 8 == 0. */
static inline __attribute__((always_inline))
void fold_chunk(double *A, const double *yh, const double *ch, size_t nh, uint32_t f)
{
    for (uint32_t a0 = 0; a0 < f; a0 += 4) {
        for (uint32_t q0 = 0; q0 <= a0 + 3 && q0 < f; q0 += 8) {
            /* eight named accumulators: an array of them is kept on the stack */
            double *r0 = A + (size_t)a0 * f + q0, *r1 = r0 + f, *r2 = r1 + f, *r3 = r2 + f;
            v4d a00, a01, a10, a11, a20, a21, a30, a31;
            memcpy(&a00, r0, 32); memcpy(&a01, r0 + 4, 32);
            memcpy(&a10, r1, 32); memcpy(&a11, r1 + 4, 32);
            memcpy(&a20, r2, 32); memcpy(&a21, r2 + 4, 32);
            memcpy(&a30, r3, 32); memcpy(&a31, r3 + 4, 32);
            for (size_t k = 0; k < nh; k++) {
                const double *y = yh + k * f;
                double c = ch[k];
                v4d y0, y1;
                memcpy(&y0, y + q0, 32); memcpy(&y1, y + q0 + 4, 32);
                double c0 = c * y[a0], c1 = c * y[a0 + 1], c2 = c * y[a0 + 2], c3 = c * y[a0 + 3];
                v4d v0 = { c0, c0, c0, c0 }, v1 = { c1, c1, c1, c1 }, v2 = { c2, c2, c2, c2 }, v3 = { c3, c3, c3, c3 };
                a00 += v0 * y0; a01 += v0 * y1;
                a10 += v1 * y0; a11 += v1 * y1;
                a20 += v2 * y0; a21 += v2 * y1;
                a30 += v3 * y0; a31 += v3 * y1;
            }
            memcpy(r0, &a00, 32); memcpy(r0 + 4, &a01, 32);
            memcpy(r1, &a10, 32); memcpy(r1 + 4, &a11, 32);
            memcpy(r2, &a20, 32); memcpy(r2 + 4, &a21, 32);
            memcpy(r3, &a30, 32); memcpy(r3 + 4, &a31, 32);
        }
    }
}

static inline __attribute__((always_inline))
int fold_in_impl(const rec_model *m, const hist_entry *h, size_t n, double *x, model_scratch *s)
{
    uint32_t f = m->als_f;
    if (!f || !m->als_YtY) return -1;
    memcpy(s->A, m->als_YtY, (size_t)f * f * sizeof *s->A);
    memset(s->b, 0, f * sizeof *s->b);
    double *yd = s->r;                       /* y as doubles (scratch of f) */
    int any = 0;
    size_t nh = 0;
    for (size_t k = 0; k < n; k++) {
        if (h[k].item >= m->n_items || !(h[k].weight > 0)) continue;
        const float *y = m->als_Y + (size_t)h[k].item * f;
        double c = 1.0 + m->als_alpha * (m->als_binary ? 1.0f : h[k].weight);
        any = 1;
        if (f % 8 == 0) {                    /* gathered, then tiled */
            double *restrict yc = s->yh + nh * f, *restrict bq = s->b;   /* restrict: vectorised */
            for (uint32_t q = 0; q < f; q++) { double v = y[q]; yc[q] = v; bq[q] += c * v; }
            s->ch[nh++] = c - 1;
            if (nh == FOLD_CHUNK) { fold_chunk(s->A, s->yh, s->ch, nh, f); nh = 0; }
            continue;
        }
        for (uint32_t q = 0; q < f; q++) { yd[q] = y[q]; s->b[q] += c * y[q]; }
        for (uint32_t a = 0; a < f; a++) {   /* lower triangle, rows rounded up to 4 */
            double ca = (c - 1) * yd[a];
            v4d cv = { ca, ca, ca, ca };
            double *row = s->A + (size_t)a * f;
            uint32_t q = 0;
            for (; q + 4 <= a + 1; q += 4) {
                v4d r, yv;
                memcpy(&r, row + q, 32); memcpy(&yv, yd + q, 32);
                r += cv * yv;
                memcpy(row + q, &r, 32);
            }
            for (; q <= a; q++) row[q] += ca * yd[q];
        }
    }
    if (nh) fold_chunk(s->A, s->yh, s->ch, nh, f);
    if (!any) return -1;
    for (uint32_t a = 0; a < f; a++) {
        for (uint32_t b = 0; b < a; b++) s->A[b * f + a] = s->A[a * f + b];
        s->A[a * f + a] += m->als_reg;
    }
    return chol_solve(s->A, s->b, x, f);
}

/* ALS dot products of g users' factors x[u] with every item's, written to
 * out[u] (set) or added to it, with each user's maximum (at least 0, NaN
 * never wins, as vmax) in mx[u] when set. From the copy of Y in panels of
 * sixteen items, factor-major within a panel (Yt[(i/16)*16*f + k*16 + i%16],
 * model_als_gram: one panel is one contiguous read), sixteen items in two vectors times
 * up to four users in registers: a factor vector is loaded once for four
 * users, no lane sums to reduce, and each item's dot product is the same
 * chain of fused multiply-adds over k = 0..f-1 whatever the group, so a
 * user scored alone or in a batch gets the same floats. The last panel
 * is padded with zero items. */
#define BCAST(v) ((v8sf){ (v), (v), (v), (v), (v), (v), (v), (v) })
/* sixteen items (one panel) for one user */
static inline __attribute__((always_inline))
void dots_panel1(const float *y, uint32_t f, const float *x, v8sf *r0, v8sf *r1)
{
    v8sf a0 = { 0 }, a1 = { 0 };
    for (uint32_t k = 0; k < f; k++, y += 16) {
        v8sf y0, y1;
        memcpy(&y0, y, 32); memcpy(&y1, y + 8, 32);
        v8sf b = BCAST(x[k]);
        a0 += b * y0; a1 += b * y1;
    }
    *r0 = a0; *r1 = a1;
}

/* the same for two users, the panel's factors loaded once for both */
static inline __attribute__((always_inline))
void dots_panel2(const float *y, uint32_t f, const float *x, const float *z, v8sf *r)
{
    v8sf a0 = { 0 }, a1 = { 0 }, c0 = { 0 }, c1 = { 0 };
    for (uint32_t k = 0; k < f; k++, y += 16) {
        v8sf y0, y1;
        memcpy(&y0, y, 32); memcpy(&y1, y + 8, 32);
        v8sf b = BCAST(x[k]), d = BCAST(z[k]);
        a0 += b * y0; a1 += b * y1;
        c0 += d * y0; c1 += d * y1;
    }
    r[0] = a0; r[1] = a1; r[2] = c0; r[3] = c1;
}

/* the same for four users */
static inline __attribute__((always_inline))
void dots_panel4(const float *y, uint32_t f, const float *const *x, v8sf *r)
{
    const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
    v8sf a0 = { 0 }, a1 = { 0 }, b0 = { 0 }, b1 = { 0 }, c0 = { 0 }, c1 = { 0 }, d0 = { 0 }, d1 = { 0 };
    for (uint32_t k = 0; k < f; k++, y += 16) {
        v8sf y0, y1;
        memcpy(&y0, y, 32); memcpy(&y1, y + 8, 32);
        v8sf v = BCAST(x0[k]);
        a0 += v * y0; a1 += v * y1;
        v = BCAST(x1[k]);
        b0 += v * y0; b1 += v * y1;
        v = BCAST(x2[k]);
        c0 += v * y0; c1 += v * y1;
        v = BCAST(x3[k]);
        d0 += v * y0; d1 += v * y1;
    }
    r[0] = a0; r[1] = a1; r[2] = b0; r[3] = b1; r[4] = c0; r[5] = c1; r[6] = d0; r[7] = d1;
}

/* Every panel is read from memory once for all g users (from L1 for all
 * but the first pair of them); each item's dot product is the same chain
 * of fused multiply-adds over k = 0..f-1 in dots_panel1, 2 and 4,
 * so a user scored alone or in a batch gets the same floats. */
static inline __attribute__((always_inline))
void dots_impl(const float *Yt, uint32_t n, uint32_t f, const float *const *x, float *const *out,
               float *mx, int set, uint32_t g)
{
    v8sf mv[ALS_BATCH];
    memset(mv, 0, sizeof mv);
    for (uint32_t i = 0; i < n; i += 16) {
        const float *y = Yt + (size_t)i * f;
        v8sf r[ALS_BATCH][2];
        uint32_t u = 0;
        for (; u + 4 <= g; u += 4) {
            v8sf t[8];
            dots_panel4(y, f, x + u, t);
            for (int q = 0; q < 4; q++) { r[u + q][0] = t[2 * q]; r[u + q][1] = t[2 * q + 1]; }
        }
        for (; u + 2 <= g; u += 2) {
            v8sf t[4];
            dots_panel2(y, f, x[u], x[u + 1], t);
            r[u][0] = t[0]; r[u][1] = t[1]; r[u + 1][0] = t[2]; r[u + 1][1] = t[3];
        }
        if (u < g) dots_panel1(y, f, x[u], &r[u][0], &r[u][1]);
        uint32_t m = n - i < 16 ? n - i : 16;
        for (u = 0; u < g; u++) {
            if (!set) {
                for (uint32_t j = 0; j < m; j++) out[u][i + j] += j < 8 ? r[u][0][j] : r[u][1][j - 8];
            } else if (m == 16) {
                memcpy(out[u] + i, &r[u][0], 32); memcpy(out[u] + i + 8, &r[u][1], 32);
                for (int h = 0; h < 2; h++) {
                    v8si gt = r[u][h] > mv[u];
                    mv[u] = (v8sf)(((v8si)r[u][h] & gt) | ((v8si)mv[u] & ~gt));
                }
            } else {
                for (uint32_t j = 0; j < m; j++) {
                    float d = j < 8 ? r[u][0][j] : r[u][1][j - 8];
                    out[u][i + j] = d;
                    if (d > mv[u][0]) mv[u][0] = d;
                }
            }
        }
    }
    if (set)
        for (uint32_t u = 0; u < g; u++) {
            float m = 0;
            for (int l = 0; l < 8; l++) if (mv[u][l] > m) m = mv[u][l];
            mx[u] = m;
        }
}

static int fold_in_generic(const rec_model *m, const hist_entry *h, size_t n, double *x, model_scratch *s)
{ return fold_in_impl(m, h, n, x, s); }
static void dots_generic(const float *Yt, uint32_t n, uint32_t f, const float *const *x,
                         float *const *out, float *mx, int set, uint32_t g)
{ dots_impl(Yt, n, f, x, out, mx, set, g); }
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2,fma")))
static int fold_in_avx2(const rec_model *m, const hist_entry *h, size_t n, double *x, model_scratch *s)
{ return fold_in_impl(m, h, n, x, s); }
__attribute__((target("avx2,fma")))
static void dots_avx2(const float *Yt, uint32_t n, uint32_t f, const float *const *x,
                      float *const *out, float *mx, int set, uint32_t g)
{ dots_impl(Yt, n, f, x, out, mx, set, g); }

/* The same dot products with 512-bit vectors: a panel of sixteen items is
 * one vector, so a factor costs one load for up to eight users and one
 * fused multiply-add per user (the broadcast folded into it). Each item's
 * dot product is still the one chain of fused multiply-adds over k =
 * 0..f-1, so the floats are those of dots_avx2, bit for bit. */
typedef float v16sf __attribute__((vector_size(64)));
typedef int v16si __attribute__((vector_size(64)));
#define BCAST16(v) ((v16sf){ (v), (v), (v), (v), (v), (v), (v), (v), (v), (v), (v), (v), (v), (v), (v), (v) })
/* one panel for 8, 4, 2 or 1 users: named accumulators, so that they stay
 * in registers (an array of them would be kept on the stack) */
#define D512_STEP(a, u) a += BCAST16(x[u][k]) * yv
static inline __attribute__((always_inline)) void dots512_p8(const float *y, uint32_t f, const float *const *x, v16sf *r)
{
    v16sf a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 }, a4 = { 0 }, a5 = { 0 }, a6 = { 0 }, a7 = { 0 };
    for (uint32_t k = 0; k < f; k++, y += 16) {
        v16sf yv;
        memcpy(&yv, y, 64);
        D512_STEP(a0, 0); D512_STEP(a1, 1); D512_STEP(a2, 2); D512_STEP(a3, 3);
        D512_STEP(a4, 4); D512_STEP(a5, 5); D512_STEP(a6, 6); D512_STEP(a7, 7);
    }
    r[0] = a0; r[1] = a1; r[2] = a2; r[3] = a3; r[4] = a4; r[5] = a5; r[6] = a6; r[7] = a7;
}
static inline __attribute__((always_inline)) void dots512_p4(const float *y, uint32_t f, const float *const *x, v16sf *r)
{
    v16sf a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
    for (uint32_t k = 0; k < f; k++, y += 16) {
        v16sf yv;
        memcpy(&yv, y, 64);
        D512_STEP(a0, 0); D512_STEP(a1, 1); D512_STEP(a2, 2); D512_STEP(a3, 3);
    }
    r[0] = a0; r[1] = a1; r[2] = a2; r[3] = a3;
}
static inline __attribute__((always_inline)) void dots512_p2(const float *y, uint32_t f, const float *const *x, v16sf *r)
{
    v16sf a0 = { 0 }, a1 = { 0 };
    for (uint32_t k = 0; k < f; k++, y += 16) {
        v16sf yv;
        memcpy(&yv, y, 64);
        D512_STEP(a0, 0); D512_STEP(a1, 1);
    }
    r[0] = a0; r[1] = a1;
}
static inline __attribute__((always_inline)) void dots512_p1(const float *y, uint32_t f, const float *const *x, v16sf *r)
{
    v16sf a0 = { 0 };
    for (uint32_t k = 0; k < f; k++, y += 16) {
        v16sf yv;
        memcpy(&yv, y, 64);
        D512_STEP(a0, 0);
    }
    r[0] = a0;
}

__attribute__((target("avx512f")))
static void dots_avx512(const float *Yt, uint32_t n, uint32_t f, const float *const *x, float *const *out,
                          float *mx, int set, uint32_t g)
{
    v16sf mv[ALS_BATCH];
    memset(mv, 0, sizeof mv);
    for (uint32_t i = 0; i < n; i += 16) {
        const float *y = Yt + (size_t)i * f;
        v16sf r[ALS_BATCH];
        uint32_t u = 0;
        if (g - u >= 8) { dots512_p8(y, f, x + u, r + u); u += 8; }
        if (g - u >= 4) { dots512_p4(y, f, x + u, r + u); u += 4; }
        if (g - u >= 2) { dots512_p2(y, f, x + u, r + u); u += 2; }
        if (g - u >= 1) dots512_p1(y, f, x + u, r + u);
        uint32_t m = n - i < 16 ? n - i : 16;
        for (u = 0; u < g; u++) {
            if (!set) {
                for (uint32_t j = 0; j < m; j++) out[u][i + j] += r[u][j];
            } else if (m == 16) {
                memcpy(out[u] + i, &r[u], 64);
                v16si gt = r[u] > mv[u];
                mv[u] = (v16sf)(((v16si)r[u] & gt) | ((v16si)mv[u] & ~gt));
            } else {
                for (uint32_t j = 0; j < m; j++) {
                    float d = r[u][j];
                    out[u][i + j] = d;
                    if (d > mv[u][0]) mv[u][0] = d;
                }
            }
        }
    }
    if (set)
        for (uint32_t u = 0; u < g; u++) {
            float m = 0;
            for (int l = 0; l < 16; l++) if (mv[u][l] > m) m = mv[u][l];
            mx[u] = m;
        }
}

/* The widest vector code this CPU runs: 0 baseline, 1 AVX2 + FMA, 2 also
 * AVX-512F (model_score_isa_cap lowers it, for the tests that compare). */
static int isa_cap = 2;
static int isa_level(void)
{
    static int v = -1;                       /* benign race: every thread computes the same */
    if (v < 0) {
        __builtin_cpu_init();
        int l = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        if (l && __builtin_cpu_supports("avx512f")) l = 2;
        v = l;
    }
    return v < isa_cap ? v : isa_cap;
}
static int have_avx2(void) { return isa_level() >= 1; }
static void dots(const float *Yt, uint32_t n, uint32_t f, const float *const *x, float *const *out,
                 float *mx, int set, uint32_t g)
{
    int l = isa_level();
    /* one user alone (a list per event) was slower with 512-bit vectors
     * (perf samples of the streamed MovieLens run: 13.0K in dots_avx2,
     * 17.7K in dots_avx512, even taking four panels at a time) */
    if (l >= 2 && g > 1) dots_avx512(Yt, n, f, x, out, mx, set, g);
    else if (l >= 1) dots_avx2(Yt, n, f, x, out, mx, set, g);
    else dots_generic(Yt, n, f, x, out, mx, set, g);
}
#else
static int isa_cap = 0;
static int have_avx2(void) { return 0; }
#define fold_in_avx2 fold_in_generic
#define dots dots_generic
#endif

int model_score_isa_cap(int level)
{
    int old = isa_cap;
    isa_cap = level;
    return old;
}

int als_fold_in(const rec_model *m, const hist_entry *h, size_t n, double *x, model_scratch *s)
{
    return have_avx2() ? fold_in_avx2(m, h, n, x, s) : fold_in_generic(m, h, n, x, s);
}

/* ALS scores for the history into out: added (set 0) or written (set 1,
 * out untouched when the fold-in fails). 0, or -1 if the fold-in failed. */
static int als_scores(const rec_model *m, const hist_entry *h, size_t n, float *out, float *mx, model_scratch *s, int set)
{
    uint32_t f = m->als_f;
    if (!m->als_Yt || f > 1024 || als_fold_in(m, h, n, s->x, s)) return -1;
    float xf[1024];
    for (uint32_t a = 0; a < f; a++) xf[a] = (float)s->x[a];
    const float *xs[1] = { xf };
    float *os[1] = { out };
    dots(m->als_Yt, m->n_items, f, xs, os, mx, set, 1);
    return 0;
}

int model_als_batchable(const rec_model *m)
{
    return m->alg == ALG_HYBRID && m->w[ALG_ALS] > 0 && !(m->w[ALG_UKNN] > 0) && m->als_f && m->als_f <= 1024 &&
           m->als_Yt;
}

int model_als_batch(const rec_model *m, const hist_entry *const *h, const size_t *n, uint32_t g,
                    float *const *out, float *mx, uint8_t *ok, model_scratch *s)
{
    uint32_t f = m->als_f;
    if (!model_als_batchable(m) || g > ALS_BATCH) return 0;
    static _Thread_local float xf[ALS_BATCH][1024];   /* 32 KiB: not on a thread's stack */
    const float *xs[ALS_BATCH];
    float *os[ALS_BATCH], ms[ALS_BATCH];
    uint32_t k = 0, pos[ALS_BATCH];
    for (uint32_t u = 0; u < g; u++) {
        /* an empty history gets popularity, not a fold-in (model_score) */
        ok[u] = n[u] > 0 && !als_fold_in(m, h[u], n[u], s->x, s);
        if (!ok[u]) continue;
        for (uint32_t a = 0; a < f; a++) xf[u][a] = (float)s->x[a];
        xs[k] = xf[u];
        pos[k] = u;
        os[k++] = out[u];
    }
    if (!k) return 1;
    dots(m->als_Yt, m->n_items, f, xs, os, ms, 1, k);
    for (uint32_t j = 0; j < k; j++) mx[pos[j]] = ms[j];
    return 1;
}

void score_als(const rec_model *m, const hist_entry *h, size_t n, float *out, model_scratch *s)
{
    als_scores(m, h, n, out, NULL, s, 0);
}

static void component(const rec_model *m, rec_alg c, const hist_entry *h, size_t n, float *out, model_scratch *s)
{
    switch (c) {
    case ALG_POP: score_pop(m, out); break;
    case ALG_KNN: score_nbr(&m->knn, h, n, out); break;
    case ALG_CONTENT: score_nbr(&m->cnt, h, n, out); break;
    case ALG_ALS: score_als(m, h, n, out, s); break;
    case ALG_EASE: score_ease(m, h, n, out, s); break;
    case ALG_UKNN: score_uknn(m, h, n, out, s); break;
    default: break;
    }
}

/* ---- hybrid, one pass ------------------------------------------------------
 * The hybrid is Σ_c w_c · score_c / max(score_c) (+ the popularity
 * tie-break), summed in component order. Instead of a zeroed n_items array,
 * a max pass and a blend pass per component, each component is computed into
 * its own buffer (ALS densely; kNN, content and EASE scattered into buffers
 * that stay zero between lists, their maxima taken over the touched entries
 * only and the touched entries reset afterwards), then one pass adds every
 * scaled component in the same order: the same float operations in the same
 * order as the component-at-a-time loop, so the same scores bit for bit.
 * The blend and max passes are compiled for AVX2 without FMA (a fused
 * multiply-add would round differently). */
#define BLEND_TERMS 6
typedef int v8si_b __attribute__((vector_size(32)));

/* max(0, x[0..n)), NaN ignored (as `if (x[i] > mx) mx = x[i]` from 0) */
static inline __attribute__((always_inline)) float vmax_impl(const float *x, uint32_t n)
{
    v8sf mv = { 0 };
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8sf v;
        memcpy(&v, x + i, 32);
        v8si_b gt = v > mv;
        mv = (v8sf)(((v8si_b)v & gt) | ((v8si_b)mv & ~gt));
    }
    float mx = 0;
    for (int l = 0; l < 8; l++) if (mv[l] > mx) mx = mv[l];
    for (; i < n; i++) if (x[i] > mx) mx = x[i];
    return mx;
}

/* nt terms (a constant where inlined): the unused ones would only add
 * +0, which changes no sum (from +0, a float sum is never -0) */
static inline __attribute__((always_inline))
void blend_terms(float *out, uint32_t n, const float *const *d, const float *k, const int nt)
{
    v8sf kv[BLEND_TERMS];
    for (int t = 0; t < nt; t++) kv[t] = (v8sf){ k[t], k[t], k[t], k[t], k[t], k[t], k[t], k[t] };
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8sf acc = { 0 };
        for (int t = 0; t < nt; t++) {
            v8sf v;
            memcpy(&v, d[t] + i, 32);
            acc += kv[t] * v;
        }
        memcpy(out + i, &acc, 32);
    }
    for (; i < n; i++) {
        float a = 0;
        for (int t = 0; t < nt; t++) a += k[t] * d[t][i];
        out[i] = a;
    }
}

static inline __attribute__((always_inline))
void blend_impl(float *out, uint32_t n, const float *const *d, const float *k, int nt)
{
    switch (nt) {
    case 0: memset(out, 0, n * sizeof *out); break;
    case 1: blend_terms(out, n, d, k, 1); break;
    case 2: blend_terms(out, n, d, k, 2); break;
    case 3: blend_terms(out, n, d, k, 3); break;
    case 4: blend_terms(out, n, d, k, 4); break;
    case 5: blend_terms(out, n, d, k, 5); break;
    default: blend_terms(out, n, d, k, BLEND_TERMS); break;
    }
}

static float vmax_generic(const float *x, uint32_t n) { return vmax_impl(x, n); }
static void blend_generic(float *out, uint32_t n, const float *const *d, const float *k, int nt) { blend_impl(out, n, d, k, nt); }
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2"))) static float vmax_avx2(const float *x, uint32_t n) { return vmax_impl(x, n); }
__attribute__((target("avx2"))) static void blend_avx2(float *out, uint32_t n, const float *const *d, const float *k, int nt) { blend_impl(out, n, d, k, nt); }
#else
#define vmax_avx2 vmax_generic
#define blend_avx2 blend_generic
#endif
static float vmax(const float *x, uint32_t n) { return have_avx2() ? vmax_avx2(x, n) : vmax_generic(x, n); }

/* entries of the history's neighbour rows */
static size_t nbr_count(const nbr_csr *c, const hist_entry *h, size_t n)
{
    size_t t = 0;
    for (size_t k = 0; k < n; k++) if (h[k].item < c->n) t += c->off[h[k].item + 1] - c->off[h[k].item];
    return t;
}

/* Max over the entries of out that the history's neighbour rows touch
 * (the rest are 0): by walking the rows again when they are few, else by a
 * vectorised pass over all of out. */
static float vmax(const float *x, uint32_t n);
static float nbr_max(const nbr_csr *c, const hist_entry *h, size_t n, const float *out, uint32_t N)
{
    if (nbr_count(c, h, n) > N / 8) return vmax(out, N);
    float mx = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t i = h[k].item;
        if (i >= c->n) continue;
        for (uint32_t e = c->off[i]; e < c->off[i + 1]; e++) if (out[c->nbr[e]] > mx) mx = out[c->nbr[e]];
    }
    return mx;
}

static void nbr_reset(const nbr_csr *c, const hist_entry *h, size_t n, float *out, uint32_t N)
{
    if (nbr_count(c, h, n) > N / 8) { memset(out, 0, N * sizeof *out); return; }
    for (size_t k = 0; k < n; k++) {
        uint32_t i = h[k].item;
        if (i >= c->n) continue;
        for (uint32_t e = c->off[i]; e < c->off[i + 1]; e++) out[c->nbr[e]] = 0;
    }
}

uint32_t model_ease_dim(const rec_model *m)
{
    return m->alg == ALG_HYBRID && m->w[ALG_EASE] > 0 && !(m->w[ALG_UKNN] > 0) ? m->ease_n : 0;
}

void model_ease_add(const rec_model *m, uint32_t item, int32_t *acc, uint8_t *state)
{
    int32_t p = item < m->n_items && m->ease_pos ? m->ease_pos[item] : -1;
    if (p < 0 || !*state) return;
    uint32_t k = m->ease_n;
    const int32_t *row = m->ease_Q + (size_t)p * k;
    if (*state == 2) { memcpy(acc, row, k * sizeof *acc); *state = 1; return; }
    ease_row_add(acc, row, k);
}

/* 0 when done, -1 when the model needs the general loop (user-kNN). With
 * ecache, the EASE sum comes from there (*estate != 0) or is stored there. */
static int hybrid_fast(const rec_model *m, const hist_entry *h, size_t n, float *scores, model_scratch *s,
                       int32_t *ecache, uint8_t *estate, const float *als, float als_max, int als_state)
{
    if (m->w[ALG_UKNN] > 0) return -1;
    uint32_t N = m->n_items;
    const float *d[BLEND_TERMS];
    float k[BLEND_TERMS];
    int nt = 0, ease_set = 0, knn_set = 0, cnt_set = 0;
    for (int c = 0; c < ALG_HYBRID; c++) {
        float w = m->w[c], mx = 0;
        if (!(w > 0)) continue;
        const float *buf = NULL;
        switch ((rec_alg)c) {
        case ALG_POP: buf = m->pop; mx = m->pop_max; break;
        case ALG_KNN:
            score_nbr(&m->knn, h, n, s->kbuf); knn_set = 1;
            buf = s->kbuf; mx = nbr_max(&m->knn, h, n, buf, N); break;
        case ALG_CONTENT:
            score_nbr(&m->cnt, h, n, s->cbuf); cnt_set = 1;
            buf = s->cbuf; mx = nbr_max(&m->cnt, h, n, buf, N); break;
        case ALG_ALS:
            if (als_state == 2) break;                         /* its fold-in failed */
            if (als_state == 1) { buf = als; mx = als_max; break; }
            if (als_scores(m, h, n, s->tmp, &mx, s, 1)) break;
            buf = s->tmp; break;
        case ALG_EASE: {
            const int32_t *acc = s->eacc;
            if (ecache && *estate == 2) break;
            if (ecache && *estate == 1) acc = ecache;
            else if (!ease_sum(m, h, n, s)) { if (ecache) *estate = 2; break; }
            else if (ecache) { memcpy(ecache, s->eacc, m->ease_n * sizeof *ecache); *estate = 1; }
            /* converted densely (vectorised), then scattered */
            float *f = s->efl, unit = m->ease_unit;
            for (uint32_t j = 0; j < m->ease_n; j++) f[j] = (float)acc[j] * unit;
            mx = vmax(f, m->ease_n);
            for (uint32_t j = 0; j < m->ease_n; j++) s->ebuf[m->ease_idx[j]] = f[j];
            ease_set = 1; buf = s->ebuf; break;
        }
        default: break;
        }
        if (!buf || !(mx > 0)) continue;
        d[nt] = buf; k[nt] = w / mx; nt++;
    }
    if (m->pop_max > 0) { d[nt] = m->pop; k[nt] = 1e-6f / m->pop_max; nt++; }
    if (have_avx2()) blend_avx2(scores, N, d, k, nt);
    else blend_generic(scores, N, d, k, nt);
    if (knn_set) nbr_reset(&m->knn, h, n, s->kbuf, N);
    if (cnt_set) nbr_reset(&m->cnt, h, n, s->cbuf, N);
    if (ease_set) for (uint32_t j = 0; j < m->ease_n; j++) s->ebuf[m->ease_idx[j]] = 0;
    return 0;
}

void model_score(const rec_model *m, const hist_entry *h, size_t n, float *scores, model_scratch *s)
{
    model_score_cached(m, h, n, scores, s, NULL, NULL);
}

void model_score_cached(const rec_model *m, const hist_entry *h, size_t n, float *scores, model_scratch *s,
                        int32_t *acc, uint8_t *state)
{
    model_score_pre(m, h, n, scores, s, acc, state, NULL, 0, 0);
}

void model_score_pre(const rec_model *m, const hist_entry *h, size_t n, float *scores, model_scratch *s,
                     int32_t *acc, uint8_t *state, const float *als, float als_max, int als_state)
{
    if (!model_ease_dim(m)) acc = NULL;
    uint32_t N = m->n_items;
    if (!N) return;
    /* the one-pass hybrid writes every score; the other paths add to zeros */
    if (m->alg == ALG_HYBRID && n > 0 && !hybrid_fast(m, h, n, scores, s, acc, state, als, als_max, als_state)) return;
    if (n == 0 || m->alg == ALG_POP) { score_pop(m, scores); return; }
    memset(scores, 0, N * sizeof *scores);
    if (m->alg != ALG_HYBRID) {
        component(m, m->alg, h, n, scores, s);
        /* a tiny popularity term breaks ties (and ranks items the model
         * knows nothing about for this user) */
        if (m->pop_max > 0) {
            float k = 1e-6f / m->pop_max;
            for (uint32_t i = 0; i < N; i++) scores[i] += k * m->pop[i];
        }
        return;
    }
    /* hybrid: sum of w_c * score_c / max(score_c) */
    for (int c = 0; c < ALG_HYBRID; c++) {
        float w = m->w[c];
        if (!(w > 0)) continue;
        memset(s->tmp, 0, N * sizeof *s->tmp);
        component(m, (rec_alg)c, h, n, s->tmp, s);
        float mx = 0;
        for (uint32_t i = 0; i < N; i++) if (s->tmp[i] > mx) mx = s->tmp[i];
        if (!(mx > 0)) continue;
        float k = w / mx;
        for (uint32_t i = 0; i < N; i++) scores[i] += k * s->tmp[i];
    }
    if (m->pop_max > 0) {
        float k = 1e-6f / m->pop_max;
        for (uint32_t i = 0; i < N; i++) scores[i] += k * m->pop[i];
    }
}

/* ---- top k ------------------------------------------------------------- */

static int better(const float *s, uint32_t a, uint32_t b)
{
    return s[a] > s[b] || (s[a] == s[b] && a < b);
}

size_t model_topk(const float *scores, uint32_t n, size_t k, const uint8_t *skip, uint32_t *out)
{
    /* min-heap of the k best so far in out[0..h) (worst at the root) */
    size_t h = 0;
    if (!k) return 0;
    for (uint32_t i = 0; i < n; i++) {
        if ((skip && skip[i]) || !(scores[i] > -INFINITY)) continue;
        if (h == k && !better(scores, i, out[0])) continue;
        size_t c;
        if (h < k) {
            c = h++;
            while (c > 0) {         /* sift up */
                size_t p = (c - 1) / 2;
                if (!better(scores, out[p], i)) break;
                out[c] = out[p];
                c = p;
            }
            out[c] = i;
        } else {
            c = 0;                  /* replace the root, sift down */
            for (;;) {
                size_t l = 2 * c + 1, w = c;
                uint32_t wv = i;
                if (l < h && better(scores, wv, out[l])) { w = l; wv = out[l]; }
                if (l + 1 < h && better(scores, wv, out[l + 1])) { w = l + 1; }
                if (w == c) break;
                out[c] = out[w];
                c = w;
            }
            out[c] = i;
        }
    }
    /* heap sort: repeatedly move the worst to the end */
    for (size_t e = h; e > 1; e--) {
        uint32_t worst = out[0];
        uint32_t last = out[e - 1];
        size_t c = 0, m = e - 1;
        for (;;) {
            size_t l = 2 * c + 1, w = c;
            uint32_t wv = last;
            if (l < m && better(scores, wv, out[l])) { w = l; wv = out[l]; }
            if (l + 1 < m && better(scores, wv, out[l + 1])) { w = l + 1; }
            if (w == c) break;
            out[c] = out[w];
            c = w;
        }
        out[c] = last;
        out[e - 1] = worst;
    }
    return h;
}

