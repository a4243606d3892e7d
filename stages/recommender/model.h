/* model.h — a trained recommender model in memory: read-only once built
 * (by a trainer, train.h) or loaded (modelfile.h), shareable across
 * threads. Its items, the training users' interactions it carries, its
 * parameters, and the event -> interaction weight shared by training and
 * serving. Scoring is score.h; the layout, for the trainers, model_impl.h. */
#ifndef STREAMREC_REC_MODEL_H
#define STREAMREC_REC_MODEL_H
#include <stddef.h>
#include <stdint.h>

typedef struct rec_model rec_model;            /* read-only after load; shareable across threads */

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

/* Event -> interaction weight, shared by training and serving (Event.type
 * values of schemas/event.fbs):
 *   view 1, click 2, add_to_cart 3, purchase 4, rating: the value (1..5,
 *   clamped to [0.5, 5]; a missing value counts 1), custom 1;
 *   impression and exposure 0 = ignored (not an interaction). */
float event_weight(int8_t event_type, double value);

/* A numeric parameter recorded at training ("ease.lambda"...), or def. */
double model_param(const rec_model *m, const char *key, double def);
#endif
