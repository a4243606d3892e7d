/* run.h — what drift's runner callbacks (main.c) share with the
 * counter table (run.c): the process's parts and the table. */
#ifndef DRIFT_RUN_H
#define DRIFT_RUN_H
#include <stddef.h>
#include <stdint.h>
#include "engine.h"
#include "flags.h"
#include "runner.h"

typedef struct drift_main {
    const drift_flags *fl;
    drift_engine *eng;
    stream_out *out;
    uint64_t skip;      /* input records the saved state already covers */
    /* --changelog (follow.h) */
    struct changelog *cl;           /* NULL without */
    stream_in *in;
    int rebalanced;                 /* partitions moved: drop the series of those gone */
    int finishing;                  /* end of input: the last checkpoint is due whatever the interval */
    int64_t cl_last_us;             /* mono_us of the last checkpoint */
    uint64_t restored_partitions, changelog_series, changelog_bad, dropped_series;
} drift_main;

/* The counter table (runner.h) and the snapshot it reads (stats_size, stats). */
extern const counter_def drift_counter_table[];
extern const size_t drift_stats_size;
void drift_stats_fill(void *ctx, runner *r, void *snap);
#endif
