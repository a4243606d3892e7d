/* run.h — what cache-writer's runner callbacks (main.c) share with the
 * figures they report (run.c): the process's parts and the counter table. */
#ifndef CACHE_WRITER_RUN_H
#define CACHE_WRITER_RUN_H
#include <stdint.h>
#include "layout.h"
#include "rpipe.h"
#include "runner.h"

typedef struct cw_main {
    layout lay;
    rpipe pipe;
    int opened, connected, failed;  /* lay set up (fini frees it); Redis answered; a send from idle failed */
    uint64_t skipped;
} cw_main;

/* The counter table (runner.h) and the snapshot it reads (stats_size, stats). */
extern const counter_def cw_counters[];
extern const size_t cw_snap_size;
void cw_stats(void *ctx, runner *r, void *snap);
#endif
