/* ratelimit.c — token buckets per user, bounded (see ratelimit.h). */
#include "ratelimit.h"

#include <stdlib.h>
#include <string.h>

static inline uint32_t rl_slot(const ratelimit *r, uint64_t k)
{
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return (uint32_t)k & r->mask;
}

int ratelimit_init(ratelimit *r, double rate_per_s, double burst, uint32_t users)
{
    memset(r, 0, sizeof *r);
    if (rate_per_s <= 0) return 0;
    if (users < 16) users = 16;
    uint64_t slots = 32;
    while (slots < (uint64_t)users * 4 / 3 + 1) slots *= 2;
    r->t = calloc(slots, sizeof *r->t);
    r->spare = calloc(slots, sizeof *r->spare);
    if (!r->t || !r->spare) { ratelimit_free(r); return -1; }
    r->mask = (uint32_t)(slots - 1);
    r->max_n = users;
    r->rate = rate_per_s;
    r->burst = burst < 1 ? 1 : burst;
    return 0;
}

void ratelimit_free(ratelimit *r)
{
    free(r->t);
    free(r->spare);
    memset(r, 0, sizeof *r);
}

static double rl_level(const ratelimit *r, const rl_bucket *b, int64_t ts)
{
    double t = b->tokens;
    if (ts > b->last_us) t += (double)(ts - b->last_us) * 1e-6 * r->rate;
    return t > r->burst ? r->burst : t;
}

/* Keep only buckets that are not full at ts (key 0 marks an empty slot). */
static void rl_sweep(ratelimit *r, int64_t ts)
{
    memset(r->spare, 0, ((size_t)r->mask + 1) * sizeof *r->spare);
    uint32_t n = 0;
    for (uint32_t i = 0; i <= r->mask; i++) {
        rl_bucket *b = &r->t[i];
        if (!b->key || rl_level(r, b, ts) >= r->burst) continue;
        uint32_t j = rl_slot(r, b->key);
        while (r->spare[j].key) j = (j + 1) & r->mask;
        r->spare[j] = *b;
        n++;
    }
    rl_bucket *tmp = r->t;
    r->t = r->spare;
    r->spare = tmp;
    r->sweeps++;
    /* freed less than an eighth: don't sweep again for a while */
    r->sweep_backoff = r->n - n < r->max_n / 8 ? r->max_n / 8 : 0;
    r->n = n;
}

int ratelimit_allow(ratelimit *r, uint64_t key, int64_t ts)
{
    if (r->rate <= 0) return 1;
    if (!key) key = 1;
    uint32_t i = rl_slot(r, key);
    while (r->t[i].key && r->t[i].key != key) i = (i + 1) & r->mask;
    rl_bucket *b = &r->t[i];
    if (b->key) {
        b->tokens = rl_level(r, b, ts);
        if (ts > b->last_us) b->last_us = ts;
        if (b->tokens < 1 - 1e-9) return 0;   /* refills are sums of floats */
        b->tokens = b->tokens < 1 ? 0 : b->tokens - 1;
        return 1;
    }
    if (r->n >= r->max_n) {
        if (r->sweep_backoff) r->sweep_backoff--;
        else rl_sweep(r, ts);
        if (r->n >= r->max_n) { r->untracked++; return 1; }
        i = rl_slot(r, key);
        while (r->t[i].key) i = (i + 1) & r->mask;
        b = &r->t[i];
    }
    b->key = key;
    b->last_us = ts;
    b->tokens = r->burst - 1;
    r->n++;
    return 1;
}
