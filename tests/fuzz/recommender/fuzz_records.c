/* fuzz_records.c — the recommender's serving record path on well-formed
 * Events (fzrec.h): every field, user and item ids from empty to 1 MiB
 * (past the 65,535 bytes the --state blob's version 2 could hold), NUL
 * and invalid UTF-8, every event type and out-of-range ones, NaN/inf
 * values, times at +-2^62, against a small hybrid model trained in memory
 * once (its items are fzrec's words, so events hit known items too).
 *
 * Input: a configuration byte (list length, history bounds, per-user EASE
 * sums), then Events.
 * Properties (abort on violation, the sanitizers catch the rest):
 *   - serve_event refuses an Event only for a missing user_id or item_id;
 *   - every Recommendation of serve_flush has at most --top items, each
 *     with an id, and encodes to a record the verifier accepts;
 *   - every user's history saved as the --state blob (hist_encode) reads
 *     back (hist_decode) into a fresh store with the same entries: ids
 *     whole, weights, times and types equal, and the same seen set size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/recommender/serve.h"
#include "../../../stages/recommender/train.h"
#include "../fzrec.h"
#include "log.h"

static rec_model *model;

static void build_model(void)
{
    static rec_data d;
    static rec_train t;
    data_init(&d);
    for (int u = 0; u < 12; u++) {
        char user[16];
        int ul = snprintf(user, sizeof user, "u%d", u);
        for (int k = 0; k < 5; k++) {
            const char *it = fzrec_default_words[(u * 3 + k * 5) % fzrec_nwords];
            if (data_add(&d, user, (size_t)ul, it, strlen(it), 1.0f + (float)k, 1795428000 + u * 60 + k)) abort();
        }
    }
    data_finish(&d);
    train_build(&t, d.users.n, d.items.n, d.n, d.u, d.i, d.w, d.ts);
    train_params p;
    train_params_default(&p);
    p.threads = 1;
    p.als_iters = 2;
    p.ease_min_users = 2;            /* an EASE part, so the per-user sums (--score-cache-mb) are exercised */
    char err[256];
    model = train_model(&d, &t, ALG_HYBRID, &p, NULL, err, sizeof err);
    if (!model) { fprintf(stderr, "fuzz_records: no model: %s\n", err); abort(); }
    /* the training users' newest 3 interactions: events of u0..u11 start from them */
    if (model_set_user_histories(model, &t, d.users.ids, 3)) abort();
}

typedef struct { uint32_t top; fb_builder b; uint64_t lists; } fz_sink;

static int fz_emit(void *ctx, const Recommendation *r)
{
    fz_sink *k = ctx;
    if (r->items_count > k->top) abort();
    for (uint32_t i = 0; i < r->items_count; i++)
        if (!r->items[i].item_id.ptr) abort();
    fbrec_encode(&k->b, &Recommendation_desc, r, 0);
    size_t len;
    const uint8_t *p = fb_data(&k->b, &len);
    char err[200];
    if (fbrec_verify(&Recommendation_desc, p, len, 0, err, sizeof err) != 0) {
        fprintf(stderr, "recommender emitted a Recommendation the verifier refuses: %s\n", err);
        abort();
    }
    k->lists++;
    return 0;
}

/* The slot's history through the --state blob into a fresh store. */
static void check_roundtrip(const hist_store *h, uint32_t slot, const hist_limits *lim)
{
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    if (hist_encode(h, slot, &buf, &len, &cap)) abort();
    hist_store *r = hist_new(lim);
    size_t ulen;
    const char *user = hist_user_id(h, slot, &ulen);
    int64_t s = hist_decode(r, user, ulen, buf, len);
    if (s < 0) { fprintf(stderr, "a saved history does not read back\n"); abort(); }
    uint32_t n, m;
    const hist_item *a = hist_items(h, slot, &n), *b = hist_items(r, (uint32_t)s, &m);
    if (n != m) abort();
    for (uint32_t i = 0; i < n; i++) {
        size_t la, lb;
        const char *ia = hist_gid_str(h, a[i].gid, &la);
        int found = 0;
        for (uint32_t j = 0; j < m && !found; j++) {
            const char *ib = hist_gid_str(r, b[j].gid, &lb);
            if (la == lb && !memcmp(ia, ib, la)) {
                found = 1;
                if (memcmp(&a[i].weight, &b[j].weight, sizeof a[i].weight) || a[i].ts != b[j].ts ||
                    a[i].types != b[j].types) abort();
            }
        }
        if (!found) {
            fprintf(stderr, "an item id of %zu bytes did not come back whole from the --state blob\n", la);
            abort();
        }
    }
    if (hist_seen(h, slot)->n != hist_seen(r, (uint32_t)s)->n) abort();
    if (hist_bought(h, slot)->n != hist_bought(r, (uint32_t)s)->n) abort();
    hist_free(r);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) { log_init("recommender", "error"); build_model(); init = 1; }
    if (size < 1) return 0;
    uint8_t c = data[0];
    fz_in in = fz_in_make(data + 1, size - 1);
    static const uint32_t tops[] = { 1, 3, 10, 100 };
    serve_conf conf = { .top = tops[c & 3], .threads = 1 };
    conf.limits = (c & 4) ? (hist_limits){ 2, 2, 4 } : (hist_limits){ 1000, 50, 10000 };
    /* per-user EASE sums: none, room for one user, or plenty */
    conf.score_cache_bytes = (c & 24) == 8 ? (size_t)model_ease_dim(model) * 4 + 17 : (c & 24) == 16 ? (size_t)1 << 20 : 0;
    char err[256];
    int usage = 0;
    serve *s = serve_new_model(&conf, model, err, sizeof err, &usage);
    if (!s) { fprintf(stderr, "serve_new_model: %s\n", err); abort(); }
    fz_sink k = { .top = conf.top };
    fb_builder_init(&k.b);
    arena a;
    arena_init(&a, 0);
    fb_builder b;
    fb_builder_init(&b);
    for (int i = 0; i < 32 && in.n; i++) {
        const Event *e = fzrec_make(&in, &a, &b, &Event_desc);
        const char *why = NULL;
        int rc = serve_event(s, e, &why);
        int missing = !e->user_id.ptr || !e->user_id.len || !e->item_id.ptr || !e->item_id.len;
        if ((rc < 0) != missing || (rc < 0 && !why)) abort();
        if (fz_u8(&in) % 8 == 0 && serve_flush(s, fz_emit, &k)) abort();
    }
    const hist_store *h = serve_history(s);
    for (uint32_t u = 0; u < hist_n_users(h); u++) check_roundtrip(h, u, &conf.limits);
    if (serve_flush(s, fz_emit, &k) || serve_pending(s)) abort();
    serve_free(s);
    fb_builder_free(&b);
    fb_builder_free(&k.b);
    arena_free(&a);
    return 0;
}
