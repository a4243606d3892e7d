/* train.c — `recommender train` and train_model(), which assembles a
 * rec_model from the trainers (pop.c knn.c als.c ease.c content.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "log.h"
#include "sig.h"
#include "train.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void train_params_default(train_params *p)
{
    memset(p, 0, sizeof *p);
    p->threads = TP_THREADS;
    p->knn_k = TP_KNN_K; p->knn_shrink = TP_KNN_SHRINK; p->knn_pow = TP_KNN_POW;
    p->als_f = TP_ALS_F; p->als_iters = TP_ALS_ITERS; p->als_cg = TP_ALS_CG;
    p->als_reg = TP_ALS_REG; p->als_alpha = TP_ALS_ALPHA;
    p->seed = TP_SEED;
    p->ease_lambda = TP_EASE_LAMBDA; p->ease_min_users = TP_EASE_MIN_USERS; p->ease_max_items = TP_EASE_MAX_ITEMS;
    p->ease_seq = TP_EASE_SEQ; p->ease_seq_lag = TP_EASE_SEQ_LAG;
    p->cnt_k = TP_CNT_K;
    p->uknn_k = TP_UKNN_K; p->uknn_pow = TP_UKNN_POW;
    p->weights = TP_WEIGHTS;
    char err[128];
    train_parse_weights(p->weights, p->w, err, sizeof err);
}

int train_parse_weights(const char *s, float *w, char *err, size_t errlen)
{
    for (int c = 0; c < ALG_COUNT; c++) w[c] = 0;
    while (s && *s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        const char *eq = memchr(s, '=', n);
        char name[32];
        if (!eq || (size_t)(eq - s) >= sizeof name) { snprintf(err, errlen, "'%.*s' is not NAME=WEIGHT", (int)n, s); return -1; }
        memcpy(name, s, (size_t)(eq - s));
        name[eq - s] = 0;
        int c = rec_alg_parse(name);
        if (c < 0 || c == ALG_HYBRID) { snprintf(err, errlen, "unknown component '%s' (pop, knn, als, ease, content, uknn)", name); return -1; }
        char num[64];
        size_t nl = n - (size_t)(eq - s) - 1;
        if (nl >= sizeof num) nl = sizeof num - 1;
        memcpy(num, eq + 1, nl);
        num[nl] = 0;
        char *end;
        double v = strtod(num, &end);
        if (end == num || *end || !(v >= 0) || v > 1e6) { snprintf(err, errlen, "%s: weight '%s' is not a number >= 0", name, num); return -1; }
        w[c] = (float)v;
        if (!e) break;
        s = e + 1;
    }
    return 0;
}

rec_model *train_model(const rec_data *d, const rec_train *t, rec_alg alg,
                       const train_params *p, double *loss, char *err, size_t errlen)
{
    uint32_t n = d->items.n;
    char **ids = calloc(n ? n : 1, sizeof *ids);
    if (!ids) { snprintf(err, errlen, "out of memory"); return NULL; }
    for (uint32_t i = 0; i < n; i++)
        if (!(ids[i] = strdup(d->items.ids[i]))) {
            for (uint32_t j = 0; j < i; j++) free(ids[j]);
            free(ids);
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
    rec_model *m = model_new(n, ids);
    if (!m) { snprintf(err, errlen, "out of memory"); return NULL; }
    m->alg = alg;
    snprintf(m->algorithm, sizeof m->algorithm, "%s", rec_alg_names[alg]);
    for (uint32_t i = 0; i < n; i++) {
        if (d->cats && i < d->meta_cap && d->cats[i]) m->cats[i] = strdup(d->cats[i]);
        if (i < t->n_items) {
            int64_t fs = 0;
            for (uint32_t e = t->Rt.off[i]; e < t->Rt.off[i + 1]; e++)
                if (!fs || (t->Rt.ts[e] && t->Rt.ts[e] < fs)) fs = t->Rt.ts[e];
            m->first_seen[i] = fs;
        }
    }
    model_index_items(m);
    m->n_users_trained = t->n_users;
    m->n_interactions = (int64_t)t->nnz;
    memcpy(m->w, p->w, sizeof m->w);
    int need[ALG_COUNT] = { 0 };
    if (alg == ALG_HYBRID) for (int c = 0; c < ALG_HYBRID; c++) need[c] = p->w[c] > 0;
    else need[alg] = 1;
    double t0 = now_s();
    if (pop_train(m, t, p)) goto oom;
    model_finish_pop(m);
    double t1 = now_s();
    if (need[ALG_KNN] && knn_train(m, t, p)) goto oom;
    double t2 = now_s();
    if (need[ALG_EASE] && ease_train(m, t, p, err, errlen)) goto fail;
    double t3 = now_s();
    if (need[ALG_ALS] && als_train(m, t, p, loss)) goto oom;
    double t4 = now_s();
    if (need[ALG_CONTENT] && content_train(m, d, p)) goto oom;
    double t5 = now_s();
    if (need[ALG_UKNN] && uknn_train(m, t, p)) goto oom;
    double t6 = now_s();
    log_kv(LOG_DEBUG, "trained", "\"pop_s\":%.3f,\"knn_s\":%.3f,\"ease_s\":%.3f,\"ease_items\":%u,\"als_s\":%.3f,\"content_s\":%.3f,\"uknn_s\":%.3f",
           t1 - t0, t2 - t1, t3 - t2, m->ease_n, t4 - t3, t5 - t4, t6 - t5);
    for (int c = 0; c < ALG_HYBRID; c++) {
        char k[32];
        snprintf(k, sizeof k, "w.%s", rec_alg_names[c]);
        model_set_param(m, k, p->w[c]);
    }
    return m;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    model_free(m);
    return NULL;
}

/* ---- the subcommand ------------------------------------------------------ */

static cli_common common;
static train_params P;
static const char *model_path, *items_path, *item_map, *version_arg;
static int64_t opt_user_history;
static int alg;

static const cli_name alg_names[] = {
    { "pop", ALG_POP }, { "knn", ALG_KNN }, { "als", ALG_ALS }, { "ease", ALG_EASE }, { "content", ALG_CONTENT },
    { "uknn", ALG_UKNN }, { "hybrid", ALG_HYBRID }, { 0 }
};

static const cli_opt opts[] = {
    { "model", 'm', CLI_STR, &model_path, NULL, "PATH.db", "model file to write (replaced atomically)", 0, 0,
      .required = 1 },
    { "algorithm", 'a', CLI_ENUM, &alg, "hybrid", "NAME", "pop, knn, als, ease, content, uknn or hybrid", 0, 0,
      .names = alg_names },
    { "items", 0, CLI_STR, &items_path, NULL, "CSV", "item metadata (categories, titles) for content similarity and rules", 0, 0 },
    { "item-map", 0, CLI_STR, &item_map, "id=movieId,categories=genres,text=title", "KEY=COL,...",
      "columns of --items: id=COL (required), categories=COL, text=COL+COL...", 0, 0 },
    { "model-version", 0, CLI_STR, &version_arg, NULL, "STR", "model_version to record (default: training time, UTC)", 0, 0 },
    { "user-history", 0, CLI_INT, &opt_user_history, "10000", "N",
      "interactions per training user kept in the model (the newest), so serving excludes and scores them "
      "for a user it has not seen; 0: none", 0, 1000000 },
    TRAIN_PARAM_OPTS(P),
    { 0 },
};

static const cli_spec spec = {
    .stage = "recommender train",
    .summary = "train a recommendation model from Event records into a SQLite model file",
    .usage = "recommender train --in EVENTS --model MODEL.db [FLAGS]",
    .example = "recommender train --in ratings.rec --model model.db \\\n"
               "    --items movies.csv.zst --item-map id=movieId,categories=genres,text=title",
    .opts = opts,
};

int train_main(int argc, char **argv)
{
    int first = cli_parse(argc, argv, &spec, &common);
    if (first < argc) cli_usage_error(&spec, "unexpected argument '%s'", argv[first]);
    char err[512];
    if (train_parse_weights(P.weights, P.w, err, sizeof err)) cli_usage_error(&spec, "--weights: %s", err);
    cli_start(&spec, &common);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rec_data d;
    data_init(&d);
    if (data_read_events(&d, common.in, &common)) { data_free(&d); return 1; }
    /* SIGTERM/SIGINT ends the input early: a model of part of it would
     * replace a good one (a timer job stopped mid-read), so none is written */
    if (sig_stop_requested()) {
        log_error("stopped before the end of the input (%zu interactions read): no model written, %s is "
                  "left as it was", d.n, model_path);
        data_free(&d);
        return 1;
    }
    if (items_path) {
        long r = data_read_items(&d, items_path, item_map, err, sizeof err);
        if (r < 0) { log_error("--items: %s", err); data_free(&d); return 1; }
        log_info("item metadata: %ld rows from %s", r, items_path);
    }
    if (!d.n) { log_error("no interactions in the input: nothing to train on"); data_free(&d); return 1; }
    rec_train t;
    if (train_build(&t, d.users.n, d.items.n, d.n, d.u, d.i, d.w, d.ts)) { log_error("out of memory"); data_free(&d); return 1; }
    rec_model *m = train_model(&d, &t, (rec_alg)alg, &P, NULL, err, sizeof err);
    if (!m) { log_error("training failed: %s", err); train_free(&t); data_free(&d); return 1; }
    if (opt_user_history > 0 && model_set_user_histories(m, &t, d.users.ids, (uint32_t)opt_user_history)) {
        log_error("out of memory (the training users' interactions)");
        model_free(m); train_free(&t); data_free(&d);
        return 1;
    }
    if (version_arg) snprintf(m->version, sizeof m->version, "%s", version_arg);
    else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(m->version, sizeof m->version, "%Y%m%dT%H%M%SZ", &tm);
    }
    int rc = 0;
    char pathbuf[512];
    if (model_save(m, model_path, err, sizeof err)) { log_error("writing the model: %s", err); rc = 1; }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!rc)
        log_kv(LOG_INFO, "model written", "\"model\":\"%s\",\"model_version\":\"%s\",\"algorithm\":\"%s\",\"users\":%u,\"items\":%u,\"interactions\":%zu,\"seconds\":%.3f",
               log_jesc(pathbuf, sizeof pathbuf, model_path), m->version, m->algorithm, d.users.n, d.items.n, d.n,
               (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    model_free(m);
    train_free(&t);
    data_free(&d);
    return rc;
}
