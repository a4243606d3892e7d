/* eval.h — `recommender eval`: split each user's interactions, train each
 * model on the training part, rank the catalogue for each user and report
 * NDCG, precision, recall, MAP and hit rate at k, and coverage.
 *
 *   recommender eval --in EVENTS --models pop,knn,als,ease,content,hybrid
 *                    --split random:0.2 --seed 42 --k 10
 *
 * argv[0] is the subcommand name ("eval"). Returns the exit code. */
#ifndef STREAMREC_REC_EVAL_H
#define STREAMREC_REC_EVAL_H
#include <stddef.h>
#include <stdint.h>

int eval_main(int argc, char **argv);

/* Ranking metrics of one user's top-k list against the held-out set
 * (binary relevance):
 *   precision = hits / k; recall = hits / |held|;
 *   NDCG = DCG / IDCG with DCG = sum over hit ranks r (1-based) of 1/log2(r+1)
 *          and IDCG over min(k, |held|) hits;
 *   MAP  = sum of precision@r at hit ranks / min(k, |held|);
 *   hit  = 1 if any hit.
 * ranked has n_ranked <= k entries (fewer if the catalogue is short);
 * held need not be sorted; duplicates in held count once. */
typedef struct eval_metrics { double ndcg, precision, recall, map, hit; } eval_metrics;
void eval_user_metrics(const uint32_t *ranked, size_t n_ranked, size_t k,
                       const uint32_t *held, size_t n_held, eval_metrics *out);
#endif
