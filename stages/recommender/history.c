/* history.c — bounded per-user interaction histories with LRU eviction and
 * an item intern table (history.h).
 *
 * Two open-addressing hash tables with linear probing (users by id -> slot,
 * items by id -> gid), each entry the index + 1 (0 empty), grown at half
 * load; user removal uses backward-shift deletion, so there are no
 * tombstones. Users sit on a doubly linked list, most recently updated at
 * the head; eviction takes the tail and reuses its slot and arrays. */
#include "history.h"
#include <stdlib.h>
#include <string.h>
#include "fbrec.h"
#include "hash.h"
#include "idset.h"

#define NIL UINT32_MAX

typedef struct hslot {
    char *uid;
    uint32_t ulen, hash;
    hist_item *items;
    uint32_t n, cap;
    uint32_t prev, next;     /* LRU: prev is more recent */
    uint8_t pending;
    uint32_t gen;            /* changes whenever the slot's user or history is replaced */
    int32_t part;            /* input partition the user's events come from (-1 unknown) */
    idset seen, bought;      /* every item interacted with / purchased, whatever max_items */
    uint64_t *recent;        /* ring of the last HIST_RECENT_IDS event-id hashes (NULL: none yet) */
    uint32_t nrecent, rhead; /* held, and the next position to write */
} hslot;

struct hist_store {
    hist_limits lim;
    hslot *slots; uint32_t nslots, slotcap;
    uint32_t free_head, nfree;          /* slots of removed users (hist_drop_part), linked by next */
    uint32_t *utab; uint32_t umask;     /* slot + 1 */
    uint32_t head, tail;
    /* items */
    char *strs; size_t strlen_, strcap;
    uint64_t *goff; uint32_t *glen, *ghash; uint32_t ngids, gcap;
    uint32_t *itab; uint32_t imask;     /* gid + 1 */
    uint32_t *pend; size_t npend, pendcap;
    hist_stats st;
    size_t set_bytes;        /* idset_bytes of every user's seen and bought sets */
    uint32_t gen_next;
};

static uint32_t *hist_table(uint32_t size)
{
    return calloc(size, sizeof(uint32_t));
}

hist_store *hist_new(const hist_limits *lim)
{
    hist_store *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->lim = *lim;
    if (!h->lim.max_users) h->lim.max_users = 1;
    if (!h->lim.max_items) h->lim.max_items = 1;
    if (!h->lim.max_catalog) h->lim.max_catalog = 1;
    h->umask = 63; h->imask = 63;
    h->utab = hist_table(64);
    h->itab = hist_table(64);
    h->head = h->tail = h->free_head = NIL;
    if (!h->utab || !h->itab) { hist_free(h); return NULL; }
    return h;
}

void hist_free(hist_store *h)
{
    if (!h) return;
    for (uint32_t i = 0; i < h->nslots; i++) {
        free(h->slots[i].uid); free(h->slots[i].items); free(h->slots[i].recent);
        idset_clear(&h->slots[i].seen); idset_clear(&h->slots[i].bought);
    }
    free(h->slots); free(h->utab); free(h->itab);
    free(h->strs); free(h->goff); free(h->glen); free(h->ghash);
    free(h->pend);
    free(h);
}

/* ---- items ---- */

static int64_t item_lookup(const hist_store *h, const char *s, size_t n, uint32_t hash, uint32_t *pos)
{
    uint32_t i = hash & h->imask;
    for (;;) {
        uint32_t e = h->itab[i];
        if (!e) { *pos = i; return -1; }
        uint32_t g = e - 1;
        if (h->ghash[g] == hash && h->glen[g] == n && memcmp(h->strs + h->goff[g], s, n) == 0) {
            *pos = i;
            return g;
        }
        i = (i + 1) & h->imask;
    }
}

static int item_grow_table(hist_store *h)
{
    uint32_t size = (h->imask + 1) * 2;
    uint32_t *t = hist_table(size);
    if (!t) return -1;
    for (uint32_t g = 0; g < h->ngids; g++) {
        uint32_t i = h->ghash[g] & (size - 1);
        while (t[i]) i = (i + 1) & (size - 1);
        t[i] = g + 1;
    }
    free(h->itab);
    h->itab = t;
    h->imask = size - 1;
    return 0;
}

int64_t hist_gid_find(const hist_store *h, const char *item, size_t ilen)
{
    uint32_t pos;
    return item_lookup(h, item, ilen, (uint32_t)hash_table(item, ilen), &pos);
}

/* gid of item, interning it; -1 catalog full or out of memory */
static int64_t item_intern(hist_store *h, const char *s, size_t n)
{
    uint32_t hash = (uint32_t)hash_table(s, n), pos;
    int64_t g = item_lookup(h, s, n, hash, &pos);
    if (g >= 0) return g;
    if (h->ngids >= h->lim.max_catalog || n > UINT32_MAX - 1) return -1;
    if ((h->ngids + 1) * 2 > h->imask + 1) {
        if (item_grow_table(h)) return -1;
        (void)item_lookup(h, s, n, hash, &pos);
    }
    if (h->ngids == h->gcap) {
        uint32_t cap = h->gcap ? h->gcap * 2 : 256;
        uint64_t *o = realloc(h->goff, cap * sizeof *o);
        if (o) h->goff = o;
        uint32_t *l = realloc(h->glen, cap * sizeof *l);
        if (l) h->glen = l;
        uint32_t *hh = realloc(h->ghash, cap * sizeof *hh);
        if (hh) h->ghash = hh;
        if (!o || !l || !hh) return -1;
        h->gcap = cap;
    }
    if (h->strlen_ + n + 1 > h->strcap) {
        size_t cap = h->strcap ? h->strcap : 4096;
        while (cap < h->strlen_ + n + 1) cap *= 2;
        char *p = realloc(h->strs, cap);
        if (!p) return -1;
        h->strs = p;
        h->strcap = cap;
    }
    uint32_t gid = h->ngids++;
    h->goff[gid] = h->strlen_;
    h->glen[gid] = (uint32_t)n;
    h->ghash[gid] = hash;
    memcpy(h->strs + h->strlen_, s, n);
    h->strs[h->strlen_ + n] = 0;
    h->strlen_ += n + 1;
    h->itab[pos] = gid + 1;
    return gid;
}

uint32_t hist_n_gids(const hist_store *h) { return h->ngids; }

const char *hist_gid_str(const hist_store *h, uint32_t gid, size_t *len)
{
    if (gid >= h->ngids) return NULL;
    if (len) *len = h->glen[gid];
    return h->strs + h->goff[gid];
}

/* ---- users ---- */

static int64_t user_lookup(const hist_store *h, const char *s, size_t n, uint32_t hash, uint32_t *pos)
{
    uint32_t i = hash & h->umask;
    for (;;) {
        uint32_t e = h->utab[i];
        if (!e) { *pos = i; return -1; }
        const hslot *u = &h->slots[e - 1];
        if (u->hash == hash && u->ulen == n && memcmp(u->uid, s, n) == 0) { *pos = i; return e - 1; }
        i = (i + 1) & h->umask;
    }
}

static int user_grow_table(hist_store *h)
{
    uint32_t size = (h->umask + 1) * 2;
    uint32_t *t = hist_table(size);
    if (!t) return -1;
    for (uint32_t i = 0; i <= h->umask; i++) {
        uint32_t e = h->utab[i];
        if (!e) continue;
        uint32_t j = h->slots[e - 1].hash & (size - 1);
        while (t[j]) j = (j + 1) & (size - 1);
        t[j] = e;
    }
    free(h->utab);
    h->utab = t;
    h->umask = size - 1;
    return 0;
}

/* Backward-shift deletion of the table entry at pos. */
static void user_table_delete(hist_store *h, uint32_t pos)
{
    uint32_t i = pos, j = pos;
    for (;;) {
        j = (j + 1) & h->umask;
        uint32_t e = h->utab[j];
        if (!e) break;
        uint32_t home = h->slots[e - 1].hash & h->umask;
        /* move e back to i unless its home lies cyclically in (i, j] */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        h->utab[i] = e;
        i = j;
    }
    h->utab[i] = 0;
}

static void lru_unlink(hist_store *h, uint32_t s)
{
    hslot *u = &h->slots[s];
    if (u->prev != NIL) h->slots[u->prev].next = u->next; else h->head = u->next;
    if (u->next != NIL) h->slots[u->next].prev = u->prev; else h->tail = u->prev;
    u->prev = u->next = NIL;
}

static void lru_push_head(hist_store *h, uint32_t s)
{
    hslot *u = &h->slots[s];
    u->prev = NIL;
    u->next = h->head;
    if (h->head != NIL) h->slots[h->head].prev = s;
    h->head = s;
    if (h->tail == NIL) h->tail = s;
}

static void lru_touch(hist_store *h, uint32_t s)
{
    if (h->head == s) return;
    lru_unlink(h, s);
    lru_push_head(h, s);
}

static void user_sets_clear(hist_store *h, hslot *u)
{
    h->set_bytes -= idset_bytes(&u->seen) + idset_bytes(&u->bought);
    idset_clear(&u->seen);
    idset_clear(&u->bought);
}

/* Add gid to one of the user's sets, keeping the byte total. */
static void set_add(hist_store *h, idset *s, uint32_t gid)
{
    size_t before = idset_bytes(s);
    if (idset_add(s, gid) < 0) h->st.set_oom++;
    h->set_bytes += idset_bytes(s) - before;
}

/* Slot of user, creating it (evicting the LRU tail when full). -1 out of memory. */
static int64_t user_get(hist_store *h, const char *s, size_t n)
{
    uint32_t hash = (uint32_t)hash_table(s, n), pos;
    int64_t got = user_lookup(h, s, n, hash, &pos);
    if (got >= 0) return got;
    char *uid = malloc(n + 1);
    if (!uid) return -1;
    memcpy(uid, s, n);
    uid[n] = 0;
    uint32_t slot;
    if (h->free_head != NIL) {
        slot = h->free_head;
        h->free_head = h->slots[slot].next;
        h->nfree--;
        h->slots[slot].prev = h->slots[slot].next = NIL;
    } else if (h->nslots >= h->lim.max_users) {
        slot = h->tail;
        hslot *old = &h->slots[slot];
        uint32_t opos;
        (void)user_lookup(h, old->uid, old->ulen, old->hash, &opos);
        user_table_delete(h, opos);
        lru_unlink(h, slot);
        free(old->uid);
        old->uid = NULL;
        old->n = 0;
        old->nrecent = old->rhead = 0;
        user_sets_clear(h, old);
        h->st.evictions++;
        if (old->pending) h->st.evicted_pending++;   /* the slot stays pending for the newcomer */
    } else {
        if (h->nslots == h->slotcap) {
            uint32_t cap = h->slotcap ? h->slotcap * 2 : 64;
            if (cap > h->lim.max_users) cap = h->lim.max_users;
            hslot *ns = realloc(h->slots, cap * sizeof *ns);
            if (!ns) { free(uid); return -1; }
            h->slots = ns;
            h->slotcap = cap;
        }
        slot = h->nslots++;
        memset(&h->slots[slot], 0, sizeof h->slots[slot]);
        h->slots[slot].prev = h->slots[slot].next = NIL;
    }
    if ((h->nslots + 1) * 2 > h->umask + 1 && user_grow_table(h)) {
        /* keep going at a higher load: the table still has room */
    }
    (void)user_lookup(h, s, n, hash, &pos);
    hslot *u = &h->slots[slot];
    u->gen = ++h->gen_next;
    u->part = -1;
    u->uid = uid;
    u->ulen = (uint32_t)n;
    u->hash = hash;
    h->utab[pos] = slot + 1;
    lru_push_head(h, slot);
    return slot;
}

static int mark_pending(hist_store *h, uint32_t s)
{
    if (h->slots[s].pending) return 0;
    if (h->npend == h->pendcap) {
        size_t cap = h->pendcap ? h->pendcap * 2 : 256;
        uint32_t *p = realloc(h->pend, cap * sizeof *p);
        if (!p) return -1;
        h->pend = p;
        h->pendcap = cap;
    }
    h->pend[h->npend++] = s;
    h->slots[s].pending = 1;
    return 0;
}

static void user_add_item(hist_store *h, hslot *u, uint32_t gid, float w, int64_t ts, int type)
{
    uint16_t bit = (type >= 0 && type < 16) ? (uint16_t)(1u << type) : 0;
    set_add(h, &u->seen, gid);
    if (type == EventType_purchase) set_add(h, &u->bought, gid);
    for (uint32_t i = 0; i < u->n; i++) {
        hist_item *e = &u->items[i];
        if (e->gid != gid) continue;
        /* a rating replaces the last one; other interactions add up */
        if (type == EventType_rating) e->weight = w; else e->weight += w;
        if (ts > e->ts) e->ts = ts;
        e->types |= bit;
        return;
    }
    hist_item *e;
    if (u->n < u->cap) e = &u->items[u->n++];
    else if (u->cap < h->lim.max_items) {
        uint32_t cap = u->cap ? u->cap * 2 : 8;
        if (cap > h->lim.max_items) cap = h->lim.max_items;
        hist_item *ni = realloc(u->items, cap * sizeof *ni);
        if (!ni) { h->st.entries_dropped++; return; }
        u->items = ni;
        u->cap = cap;
        e = &u->items[u->n++];
    } else {
        uint32_t old = 0;
        for (uint32_t i = 1; i < u->n; i++) if (u->items[i].ts < u->items[old].ts) old = i;
        e = &u->items[old];
        h->st.entries_dropped++;
    }
    e->gid = gid;
    e->weight = w;
    e->ts = ts;
    e->types = bit;
}

int64_t hist_add(hist_store *h, const char *user, size_t ulen, const char *item, size_t ilen,
                 float weight, int64_t ts, int event_type)
{
    int64_t s = user_get(h, user, ulen);
    if (s < 0) return -1;
    lru_touch(h, (uint32_t)s);
    (void)mark_pending(h, (uint32_t)s);
    int64_t gid = item_intern(h, item, ilen);
    if (gid < 0) { h->st.catalog_full++; return -1; }
    user_add_item(h, &h->slots[s], (uint32_t)gid, weight, ts, event_type);
    h->st.events++;
    return s;
}

int64_t hist_seed(hist_store *h, const char *user, size_t ulen, const char *item, size_t ilen,
                  float weight, int64_t ts)
{
    int64_t s = user_get(h, user, ulen);
    if (s < 0) return -1;
    lru_touch(h, (uint32_t)s);
    int64_t gid = item_intern(h, item, ilen);
    if (gid < 0) { h->st.catalog_full++; return s; }
    user_add_item(h, &h->slots[s], (uint32_t)gid, weight, ts, -1);
    return s;
}

int64_t hist_touch(hist_store *h, uint32_t slot)
{
    if (slot >= h->nslots || !h->slots[slot].uid) return -1;
    lru_touch(h, slot);
    (void)mark_pending(h, slot);
    return slot;
}

int hist_event_seen(const hist_store *h, uint32_t slot, uint64_t id_hash)
{
    if (slot >= h->nslots || !h->slots[slot].uid) return 0;
    const hslot *u = &h->slots[slot];
    for (uint32_t i = 0; i < u->nrecent; i++) if (u->recent[i] == id_hash) return 1;
    return 0;
}

static int recent_add(hslot *u, uint64_t id_hash)
{
    if (!u->recent && !(u->recent = malloc(HIST_RECENT_IDS * sizeof *u->recent))) return -1;
    u->recent[u->rhead] = id_hash;
    u->rhead = (u->rhead + 1) % HIST_RECENT_IDS;
    if (u->nrecent < HIST_RECENT_IDS) u->nrecent++;
    return 0;
}

int hist_event_note(hist_store *h, uint32_t slot, uint64_t id_hash)
{
    if (slot >= h->nslots || !h->slots[slot].uid) return -1;
    if (recent_add(&h->slots[slot], id_hash)) { h->st.set_oom++; return -1; }
    return 0;
}

int64_t hist_user(hist_store *h, const char *user, size_t ulen)
{
    int64_t s = user_get(h, user, ulen);
    if (s >= 0) lru_touch(h, (uint32_t)s);
    return s;
}

int64_t hist_find(const hist_store *h, const char *user, size_t ulen)
{
    uint32_t pos;
    return user_lookup(h, user, ulen, (uint32_t)hash_table(user, ulen), &pos);
}

const char *hist_user_id(const hist_store *h, uint32_t slot, size_t *len)
{
    if (slot >= h->nslots) return NULL;
    if (len) *len = h->slots[slot].ulen;
    return h->slots[slot].uid;
}

const hist_item *hist_items(const hist_store *h, uint32_t slot, uint32_t *n)
{
    if (slot >= h->nslots) { *n = 0; return NULL; }
    *n = h->slots[slot].n;
    return h->slots[slot].items;
}

const uint32_t *hist_pending(const hist_store *h, size_t *n)
{
    *n = h->npend;
    return h->pend;
}

void hist_pending_clear(hist_store *h)
{
    for (size_t i = 0; i < h->npend; i++) h->slots[h->pend[i]].pending = 0;
    h->npend = 0;
}

static int buf_put(uint8_t **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n) c *= 2;
        uint8_t *nb = realloc(*buf, c);
        if (!nb) return -1;
        *buf = nb;
        *cap = c;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    return 0;
}

static int put_id(const hist_store *h, uint32_t gid, uint8_t **buf, size_t *len, size_t *cap)
{
    /* 32-bit length (version 3): version 2's 16 bits cut ids over 65,535
     * bytes, which ingest allows (up to 16 MiB) */
    uint32_t l = h->glen[gid];
    return buf_put(buf, len, cap, &l, 4) || buf_put(buf, len, cap, h->strs + h->goff[gid], l) ? -1 : 0;
}

int hist_encode(const hist_store *h, uint32_t slot, uint8_t **buf, size_t *len, size_t *cap)
{
    if (slot >= h->nslots) return -1;
    const hslot *u = &h->slots[slot];
    uint8_t ver = 4;
    if (buf_put(buf, len, cap, &ver, 1) || buf_put(buf, len, cap, &u->n, 4)) return -1;
    for (uint32_t i = 0; i < u->n; i++) {
        const hist_item *e = &u->items[i];
        if (put_id(h, e->gid, buf, len, cap) ||
            buf_put(buf, len, cap, &e->weight, 4) || buf_put(buf, len, cap, &e->ts, 8) ||
            buf_put(buf, len, cap, &e->types, 2))
            return -1;
    }
    /* the seen set, each id with its bought flag */
    if (buf_put(buf, len, cap, &u->seen.n, 4)) return -1;
    uint32_t *ids = malloc(((size_t)u->seen.n + 1) * sizeof *ids);
    if (!ids) return -1;
    size_t k = idset_list(&u->seen, ids);
    int rc = 0;
    for (size_t i = 0; i < k && !rc; i++) {
        uint8_t bought = (uint8_t)idset_has(&u->bought, ids[i]);
        rc = put_id(h, ids[i], buf, len, cap) || buf_put(buf, len, cap, &bought, 1) ? -1 : 0;
    }
    free(ids);
    /* the recent event ids, oldest first */
    uint32_t nr = u->nrecent;
    if (!rc && buf_put(buf, len, cap, &nr, 4)) rc = -1;
    for (uint32_t i = 0; i < nr && !rc; i++) {
        uint32_t at = (u->rhead + HIST_RECENT_IDS - nr + i) % HIST_RECENT_IDS;
        rc = buf_put(buf, len, cap, &u->recent[at], 8);
    }
    return rc;
}

/* Width of an id length in a blob of this version: 2 bytes (1, 2), 4 (3, 4). */
static size_t len_width(uint8_t ver) { return ver >= 3 ? 4 : 2; }

static size_t get_len(const uint8_t *p, size_t lw)
{
    if (lw == 2) { uint16_t l; memcpy(&l, p, 2); return l; }
    uint32_t l;
    memcpy(&l, p, 4);
    return l;
}

/* Walk a blob: 0 well formed (counts set), -1 not. */
static int blob_check(const uint8_t *p, size_t n, uint32_t *nent, uint32_t *nseen, size_t *seen_off,
                      size_t *recent_off)
{
    if (n < 1 || p[0] < 1 || p[0] > 4) return -1;
    size_t lw = len_width(p[0]);
    size_t off = 1;
    uint32_t want = UINT32_MAX, count = 0;
    if (p[0] >= 2) {
        if (n - off < 4) return -1;
        memcpy(&want, p + off, 4);
        off += 4;
    }
    while (off < n && count < want) {
        if (n - off < lw) return -1;
        size_t l = get_len(p + off, lw);
        if (n - off - lw < l || n - off - lw - l < 14) return -1;
        off += lw + l + 14;
        count++;
    }
    *nent = count;
    *nseen = 0;
    *seen_off = off;
    *recent_off = off;
    if (p[0] == 1) return 0;
    if (count != want || n - off < 4) return -1;
    memcpy(nseen, p + off, 4);
    off += 4;
    *seen_off = off;
    for (uint32_t i = 0; i < *nseen; i++) {
        if (n - off < lw) return -1;
        size_t l = get_len(p + off, lw);
        if (n - off - lw < l || n - off - lw - l < 1) return -1;
        off += lw + l + 1;
    }
    *recent_off = off;
    if (p[0] >= 4) {
        uint32_t nr;
        if (n - off < 4) return -1;
        memcpy(&nr, p + off, 4);
        if (nr > HIST_RECENT_IDS || (n - off - 4) / 8 < nr) return -1;
        off += 4 + (size_t)nr * 8;
    }
    return off == n ? 0 : -1;
}

int64_t hist_decode(hist_store *h, const char *user, size_t ulen, const uint8_t *p, size_t n)
{
    /* check the whole blob first: a bad one changes nothing */
    uint32_t nent, nseen;
    size_t seen_off, recent_off;
    if (blob_check(p, n, &nent, &nseen, &seen_off, &recent_off)) return -1;
    int64_t s = user_get(h, user, ulen);
    if (s < 0) return -1;
    lru_touch(h, (uint32_t)s);
    hslot *u = &h->slots[s];
    u->gen = ++h->gen_next;
    u->n = 0;
    u->nrecent = u->rhead = 0;
    user_sets_clear(h, u);
    size_t lw = len_width(p[0]);
    size_t off = p[0] >= 2 ? 5 : 1;
    for (uint32_t k = 0; k < nent; k++) {
        uint16_t types;
        float w;
        int64_t ts;
        size_t l = get_len(p + off, lw);
        const char *id = (const char *)p + off + lw;
        memcpy(&w, p + off + lw + l, 4);
        memcpy(&ts, p + off + lw + l + 4, 8);
        memcpy(&types, p + off + lw + l + 12, 2);
        off += lw + l + 14;
        int64_t gid = item_intern(h, id, l);
        if (gid < 0) { h->st.catalog_full++; continue; }
        int type = types ? __builtin_ctz(types) : -1;
        user_add_item(h, u, (uint32_t)gid, w, ts, type == EventType_rating ? -1 : type);
        /* user_add_item merges by item; restore the exact saved fields */
        for (uint32_t i = 0; i < u->n; i++)
            if (u->items[i].gid == (uint32_t)gid) { u->items[i].weight = w; u->items[i].types = types; }
        if (types & (1u << EventType_purchase)) set_add(h, &u->bought, (uint32_t)gid);
    }
    off = seen_off;
    for (uint32_t k = 0; k < nseen; k++) {
        size_t l = get_len(p + off, lw);
        int64_t gid = item_intern(h, (const char *)p + off + lw, l);
        uint8_t bought = p[off + lw + l];
        off += lw + l + 1;
        if (gid < 0) { h->st.catalog_full++; continue; }
        set_add(h, &u->seen, (uint32_t)gid);
        if (bought & 1) set_add(h, &u->bought, (uint32_t)gid);
    }
    if (p[0] >= 4) {
        uint32_t nr;
        memcpy(&nr, p + recent_off, 4);
        for (uint32_t k = 0; k < nr; k++) {
            uint64_t id_hash;
            memcpy(&id_hash, p + recent_off + 4 + (size_t)k * 8, 8);
            if (recent_add(u, id_hash)) { h->st.set_oom++; break; }
        }
    }
    return s;
}

uint32_t hist_slot_gen(const hist_store *h, uint32_t slot) { return slot < h->nslots ? h->slots[slot].gen : 0; }
const idset *hist_seen(const hist_store *h, uint32_t slot) { return slot < h->nslots ? &h->slots[slot].seen : NULL; }
const idset *hist_bought(const hist_store *h, uint32_t slot) { return slot < h->nslots ? &h->slots[slot].bought : NULL; }
size_t hist_set_bytes(const hist_store *h) { return h->set_bytes; }

uint32_t hist_n_users(const hist_store *h) { return h->nslots - h->nfree; }

void hist_set_part(hist_store *h, uint32_t slot, int32_t part)
{
    if (slot < h->nslots && h->slots[slot].uid) h->slots[slot].part = part;
}

int32_t hist_part(const hist_store *h, uint32_t slot)
{
    return slot < h->nslots && h->slots[slot].uid ? h->slots[slot].part : -1;
}

/* Remove one user: out of the table, the LRU list and the pending list;
 * the slot (with its arrays, for reuse) goes on the free list. */
static void user_remove(hist_store *h, uint32_t s)
{
    hslot *u = &h->slots[s];
    uint32_t pos;
    (void)user_lookup(h, u->uid, u->ulen, u->hash, &pos);
    user_table_delete(h, pos);
    lru_unlink(h, s);
    if (u->pending) {
        size_t k = 0;
        for (size_t i = 0; i < h->npend; i++) if (h->pend[i] != s) h->pend[k++] = h->pend[i];
        h->npend = k;
        u->pending = 0;
    }
    free(u->uid);
    u->uid = NULL;
    u->n = 0;
    u->nrecent = u->rhead = 0;
    u->part = -1;
    user_sets_clear(h, u);
    u->next = h->free_head;
    h->free_head = s;
    h->nfree++;
}

uint32_t hist_drop_part(hist_store *h, int32_t part)
{
    uint32_t n = 0;
    for (uint32_t s = 0; s < h->nslots; s++)
        if (h->slots[s].uid && h->slots[s].part == part) { user_remove(h, s); n++; }
    return n;
}
const hist_stats *hist_get_stats(const hist_store *h) { return &h->st; }
int64_t hist_lru_tail(const hist_store *h) { return h->tail == NIL ? -1 : (int64_t)h->tail; }
