/* window.c — window assignment and watermark (see window.h). */
#include "window.h"

int agg_wspec_check(const agg_wspec *w, const char **why)
{
    if (w->size <= 0 || w->hop <= 0) { *why = "window and hop must be positive"; return -1; }
    if (w->size > AGG_MAX_WINDOW) { *why = "window must be at most 3650d"; return -1; }
    if (w->hop > w->size) { *why = "hop must not exceed the window"; return -1; }
    if (w->size % w->hop) { *why = "window must be a multiple of hop"; return -1; }
    if (w->size / w->hop > AGG_MAX_PER_EVENT) { *why = "window/hop must be at most 64"; return -1; }
    return 0;
}

int agg_window_starts(const agg_wspec *w, int64_t t, int64_t *starts)
{
    int64_t last = agg_floor_div(t, w->hop) * w->hop;
    int n = (int)(w->size / w->hop);
    for (int i = 0; i < n; i++) starts[i] = last - (int64_t)(n - 1 - i) * w->hop;
    return n;
}

int64_t agg_window_first_end(const agg_wspec *w, int64_t t)
{
    int64_t last = agg_floor_div(t, w->hop) * w->hop;
    return last - (w->size - w->hop) + w->size;
}

int64_t agg_wm_value(const agg_watermark *wm)
{
    if (!wm->seen) return INT64_MIN;
    if (wm->max_ts < INT64_MIN + wm->lateness) return INT64_MIN;
    return wm->max_ts - wm->lateness;
}

int agg_wm_is_late(const agg_watermark *wm, int64_t first_end)
{
    return wm->seen && first_end <= agg_wm_value(wm);
}

int agg_wm_advance(agg_watermark *wm, int64_t t)
{
    if (!wm->seen || t > wm->max_ts) { wm->max_ts = t; wm->seen = 1; return 1; }
    return 0;
}
