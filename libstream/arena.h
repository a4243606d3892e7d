/* arena.h — a bump allocator reset per record: decoded vectors and strings
 * live here until the next arena_reset, so the hot path never calls malloc.
 *
 * Ownership: the arena owns everything it hands out; arena_free releases it
 * all. Allocation failure is fatal (logged, exit 1): an arena only grows to
 * the size of the largest record, which the frame limit already bounds. */
#ifndef STREAMREC_ARENA_H
#define STREAMREC_ARENA_H
#include <stddef.h>

typedef struct arena_block arena_block;
typedef struct arena {
    arena_block *head;   /* current block; older blocks chained behind */
    size_t used;         /* bytes used in head */
    size_t block_size;   /* default size of a new block */
} arena;

void arena_init(arena *a, size_t block_size);          /* block_size 0: 64 KiB */
void *arena_alloc(arena *a, size_t size, size_t align); /* zeroed memory */
char *arena_strndup(arena *a, const char *s, size_t len); /* NUL-terminated copy */
void arena_reset(arena *a);   /* forget all allocations, keep one block */
void arena_free(arena *a);

#endif
