/* eval.c — `recommender eval`: offline evaluation of the models.
 *
 * Split, per user (users with a single interaction stay whole in training):
 *   random:F  hold out round(F * n) of the user's n interactions, at least
 *             1 and at most n - 1, chosen uniformly with a generator seeded by
 *             --seed (splitmix64; a given seed always gives the same split);
 *   last:N    hold out the user's N latest (by time; at most n - 1).
 * Each model is trained on the training part only; for every user with
 * held-out items the whole catalogue is scored, the user's training items
 * are excluded, and the top k are compared with the held-out set (binary
 * relevance) by eval_user_metrics(); the table gives the means over those
 * users, and coverage = distinct items recommended / catalogue size. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "eval.h"
#include "log.h"
#include "train.h"

void eval_user_metrics(const uint32_t *ranked, size_t n_ranked, size_t k,
                       const uint32_t *held, size_t n_held, eval_metrics *out)
{
    memset(out, 0, sizeof *out);
    /* distinct held-out items */
    size_t nd = 0;
    for (size_t a = 0; a < n_held; a++) {
        int dup = 0;
        for (size_t b = 0; b < a && !dup; b++) dup = held[b] == held[a];
        nd += !dup;
    }
    if (!nd || !k) return;
    if (n_ranked > k) n_ranked = k;
    double dcg = 0, ap = 0;
    size_t hits = 0;
    for (size_t r = 0; r < n_ranked; r++) {
        int hit = 0;
        for (size_t b = 0; b < n_held && !hit; b++) hit = held[b] == ranked[r];
        for (size_t q = 0; q < r && hit; q++) if (ranked[q] == ranked[r]) hit = 0;   /* repeated item */
        if (!hit) continue;
        hits++;
        dcg += 1.0 / log2((double)r + 2);
        ap += (double)hits / (double)(r + 1);
    }
    size_t ideal = nd < k ? nd : k;
    double idcg = 0;
    for (size_t r = 0; r < ideal; r++) idcg += 1.0 / log2((double)r + 2);
    out->ndcg = dcg / idcg;
    out->precision = (double)hits / (double)k;
    out->recall = (double)hits / (double)nd;
    out->map = ap / (double)ideal;
    out->hit = hits > 0;
}

/* ---- split ---------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef struct split {
    size_t ntrain;
    uint32_t *tu, *ti; float *tw; int64_t *tt;   /* training tuples */
    uint32_t *hoff;        /* users+1: held-out items per user */
    uint32_t *hitem;
} split;

static void split_free(split *s)
{
    free(s->tu); free(s->ti); free(s->tw); free(s->tt); free(s->hoff); free(s->hitem);
    memset(s, 0, sizeof *s);
}

/* d is sorted by user (data_finish). mode 0: random fraction; 1: last n. */
static int make_split(const rec_data *d, int mode, double frac, int64_t lastn, uint64_t seed, split *s)
{
    memset(s, 0, sizeof *s);
    uint32_t nu = d->users.n;
    s->tu = malloc((d->n + 1) * sizeof *s->tu); s->ti = malloc((d->n + 1) * sizeof *s->ti);
    s->tw = malloc((d->n + 1) * sizeof *s->tw); s->tt = malloc((d->n + 1) * sizeof *s->tt);
    s->hoff = calloc((size_t)nu + 1, sizeof *s->hoff);
    s->hitem = malloc((d->n + 1) * sizeof *s->hitem);
    size_t *perm = malloc((d->n + 1) * sizeof *perm);
    uint8_t *held = calloc(d->n + 1, 1);
    if (!s->tu || !s->ti || !s->tw || !s->tt || !s->hoff || !s->hitem || !perm || !held) {
        free(perm); free(held); split_free(s); return -1;
    }
    uint64_t st = seed;
    size_t a = 0, nh = 0;
    for (uint32_t u = 0; u < nu; u++) {
        size_t b = a;
        while (b < d->n && d->u[b] == u) b++;
        size_t n = b - a, h = 0;
        if (n >= 2) {
            if (mode == 0) {
                h = (size_t)floor(frac * (double)n + 0.5);
                if (h < 1) h = 1;
            } else h = (size_t)lastn;
            if (h > n - 1) h = n - 1;
        }
        if (h) {
            for (size_t q = 0; q < n; q++) perm[q] = a + q;
            if (mode == 0) {
                for (size_t q = 0; q < h; q++) {        /* partial Fisher-Yates */
                    size_t r = q + (size_t)(splitmix(&st) % (n - q));
                    size_t x = perm[q]; perm[q] = perm[r]; perm[r] = x;
                }
            } else {
                /* the h latest: selection by time, ties by position */
                for (size_t q = 0; q < h; q++) {
                    size_t best = q;
                    for (size_t r = q + 1; r < n; r++) {
                        int64_t tr = d->ts[perm[r]], tb = d->ts[perm[best]];
                        if (tr > tb || (tr == tb && perm[r] > perm[best])) best = r;
                    }
                    size_t x = perm[q]; perm[q] = perm[best]; perm[best] = x;
                }
            }
            for (size_t q = 0; q < h; q++) held[perm[q]] = 1;
        }
        for (size_t q = a; q < b; q++) {
            if (held[q]) { s->hitem[nh++] = d->i[q]; continue; }
            size_t o = s->ntrain++;
            s->tu[o] = u; s->ti[o] = d->i[q]; s->tw[o] = d->w[q]; s->tt[o] = d->ts[q];
        }
        s->hoff[u + 1] = (uint32_t)nh;
        a = b;
    }
    free(perm);
    free(held);
    return 0;
}

/* ---- evaluation ------------------------------------------------------------ */

typedef struct {
    const rec_model *m;
    const rec_train *t;
    const split *sp;
    size_t k;
    double sum[5]; size_t users;
    uint8_t *rec_items;        /* items recommended at least once */
    model_scratch *sc[64];
    double part[64][5]; size_t pusers[64];
    uint8_t *prec[64];
} ev_ctx;

static void eval_users(void *vc, uint64_t b, uint64_t e, int th)
{
    ev_ctx *c = vc;
    uint32_t n = model_n_items(c->m);
    float *scores = malloc((n ? n : 1) * sizeof *scores);
    uint8_t *skip = calloc(n ? n : 1, 1);
    uint32_t *top = malloc((c->k + 1) * sizeof *top);
    hist_entry *h = NULL;
    size_t hcap = 0;
    if (!scores || !skip || !top) goto out;
    for (uint64_t u = b; u < e; u++) {
        uint32_t h0 = c->sp->hoff[u], h1 = c->sp->hoff[u + 1];
        if (h0 == h1) continue;
        const rec_csr *R = &c->t->R;
        size_t nh = R->off[u + 1] - R->off[u];
        if (nh > hcap) {
            hist_entry *x = realloc(h, nh * sizeof *h);
            if (!x) goto out;
            h = x; hcap = nh;
        }
        for (size_t q = 0; q < nh; q++) {
            uint32_t e2 = R->off[u] + (uint32_t)q;
            h[q] = (hist_entry){ R->idx[e2], R->val[e2], R->ts[e2] };
            skip[R->idx[e2]] = 1;
        }
        model_score(c->m, h, nh, scores, c->sc[th]);
        size_t got = model_topk(scores, n, c->k, skip, top);
        for (size_t q = 0; q < nh; q++) skip[h[q].item] = 0;
        eval_metrics em;
        eval_user_metrics(top, got, c->k, c->sp->hitem + h0, h1 - h0, &em);
        c->part[th][0] += em.ndcg; c->part[th][1] += em.precision; c->part[th][2] += em.recall;
        c->part[th][3] += em.map; c->part[th][4] += em.hit;
        c->pusers[th]++;
        for (size_t q = 0; q < got; q++) c->prec[th][top[q]] = 1;
    }
out:
    free(scores); free(skip); free(top); free(h);
}

static int64_t kk;

static int eval_print(rec_model *m, const rec_train *t, const split *sp, uint32_t nusers, int nt,
                      const char *name, double fit)
{
    ev_ctx c;
    memset(&c, 0, sizeof c);
    c.m = m; c.t = t; c.sp = sp; c.k = (size_t)kk;
    uint32_t n = model_n_items(m);
    int ok = 1;
    for (int th = 0; th < nt; th++) {
        c.sc[th] = model_scratch_new(m);
        c.prec[th] = calloc(n ? n : 1, 1);
        if (!c.sc[th] || !c.prec[th]) ok = 0;
    }
    if (ok) par_for_dyn(nt, nusers, 16, eval_users, &c);
    double sum[5] = { 0 };
    size_t users = 0, covered = 0;
    for (int th = 0; th < nt; th++) {
        for (int q = 0; q < 5; q++) sum[q] += c.part[th][q];
        users += c.pusers[th];
    }
    for (uint32_t i = 0; i < n; i++) {
        int any = 0;
        for (int th = 0; th < nt && !any; th++) any = c.prec[th] && c.prec[th][i];
        covered += any;
    }
    for (int th = 0; th < nt; th++) { model_scratch_free(c.sc[th]); free(c.prec[th]); }
    if (!ok) { log_error("out of memory"); return -1; }
    double du = users ? (double)users : 1;
    printf("| %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.2f |\n", name,
           sum[0] / du, sum[1] / du, sum[2] / du, sum[3] / du, sum[4] / du,
           n ? (double)covered / n : 0, fit);
    fflush(stdout);
    return 0;
}

static cli_common common;
static train_params P;
static const char *models_arg, *split_arg, *items_path, *item_map, *sweep_arg;

static const cli_opt opts[] = {
    { "models", 0, CLI_STR, &models_arg, "pop,knn,als,ease,content,hybrid", "NAME,...", "models to evaluate, in table order", 0, 0 },
    { "split", 0, CLI_STR, &split_arg, "random:0.2", "random:F|last:N", "per user: hold out a random fraction F, or the N latest", 0, 0 },
    { "k", 'k', CLI_INT, &kk, "10", "N", "list length of the metrics", 1, 10000 },
    { "items", 0, CLI_STR, &items_path, NULL, "CSV", "item metadata (for the content model)", 0, 0 },
    { "item-map", 0, CLI_STR, &item_map, "id=movieId,categories=genres,text=title", "KEY=COL,...", "columns of --items", 0, 0 },
    { "sweep", 0, CLI_STR, &sweep_arg, NULL, "W;W;...", "also evaluate the hybrid with each of these --weights sets (trained once)", 0, 0 },
    TRAIN_PARAM_OPTS(P),
    { 0 },
};

static const cli_spec spec = {
    .stage = "recommender eval",
    .summary = "train models on a per-user split of the interactions and report ranking metrics at k",
    .usage = "recommender eval --in EVENTS [--models LIST] [--split random:0.2] [--seed 42] [--k 10]",
    .example = "recommender eval --in ratings.rec --models pop,knn,ease,hybrid --split random:0.2 --seed 42 \\\n"
               "    --items movies.csv.zst",
    .opts = opts,
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int eval_main(int argc, char **argv)
{
    int first = cli_parse(argc, argv, &spec, &common);
    if (first < argc) cli_usage_error(&spec, "unexpected argument '%s'", argv[first]);
    char err[512];
    if (train_parse_weights(P.weights, P.w, err, sizeof err)) cli_usage_error(&spec, "--weights: %s", err);
    int mode;
    double frac = 0;
    int64_t lastn = 0;
    char *end;
    if (!strncmp(split_arg, "random:", 7)) {
        mode = 0;
        frac = strtod(split_arg + 7, &end);
        if (end == split_arg + 7 || *end || !(frac > 0 && frac < 1)) cli_usage_error(&spec, "--split: '%s': F must be in (0, 1)", split_arg);
    } else if (!strncmp(split_arg, "last:", 5)) {
        mode = 1;
        lastn = strtoll(split_arg + 5, &end, 10);
        if (end == split_arg + 5 || *end || lastn < 1) cli_usage_error(&spec, "--split: '%s': N must be >= 1", split_arg);
    } else cli_usage_error(&spec, "--split: '%s' is not random:F or last:N", split_arg);
    int algs[ALG_COUNT * 4], nalg = 0;
    {
        const char *s = models_arg;
        while (*s) {
            const char *e = strchr(s, ',');
            size_t n = e ? (size_t)(e - s) : strlen(s);
            char name[32];
            snprintf(name, sizeof name, "%.*s", (int)(n < 31 ? n : 31), s);
            int a = rec_alg_parse(name);
            if (a < 0) cli_usage_error(&spec, "--models: '%s' is not one of pop, knn, als, ease, content, hybrid", name);
            if (nalg < (int)(sizeof algs / sizeof *algs)) algs[nalg++] = a;
            if (!e) break;
            s = e + 1;
        }
    }
    cli_start(&spec, &common);

    rec_data d;
    data_init(&d);
    if (data_read_events(&d, common.in, &common)) { data_free(&d); return 1; }
    if (items_path) {
        long r = data_read_items(&d, items_path, item_map, err, sizeof err);
        if (r < 0) { log_error("--items: %s", err); data_free(&d); return 1; }
    }
    if (!d.n) { log_error("no interactions in the input"); data_free(&d); return 1; }
    split sp;
    if (make_split(&d, mode, frac, lastn, (uint64_t)P.seed, &sp)) { log_error("out of memory"); data_free(&d); return 1; }
    rec_train t;
    if (train_build(&t, d.users.n, d.items.n, sp.ntrain, sp.tu, sp.ti, sp.tw, sp.tt)) {
        log_error("out of memory"); split_free(&sp); data_free(&d); return 1;
    }
    size_t nheld = sp.hoff[d.users.n];
    printf("# %u users, %u items, %zu interactions; split %s seed %lld: %zu train, %zu held out; k=%lld\n",
           d.users.n, d.items.n, d.n, split_arg, (long long)P.seed, sp.ntrain, nheld, (long long)kk);
    printf("| model | NDCG@%lld | P@%lld | R@%lld | MAP@%lld | HR@%lld | coverage | fit s |\n",
           (long long)kk, (long long)kk, (long long)kk, (long long)kk, (long long)kk);
    printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    fflush(stdout);
    int rc = 0;
    int nt = (int)(P.threads < 1 ? 1 : P.threads > 64 ? 64 : P.threads);
    for (int a = 0; a < nalg; a++) {
        double t0 = now_s();
        rec_model *m = train_model(&d, &t, (rec_alg)algs[a], &P, NULL, err, sizeof err);
        double fit = now_s() - t0;
        if (!m) { log_error("%s: training failed: %s", rec_alg_names[algs[a]], err); rc = 1; continue; }
        if (eval_print(m, &t, &sp, d.users.n, nt, rec_alg_names[algs[a]], fit)) rc = 1;
        if (algs[a] == ALG_HYBRID && sweep_arg) {
            char *buf = strdup(sweep_arg);   /* any length: strtok_r cuts it in place */
            if (!buf) { log_error("--sweep: out of memory"); rc = 1; }
            char *save = NULL;
            for (char *w = buf ? strtok_r(buf, ";", &save) : NULL; w; w = strtok_r(NULL, ";", &save)) {
                float ws[ALG_COUNT];
                if (train_parse_weights(w, ws, err, sizeof err)) { log_error("--sweep: %s", err); rc = 1; break; }
                memcpy(m->w, ws, sizeof ws);
                char name[256];
                snprintf(name, sizeof name, "hybrid %s", w);
                if (eval_print(m, &t, &sp, d.users.n, nt, name, 0)) rc = 1;
            }
            free(buf);
        }
        model_free(m);
    }
    train_free(&t);
    split_free(&sp);
    data_free(&d);
    return rc;
}
