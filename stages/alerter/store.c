/* store.c — the alerter's state database (store.h): its schema, the
 * alerts saved and loaded incrementally, acknowledgements and silences,
 * both as the running stage reads them and as `alerter ack` and `alerter
 * silence` write them. All of the alerter's SQL is here. */
#include "store.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine_int.h"
#include "log.h"
#include "timefmt.h"

const char al_state_schema[] =
    "CREATE TABLE IF NOT EXISTS alerts (fp TEXT PRIMARY KEY, rule TEXT NOT NULL, labels TEXT NOT NULL,"
    " state INTEGER, severity INTEGER, notified INTEGER, acked INTEGER, starts_at INTEGER,"
    " fired_at INTEGER, last_seen INTEGER, last_sent INTEGER, value REAL);"
    "CREATE TABLE IF NOT EXISTS acks (fp TEXT PRIMARY KEY, at INTEGER);"
    "CREATE TABLE IF NOT EXISTS silences (id INTEGER PRIMARY KEY, rule TEXT, labels TEXT NOT NULL,"
    " starts INTEGER NOT NULL, ends INTEGER NOT NULL, comment TEXT, created INTEGER);"
    "CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 0), clock INTEGER, last_sweep INTEGER);";

/* Incremental: rows of alerts removed since the last save are deleted,
 * changed ones replaced (a full rewrite only after a load dropped rows).
 * Flags are cleared here, before the caller commits: a failed commit ends
 * the stage (exit 1), and the next run starts from the committed state.
 * labels column: key 0x1f value 0x1e, repeated. */
int al_engine_save(al_engine *e, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    if (e->full_save) {
        if (sqlite3_exec(db, "DELETE FROM alerts", NULL, NULL, NULL) != SQLITE_OK) goto fail;
        for (uint32_t i = 0; i < e->n; i++) e->v[i].dirty |= AL_DIRTY_DB;
    } else if (e->ngone) {
        if (sqlite3_prepare_v2(db, "DELETE FROM alerts WHERE fp = ?", -1, &st, NULL) != SQLITE_OK) goto fail;
        for (uint32_t i = 0; i < e->ngone; i++) {
            char fp[17];
            al_fp_hex(e->gone[i], fp);
            sqlite3_bind_text(st, 1, fp, 16, SQLITE_TRANSIENT);
            if (sqlite3_step(st) != SQLITE_DONE) goto fail;
            sqlite3_reset(st);
        }
        sqlite3_finalize(st); st = NULL;
    }
    e->ngone = 0;
    e->full_save = 0;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
        goto fail;
    char *lb = NULL; size_t lcap = 0;
    for (uint32_t i = 0; i < e->n; i++) {
        al_alert *a = &e->v[i];
        if (!(a->dirty & AL_DIRTY_DB)) continue;
        a->dirty &= ~AL_DIRTY_DB;
        a->saved = 1;
        size_t need = 1;
        for (int j = 0; j < a->nlabels; j++) need += a->labels[j].key.len + a->labels[j].value.len + 2;
        if (need > lcap) { free(lb); lcap = need * 2; lb = malloc(lcap); if (!lb) log_fatal("out of memory"); }
        size_t o = 0;
        for (int j = 0; j < a->nlabels; j++) {
            memcpy(lb + o, a->labels[j].key.ptr, a->labels[j].key.len); o += a->labels[j].key.len; lb[o++] = 0x1f;
            memcpy(lb + o, a->labels[j].value.ptr, a->labels[j].value.len); o += a->labels[j].value.len; lb[o++] = 0x1e;
        }
        char fp[17];
        al_fp_hex(a->fp, fp);
        sqlite3_bind_text(st, 1, fp, 16, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, e->cfg->rules[a->rule].name, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, lb, (int)o, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 4, a->state);
        sqlite3_bind_int(st, 5, a->severity);
        sqlite3_bind_int(st, 6, a->notified);
        sqlite3_bind_int(st, 7, a->acked);
        sqlite3_bind_int64(st, 8, a->starts_at);
        sqlite3_bind_int64(st, 9, a->fired_at);
        sqlite3_bind_int64(st, 10, a->last_seen);
        sqlite3_bind_int64(st, 11, a->last_sent);
        sqlite3_bind_double(st, 12, a->value);
        if (sqlite3_step(st) != SQLITE_DONE) { free(lb); goto fail; }
        sqlite3_reset(st);
    }
    free(lb);
    sqlite3_finalize(st); st = NULL;
    /* an ack lasts until its alert resolves */
    if (sqlite3_exec(db, "DELETE FROM acks WHERE fp NOT IN (SELECT fp FROM alerts WHERE state = 1)",
                     NULL, NULL, NULL) != SQLITE_OK) goto fail;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO clock VALUES (0, ?, ?)", -1, &st, NULL) != SQLITE_OK) goto fail;
    sqlite3_bind_int64(st, 1, e->clock);
    sqlite3_bind_int64(st, 2, e->last_sweep);
    if (sqlite3_step(st) != SQLITE_DONE) goto fail;
    sqlite3_finalize(st);
    return 0;
fail:
    log_error("saving alerts: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return -1;
}

int al_engine_load(al_engine *e, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fp, rule, labels, state, severity, notified, acked, starts_at,"
                           " fired_at, last_seen, last_sent, value FROM alerts ORDER BY fp", -1, &st, NULL) != SQLITE_OK)
        goto fail;
    int rc;
    uint64_t gone = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *fps = (const char *)sqlite3_column_text(st, 0);
        const char *rule = (const char *)sqlite3_column_text(st, 1);
        int ri = rule ? al_rule_find(e->cfg, rule) : -1;
        uint64_t fp;
        if (ri < 0 || !fps || al_fp_parse(fps, &fp) < 0) { gone++; continue; }
        const char *lb = sqlite3_column_blob(st, 2);   /* NULL when empty */
        const char *lend = lb ? lb + sqlite3_column_bytes(st, 2) : NULL;
        KeyValue kv[AL_MAX_LABELS];
        int n = 0;
        while (n < AL_MAX_LABELS && al_labels_next(&lb, lend, &kv[n].key, &kv[n].value)) n++;
        if (al_find(e, fp)) continue;
        al_alert *a = al_insert(e, fp);
        if (!a || al_copy_labels(a, kv, n) < 0) log_fatal("out of memory");
        a->rule = ri;
        a->state = sqlite3_column_int(st, 3);
        a->severity = sqlite3_column_int(st, 4);
        a->notified = sqlite3_column_int(st, 5);
        a->acked = sqlite3_column_int(st, 6);
        a->starts_at = sqlite3_column_int64(st, 7);
        a->fired_at = sqlite3_column_int64(st, 8);
        a->last_seen = sqlite3_column_int64(st, 9);
        a->last_sent = sqlite3_column_int64(st, 10);
        a->value = sqlite3_column_double(st, 11);
        a->dirty = 0;
        a->saved = 1;
        if (a->state == AL_FIRING) e->nfiring++;
        al_inh_set(e, a, 1);
    }
    sqlite3_finalize(st); st = NULL;
    if (rc != SQLITE_DONE) goto fail;
    e->ngone = 0;
    if (gone) {
        log_warn("state: dropped %llu alerts of rules no longer in the rules file", (unsigned long long)gone);
        e->full_save = 1;
    }
    if (sqlite3_prepare_v2(db, "SELECT clock, last_sweep FROM clock WHERE id = 0", -1, &st, NULL) != SQLITE_OK) goto fail;
    if (sqlite3_step(st) == SQLITE_ROW) {
        e->clock = sqlite3_column_int64(st, 0);
        e->last_sweep = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return al_engine_load_acks(e, db);
fail:
    log_error("loading alerts: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return -1;
}

void al_engine_load_none(al_engine *e) { e->full_save = 1; }

int al_engine_load_acks(al_engine *e, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fp FROM acks", -1, &st, NULL) != SQLITE_OK) {
        log_error("reading acks: %s", sqlite3_errmsg(db));
        return -1;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        uint64_t fp;
        if (s && al_fp_parse(s, &fp) == 0) al_engine_ack(e, fp);
    }
    sqlite3_finalize(st);
    return 0;
}

/* ---- silences and acks, as `alerter silence` and `alerter ack` write them ---- */

void al_store_free_silences(al_silence *xs, int n)
{
    for (int i = 0; i < n; i++) {
        free(xs[i].rule);
        for (int j = 0; j < xs[i].nlabels; j++) { free(xs[i].labels[j].key); free(xs[i].labels[j].value); }
        free(xs[i].labels);
    }
    free(xs);
}

/* Labels column of the silences table (al_labels_next), as `alerter
 * silence` writes them. */
static int al_parse_labels(const char *p, int len, yc_kv **out)
{
    int n = 0;
    for (int i = 0; i < len; i++) n += p[i] == 0x1e;
    yc_kv *kv = calloc((size_t)n + 1, sizeof *kv);
    if (!kv) log_fatal("out of memory");
    int k = 0;
    fb_str key, value;
    for (const char *end = p ? p + len : NULL; k < n && al_labels_next(&p, end, &key, &value); k++) {
        kv[k].key = strndup(key.ptr, key.len);
        kv[k].value = strndup(value.ptr, value.len);
    }
    *out = kv;
    return k;
}

/* Read the silences `alerter silence` stored (those not over yet). */
int al_store_load_silences(sqlite3 *db, int64_t clock, al_silence **out, int *nout)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT rule, labels, starts, ends FROM silences WHERE ends > ? ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK) {
        log_error("reading silences: %s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(q, 1, clock);   /* INT64_MIN before any record: all */
    al_silence *xs = NULL;
    int n = 0, cap = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            al_silence *g = realloc(xs, (size_t)cap * sizeof *g);
            if (!g) log_fatal("out of memory");
            xs = g;
        }
        al_silence *x = &xs[n++];
        memset(x, 0, sizeof *x);
        const char *rule = (const char *)sqlite3_column_text(q, 0);
        x->rule = rule ? strdup(rule) : NULL;
        x->nlabels = al_parse_labels(sqlite3_column_blob(q, 1), sqlite3_column_bytes(q, 1), &x->labels);
        x->starts_us = sqlite3_column_int64(q, 2);
        x->ends_us = sqlite3_column_int64(q, 3);
    }
    sqlite3_finalize(q);
    *out = xs;
    *nout = n;
    return 0;
}

int al_store_ack(sqlite3 *db, const char *fp_hex)
{
    sqlite3_stmt *q = NULL;
    int firing = 0;
    if (sqlite3_prepare_v2(db, "SELECT rule FROM alerts WHERE fp = ? AND state = 1", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, fp_hex, -1, SQLITE_STATIC);
        firing = sqlite3_step(q) == SQLITE_ROW;
    }
    sqlite3_finalize(q);
    if (!firing) return 0;
    int rc = 1;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO acks VALUES (?, ?)", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_bind_text(q, 1, fp_hex, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(q, 2, now_us()) != SQLITE_OK || sqlite3_step(q) != SQLITE_DONE)
        rc = -1;
    sqlite3_finalize(q);
    return rc;
}

int al_store_add_silence(sqlite3 *db, const char *rule, const char *labels, size_t labels_len, int64_t starts,
                         int64_t ends, const char *comment, int64_t *id)
{
    sqlite3_stmt *q = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "INSERT INTO silences (rule, labels, starts, ends, comment, created) VALUES (?,?,?,?,?,?)",
                           -1, &q, NULL) == SQLITE_OK) {
        if (rule) sqlite3_bind_text(q, 1, rule, -1, SQLITE_STATIC);
        sqlite3_bind_blob(q, 2, labels, (int)labels_len, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, starts);
        sqlite3_bind_int64(q, 4, ends);
        if (comment) sqlite3_bind_text(q, 5, comment, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 6, now_us());
        if (sqlite3_step(q) == SQLITE_DONE) rc = 0;
    }
    if (rc == 0) *id = (int64_t)sqlite3_last_insert_rowid(db);
    sqlite3_finalize(q);
    return rc;
}
