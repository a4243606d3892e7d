/* ratelimit.h — per-user token buckets in a bounded table.
 *
 * Each user (a 64-bit hash of user_id) has a bucket of `burst` tokens that
 * refills at `rate` tokens per second of EVENT time (the event's ts), so a
 * replay of the same input gives the same decisions; time going backwards
 * refills nothing. An event takes one token or is refused.
 *
 * Bound: at most `users` buckets (24 bytes each, in a table of the next
 * power of two >= 4/3 users, twice for the rebuild): when the table is
 * full, buckets that have refilled completely are dropped (an idle bucket
 * that is full behaves exactly like a new one, so this forgets nothing that
 * matters). If every bucket is still active, the new user is let through
 * untracked and counted in `untracked` (fail open: a flood of distinct users
 * is not a per-user flood). */
#ifndef INGEST_RATELIMIT_H
#define INGEST_RATELIMIT_H
#include <stddef.h>
#include <stdint.h>

typedef struct rl_bucket { uint64_t key; int64_t last_us; double tokens; } rl_bucket;

typedef struct ratelimit {
    rl_bucket *t, *spare;
    uint32_t mask, n, max_n;
    double rate, burst;         /* rate 0: disabled */
    uint64_t untracked, sweeps;
    uint32_t sweep_backoff;     /* inserts to wait after a sweep freed little */
} ratelimit;

int ratelimit_init(ratelimit *r, double rate_per_s, double burst, uint32_t users);  /* 0/-1 */
void ratelimit_free(ratelimit *r);
/* 1: allowed (a token taken); 0: over the limit. */
int ratelimit_allow(ratelimit *r, uint64_t key, int64_t ts_us);
#endif
