/* checkpoint.c — save and restore the aggregate state (see checkpoint.h). */
#include "checkpoint.h"
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "seen.h"

const char *const agg_state_schema = agg_features_schema;

#define AGG_BLOB_KEY "aggregate.engine"
#define AGG_SEEN_KEY "aggregate.seen"     /* seen.h: the event_ids of open windows */

int agg_checkpoint_put(state *st, agg_engine *e, agg_features *fs)
{
    agg_buf b = {0}, sb = {0};
    agg_engine_save(e, &b);
    agg_seen *seen = agg_engine_seen(e);
    if (seen) agg_seen_save(seen, &sb);
    int rc = (fs && agg_features_save(fs) < 0) || state_put(st, AGG_BLOB_KEY, b.p, b.len) < 0 ||
             (seen && state_put(st, AGG_SEEN_KEY, sb.p, sb.len) < 0) ? -1 : 0;
    agg_buf_free(&b);
    agg_buf_free(&sb);
    return rc;
}

int agg_checkpoint_save(state *st, stream_in *in, stream_out *out, agg_engine *e, agg_features *fs)
{
    if (out && stream_flush(out) < 0) return -1;
    if (state_begin(st) < 0) return -1;
    if (agg_checkpoint_put(st, e, fs) < 0 || state_save_offsets(st, in) < 0) {
        state_rollback(st);
        return -1;
    }
    return state_commit(st) < 0 ? -1 : 0;
}

int agg_checkpoint_load(state *st, agg_engine *e)
{
    void *data = NULL;
    size_t len = 0;
    int g = state_get(st, AGG_BLOB_KEY, &data, &len);
    if (g <= 0) return g;
    char err[256];
    int rc = agg_engine_load(e, data, len, err, sizeof err);
    free(data);
    if (rc < 0) {
        log_error("%s", err);
        return strstr(err, "settings") ? -2 : -1;
    }
    /* a state from before dedup has no such blob: start with an empty set */
    agg_seen *seen = agg_engine_seen(e);
    if (seen && (g = state_get(st, AGG_SEEN_KEY, &data, &len)) != 0) {
        if (g < 0) return -1;
        rc = agg_seen_load(seen, data, len, err, sizeof err);
        free(data);
        if (rc < 0) { log_error("%s", err); return -1; }
    }
    return 1;
}
