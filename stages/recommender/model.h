/* model.h — a trained recommender model, loaded read-only from its SQLite
 * file, and scoring of every item for one user's history.
 *
 * The model file (written by `recommender train`, see train.h) holds:
 *   meta(key, value)        model_version, algorithm, params (JSON),
 *                           training summary (users, items, interactions)
 *   items(idx, item_id, categories, first_seen, pop)
 *   blobs(name, data)       per-algorithm arrays (little-endian, host floats):
 *                           "knn.off"/"knn.nbr"/"knn.sim" (CSR neighbours),
 *                           "cnt.off"/"cnt.nbr"/"cnt.sim" (content neighbours),
 *                           "als.Y" (n_items x f), "ease.idx"/"ease.B",
 *                           "users.ids"/"users.off"/"users.item"/"users.w"/
 *                           "users.ts" (the training users' interactions)
 * It is replaced atomically (temp file in the same directory, fsync, rename),
 * so a serving process can reload it at any moment.
 *
 * Additions beyond the agreed shape: event_weight(), model_topk() (top-k
 * selection for lists) and model_param() (a training parameter). */
#ifndef STREAMREC_REC_MODEL_H
#define STREAMREC_REC_MODEL_H
#include <stddef.h>
#include <stdint.h>

typedef struct rec_model rec_model;            /* read-only after load; shareable across threads */
typedef struct model_scratch model_scratch;    /* per-thread scratch for scoring */

/* SQLite model file -> memory. NULL with err on failure. */
rec_model *model_load(const char *path, char *err, size_t errlen);
void model_free(rec_model *m);
const char *model_version(const rec_model *m);   /* -> Recommendation.model_version */
const char *model_algorithm(const rec_model *m); /* "hybrid", "ease", ... -> Recommendation.algorithm */
uint32_t model_n_items(const rec_model *m);
int64_t model_item_index(const rec_model *m, const char *item_id, size_t len); /* -1 if unknown */
const char *model_item_id(const rec_model *m, uint32_t idx);
const char *model_item_categories(const rec_model *m, uint32_t idx); /* "Action|Comedy", author, or NULL */
int64_t model_item_first_seen(const rec_model *m, uint32_t idx);      /* epoch s; 0 unknown */

/* The training users' interactions the model carries (`recommender train
 * --user-history`), so that serving knows what a user did before the
 * process first saw them: the index of a user (-1 if the model has none
 * for them), and their interactions, oldest first (item index, weight,
 * epoch s); the count is returned, the arrays point into the model. */
int64_t model_user_index(const rec_model *m, const char *user, size_t len);
uint32_t model_user_interactions(const rec_model *m, uint32_t u, const uint32_t **items,
                                 const float **weights, const int64_t **ts);

/* One interaction of a user: item index, weight (event_weight), time (epoch s). */
typedef struct { uint32_t item; float weight; int64_t ts; } hist_entry;

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

/* Event -> interaction weight, shared by training and serving (Event.type
 * values of schemas/event.fbs):
 *   view 1, click 2, add_to_cart 3, purchase 4, rating: the value (1..5,
 *   clamped to [0.5, 5]; a missing value counts 1), custom 1;
 *   impression and exposure 0 = ignored (not an interaction). */
float event_weight(int8_t event_type, double value);

/* The k best items by score, best first, skipping items with skip[i] != 0
 * (skip may be NULL) and items scored -INFINITY or NaN. Ties go to the
 * lower index. Returns the count (< k if fewer items qualify). */
size_t model_topk(const float *scores, uint32_t n, size_t k, const uint8_t *skip, uint32_t *out);

/* A numeric parameter recorded at training ("ease.lambda"...), or def. */
double model_param(const rec_model *m, const char *key, double def);
#endif
