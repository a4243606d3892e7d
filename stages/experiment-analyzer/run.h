/* run.h — what experiment-analyzer's run loops share: the single-process
 * run (main.c) and the scale-out modes (scaleout.c: --emit partials,
 * --merge). */
#ifndef EA_RUN_H
#define EA_RUN_H
#include <stdint.h>
#include "analyze.h"
#include "config.h"
#include "metrics.h"
#include "state.h"
#include "stream.h"

typedef struct ea_ctx {
    ea_engine *ea;
    const ea_config *cfg;
    stream_in *in;
    stream_out *out;
    state *st;
    int64_t last_ts;
    char *topic;                  /* --emit partials from Kafka: the source topic */
    metrics_series *m_results, *m_users, *m_mem, *m_unknown, *m_dups;
    const char *report, *report_file;   /* --report, --report-file */
    uint64_t max_users, dedup_n;         /* --max-users; --dedup-window's ids (or --dedup-max) */
    int64_t dedup_span_us;               /* --dedup-window DURATION, else 0 */
    int64_t idle_us;                     /* --idle-timeout: idle snapshots repeated this often (scale-out) */
} ea_ctx;

/* The report boundary after event time t: the one formula of the single
 * run, each partition of --emit partials and --merge. */
static inline int64_t ea_next_boundary(int64_t t, int64_t every) { return (t / every + 1) * every; }

/* run.c: an engine with the command line's bounds (--max-users,
 * --dedup-window); the results of this report written (and --report). */
ea_engine *ea_engine_new(const ea_ctx *c, int mergeable);
int ea_emit(ea_ctx *c);
/* The outcome of ea_event: rejects go to the dead letter. */
void ea_event_outcome(ea_ctx *c, stream_rec *r, int er);

/* scaleout.c: the run of each mode; the exit status. partition: which
 * partition of the source a file or pipe is; partitions: how many the
 * source has (0: the Kafka topic's, or 1). */
int ea_partials_main(ea_ctx *c, int64_t every_us, int32_t partition, int32_t partitions);
int ea_merge_main(ea_ctx *c, int64_t every_us);
#endif
