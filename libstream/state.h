/* state.h — a stage's state in SQLite (--state PATH.db): WAL mode, a schema
 * version table, Kafka input offsets stored in the same transaction as the
 * state they produced (so a restart neither loses nor double-counts), and a
 * small key/blob table for checkpoints of in-memory structures.
 *
 * Errors: functions return 0 / -1 and log the SQLite message with the path. */
#ifndef STREAMREC_STATE_H
#define STREAMREC_STATE_H
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "stream.h"

typedef struct state state;

/* Open or create. schema_sql (may be NULL) creates the stage's own tables
 * (CREATE TABLE IF NOT EXISTS …); version is stored and a database written
 * by a newer version is refused. */
state *state_open(const char *path, const char *stage, int version, const char *schema_sql);
sqlite3 *state_db(state *s);
int state_begin(state *s);
int state_commit(state *s);
int state_rollback(state *s);
int state_exec(state *s, const char *sql);

/* Inside a transaction: store the input's current offsets. */
int state_save_offsets(state *s, stream_in *in);
/* A stream_start_fn reading offsets stored by state_save_offsets (ctx: state*). */
int64_t state_start_offset(void *ctx, const char *topic, int32_t partition);

/* Checkpoint blobs. get: 1 found (*data malloc'd, caller frees), 0 absent, -1 error. */
int state_put(state *s, const char *key, const void *data, size_t len);
int state_get(state *s, const char *key, void **data, size_t *len);

void state_close(state *s);
#endif
