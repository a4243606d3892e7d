/* content.c — content similarity from item metadata: each item with
 * metadata is a TF-IDF vector over its terms (data_item_terms: categories
 * such as genres or authors, and words of the title and other text
 * columns), idf = ln(N / df), L2-normalised; similarity is the cosine,
 * computed through an inverted index, and the cnt_k most similar items of
 * each item are kept ("i contributes sim to j", as knn.c). Items without
 * interactions get scores this way, which is how new items enter lists. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "topk.h"
#include "train.h"

typedef struct { uint32_t term; float w; } tw;
typedef struct { idmap *terms; tw *buf; uint32_t n, cap; int oom; } term_ctx;

static void add_term(void *vc, const char *term, size_t len)
{
    term_ctx *c = vc;
    uint32_t t = idmap_put(c->terms, term, len, NULL);
    if (t == UINT32_MAX) { c->oom = 1; return; }
    for (uint32_t k = 0; k < c->n; k++) if (c->buf[k].term == t) { c->buf[k].w += 1; return; }
    if (c->n == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 64;
        tw *b = realloc(c->buf, cap * sizeof *b);
        if (!b) { c->oom = 1; return; }
        c->buf = b; c->cap = cap;
    }
    c->buf[c->n++] = (tw){ t, 1 };
}


typedef struct {
    uint32_t n;
    const uint32_t *ioff; const tw *iv;           /* item -> terms */
    const uint32_t *toff; const uint32_t *titem; const float *tw_; /* term -> items */
    uint32_t k;
    float **acc; uint32_t **touched; uint8_t **seen; cand **cd;
    cand **lists; uint32_t *counts;
} cnt_ctx;

static void cnt_rows(void *vc, uint64_t b, uint64_t e, int th)
{
    cnt_ctx *c = vc;
    float *acc = c->acc[th];
    uint32_t *touched = c->touched[th];
    uint8_t *seen = c->seen[th];
    cand *cd = c->cd[th];
    for (uint64_t i = b; i < e; i++) {
        uint32_t nt = 0;
        for (uint32_t q = c->ioff[i]; q < c->ioff[i + 1]; q++) {
            uint32_t t = c->iv[q].term;
            float w = c->iv[q].w;
            for (uint32_t r = c->toff[t]; r < c->toff[t + 1]; r++) {
                uint32_t j = c->titem[r];
                if (!seen[j]) { seen[j] = 1; touched[nt++] = j; }
                acc[j] += w * c->tw_[r];
            }
        }
        uint32_t nc = 0;
        for (uint32_t q = 0; q < nt; q++) {
            uint32_t j = touched[q];
            float s = acc[j];
            acc[j] = 0;
            seen[j] = 0;
            if (j == i || !(s > 0)) continue;
            if (nc < c->k) {
                cd[nc++] = (cand){ j, s };
                if (nc == c->k) cand_heapify(cd, c->k);
            } else if (s > cd[0].s || (s == cd[0].s && j < cd[0].i)) {
                cd[0] = (cand){ j, s };
                cand_sift_down(cd, c->k, 0);
            }
        }
        c->counts[i] = nc;
        c->lists[i] = malloc((nc ? nc : 1) * sizeof(cand));
        if (c->lists[i]) memcpy(c->lists[i], cd, nc * sizeof(cand));
        else c->counts[i] = 0;
    }
}

int content_train(rec_model *m, const rec_data *d, const train_params *p)
{
    uint32_t n = m->n_items;
    idmap terms = { 0 };
    term_ctx tc = { &terms, NULL, 0, 0, 0 };
    uint32_t *ioff = calloc((size_t)n + 1, sizeof *ioff);
    tw *iv = NULL;
    size_t niv = 0, civ = 0;
    int rc = -1;
    cnt_ctx c;
    memset(&c, 0, sizeof c);
    int nt = (int)(p->threads < 1 ? 1 : p->threads > 64 ? 64 : p->threads);
    if (!ioff) goto out;
    for (uint32_t i = 0; i < n; i++) {
        tc.n = 0;
        if (i < d->meta_cap && (d->cats[i] || d->text[i])) data_item_terms(d->cats[i], d->text[i], add_term, &tc);
        if (tc.oom) goto out;
        if (niv + tc.n > civ) {
            size_t cap = civ ? civ * 2 : 4096;
            while (cap < niv + tc.n) cap *= 2;
            tw *x = realloc(iv, cap * sizeof *x);
            if (!x) goto out;
            iv = x; civ = cap;
        }
        if (tc.n) memcpy(iv + niv, tc.buf, tc.n * sizeof *iv);
        niv += tc.n;
        ioff[i + 1] = (uint32_t)niv;
    }
    if (!niv) { rc = 0; goto out; }        /* no metadata: no content component */
    uint32_t T = terms.n;
    uint32_t *df = calloc(T ? T : 1, sizeof *df);
    uint32_t *toff = calloc((size_t)T + 1, sizeof *toff);
    uint32_t *titem = malloc(niv * sizeof *titem);
    float *tww = malloc(niv * sizeof *tww);
    if (!df || !toff || !titem || !tww) { free(df); free(toff); free(titem); free(tww); goto out; }
    uint32_t ndocs = 0;
    for (uint32_t i = 0; i < n; i++) ndocs += ioff[i + 1] > ioff[i];
    for (size_t q = 0; q < niv; q++) df[iv[q].term]++;
    for (uint32_t i = 0; i < n; i++) {       /* tf-idf, L2 normalised */
        double norm = 0;
        for (uint32_t q = ioff[i]; q < ioff[i + 1]; q++) {
            double w = iv[q].w * log((double)ndocs / df[iv[q].term]);
            iv[q].w = (float)w;
            norm += w * w;
        }
        norm = sqrt(norm);
        for (uint32_t q = ioff[i]; q < ioff[i + 1]; q++) iv[q].w = norm > 0 ? (float)(iv[q].w / norm) : 0;
    }
    for (size_t q = 0; q < niv; q++) toff[iv[q].term + 1]++;
    for (uint32_t t = 0; t < T; t++) toff[t + 1] += toff[t];
    {
        uint32_t *pos = malloc(((size_t)T + 1) * sizeof *pos);
        if (!pos) { free(df); free(toff); free(titem); free(tww); goto out; }
        memcpy(pos, toff, ((size_t)T + 1) * sizeof *pos);
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t q = ioff[i]; q < ioff[i + 1]; q++) {
                uint32_t r = pos[iv[q].term]++;
                titem[r] = i;
                tww[r] = iv[q].w;
            }
        free(pos);
    }
    free(df);
    c = (cnt_ctx){ n, ioff, iv, toff, titem, tww, (uint32_t)p->cnt_k, NULL, NULL, NULL, NULL, NULL, NULL };
    c.acc = calloc(nt, sizeof *c.acc); c.touched = calloc(nt, sizeof *c.touched); c.cd = calloc(nt, sizeof *c.cd);
    c.seen = calloc(nt, sizeof *c.seen);
    c.lists = calloc(n ? n : 1, sizeof *c.lists); c.counts = calloc(n ? n : 1, sizeof *c.counts);
    int ok = c.acc && c.touched && c.seen && c.cd && c.lists && c.counts;
    for (int th = 0; ok && th < nt; th++) {
        c.acc[th] = calloc(n ? n : 1, sizeof(float));
        c.touched[th] = malloc((n ? n : 1) * sizeof(uint32_t));
        c.seen[th] = calloc(n ? n : 1, 1);
        c.cd[th] = malloc(((size_t)c.k + 1) * sizeof(cand));
        ok = c.acc[th] && c.touched[th] && c.seen[th] && c.cd[th];
    }
    if (ok) par_for_dyn(nt, n, 64, cnt_rows, &c);
    free(toff); free(titem); free(tww);
    if (!ok) goto out;
    nbr_csr *o = &m->cnt;
    nbr_csr_free(o);
    o->n = n;
    o->off = calloc((size_t)n + 1, sizeof *o->off);
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) total += c.counts[i];
    o->nbr = malloc((total ? total : 1) * sizeof *o->nbr);
    o->sim = malloc((total ? total : 1) * sizeof *o->sim);
    if (!o->off || !o->nbr || !o->sim) { nbr_csr_free(o); goto out; }
    size_t e = 0;
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t q = 0; q < c.counts[i]; q++) { o->nbr[e] = c.lists[i][q].i; o->sim[e] = c.lists[i][q].s; e++; }
        o->off[i + 1] = (uint32_t)e;
    }
    model_set_param(m, "content.k", (double)p->cnt_k);
    model_set_param(m, "content.terms", T);
    rc = 0;
out:
    for (int th = 0; th < nt; th++) {
        if (c.acc) free(c.acc[th]);
        if (c.touched) free(c.touched[th]);
        if (c.cd) free(c.cd[th]);
        if (c.seen) free(c.seen[th]);
    }
    if (c.lists) for (uint32_t i = 0; i < n; i++) free(c.lists[i]);
    free(c.acc); free(c.touched); free(c.seen); free(c.cd); free(c.lists); free(c.counts);
    free(ioff); free(iv); free(tc.buf);
    idmap_free(&terms);
    return rc;
}
