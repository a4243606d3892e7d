/* series.h — the per-window table of series: an open-addressing hash map
 * from an encoded key to an entry, entries carved from a bump pool owned by
 * the window (freed all at once when the window closes).
 *
 * Key encoding (also the sort order of emission): one kind byte, then
 * strings each as a 4-byte little-endian length and the bytes: the metric
 * name, then label key/value pairs (labels sorted by key). Kind bytes:
 * AGG_K_COUNT, AGG_K_ITEM, AGG_K_SAMPLE (window series), AGG_K_FUSER,
 * AGG_K_FITEM (feature deltas), AGG_K_FROW (feature store cache). */
#ifndef AGG_SERIES_H
#define AGG_SERIES_H
#include <stddef.h>
#include <stdint.h>
#include "sketch.h"
#include "stats.h"

enum { AGG_K_COUNT = 1, AGG_K_ITEM, AGG_K_SAMPLE, AGG_K_FUSER, AGG_K_FITEM, AGG_K_FROW };
#define AGG_NTYPES 8    /* EventType values */

/* What one bucket adds to a user's or an item's features. */
typedef struct agg_fdelta {
    uint64_t ev[AGG_NTYPES];
    agg_dd rating_sum;
    int64_t min_ts, max_ts;
} agg_fdelta;

/* A feature-store row (user or item). */
typedef struct agg_frow {
    uint64_t ev[AGG_NTYPES];
    double rating_sum;
    int64_t first_seen, last_seen;
    double activity, popularity;
    int64_t score_ts;       /* time the decayed scores refer to */
    int dirty;
} agg_frow;

/* --merge: which input offsets the partial held was built from: its
 * emitter read the partition from `from` up to `to` (-1: none held), and
 * the window's records there start at `first`. */
typedef struct agg_cover { int64_t from, first, to; } agg_cover;

typedef struct agg_entry {
    uint64_t hash;
    uint32_t klen;
    agg_cover cov;          /* --merge only */
    union {
        uint64_t count;                              /* AGG_K_COUNT */
        uint64_t ev[AGG_NTYPES];                     /* AGG_K_ITEM */
        struct { agg_stats st; agg_sketch sk; } s;   /* AGG_K_SAMPLE */
        agg_fdelta fd;                               /* AGG_K_FUSER/FITEM */
        agg_frow row;                                /* AGG_K_FROW */
    } u;
    uint8_t key[];
} agg_entry;

typedef struct agg_pool_blk agg_pool_blk;
typedef struct agg_map {
    agg_entry **slots;
    /* per slot, the top 32 bits of its entry's hash (low bit set), 0 when
     * empty: a probe reads these, contiguous, and touches an entry only when
     * they match (an entry elsewhere in memory is a cache miss per probe) */
    uint32_t *tags;
    size_t cap, n;
    agg_pool_blk *blocks;
    size_t used;            /* bytes used in the head block */
} agg_map;

void agg_map_init(agg_map *m);
/* Frees sketch bins of sample entries, the pool and the slots. */
void agg_map_free(agg_map *m);
agg_entry *agg_map_find(const agg_map *m, const uint8_t *key, uint32_t klen, uint64_t hash);
/* New zeroed entry (caller checks absence with find first). */
agg_entry *agg_map_insert(agg_map *m, const uint8_t *key, uint32_t klen, uint64_t hash);
/* Entries in key order (malloc'd array of m->n, caller frees). */
agg_entry **agg_map_sorted(const agg_map *m);
static inline uint8_t agg_entry_kind(const agg_entry *e) { return e->key[0]; }

/* Key builder. */
typedef struct agg_key { uint8_t *p; uint32_t len, cap; } agg_key;
void agg_key_reset(agg_key *k, uint8_t kind);
void agg_key_str(agg_key *k, const char *s, uint32_t len);
void agg_key_free(agg_key *k);
uint64_t agg_key_hash(const uint8_t *p, uint32_t len);
/* Reader over an encoded key: next string, 1 or 0 at the end. */
typedef struct agg_key_rd { const uint8_t *p, *end; } agg_key_rd;
static inline void agg_key_rd_init(agg_key_rd *r, const agg_entry *e)
{ r->p = e->key + 1; r->end = e->key + e->klen; }
int agg_key_next(agg_key_rd *r, const char **s, uint32_t *len);
#endif
