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
 * pages when large: one random probe per event).
 *
 * A window of event time instead (dedup_set_span): an id is a duplicate if
 * it was seen among events at most `span` older than the newest event time
 * seen so far. The ring then also keeps each id's event time (8 more bytes
 * per id) and ids leave it once older than newest - span, oldest first; N
 * stays the bound on memory: past it the oldest id leaves early (counted in
 * `early`). Arrival order stands for time order, so an event that arrives
 * late keeps its id a little longer, never shorter. */
#ifndef STREAMREC_DEDUP_H
#define STREAMREC_DEDUP_H
#include <stddef.h>
#include <stdint.h>

typedef struct dedup {
    uint64_t *ring, *table;
    uint64_t n;          /* window size; 0: dedup disabled */
    uint64_t head, count;
    uint64_t mask;       /* table slots - 1 */
    int64_t *ts;         /* with a span: each ring entry's event time */
    int64_t span, newest, now;
    uint64_t early;      /* ids that left before their span was over (ring full) */
} dedup;

int dedup_init(dedup *d, uint64_t n);     /* 0, or -1 out of memory */
void dedup_free(dedup *d);
int dedup_seen(const dedup *d, uint64_t h);
/* Start loading h's slot into cache: call early, dedup_seen later is then cheap. */
void dedup_prefetch(const dedup *d, uint64_t h);
/* The same for an id that comes `ahead` adds later (the slot it will evict too). */
void dedup_prefetch_ahead(const dedup *d, uint64_t h, uint64_t ahead);
void dedup_add(dedup *d, uint64_t h);     /* h must not be in the set already */
/* Make the window span_us of event time (after dedup_init; N bounds it). 0, or -1 out of memory. */
int dedup_set_span(dedup *d, int64_t span_us);
/* With a span: the event time of the id about to be looked up and added;
 * ids older than the newest time seen - span leave. No-op without a span. */
void dedup_at(dedup *d, int64_t ts);
size_t dedup_bytes(const dedup *d);       /* memory reserved */
#endif
