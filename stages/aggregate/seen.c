/* seen.c — event_ids and sample_ids counted in open windows (see seen.h). */
#include "seen.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hash.h"
#include "log.h"

#define SEEN_MIN_SLOTS 1024
#define SEEN_ID_SEED 0x65766964ULL      /* "evid": the id hash */
#define SEEN_SAMPLE_SEED 0x736d6964ULL  /* "smid": a sample_id's hash */
#define SEEN_CKPT_SEED 0x7365656eULL    /* "seen": the blob checksum */
#define SEEN_MAGIC 0x314e4553u          /* "SEN1" */

typedef struct seen_group {
    int64_t expiry;
    uint64_t *ids;
    uint32_t n, cap;
} seen_group;

struct agg_seen {
    uint64_t max_ids;
    uint64_t *slots;        /* 0: empty; hashes of 0 are stored as 1 */
    uint64_t nslots, count;
    seen_group *groups;     /* ascending expiry */
    size_t ngroups, gcap;
    uint64_t duplicates, untracked;
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) log_fatal("aggregate: out of memory (dedup set, %zu bytes)", n);
    return q;
}

static inline uint64_t norm(uint64_t h) { return h ? h : 1; }

agg_seen *agg_seen_new(uint64_t max_ids)
{
    agg_seen *s = calloc(1, sizeof *s);
    if (!s) log_fatal("aggregate: out of memory");
    s->max_ids = max_ids;
    s->nslots = SEEN_MIN_SLOTS;
    s->slots = calloc(s->nslots, sizeof *s->slots);
    if (!s->slots) log_fatal("aggregate: out of memory");
    return s;
}

void agg_seen_free(agg_seen *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->ngroups; i++) free(s->groups[i].ids);
    free(s->groups);
    free(s->slots);
    free(s);
}

uint64_t agg_seen_hash(const char *id, size_t len) { return hash_seeded64(id, len, SEEN_ID_SEED); }

uint64_t agg_seen_sample_hash(const char *id, size_t len, const char *name, size_t name_len)
{
    return hash_seeded64(name, name_len, hash_seeded64(id, len, SEEN_SAMPLE_SEED));
}

/* The hashes come from hash_seeded64 (finalized): their low bits index. */
static int set_has(const agg_seen *s, uint64_t h)
{
    uint64_t mask = s->nslots - 1;
    for (uint64_t i = h & mask;; i = (i + 1) & mask) {
        if (s->slots[i] == h) return 1;
        if (!s->slots[i]) return 0;
    }
}

static void set_put(uint64_t *slots, uint64_t nslots, uint64_t h)
{
    uint64_t mask = nslots - 1, i = h & mask;
    while (slots[i]) i = (i + 1) & mask;
    slots[i] = h;
}

static void set_resize(agg_seen *s, uint64_t nslots)
{
    uint64_t *ns = calloc(nslots, sizeof *ns);
    if (!ns) log_fatal("aggregate: out of memory (dedup set)");
    for (uint64_t i = 0; i < s->nslots; i++)
        if (s->slots[i]) set_put(ns, nslots, s->slots[i]);
    free(s->slots);
    s->slots = ns;
    s->nslots = nslots;
}

static void set_del(agg_seen *s, uint64_t h)
{
    uint64_t mask = s->nslots - 1, i = h & mask;
    while (s->slots[i] != h) {
        if (!s->slots[i]) return;
        i = (i + 1) & mask;
    }
    /* backward-shift deletion: every probe chain stays unbroken */
    for (uint64_t j = i;;) {
        j = (j + 1) & mask;
        if (!s->slots[j]) break;
        uint64_t home = s->slots[j] & mask;
        int between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) { s->slots[i] = s->slots[j]; i = j; }
    }
    s->slots[i] = 0;
    s->count--;
}

int agg_seen_check(agg_seen *s, uint64_t h)
{
    if (!set_has(s, norm(h))) return 0;
    s->duplicates++;
    return 1;
}

/* The group of expiry, created in order if absent. */
static seen_group *group_of(agg_seen *s, int64_t expiry)
{
    size_t lo = 0, hi = s->ngroups;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->groups[mid].expiry < expiry) lo = mid + 1; else hi = mid;
    }
    if (lo < s->ngroups && s->groups[lo].expiry == expiry) return &s->groups[lo];
    if (s->ngroups == s->gcap) {
        s->gcap = s->gcap ? s->gcap * 2 : 8;
        s->groups = xrealloc(s->groups, s->gcap * sizeof *s->groups);
    }
    memmove(&s->groups[lo + 1], &s->groups[lo], (s->ngroups - lo) * sizeof *s->groups);
    s->ngroups++;
    s->groups[lo] = (seen_group){ .expiry = expiry };
    return &s->groups[lo];
}

void agg_seen_add(agg_seen *s, uint64_t h, int64_t expiry)
{
    h = norm(h);
    if (s->count >= s->max_ids) {
        if (!s->untracked++)
            log_kv(LOG_WARN, "dedup set full: new event ids are not remembered until windows close",
                   "\"max_ids\":%llu", (unsigned long long)s->max_ids);
        return;
    }
    if ((s->count + 1) * 2 > s->nslots) set_resize(s, s->nslots * 2);
    seen_group *g = group_of(s, expiry);
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->ids = xrealloc(g->ids, (size_t)g->cap * sizeof *g->ids);
    }
    g->ids[g->n++] = h;
    set_put(s->slots, s->nslots, h);
    s->count++;
}

void agg_seen_expire(agg_seen *s, int64_t watermark)
{
    size_t k = 0;
    while (k < s->ngroups && s->groups[k].expiry <= watermark) {
        seen_group *g = &s->groups[k++];
        for (uint32_t i = 0; i < g->n; i++) set_del(s, g->ids[i]);
        free(g->ids);
    }
    if (!k) return;
    memmove(s->groups, s->groups + k, (s->ngroups - k) * sizeof *s->groups);
    s->ngroups -= k;
    /* give memory back once the open windows hold far fewer ids than the
     * set was sized for (a traffic peak has passed); not at every window
     * close, where a tumbling window's ids leave at once and the next
     * window's come back */
    if (s->nslots > SEEN_MIN_SLOTS && s->count * 32 < s->nslots) {
        uint64_t want = s->nslots;
        while (want > SEEN_MIN_SLOTS && s->count * 8 < want) want /= 2;
        set_resize(s, want);
    }
}

uint64_t agg_seen_count(const agg_seen *s) { return s->count; }
uint64_t agg_seen_duplicates(const agg_seen *s) { return s->duplicates; }
uint64_t agg_seen_untracked(const agg_seen *s) { return s->untracked; }

size_t agg_seen_bytes(const agg_seen *s)
{
    size_t b = sizeof *s + s->nslots * sizeof *s->slots + s->gcap * sizeof *s->groups;
    for (size_t i = 0; i < s->ngroups; i++) b += (size_t)s->groups[i].cap * sizeof(uint64_t);
    return b;
}

/* Blob: magic, duplicates, untracked, group count, per group its expiry,
 * id count and ids; then hash_seeded64 of everything before (SEEN_CKPT_SEED). */
void agg_seen_save(const agg_seen *s, agg_buf *b)
{
    size_t start = b->len;
    agg_buf_u32(b, SEEN_MAGIC);
    agg_buf_u64(b, s->duplicates);
    agg_buf_u64(b, s->untracked);
    agg_buf_u64(b, s->ngroups);
    for (size_t i = 0; i < s->ngroups; i++) {
        const seen_group *g = &s->groups[i];
        agg_buf_u64(b, (uint64_t)g->expiry);
        agg_buf_u32(b, g->n);
        for (uint32_t k = 0; k < g->n; k++) agg_buf_u64(b, g->ids[k]);
    }
    agg_buf_u64(b, hash_seeded64(b->p + start, b->len - start, SEEN_CKPT_SEED));
}

int agg_seen_load(agg_seen *s, const uint8_t *p, size_t n, char *err, size_t errlen)
{
    uint64_t sum = 0;
    for (int i = 0; n >= 12 && i < 8; i++) sum |= (uint64_t)p[n - 8 + i] << (8 * i);
    if (n < 12 || sum != hash_seeded64(p, n - 8, SEEN_CKPT_SEED)) {
        snprintf(err, errlen, "corrupt aggregate dedup checkpoint (checksum)");
        return -1;
    }
    agg_rd r = { p, p + n - 8, 0 };
    if (agg_rd_u32(&r) != SEEN_MAGIC) { snprintf(err, errlen, "not an aggregate dedup checkpoint"); return -1; }
    s->duplicates = agg_rd_u64(&r);
    s->untracked = agg_rd_u64(&r);
    uint64_t ng = agg_rd_u64(&r);
    int64_t prev = INT64_MIN;
    for (uint64_t i = 0; i < ng && !r.bad; i++) {
        int64_t expiry = (int64_t)agg_rd_u64(&r);
        uint32_t cnt = agg_rd_u32(&r);
        if ((i && expiry <= prev) || (size_t)(r.end - r.p) < (size_t)cnt * 8) { r.bad = 1; break; }
        prev = expiry;
        for (uint32_t k = 0; k < cnt; k++) {
            uint64_t h = agg_rd_u64(&r);
            /* a smaller --dedup-ids than the saving run: keep what fits */
            if (h && !set_has(s, h)) agg_seen_add(s, h, expiry);
        }
    }
    if (r.bad || r.p != r.end) { snprintf(err, errlen, "corrupt aggregate dedup checkpoint"); return -1; }
    return 0;
}
