/* series.c — hash map of series with a bump pool (see series.h). */
#include "series.h"
#include <stdlib.h>
#include <string.h>
#include "hash.h"
#include "log.h"

#define POOL_BLOCK (256 * 1024)

struct agg_pool_blk { agg_pool_blk *next; size_t size; uint8_t data[]; };

static void *pool_alloc(agg_map *m, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (!m->blocks || m->used + size > m->blocks->size) {
        /* the first block of a map is small (most windows hold few series),
         * the next ones grow x4 up to POOL_BLOCK; a block is never smaller
         * than the entry it is made for (a series key may be as long as a
         * record allows: a few MiB) */
        size_t bs = POOL_BLOCK;
        if (!m->blocks) bs = 4096;
        else if (m->blocks->size < POOL_BLOCK / 4) bs = m->blocks->size * 4;
        if (bs < size) bs = size;
        agg_pool_blk *b = malloc(sizeof *b + bs);
        if (!b) log_fatal("aggregate: out of memory (series pool)");
        b->next = m->blocks;
        b->size = bs;
        m->blocks = b;
        m->used = 0;
    }
    void *p = m->blocks->data + m->used;
    m->used += size;
    memset(p, 0, size);
    return p;
}

void agg_map_init(agg_map *m) { memset(m, 0, sizeof *m); }

void agg_map_free(agg_map *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        agg_entry *e = m->slots[i];
        if (e && agg_entry_kind(e) == AGG_K_SAMPLE) agg_sketch_free(&e->u.s.sk);
    }
    free(m->slots);
    free(m->tags);
    while (m->blocks) { agg_pool_blk *n = m->blocks->next; free(m->blocks); m->blocks = n; }
    memset(m, 0, sizeof *m);
}

static inline uint32_t hash_tag(uint64_t hash) { return (uint32_t)(hash >> 32) | 1; }

agg_entry *agg_map_find(const agg_map *m, const uint8_t *key, uint32_t klen, uint64_t hash)
{
    if (!m->cap) return NULL;
    size_t mask = m->cap - 1;
    uint32_t tag = hash_tag(hash);
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        uint32_t t = m->tags[i];
        if (!t) return NULL;
        if (t != tag) continue;
        agg_entry *e = m->slots[i];
        if (e->hash == hash && e->klen == klen && memcmp(e->key, key, klen) == 0) return e;
    }
}

static void map_grow(agg_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    agg_entry **s = calloc(cap, sizeof *s);
    uint32_t *tags = calloc(cap, sizeof *tags);
    if (!s || !tags) log_fatal("aggregate: out of memory (series table)");
    for (size_t i = 0; i < m->cap; i++) {
        agg_entry *e = m->slots[i];
        if (!e) continue;
        size_t j = (size_t)e->hash & (cap - 1);
        while (s[j]) j = (j + 1) & (cap - 1);
        s[j] = e;
        tags[j] = hash_tag(e->hash);
    }
    free(m->slots);
    free(m->tags);
    m->slots = s;
    m->tags = tags;
    m->cap = cap;
}

agg_entry *agg_map_insert(agg_map *m, const uint8_t *key, uint32_t klen, uint64_t hash)
{
    if ((m->n + 1) * 10 > m->cap * 7) map_grow(m);
    agg_entry *e = pool_alloc(m, sizeof *e + klen);
    e->hash = hash;
    e->klen = klen;
    memcpy(e->key, key, klen);
    size_t mask = m->cap - 1, i = (size_t)hash & mask;
    while (m->tags[i]) i = (i + 1) & mask;
    m->slots[i] = e;
    m->tags[i] = hash_tag(hash);
    m->n++;
    return e;
}

static int entry_cmp(const void *a, const void *b)
{
    const agg_entry *x = *(agg_entry *const *)a, *y = *(agg_entry *const *)b;
    uint32_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    return x->klen < y->klen ? -1 : x->klen > y->klen;
}

agg_entry **agg_map_sorted(const agg_map *m)
{
    agg_entry **v = malloc((m->n ? m->n : 1) * sizeof *v);
    if (!v) log_fatal("aggregate: out of memory (sort)");
    size_t k = 0;
    for (size_t i = 0; i < m->cap; i++) if (m->slots[i]) v[k++] = m->slots[i];
    qsort(v, k, sizeof *v, entry_cmp);
    return v;
}

static void key_reserve(agg_key *k, uint32_t n)
{
    if (n <= k->cap) return;
    uint32_t cap = k->cap ? k->cap : 256;
    while (cap < n) cap *= 2;
    uint8_t *p = realloc(k->p, cap);
    if (!p) log_fatal("aggregate: out of memory (key)");
    k->p = p;
    k->cap = cap;
}

void agg_key_reset(agg_key *k, uint8_t kind)
{
    key_reserve(k, 1);
    k->p[0] = kind;
    k->len = 1;
}

void agg_key_str(agg_key *k, const char *s, uint32_t len)
{
    key_reserve(k, k->len + 4 + len);
    uint8_t *d = k->p + k->len;
    d[0] = (uint8_t)len; d[1] = (uint8_t)(len >> 8); d[2] = (uint8_t)(len >> 16); d[3] = (uint8_t)(len >> 24);
    if (len) memcpy(d + 4, s, len);
    k->len += 4 + len;
}

void agg_key_free(agg_key *k) { free(k->p); memset(k, 0, sizeof *k); }

uint64_t agg_key_hash(const uint8_t *p, uint32_t len) { return hash_seeded64(p, len, 0x7365726965); }

int agg_key_next(agg_key_rd *r, const char **s, uint32_t *len)
{
    if (r->end - r->p < 4) return 0;
    uint32_t n = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
    if ((size_t)(r->end - r->p - 4) < n) return 0;
    *s = (const char *)r->p + 4;
    *len = n;
    r->p += 4 + n;
    return 1;
}
