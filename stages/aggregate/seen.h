/* seen.h — the event_ids (and sample_ids) aggregate has counted, for as long as a resent
 * copy could still be counted again: an Event whose event_id is held here
 * is a duplicate (an upstream stage crashed and replayed) and is dropped;
 * so is a Sample whose sample_id and name are held. Records without an id
 * are never dropped: two identical samples without ids both count.
 *
 * Each id is kept as a 64-bit hash until the watermark reaches the end of
 * the earliest window its event fell in (its "expiry"): from then on a copy
 * with the same time is late and refused anyway, so the id is forgotten.
 * Ids are grouped by expiry (one group per distinct first window end, i.e.
 * about one per open window); a group is freed whole when the watermark
 * passes it. Membership is one open-addressing set over all groups (linear
 * probing, backward-shift deletion, at most half full), so a copy whose
 * time differs from the original's (an arrival time given by ingest) is
 * still found while the original's id is held.
 *
 * Bound: at most max_ids ids at once; past it new ids are not remembered
 * (counted in untracked: their copies would be counted again). Memory: 8
 * bytes per id in its group plus the set's slots (a power of two >= 2x the
 * ids held, 8 bytes each; halved once the ids held fall below 1/32 of the
 * slots, as after a traffic peak): 24 to 48 bytes per id at the recent
 * peak of ids held; at most 32 MiB at the default 1,000,000 (16 MiB of
 * set, 16 of groups with their growth slack).
 *
 * False positives: two different ids with the same hash make the later
 * event a "duplicate". With n ids held, a new id collides with probability
 * n / 2^64 (5.4e-14 at n = 1,000,000): one wrong drop expected per 1.8e13
 * events at that fill. */
#ifndef AGG_SEEN_H
#define AGG_SEEN_H
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

typedef struct agg_seen agg_seen;

agg_seen *agg_seen_new(uint64_t max_ids);
void agg_seen_free(agg_seen *s);
/* The hash an event_id is remembered by. */
uint64_t agg_seen_hash(const char *id, size_t len);
/* The hash a Sample's sample_id is remembered by: with its name, since the
 * samples of one input line share the line's id (request.duration_ms and
 * request.error), and apart from event ids (another seed). */
uint64_t agg_seen_sample_hash(const char *id, size_t len, const char *name, size_t name_len);
/* 1 when h is held: the caller drops the event (counted in duplicates). */
int agg_seen_check(agg_seen *s, uint64_t h);
/* Remember h (not held) until the watermark reaches expiry. */
void agg_seen_add(agg_seen *s, uint64_t h, int64_t expiry);
/* Forget every id whose expiry <= watermark. */
void agg_seen_expire(agg_seen *s, int64_t watermark);
uint64_t agg_seen_count(const agg_seen *s);       /* ids held */
uint64_t agg_seen_duplicates(const agg_seen *s);  /* events dropped so far */
uint64_t agg_seen_untracked(const agg_seen *s);   /* ids not remembered (full) */
size_t agg_seen_bytes(const agg_seen *s);         /* memory held */

/* Checkpoint (its own blob beside the engine's): every id with its expiry,
 * and the counters, with a checksum. load: into a fresh set; -1 with err
 * when the blob is damaged. */
void agg_seen_save(const agg_seen *s, agg_buf *b);
int agg_seen_load(agg_seen *s, const uint8_t *p, size_t n, char *err, size_t errlen);
#endif
