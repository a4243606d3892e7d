/* runner.h — the life cycle of a stage that reads records one at a time:
 * the stage gives callbacks and a counter table (counters.h), the runner
 * does the rest, in this order:
 *
 *   state_open and restore (--state) -> open --in, --out -> init -> READY=1 ->
 *   for each record: record, and at each sync point (stream_sync_due, about
 *   every second or 10,000 records, or record's RUNNER_SYNC) tick, sync,
 *   counters, STATUS= -> while the input is quiet, every tick_ms: idle,
 *   tick, a sync when due ->
 *   end of input: finish, sync, counters, the "done" line -> fini, close.
 *
 * A sync is the stage's at-least-once step: flush (deliver what records
 * produced: notifications, batches), then with --state flush --out and save
 * (the stage's state) with the input offsets in one transaction, then
 * stream_sync commits the input. The commit always comes after the
 * checkpoint, so the saved state never runs behind what Kafka was told; a
 * rebalance (stream_in_set_before_revoke) runs the stage's revoke, then,
 * with --state, the same sync. flush may decline (RUNNER_SKIP: not at a
 * point where the input may be committed, e.g. a micro-batch still open):
 * then nothing is saved or committed, and the next sync point tries again.
 * With --state, records flowing sync at most every checkpoint_us (or when
 * record or tick asks: RUNNER_SYNC); a quiet
 * input syncs on its tick when records came since the last sync and
 * quiet_sync_us passed since it (or tick asks).
 *
 * Who keeps a stage alive: metrics_tick() is the one heartbeat (it writes
 * --metrics-file when due and sends systemd's WATCHDOG=1, metrics.h). The
 * runner calls it: per record through stream_sync_due (which calls it once
 * per step of the coarse clock), and on each tick
 * while the input is quiet. (io.c's and stream.c's idle polls still call it
 * as well, for the stages not on the runner yet; a stage on the runner never
 * calls it, nor sd_watchdog_tick.)
 *
 * Exit status (runner_main's return): 0 the input ended (or a stop was
 * requested) and the last sync succeeded; 1 a failure (open, init, record,
 * a sync, closing --out); 2 restore or init returned RUNNER_USAGE (e.g. a
 * checkpoint made with other settings). The "done" line is logged only once the loop
 * ran. Ingest's threaded loop and recommender's --users batch are not
 * record-at-a-time: they keep their own loops. */
#ifndef STREAMREC_RUNNER_H
#define STREAMREC_RUNNER_H
#include <stdint.h>
#include "cli.h"
#include "counters.h"
#include "state.h"
#include "stream.h"

typedef struct runner runner;

enum {
    RUNNER_OK = 0,
    RUNNER_SKIP = 1,      /* record: nothing of this record counts (it is not dirty, no sync point) */
    RUNNER_SYNC = 2,      /* record, tick, idle: sync now (record: a sync point even if none is due;
                           * tick: even with no new record) */
    RUNNER_FAIL = -1,
    RUNNER_USAGE = -2,    /* restore, init: exit 2 */
};

/* Every callback is optional but record (or line); ctx is runner_main's. */
typedef struct runner_def {
    const char *stage;          /* owner name of the --state file (state_open) */
    int state_version;
    const char *state_schema;   /* the stage's tables, or NULL */
    int tick_ms;                /* quiet input: tick this often */
    int64_t checkpoint_us;      /* --state: at most one sync this often while records flow (0: every sync point) */
    int64_t quiet_sync_us;      /* a quiet input syncs new records once this long after the last sync (0: at once) */
    /* never commit the input nor save its offsets (stream_in_set_no_commit):
     * the stage reads each partition from where it chooses (its own
     * stream_in_set_start in init), e.g. from the start to rebuild state */
    int no_commit;
    /* --state is the stage's to save: the runner opens it and calls
     * restore, but takes no checkpoint (no transaction at a sync, no sync
     * at a rebalance, no start offsets): flush and revoke save the state
     * and the input offsets themselves, in an order they own (recommender:
     * histories, changelog, offsets) */
    int own_state;
    /* the stage writes no record stream (cache-writer writes to Redis):
     * --out is not opened and runner_out is NULL */
    int no_out;
    const counter_def *counters;
    size_t stats_size;          /* the snapshot struct the counter table points into */

    /* --state: load the checkpoint, before any stream is opened (a refused
     * one leaves --out untouched); RUNNER_OK, RUNNER_FAIL, RUNNER_USAGE */
    int (*restore)(void *ctx, runner *r, state *st);
    /* in and out are open (runner_in, runner_out); then the counters'
     * baseline is taken: a restored total is not counted again */
    int (*init)(void *ctx, runner *r);
    /* one record: RUNNER_OK, RUNNER_SKIP, RUNNER_FAIL (stops, exit 1) */
    int (*record)(void *ctx, runner *r, stream_rec *rec);
    /* instead of record, for a stage that reads lines (stream_in_next_line,
     * at most max_line bytes each): the same answers */
    int (*line)(void *ctx, runner *r, stream_line *l);
    size_t max_line;
    /* at each sync point and each quiet tick (SIGHUP, timers): RUNNER_OK,
     * RUNNER_SYNC, RUNNER_FAIL */
    int (*tick)(void *ctx, runner *r);
    /* a quiet input, each tick_ms, before tick (e.g. let a watermark on
     * past idle partitions): RUNNER_OK, RUNNER_SYNC, RUNNER_FAIL */
    int (*idle)(void *ctx, runner *r);
    /* Kafka is about to take partitions away (also without --state),
     * before the rebalance's sync; nonzero: nothing is committed */
    int (*revoke)(void *ctx, runner *r);
    /* first step of every sync: deliver what records produced; 0, -1, or
     * RUNNER_SKIP: not now (nothing saved nor committed this time) */
    int (*flush)(void *ctx, runner *r);
    /* --state, inside the checkpoint's transaction: 0 or -1 (rolled back) */
    int (*save)(void *ctx, runner *r, state *st);
    /* end of input, before the last sync (close windows); 0 or -1 */
    int (*finish)(void *ctx, runner *r);
    /* fill the snapshot (stats_size bytes, zeroed) the counter table reads */
    void (*stats)(void *ctx, runner *r, void *snap);
    /* append to the STATUS= text (buf holds the counter table's words,
     * n its size), e.g. ", model V"; NULL: the words alone */
    void (*status)(void *ctx, runner *r, char *buf, size_t n);
    /* free what the stage holds; streams are still open, the state too */
    void (*fini)(void *ctx, runner *r);
} runner_def;

int runner_main(const runner_def *def, const cli_common *common, void *ctx);

stream_in *runner_in(runner *r);
stream_out *runner_out(runner *r);
state *runner_state(runner *r);          /* NULL without --state */
uint64_t runner_checkpoints(const runner *r);   /* checkpoints committed so far */
#endif
