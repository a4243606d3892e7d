/* model_impl.h — the in-memory layout of a rec_model and of the scoring
 * scratch, shared by model.c, score.c, modelfile.c, the trainers (pop.c
 * knn.c als.c ease.c content.c uknn.c) and eval.c, which builds models in
 * memory without a file round trip. Not for serving code: use model.h,
 * score.h and modelfile.h. */
#ifndef STREAMREC_REC_MODEL_IMPL_H
#define STREAMREC_REC_MODEL_IMPL_H
#include <stdint.h>
#include <stddef.h>
#include "model.h"
#include "modelfile.h"
#include "score.h"

/* Sparse neighbour lists, CSR by source item: for i, entries
 * off[i]..off[i+1] of nbr/sim say "i contributes sim to nbr". */
typedef struct nbr_csr { uint32_t n; uint32_t *off, *nbr; float *sim; } nbr_csr;

typedef enum { ALG_POP, ALG_KNN, ALG_ALS, ALG_EASE, ALG_CONTENT, ALG_UKNN, ALG_HYBRID, ALG_COUNT } rec_alg;
extern const char *const rec_alg_names[ALG_COUNT];
int rec_alg_parse(const char *s);   /* -1 if unknown */

typedef struct model_kv { char key[48]; double val; } model_kv;

struct rec_model {
    char version[64];
    char algorithm[16];
    rec_alg alg;
    uint32_t n_items;
    char **item_ids;          /* NUL-terminated, owned */
    char **cats;              /* may hold NULLs */
    int64_t *first_seen;      /* epoch s */
    float *pop;               /* popularity score (decayed), >= 0 */
    float pop_max;            /* max of pop (set by model_finish_pop) */
    uint32_t *htab; uint32_t hcap;   /* item_id -> idx+1, open addressing */
    /* components: present when non-empty */
    nbr_csr knn, cnt;
    uint32_t als_f; float *als_Y; double *als_YtY; float als_reg, als_alpha; int als_binary;
    float *als_Yt;                        /* Y in panels of 16 items (the last zero padded), for the dot products */
    uint32_t cg_steps;
    uint32_t ease_n; uint32_t *ease_idx; int32_t *ease_pos;
    float *ease_B;            /* as trained (what model_save writes); NULL in a loaded model */
    /* B in fixed point, B ~ ease_Q * ease_unit (a power of two), scaled so
     * that no sum of distinct rows can overflow: integer sums do not depend
     * on the order of addition, so a cached, a recomputed and a restored
     * EASE sum are equal bit for bit */
    int32_t *ease_Q; float ease_unit;
    /* user-kNN: the training users' items (CSR) and its transpose */
    uint32_t uk_users, uk_k; float uk_pow;
    uint32_t *uk_off, *uk_idx, *uk_toff, *uk_tusr;
    /* the training users' interactions (model_user_*): each user's newest
     * --user-history, oldest first; tu_htab maps user id -> index + 1 */
    uint32_t tu_n; char **tu_ids; uint32_t *tu_off, *tu_item; float *tu_w; int64_t *tu_ts;
    uint32_t *tu_htab; uint32_t tu_hcap;
    float w[ALG_COUNT];       /* hybrid weights by component */
    model_kv *params; int n_params;
    /* summary */
    int64_t n_users_trained, n_interactions;
};

struct model_scratch {
    uint32_t n; float *tmp;   /* n_items */
    float *uacc; uint32_t *utouch;   /* user-kNN: n users */
    int32_t *eacc;                   /* EASE: ease_n, a sum of ease_Q rows */
    float *efl;                      /* EASE: ease_n, that sum as scores */
    uint8_t *emark;                  /* EASE: ease_n, all 0 between lists: rows already summed */
    double *A, *b, *x, *r, *p, *Ap;    /* ALS fold-in, f*f and f */
    double *yh, *ch;                 /* ALS fold-in: a chunk of history factors (FOLD_CHUNK x f) and their c - 1 */
    /* hybrid: per-component dense buffers (n_items), all zero between
     * lists: only the entries a list touched are written and reset */
    float *kbuf, *cbuf, *ebuf, *zero;
};

/* Builders. */
rec_model *model_new(uint32_t n_items, char **item_ids /* taken */);
void model_set_param(rec_model *m, const char *key, double v);
void model_index_items(rec_model *m);   /* builds htab */
int model_index_users(rec_model *m);    /* builds tu_htab: 0, or -1 out of memory */
void model_finish_pop(rec_model *m);    /* pop_max, after pop is filled */
void nbr_csr_free(nbr_csr *c);
/* Keep every training user's newest max_per_user interactions of R
 * (user ids from ids[]) in the model, oldest first. 0 or -1 (OOM). */
struct rec_train;
int model_set_user_histories(rec_model *m, const struct rec_train *t, char *const *ids, uint32_t max_per_user);
/* ease_Q and ease_unit from ease_B (done by load and the trainer). 0, or -1
 * with err set (a non-finite B, out of memory). */
int model_ease_quantize(rec_model *m, char *err, size_t errlen);
/* Compute als_YtY from als_Y (done by load and the trainer). */
void model_als_gram(rec_model *m);

/* Component scorers: add w * component score into out (n_items). They do
 * not normalise; model_score does for the hybrid. */
void score_pop(const rec_model *m, float *out);
void score_nbr(const nbr_csr *c, const hist_entry *h, size_t n, float *out);
void score_ease(const rec_model *m, const hist_entry *h, size_t n, float *out, model_scratch *s);
/* ALS fold-in: x (f) from the history; returns 0, or -1 if no history item
 * has a factor. */
int als_fold_in(const rec_model *m, const hist_entry *h, size_t n, double *x, model_scratch *s);
void score_uknn(const rec_model *m, const hist_entry *h, size_t n, float *out, model_scratch *s);
/* Builds uk_toff/uk_tusr from uk_off/uk_idx. 0 or -1. */
int uknn_index(rec_model *m);
void score_als(const rec_model *m, const hist_entry *h, size_t n, float *out, model_scratch *s);
/* For tests: the widest vector code scoring may use (0 baseline, 1 AVX2 +
 * FMA, 2 AVX-512F; the CPU's own limit still applies). Returns the old cap. */
int model_score_isa_cap(int level);
#endif
