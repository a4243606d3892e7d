/* assign.h — deterministic variant assignment.
 *
 * bucket = mix64(fnv1a64(KEY ":" user_id)) mod 10000, where KEY is the
 * experiment's salt if set, else its name; fnv1a64 is 64-bit FNV-1a (offset
 * basis 0xcbf29ce484222325, prime 0x100000001b3) over the bytes, and mix64
 * is the SplitMix64 finalizer (x ^= x>>30; x *= 0xbf58476d1ce4e5b9;
 * x ^= x>>27; x *= 0x94d049bb133111eb; x ^= x>>31), which spreads FNV's
 * weak low bits before the modulo. Variants own consecutive bucket ranges
 * in config order: variant i gets [round(10000·Σ_{j<i} a_j),
 * round(10000·Σ_{j≤i} a_j)). The same (experiment, user) always gets the
 * same variant, on every machine. Reimplement in any language from this. */
#ifndef EA_ASSIGN_H
#define EA_ASSIGN_H
#include <stddef.h>
#include <stdint.h>
#include "config.h"

uint64_t ea_hash(const char *key, size_t keylen, const char *user, size_t userlen);
uint32_t ea_bucket(const char *key, size_t keylen, const char *user, size_t userlen);
/* Fill e->bound from the allocations (done by config loading). */
void ea_assign_bounds(ea_experiment_cfg *e);
/* Variant index for user. */
int ea_assign(const ea_experiment_cfg *e, const char *user, size_t userlen);

#endif
