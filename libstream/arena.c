/* arena.c — bump allocator (see arena.h).
 *
 * Blocks are chained newest first. An allocation that does not fit the head
 * gets a new block of max(block_size, size + align); arena_reset frees all
 * blocks but the largest one, so a steady stream of similar records settles
 * on one block and never calls malloc again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "arena.h"
#include "log.h"

struct arena_block {
    arena_block *next;
    size_t size;                 /* usable bytes in data[] */
    _Alignas(16) unsigned char data[];
};

void arena_init(arena *a, size_t block_size)
{
    a->head = NULL;
    a->used = 0;
    a->block_size = block_size ? block_size : 64 * 1024;
}

static arena_block *arena_new_block(size_t size)
{
    arena_block *b = malloc(sizeof *b + size);
    if (!b)
        log_fatal("arena: out of memory allocating %zu bytes", size);
    b->next = NULL;
    b->size = size;
    return b;
}

void *arena_alloc(arena *a, size_t size, size_t align)
{
    if (align == 0)
        align = 1;
    if (a->head) {
        size_t off = (a->used + align - 1) & ~(align - 1);
        if (off <= a->head->size && size <= a->head->size - off) {
            a->used = off + size;
            void *p = a->head->data + off;
            memset(p, 0, size);
            return p;
        }
    }
    if (size > SIZE_MAX / 2)
        log_fatal("arena: allocation of %zu bytes", size);
    size_t bsize = a->block_size;
    if (bsize < size + align)
        bsize = size + align;
    arena_block *b = arena_new_block(bsize);
    b->next = a->head;
    a->head = b;
    size_t off = ((uintptr_t)b->data % align) ? align - (uintptr_t)b->data % align : 0;
    a->used = off + size;
    void *p = b->data + off;
    memset(p, 0, size);
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1, 1);
    if (len)
        memcpy(p, s, len);
    p[len] = 0;
    return p;
}

void arena_reset(arena *a)
{
    arena_block *keep = NULL, *b = a->head;
    while (b) {   /* keep the largest block, free the rest */
        arena_block *next = b->next;
        if (!keep || b->size > keep->size) {
            if (keep)
                free(keep);
            keep = b;
        } else {
            free(b);
        }
        b = next;
    }
    if (keep)
        keep->next = NULL;
    a->head = keep;
    a->used = 0;
}

void arena_free(arena *a)
{
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
}
