/* stats.h — the alerter's counters: the runner's table (metrics file,
 * done line, STATUS=) over one snapshot of the engine and the notifier. */
#ifndef ALERTER_STATS_H
#define ALERTER_STATS_H
#include "counters.h"
#include "engine.h"
#include "follow.h"
#include "notify.h"

typedef struct al_stats {
    al_counters c;
    al_notify_counters n;
    uint64_t active, firing;
    al_follow_stats f;
} al_stats;

extern const counter_def al_counter_table[];
/* nt, fw may be NULL (not open yet, or closed; no --changelog): their
 * counters stay 0 */
void al_stats_take(al_stats *s, const al_engine *e, const al_notify *nt, const al_follow *fw);
#endif
