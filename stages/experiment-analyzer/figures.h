/* figures.h — the single run's counter table (figures.c) and the
 * snapshot it reads (ea_snap, run.h; ctx: an ea_ctx). The scale-out modes'
 * tables are in scaleout.c. */
#ifndef EA_FIGURES_H
#define EA_FIGURES_H
#include "run.h"

extern const counter_def ea_table[];
void ea_stats_fill(void *ctx, runner *r, void *snap);
#endif
