/* dedup.h — "was this event_id seen among the last N?" in bounded memory.
 * ingest drops resent lines with it; experiment-analyzer drops the copies
 * an upstream replay sends again.
 *
 * Ids are reduced to 64-bit hashes (FNV-1a, then mixed): two different ids
 * collide with probability about N/2^64 per lookup, about 5e-14 for a
 * million-id window, and a collision only drops the later event as a
 * duplicate. A FIFO ring holds the last N hashes in arrival order; an
 * open-addressing set (linear probing, backward-shift deletion, at most half
 * full) answers membership. When the ring is full the oldest hash leaves the
 * set. Memory: 8 bytes per id in the ring plus 8 bytes per slot of a table
 * with the next power of two >= 2N slots: 24 to 40 bytes per id
 * (N = 1,000,000: 8 MB + 16.8 MB), allocated zeroed at start (the table on huge
 * pages when large: one random probe per event). */
#ifndef STREAMREC_DEDUP_H
#define STREAMREC_DEDUP_H
#include <stddef.h>
#include <stdint.h>

typedef struct dedup {
    uint64_t *ring, *table;
    uint64_t n;          /* window size; 0: dedup disabled */
    uint64_t head, count;
    uint64_t mask;       /* table slots - 1 */
} dedup;

int dedup_init(dedup *d, uint64_t n);     /* 0, or -1 out of memory */
void dedup_free(dedup *d);
int dedup_seen(const dedup *d, uint64_t h);
/* Start loading h's slot into cache: call early, dedup_seen later is then cheap. */
void dedup_prefetch(const dedup *d, uint64_t h);
/* The same for an id that comes `ahead` adds later (the slot it will evict too). */
void dedup_prefetch_ahead(const dedup *d, uint64_t h, uint64_t ahead);
void dedup_add(dedup *d, uint64_t h);     /* h must not be in the set already */
size_t dedup_bytes(const dedup *d);       /* memory reserved */
#endif
