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
 * 2^18 buckets: 1,048,576 keys, 8 MiB, touched lazily).
 *
 * With activity tracking (--ttl adaptive), each key also keeps the event
 * time of its newest record and an average of the gaps between its records
 * (12 bytes more per key: 20 MiB in all for cache-writer's 1,048,576 keys).
 * The gap average is an exponentially weighted mean, weight 1/4 for the
 * newest gap; a record not newer than the last one seen (a replay, an
 * out-of-order partition) leaves it as it was. A key that drops out of its
 * bucket forgets its activity: it starts again as never seen. */
#ifndef CACHE_WRITER_KEYSET_H
#define CACHE_WRITER_KEYSET_H
#include <stddef.h>
#include <stdint.h>

#define KEYSET_WAYS 4

typedef struct keyset {
    uint64_t *e;         /* nbuckets * KEYSET_WAYS hashes, most recent first; 0: empty */
    int64_t *last_us;    /* activity (NULL: not tracked): newest event time per entry */
    float *gap_us;       /* and the average gap between records; 0: only one seen */
    size_t mask;         /* nbuckets - 1 */
} keyset;

/* nbuckets is rounded up to a power of two. 0, or -1 out of memory. */
int keyset_init(keyset *k, size_t nbuckets);
/* Also keep each key's activity (keyset_touch_at). 0, or -1 out of memory. */
int keyset_track_activity(keyset *k);
void keyset_free(keyset *k);
/* A well-mixed 64-bit hash of the key, never 0. */
uint64_t keyset_hash(const void *key, size_t len);
/* Remember h as just written (inserting it, or making it the most recent of
 * its bucket). Returns 1 if it was already there, 0 if not. */
int keyset_touch(keyset *k, uint64_t h);
int keyset_has(const keyset *k, uint64_t h);
/* keyset_touch for a record with event time ts_us, updating the key's
 * activity when tracked: *gap_us is then the key's average gap between
 * records (0 if none is known yet: first seen, or forgotten). */
int keyset_touch_at(keyset *k, uint64_t h, int64_t ts_us, double *gap_us);
/* Start loading h's bucket into the cache (before a keyset_touch). */
static inline void keyset_prefetch(const keyset *k, uint64_t h)
{
    size_t at = (h & k->mask) * KEYSET_WAYS;
    __builtin_prefetch(k->e + at, 1);
    if (k->last_us) { __builtin_prefetch(k->last_us + at, 1); __builtin_prefetch(k->gap_us + at, 1); }
}
#endif
