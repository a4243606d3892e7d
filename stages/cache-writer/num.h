/* num.h — number formatting for the hot path: the same numbers libstream's
 * json_format_double and printf("%lld") give, several times faster.
 *
 * num_f64 writes the shortest fixed-point decimal (up to 9 places) that
 * reads back as exactly v when there is one, which is the common case for
 * scores, counts and ratios; otherwise it defers to json_format_double
 * (shortest of %.15g/%.16g/%.17g). Either way strtod(buf) == v: the output
 * round-trips. NaN and infinities give "null", as in JSON. */
#ifndef CACHE_WRITER_NUM_H
#define CACHE_WRITER_NUM_H
#include <stdint.h>

#define NUM_BUF 40   /* room for any output, with the NUL */

/* Write v into buf (NUL-terminated); the length. */
int num_f64(char *buf, double v);
int num_i64(char *buf, int64_t v);
int num_u64(char *buf, uint64_t v);
#endif
