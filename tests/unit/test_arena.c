/* test_arena.c — the bump allocator: alignment, zeroing, big blocks,
 * reset keeping one block, strndup. */
#include <stdint.h>
#include "arena.h"
#include "testhelp.h"

/* the block header's first members, so the test can see the chain */
struct arena_block { struct arena_block *next; size_t size; };

static void test_alignment_and_zero(void)
{
    arena a;
    arena_init(&a, 128);
    for (int i = 0; i < 1000; i++) {
        size_t align = (size_t)1 << (i % 5);   /* 1..16 */
        size_t size = (size_t)(i * 7) % 50;
        unsigned char *p = arena_alloc(&a, size, align);
        CHECK(p != NULL);
        CHECK_EQ_INT((uintptr_t)p % align, 0);
        int zero = 1;
        for (size_t k = 0; k < size; k++)
            zero &= p[k] == 0;
        CHECK(zero);
        memset(p, 0xab, size);   /* must not overlap anything handed out before */
    }
    arena_free(&a);
}

static void test_no_overlap(void)
{
    arena a;
    arena_init(&a, 64);
    char *ptrs[200];
    for (int i = 0; i < 200; i++) {
        ptrs[i] = arena_alloc(&a, 24, 8);
        memset(ptrs[i], i, 24);
    }
    int ok = 1;
    for (int i = 0; i < 200; i++)
        for (int k = 0; k < 24; k++)
            ok &= (unsigned char)ptrs[i][k] == (unsigned char)i;
    CHECK(ok);
    arena_free(&a);
}

static void test_big_and_reset(void)
{
    arena a;
    arena_init(&a, 0);
    CHECK_EQ_INT(a.block_size, 64 * 1024);
    char *big = arena_alloc(&a, 1 << 20, 16);   /* larger than a block */
    big[(1 << 20) - 1] = 1;
    char *small = arena_alloc(&a, 10, 1);
    small[9] = 2;
    arena_reset(&a);
    CHECK(a.head != NULL);
    CHECK(a.head->next == NULL);
    CHECK_EQ_INT(a.used, 0);
    /* the kept block is the big one: another 1 MiB fits without a new block */
    void *again = arena_alloc(&a, 1 << 20, 16);
    CHECK(again != NULL);
    CHECK(a.head->next == NULL);
    arena_free(&a);
    CHECK(a.head == NULL);
    arena_free(&a);   /* twice is harmless */
}

static void test_strndup(void)
{
    arena a;
    arena_init(&a, 16);
    char *s = arena_strndup(&a, "hello world", 5);
    CHECK_EQ_STR(s, "hello");
    char *e = arena_strndup(&a, "", 0);
    CHECK_EQ_STR(e, "");
    char *z = arena_strndup(&a, "a\0b", 3);
    CHECK(z[0] == 'a' && z[1] == 0 && z[2] == 'b' && z[3] == 0);
    char *l = arena_strndup(&a, "a longer string than the block size", 35);
    CHECK_EQ_STR(l, "a longer string than the block size");
    CHECK_EQ_STR(s, "hello");   /* earlier allocations survive growth */
    arena_free(&a);
}

TEST_MAIN(test_alignment_and_zero, test_no_overlap, test_big_and_reset, test_strndup)
