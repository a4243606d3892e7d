/* model.c — rec_model in memory: building one (the trainers), item and
 * training-user lookup, parameters, and freeing it (model.h for the
 * contract, model_impl.h for the layout). Scoring is score.c, the model
 * file modelfile.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dataset.h"
#include "hash.h"
#include "fbrec.h"
#include "model_impl.h"

const char *const rec_alg_names[ALG_COUNT] = { "pop", "knn", "als", "ease", "content", "uknn", "hybrid" };

int rec_alg_parse(const char *s)
{
    for (int i = 0; i < ALG_COUNT; i++)
        if (!strcmp(s, rec_alg_names[i])) return i;
    return -1;
}

float event_weight(int8_t event_type, double value)
{
    switch (event_type) {
    case EventType_view: return 1;
    case EventType_click: return 2;
    case EventType_add_to_cart: return 3;
    case EventType_purchase: return 4;
    case EventType_rating:
        if (!(value > 0)) return 1;     /* missing (0) or NaN: still an interaction */
        return value < 0.5 ? 0.5f : value > 5 ? 5.0f : (float)value;
    case EventType_custom: return 1;
    default: return 0;                  /* impression, exposure, unknown */
    }
}

rec_model *model_new(uint32_t n_items, char **item_ids)
{
    rec_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_items = n_items;
    m->item_ids = item_ids;
    m->cats = calloc(n_items ? n_items : 1, sizeof *m->cats);
    m->first_seen = calloc(n_items ? n_items : 1, sizeof *m->first_seen);
    m->pop = calloc(n_items ? n_items : 1, sizeof *m->pop);
    m->cg_steps = 0;
    snprintf(m->algorithm, sizeof m->algorithm, "hybrid");
    m->alg = ALG_HYBRID;
    if (!m->cats || !m->first_seen || !m->pop) { model_free(m); return NULL; }
    return m;
}

/* The open-addressing table of index+1 over ids[0..n) that id_index
 * looks up (replacing *htab): at most half full, a power of two. 0, or -1
 * out of memory (then no table: *cap 0). Items and the training users. */
static int id_table_build(uint32_t **htab, uint32_t *cap, char *const *ids, uint32_t n)
{
    free(*htab);
    uint32_t c = 16;
    while (c < n * 2u + 16) c <<= 1;
    *htab = calloc(c, sizeof **htab);
    *cap = *htab ? c : 0;
    if (!*htab) return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t s = (uint32_t)hash_table(ids[i], strlen(ids[i])) & (c - 1);
        while ((*htab)[s]) s = (s + 1) & (c - 1);
        (*htab)[s] = i + 1;
    }
    return 0;
}

void model_index_items(rec_model *m)
{
    (void)id_table_build(&m->htab, &m->hcap, m->item_ids, m->n_items);
}

void model_finish_pop(rec_model *m)
{
    m->pop_max = 0;
    for (uint32_t i = 0; i < m->n_items; i++) if (m->pop[i] > m->pop_max) m->pop_max = m->pop[i];
}

void model_set_param(rec_model *m, const char *key, double v)
{
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].key, key)) { m->params[i].val = v; return; }
    model_kv *p = realloc(m->params, (m->n_params + 1) * sizeof *p);
    if (!p) return;
    m->params = p;
    snprintf(p[m->n_params].key, sizeof p[m->n_params].key, "%s", key);
    p[m->n_params++].val = v;
}

double model_param(const rec_model *m, const char *key, double def)
{
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].key, key)) return m->params[i].val;
    return def;
}

void nbr_csr_free(nbr_csr *c)
{
    free(c->off); free(c->nbr); free(c->sim);
    memset(c, 0, sizeof *c);
}

void model_free(rec_model *m)
{
    if (!m) return;
    for (uint32_t i = 0; i < m->n_items; i++) {
        if (m->item_ids) free(m->item_ids[i]);
        if (m->cats) free(m->cats[i]);
    }
    free(m->item_ids); free(m->cats); free(m->first_seen); free(m->pop); free(m->htab);
    nbr_csr_free(&m->knn); nbr_csr_free(&m->cnt);
    free(m->als_Y); free(m->als_YtY); free(m->als_Yt);
    free(m->ease_idx); free(m->ease_pos); free(m->ease_B); free(m->ease_Q);
    free(m->uk_off); free(m->uk_idx); free(m->uk_toff); free(m->uk_tusr);
    if (m->tu_ids) for (uint32_t u = 0; u < m->tu_n; u++) free(m->tu_ids[u]);
    free(m->tu_ids); free(m->tu_off); free(m->tu_item); free(m->tu_w); free(m->tu_ts); free(m->tu_htab);
    free(m->params);
    free(m);
}

const char *model_version(const rec_model *m) { return m->version; }
const char *model_algorithm(const rec_model *m) { return m->algorithm; }
uint32_t model_n_items(const rec_model *m) { return m->n_items; }
const char *model_item_id(const rec_model *m, uint32_t idx) { return idx < m->n_items ? m->item_ids[idx] : NULL; }
const char *model_item_categories(const rec_model *m, uint32_t idx) { return idx < m->n_items ? m->cats[idx] : NULL; }
int64_t model_item_first_seen(const rec_model *m, uint32_t idx) { return idx < m->n_items ? m->first_seen[idx] : 0; }

/* An id's index in ids[] through an open-addressing table of index+1
 * (0 empty, cap a power of two, or 0 for no table); -1 when absent. Items
 * and the training users are both looked up this way. */
static int64_t id_index(const uint32_t *htab, uint32_t cap, char *const *ids, const char *key, size_t len)
{
    if (!cap) return -1;
    uint32_t s = (uint32_t)hash_table(key, len) & (cap - 1);
    for (;;) {
        uint32_t v = htab[s];
        if (!v) return -1;
        const char *id = ids[v - 1];
        if (strlen(id) == len && !memcmp(id, key, len)) return v - 1;
        s = (s + 1) & (cap - 1);
    }
}

int64_t model_item_index(const rec_model *m, const char *item_id, size_t len)
{
    return id_index(m->htab, m->hcap, m->item_ids, item_id, len);
}

/* ---- the training users' interactions ---------------------------------- */

int model_index_users(rec_model *m)
{
    return id_table_build(&m->tu_htab, &m->tu_hcap, m->tu_ids, m->tu_n);
}

int64_t model_user_index(const rec_model *m, const char *user, size_t len)
{
    return id_index(m->tu_htab, m->tu_hcap, m->tu_ids, user, len);
}

uint32_t model_user_interactions(const rec_model *m, uint32_t u, const uint32_t **items,
                                 const float **weights, const int64_t **ts)
{
    if (u >= m->tu_n) return 0;
    uint32_t a = m->tu_off[u];
    *items = m->tu_item + a;
    *weights = m->tu_w + a;
    *ts = m->tu_ts + a;
    return m->tu_off[u + 1] - a;
}

typedef struct { uint32_t item; float w; int64_t ts; } tu_entry;
static int tu_cmp(const void *a, const void *b)
{
    const tu_entry *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

int model_set_user_histories(rec_model *m, const rec_train *t, char *const *ids, uint32_t max_per_user)
{
    const rec_csr *R = &t->R;
    size_t total = 0, longest = 0;
    for (uint32_t u = 0; u < R->rows; u++) {
        size_t n = R->off[u + 1] - R->off[u];
        if (n > longest) longest = n;
        total += n < max_per_user ? n : max_per_user;
    }
    m->tu_ids = calloc(R->rows ? R->rows : 1, sizeof *m->tu_ids);
    m->tu_off = malloc(((size_t)R->rows + 1) * sizeof *m->tu_off);
    m->tu_item = malloc((total ? total : 1) * sizeof *m->tu_item);
    m->tu_w = malloc((total ? total : 1) * sizeof *m->tu_w);
    m->tu_ts = malloc((total ? total : 1) * sizeof *m->tu_ts);
    tu_entry *tmp = malloc((longest ? longest : 1) * sizeof *tmp);
    if (!m->tu_ids || !m->tu_off || !m->tu_item || !m->tu_w || !m->tu_ts || !tmp || total > UINT32_MAX) { free(tmp); return -1; }
    m->tu_n = R->rows;
    size_t o = 0;
    for (uint32_t u = 0; u < R->rows; u++) {
        m->tu_off[u] = (uint32_t)o;
        if (!(m->tu_ids[u] = strdup(ids[u]))) { free(tmp); return -1; }
        size_t n = 0;
        for (uint32_t e = R->off[u]; e < R->off[u + 1]; e++)
            tmp[n++] = (tu_entry){ R->idx[e], R->val[e], R->ts ? R->ts[e] : 0 };
        qsort(tmp, n, sizeof *tmp, tu_cmp);
        size_t from = n > max_per_user ? n - max_per_user : 0;   /* the newest */
        for (size_t k = from; k < n; k++, o++) {
            m->tu_item[o] = tmp[k].item;
            m->tu_w[o] = tmp[k].w;
            m->tu_ts[o] = tmp[k].ts;
        }
    }
    m->tu_off[R->rows] = (uint32_t)o;
    free(tmp);
    return model_index_users(m);
}
