/* seen.c — the window of counted event_ids and its rows in --state (see seen.h). */
#include "seen.h"
#include <stdlib.h>
#include <string.h>
#include "assign.h"
#include "log.h"
#include "state.h"

#define EA_SEEN_BLOB "experiment-analyzer.dedup"

int ea_seen_init(ea_seen *s, uint64_t n, int64_t span_us)
{
    memset(s, 0, sizeof *s);
    if (dedup_init(&s->d, n) < 0) return -1;
    return span_us > 0 ? dedup_set_span(&s->d, span_us) : 0;
}

void ea_seen_free(ea_seen *s) { dedup_free(&s->d); }

/* ea_hash is FNV-1a then mixed: a key unlike any experiment's keeps these
 * hashes apart from the assignment's */
uint64_t ea_seen_hash(const char *id, size_t len) { return ea_hash("event_id", 8, id, len); }

int ea_seen_check(ea_seen *s, uint64_t h)
{
    if (!dedup_seen(&s->d, h)) return 0;
    s->duplicates++;
    return 1;
}

void ea_seen_add(ea_seen *s, uint64_t h)
{
    if (!s->d.n) return;
    dedup_add(&s->d, h);
    s->seq++;
}

static int sql_fail(sqlite3 *db, sqlite3_stmt *q)
{
    log_error("state: dedup window: %s", sqlite3_errmsg(db));
    sqlite3_finalize(q);
    return -1;
}

int ea_seen_load(ea_seen *s, state *st)
{
    void *blob = NULL;
    size_t len = 0;
    int g = state_get(st, EA_SEEN_BLOB, &blob, &len);
    if (g < 0) return -1;
    if (g == 0) return 0;            /* a state from before dedup: an empty window */
    if (len != 16) { free(blob); log_error("state: dedup counters have the wrong size"); return -1; }
    memcpy(&s->seq, blob, 8);
    memcpy(&s->duplicates, (char *)blob + 8, 8);
    free(blob);
    s->saved_seq = s->seq;
    if (!s->d.n) return 0;
    sqlite3 *db = state_db(st);
    sqlite3_stmt *q = NULL;
    /* the newest n, oldest first: the ring ends as it was (or its newest part) */
    if (sqlite3_prepare_v2(db, "SELECT id, ts FROM (SELECT seq, id FROM ea_seen ORDER BY seq DESC LIMIT ?)"
                           " LEFT JOIN ea_seen_at USING (seq) ORDER BY seq", -1, &q, NULL) != SQLITE_OK)
        return sql_fail(db, q);
    sqlite3_bind_int64(q, 1, (sqlite3_int64)s->d.n);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        uint64_t h = (uint64_t)sqlite3_column_int64(q, 0);
        if (s->d.span && sqlite3_column_type(q, 1) != SQLITE_NULL)
            dedup_at(&s->d, sqlite3_column_int64(q, 1));
        if (!dedup_seen(&s->d, h)) dedup_add(&s->d, h);
    }
    if (rc != SQLITE_DONE) return sql_fail(db, q);
    sqlite3_finalize(q);
    return 0;
}

int ea_seen_save(ea_seen *s, state *st)
{
    sqlite3 *db = state_db(st);
    sqlite3_stmt *q = NULL;
    if (s->d.n && s->seq > s->saved_seq) {
        uint64_t k = s->seq - s->saved_seq;
        if (k > s->d.count) k = s->d.count;
        for (int t = 0; t < (s->d.span ? 2 : 1); t++) {
            if (sqlite3_prepare_v2(db, t ? "INSERT OR REPLACE INTO ea_seen_at VALUES(?,?)"
                                         : "INSERT OR REPLACE INTO ea_seen VALUES(?,?)", -1, &q, NULL) != SQLITE_OK)
                return sql_fail(db, q);
            /* the newest k ids end at ring[head - 1] */
            for (uint64_t i = 0; i < k; i++) {
                uint64_t pos = (s->d.head + s->d.n - k + i) % s->d.n;
                sqlite3_bind_int64(q, 1, (sqlite3_int64)(s->seq - k + 1 + i));
                sqlite3_bind_int64(q, 2, t ? (sqlite3_int64)s->d.ts[pos] : (sqlite3_int64)s->d.ring[pos]);
                if (sqlite3_step(q) != SQLITE_DONE) return sql_fail(db, q);
                sqlite3_reset(q);
            }
            sqlite3_finalize(q);
            q = NULL;
            if (s->seq > s->d.n) {
                if (sqlite3_prepare_v2(db, t ? "DELETE FROM ea_seen_at WHERE seq <= ?"
                                             : "DELETE FROM ea_seen WHERE seq <= ?", -1, &q, NULL) != SQLITE_OK)
                    return sql_fail(db, q);
                sqlite3_bind_int64(q, 1, (sqlite3_int64)(s->seq - s->d.n));
                if (sqlite3_step(q) != SQLITE_DONE) return sql_fail(db, q);
                sqlite3_finalize(q);
                q = NULL;
            }
        }
    }
    uint8_t blob[16];
    memcpy(blob, &s->seq, 8);
    memcpy(blob + 8, &s->duplicates, 8);
    if (state_put(st, EA_SEEN_BLOB, blob, sizeof blob) < 0) return -1;
    s->saved_seq = s->seq;
    return 0;
}
