/* hll.c — HyperLogLog with Ertl's improved estimator (see hll.h). */
#include "hash.h"
#include "hll.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"

void agg_hll_init(agg_hll *h) { memset(h->reg, 0, sizeof h->reg); }

void agg_hll_add_hash(agg_hll *h, uint64_t hash)
{
    uint32_t idx = (uint32_t)(hash >> (64 - AGG_HLL_P));
    uint64_t w = hash << AGG_HLL_P;
    uint8_t rho = w ? (uint8_t)(__builtin_clzll(w) + 1) : (uint8_t)(64 - AGG_HLL_P + 1);
    if (rho > h->reg[idx]) h->reg[idx] = rho;
}

void agg_hll_add(agg_hll *h, const void *data, size_t len)
{
    agg_hll_add_hash(h, hash_seeded64(data, len, 0x5eed));
}

void agg_hll_merge(agg_hll *dst, const agg_hll *src)
{
    for (uint32_t i = 0; i < AGG_HLL_M; i++)
        if (src->reg[i] > dst->reg[i]) dst->reg[i] = src->reg[i];
}

/* Ertl, algorithm 6: sigma and tau correct for registers at 0 and at q+1. */
static double hll_sigma(double x)
{
    if (x == 1.0) return INFINITY;
    double y = 1, z = x, zp;
    do { x *= x; zp = z; z += x * y; y += y; } while (zp != z);
    return z;
}

static double hll_tau(double x)
{
    if (x == 0.0 || x == 1.0) return 0.0;
    double y = 1.0, z = 1 - x, zp;
    do { x = sqrt(x); zp = z; y *= 0.5; z -= (1 - x) * (1 - x) * y; } while (zp != z);
    return z / 3;
}

double agg_hll_estimate(const agg_hll *h)
{
    enum { Q = 64 - AGG_HLL_P };
    uint32_t c[Q + 2] = {0};
    for (uint32_t i = 0; i < AGG_HLL_M; i++) c[h->reg[i]]++;
    double m = AGG_HLL_M;
    double z = m * hll_tau((m - c[Q + 1]) / m);
    for (int k = Q; k >= 1; k--) { z += c[k]; z *= 0.5; }
    z += m * hll_sigma(c[0] / m);
    if (isinf(z)) return 0;
    return 0.5 / log(2.0) * m * m / z;
}

agg_hll *agg_hll_dup(const agg_hll *h)
{
    agg_hll *c = malloc(sizeof *c);
    if (!c) log_fatal("aggregate: out of memory");
    memcpy(c, h, sizeof *c);
    return c;
}
