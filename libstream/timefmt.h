/* timefmt.h — time as µs since the Unix epoch (UTC): now, and ISO 8601. */
#ifndef STREAMREC_TIMEFMT_H
#define STREAMREC_TIMEFMT_H
#include <stddef.h>
#include <stdint.h>
int64_t now_us(void);            /* CLOCK_REALTIME */
int64_t mono_us(void);           /* CLOCK_MONOTONIC, for intervals */
/* "2026-11-23T10:00:00.123456Z" (fraction trimmed to ms when exact); buf >= 32. Returns length. */
int time_format_iso(int64_t us, char *buf);
/* Accepts YYYY-MM-DD[T ]HH:MM[:SS[.frac]] with Z or ±HH[:MM], and a bare
 * date. 0 or -1. */
int time_parse_iso(const char *s, size_t len, int64_t *us);
#endif
