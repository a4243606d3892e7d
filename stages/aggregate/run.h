/* run.h — what aggregate's runner callbacks (main.c) share with run.c:
 * the process's parts, opening them, the dead-letter reasons and the
 * counter tables. */
#ifndef AGG_RUN_H
#define AGG_RUN_H
#include <stdint.h>
#include "engine.h"
#include "features.h"
#include "flags.h"
#include "menc.h"
#include "partial.h"
#include "parts.h"
#include "runner.h"
#include "stream.h"

typedef struct agg_main {
    int partials, merge;    /* fl.cfg.mode */
    agg_parts parts;        /* --emit partials */
    agg_pscratch psc;       /* --merge */
    stream_in *in;
    stream_out *out;
    agg_engine *eng;        /* not with --emit partials (one per partition: parts) */
    agg_features *fs;
    agg_menc *menc;         /* Metrics encoded by template (menc.h) */
    uint64_t ignored, merged;
} agg_main;

/* The engine (its Metrics to a->out) and the feature store, which lives
 * in the --state database st (or in memory without it): both exist before
 * a checkpoint loads. RUNNER_OK or RUNNER_FAIL. */
int agg_open(agg_main *a, const agg_flags *fl, state *st);
/* --merge over Kafka: every partition of the partials topic owned is at
 * its end. */
int agg_merge_caught_up(stream_in *in);
/* Free what the callbacks opened (any of it may be NULL). */
void agg_main_free(agg_main *a);

/* A record the engine refused (ar: AGG_LATE, AGG_FUTURE, ...) goes to the
 * dead letter with its reason. */
void agg_reject(agg_main *a, agg_engine *eng, const stream_rec *r, int ar);

/* The counter tables of the three modes (runner.h) and the figures they
 * read (stats_size, stats). */
extern const counter_def agg_table[], agg_table_partials[], agg_table_merge[];
size_t agg_stats_size(void);
void agg_stats_fill(void *ctx, runner *r, void *snap);
#endif
