/* users.c — `recommender --users FILE`, the batch (serving.h). Not record
 * at a time, so not on the runner: the history from --in (if given) is read
 * whole first and checkpointed with --state, then one list per user named,
 * in chunks of --max-batch (batch.c). */
#include "batch.h"
#include "log.h"
#include "serving.h"
#include "sdnotify.h"
#include "sig.h"

int rec_users_run(rec_run *a)
{
    const rec_flags *fl = a->fl;
    counters cn;
    int status = 1, rc = 0;
    rec_counters_start(&cn);
    if (fl->common.state) {
        a->st = state_open(fl->common.state, "recommender", SERVE_STATE_VERSION, SERVE_STATE_SCHEMA);
        if (!a->st || serve_set_state(a->s, a->st)) goto done;
    }
    if (fl->events_in) {
        if (!(a->in = stream_in_open(fl->common.in, &fl->common))) goto done;
        if (a->st) stream_in_set_start(a->in, state_start_offset, a->st);
    }
    if (!(a->out = stream_out_open(fl->common.out, &fl->common))) goto done;
    sd_ready();
    stream_rec r;
    while (a->in && (rc = stream_in_next(a->in, &r)) == 1) rec_take(a, &r);
    if (rc == 0) {
        /* the histories read are saved; the users asked for get lists, not the users of the events */
        if (a->in && rec_checkpoint(a)) rc = -1;
        serve_forget_pending(a->s);
        serve_reload_check(a->s, sig_reload_requested());
        if (rc == 0 && batch_run(a->s, fl->users, &fl->common, (size_t)fl->max_batch, rec_emit, a, &a->batch_users) < 0)
            rc = -1;
        else if (stream_flush(a->out)) rc = -1;
        if (rc == 0 && a->in && stream_sync(a->in, a->out)) rc = -1;
    }
    rec_counters_end(&cn, a, 1);
    if (rc == 0) status = 0;
done:
    if (a->in) stream_in_close(a->in);
    if (a->out && stream_out_close(a->out) != 0) status = 1;
    serve_free(a->s);
    if (a->st) state_close(a->st);
    return status;
}
