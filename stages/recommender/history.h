/* history.h — the serving side's memory of users: for each user the items
 * they interacted with (bounded), kept in least-recently-updated order so the
 * coldest user is evicted first, plus the set of users touched since the last
 * flush (the "pending" users that get a fresh Recommendation).
 *
 * Items are interned once into small integers (gids) that never change while
 * the process lives, so a history survives a model reload: the serving layer
 * maps gid -> model item index per model (serve.c), and an item the old model
 * did not know becomes usable as soon as a new model knows it.
 *
 * Bounds (all fixed at hist_new, all counted when hit):
 *   max_users   users held; a new user past it evicts the least recently
 *               updated one (evictions).
 *   max_items   interactions kept per user; past it the entry with the oldest
 *               timestamp is replaced (entries_dropped). A repeated item does
 *               not take a new entry: its weight adds up and its ts moves on.
 *   max_catalog distinct item ids interned; past it events about new item ids
 *               are refused (catalog_full), the user's other items are kept.
 * Besides the bounded entries, each user has the set of every item they
 * interacted with (`seen`) and of every item they bought (`bought`), exact
 * and never truncated by max_items (idset.h: a sorted array or a bitmap,
 * whichever is smaller: at most min(6 * items + 16, catalogue / 8 + 4)
 * bytes each), so the seen and already-purchased filters are complete.
 * Each user also keeps the 64-bit hashes of their last HIST_RECENT_IDS
 * event ids (hist_event_note), so a copy of one of them (ingest writes the
 * lines since its last commit again after a crash) is recognised and not
 * counted twice: a copy is recognised when fewer than HIST_RECENT_IDS of
 * the user's events came between it and the original. The ring is part of
 * the saved history (hist_encode), so it follows the user's partition
 * through --state and --changelog, which a per-process ring would not.
 * Memory is about max_users * (max_items * 24 + HIST_RECENT_IDS * 8 + 120 +
 * len(user_id) + the two sets) bytes plus max_catalog * (24 + len(item_id))
 * bytes at most;
 * hist_set_bytes() is what the sets hold now.
 *
 * Ownership: the store owns every string and array; pointers it returns stay
 * valid until the next hist_add or hist_free. Not thread-safe. */
#ifndef STREAMREC_REC_HISTORY_H
#define STREAMREC_REC_HISTORY_H
#include <stddef.h>
#include <stdint.h>
#include "idset.h"

#define HIST_RECENT_IDS 32    /* event ids remembered per user (256 bytes) */

typedef struct hist_item {
    uint32_t gid;       /* interned item id */
    float weight;       /* summed interaction weight */
    int64_t ts;         /* latest event time of this item, µs */
    uint16_t types;     /* bit (1 << EventType) for every event type seen */
} hist_item;

typedef struct hist_limits {
    uint32_t max_users, max_items, max_catalog;
} hist_limits;

typedef struct hist_stats {
    uint64_t events;            /* hist_add calls that were recorded */
    uint64_t evictions;         /* users evicted (least recently updated) */
    uint64_t evicted_pending;   /* of which had a pending (not yet flushed) update */
    uint64_t entries_dropped;   /* oldest interactions replaced past max_items */
    uint64_t catalog_full;      /* events refused: new item id past max_catalog */
    uint64_t set_oom;           /* seen/bought insertions that failed for memory */
} hist_stats;

typedef struct hist_store hist_store;

hist_store *hist_new(const hist_limits *lim);     /* NULL on out of memory */
void hist_free(hist_store *h);

/* Record one interaction of user with item (weight > 0 expected; the caller
 * decides which events count). Marks the user pending. Returns the user's
 * slot (>= 0), or -1 when the item could not be interned (catalog full; the
 * user is still created/touched and pending: they get a list all the same). */
int64_t hist_add(hist_store *h, const char *user, size_t ulen, const char *item, size_t ilen,
                 float weight, int64_t ts, int event_type);
/* Record an interaction known from elsewhere (the model's training data)
 * like hist_add, but without marking the user pending, without an event
 * type (so not bought) and not counted in events. Returns the slot (also
 * when the item was refused: catalog full, counted), -1 out of memory. */
int64_t hist_seed(hist_store *h, const char *user, size_t ulen, const char *item, size_t ilen,
                  float weight, int64_t ts);
/* Mark a held user updated (LRU) and pending without recording anything:
 * an event the store already accounts for. The slot, or -1. */
int64_t hist_touch(hist_store *h, uint32_t slot);
/* Was the event-id hash among the user's last HIST_RECENT_IDS noted ones?
 * hist_event_note adds it (the oldest leaves past HIST_RECENT_IDS); -1 for
 * a slot not held or out of memory (counted in set_oom). */
int hist_event_seen(const hist_store *h, uint32_t slot, uint64_t id_hash);
int hist_event_note(hist_store *h, uint32_t slot, uint64_t id_hash);
/* Make sure a user exists (no interaction): the slot, never -1. Used by the
 * batch mode for users without history. Does not mark pending. */
int64_t hist_user(hist_store *h, const char *user, size_t ulen);
/* The user's slot, or -1 if not held. Does not touch the LRU order. */
int64_t hist_find(const hist_store *h, const char *user, size_t ulen);

const char *hist_user_id(const hist_store *h, uint32_t slot, size_t *len);
const hist_item *hist_items(const hist_store *h, uint32_t slot, uint32_t *n);

/* Interned items: gid < hist_n_gids. The id string is NUL-terminated. */
uint32_t hist_n_gids(const hist_store *h);
const char *hist_gid_str(const hist_store *h, uint32_t gid, size_t *len);
int64_t hist_gid_find(const hist_store *h, const char *item, size_t ilen);   /* -1 if not interned */

/* Users updated since the last hist_pending_clear, in first-touch order,
 * each once. */
const uint32_t *hist_pending(const hist_store *h, size_t *n);
void hist_pending_clear(hist_store *h);

/* Persistence of one user's history (serve.c keeps them in --state):
 * hist_encode appends the slot's entries to *buf (grown with realloc;
 * *len is the used length) as version byte 4, u32 entry count, then per
 * entry: u32 id length, id bytes, f32 weight, i64 ts, u16 types; then u32
 * seen count and per seen item: u32 id length, id bytes, u8 flags (1:
 * bought); then u32 count (<= HIST_RECENT_IDS) and the recent event-id
 * hashes (hash_seeded64, seed 0: stable), u64 each, oldest first
 * (little-endian hosts). hist_decode also reads version 3 (the same without the event ids: none remembered), 2
 * (version 3 with u16 id lengths, which cut ids over 65,535 bytes) and 1
 * (the entries only, up to the end; their items are the seen set). It creates
 * the user (evicting like hist_add if full) with those entries and sets,
 * replacing what the store held for them; not pending. -1 on a malformed
 * blob (nothing changed) or out of memory. */
int hist_encode(const hist_store *h, uint32_t slot, uint8_t **buf, size_t *len, size_t *cap);
int64_t hist_decode(hist_store *h, const char *user, size_t ulen, const uint8_t *p, size_t n);

/* Every item the user interacted with / bought (interned ids), complete
 * whatever max_items; NULL for a slot out of range. */
const idset *hist_seen(const hist_store *h, uint32_t slot);
const idset *hist_bought(const hist_store *h, uint32_t slot);
size_t hist_set_bytes(const hist_store *h);     /* memory of every user's two sets now */
/* A number that changes whenever the slot gets another user or its history
 * is replaced (hist_decode), and never otherwise: the key of per-user data
 * derived from the history (serve.c's cached EASE sums). */
uint32_t hist_slot_gen(const hist_store *h, uint32_t slot);

/* The input partition a user's events come from (serve.c tags each user
 * with their event's partition; -1 unknown). hist_drop_part removes every
 * user of a partition (it moved to another instance): their slots are
 * reused, a pending one is no longer pending. Returns how many. */
void hist_set_part(hist_store *h, uint32_t slot, int32_t part);
int32_t hist_part(const hist_store *h, uint32_t slot);
uint32_t hist_drop_part(hist_store *h, int32_t part);

uint32_t hist_n_users(const hist_store *h);     /* users held (removed ones not counted) */
const hist_stats *hist_get_stats(const hist_store *h);
/* Least recently updated user slot (the next to be evicted), -1 if empty: for tests. */
int64_t hist_lru_tail(const hist_store *h);
#endif
