/* checkpoint.h — what drift keeps in --state: the whole engine as one
 * blob, with the input records it covers (byte streams; Kafka's offsets
 * the runner saves beside it). */
#ifndef DRIFT_CHECKPOINT_H
#define DRIFT_CHECKPOINT_H
#include <stdint.h>
#include "engine.h"
#include "state.h"

#define DRIFT_STATE_VERSION 1

/* Into a fresh engine; *records: input records the state covers (0 with
 * no saved state). RUNNER_OK, RUNNER_FAIL (logged), RUNNER_USAGE (saved
 * with other settings; logged). path names the database in messages. */
int drift_checkpoint_load(drift_engine *e, state *st, const char *path, uint64_t *records);
/* 0 or -1, inside the runner's checkpoint transaction. */
int drift_checkpoint_save(const drift_engine *e, state *st, uint64_t records);
#endif
