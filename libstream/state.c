/* state.c — a stage's SQLite state file.
 *
 * Tables every state file has (besides the stage's own, from schema_sql):
 *   streamrec_meta(key PRIMARY KEY, value)           stage, version
 *   streamrec_offsets(topic, partition, next)         Kafka resume points
 *   streamrec_blobs(key PRIMARY KEY, data, updated)   checkpoints
 *
 * WAL journal with synchronous=NORMAL: a commit survives a crash of the
 * stage (what restarts need); after a power loss the last commits may roll
 * back, but offsets and state roll back together since they share each
 * transaction, so the stage re-reads from the older offset: at least once.
 * A 5 s busy timeout lets `sqlite3 state.db` or `alerter ack` read or write
 * beside a running stage without failing it. */
#include "state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "timefmt.h"

#define STATE_MAX_OFFSETS 1024

struct state {
    sqlite3 *db;
    char *path;
    int in_tx;
    sqlite3_stmt *put, *get, *save_off, *get_off;
};

static int st_err(state *s, const char *what)
{
    char p[512], e[512];
    log_kv(LOG_ERROR, "state database error", "\"path\":\"%s\",\"op\":\"%s\",\"error\":\"%s\"",
           log_jesc(p, sizeof p, s->path), what, log_jesc(e, sizeof e, sqlite3_errmsg(s->db)));
    return -1;
}

int state_exec(state *s, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        char p[512], e[512];
        log_kv(LOG_ERROR, "state database error", "\"path\":\"%s\",\"error\":\"%s\"",
               log_jesc(p, sizeof p, s->path), log_jesc(e, sizeof e, msg ? msg : sqlite3_errmsg(s->db)));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int st_prepare(state *s, sqlite3_stmt **st, const char *sql)
{
    if (*st) { sqlite3_reset(*st); sqlite3_clear_bindings(*st); return 0; }
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) return st_err(s, "prepare");
    return 0;
}

/* meta value as text into buf, 1 found, 0 absent, -1 error */
static int st_meta_get(state *s, const char *key, char *buf, size_t n)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM streamrec_meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
        return st_err(s, "meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        snprintf(buf, n, "%s", v ? (const char *)v : "");
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = st_err(s, "meta");
    }
    sqlite3_finalize(st);
    return found;
}

static int st_meta_set(state *s, const char *key, const char *value)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO streamrec_meta(key, value) VALUES(?, ?) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value", -1, &st, NULL) != SQLITE_OK)
        return st_err(s, "meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : st_err(s, "meta");
    sqlite3_finalize(st);
    return rc;
}

state *state_open(const char *path, const char *stage, int version, const char *schema_sql)
{
    state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->path = strdup(path);
    if (!s->path) { free(s); return NULL; }
    /* never through a symlink: one planted in the state directory would make
     * the service rewrite a file of someone else's choosing */
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL);
    if (rc != SQLITE_OK) {
        char p[512], e[512];
        log_kv(LOG_ERROR, "cannot open state database", "\"path\":\"%s\",\"error\":\"%s\"",
               log_jesc(p, sizeof p, path), log_jesc(e, sizeof e, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc)));
        state_close(s);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (state_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON") < 0)
        goto fail;
    if (state_exec(s, "BEGIN IMMEDIATE") < 0) goto fail;
    s->in_tx = 1;
    if (state_exec(s,
            "CREATE TABLE IF NOT EXISTS streamrec_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE IF NOT EXISTS streamrec_offsets(topic TEXT NOT NULL, partition INTEGER NOT NULL,"
            " next INTEGER NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY(topic, partition));"
            "CREATE TABLE IF NOT EXISTS streamrec_blobs(key TEXT PRIMARY KEY, data BLOB NOT NULL,"
            " updated INTEGER NOT NULL);") < 0)
        goto fail;
    char buf[256];
    int f = st_meta_get(s, "stage", buf, sizeof buf);
    if (f < 0) goto fail;
    if (f && stage && strcmp(buf, stage)) {
        char p[512], o[512], w[256];
        log_kv(LOG_ERROR, "state database belongs to another stage",
               "\"path\":\"%s\",\"owner\":\"%s\",\"requested_by\":\"%s\"", log_jesc(p, sizeof p, path),
               log_jesc(o, sizeof o, buf), log_jesc(w, sizeof w, stage));
        goto fail;
    }
    if (!f && st_meta_set(s, "stage", stage ? stage : "") < 0) goto fail;
    f = st_meta_get(s, "version", buf, sizeof buf);
    if (f < 0) goto fail;
    if (f && atoi(buf) > version) {
        char p[512];
        log_kv(LOG_ERROR, "state database written by a newer version",
               "\"path\":\"%s\",\"db_version\":%d,\"version\":%d", log_jesc(p, sizeof p, path),
               atoi(buf), version);
        goto fail;
    }
    if (schema_sql && state_exec(s, schema_sql) < 0) goto fail;
    snprintf(buf, sizeof buf, "%d", version);
    if (st_meta_set(s, "version", buf) < 0) goto fail;
    if (state_commit(s) < 0) goto fail;
    return s;
fail:
    state_close(s);
    return NULL;
}

sqlite3 *state_db(state *s) { return s->db; }

int state_begin(state *s)
{
    if (s->in_tx) {
        char p[512];
        log_kv(LOG_ERROR, "state transaction already open", "\"path\":\"%s\"", log_jesc(p, sizeof p, s->path));
        return -1;
    }
    /* IMMEDIATE: take the write lock now, so a busy database fails (after the
     * busy timeout) here rather than halfway through the stage's writes */
    if (state_exec(s, "BEGIN IMMEDIATE") < 0) return -1;
    s->in_tx = 1;
    return 0;
}

int state_commit(state *s)
{
    if (!s->in_tx) return 0;
    if (state_exec(s, "COMMIT") < 0) {
        /* a failed COMMIT may leave the transaction open: roll it back */
        if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        s->in_tx = 0;
        return -1;
    }
    s->in_tx = 0;
    return 0;
}

int state_rollback(state *s)
{
    if (!s->in_tx) return 0;
    s->in_tx = 0;
    if (sqlite3_get_autocommit(s->db)) return 0;
    return state_exec(s, "ROLLBACK");
}

int state_save_offsets(state *s, stream_in *in)
{
    if (!in) return 0;
    stream_offset *offs = malloc(STATE_MAX_OFFSETS * sizeof *offs);
    if (!offs) return -1;
    int n = stream_in_offsets(in, offs, STATE_MAX_OFFSETS);
    int rc = 0;
    int64_t now = now_us();
    for (int i = 0; i < n && rc == 0; i++) {
        if (st_prepare(s, &s->save_off,
                       "INSERT INTO streamrec_offsets(topic, partition, next, updated) VALUES(?, ?, ?, ?) "
                       "ON CONFLICT(topic, partition) DO UPDATE SET next = excluded.next, "
                       "updated = excluded.updated") < 0) { rc = -1; break; }
        sqlite3_bind_text(s->save_off, 1, offs[i].topic, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s->save_off, 2, offs[i].partition);
        sqlite3_bind_int64(s->save_off, 3, offs[i].next);
        sqlite3_bind_int64(s->save_off, 4, now);
        if (sqlite3_step(s->save_off) != SQLITE_DONE) rc = st_err(s, "save offsets");
        sqlite3_reset(s->save_off);
    }
    free(offs);
    return rc;
}

int64_t state_start_offset(void *ctx, const char *topic, int32_t partition)
{
    state *s = ctx;
    if (!s || st_prepare(s, &s->get_off,
                         "SELECT next FROM streamrec_offsets WHERE topic = ? AND partition = ?") < 0)
        return -1;
    sqlite3_bind_text(s->get_off, 1, topic, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s->get_off, 2, partition);
    int64_t r = -1;
    int rc = sqlite3_step(s->get_off);
    if (rc == SQLITE_ROW) r = sqlite3_column_int64(s->get_off, 0);
    else if (rc != SQLITE_DONE) st_err(s, "start offset");
    sqlite3_reset(s->get_off);
    return r;
}

int state_put(state *s, const char *key, const void *data, size_t len)
{
    if (st_prepare(s, &s->put,
                   "INSERT INTO streamrec_blobs(key, data, updated) VALUES(?, ?, ?) "
                   "ON CONFLICT(key) DO UPDATE SET data = excluded.data, updated = excluded.updated") < 0)
        return -1;
    sqlite3_bind_text(s->put, 1, key, -1, SQLITE_TRANSIENT);
    /* a zero-length blob must still be a blob, not NULL (NOT NULL column) */
    sqlite3_bind_blob64(s->put, 2, len ? data : "", (sqlite3_uint64)len, SQLITE_STATIC);
    sqlite3_bind_int64(s->put, 3, now_us());
    int rc = sqlite3_step(s->put) == SQLITE_DONE ? 0 : st_err(s, "put");
    sqlite3_reset(s->put);
    sqlite3_clear_bindings(s->put);
    return rc;
}

int state_get(state *s, const char *key, void **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (st_prepare(s, &s->get, "SELECT data FROM streamrec_blobs WHERE key = ?") < 0) return -1;
    sqlite3_bind_text(s->get, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s->get), r = 0;
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_bytes(s->get, 0);
        const void *b = sqlite3_column_blob(s->get, 0);
        void *copy = malloc(n > 0 ? (size_t)n : 1);
        if (!copy) { r = -1; goto out; }
        if (n > 0) memcpy(copy, b, (size_t)n);
        *data = copy;
        *len = (size_t)n;
        r = 1;
    } else if (rc != SQLITE_DONE) {
        r = st_err(s, "get");
    }
out:
    sqlite3_reset(s->get);
    return r;
}

void state_close(state *s)
{
    if (!s) return;
    if (s->db) {
        if (s->in_tx) state_rollback(s);
        sqlite3_finalize(s->put);
        sqlite3_finalize(s->get);
        sqlite3_finalize(s->save_off);
        sqlite3_finalize(s->get_off);
        if (sqlite3_close(s->db) != SQLITE_OK) {
            char p[512];
            log_kv(LOG_WARN, "state database not closed cleanly (unfinalized statements)",
                   "\"path\":\"%s\"", log_jesc(p, sizeof p, s->path));
            sqlite3_close_v2(s->db);
        }
    }
    free(s->path);
    free(s);
}
