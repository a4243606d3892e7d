/* keyset.h — a bounded memory of the keys this process wrote recently.
 *
 * cache-writer writes a key it has not seen with SET NX (as cheap as a plain
 * SET) and a key it knows exists with the newer-wins script; this set says
 * which. It is a hint only: a key it forgets (evicted, or written before a
 * restart) costs one NX attempt that finds the key and falls back to the
 * script; a key it remembers that no longer exists (expired, deleted) goes
 * to the script, which writes it. Correctness never depends on it.
 *
 * Keys are kept as 64-bit hashes in 4-way buckets, least recently written
 * evicted first: at most 4 * nbuckets keys, 8 bytes each (cache-writer uses
 * 2^18 buckets: 1,048,576 keys, 8 MiB, touched lazily). */
#ifndef CACHE_WRITER_KEYSET_H
#define CACHE_WRITER_KEYSET_H
#include <stddef.h>
#include <stdint.h>

#define KEYSET_WAYS 4

typedef struct keyset {
    uint64_t *e;         /* nbuckets * KEYSET_WAYS hashes, most recent first; 0: empty */
    size_t mask;         /* nbuckets - 1 */
} keyset;

/* nbuckets is rounded up to a power of two. 0, or -1 out of memory. */
int keyset_init(keyset *k, size_t nbuckets);
void keyset_free(keyset *k);
/* A well-mixed 64-bit hash of the key, never 0. */
uint64_t keyset_hash(const void *key, size_t len);
/* Remember h as just written (inserting it, or making it the most recent of
 * its bucket). Returns 1 if it was already there, 0 if not. */
int keyset_touch(keyset *k, uint64_t h);
int keyset_has(const keyset *k, uint64_t h);
/* Start loading h's bucket into the cache (before a keyset_touch). */
static inline void keyset_prefetch(const keyset *k, uint64_t h)
{
    __builtin_prefetch(k->e + (h & k->mask) * KEYSET_WAYS, 1);
}
#endif
