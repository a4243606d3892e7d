/* newer.h — the json layout's newer-wins writes (newer.c), as layout.c
 * calls them: layout.c decides what key and value a record becomes,
 * newer.c how it reaches Redis without an older value replacing a newer
 * one (a SET NX attempt, a checked WATCH group, or the script group).
 * Their state is part of the layout (layout.h); flush, drain and send,
 * also newer.c's, are layout.h's API, as is the probe (txn.c). */
#ifndef CACHE_WRITER_NEWER_H
#define CACHE_WRITER_NEWER_H
#include "layout.h"

/* Set up and free the state of the write paths (after l->conf is set). */
void newer_init(layout *l);
void newer_free(layout *l);
/* Before a json recommendation: queue the fallbacks (records whose NX
 * attempt found the key, or whose checked group was aborted), which go to
 * Redis ahead of any later record for their key. 0, or -1 if the pipe failed. */
int newer_fallbacks(layout *l, rpipe *p);
/* Queue one json recommendation: key (its hash h) and the value in w, its
 * ts, its key's expiry, and whether the key is known to exist (the key
 * memory, layout.c's rec_touch). 0, or -1 if the pipe failed. */
int newer_json(layout *l, rpipe *p, const rbuf *key, uint64_t h, int64_t ts, int64_t ttl_ms, int known,
               const json_writer *w, const stream_rec *src);
#endif
