/* timefmt.h — time in µs: the clocks, ISO 8601 timestamps (µs since the
 * Unix epoch, UTC) and durations ("90s", "1h30m"). */
#ifndef STREAMREC_TIMEFMT_H
#define STREAMREC_TIMEFMT_H
#include <stddef.h>
#include <stdint.h>
int64_t now_us(void);            /* CLOCK_REALTIME */
int64_t mono_us(void);           /* CLOCK_MONOTONIC, for intervals */
int64_t mono_ms(void);           /* the same in ms (Kafka's timeouts) */
int64_t mono_coarse_us(void);    /* CLOCK_MONOTONIC_COARSE: cheaper, ms-coarse */
/* "2026-11-23T10:00:00.123456Z" (fraction trimmed to ms when exact); buf >= 32. Returns length. */
int time_format_iso(int64_t us, char *buf);
/* Accepts YYYY-MM-DD[T ]HH:MM[:SS[.frac]] with Z or ±HH[:MM], and a bare
 * date. 0 or -1. */
int time_parse_iso(const char *s, size_t len, int64_t *us);
/* A duration: a number and a unit (us, ms, s, m, h, d, w), repeated
 * ("1h30m", "1.5s"); a bare number is seconds, alone only. 0 or -1. */
int time_parse_duration(const char *s, int64_t *us);
/* "90s", "10m", "250ms": the largest unit that divides us exactly. */
void time_format_duration(int64_t us, char *buf, size_t n);
#endif
