/* assign.c — hash bucketing of (experiment, user) onto variants; the hash
 * is specified in assign.h so that applications can reproduce it. */
#include "assign.h"
#include "hash.h"
#include <math.h>
#include <string.h>

uint64_t ea_hash(const char *key, size_t keylen, const char *user, size_t userlen)
{
    uint64_t h = hash_fnv1a64(key, keylen);
    h = hash_fnv1a64_more(h, ":", 1);
    return hash_mix64(hash_fnv1a64_more(h, user, userlen));
}

uint32_t ea_bucket(const char *key, size_t keylen, const char *user, size_t userlen)
{
    return (uint32_t)(ea_hash(key, keylen, user, userlen) % EA_BUCKETS);
}

void ea_assign_bounds(ea_experiment_cfg *e)
{
    double cum = 0;
    for (int i = 0; i < e->nvariants; i++) {
        cum += e->variants[i].allocation;
        double b = floor(cum * EA_BUCKETS + 0.5);
        if (b > EA_BUCKETS) b = EA_BUCKETS;
        e->bound[i] = (uint32_t)b;
    }
    if (e->nvariants > 0) e->bound[e->nvariants - 1] = EA_BUCKETS;
}

int ea_assign(const ea_experiment_cfg *e, const char *user, size_t userlen)
{
    const char *key = e->salt && e->salt[0] ? e->salt : e->name;
    uint32_t b = ea_bucket(key, strlen(key), user, userlen);
    for (int i = 0; i < e->nvariants; i++)
        if (b < e->bound[i]) return i;
    return e->nvariants - 1;
}
