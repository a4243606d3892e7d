/* test_hash — the stable hashes of hash.h keep their values: each pinned on
 * fixed inputs (published FNV-1a and SplitMix64 vectors, the alerter
 * README's example fingerprint, values the stages' own copies gave before
 * they became hash.h), so a change that moves any of them fails here before
 * it moves a fingerprint, an id, a saved state or an experiment's users.
 * The table hash is only held to what tables need. */
#include <stdlib.h>
#include "testhelp.h"
#include "hash.h"

#define CHECK_H(got, want) CHECK_MSG((got) == (want), "%s = %016llx, want %016llx", #got, \
                                     (unsigned long long)(got), (unsigned long long)(want))

static void test_fnv1a(void)
{
    /* the FNV-1a 64 test vectors (draft-eastlake-fnv) */
    CHECK_H(hash_fnv1a64("", 0), 0xcbf29ce484222325ULL);
    CHECK_H(hash_fnv1a64("a", 1), 0xaf63dc4c8601ec8cULL);
    CHECK_H(hash_fnv1a64("foobar", 6), 0x85944171f73967e8ULL);
    /* piece by piece is the same as at once */
    CHECK_H(hash_fnv1a64_more(hash_fnv1a64("foo", 3), "bar", 3), 0x85944171f73967e8ULL);
    /* integers little-endian, whatever the machine: 7 (4 bytes), then 8 bytes */
    CHECK_H(hash_fnv1a64_le(hash_fnv1a64_le(HASH_FNV1A64_BASIS, 7, 4), 0x0102030405060708ULL, 8),
            0x82fe54fdd68eacd2ULL);
    unsigned char b[12] = { 7, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1 };
    CHECK_H(hash_fnv1a64(b, sizeof b), 0x82fe54fdd68eacd2ULL);
    CHECK_H(HASH_FNV1A64_SHORT_BASIS, 0x14650fb0739d0383ULL);
}

/* The alerter's fingerprint (rule, 0xff, key 0 value 0 per label sorted by
 * key): stages/alerter/README.md shows cpu_high{host=web-1,metric=cpu_usage}
 * firing as 659c0bb9ac0e7701. */
static void test_alert_fingerprint(void)
{
    uint64_t h = hash_fnv1a64_more(HASH_FNV1A64_SHORT_BASIS, "cpu_high", 8);
    h = hash_fnv1a64_more(h, "\xff", 1);
    h = hash_fnv1a64_more(h, "host\0web-1\0metric\0cpu_usage\0", 28);
    CHECK_H(h, 0x659c0bb9ac0e7701ULL);
}

static void test_mixers(void)
{
    /* SplitMix64 from seed 0: the state steps by the golden gamma, then the
     * finalizer; its first output is the generator's published first value */
    CHECK_H(hash_mix64(0x9e3779b97f4a7c15ULL), 0xe220a8397b1dcdafULL);
    CHECK_H(hash_mix64(0), 0);
    CHECK_H(hash_fmix64(1), 0xb456bcfc34c2cb2cULL);
    CHECK_H(hash_fmix64(0), 0);
    /* experiment assignment (experiment-analyzer assign.h): user u-42 of
     * exp-checkout lands in bucket 2341 of 10000 */
    uint64_t h = hash_mix64(hash_fnv1a64_more(hash_fnv1a64("exp-checkout:", 13), "u-42", 4));
    CHECK_H(h, 0x124e8ec7dc475495ULL);
    CHECK_EQ_INT(h % 10000, 2341);
    /* cache-writer's key set: FNV-1a then fmix */
    CHECK_H(hash_fmix64(hash_fnv1a64("rec:u-42", 8)), 0xc7b58d6af5407e8bULL);
}

/* aggregate's HLL, seen ids, config hash and checkpoint checksums: an empty
 * input with seed 0, a tail only, exactly one block, blocks and a tail. */
static void test_seeded(void)
{
    CHECK_H(hash_seeded64("", 0, 0), 0);
    CHECK_H(hash_seeded64("e-1", 3, 0x65766964ULL), 0xef687f744caf5b33ULL);
    CHECK_H(hash_seeded64("abcdefgh", 8, 0x5eed), 0x5a0eee59b3458da7ULL);
    CHECK_H(hash_seeded64("request.duration_ms{host=web-1}", 31, 0x7365726965ULL), 0x379d2cb4947d9b95ULL);
    /* the same bytes anywhere in memory (blocks are read unaligned) */
    char buf[48] = "xxx" "request.duration_ms{host=web-1}";
    CHECK_H(hash_seeded64(buf + 3, 31, 0x7365726965ULL), 0x379d2cb4947d9b95ULL);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The table hash promises no values, only what a table needs: the same
 * bytes give the same hash wherever they lie, the length counts (a zero
 * byte more is another key), and the low bits spread. */
static void test_table(void)
{
    char buf[64] = "xxxxxxxe35bf992dc9e9c616yyyy", al[32] = "e35bf992dc9e9c616";
    CHECK(hash_table(buf + 7, 17) == hash_table(al, 17));
    CHECK(hash_table("a", 1) != hash_table("a\0", 2));
    CHECK(hash_table("", 0) != hash_table("\0", 1));
    CHECK(hash_table("abcdefgh", 8) != hash_table("abcdefgh\0", 9));
    enum { N = 1 << 16, SLOTS = 1 << 16 };
    uint64_t *k = malloc(N * sizeof *k);
    unsigned *used = calloc(SLOTS, sizeof *used);
    char id[32];
    for (int i = 0; i < N; i++) {
        int n = snprintf(id, sizeof id, "user-%d", i);   /* near-identical keys */
        k[i] = hash_table(id, (size_t)n);
        used[k[i] & (SLOTS - 1)]++;
    }
    int filled = 0;
    for (int i = 0; i < SLOTS; i++) filled += used[i] != 0;
    /* N random keys in N slots fill 1 - 1/e = 63.2% of them */
    CHECK_MSG(filled > SLOTS * 60 / 100 && filled < SLOTS * 66 / 100, "%d of %d slots", filled, SLOTS);
    qsort(k, N, sizeof *k, cmp_u64);
    int dups = 0;
    for (int i = 1; i < N; i++) dups += k[i] == k[i - 1];
    CHECK_EQ_INT(dups, 0);
    free(k);
    free(used);
}

TEST_MAIN(test_fnv1a, test_alert_fingerprint, test_mixers, test_seeded, test_table)
