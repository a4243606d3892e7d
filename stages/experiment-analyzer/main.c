/* experiment-analyzer — A/B experiments from Event records: exposures,
 * metrics, tests, always-valid decisions; ExperimentResult records out.
 * `experiment-analyzer assign` prints the variant of user ids on stdin.
 * The logic lives in analyze.c (engine), store.c (its users), results.c
 * (looks and decisions), checkpoint.c (--state), stats.c, assign.c,
 * config.c, report.c and, for the scale-out modes, partial.c and
 * scaleout.c; flags.c holds the flags. This file is the single run's
 * callbacks on the runner (runner.h); figures.c its counter table,
 * scaleout.c the scale-out modes' runner definitions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analyze.h"
#include "assign.h"
#include "figures.h"
#include "flags.h"
#include "log.h"
#include "metrics.h"
#include "run.h"
#include "stream.h"

/* `experiment-analyzer assign`: one variant name per user id line. */
static int ea_assign_main(int argc, char **argv)
{
    ea_flags f;
    ea_config cfg;
    const ea_experiment_cfg *e;
    ea_assign_flags(argc, argv, &f, &cfg, &e);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        fputs(e->variants[ea_assign(e, line, (size_t)n)].name, stdout);
        putchar('\n');
    }
    free(line);
    ea_config_free(&cfg);
    if (fflush(stdout) != 0 || ferror(stdout)) { fprintf(stderr, "experiment-analyzer assign: write error\n"); return 1; }
    return 0;
}

/* The single run (README "Usage"): one engine, results at each report. */
static int ea_restore(void *ctx, runner *r, state *st)
{
    int lr = ea_state_load(((ea_ctx *)ctx)->ea, st);
    return lr == -2 ? RUNNER_USAGE : lr < 0 ? RUNNER_FAIL : RUNNER_OK;
}

static int ea_init(void *ctx, runner *r)
{
    ea_ctx *c = ctx;
    c->in = runner_in(r);
    c->out = runner_out(r);
    return RUNNER_OK;
}

static int ea_record(void *ctx, runner *rn, stream_rec *r)
{
    ea_ctx *c = ctx;
    if (r->type != &Event_desc) { c->ignored++; return RUNNER_OK; }   /* counted: ignored_total */
    if (ea_is_duplicate(c->ea, &r->as.event))
        return RUNNER_OK;   /* a copy of a counted event changes nothing, not even the report cadence */
    const Event *ev = &r->as.event;
    /* reports by event time go by the time the input is complete up to
     * (over Kafka partitions their minimum), so a partition read ahead does
     * not date a report the others have not reached */
    stream_in_note_time(c->in, &r->pos, ev->ts);
    int64_t t = c->every_us ? stream_in_event_time(c->in) : INT64_MIN;
    if (c->every_us && t != INT64_MIN && t >= c->next_ts) {
        if (c->next_ts && ea_emit(c) < 0) return RUNNER_FAIL;
        if (c->next_ts) c->reports++;
        c->next_ts = ea_next_boundary(t, c->every_us);
    }
    if (ev->ts > c->last_ts) c->last_ts = ev->ts;
    c->fresh = 0;
    ea_event_outcome(c, r, ea_event(c->ea, ev));
    if (c->every_events && ++c->nev % c->every_events == 0) {
        if (ea_emit(c) < 0) return RUNNER_FAIL;
        c->reports++;
        c->fresh = 1;
    }
    return RUNNER_OK;
}

/* the report at end of input, unless the last one already says it all */
static int ea_finish(void *ctx, runner *r)
{
    ea_ctx *c = ctx;
    return !c->fresh && ea_emit(c) < 0 ? -1 : 0;
}

static int ea_save(void *ctx, runner *r, state *st) { return ea_state_save(((ea_ctx *)ctx)->ea, st); }

/* Every sync point checkpoints (the users and the input offsets). */
static const runner_def ea_def = {
    .stage = "experiment-analyzer", .state_version = 1, .state_schema = ea_state_schema, .tick_ms = 500,
    .counters = ea_table, .stats_size = sizeof(ea_snap), .stats = ea_stats_fill,
    .restore = ea_restore, .init = ea_init, .record = ea_record, .finish = ea_finish, .save = ea_save,
};

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "assign") == 0) return ea_assign_main(argc - 1, argv + 1);
    ea_flags f;
    ea_config cfg;
    ea_flags_start(argc, argv, &f, &cfg);
    ea_ctx c = {
        .cfg = &cfg, .report = f.report, .report_file = f.report_file,
        .max_users = (uint64_t)f.max_users, .dedup_span_us = f.dedup_window.us,
        .dedup_n = (uint64_t)(f.dedup_window.us ? f.dedup_max : f.dedup_window.count),
        .idle_us = f.common.idle_timeout, .every_us = f.report_every.us, .every_events = f.report_every.count,
        .partition = (int32_t)f.partition, .partitions = (int32_t)f.partitions,
    };
    c.m_results = metrics_counter("streamrec_experiment_results_total", "ExperimentResult records written");
    c.ea = ea_engine_new(&c, f.mergeable || f.merge || f.emit_partials);
    int status = 2;
    if (f.common.state && f.emit_partials)
        /* usage error, before anything is opened */
        log_error("--state: not with --emit partials, which keeps none: a partition's owner rebuilds its users "
                  "from the partition's start (README \"Scaling out\")");
    else
        status = runner_main(f.emit_partials ? &ea_partials_def : f.merge ? &ea_merge_def : &ea_def, &f.common, &c);
    free(c.topic);
    ea_free(c.ea);
    ea_config_free(&cfg);
    cli_common_free(&f.common);    /* the -X list */
    return status;
}
