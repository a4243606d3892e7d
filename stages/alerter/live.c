/* live.c — rules reloaded, silences read and alerts routed while running
 * (live.h). */
#include "live.h"
#include <string.h>
#include "log.h"

int al_live_route(al_live *l, stream_out *out, const al_rule *r, const Alert *a)
{
    if (r->nchannels == 0)
        return stream_write(out, &Alert_desc, a, NULL, 0);
    for (int i = 0; i < r->nchannels; i++) {
        const char *c = r->channels[i];
        if (!strcmp(c, "out") || !strcmp(c, "stdout")) {
            if (stream_write(out, &Alert_desc, a, NULL, 0) < 0) return -1;
        } else if (al_notify_add(l->nt, c, a) < 0) {
            log_fatal("out of memory");
        }
    }
    return 0;
}

int al_live_load_silences(al_live *l, sqlite3 *db)
{
    al_silence *xs;
    int n;
    if (al_store_load_silences(db, al_engine_clock(l->eng), &xs, &n) < 0) return -1;
    al_engine_set_extra_silences(l->eng, xs, n);
    al_store_free_silences(l->xs, l->nxs);
    l->xs = xs; l->nxs = n;
    return 0;
}

void al_live_reload(al_live *l, const cli_list *rules)
{
    al_config next;
    char err[600];
    if (al_config_load_files(rules->items, rules->n, &next, err, sizeof err) < 0) {
        log_error("SIGHUP: %s: keeping the rules in use", err);
        return;
    }
    al_notify_flush(l->nt);
    /* the engine points at l->cfg: keep the old rules alive (by value)
     * while it maps its alerts from their names to the new ones */
    al_config old = l->cfg;
    al_engine_set_config(l->eng, &old);
    l->cfg = next;
    uint64_t gone = al_engine_set_config(l->eng, &l->cfg);
    al_notify_set_group_by(l->nt, l->cfg.group_by, l->cfg.ngroup_by);
    al_config_free(&old);
    log_kv(LOG_INFO, "rules reloaded", "\"rules\":%d,\"alerts_dropped\":%llu", l->cfg.nrules,
           (unsigned long long)gone);
}

void al_live_free(al_live *l)
{
    al_store_free_silences(l->xs, l->nxs);
    l->xs = NULL;
    l->nxs = 0;
    al_config_free(&l->cfg);
}
