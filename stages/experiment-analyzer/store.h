/* store.h — the experiment engine's users (analyze.h): who was exposed to
 * which experiment and variant, when, and their per-metric values.
 *
 * Memory layout, chosen for the hot path (two cache misses per event: the
 * table entry, then the user's block):
 *   table: open addressing, linear probing, load factor <= 1/2, entries of
 *          8 bytes {tag, block}: tag is the high 32 bits of the user id's
 *          64-bit hash (ea_hash with an empty key), and also gives the home
 *          index (tag & mask), so that growing never rereads the keys;
 *   pool:  one byte array of blocks, one block per exposed user, holding
 *          everything about that user contiguously: a 16-byte header, the
 *          user id (padded to 8), then one slot per experiment the user was
 *          exposed to (16 bytes: experiment, variant, flags, exposure time)
 *          each followed by its per-metric values (16 bytes per metric).
 *          Block sizes come in classes growing by 1.5x and 1.33x in turn
 *          (32, 48, 64, 96, 128, ...); a block that fills up moves to the
 *          next class and its old space goes to that class's free list, for
 *          the next user who grows through it. Offsets, not pointers (in
 *          8-byte units: the pool may reach 32 GiB), so the pool grows by
 *          mremap (store.c). */
#ifndef EA_STORE_H
#define EA_STORE_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "sizes.h"

typedef struct ea_entry {
    uint32_t tag;
    uint32_t blk;         /* block offset / 8 in the pool; 0: empty entry */
} ea_entry;

typedef struct ea_block {
    uint32_t used;        /* bytes of slots in use */
    uint32_t key_len;
    uint16_t nslots;      /* 0: a free block */
    uint8_t cls, flags;   /* size class; EA_B_* */
    uint32_t next_free;   /* free blocks: next in the class's list */
} ea_block;
_Static_assert(sizeof(ea_block) == 16, "a block header is 16 bytes (2 pool units)");

typedef struct ea_slot {  /* one (user, experiment) */
    uint16_t exp;
    uint8_t variant;
    uint8_t flags;        /* EA_F_* */
    uint32_t pad;
    int64_t exposed_ts;
} ea_slot;

typedef struct ea_uval {  /* one metric of one user */
    double sum;           /* the values' sum; a covariate: its value */
    uint32_t count;       /* events counted (a conversion, a duration: 1) */
    uint32_t den;         /* ratio: denominator events (saturating) */
} ea_uval;

#define EA_F_MIXED 1
#define EA_F_DIRTY 2
#define EA_B_DIRTY 1
#define EA_NCLASS 48
#define EA_MAX_KEY STREAMREC_MAX_STRING   /* any user_id ingest writes (sizes.h) */

typedef struct ea_store {
    ea_entry *tab; size_t cap, n;
    uint64_t max_users;
    uint8_t *pool; size_t pool_len, pool_cap;   /* bytes */
    uint32_t free_head[EA_NCLASS];
    uint32_t *dirty; size_t ndirty, dirty_cap;  /* blocks with EA_B_DIRTY */
    size_t *slot_size;            /* per experiment: slot + values, bytes (set by the engine) */
    int track_dirty;              /* --state: remember what changed since the last save */
} ea_store;

/* An empty store for nexp experiments and at most max_users users (capped
 * at 2^30). 0, or -1 out of memory (ea_store_free it). */
int ea_store_init(ea_store *s, int nexp, uint64_t max_users);
void ea_store_free(ea_store *s);
size_t ea_store_memory(const ea_store *s);      /* bytes held */

/* Fatal out of memory: the engine's growing arrays. */
void *ea_xrealloc(void *p, size_t n);

static inline size_t ea_class_size(int c) { return (size_t)((c & 1) ? 48 : 32) << (c >> 1); }
static inline size_t ea_key_pad(size_t len) { return (len + 7) & ~(size_t)7; }
static inline ea_block *ea_blk(const ea_store *s, uint32_t b) { return (ea_block *)(s->pool + (size_t)b * 8); }
static inline char *ea_blk_key(ea_block *b) { return (char *)(b + 1); }
static inline ea_slot *ea_blk_slots(ea_block *b) { return (ea_slot *)((char *)(b + 1) + ea_key_pad(b->key_len)); }
static inline ea_uval *ea_uvals(ea_slot *s) { return (ea_uval *)(s + 1); }

/* The table's tag of a user id: the high 32 bits of its hash. */
uint32_t ea_user_tag(const char *p, size_t n);

/* The entry of user id, or the empty entry where it would go (->blk == 0). */
static inline ea_entry *ea_probe(ea_store *s, const char *id, size_t len, uint32_t tag)
{
    size_t mask = s->cap - 1;
    for (size_t i = tag & mask;; i = (i + 1) & mask) {
        ea_entry *u = &s->tab[i];
        if (!u->blk) return u;
        if (u->tag == tag) {
            ea_block *b = ea_blk(s, u->blk);
            if (b->key_len == len && memcmp(ea_blk_key(b), id, len) == 0) return u;
        }
    }
}

/* Insert user id (not present; u is the empty entry ea_probe returned) with
 * room for one slot of slot_bytes. NULL at max_users or for an id too long. */
ea_entry *ea_insert(ea_store *s, ea_entry *u, const char *id, size_t len, uint32_t tag, size_t slot_bytes);

/* Append a slot for experiment exp to user u's block (moving the block to
 * a bigger class when full). Returns the new slot, zeroed but for the
 * header fields. */
ea_slot *ea_slot_new(ea_store *s, ea_entry *u, int exp, int variant, int64_t ts);

/* The slot of experiment x in user u's block, or NULL. */
static inline ea_slot *ea_slot_find(const ea_store *s, const ea_entry *u, int x)
{
    ea_block *b = ea_blk(s, u->blk);
    char *p = (char *)ea_blk_slots(b);
    for (int i = 0; i < b->nslots; i++) {
        ea_slot *sl = (ea_slot *)p;
        if (sl->exp == x) return sl;
        p += s->slot_size[sl->exp];
    }
    return NULL;
}

/* Block blk goes on the dirty list (once). */
void ea_block_dirty(ea_store *s, uint32_t blk);

/* Slot sl of user u changed: save it at the next ea_state_save. */
static inline void ea_mark_dirty(ea_store *s, ea_entry *u, ea_slot *sl)
{
    if (!s->track_dirty) return;
    sl->flags |= EA_F_DIRTY;
    ea_block_dirty(s, u->blk);
}

/* The smallest size class holding need bytes. */
int ea_class_for(size_t need);

#endif
