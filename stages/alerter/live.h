/* live.h — what changes under a running alerter: the rules (SIGHUP reads
 * the files again) and the silences `alerter silence` stores in --state
 * (read at every sync). */
#ifndef ALERTER_LIVE_H
#define ALERTER_LIVE_H
#include "cli.h"
#include "engine.h"
#include "notify.h"
#include "rules.h"
#include "store.h"
#include "stream.h"

typedef struct al_live {
    al_config cfg;               /* the rules in use: the engine points at it */
    al_engine *eng;
    al_notify *nt;               /* NULL until the input is open */
    al_silence *xs; int nxs;     /* silences from the state database */
} al_live;

/* Read the rules files again; a bad file keeps the running rules (logged).
 * Queued notifications go out first (their rules may be gone). */
void al_live_reload(al_live *l, const cli_list *rules);
/* Hand the engine the silences in db (it keeps a pointer to them until
 * the next call). 0 or -1. */
int al_live_load_silences(al_live *l, sqlite3 *db);
/* An alert to its rule's channels: "out" (or "stdout", or no channel at
 * all) to out, any other to the notifier. 0, or -1 if writing out failed. */
int al_live_route(al_live *l, stream_out *out, const al_rule *r, const Alert *a);
/* The silences and the config (the engine and notifier are the caller's). */
void al_live_free(al_live *l);
#endif
