/* run.c — cache-writer's figures: the snapshot of its counters and the
 * counter table (runner.h) that turns them into metrics and the done line. */
#include <stddef.h>
#include "run.h"

typedef struct cw_snap {
    uint64_t records, writes, errors, reconnects, retries, nx_sent, nx_existed, checked, aborted, scripted;
    uint64_t skipped;
} cw_snap;

const size_t cw_snap_size = sizeof(cw_snap);

void cw_stats(void *ctx, runner *r, void *snap)
{
    cw_main *c = ctx;
    cw_snap *s = snap;
    *s = (cw_snap){ stream_in_count(runner_in(r)), c->pipe.writes, c->pipe.errors, c->pipe.reconnects,
                    c->pipe.retries, c->lay.nx_sent, c->lay.nx_existed, c->lay.checked, c->lay.aborted,
                    c->lay.scripted, c->skipped };
}

/* rpipe's figures (writes, errors, ...) reach Prometheus from rpipe.c:
 * --redis-stats counts them too */
#define S(f) offsetof(cw_snap, f)
const counter_def cw_counters[] = {
    { COUNTER_TOTAL, "streamrec_cache_skipped_total", "Records of types cache-writer does not store", S(skipped) },
    { COUNTER_DONE_ONLY, NULL, NULL, S(records), "records", "records" },
    { COUNTER_DONE_ONLY, NULL, NULL, S(writes), "writes", "Redis writes" },
    { COUNTER_DONE_ONLY, NULL, NULL, S(errors), "errors", "errors" },
    { COUNTER_DONE_ONLY, NULL, NULL, S(reconnects), "reconnects" },
    { COUNTER_DONE_ONLY, NULL, NULL, S(retries), "retries" },
    { COUNTER_DONE_ONLY, NULL, NULL, S(nx_sent), "set_nx" },
    { COUNTER_DONE_ONLY, NULL, NULL, S(nx_existed), "set_nx_found_key" },
    { COUNTER_DONE_ONLY, NULL, NULL, S(checked), "checked" },
    { COUNTER_DONE_ONLY, NULL, NULL, S(aborted), "aborted" },
    { COUNTER_DONE_ONLY, NULL, NULL, S(scripted), "scripted" },
    { 0 }
};
#undef S
