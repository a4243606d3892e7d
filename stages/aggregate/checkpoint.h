/* checkpoint.h — the aggregate state in --state: the engine's open windows,
 * sketches, feature buckets and watermark as one blob ("aggregate.engine"),
 * the event_ids counted in open windows (seen.h, "aggregate.seen"),
 * the feature store's dirty rows, and the Kafka input offsets, all in one
 * SQLite transaction. Output derived from closed windows is flushed first,
 * so the saved state never claims a window closed whose metrics could still
 * be lost. A restart loads the blob and resumes Kafka input at the saved
 * offsets: nothing lost, nothing counted twice (metrics emitted after the
 * last checkpoint and before a crash are emitted again, identical). */
#ifndef AGG_CHECKPOINT_H
#define AGG_CHECKPOINT_H
#include "engine.h"
#include "features.h"
#include "state.h"
#include "stream.h"

#define AGG_STATE_VERSION 1
extern const char *const agg_state_schema;

/* The state's rows, inside a transaction the caller opened (the runner's
 * checkpoint, runner.h): 0 or -1 (logged). */
int agg_checkpoint_put(state *st, agg_engine *e, agg_features *fs);
/* The whole checkpoint: --out flushed, then the rows and the offsets in one
 * transaction. 0 or -1 (logged). */
int agg_checkpoint_save(state *st, stream_in *in, stream_out *out, agg_engine *e, agg_features *fs);
/* 1 loaded, 0 nothing saved yet, -1 unreadable, -2 saved with another
 * configuration (a usage error). Logged. */
int agg_checkpoint_load(state *st, agg_engine *e);
#endif
