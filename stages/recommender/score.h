/* score.h — scoring every item of a rec_model for one user's history
 * (score.c), and the top k of the scores. */
#ifndef STREAMREC_REC_SCORE_H
#define STREAMREC_REC_SCORE_H
#include <stddef.h>
#include <stdint.h>
#include "model.h"

typedef struct model_scratch model_scratch;    /* per-thread scratch for scoring */

model_scratch *model_scratch_new(const rec_model *m);
void model_scratch_free(model_scratch *s);

/* Scores every item for a user with this history (ALS fold-in, neighbour
 * sums, content for new items, popularity when the history is empty).
 * scores has model_n_items entries; higher is better. The same item may
 * appear several times in h (weights add up). Items in h are NOT excluded
 * here: the caller drops them from the list. Thread-safe with one scratch
 * per thread. */
void model_score(const rec_model *m, const hist_entry *h, size_t n, float *scores, model_scratch *s);

/* The EASE part of a hybrid score depends only on which modelled items the
 * user has (binary X), so a caller may keep that sum per user and add one
 * row when a new item arrives instead of summing the whole history for
 * every list. The sum is of B's rows in int32 fixed point, exact, so it
 * does not depend on the order the rows were added in: a cached sum, one
 * recomputed from the history and one rebuilt after a restore are equal
 * bit for bit. model_ease_dim: int32s of such a sum (0: the model has no
 * EASE part a cache could keep). *state: 0 not computed yet, 1 acc holds a
 * sum, 2 no item of the user is modelled (acc unused).
 * model_ease_add: acc += the row of item (a model index) when the sum is
 * known (state 1 or 2) and the item is modelled; the caller calls it once
 * per item new to the user. model_score_cached: model_score, with the EASE
 * sum taken from acc when *state != 0, else computed and stored there. */
uint32_t model_ease_dim(const rec_model *m);
void model_ease_add(const rec_model *m, uint32_t item, int32_t *acc, uint8_t *state);
void model_score_cached(const rec_model *m, const hist_entry *h, size_t n, float *scores, model_scratch *s,
                        int32_t *acc, uint8_t *state);

/* The ALS part of a hybrid for up to ALS_BATCH users at once, each item's
 * factors read once for all of them (the ALS dot products are the largest
 * cost of a short list, and one user at a time streams the whole factor
 * matrix from memory). User u's history is h[u] (n[u] entries); out[u]
 * (model_n_items floats) receives its ALS scores, mx[u] their maximum (at
 * least 0) and ok[u] = 1, or ok[u] = 0
 * when there are none (empty history, or no history item has a factor:
 * out[u] untouched). Returns 1, or 0 when the model's scoring has no such
 * part (not a hybrid with ALS, user-kNN in the blend, or the factors'
 * panel copy could not be allocated): nothing written, score as usual. model_score_pre is
 * model_score_cached with the ALS part given (als_state 1: als holds it,
 * 2: none; 0: computed here as model_score does); the scores are the same
 * bit for bit as model_score's. */
#define ALS_BATCH 8
int model_als_batchable(const rec_model *m);   /* model_als_batch would do it: 1 or 0 */
int model_als_batch(const rec_model *m, const hist_entry *const *h, const size_t *n, uint32_t g,
                    float *const *out, float *mx, uint8_t *ok, model_scratch *s);
void model_score_pre(const rec_model *m, const hist_entry *h, size_t n, float *scores, model_scratch *s,
                     int32_t *acc, uint8_t *state, const float *als, float als_max, int als_state);

/* The k best items by score, best first, skipping items with skip[i] != 0
 * (skip may be NULL) and items scored -INFINITY or NaN. Ties go to the
 * lower index. Returns the count (< k if fewer items qualify). */
size_t model_topk(const float *scores, uint32_t n, size_t k, const uint8_t *skip, uint32_t *out);
#endif
