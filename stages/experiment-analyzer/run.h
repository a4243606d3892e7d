/* run.h — what experiment-analyzer's run loops share: the single-process
 * run (main.c) and the scale-out modes (scaleout.c: --emit partials,
 * --merge). */
#ifndef EA_RUN_H
#define EA_RUN_H
#include <stddef.h>
#include <stdint.h>
#include "analyze.h"
#include "config.h"
#include "metrics.h"
#include "runner.h"
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
    metrics_series *m_results;
    int report;                          /* --report: EA_REPORT_* (report.h), or -1 */
    const char *report_file;             /* --report-file */
    uint64_t max_users, dedup_n;         /* --max-users; --dedup-window's ids (or --dedup-max) */
    int64_t dedup_span_us;               /* --dedup-window DURATION, else 0 */
    int64_t idle_us;                     /* --idle-timeout: idle snapshots repeated this often (scale-out) */
    int64_t every_us, every_events;      /* --report-every: a DURATION of event time, or N events */
    int32_t partition, partitions;       /* --emit partials: --partition, --partitions */
    int64_t reports;                     /* reports computed */
    uint64_t ignored;                    /* records of other types than Event */
    int64_t nev, next_ts;                /* the single run: events counted, next report boundary */
    int fresh;                           /* the single run: the last report is up to date (no Event since) */
    void *scale;                         /* the scale-out mode's own (scaleout.c) */
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

/* The figures the counter tables read: m for Prometheus (the single run
 * sets them; the scale-out modes leave them at zero, as they did before the
 * runner), d for the done line. */
typedef struct ea_figures {
    uint64_t records, events, exposed_users, memory_bytes, reports, duplicates, unknown;
    uint64_t ignored, users_dropped;                        /* other record types; --max-users */
    uint64_t already_counted, final;                        /* --emit partials */
    uint64_t held, held_total, released_early, marks_passed;   /* --emit partials: records waiting for marks */
    uint64_t partials_kept, partials_ignored, refused, complete;   /* --merge */
    double bytes_per_user;
} ea_figures;
typedef struct ea_snap { ea_figures m, d; } ea_snap;
/* the Prometheus rows of every mode; users_word: STATUS='s, or NULL */
#define EA_METRIC_ROWS(users_word) \
    { COUNTER_GAUGE, "streamrec_experiment_users", "exposed users held in memory", \
      offsetof(ea_snap, m.exposed_users), NULL, users_word }, \
    { COUNTER_GAUGE, "streamrec_experiment_memory_bytes", "bytes held for exposed users", \
      offsetof(ea_snap, m.memory_bytes) }, \
    { COUNTER_GAUGE, "streamrec_experiment_unknown_events", "events naming an experiment not in the config", \
      offsetof(ea_snap, m.unknown) }, \
    { COUNTER_TOTAL, "streamrec_experiment_duplicates_total", \
      "events dropped: their event_id was among the last --dedup-window counted", offsetof(ea_snap, m.duplicates) }, \
    { COUNTER_TOTAL, "streamrec_experiment_ignored_total", \
      "records of other types than Event, not analysed", offsetof(ea_snap, m.ignored) }, \
    { COUNTER_TOTAL, "streamrec_experiment_users_dropped_total", \
      "exposures of new users refused: --max-users users were held", offsetof(ea_snap, m.users_dropped) }

/* scaleout.c: each mode's runner definition (runner.h; ctx: an ea_ctx).
 * --emit partials keeps no state; --merge's state is the number of reports
 * written. */
extern const runner_def ea_partials_def, ea_merge_def;
#endif
