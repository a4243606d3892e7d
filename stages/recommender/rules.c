/* rules.c — business rules: the YAML file, binding to a model's catalogue,
 * and the per-user ranking (rules.h has the file format and the order).
 *
 * Ranking one list costs one pass over the catalogue: the few items with an
 * item-level boost are offered first to a bounded min-heap of `pool`
 * candidates (or N without pool rules), then every other score; blocks of
 * 16 scores below the heap's worst are skipped with one vectorisable test,
 * so the catalogue is never sorted and most of it costs a compare. The pool then gets the per-user category
 * boost, a small sort, and the diversity walk. */
#include "rules.h"
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fbrec.h"
#include "hash.h"
#include "yamlcfg.h"

enum { B_PROMO = 1, B_NEW = 2, B_CAT = 4 };

struct rules {
    rules_config cfg;
    int loaded;                   /* cfg came from yamlcfg (yc_free it) */
    char **blocked; size_t nblocked;
    char **oos; size_t noos;
    char **promo; size_t npromo;
};

/* ---- the file ---- */

#define OFF(t, m) offsetof(t, m)

static const yc_field switch_fields[] = {
    { .key = "enabled", .type = YC_BOOL, .offset = OFF(rules_switch, enabled), .line_offset = OFF(rules_switch, enabled_line) },
};
static const yc_struct switch_st = { "filter rule", switch_fields, 1, sizeof(rules_switch) };

static const yc_field itemset_fields[] = {
    { .key = "enabled", .type = YC_BOOL, .offset = OFF(rules_itemset, enabled), .line_offset = OFF(rules_itemset, enabled_line) },
    { .key = "items", .type = YC_STR_LIST, .offset = OFF(rules_itemset, items), .count_offset = OFF(rules_itemset, nitems) },
    { .key = "file", .type = YC_STR, .offset = OFF(rules_itemset, file), .line_offset = OFF(rules_itemset, file_line) },
};
static const yc_struct itemset_st = { "item filter", itemset_fields, 3, sizeof(rules_itemset) };

#define BOOST_COMMON \
    { .key = "enabled", .type = YC_BOOL, .offset = OFF(rules_boost, enabled), .line_offset = OFF(rules_boost, enabled_line) }, \
    { .key = "priority", .type = YC_INT, .offset = OFF(rules_boost, priority), .min = 1, .max = 1000 }, \
    { .key = "factor", .type = YC_DOUBLE, .offset = OFF(rules_boost, factor), .required = 1, .min = 0.001, .max = 1000 }
static const yc_field promo_fields[] = {
    BOOST_COMMON,
    { .key = "items", .type = YC_STR_LIST, .offset = OFF(rules_boost, items), .count_offset = OFF(rules_boost, nitems) },
    { .key = "file", .type = YC_STR, .offset = OFF(rules_boost, file), .line_offset = OFF(rules_boost, file_line) },
};
static const yc_struct promo_st = { "boost promoted", promo_fields, 5, sizeof(rules_boost) };
static const yc_field new_fields[] = {
    BOOST_COMMON,
    { .key = "days", .type = YC_INT, .offset = OFF(rules_boost, days), .min = 1, .max = 36500 },
};
static const yc_struct new_st = { "boost new_items", new_fields, 4, sizeof(rules_boost) };
static const yc_field cat_fields[] = {
    BOOST_COMMON,
    { .key = "top", .type = YC_INT, .offset = OFF(rules_boost, top), .min = 1, .max = 100 },
};
static const yc_struct cat_st = { "boost favourite_categories", cat_fields, 4, sizeof(rules_boost) };

static const yc_field filter_fields[] = {
    { .key = "seen", .type = YC_STRUCT, .offset = OFF(rules_filter, seen), .sub = &switch_st,
      .line_offset = OFF(rules_filter, seen) + OFF(rules_switch, line) },
    { .key = "already_purchased", .type = YC_STRUCT, .offset = OFF(rules_filter, already_purchased), .sub = &switch_st,
      .line_offset = OFF(rules_filter, already_purchased) + OFF(rules_switch, line) },
    { .key = "blocked", .type = YC_STRUCT, .offset = OFF(rules_filter, blocked), .sub = &itemset_st,
      .line_offset = OFF(rules_filter, blocked) + OFF(rules_itemset, line) },
    { .key = "out_of_stock", .type = YC_STRUCT, .offset = OFF(rules_filter, out_of_stock), .sub = &itemset_st,
      .line_offset = OFF(rules_filter, out_of_stock) + OFF(rules_itemset, line) },
};
static const yc_struct filter_st = { "filter", filter_fields, 4, sizeof(rules_filter) };

static const yc_field boost_fields[] = {
    { .key = "stack", .type = YC_BOOL, .offset = OFF(rules_boosts, stack) },
    { .key = "max_factor", .type = YC_DOUBLE, .offset = OFF(rules_boosts, max_factor), .min = 1, .max = 1e6 },
    { .key = "promoted", .type = YC_STRUCT, .offset = OFF(rules_boosts, promoted), .sub = &promo_st,
      .line_offset = OFF(rules_boosts, promoted) + OFF(rules_boost, line) },
    { .key = "new_items", .type = YC_STRUCT, .offset = OFF(rules_boosts, new_items), .sub = &new_st,
      .line_offset = OFF(rules_boosts, new_items) + OFF(rules_boost, line) },
    { .key = "favourite_categories", .type = YC_STRUCT, .offset = OFF(rules_boosts, favourite_categories), .sub = &cat_st,
      .line_offset = OFF(rules_boosts, favourite_categories) + OFF(rules_boost, line) },
};
static const yc_struct boost_st = { "boost", boost_fields, 5, sizeof(rules_boosts) };

static const yc_field div_fields[] = {
    { .key = "enabled", .type = YC_BOOL, .offset = OFF(rules_diversity, enabled), .line_offset = OFF(rules_diversity, enabled_line) },
    { .key = "max_per_category", .type = YC_INT, .offset = OFF(rules_diversity, max_per_category), .required = 1, .min = 1, .max = 1000 },
    { .key = "pool", .type = YC_INT, .offset = OFF(rules_diversity, pool), .min = 1, .max = 100000 },
};
static const yc_struct div_st = { "diversity", div_fields, 3, sizeof(rules_diversity) };

static const yc_field root_fields[] = {
    { .key = "filter", .type = YC_STRUCT, .offset = OFF(rules_config, filter), .sub = &filter_st },
    { .key = "boost", .type = YC_STRUCT, .offset = OFF(rules_config, boost), .sub = &boost_st },
    { .key = "diversity", .type = YC_STRUCT, .offset = OFF(rules_config, diversity), .sub = &div_st,
      .line_offset = OFF(rules_config, diversity) + OFF(rules_diversity, line) },
};
static const yc_struct root_st = { "rules", root_fields, 3, sizeof(rules_config) };

/* A rule written in the file and not switched off. */
static int on(int line, int enabled_line, int enabled) { return line && (!enabled_line || enabled); }

static int list_add(char ***v, size_t *n, const char *s, size_t len)
{
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) return -1;
    *v = nv;
    if (!(nv[*n] = strndup(s, len))) return -1;
    (*n)++;
    return 0;
}

/* Inline items plus the lines of file (relative to dir). 0 or -1 with err. */
static int load_items(const char *name, const char *dir, const char *what, char **items, int nitems,
                      const char *file, int file_line, char ***out, size_t *nout, char *err, size_t errlen)
{
    for (int i = 0; i < nitems; i++)
        if (list_add(out, nout, items[i], strlen(items[i]))) goto oom;
    if (!file) return 0;
    char path[4096];
    if (file[0] == '/' || !dir) snprintf(path, sizeof path, "%s", file);
    else snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s:%d: %s.file: cannot read '%s': %s", name, file_line, what, path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t k;
    while ((k = getline(&line, &cap, f)) >= 0) {
        char *s = line, *e = line + k;
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
        if (s == e || *s == '#') continue;
        if (list_add(out, nout, s, (size_t)(e - s))) { free(line); fclose(f); goto oom; }
    }
    free(line);
    fclose(f);
    return 0;
oom:
    snprintf(err, errlen, "%s: out of memory", name);
    return -1;
}

static rules *rules_finish(rules *r, const char *name, const char *dir, char *err, size_t errlen)
{
    rules_config *c = &r->cfg;
    rules_itemset *b = &c->filter.blocked, *o = &c->filter.out_of_stock;
    rules_boost *p = &c->boost.promoted;
    if (load_items(name, dir, "blocked", b->items, b->nitems, b->file, b->file_line, &r->blocked, &r->nblocked, err, errlen) ||
        load_items(name, dir, "out_of_stock", o->items, o->nitems, o->file, o->file_line, &r->oos, &r->noos, err, errlen) ||
        load_items(name, dir, "promoted", p->items, p->nitems, p->file, p->file_line, &r->promo, &r->npromo, err, errlen)) {
        rules_free(r);
        return NULL;
    }
    if (!c->boost.new_items.days) c->boost.new_items.days = 30;
    if (!c->boost.favourite_categories.top) c->boost.favourite_categories.top = 3;
    if (!c->boost.promoted.priority) c->boost.promoted.priority = 1;
    if (!c->boost.new_items.priority) c->boost.new_items.priority = 2;
    if (!c->boost.favourite_categories.priority) c->boost.favourite_categories.priority = 3;
    return r;
}

rules *rules_load_string(const char *name, const char *text, char *err, size_t errlen)
{
    rules *r = calloc(1, sizeof *r);
    if (!r) { snprintf(err, errlen, "%s: out of memory", name); return NULL; }
    if (yc_load_string(name, text, strlen(text), &root_st, &r->cfg, err, errlen)) { free(r); return NULL; }
    r->loaded = 1;
    return rules_finish(r, name, NULL, err, errlen);
}

rules *rules_load(const char *path, char *err, size_t errlen)
{
    rules *r = calloc(1, sizeof *r);
    if (!r) { snprintf(err, errlen, "%s: out of memory", path); return NULL; }
    if (yc_load(path, &root_st, &r->cfg, err, errlen)) { free(r); return NULL; }
    r->loaded = 1;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    return rules_finish(r, path, slash ? dir : NULL, err, errlen);
}

rules *rules_default(void)
{
    rules *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    char err[8];
    return rules_finish(r, "", NULL, err, sizeof err);
}

static void list_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

void rules_free(rules *r)
{
    if (!r) return;
    if (r->loaded) yc_free(&root_st, &r->cfg);
    list_free(r->blocked, r->nblocked);
    list_free(r->oos, r->noos);
    list_free(r->promo, r->npromo);
    free(r);
}

/* Which rules are active. */
static int r_seen(const rules *r)
{ const rules_switch *s = &r->cfg.filter.seen; return !(s->line && s->enabled_line && !s->enabled); }
static int r_purchased(const rules *r)
{ const rules_switch *s = &r->cfg.filter.already_purchased; return on(s->line, s->enabled_line, s->enabled); }
static int r_itemset(const rules_itemset *s) { return on(s->line, s->enabled_line, s->enabled); }
static int r_boost(const rules_boost *b) { return on(b->line, b->enabled_line, b->enabled); }
static int r_div(const rules *r)
{ const rules_diversity *d = &r->cfg.diversity; return on(d->line, d->enabled_line, d->enabled); }

size_t rules_describe(const rules *r, char *buf, size_t n)
{
    size_t k = 0;
    const rules_config *c = &r->cfg;
#define APP(...) do { if (k < n) k += (size_t)snprintf(buf + k, n - k, __VA_ARGS__); } while (0)
    if (n) buf[0] = 0;
    if (r_seen(r)) APP("filter seen; ");
    if (r_purchased(r)) APP("filter already_purchased; ");
    if (r_itemset(&c->filter.blocked)) APP("filter blocked (%zu items); ", r->nblocked);
    if (r_itemset(&c->filter.out_of_stock)) APP("filter out_of_stock (%zu items); ", r->noos);
    if (r_boost(&c->boost.promoted))
        APP("boost promoted x%g (priority %lld, %zu items); ", c->boost.promoted.factor,
            (long long)c->boost.promoted.priority, r->npromo);
    if (r_boost(&c->boost.new_items))
        APP("boost new_items x%g (priority %lld, %lld days); ", c->boost.new_items.factor,
            (long long)c->boost.new_items.priority, (long long)c->boost.new_items.days);
    if (r_boost(&c->boost.favourite_categories))
        APP("boost favourite_categories x%g (priority %lld, top %lld); ", c->boost.favourite_categories.factor,
            (long long)c->boost.favourite_categories.priority, (long long)c->boost.favourite_categories.top);
    if (c->boost.stack) APP("boosts stack (max x%g); ", c->boost.max_factor > 0 ? c->boost.max_factor : INFINITY);
    if (r_div(r)) APP("diversity max %lld per category; ", (long long)c->diversity.max_per_category);
#undef APP
    if (k >= 2 && k < n) buf[k -= 2] = 0;
    return k;
}

/* ---- binding to a catalogue ---- */

struct rules_bound {
    uint32_t n;
    int seen, purchased, catboost, diversity;
    uint32_t cat_top, max_per_cat, pool_min;
    uint32_t *excl; size_t nexcl;
    uint8_t *sbits;               /* B_PROMO | B_NEW per item */
    uint32_t *sidx; size_t nsidx; /* the items with sbits, ascending */
    uint32_t *cat_off, *cat_ids;  /* CSR: item -> category ids */
    uint32_t ncat;
    float factor[8], ifactor[8];  /* by B_* mask; ifactor = 1 / factor */
    uint32_t unknown;
};

typedef struct cat_tab { char **names; uint32_t n, cap; uint32_t *tab; uint32_t mask; } cat_tab;

static int64_t cat_intern(cat_tab *t, const char *s, size_t n)
{
    if ((t->n + 1) * 2 > t->mask + 1) {
        uint32_t size = t->mask ? (t->mask + 1) * 2 : 64;
        uint32_t *nt = calloc(size, sizeof *nt);
        if (!nt) return -1;
        for (uint32_t i = 0; i < t->n; i++) {
            uint32_t j = (uint32_t)hash_table(t->names[i], strlen(t->names[i])) & (size - 1);
            while (nt[j]) j = (j + 1) & (size - 1);
            nt[j] = i + 1;
        }
        free(t->tab);
        t->tab = nt;
        t->mask = size - 1;
    }
    uint32_t j = (uint32_t)hash_table(s, n) & t->mask;
    while (t->tab[j]) {
        const char *c = t->names[t->tab[j] - 1];
        if (strlen(c) == n && !memcmp(c, s, n)) return t->tab[j] - 1;
        j = (j + 1) & t->mask;
    }
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 64;
        char **nn = realloc(t->names, cap * sizeof *nn);
        if (!nn) return -1;
        t->names = nn;
        t->cap = cap;
    }
    if (!(t->names[t->n] = strndup(s, n))) return -1;
    t->tab[j] = t->n + 1;
    return t->n++;
}

static void cat_tab_free(cat_tab *t)
{
    for (uint32_t i = 0; i < t->n; i++) free(t->names[i]);
    free(t->names);
    free(t->tab);
}

/* Split "A|B|C" (spaces trimmed, empty parts skipped) into category ids. */
static int bind_categories(rules_bound *b, const rules_catalog *c)
{
    cat_tab t = {0};
    size_t cap = (size_t)b->n * 2 + 16, n = 0;
    b->cat_off = malloc(((size_t)b->n + 1) * sizeof *b->cat_off);
    b->cat_ids = malloc(cap * sizeof *b->cat_ids);
    if (!b->cat_off || !b->cat_ids) goto fail;
    for (uint32_t i = 0; i < b->n; i++) {
        b->cat_off[i] = (uint32_t)n;
        const char *s = c->categories ? c->categories(c->ctx, i) : NULL;
        while (s && *s) {
            const char *e = strchr(s, '|');
            if (!e) e = s + strlen(s);
            const char *a = s, *z = e;
            while (a < z && (*a == ' ' || *a == '\t')) a++;
            while (z > a && (z[-1] == ' ' || z[-1] == '\t')) z--;
            if (z > a) {
                int64_t id = cat_intern(&t, a, (size_t)(z - a));
                if (id < 0) goto fail;
                int dup = 0;
                for (size_t k = b->cat_off[i]; k < n; k++) if (b->cat_ids[k] == (uint32_t)id) dup = 1;
                if (!dup) {
                    if (n == cap) {
                        uint32_t *ni = realloc(b->cat_ids, cap * 2 * sizeof *ni);
                        if (!ni) goto fail;
                        b->cat_ids = ni;
                        cap *= 2;
                    }
                    b->cat_ids[n++] = (uint32_t)id;
                }
            }
            s = *e ? e + 1 : e;
        }
    }
    b->cat_off[b->n] = (uint32_t)n;
    b->ncat = t.n;
    cat_tab_free(&t);
    return 0;
fail:
    cat_tab_free(&t);
    return -1;
}

static int bind_set(rules_bound *b, const rules_catalog *c, char **ids, size_t n, uint32_t **out, size_t *nout,
                    uint8_t bit)
{
    for (size_t i = 0; i < n; i++) {
        int64_t idx = c->index(c->ctx, ids[i], strlen(ids[i]));
        if (idx < 0 || (uint64_t)idx >= b->n) { b->unknown++; continue; }
        if (bit) { b->sbits[idx] |= bit; continue; }
        uint32_t *ne = realloc(*out, (*nout + 1) * sizeof *ne);
        if (!ne) return -1;
        *out = ne;
        ne[(*nout)++] = (uint32_t)idx;
    }
    return 0;
}

rules_bound *rules_bind(const rules *r, const rules_catalog *c, int64_t now_s)
{
    rules_bound *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    const rules_config *cf = &r->cfg;
    b->n = c->n_items;
    b->seen = r_seen(r);
    b->purchased = r_purchased(r);
    b->catboost = r_boost(&cf->boost.favourite_categories);
    b->diversity = r_div(r);
    b->cat_top = (uint32_t)cf->boost.favourite_categories.top;
    b->max_per_cat = (uint32_t)cf->diversity.max_per_category;
    b->pool_min = (uint32_t)cf->diversity.pool;
    b->sbits = calloc((size_t)b->n + 1, 1);
    if (!b->sbits) goto fail;
    if (r_itemset(&cf->filter.blocked) && bind_set(b, c, r->blocked, r->nblocked, &b->excl, &b->nexcl, 0)) goto fail;
    if (r_itemset(&cf->filter.out_of_stock) && bind_set(b, c, r->oos, r->noos, &b->excl, &b->nexcl, 0)) goto fail;
    if (r_boost(&cf->boost.promoted) && bind_set(b, c, r->promo, r->npromo, NULL, NULL, B_PROMO)) goto fail;
    if (r_boost(&cf->boost.new_items) && c->first_seen) {
        int64_t horizon = now_s - cf->boost.new_items.days * 86400;
        for (uint32_t i = 0; i < b->n; i++) {
            int64_t fs = c->first_seen(c->ctx, i);
            if (fs > 0 && fs >= horizon) b->sbits[i] |= B_NEW;
        }
    }
    if ((b->catboost || b->diversity) && bind_categories(b, c)) goto fail;
    if (!b->ncat) b->catboost = b->diversity = 0;     /* a catalogue without categories: nothing to do */
    for (uint32_t i = 0; i < b->n; i++) if (b->sbits[i]) b->nsidx++;
    if (b->nsidx && !(b->sidx = malloc(b->nsidx * sizeof *b->sidx))) goto fail;
    b->nsidx = 0;
    for (uint32_t i = 0; i < b->n; i++) if (b->sbits[i]) b->sidx[b->nsidx++] = i;
    /* factor by mask: the highest-priority rule, or the capped product */
    const rules_boost *rb[3] = { &cf->boost.promoted, &cf->boost.new_items, &cf->boost.favourite_categories };
    for (int m = 0; m < 8; m++) {
        double f = 1;
        int64_t best = INT64_MAX;
        for (int k = 0; k < 3; k++) {
            if (!(m & (1 << k)) || !r_boost(rb[k])) continue;
            if (cf->boost.stack) f *= rb[k]->factor;
            else if (rb[k]->priority < best) { best = rb[k]->priority; f = rb[k]->factor; }
        }
        if (cf->boost.stack && cf->boost.max_factor > 0 && f > cf->boost.max_factor) f = cf->boost.max_factor;
        b->factor[m] = (float)f;
        b->ifactor[m] = (float)(1 / f);
    }
    return b;
fail:
    rules_bound_free(b);
    return NULL;
}

void rules_bound_free(rules_bound *b)
{
    if (!b) return;
    free(b->excl); free(b->sbits); free(b->sidx); free(b->cat_off); free(b->cat_ids);
    free(b);
}

uint32_t rules_bound_unknown_items(const rules_bound *b) { return b->unknown; }
uint32_t rules_bound_n_categories(const rules_bound *b) { return b->ncat; }

/* ---- ranking ---- */

typedef struct cand { float v, raw; uint32_t item; uint8_t bits; } cand;

struct rules_scratch {
    cand *heap; size_t heapcap;
    float *cat_w; uint32_t *touched; uint8_t *fav; uint32_t *used;
    uint32_t ncat;
    float *raw; size_t rawcap;       /* unboosted scores, when many items are boosted */
    rules_counts counts;
};

rules_scratch *rules_scratch_new(const rules_bound *b)
{
    rules_scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->ncat = b->ncat;
    size_t nc = (size_t)b->ncat + 1;
    s->cat_w = calloc(nc, sizeof *s->cat_w);
    s->touched = calloc(nc, sizeof *s->touched);
    s->fav = calloc(nc, 1);
    s->used = calloc(nc, sizeof *s->used);
    if (!s->cat_w || !s->touched || !s->fav || !s->used) { rules_scratch_free(s); return NULL; }
    return s;
}

void rules_scratch_free(rules_scratch *s)
{
    if (!s) return;
    free(s->heap); free(s->raw); free(s->cat_w); free(s->touched); free(s->fav); free(s->used);
    free(s);
}

const rules_counts *rules_scratch_counts(const rules_scratch *s) { return &s->counts; }

/* A boost raises an item whatever its sign: times f when positive, times
 * 1/f when negative (branch-free select; NaN and -inf stay). */
static inline float boosted(const rules_bound *b, float v, unsigned bits)
{ return v * (v >= 0 ? b->factor[bits] : b->ifactor[bits]); }

/* Does any of p[0..16) reach thr? Four 4-wide compares (GCC/Clang vector
 * extensions: SSE on x86-64, NEON on arm64); NaN never does. */
typedef float rules_v4f __attribute__((vector_size(16)));
typedef int32_t rules_v4i __attribute__((vector_size(16)));
static inline int block_reaches(const float *p, float thr)
{
    rules_v4f t = { thr, thr, thr, thr }, a, b, c, d;
    memcpy(&a, p, 16); memcpy(&b, p + 4, 16); memcpy(&c, p + 8, 16); memcpy(&d, p + 12, 16);
    rules_v4i m = (a >= t) | (b >= t) | (c >= t) | (d >= t);
    return (m[0] | m[1] | m[2] | m[3]) != 0;
}

/* a ranks below b: lower value, or equal value and higher index */
static inline int worse(const cand *a, const cand *b)
{ return a->v < b->v || (a->v == b->v && a->item > b->item); }

static void sift_down(cand *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(&h[l], &h[m])) m = l;
        if (r < n && worse(&h[r], &h[m])) m = r;
        if (m == i) return;
        cand t = h[i]; h[i] = h[m]; h[m] = t;
        i = m;
    }
}

static void sift_up(cand *h, size_t i)
{
    while (i) {
        size_t p = (i - 1) / 2;
        if (!worse(&h[i], &h[p])) return;
        cand t = h[i]; h[i] = h[p]; h[p] = t;
        i = p;
    }
}

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (worse(x, y)) return 1;
    if (worse(y, x)) return -1;
    return 0;
}

static void drop_items(const rules_bound *b, float *scores, const uint32_t *items, size_t n, rules_scratch *s)
{
    for (size_t i = 0; i < n; i++) {
        if (items[i] >= b->n) continue;
        if (scores[items[i]] != -INFINITY) s->counts.filtered++;
        scores[items[i]] = -INFINITY;
    }
}

size_t rules_rank(const rules_bound *b, float *scores, const rules_hist *h, size_t nh,
                  const rules_user_sets *sets, size_t top, rules_pick *out, rules_scratch *s)
{
    s->counts.lists++;
    if (!top) return 0;
    /* 1. filters */
    for (size_t i = 0; i < nh; i++) {
        if (h[i].item >= b->n) continue;
        if (b->seen || (b->purchased && (h[i].types & (1u << EventType_purchase)))) {
            if (scores[h[i].item] != -INFINITY) s->counts.filtered++;
            scores[h[i].item] = -INFINITY;
        }
    }
    if (sets && b->seen) drop_items(b, scores, sets->seen, sets->nseen, s);
    else if (sets && b->purchased) drop_items(b, scores, sets->bought, sets->nbought, s);
    for (size_t i = 0; i < b->nexcl; i++) {
        if (scores[b->excl[i]] != -INFINITY) s->counts.filtered++;
        scores[b->excl[i]] = -INFINITY;
    }
    /* 2. item-level boosts while offering every item to the heap */
    size_t pool = top;
    if (b->catboost || b->diversity) {
        size_t p = b->pool_min ? b->pool_min : (top * 5 > 100 ? top * 5 : 100);
        if (p > pool) pool = p;
    }
    if (pool > s->heapcap) {
        cand *nh2 = realloc(s->heap, pool * sizeof *nh2);
        if (!nh2) return 0;
        s->heap = nh2;
        s->heapcap = pool;
    }
    cand *heap = s->heap;
    size_t n = 0;
    /* Few boosted items (promotions): offered first with their boosted
     * value, then out of the plain pass. Many (every item is "new" on a
     * young catalogue): boosted in place, unboosted values kept aside. */
    const float *raw = scores;
    int dense = b->nsidx > 64;
    if (dense && b->catboost) {          /* the category boost needs the unboosted score */
        if (b->n > s->rawcap) {
            float *nr = realloc(s->raw, (size_t)b->n * sizeof *nr);
            if (!nr) return 0;
            s->raw = nr;
            s->rawcap = b->n;
        }
        memcpy(s->raw, scores, (size_t)b->n * sizeof *scores);
        raw = s->raw;
    }
    if (dense) {
        for (size_t k = 0; k < b->nsidx; k++) {
            uint32_t it = b->sidx[k];
            scores[it] = boosted(b, scores[it], b->sbits[it]);
        }
    } else {
        for (size_t k = 0; k < b->nsidx; k++) {
            uint32_t it = b->sidx[k];
            float r = scores[it];
            if (!(r > -INFINITY)) continue;                              /* -inf and NaN */
            cand c = { boosted(b, r, b->sbits[it]), r, it, b->sbits[it] };
            scores[it] = -INFINITY;
            if (n < pool) { heap[n] = c; sift_up(heap, n++); }
            else if (worse(&heap[0], &c)) { heap[0] = c; sift_down(heap, n, 0); }
        }
    }
    /* the plain pass: blocks of 16 scores none of which reaches the heap's
     * worst are skipped with one vectorisable test */
    const uint8_t *sb = dense ? b->sbits : NULL;
    for (uint32_t at = 0; at < b->n;) {
        if (n == pool && at + 16 <= b->n && !block_reaches(scores + at, heap[0].v)) { at += 16; continue; }
        uint32_t end = at + 16 < b->n ? at + 16 : b->n;
        for (; at < end; at++) {
            float v = scores[at];
            if (!(v > -INFINITY)) continue;
            cand c = { v, raw[at], at, sb ? sb[at] : 0 };
            if (n < pool) { heap[n] = c; sift_up(heap, n++); }
            else if (worse(&heap[0], &c)) { heap[0] = c; sift_down(heap, n, 0); }
        }
    }
    /* favourite categories of this user, by summed history weight */
    if (b->catboost && n) {
        size_t nt = 0;
        for (size_t i = 0; i < nh; i++) {
            if (h[i].item >= b->n) continue;
            for (uint32_t k = b->cat_off[h[i].item]; k < b->cat_off[h[i].item + 1]; k++) {
                uint32_t c = b->cat_ids[k];
                if (s->cat_w[c] == 0) s->touched[nt++] = c;
                s->cat_w[c] += h[i].weight > 0 ? h[i].weight : 1e-6f;
            }
        }
        for (uint32_t t = 0; t < b->cat_top && t < nt; t++) {
            size_t best = t;
            for (size_t j = t + 1; j < nt; j++) {
                float wj = s->cat_w[s->touched[j]], wb = s->cat_w[s->touched[best]];
                if (wj > wb || (wj == wb && s->touched[j] < s->touched[best])) best = j;
            }
            uint32_t tmp = s->touched[t]; s->touched[t] = s->touched[best]; s->touched[best] = tmp;
            s->fav[s->touched[t]] = 1;
        }
        for (size_t i = 0; i < n; i++) {
            cand *c = &heap[i];
            for (uint32_t k = b->cat_off[c->item]; k < b->cat_off[c->item + 1]; k++)
                if (s->fav[b->cat_ids[k]]) { c->bits |= B_CAT; break; }
            if (c->bits) c->v = boosted(b, c->raw, c->bits);
        }
        for (size_t j = 0; j < nt; j++) { s->cat_w[s->touched[j]] = 0; s->fav[s->touched[j]] = 0; }
    }
    for (size_t i = 0; i < n; i++) if (heap[i].bits) s->counts.boosted++;
    qsort(heap, n, sizeof *heap, cand_cmp);
    /* 3. diversity */
    size_t k = 0;
    if (b->diversity) {
        for (size_t i = 0; i < n && k < top; i++) {
            const cand *c = &heap[i];
            uint32_t a = b->cat_off[c->item], z = b->cat_off[c->item + 1], j;
            for (j = a; j < z; j++) if (s->used[b->cat_ids[j]] >= b->max_per_cat) break;
            if (j < z) { s->counts.diversity_skipped++; continue; }
            for (j = a; j < z; j++) s->used[b->cat_ids[j]]++;
            out[k++] = (rules_pick){ c->item, c->v };
        }
        for (size_t i = 0; i < k; i++)
            for (uint32_t j = b->cat_off[out[i].item]; j < b->cat_off[out[i].item + 1]; j++) s->used[b->cat_ids[j]] = 0;
    } else {
        for (; k < n && k < top; k++) out[k] = (rules_pick){ heap[k].item, heap[k].v };
    }
    if (k < top) s->counts.short_lists++;
    return k;
}
