/* eval.c — `recommender eval`: offline evaluation of the models.
 *
 * Split, per user (users with a single interaction stay whole in training):
 *   random:F  hold out round(F * n) of the user's n interactions, at least
 *             1 and at most n - 1, chosen uniformly with a generator seeded by
 *             --seed (splitmix64, documented step by step in README.md
 *             "The split" so that it can be reproduced outside);
 *   last:N    hold out the user's N latest (by time; at most n - 1).
 * Each model is trained on the training part only (or read with --model);
 * the lists come from the serving engine (serve.c) fed the training part
 * as events, with serving's --max-history and --rules, so eval measures
 * what serving writes; the top k are compared with the held-out set
 * (binary relevance) by eval_user_metrics(); the table gives the means over
 * those users, and coverage = distinct items recommended / catalogue size. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "eval.h"
#include "log.h"
#include "modelfile.h"
#include "serve.h"
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

static int64_t kk, ev_max_history;
static const char *ev_rules;

static int write_split(const char *path, const rec_data *d, const split *sp)
{
    FILE *f = fopen(path, "w");
    if (!f) { log_error("--write-split %s: %s", path, strerror(errno)); return -1; }
    for (uint32_t u = 0; u < d->users.n; u++)
        for (uint32_t k = sp->hoff[u]; k < sp->hoff[u + 1]; k++)
            fprintf(f, "%s\t%s\n", d->users.ids[u], d->items.ids[sp->hitem[k]]);
    if (fclose(f)) { log_error("--write-split %s: %s", path, strerror(errno)); return -1; }
    return 0;
}

/* ---- lists through the serving path --------------------------------------- */

typedef struct {
    const rec_data *d;
    const split *sp;
    const uint32_t *users;    /* the batch being emitted */
    size_t at;
    uint32_t *top;            /* k */
    double sum[5]; size_t nusers;
    uint8_t *rec_items;       /* n_items of d */
} sv_ctx;

static int sv_emit(void *vc, const Recommendation *rec)
{
    sv_ctx *c = vc;
    uint32_t u = c->users[c->at++];
    size_t got = 0;
    for (uint32_t j = 0; j < rec->items_count && got < (size_t)kk; j++) {
        int64_t i = idmap_get(&c->d->items, rec->items[j].item_id.ptr, rec->items[j].item_id.len);
        /* an item of a --model file that the events never name: a miss */
        c->top[got++] = i < 0 ? UINT32_MAX : (uint32_t)i;
        if (i >= 0) c->rec_items[i] = 1;
    }
    uint32_t h0 = c->sp->hoff[u], h1 = c->sp->hoff[u + 1];
    eval_metrics em;
    eval_user_metrics(c->top, got, (size_t)kk, c->sp->hitem + h0, h1 - h0, &em);
    c->sum[0] += em.ndcg; c->sum[1] += em.precision; c->sum[2] += em.recall;
    c->sum[3] += em.map; c->sum[4] += em.hit;
    c->nusers++;
    return 0;
}

static const rec_train *ts_cmp_t;
static int by_ts(const void *a, const void *b)
{
    int64_t x = ts_cmp_t->R.ts[*(const uint32_t *)a], y = ts_cmp_t->R.ts[*(const uint32_t *)b];
    if (x != y) return x < y ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : (*(const uint32_t *)a > *(const uint32_t *)b);
}

/* The serving engine around m: every training interaction goes in as an
 * Event (type rating, value = the interaction's weight, so event_weight()
 * gives that weight back; per user in time order, so --max-history keeps
 * the newest as in serving), then one --users batch of every user with
 * held-out items. The lists are exactly what `recommender --users` would
 * write with this model, these histories, --max-history and --rules. */
static int eval_serve(rec_model *m, const rec_data *d, const rec_train *t, const split *sp, int nt,
                      const char *name, double fit)
{
    serve_conf conf = { 0 };
    conf.rules_path = ev_rules;
    conf.top = (uint32_t)kk;
    conf.limits = (hist_limits){ d->users.n + 1, (uint32_t)ev_max_history, d->items.n + 1 };
    conf.threads = (uint32_t)nt;
    conf.no_model_history = 1;           /* the training part is fed below, as events */
    char err[512];
    int usage;
    serve *sv = serve_new_model(&conf, m, err, sizeof err, &usage);
    if (!sv) { log_error("%s", err); return -1; }
    int rc = 0;
    uint32_t *order = malloc(((size_t)t->nnz + 1) * sizeof *order);
    uint32_t *users = malloc(((size_t)d->users.n + 1) * sizeof *users);
    const char **ids = malloc(((size_t)d->users.n + 1) * sizeof *ids);
    size_t *lens = malloc(((size_t)d->users.n + 1) * sizeof *lens);
    sv_ctx c = { .d = d, .sp = sp };
    c.top = malloc(((size_t)kk + 1) * sizeof *c.top);
    c.rec_items = calloc((size_t)d->items.n + 1, 1);
    if (!order || !users || !ids || !lens || !c.top || !c.rec_items) { log_error("out of memory"); rc = -1; goto out; }
    ts_cmp_t = t;
    size_t nu = 0;
    for (uint32_t u = 0; u < t->n_users; u++) {
        uint32_t a = t->R.off[u], b = t->R.off[u + 1];
        for (uint32_t e = a; e < b; e++) order[e - a] = e;
        qsort(order, b - a, sizeof *order, by_ts);
        const char *uid = d->users.ids[u];
        for (uint32_t q = 0; q < b - a; q++) {
            uint32_t e = order[q];
            const char *iid = d->items.ids[t->R.idx[e]];
            Event ev;
            Event_init(&ev);
            ev.user_id = FB_STR(uid);
            ev.item_id = FB_STR(iid);
            ev.type = EventType_rating;
            ev.value = t->R.val[e];
            ev.ts = t->R.ts[e] * 1000000;
            const char *why;
            if (serve_event(sv, &ev, &why) < 0) { log_error("eval: %s", why); rc = -1; goto out; }
        }
        if (sp->hoff[u] == sp->hoff[u + 1]) continue;
        users[nu] = u;
        ids[nu] = uid;
        lens[nu] = strlen(uid);
        nu++;
    }
    serve_forget_pending(sv);
    c.users = users;
    if (serve_users(sv, ids, lens, nu, sv_emit, &c)) { rc = -1; goto out; }
    size_t covered = 0;
    uint32_t n = model_n_items(m);
    for (uint32_t i = 0; i < d->items.n; i++) covered += c.rec_items[i];
    double du = c.nusers ? (double)c.nusers : 1;
    printf("| %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.2f |\n", name,
           c.sum[0] / du, c.sum[1] / du, c.sum[2] / du, c.sum[3] / du, c.sum[4] / du,
           n ? (double)covered / n : 0, fit);
    fflush(stdout);
out:
    serve_free(sv);
    free(order); free(users); free(ids); free(lens); free(c.top); free(c.rec_items);
    return rc;
}

static cli_common common;
static train_params P;
static const char *models_arg, *split_arg, *items_path, *item_map, *sweep_arg, *split_out, *model_path;

/* --models: each comma-separated name an algorithm (in order, repeats allowed) */
static int models_check(const char *v, char *why, size_t n)
{
    for (const char *s = v;;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(len < 31 ? len : 31), s);
        if (rec_alg_parse(name) < 0) {
            snprintf(why, n, "'%s' is not one of pop, knn, als, ease, content, uknn, hybrid", name);
            return -1;
        }
        if (!e) return 0;
        s = e + 1;
    }
}

static const cli_opt opts[] = {
    { "models", 0, CLI_STR, &models_arg, "pop,knn,als,ease,content,hybrid", "NAME,...", "models to evaluate, in table order", 0, 0,
      .check = models_check },
    { "split", 0, CLI_STR, &split_arg, "random:0.2", "random:F|last:N", "per user: hold out a random fraction F, or the N latest", 0, 0 },
    { "k", 'k', CLI_INT, &kk, "10", "N", "list length of the metrics", 1, 10000 },
    { "items", 0, CLI_STR, &items_path, NULL, "CSV", "item metadata (for the content model)", 0, 0 },
    { "item-map", 0, CLI_STR, &item_map, "id=movieId,categories=genres,text=title", "KEY=COL,...", "columns of --items", 0, 0 },
    { "max-history", 0, CLI_INT, &ev_max_history, "200", "N",
      "as in serving: interactions per user the lists are scored from (the newest); the seen filter covers all", 1, 100000 },
    { "rules", 'r', CLI_STR, &ev_rules, NULL, "RULES.yaml", "as in serving: business rules applied to the lists (default: seen items filtered)", 0, 0 },
    { "model", 'm', CLI_STR, &model_path, NULL, "MODEL.db",
      "evaluate this model file (trained elsewhere, e.g. on the --write-split training part) instead of --models", 0, 0 },
    { "write-split", 0, CLI_STR, &split_out, NULL, "FILE",
      "write the held-out interactions, one \"user_id<TAB>item_id\" line each (to check the split from outside)", 0, 0 },
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
            int a = rec_alg_parse(name);     /* a known name: models_check */
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
    if (split_out && write_split(split_out, &d, &sp)) { split_free(&sp); data_free(&d); return 1; }
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
    if (model_path) {
        rec_model *m = model_load(model_path, err, sizeof err);
        if (!m) { log_error("--model %s: %s", model_path, err); rc = 1; nalg = 0; }
        else {
            char name[300];
            snprintf(name, sizeof name, "%s (%s)", model_path, model_algorithm(m));
            if (eval_serve(m, &d, &t, &sp, nt, name, 0)) rc = 1;
            model_free(m);
            nalg = 0;
        }
    }
    for (int a = 0; a < nalg; a++) {
        double t0 = now_s();
        rec_model *m = train_model(&d, &t, (rec_alg)algs[a], &P, NULL, err, sizeof err);
        double fit = now_s() - t0;
        if (!m) { log_error("%s: training failed: %s", rec_alg_names[algs[a]], err); rc = 1; continue; }
        if (eval_serve(m, &d, &t, &sp, nt, rec_alg_names[algs[a]], fit)) rc = 1;
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
                if (eval_serve(m, &d, &t, &sp, nt, name, 0)) rc = 1;
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
