/* dedup.c — bounded set of recent id hashes (see dedup.h). */
#include "dedup.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* 0 marks an empty slot, so a hash of 0 is stored as 1. */
static inline uint64_t dedup_norm(uint64_t h) { return h ? h : 1; }

/* FNV-1a's low bits are weak for power-of-two tables: mix first. */
static inline uint64_t dedup_slot(const dedup *d, uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h & d->mask;
}

int dedup_init(dedup *d, uint64_t n)
{
    memset(d, 0, sizeof *d);
    if (n == 0) return 0;
    uint64_t slots = 16;
    while (slots < 2 * n) slots *= 2;
    d->ring = calloc(n, sizeof *d->ring);
    /* one random probe per event: huge pages spare a TLB miss on big windows */
    size_t bytes = slots * sizeof *d->table, align = (size_t)2 << 20;
    if (bytes >= align) {
        void *p = NULL;
        if (posix_memalign(&p, align, bytes) == 0) {
            memset(p, 0, bytes);
#ifdef MADV_HUGEPAGE
            madvise(p, bytes, MADV_HUGEPAGE);
#endif
            d->table = p;
        }
    } else {
        d->table = calloc(slots, sizeof *d->table);
    }
    if (!d->ring || !d->table) { dedup_free(d); return -1; }
    d->n = n;
    d->mask = slots - 1;
    return 0;
}

int dedup_set_span(dedup *d, int64_t span_us)
{
    if (!d->n || span_us <= 0) return 0;
    d->ts = calloc(d->n, sizeof *d->ts);
    if (!d->ts) return -1;
    d->span = span_us;
    d->newest = d->now = INT64_MIN;
    return 0;
}

void dedup_free(dedup *d)
{
    free(d->ts);
    free(d->ring);
    free(d->table);
    memset(d, 0, sizeof *d);
}

size_t dedup_bytes(const dedup *d)
{
    return d->n ? (size_t)(d->n + d->mask + 1 + (d->ts ? d->n : 0)) * sizeof(uint64_t) : 0;
}

void dedup_prefetch_ahead(const dedup *d, uint64_t h, uint64_t ahead)
{
    if (!d->n) return;
    __builtin_prefetch(&d->table[dedup_slot(d, dedup_norm(h))]);
    /* full: the add `ahead` adds from now evicts ring[head + ahead]: fetch its slot too */
    if (d->count == d->n && ahead < d->n) {
        uint64_t i = d->head + ahead;   /* (head + ahead) % n without a division */
        if (i >= d->n) i -= d->n;
        __builtin_prefetch(&d->table[dedup_slot(d, d->ring[i])]);
    }
}

void dedup_prefetch(const dedup *d, uint64_t h)
{
    dedup_prefetch_ahead(d, h, 0);   /* the next add evicts ring[head] */
}

int dedup_seen(const dedup *d, uint64_t h)
{
    if (!d->n) return 0;
    h = dedup_norm(h);
    for (uint64_t i = dedup_slot(d, h);; i = (i + 1) & d->mask) {
        if (d->table[i] == h) return 1;
        if (d->table[i] == 0) return 0;
    }
}

static void dedup_remove(dedup *d, uint64_t h)
{
    uint64_t i = dedup_slot(d, h);
    while (d->table[i] != h) {
        if (d->table[i] == 0) return;   /* not present: nothing to do */
        i = (i + 1) & d->mask;
    }
    /* backward-shift deletion keeps every probe chain unbroken */
    uint64_t j = i;
    for (;;) {
        j = (j + 1) & d->mask;
        if (d->table[j] == 0) break;
        uint64_t home = dedup_slot(d, d->table[j]);
        /* move table[j] into the hole at i unless its home lies in (i, j] */
        int in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) { d->table[i] = d->table[j]; i = j; }
    }
    d->table[i] = 0;
}

void dedup_at(dedup *d, int64_t ts)
{
    if (!d->span) return;
    d->now = ts;
    if (ts <= d->newest) return;
    d->newest = ts;
    /* the oldest entry sits count places behind head */
    while (d->count) {
        uint64_t tail = d->head >= d->count ? d->head - d->count : d->head + d->n - d->count;
        if (d->newest < INT64_MIN + d->span || d->ts[tail] >= d->newest - d->span) break;
        dedup_remove(d, d->ring[tail]);
        d->count--;
    }
}

void dedup_add(dedup *d, uint64_t h)
{
    if (!d->n) return;
    h = dedup_norm(h);
    if (d->count == d->n) {
        dedup_remove(d, d->ring[d->head]);
        d->count--;
        if (d->span) d->early++;
    }
    if (d->ts) d->ts[d->head] = d->now;
    d->ring[d->head] = h;
    d->head = d->head + 1 == d->n ? 0 : d->head + 1;
    d->count++;
    uint64_t i = dedup_slot(d, h);
    while (d->table[i] != 0) i = (i + 1) & d->mask;
    d->table[i] = h;
}
