/* keyset.c — see keyset.h. */
#include <stdlib.h>
#include <string.h>
#include "keyset.h"

int keyset_init(keyset *k, size_t nbuckets)
{
    size_t n = 1;
    while (n < nbuckets) n <<= 1;
    k->e = calloc(n * KEYSET_WAYS, sizeof *k->e);   /* pages come in as buckets are used */
    k->mask = n - 1;
    return k->e ? 0 : -1;
}

void keyset_free(keyset *k) { free(k->e); k->e = NULL; }

uint64_t keyset_hash(const void *key, size_t len)
{
    /* FNV-1a, then a murmur3-style finalizer so that the low bits (the
     * bucket) depend on every byte */
    const unsigned char *p = key;
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) { h ^= p[i]; h *= 1099511628211ULL; }
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h ? h : 1;
}

int keyset_has(const keyset *k, uint64_t h)
{
    const uint64_t *b = k->e + (h & k->mask) * KEYSET_WAYS;
    for (int i = 0; i < KEYSET_WAYS; i++)
        if (b[i] == h) return 1;
    return 0;
}

int keyset_touch(keyset *k, uint64_t h)
{
    uint64_t *b = k->e + (h & k->mask) * KEYSET_WAYS;
    int i = 0;
    while (i < KEYSET_WAYS - 1 && b[i] != h) i++;
    int found = b[i] == h;
    /* move the entries before it (or all but the last, which drops out) one back */
    memmove(b + 1, b, (size_t)i * sizeof *b);
    b[0] = h;
    return found;
}
