/* knn.c — item-item collaborative filtering.
 *
 * X is the user x item matrix of the training interactions: binary, or
 * BM25-weighted (knn_bm25: each entry scaled by the item's idf over users
 * and a length normalisation of the user's row, k1 = 1.2, b = 0.75).
 * sim(i, j) = (x_i . x_j) / (|x_i| |x_j| + shrink), raised to knn_pow;
 * for each target item j the knn_k most similar items i are kept, and the
 * lists are stored transposed ("i contributes sim to j") so that scoring a
 * user is a sum over their history: score(j) = sum_{i in h} sim(i, j) —
 * the usual X·S with S pruned to the top k per column. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "topk.h"
#include "train.h"


typedef struct {
    const rec_train *t;
    const train_params *p;
    const float *xval;      /* per entry of R (by user) */
    const float *xtval;     /* per entry of Rt (by item), same values */
    const double *norm;
    float **acc; uint32_t **touched; cand **cands;
    cand **lists; uint32_t *counts;
    uint32_t k;
} knn_ctx;

static void knn_rows(void *vc, uint64_t b, uint64_t e, int th)
{
    knn_ctx *c = vc;
    const rec_train *t = c->t;
    float *acc = c->acc[th];
    uint32_t *touched = c->touched[th];
    cand *cd = c->cands[th];
    for (uint64_t j = b; j < e; j++) {
        uint32_t nt = 0;
        double tau = c->p->knn_tau_s;
        for (uint32_t a = t->Rt.off[j]; a < t->Rt.off[j + 1]; a++) {
            uint32_t u = t->Rt.idx[a];
            float xu = c->xtval[a];
            int64_t tj = t->Rt.ts[a];
            for (uint32_t q = t->R.off[u]; q < t->R.off[u + 1]; q++) {
                uint32_t i = t->R.idx[q];
                if (acc[i] == 0) touched[nt++] = i;       /* entries are > 0: acc > 0 once touched */
                float x = xu * c->xval[q];
                if (tau > 0) {                            /* temporal: pairs close in time count more */
                    int64_t dt = t->R.ts[q] - tj;
                    x *= (float)(0.05 + exp(-(double)(dt < 0 ? -dt : dt) / tau));
                }
                acc[i] += x;
            }
        }
        uint32_t nc = 0;
        for (uint32_t q = 0; q < nt; q++) {
            uint32_t i = touched[q];
            float dot = acc[i];
            acc[i] = 0;
            if (i == j || !(dot > 0)) continue;
            double s = dot / (c->norm[i] * c->norm[j] + c->p->knn_shrink);
            if (c->p->knn_pow != 1) s = pow(s, c->p->knn_pow);
            cd[nc++] = (cand){ i, (float)s };
        }
        nc = cand_keep_top(cd, nc, c->k);
        c->counts[j] = nc;
        c->lists[j] = malloc((nc ? nc : 1) * sizeof(cand));
        if (c->lists[j]) memcpy(c->lists[j], cd, nc * sizeof(cand));
        else c->counts[j] = 0;
    }
}

int knn_train(rec_model *m, const rec_train *t, const train_params *p)
{
    uint32_t ni = t->n_items;
    size_t nnz = t->nnz;
    float *xval = malloc((nnz ? nnz : 1) * sizeof *xval);
    float *xtval = malloc((nnz ? nnz : 1) * sizeof *xtval);
    double *norm = calloc(ni ? ni : 1, sizeof *norm);
    if (!xval || !xtval || !norm) { free(xval); free(xtval); free(norm); return -1; }
    /* entry values */
    double avglen = t->n_users ? (double)nnz / t->n_users : 1;
    for (uint32_t u = 0; u < t->n_users; u++) {
        uint32_t len = t->R.off[u + 1] - t->R.off[u];
        for (uint32_t q = t->R.off[u]; q < t->R.off[u + 1]; q++) {
            if (p->knn_bm25) {
                uint32_t i = t->R.idx[q];
                double df = t->Rt.off[i + 1] - t->Rt.off[i];
                double idf = log((double)t->n_users / (df + 1)) + 1;
                double k1 = 1.2, bb = 0.75;
                double tf = 1.0;
                xval[q] = (float)(idf * tf * (k1 + 1) / (tf + k1 * (1 - bb + bb * len / avglen)));
            } else xval[q] = 1.0f;
        }
    }
    /* the same values by item: walk R in user order, Rt is filled in user order per item */
    {
        uint32_t *pos = malloc(((size_t)ni + 1) * sizeof *pos);
        if (!pos) { free(xval); free(xtval); free(norm); return -1; }
        memcpy(pos, t->Rt.off, ((size_t)ni + 1) * sizeof *pos);
        for (uint32_t u = 0; u < t->n_users; u++)
            for (uint32_t q = t->R.off[u]; q < t->R.off[u + 1]; q++) xtval[pos[t->R.idx[q]]++] = xval[q];
        free(pos);
    }
    for (uint32_t i = 0; i < ni; i++) {
        double s = 0;
        for (uint32_t a = t->Rt.off[i]; a < t->Rt.off[i + 1]; a++) s += (double)xtval[a] * xtval[a];
        norm[i] = sqrt(s);
    }
    int nt = p->threads < 1 ? 1 : p->threads > 64 ? 64 : p->threads;
    knn_ctx c = { t, p, xval, xtval, norm, NULL, NULL, NULL, NULL, NULL, (uint32_t)p->knn_k };
    c.acc = calloc(nt, sizeof *c.acc);
    c.touched = calloc(nt, sizeof *c.touched);
    c.cands = calloc(nt, sizeof *c.cands);
    c.lists = calloc(ni ? ni : 1, sizeof *c.lists);
    c.counts = calloc(ni ? ni : 1, sizeof *c.counts);
    int rc = -1;
    if (!c.acc || !c.touched || !c.cands || !c.lists || !c.counts) goto out;
    for (int th = 0; th < nt; th++) {
        c.acc[th] = calloc(ni ? ni : 1, sizeof(float));
        c.touched[th] = malloc((ni ? ni : 1) * sizeof(uint32_t));
        c.cands[th] = malloc((ni ? ni : 1) * sizeof(cand));
        if (!c.acc[th] || !c.touched[th] || !c.cands[th]) goto out;
    }
    par_for_dyn(nt, ni, 64, knn_rows, &c);
    /* transpose: source i -> targets j */
    nbr_csr *o = &m->knn;
    nbr_csr_free(o);
    o->n = m->n_items;
    o->off = calloc((size_t)m->n_items + 1, sizeof *o->off);
    size_t total = 0;
    for (uint32_t j = 0; j < ni; j++) total += c.counts[j];
    o->nbr = malloc((total ? total : 1) * sizeof *o->nbr);
    o->sim = malloc((total ? total : 1) * sizeof *o->sim);
    if (!o->off || !o->nbr || !o->sim) { nbr_csr_free(o); goto out; }
    for (uint32_t j = 0; j < ni; j++)
        for (uint32_t q = 0; q < c.counts[j]; q++) o->off[c.lists[j][q].i + 1]++;
    for (uint32_t i = 0; i < m->n_items; i++) o->off[i + 1] += o->off[i];
    uint32_t *pos = malloc(((size_t)m->n_items + 1) * sizeof *pos);
    if (!pos) { nbr_csr_free(o); goto out; }
    memcpy(pos, o->off, ((size_t)m->n_items + 1) * sizeof *pos);
    for (uint32_t j = 0; j < ni; j++)
        for (uint32_t q = 0; q < c.counts[j]; q++) {
            uint32_t e = pos[c.lists[j][q].i]++;
            o->nbr[e] = j;
            o->sim[e] = c.lists[j][q].s;
        }
    free(pos);
    model_set_param(m, "knn.k", p->knn_k);
    model_set_param(m, "knn.bm25", p->knn_bm25);
    model_set_param(m, "knn.shrink", p->knn_shrink);
    model_set_param(m, "knn.pow", p->knn_pow);
    model_set_param(m, "knn.tau_s", p->knn_tau_s);
    rc = 0;
out:
    for (int th = 0; th < nt; th++) {
        if (c.acc) free(c.acc[th]);
        if (c.touched) free(c.touched[th]);
        if (c.cands) free(c.cands[th]);
    }
    if (c.lists) for (uint32_t j = 0; j < ni; j++) free(c.lists[j]);
    free(c.acc); free(c.touched); free(c.cands); free(c.lists); free(c.counts);
    free(xval); free(xtval); free(norm);
    return rc;
}
