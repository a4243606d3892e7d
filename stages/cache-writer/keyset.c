/* keyset.c — see keyset.h. */
#include <stdlib.h>
#include <string.h>
#include "hash.h"
#include "keyset.h"

int keyset_init(keyset *k, size_t nbuckets)
{
    size_t n = 1;
    while (n < nbuckets) n <<= 1;
    k->e = calloc(n * KEYSET_WAYS, sizeof *k->e);   /* pages come in as buckets are used */
    k->last_us = NULL; k->gap_us = NULL;             /* activity: keyset_track_activity */
    k->mask = n - 1;
    return k->e ? 0 : -1;
}

int keyset_track_activity(keyset *k)
{
    size_t n = (k->mask + 1) * KEYSET_WAYS;
    k->last_us = calloc(n, sizeof *k->last_us);
    k->gap_us = calloc(n, sizeof *k->gap_us);
    return k->last_us && k->gap_us ? 0 : -1;
}

void keyset_free(keyset *k)
{
    free(k->e); free(k->last_us); free(k->gap_us);
    k->e = NULL; k->last_us = NULL; k->gap_us = NULL;
}

uint64_t keyset_hash(const void *key, size_t len)
{
    /* FNV-1a, then a finalizer so that the low bits (the bucket) depend on
     * every byte */
    uint64_t h = hash_fmix64(hash_fnv1a64(key, len));
    return h ? h : 1;
}

int keyset_has(const keyset *k, uint64_t h)
{
    const uint64_t *b = k->e + (h & k->mask) * KEYSET_WAYS;
    for (int i = 0; i < KEYSET_WAYS; i++)
        if (b[i] == h) return 1;
    return 0;
}

int keyset_touch_at(keyset *k, uint64_t h, int64_t ts_us, double *gap_us)
{
    size_t at = (h & k->mask) * KEYSET_WAYS;
    uint64_t *b = k->e + at;
    int i = 0;
    while (i < KEYSET_WAYS - 1 && b[i] != h) i++;
    int found = b[i] == h;
    /* move the entries before it (or all but the last, which drops out) one back */
    memmove(b + 1, b, (size_t)i * sizeof *b);
    b[0] = h;
    if (!k->last_us) {
        if (gap_us) *gap_us = 0;
        return found;
    }
    int64_t last = found ? k->last_us[at + i] : ts_us;
    float gap = found ? k->gap_us[at + i] : 0;
    memmove(k->last_us + at + 1, k->last_us + at, (size_t)i * sizeof *k->last_us);
    memmove(k->gap_us + at + 1, k->gap_us + at, (size_t)i * sizeof *k->gap_us);
    if (ts_us > last) {
        /* the difference in uint64: two extreme event times must not overflow */
        double d = (double)((uint64_t)ts_us - (uint64_t)last);
        gap = gap > 0 ? (float)(0.75 * gap + 0.25 * d) : (float)d;
        last = ts_us;
    }
    k->last_us[at] = last;
    k->gap_us[at] = gap;
    if (gap_us) *gap_us = gap;
    return found;
}

int keyset_touch(keyset *k, uint64_t h) { return keyset_touch_at(k, h, 0, NULL); }
