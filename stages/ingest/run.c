/* run.c — what ingest does with each line's outcome, shared by the
 * sequential loop (main.c) and the threaded one (par.c), so both refuse,
 * count, sync and report alike (par.h: ingest_run). */
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "par.h"
#include "sdnotify.h"

static void run_strict_stop(ingest_run *r)
{
    /* --strict: stream_reject exits; what came before is delivered first
     * (offsets are not committed: a restart reads it again, at least once) */
    if (r->before_strict) r->before_strict(r->before_strict_ctx);
    (void)stream_flush(r->out);
}

void ingest_run_reject(ingest_run *r, const stream_pos *pos, const char *reason, const char *detail,
                       const char *raw, size_t len)
{
    if (r->strict) run_strict_stop(r);
    stream_reject(r->in, pos, reason, detail, raw, len);
}

void ingest_run_too_long(ingest_run *r, const stream_pos *pos, const char *raw, size_t len)
{
    char msg[96];
    snprintf(msg, sizeof msg, "the line is longer than --max-line %llu bytes", (unsigned long long)r->max_line);
    ingest_run_reject(r, pos, "line_too_long", msg, raw, len);
    r->too_long++;
}

int ingest_run_outcome(ingest_run *r, int rc, const stream_pos *pos, const char *reason, const char *detail,
                       const char *raw, size_t rawlen, uint64_t ev0, uint64_t sm0)
{
    ingest *g = r->g;
    if (rc == ING_BAD) {
        ingest_run_reject(r, pos, reason, detail, raw, rawlen);
    } else if (rc == ING_DUP) {
        metrics_add(r->m_dups, 1);
    } else if (rc == ING_FAIL) {
        if (reason && !strcmp(reason, "usage")) { log_error("%s", detail); r->usage = 1; }
        r->failed = 1;
        return -1;
    }
    metrics_add(r->m_events, (double)(g->n_events - ev0));
    metrics_add(r->m_samples, (double)(g->n_samples - sm0));
    /* the clock checks below cost more than a line's bookkeeping; a byte
     * stream flushes when it goes quiet anyway, Kafka commits need them */
    if (++r->ticks % INGEST_TICK_LINES && !r->every_line) return 0;
    if (stream_sync_due(r->in)) {
        if (stream_sync(r->in, r->out)) { r->failed = 1; return -1; }
        sd_status("%llu lines, %llu events, %llu samples, %llu refused, %llu duplicates",
                  (unsigned long long)stream_in_count(r->in), (unsigned long long)g->n_events,
                  (unsigned long long)g->n_samples, (unsigned long long)(g->n_bad + r->too_long),
                  (unsigned long long)g->n_dups);
    }
    sd_watchdog_tick();
    metrics_tick();
    return 0;
}
