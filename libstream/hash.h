/* hash.h — the project's hashes: stable ones, whose values are promised,
 * and one table hash, whose values are not.
 *
 * STABLE — a value reaches an output, a state file, a Kafka key or
 * partition, a fingerprint or an experiment assignment, so changing one
 * bit changes what a stage writes, orphans saved state or moves users to
 * other variants. Never change them; tests/unit/test_hash.c pins their
 * values on fixed inputs.
 *
 *   hash_fnv1a64, hash_fnv1a64_more   FNV-1a 64 (offset basis
 *        0xcbf29ce484222325, prime 0x100000001b3) over bytes, from the basis
 *        or continuing from h. ingest's event_id ("h" + hex of the line)
 *        and sample_id, the alerter's fingerprints, experiment assignment
 *        (experiment-analyzer assign.h), the experiment and drift state
 *        fingerprints, cache-writer's key set.
 *   hash_fnv1a64_le                   the same over the n low bytes of v,
 *        little-endian: an integer hashes the same on every machine.
 *   HASH_FNV1A64_SHORT_BASIS  1469598103934665603 (0x14650fb0739d0383): the
 *        standard basis 14695981039346656037 with its last digit lost. The
 *        alerter's fingerprints (in its output, its --state, acks and
 *        silences) and the log's rate-limit slots start from it, so it stays:
 *        hash_fnv1a64_more(HASH_FNV1A64_SHORT_BASIS, ...).
 *   hash_mix64     SplitMix64's finalizer (x ^= x>>30; x *= 0xbf58476d1ce4e5b9;
 *        x ^= x>>27; x *= 0x94d049bb133111eb; x ^= x>>31): experiment
 *        assignment and fingerprints, after FNV-1a.
 *   hash_fmix64    MurmurHash3's 64-bit finalizer (x ^= x>>33;
 *        x *= 0xff51afd7ed558ccd; x ^= x>>33; x *= 0xc4ceb9fe1a85ec53; x ^= x>>33).
 *   hash_seeded64  8-byte blocks (read in the machine's order: little-endian
 *        on every target we build for) mixed as MurmurHash3's x64 half does,
 *        seed ^ len·0x9e3779b97f4a7c15 to start, the tail block zero-padded
 *        and mixed without the rotation, hash_fmix64 at the end: aggregate's
 *        distinct counts (HLL), its seen-id state, config hash and
 *        checkpoint checksum; the recommender's recent event ids (seed 0,
 *        in its saved histories).
 *
 * TABLE — hash_table is for in-memory hash tables where only equality and
 * spread matter: no output, order or file depends on its values, so it may
 * be made faster or better at any time. Every input bit reaches every
 * output bit, so `h & (size - 1)` makes a good slot.
 *
 * All are inline: several run once per record on a hot path. */
#ifndef STREAMREC_HASH_H
#define STREAMREC_HASH_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HASH_FNV1A64_BASIS 0xcbf29ce484222325ULL
#define HASH_FNV1A64_PRIME 0x100000001b3ULL
#define HASH_FNV1A64_SHORT_BASIS 1469598103934665603ULL

static inline uint64_t hash_fnv1a64_more(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) { h ^= s[i]; h *= HASH_FNV1A64_PRIME; }
    return h;
}

static inline uint64_t hash_fnv1a64(const void *p, size_t n)
{
    return hash_fnv1a64_more(HASH_FNV1A64_BASIS, p, n);
}

static inline uint64_t hash_fnv1a64_le(uint64_t h, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) { h ^= (uint8_t)(v >> (8 * i)); h *= HASH_FNV1A64_PRIME; }
    return h;
}

static inline uint64_t hash_mix64(uint64_t h)
{
    h ^= h >> 30; h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27; h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

static inline uint64_t hash_fmix64(uint64_t k)
{
    k ^= k >> 33; k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33; k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static inline uint64_t hash_rotl64(uint64_t x, int r) { return x << r | x >> (64 - r); }

/* One block into the state, MurmurHash3 x64's way. */
static inline uint64_t hash_block64(uint64_t k)
{
    k *= 0x87c37b91114253d5ULL; k = hash_rotl64(k, 31); k *= 0x4cf5ad432745937fULL;
    return k;
}

static inline uint64_t hash_seeded64(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h = seed ^ ((uint64_t)len * 0x9E3779B97F4A7C15ULL);
    while (len >= 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        h ^= hash_block64(k);
        h = hash_rotl64(h, 27) * 5 + 0x52dce729;
        p += 8; len -= 8;
    }
    if (len) {
        uint64_t k = 0;
        memcpy(&k, p, len);
        h ^= hash_block64(k);
    }
    return hash_fmix64(h);
}

/* Blocks of 8 bytes, the tail zero-padded and mixed like the others, the
 * length in the seed, hash_fmix64 at the end (ingest's dedup and rate-limit
 * tables were built on it). */
static inline uint64_t hash_table(const void *data, size_t n)
{
    const unsigned char *s = data;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n, k;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&k, s, 8);
        h ^= hash_block64(k);
        h = hash_rotl64(h, 27) * 5 + 0x52dce729;
    }
    k = 0;
    for (size_t i = 0; i < n; i++) k |= (uint64_t)s[i] << (8 * i);
    h ^= hash_block64(k);
    h = hash_rotl64(h, 27) * 5 + 0x52dce729;
    return hash_fmix64(h);
}

#endif
