/* microbatch.c — when the stream's micro-batch is due (microbatch.h). */
#include "microbatch.h"
#include "sig.h"
#include "timefmt.h"

/* The micro-batch is due (--flush-interval after its first event,
 * --max-batch users, SIGHUP): RUNNER_SYNC, and rec_flush writes it. A
 * SIGHUP with no user pending reloads at once. */
int rec_batch_check(rec_run *a)
{
    size_t pend = serve_pending(a->s);
    int64_t now = mono_us();
    if (pend && !a->batch_start) a->batch_start = now;
    int hup = sig_reload_requested();
    if (pend && (now - a->batch_start >= a->fl->flush_us || pend >= (size_t)a->fl->max_batch || hup)) {
        a->flush_due = 1;
        a->hup = hup;
        return RUNNER_SYNC;
    }
    if (hup) serve_reload_check(a->s, 1);
    return RUNNER_OK;
}
