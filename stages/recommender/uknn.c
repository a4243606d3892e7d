/* uknn.c — user-based kNN: the user's history is compared with every
 * training user through the item -> users index, cosine over binary rows
 * (overlap / sqrt(|h| |v|)); the uk_k most similar users v vote for their
 * items with sim^uk_pow: score(j) = sum_v sim(u, v)^pow [j in v]. The model
 * keeps the training users' item lists (blobs uknn.off/uknn.idx). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "topk.h"
#include "train.h"

int uknn_index(rec_model *m)
{
    uint32_t nu = m->uk_users, ni = m->n_items;
    size_t nnz = m->uk_off[nu];
    free(m->uk_toff); free(m->uk_tusr);
    m->uk_toff = calloc((size_t)ni + 1, sizeof *m->uk_toff);
    m->uk_tusr = malloc((nnz ? nnz : 1) * sizeof *m->uk_tusr);
    uint32_t *pos = malloc(((size_t)ni + 1) * sizeof *pos);
    if (!m->uk_toff || !m->uk_tusr || !pos) { free(pos); return -1; }
    for (size_t e = 0; e < nnz; e++) m->uk_toff[m->uk_idx[e] + 1]++;
    for (uint32_t i = 0; i < ni; i++) m->uk_toff[i + 1] += m->uk_toff[i];
    memcpy(pos, m->uk_toff, ((size_t)ni + 1) * sizeof *pos);
    for (uint32_t u = 0; u < nu; u++)
        for (uint32_t e = m->uk_off[u]; e < m->uk_off[u + 1]; e++) m->uk_tusr[pos[m->uk_idx[e]]++] = u;
    free(pos);
    return 0;
}

int uknn_train(rec_model *m, const rec_train *t, const train_params *p)
{
    uint32_t nu = t->n_users;
    if (!nu) return 0;
    free(m->uk_off); free(m->uk_idx);
    m->uk_off = malloc(((size_t)nu + 1) * sizeof *m->uk_off);
    m->uk_idx = malloc((t->nnz ? t->nnz : 1) * sizeof *m->uk_idx);
    if (!m->uk_off || !m->uk_idx) return -1;
    memcpy(m->uk_off, t->R.off, ((size_t)nu + 1) * sizeof *m->uk_off);
    memcpy(m->uk_idx, t->R.idx, t->nnz * sizeof *m->uk_idx);
    m->uk_users = nu;
    m->uk_k = (uint32_t)p->uknn_k;
    m->uk_pow = (float)p->uknn_pow;
    model_set_param(m, "uknn.k", (double)p->uknn_k);
    model_set_param(m, "uknn.pow", p->uknn_pow);
    return uknn_index(m);
}


void score_uknn(const rec_model *m, const hist_entry *h, size_t n, float *out, model_scratch *s)
{
    if (!m->uk_users || !s->uacc) return;
    uint32_t nt = 0, nh = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t i = h[k].item;
        if (i >= m->n_items) continue;
        int dup = 0;
        for (size_t q = 0; q < k && !dup; q++) dup = h[q].item == i;
        if (dup) continue;
        nh++;
        for (uint32_t e = m->uk_toff[i]; e < m->uk_toff[i + 1]; e++) {
            uint32_t v = m->uk_tusr[e];
            if (s->uacc[v] == 0) s->utouch[nt++] = v;
            s->uacc[v] += 1;
        }
    }
    uint32_t K = m->uk_k, nc = 0;
    cand heap[512];
    if (K > 512) K = 512;
    for (uint32_t q = 0; q < nt; q++) {
        uint32_t v = s->utouch[q];
        float ov = s->uacc[v];
        s->uacc[v] = 0;
        float sim = ov / sqrtf((float)nh * (float)(m->uk_off[v + 1] - m->uk_off[v]));
        cand_offer(heap, &nc, K, (cand){ v, sim });
    }
    for (uint32_t q = 0; q < nc; q++) {
        uint32_t v = heap[q].i;
        float w = m->uk_pow == 1 ? heap[q].s : powf(heap[q].s, m->uk_pow);
        for (uint32_t e = m->uk_off[v]; e < m->uk_off[v + 1]; e++) out[m->uk_idx[e]] += w;
    }
}
