/* test_keyset.c — the key memory: what was touched is there, a bucket keeps
 * its KEYSET_WAYS most recently written keys (the oldest drops out), and
 * hashes are never 0 (0 marks a free entry). */
#include <stdint.h>
#include <stdio.h>
#include "../testhelp.h"
#include "../../../stages/cache-writer/keyset.h"

static void test_hash(void)
{
    CHECK(keyset_hash("", 0) != 0);
    CHECK(keyset_hash("rec:u1", 6) != keyset_hash("rec:u2", 6));
    CHECK_EQ_INT(keyset_hash("rec:u1", 6) == keyset_hash("rec:u1", 6), 1);
    /* the bucket (low bits) depends on the last byte too */
    int same = 0;
    for (int i = 0; i < 64; i++) {
        char a[16], b[16];
        int n = snprintf(a, sizeof a, "rec:u%d0", i);
        snprintf(b, sizeof b, "rec:u%d1", i);
        same += (keyset_hash(a, (size_t)n) & 1023) == (keyset_hash(b, (size_t)n) & 1023);
    }
    CHECK(same < 4);
}

static void test_touch(void)
{
    keyset k;
    CHECK_EQ_INT(keyset_init(&k, 1000), 0);
    CHECK_EQ_INT(k.mask, 1023);                      /* rounded up to a power of two */
    uint64_t h = keyset_hash("rec:u42", 7);
    CHECK_EQ_INT(keyset_has(&k, h), 0);
    CHECK_EQ_INT(keyset_touch(&k, h), 0);
    CHECK_EQ_INT(keyset_has(&k, h), 1);
    CHECK_EQ_INT(keyset_touch(&k, h), 1);
    /* 10,000 distinct keys in 4,096 entries: the newest 1,000 are all there */
    uint64_t hs[10000];
    for (int i = 0; i < 10000; i++) {
        char b[16];
        int n = snprintf(b, sizeof b, "rec:u%d", i);
        hs[i] = keyset_hash(b, (size_t)n);
        keyset_touch(&k, hs[i]);
    }
    int recent = 0, all = 0;
    for (int i = 0; i < 10000; i++) { all += keyset_has(&k, hs[i]); recent += i >= 9000 && keyset_has(&k, hs[i]); }
    CHECK(recent > 990);          /* a bucket of 4 overflows rarely with ~1 key per bucket */
    CHECK(all <= 4096);
    keyset_free(&k);
}

static void test_bucket_lru(void)
{
    keyset k;
    CHECK_EQ_INT(keyset_init(&k, 1), 0);             /* one bucket: every key shares it */
    uint64_t a = 11, b = 21, c = 31, d = 41, e = 51;
    keyset_touch(&k, a); keyset_touch(&k, b); keyset_touch(&k, c); keyset_touch(&k, d);
    CHECK(keyset_has(&k, a) && keyset_has(&k, b) && keyset_has(&k, c) && keyset_has(&k, d));
    keyset_touch(&k, a);                              /* a written again: b is now the oldest */
    keyset_touch(&k, e);
    CHECK_EQ_INT(keyset_has(&k, b), 0);
    CHECK(keyset_has(&k, a) && keyset_has(&k, c) && keyset_has(&k, d) && keyset_has(&k, e));
    keyset_free(&k);
}

TEST_MAIN(test_hash, test_touch, test_bucket_lru)
