/* testrng.h — the unit tests' seeded random numbers: splitmix64 (Steele,
 * Lea and Flood, OOPSLA 2014), the same sequence on every machine (rand()'s
 * is not). Each test keeps its own state, which is its seed. */
#ifndef STREAMREC_TESTRNG_H
#define STREAMREC_TESTRNG_H
#include <math.h>
#include <stdint.h>

static inline uint64_t trng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
/* uniform on [0, 1) */
static inline double trng_unif(uint64_t *s) { return (double)(trng_next(s) >> 11) * 0x1.0p-53; }
/* uniform on (0, 1): its log is finite */
static inline double trng_unif_open(uint64_t *s) { return ((double)(trng_next(s) >> 11) + 0.5) * 0x1.0p-53; }
/* standard normal (Box-Muller) */
static inline double trng_normal(uint64_t *s)
{
    return sqrt(-2 * log(trng_unif_open(s))) * cos(2 * M_PI * trng_unif_open(s));
}
#endif
