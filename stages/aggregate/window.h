/* window.h — event-time windows and the watermark.
 *
 * A window spec is (size, hop), hop == size for tumbling windows; windows
 * are aligned to the Unix epoch: [k*hop, k*hop + size). size must be a
 * multiple of hop, so an event falls in exactly size/hop windows of a spec.
 *
 * Watermark = the largest time the input was complete up to (the stage's
 * stream_in_event_time: over Kafka partitions their minimum; for one
 * ordered stream the largest event time seen) - allowed lateness. A window closes
 * (is emitted, once) when the watermark reaches its end. An event is late
 * when any window it belongs to has already closed, i.e. when the earliest
 * of them ends at or before the watermark: it is then rejected as a whole,
 * never folded into a part of its windows. Input that is out of order by no
 * more than the allowed lateness is therefore never late and gives the same
 * windows as sorted input. */
#ifndef AGG_WINDOW_H
#define AGG_WINDOW_H
#include <stdint.h>

#define AGG_MAX_SPECS 8
#define AGG_MAX_PER_EVENT 64     /* size/hop bound */
#define AGG_MAX_WINDOW (3650LL * 86400 * 1000000)   /* µs: ten years */

typedef struct agg_wspec { int64_t size, hop; } agg_wspec;

/* floor(a / b) for b > 0, also for negative a. */
static inline int64_t agg_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* 0, or -1 with a reason in *why: size and hop > 0, size <= AGG_MAX_WINDOW,
 * hop <= size, size % hop == 0, size/hop <= AGG_MAX_PER_EVENT. */
int agg_wspec_check(const agg_wspec *w, const char **why);
/* Starts of the windows containing t, ascending; returns their count. */
int agg_window_starts(const agg_wspec *w, int64_t t, int64_t *starts);
/* End of the earliest window of spec w containing t. */
int64_t agg_window_first_end(const agg_wspec *w, int64_t t);

typedef struct agg_watermark {
    int64_t max_ts;     /* largest input event time given (agg_wm_advance) */
    int64_t lateness;
    int seen;           /* max_ts is valid */
} agg_watermark;

/* INT64_MIN before any event. */
int64_t agg_wm_value(const agg_watermark *wm);
/* 1 when an event whose earliest window ends at first_end is late. */
int agg_wm_is_late(const agg_watermark *wm, int64_t first_end);
/* The input is complete up to t; returns 1 if the watermark moved. */
int agg_wm_advance(agg_watermark *wm, int64_t t);
#endif
