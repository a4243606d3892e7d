/* store.c — the users of the experiment engine: the table, the pool of
 * blocks and their size classes, the dirty list (store.h). */
#define _GNU_SOURCE 1          /* mremap */
#include "store.h"
#include <stdlib.h>
#include <sys/mman.h>
#include "analyze.h"
#include "assign.h"
#include "log.h"

void *ea_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) log_fatal("experiment-analyzer: out of memory (%zu bytes)", n);
    return q;
}

/* The big arrays (table, pool) are anonymous mappings: zeroed by the
 * kernel, grown by mremap without copying, given back whole on free, and
 * marked for transparent huge pages (fewer TLB misses and page faults on
 * random access; a hint, harmless where unsupported). */
static void *ea_map(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) log_fatal("experiment-analyzer: out of memory (%zu bytes)", n);
#ifdef MADV_HUGEPAGE
    if (n >= (4u << 20)) (void)madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
}

static void *ea_remap(void *p, size_t old, size_t n)
{
    void *q = mremap(p, old, n, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) log_fatal("experiment-analyzer: out of memory (%zu bytes)", n);
#ifdef MADV_HUGEPAGE
    if (n >= (4u << 20)) (void)madvise(q, n, MADV_HUGEPAGE);
#endif
    return q;
}

static void ea_unmap(void *p, size_t n) { if (p) munmap(p, n); }

uint32_t ea_user_tag(const char *p, size_t n)
{
    return (uint32_t)(ea_hash("", 0, p, n) >> 32);
}

int ea_class_for(size_t need)
{
    int c = 0;
    while (ea_class_size(c) < need) c++;
    return c;
}

int ea_store_init(ea_store *st, int nexp, uint64_t max_users)
{
    memset(st, 0, sizeof *st);
    st->slot_size = calloc((size_t)nexp, sizeof *st->slot_size);
    st->cap = 1024;
    st->tab = ea_map(st->cap * sizeof *st->tab);
    st->max_users = max_users && max_users < (1ULL << 30) ? max_users : (1ULL << 30);
    st->pool_cap = 1 << 16; st->pool = ea_map(st->pool_cap); st->pool_len = 8;
    return st->slot_size ? 0 : -1;
}

void ea_store_free(ea_store *st)
{
    ea_unmap(st->tab, st->cap * sizeof *st->tab);
    ea_unmap(st->pool, st->pool_cap);
    free(st->dirty);
    free(st->slot_size);
}

size_t ea_store_memory(const ea_store *st)
{
    return st->cap * sizeof(ea_entry) + st->pool_len + st->dirty_cap * sizeof *st->dirty;
}
size_t ea_bytes_per_user(size_t key_len, size_t slot_bytes)
{
    /* table: at most 4 entries per user (load 1/4 just after doubling);
     * block: the smallest class holding header + key + slots (at most 1.5x
     * the need); free blocks: the smaller classes the user grew through,
     * which the next users growing through them reuse; in the worst case
     * (every user grows in lockstep, no new user comes) they sum to less
     * than 3x the final block, the classes growing geometrically (x2 every
     * two classes) */
    size_t need = sizeof(ea_block) + ea_key_pad(key_len) + slot_bytes;
    return 4 * sizeof(ea_entry) + 4 * ea_class_size(ea_class_for(need));
}

static void ea_grow(ea_store *st)
{
    size_t ncap = st->cap * 2;
    ea_entry *nt = ea_map(ncap * sizeof *nt);
    for (size_t i = 0; i < st->cap; i++) {
        ea_entry *u = &st->tab[i];
        if (!u->blk) continue;
        size_t j = u->tag & (ncap - 1);
        while (nt[j].blk) j = (j + 1) & (ncap - 1);
        nt[j] = *u;
    }
    ea_unmap(st->tab, st->cap * sizeof *st->tab);
    st->tab = nt;
    st->cap = ncap;
}

/* A block of class c (from its free list, or new at the pool's end), its
 * header zeroed. Returns the offset / 8. */
static uint32_t ea_blk_alloc(ea_store *st, int c)
{
    uint32_t off = st->free_head[c];
    size_t size = ea_class_size(c);
    if (off) {
        st->free_head[c] = ea_blk(st, off)->next_free;
    } else {
        if (st->pool_len + size > st->pool_cap) {
            size_t ncap = st->pool_cap;
            while (st->pool_len + size > ncap) ncap *= 2;
            if (ncap > (size_t)UINT32_MAX * 8) log_fatal("experiment-analyzer: user pool over 32 GiB");
            st->pool = ea_remap(st->pool, st->pool_cap, ncap);
            st->pool_cap = ncap;
        }
        off = (uint32_t)(st->pool_len / 8);
        st->pool_len += size;
    }
    ea_block *b = ea_blk(st, off);
    memset(b, 0, sizeof *b);
    b->cls = (uint8_t)c;
    return off;
}

ea_entry *ea_insert(ea_store *st, ea_entry *u, const char *id, size_t len, uint32_t tag, size_t slot_bytes)
{
    if (st->n >= st->max_users || len > EA_MAX_KEY) return NULL;
    if ((st->n + 1) * 2 > st->cap) {
        ea_grow(st);
        u = ea_probe(st, id, len, tag);
    }
    uint32_t off = ea_blk_alloc(st, ea_class_for(sizeof(ea_block) + ea_key_pad(len) + slot_bytes));
    ea_block *b = ea_blk(st, off);
    b->key_len = (uint32_t)len;
    memcpy(ea_blk_key(b), id, len);
    u->tag = tag;
    u->blk = off;
    st->n++;
    return u;
}

void ea_block_dirty(ea_store *st, uint32_t blk)
{
    ea_block *b = ea_blk(st, blk);
    if (b->flags & EA_B_DIRTY) return;
    b->flags |= EA_B_DIRTY;
    if (st->ndirty == st->dirty_cap) {
        st->dirty_cap = st->dirty_cap ? st->dirty_cap * 2 : 1024;
        st->dirty = ea_xrealloc(st->dirty, st->dirty_cap * sizeof *st->dirty);
    }
    st->dirty[st->ndirty++] = blk;
}

ea_slot *ea_slot_new(ea_store *st, ea_entry *u, int exp, int variant, int64_t ts)
{
    size_t size = st->slot_size[exp];
    ea_block *b = ea_blk(st, u->blk);
    size_t head = sizeof(ea_block) + ea_key_pad(b->key_len);
    if (head + b->used + size > ea_class_size(b->cls)) {
        uint32_t old = u->blk;
        uint32_t off = ea_blk_alloc(st, ea_class_for(head + b->used + size));
        ea_block *nb = ea_blk(st, off), *ob = ea_blk(st, old);   /* the pool may have moved */
        uint8_t ncls = nb->cls, ocls = ob->cls;
        memcpy(nb, ob, head + ob->used);
        nb->cls = ncls;
        memset(ob, 0, sizeof *ob);              /* nslots 0: a free block */
        ob->cls = ocls;
        ob->next_free = st->free_head[ocls];
        st->free_head[ocls] = old;
        u->blk = off;
        b = nb;
        if (b->flags & EA_B_DIRTY) {            /* the dirty list holds the old offset */
            b->flags &= (uint8_t)~EA_B_DIRTY;
            ea_block_dirty(st, off);
        }
    }
    ea_slot *s = (ea_slot *)((char *)ea_blk_slots(b) + b->used);
    memset(s, 0, size);
    s->exp = (uint16_t)exp;
    s->variant = (uint8_t)variant;
    s->exposed_ts = ts;
    b->used += (uint32_t)size;
    b->nslots++;
    return s;
}
