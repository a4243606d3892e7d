/* train.h — `recommender train`: Event records -> model file, and the
 * trainers behind it (also used in memory by `recommender eval`).
 *
 *   recommender train --in EVENTS --model MODEL.db [--algorithm hybrid]
 *                     [--items CSV --item-map id=movieId,categories=genres,text=title]
 *
 * train_main: argv[0] is the subcommand name ("train"); flags follow.
 * Returns the exit code (0 ok, 1 runtime failure, 2 usage error). */
#ifndef STREAMREC_REC_TRAIN_H
#define STREAMREC_REC_TRAIN_H
#include <stdint.h>
#include "dataset.h"
#include "model_impl.h"

int train_main(int argc, char **argv);

/* Defaults (also the --help defaults). */
#define TP_THREADS 2
#define TP_KNN_K 30
#define TP_KNN_SHRINK 0
#define TP_KNN_POW 1
#define TP_ALS_F 32
#define TP_ALS_ITERS 8
#define TP_ALS_CG 3
#define TP_ALS_REG 20
#define TP_ALS_ALPHA 3
#define TP_EASE_LAMBDA 100
#define TP_EASE_MIN_USERS 10
#define TP_EASE_MAX_ITEMS 4000
#define TP_EASE_SEQ 0.4
#define TP_EASE_SEQ_LAG 3
#define TP_CNT_K 10
#define TP_UKNN_K 50
#define TP_UKNN_POW 1
#define TP_SEED 42
#define TP_WEIGHTS "ease=1,knn=0.3,als=0.3,content=0.4"

typedef struct train_params {
    int64_t threads;             /* worker threads */
    int64_t half_life_us;        /* popularity decay; 0: none */
    int64_t knn_k;               /* neighbours kept per item */
    int knn_bm25;                /* 1: BM25-weight the user rows before cosine */
    double knn_shrink;           /* sim = dot / (|a||b| + shrink) */
    double knn_pow;              /* sharpen similarities: sim^pow */
    double knn_tau_s;            /* > 0: co-occurrences weighted by exp(-|dt|/tau) (+0.05) */
    int64_t als_f, als_iters, als_cg;
    double als_reg, als_alpha;
    int als_binary;              /* 1: r = 1 for every interaction */
    int64_t seed;
    double ease_lambda;
    int64_t ease_min_users, ease_max_items;
    double ease_seq;             /* > 0: B += ease_seq * the sequence-adjacency cosine (ease.c) */
    int64_t ease_seq_lag;        /* ... of items up to this many steps apart in a user's time order */
    int64_t cnt_k;
    int64_t uknn_k;              /* user-kNN neighbours */
    double uknn_pow;
    float w[ALG_COUNT];          /* hybrid weights (pop knn als ease content) */
    const char *weights;         /* the --weights text, parsed into w */
} train_params;

/* Parse "pop=0.1,knn=0.3,..." into w (components not named: 0). 0 or -1. */
int train_parse_weights(const char *s, float *w, char *err, size_t errlen);

/* The model flags shared by train and eval (cli_opt initialisers; P is a
 * train_params variable). */
#define XSTR(x) STR_(x)
#define STR_(x) #x
#define TRAIN_PARAM_OPTS(P) \
    { "threads", 0, CLI_INT, &(P).threads, XSTR(TP_THREADS), "N", "training threads", 1, 64 }, \
    { "half-life", 0, CLI_DURATION, &(P).half_life_us, "0", "DURATION", "popularity decay half-life (0: plain counts)", 0, 0 }, \
    { "knn-k", 0, CLI_INT, &(P).knn_k, XSTR(TP_KNN_K), "N", "item-kNN: neighbours kept per item", 1, 100000 }, \
    { "knn-bm25", 0, CLI_BOOL, &(P).knn_bm25, NULL, NULL, "item-kNN: BM25-weight interactions before the cosine", 0, 0 }, \
    { "knn-shrink", 0, CLI_DOUBLE, &(P).knn_shrink, XSTR(TP_KNN_SHRINK), "X", "item-kNN: cosine shrinkage term", 0, 1e9 }, \
    { "knn-pow", 0, CLI_DOUBLE, &(P).knn_pow, XSTR(TP_KNN_POW), "X", "item-kNN: similarity exponent", 0.01, 100 }, \
    { "knn-tau", 0, CLI_DOUBLE, &(P).knn_tau_s, "0", "SECONDS", "item-kNN: weight co-occurrences by exp(-|dt|/tau) (0: off)", 0, 1e12 }, \
    { "factors", 0, CLI_INT, &(P).als_f, XSTR(TP_ALS_F), "N", "ALS: latent factors", 1, 1024 }, \
    { "iterations", 0, CLI_INT, &(P).als_iters, XSTR(TP_ALS_ITERS), "N", "ALS: alternating iterations", 1, 1000 }, \
    { "cg-steps", 0, CLI_INT, &(P).als_cg, XSTR(TP_ALS_CG), "N", "ALS: conjugate-gradient steps per solve", 1, 100 }, \
    { "reg", 0, CLI_DOUBLE, &(P).als_reg, XSTR(TP_ALS_REG), "X", "ALS: L2 regularisation", 0, 1e9 }, \
    { "alpha", 0, CLI_DOUBLE, &(P).als_alpha, XSTR(TP_ALS_ALPHA), "X", "ALS: confidence 1 + alpha * weight", 0, 1e9 }, \
    { "als-binary", 0, CLI_BOOL, &(P).als_binary, NULL, NULL, "ALS: every interaction weighs 1", 0, 0 }, \
    { "seed", 0, CLI_INT, &(P).seed, XSTR(TP_SEED), "N", "random seed (ALS initialisation, eval split)", 0, 9.2e18 }, \
    { "ease-lambda", 0, CLI_DOUBLE, &(P).ease_lambda, XSTR(TP_EASE_LAMBDA), "X", "EASE: L2 regularisation", 1e-6, 1e12 }, \
    { "ease-min-users", 0, CLI_INT, &(P).ease_min_users, XSTR(TP_EASE_MIN_USERS), "N", "EASE: items need this many training users", 1, 1000000000 }, \
    { "ease-max-items", 0, CLI_INT, &(P).ease_max_items, XSTR(TP_EASE_MAX_ITEMS), "N", "EASE: at most this many items (the most popular)", 1, 40000 }, \
    { "ease-seq", 0, CLI_DOUBLE, &(P).ease_seq, XSTR(TP_EASE_SEQ), "X", "EASE: add X times the cosine of items taken one after the other (0: off)", 0, 1e6 }, \
    { "ease-seq-lag", 0, CLI_INT, &(P).ease_seq_lag, XSTR(TP_EASE_SEQ_LAG), "N", "EASE: ... up to N steps apart in a user's time order, weight exp(1 - steps)", 1, 100 }, \
    { "content-k", 0, CLI_INT, &(P).cnt_k, XSTR(TP_CNT_K), "N", "content: neighbours kept per item", 1, 100000 }, \
    { "uknn-k", 0, CLI_INT, &(P).uknn_k, XSTR(TP_UKNN_K), "N", "user-kNN: neighbours per user", 1, 1000000 }, \
    { "uknn-pow", 0, CLI_DOUBLE, &(P).uknn_pow, XSTR(TP_UKNN_POW), "X", "user-kNN: similarity exponent", 0.01, 100 }, \
    { "weights", 0, CLI_STR, &(P).weights, TP_WEIGHTS, "NAME=W,...", "hybrid weights of pop, knn, als, ease, content, uknn", 0, 0 }

void train_params_default(train_params *p);

/* The model for alg (ALG_HYBRID trains every component of weight > 0),
 * built in memory over d's items (metadata included) from the training
 * matrix t. NULL with err on failure. If als_loss is not NULL it gets the
 * ALS loss after each iteration (als_iters doubles). */
rec_model *train_model(const rec_data *d, const rec_train *t, rec_alg alg,
                       const train_params *p, double *als_loss, char *err, size_t errlen);

/* The trainers (each fills its part of m). 0, or -1 with err. */
int pop_train(rec_model *m, const rec_train *t, const train_params *p);
int knn_train(rec_model *m, const rec_train *t, const train_params *p);
int als_train(rec_model *m, const rec_train *t, const train_params *p, double *loss_per_iter);
int ease_train(rec_model *m, const rec_train *t, const train_params *p, char *err, size_t errlen);
int content_train(rec_model *m, const rec_data *d, const train_params *p);
int uknn_train(rec_model *m, const rec_train *t, const train_params *p);
/* In-place inverse of an SPD matrix (k x k, k % 8 == 0, lower triangle
 * read): blocked Cholesky, triangular inverse, W^T W. 0 or -1. */
int ease_spd_inverse(double *M, size_t k, int nthreads);
/* ALS objective: sum c_ui (p_ui - x_u.y_i)^2 over all (u,i) + reg (|X|^2 + |Y|^2). */
double als_loss(const rec_train *t, const float *X, const float *Y, uint32_t f, double reg, double alpha, int binary);

/* Parallel for: fn(ctx, begin, end, thread) over [0, n) in nthreads slices. */
void par_for(int nthreads, uint64_t n, void (*fn)(void *ctx, uint64_t b, uint64_t e, int th), void *ctx);
/* Parallel for with dynamic chunks (for uneven work). */
void par_for_dyn(int nthreads, uint64_t n, uint64_t chunk, void (*fn)(void *ctx, uint64_t b, uint64_t e, int th), void *ctx);
#endif
