/* serving.h — what the two serving runs share: the stream on the runner
 * (main.c) and the users batch (users.c). One rec_run each; the engine is
 * serve.c. */
#ifndef STREAMREC_REC_SERVING_H
#define STREAMREC_REC_SERVING_H
#include <stddef.h>
#include <stdint.h>
#include "changelog.h"
#include "counters.h"
#include "flags.h"
#include "runner.h"
#include "serve.h"
#include "stream.h"

typedef struct rec_run {
    const rec_flags *fl;
    serve *s;
    state *st;                    /* --state, or NULL */
    changelog *cl;                /* --changelog, or NULL */
    stream_in *in;                /* NULL: --users without --in */
    stream_out *out;
    uint64_t other;               /* records of other types than Event */
    uint64_t batch_users;         /* --users: lists asked for */
    int64_t batch_start;          /* mono µs of the pending batch's first event, 0: none */
    int flush_due, hup;           /* the micro-batch is due (hup: SIGHUP came with it) */
    int rebalanced;               /* partitions were assigned or revoked since the last record */
    int failed;                   /* a flush outside the record loop failed */
} rec_run;

/* An input record into the histories (an Event: its user is pending; a
 * refused one is dead-lettered; another type is counted). */
void rec_take(rec_run *a, const stream_rec *r);
/* --changelog: open it (a->in open: it needs as many partitions) and give
 * it to the engine. 0 or -1 (logged). */
int rec_changelog_open(rec_run *a);
/* --check: print what the model and the rules hold; the exit status. */
int rec_check(rec_run *a);
/* After a rebalance: the users of partitions no longer owned are dropped
 * (serve_keep_partitions). 0 or -1. */
int rec_keep_owned(rec_run *a);
/* With --state or --changelog: flush --out, then save the users of the
 * last flush and those pending with the input offsets (serve_checkpoint).
 * 0 or -1. */
int rec_checkpoint(rec_run *a);
/* serve_emit_fn: one list to --out, cut to fit --max-record. */
int rec_emit(void *ctx, const Recommendation *rec);

/* figures.c: the counter table (Prometheus, STATUS=, the done line) and
 * the snapshot it reads (runner.h's stats, status; ctx a rec_run). */
extern const counter_def rec_counters[];
extern const size_t rec_figures_size;
void rec_figures_fill(void *ctx, runner *r, void *snap);
void rec_status(void *ctx, runner *r, char *buf, size_t n);
/* Without the runner (--users, --check): the table registered at the
 * start; at the end published, and the done line logged if done_line. */
void rec_counters_start(counters *cn);
void rec_counters_end(counters *cn, rec_run *a, int done_line);

/* users.c: --users, the batch (its own loop: history from --in if given,
 * then one list per user named). The exit status. */
int rec_users_run(rec_run *a);
#endif
