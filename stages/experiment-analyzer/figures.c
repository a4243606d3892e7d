/* figures.c — the single run's figures: the snapshot its counter table
 * (runner.h) reads, for Prometheus and the done line. */
#include <stddef.h>
#include "figures.h"

void ea_stats_fill(void *ctx, runner *r, void *snap)
{
    ea_ctx *c = ctx;
    ea_snap *s = snap;
    ea_figures *d = &s->d;
    d->records = stream_in_count(runner_in(r));
    d->exposed_users = ea_users(c->ea);
    d->memory_bytes = ea_memory(c->ea);
    d->bytes_per_user = d->exposed_users ? (double)d->memory_bytes / (double)d->exposed_users : 0.0;
    d->reports = (uint64_t)c->reports;
    d->duplicates = ea_duplicates(c->ea);
    d->unknown = ea_events_unknown_experiment(c->ea);
    d->ignored = c->ignored;
    d->users_dropped = ea_users_dropped(c->ea);
    s->m = *d;
}

#define D(f) offsetof(ea_snap, d.f)
const counter_def ea_table[] = {
    EA_METRIC_ROWS("exposed users"),
    { COUNTER_DONE_ONLY, NULL, NULL, D(records), "records" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(exposed_users), "exposed_users" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(memory_bytes), "memory_bytes" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(bytes_per_user), "bytes_per_user", NULL, COUNTER_F64 },
    { COUNTER_DONE_ONLY, NULL, NULL, D(reports), "reports", "reports" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(duplicates), "duplicates" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(ignored), "ignored" },
    { COUNTER_DONE_ONLY, NULL, NULL, D(users_dropped), "users_dropped" },
    { 0 }
};
#undef D
