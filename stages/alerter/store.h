/* store.h — the alerter's state database (--state): alerts, acks,
 * silences and the engine clock in SQLite tables (their schema below),
 * beside the input offsets state.h keeps. Functions return 0, or -1 with
 * the SQLite message logged, unless they say otherwise. */
#ifndef ALERTER_STORE_H
#define ALERTER_STORE_H
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include "engine.h"

/* State (--state): the schema, save every active alert (inside the
 * caller's transaction), load them back (alerts of rules no longer in the
 * config are dropped, logged). Acks come from the acks table that
 * `alerter ack` writes: al_engine_load_acks applies and keeps them. */
extern const char al_state_schema[];
#define AL_STATE_VERSION 1
int al_engine_save(al_engine *e, sqlite3 *db);
int al_engine_load(al_engine *e, sqlite3 *db);
int al_engine_load_acks(al_engine *e, sqlite3 *db);
/* --changelog: the alerts come from the changelog, not from the table;
 * the first save rewrites it with the alerts this process holds then. */
void al_engine_load_none(al_engine *e);

/* The silences `alerter silence` stored that have not ended by clock
 * (INT64_MIN: all): a new array in *xs (free with al_store_free_silences). */
int al_store_load_silences(sqlite3 *db, int64_t clock, al_silence **xs, int *n);
void al_store_free_silences(al_silence *xs, int n);
/* `alerter ack`: 1 acknowledged, 0 no firing alert has this fingerprint
 * (16 hex digits), -1 a database error (sqlite3_errmsg has it). */
int al_store_ack(sqlite3 *db, const char *fp_hex);
/* `alerter silence`: labels as in the labels column (al_labels_next); rule
 * and comment may be NULL. 0 with *id the new row, -1 (sqlite3_errmsg). */
int al_store_add_silence(sqlite3 *db, const char *rule, const char *labels, size_t labels_len, int64_t starts,
                         int64_t ends, const char *comment, int64_t *id);
#endif
