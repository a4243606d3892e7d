/* modelfile.c — the model file: a rec_model to and from SQLite
 * (modelfile.h for the contract).
 *
 * File layout, format 1 (one transaction, written to a temp file then renamed):
 *   meta(key TEXT PRIMARY KEY, value)   format=1, model_version, algorithm,
 *        trained_at, n_items, n_users, n_interactions; the ALS fold-in's
 *        als_f, als_reg, als_alpha, als_binary; user-kNN's uknn_k,
 *        uknn_pow; and "p.NAME" = every training parameter (numbers)
 *   items(idx INTEGER PRIMARY KEY, item_id TEXT, categories TEXT,
 *         first_seen INTEGER, pop REAL)
 *   blobs(name TEXT PRIMARY KEY, data BLOB)   arrays in host byte order
 *         (little-endian machines), each present only when its part is:
 *         knn.off u32[n+1], knn.nbr u32, knn.sim f32 (CSR neighbours); cnt.*
 *         the same for content; als.Y f32[n*f]; ease.idx u32[k], ease.B
 *         f32[k*k]; uknn.off u32[users+1], uknn.idx u32 (user-kNN's training
 *         users' items); w f32[ALG_COUNT] hybrid weights (always); the
 *         training users' interactions: users.ids (the ids, each
 *         NUL-terminated), users.off u32[users+1], users.item u32, users.w
 *         f32, users.ts i64 (epoch s), each user's entries oldest first.
 * The temp file uses the rollback journal, not WAL: a WAL database is not
 * one self-contained file until checkpointed, and the rename must publish
 * one file. Readers open it read-only with immutable=1 (no -shm/-wal files
 * next to a file that may be renamed over), copy everything to memory and
 * close it, so a replace during a reload is harmless: the reader holds the
 * old inode until it closes. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "model_impl.h"

static int put_blob(sqlite3 *db, sqlite3_stmt *st, const char *name, const void *data, size_t len)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 2, data ? data : "", len, SQLITE_STATIC);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    (void)db;
}

static int put_meta(sqlite3_stmt *st, const char *key, const char *text, double num, int is_num)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    if (is_num) sqlite3_bind_double(st, 2, num);
    else sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

static int save_csr(sqlite3 *db, sqlite3_stmt *st, const char *pfx, const nbr_csr *c)
{
    if (!c->n) return 0;
    char name[32];
    size_t ne = c->off[c->n];
    snprintf(name, sizeof name, "%s.off", pfx);
    if (put_blob(db, st, name, c->off, (c->n + 1) * sizeof *c->off)) return -1;
    snprintf(name, sizeof name, "%s.nbr", pfx);
    if (put_blob(db, st, name, c->nbr, ne * sizeof *c->nbr)) return -1;
    snprintf(name, sizeof name, "%s.sim", pfx);
    return put_blob(db, st, name, c->sim, ne * sizeof *c->sim);
}

static int fsync_path(const char *path, int dir)
{
    int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

/* The temp files of an earlier run killed while saving (kill -9, the OOM
 * killer: nothing of its own could remove them): PATH.tmp.PID and its
 * -journal whose process is gone. Another run saving now keeps its own. */
static void remove_stale_temps(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *sl = strrchr(dir, '/');
    const char *base = sl ? sl + 1 : path;
    if (sl) { if (sl == dir) sl[1] = 0; else *sl = 0; } else snprintf(dir, sizeof dir, ".");
    size_t bl = strlen(base);
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, base, bl) || strncmp(e->d_name + bl, ".tmp.", 5)) continue;
        char *end;
        long pid = strtol(e->d_name + bl + 5, &end, 10);
        if (end == e->d_name + bl + 5 || pid <= 0 || (*end && strcmp(end, "-journal"))) continue;
        if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char f[8192];
        snprintf(f, sizeof f, "%s/%s", dir, e->d_name);
        if (unlink(f) == 0) log_warn("removed %s, left by a training that was killed", f);
    }
    closedir(d);
}

int model_save(const rec_model *m, const char *path, char *err, size_t errlen)
{
    if (m->ease_n && !m->ease_B) {      /* load keeps only ease_Q */
        snprintf(err, errlen, "%s: a loaded model has EASE in fixed point only and cannot be saved", path);
        return -1;
    }
    remove_stale_temps(path);
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    unlink(tmp);
    sqlite3 *db = NULL;
    /* not through a symlink planted under the temporary name */
    if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", tmp, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_stmt *sb = NULL, *sm = NULL, *si = NULL;
    int rc = sqlite3_exec(db,
        "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL; BEGIN;"
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
        "CREATE TABLE items(idx INTEGER PRIMARY KEY, item_id TEXT NOT NULL, categories TEXT, first_seen INTEGER, pop REAL);"
        "CREATE TABLE blobs(name TEXT PRIMARY KEY, data BLOB);", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, "INSERT INTO blobs VALUES(?,?)", -1, &sb, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, "INSERT INTO meta VALUES(?,?)", -1, &sm, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, "INSERT INTO items VALUES(?,?,?,?,?)", -1, &si, NULL);
    if (rc != SQLITE_OK) goto fail;
    rc = SQLITE_ERROR;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (put_meta(sm, "format", NULL, 1, 1) || put_meta(sm, "model_version", m->version, 0, 0) ||
        put_meta(sm, "algorithm", m->algorithm, 0, 0) || put_meta(sm, "trained_at", ts, 0, 0) ||
        put_meta(sm, "n_items", NULL, m->n_items, 1) ||
        put_meta(sm, "n_users", NULL, (double)m->n_users_trained, 1) ||
        put_meta(sm, "n_interactions", NULL, (double)m->n_interactions, 1) ||
        put_meta(sm, "als_f", NULL, m->als_f, 1) || put_meta(sm, "als_reg", NULL, m->als_reg, 1) ||
        put_meta(sm, "als_alpha", NULL, m->als_alpha, 1) || put_meta(sm, "als_binary", NULL, m->als_binary, 1))
        goto fail;
    for (int i = 0; i < m->n_params; i++) {
        char k[64];
        snprintf(k, sizeof k, "p.%s", m->params[i].key);
        if (put_meta(sm, k, NULL, m->params[i].val, 1)) goto fail;
    }
    for (uint32_t i = 0; i < m->n_items; i++) {
        sqlite3_reset(si);
        sqlite3_bind_int64(si, 1, i);
        sqlite3_bind_text(si, 2, m->item_ids[i], -1, SQLITE_STATIC);
        if (m->cats[i]) sqlite3_bind_text(si, 3, m->cats[i], -1, SQLITE_STATIC);
        else sqlite3_bind_null(si, 3);
        sqlite3_bind_int64(si, 4, m->first_seen[i]);
        sqlite3_bind_double(si, 5, m->pop[i]);
        if (sqlite3_step(si) != SQLITE_DONE) goto fail;
    }
    if (save_csr(db, sb, "knn", &m->knn) || save_csr(db, sb, "cnt", &m->cnt)) goto fail;
    if (m->als_f && put_blob(db, sb, "als.Y", m->als_Y, (size_t)m->n_items * m->als_f * sizeof(float))) goto fail;
    if (m->ease_n && (put_blob(db, sb, "ease.idx", m->ease_idx, m->ease_n * sizeof(uint32_t)) ||
                      put_blob(db, sb, "ease.B", m->ease_B, (size_t)m->ease_n * m->ease_n * sizeof(float))))
        goto fail;
    if (m->uk_users && (put_blob(db, sb, "uknn.off", m->uk_off, ((size_t)m->uk_users + 1) * sizeof(uint32_t)) ||
                        put_blob(db, sb, "uknn.idx", m->uk_idx, (size_t)m->uk_off[m->uk_users] * sizeof(uint32_t))))
        goto fail;
    if (m->tu_n) {
        size_t len = 0, n = m->tu_off[m->tu_n];
        for (uint32_t u = 0; u < m->tu_n; u++) len += strlen(m->tu_ids[u]) + 1;
        char *all = malloc(len ? len : 1), *p = all;
        if (!all) goto fail;
        for (uint32_t u = 0; u < m->tu_n; u++) { size_t l = strlen(m->tu_ids[u]) + 1; memcpy(p, m->tu_ids[u], l); p += l; }
        int bad = put_blob(db, sb, "users.ids", all, len);
        free(all);
        if (bad || put_blob(db, sb, "users.off", m->tu_off, ((size_t)m->tu_n + 1) * sizeof(uint32_t)) ||
            put_blob(db, sb, "users.item", m->tu_item, n * sizeof(uint32_t)) ||
            put_blob(db, sb, "users.w", m->tu_w, n * sizeof(float)) ||
            put_blob(db, sb, "users.ts", m->tu_ts, n * sizeof(int64_t)))
            goto fail;
    }
    if (put_meta(sm, "uknn_k", NULL, m->uk_k, 1) || put_meta(sm, "uknn_pow", NULL, m->uk_pow, 1)) goto fail;
    if (put_blob(db, sb, "w", m->w, sizeof m->w)) goto fail;
    sqlite3_finalize(sb); sqlite3_finalize(sm); sqlite3_finalize(si);
    sb = sm = si = NULL;
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) goto fail;
    if (sqlite3_close(db) != SQLITE_OK) { db = NULL; snprintf(err, errlen, "%s: close failed", tmp); goto fail_file; }
    db = NULL;
    if (fsync_path(tmp, 0)) { snprintf(err, errlen, "%s: fsync: %s", tmp, strerror(errno)); goto fail_file; }
    if (rename(tmp, path)) { snprintf(err, errlen, "rename %s -> %s: %s", tmp, path, strerror(errno)); goto fail_file; }
    {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", path);
        char *sl = strrchr(dir, '/');
        if (sl) { if (sl == dir) sl[1] = 0; else *sl = 0; } else snprintf(dir, sizeof dir, ".");
        fsync_path(dir, 1);
    }
    return 0;
fail:
    snprintf(err, errlen, "%s: %s", tmp, db ? sqlite3_errmsg(db) : "write failed");
    sqlite3_finalize(sb); sqlite3_finalize(sm); sqlite3_finalize(si);
    sqlite3_close(db);
fail_file:
    unlink(tmp);
    /* and the rollback journal SQLite leaves when it cannot roll back (a
     * full disk): it belongs to no file any more */
    {
        char journal[4096 + 16];
        snprintf(journal, sizeof journal, "%s-journal", tmp);
        unlink(journal);
    }
    return -1;
}

/* Read blob name into a fresh malloc'd buffer of exactly want bytes (want 0:
 * any size, returned in *len). 1 found, 0 absent, -1 error (size mismatch). */
static int get_blob(sqlite3 *db, const char *name, void **out, size_t want, size_t *len)
{
    sqlite3_stmt *st;
    *out = NULL;
    if (sqlite3_prepare_v2(db, "SELECT data FROM blobs WHERE name=?", -1, &st, NULL) != SQLITE_OK) return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int r = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        const void *p = sqlite3_column_blob(st, 0);
        if (want && n != want) r = -1;
        else {
            *out = malloc(n ? n : 1);
            if (!*out) r = -1;
            else { if (n) memcpy(*out, p, n); if (len) *len = n; r = 1; }
        }
    }
    sqlite3_finalize(st);
    return r;
}

static int load_csr(sqlite3 *db, const char *pfx, nbr_csr *c, uint32_t n, char *err, size_t errlen)
{
    char name[32];
    void *off, *nbr, *sim;
    size_t nn, ns;
    snprintf(name, sizeof name, "%s.off", pfx);
    int r = get_blob(db, name, &off, (size_t)(n + 1) * sizeof(uint32_t), NULL);
    if (r == 0) return 0;
    if (r < 0) { snprintf(err, errlen, "blob %s: bad size", name); return -1; }
    snprintf(name, sizeof name, "%s.nbr", pfx);
    int r1 = get_blob(db, name, &nbr, 0, &nn);
    snprintf(name, sizeof name, "%s.sim", pfx);
    int r2 = get_blob(db, name, &sim, 0, &ns);
    c->n = n; c->off = off; c->nbr = nbr; c->sim = sim;
    uint32_t *o = off;
    int ok = r1 == 1 && r2 == 1 && nn == ns / sizeof(float) * sizeof(uint32_t) && o[0] == 0 &&
             (size_t)o[n] * sizeof(uint32_t) == nn;
    for (uint32_t i = 0; ok && i < n; i++) if (o[i] > o[i + 1]) ok = 0;
    for (size_t e = 0; ok && e < nn / sizeof(uint32_t); e++) if (c->nbr[e] >= n) ok = 0;
    if (!ok) { snprintf(err, errlen, "blobs %s.*: inconsistent", pfx); nbr_csr_free(c); return -1; }
    return 0;
}

/* The training users' interactions, when the file has them (older files
 * do not: serving then knows only what it sees). 0, or -1 with err. */
static int load_users(sqlite3 *db, rec_model *m, char *err, size_t errlen)
{
    void *ids = NULL, *off = NULL;
    size_t ilen = 0, olen = 0;
    int r = get_blob(db, "users.ids", &ids, 0, &ilen);
    if (r == 0) return 0;
    if (r < 0 || get_blob(db, "users.off", &off, 0, &olen) != 1 || olen < sizeof(uint32_t) || olen % sizeof(uint32_t)) {
        free(ids); free(off);
        snprintf(err, errlen, "blobs users.*: unreadable");
        return -1;
    }
    m->tu_off = off;
    m->tu_n = (uint32_t)(olen / sizeof(uint32_t) - 1);
    size_t n = m->tu_off[m->tu_n];
    int ok = m->tu_off[0] == 0;
    for (uint32_t u = 0; ok && u < m->tu_n; u++) ok = m->tu_off[u] <= m->tu_off[u + 1];
    void *b;
    if (ok) ok = get_blob(db, "users.item", &b, n * sizeof(uint32_t), NULL) == 1 && (m->tu_item = b);
    if (ok) ok = get_blob(db, "users.w", &b, n * sizeof(float), NULL) == 1 && (m->tu_w = b);
    if (ok) ok = get_blob(db, "users.ts", &b, n * sizeof(int64_t), NULL) == 1 && (m->tu_ts = b);
    for (size_t e = 0; ok && e < n; e++) ok = m->tu_item[e] < m->n_items;
    /* the ids: exactly tu_n NUL-terminated strings */
    if (ok) ok = (m->tu_ids = calloc(m->tu_n ? m->tu_n : 1, sizeof *m->tu_ids)) != NULL;
    const char *p = ids, *end = p + ilen;
    for (uint32_t u = 0; ok && u < m->tu_n; u++) {
        const char *z = p < end ? memchr(p, 0, (size_t)(end - p)) : NULL;
        if (!z || !(m->tu_ids[u] = strdup(p))) ok = 0;
        else p = z + 1;
    }
    if (ok && p != end) ok = 0;
    free(ids);
    if (!ok) {   /* what was read is freed with the model (model_load's failure) */
        snprintf(err, errlen, "blobs users.*: inconsistent");
        return -1;
    }
    if (model_index_users(m)) { snprintf(err, errlen, "out of memory"); return -1; }
    return 0;
}

rec_model *model_load(const char *path, char *err, size_t errlen)
{
    char uri[4200];
    snprintf(err, errlen, "unknown error");
    /* file: URI with immutable=1; escape '%', '?' and '#' in the path */
    size_t o = 0;
    o += (size_t)snprintf(uri, sizeof uri, "file:");
    for (const char *p = path; *p && o + 4 < sizeof uri; p++) {
        if (*p == '%' || *p == '?' || *p == '#') o += (size_t)snprintf(uri + o, sizeof uri - o, "%%%02X", (unsigned char)*p);
        else uri[o++] = *p;
    }
    uri[o] = 0;
    snprintf(uri + o, sizeof uri - o, "?immutable=1");
    struct stat stt;
    if (stat(path, &stt)) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return NULL; }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return NULL;
    }
    rec_model *m = NULL;
    sqlite3_stmt *st = NULL;
    char **ids = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, "SELECT key, value FROM meta", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: not a model file (%s)", path, sqlite3_errmsg(db));
        goto fail;
    }
    char version[64] = "", algorithm[16] = "";
    double f = 0, reg = 0, alpha = 0, fmt = 0, nu = 0, ni = 0, abin = 0, ukk = 0, ukp = 1;
    model_kv *params = NULL; int np = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        if (!k) continue;
        const char *tv = (const char *)sqlite3_column_text(st, 1);
        double dv = sqlite3_column_double(st, 1);
        if (!strcmp(k, "model_version") && tv) snprintf(version, sizeof version, "%s", tv);
        else if (!strcmp(k, "algorithm") && tv) snprintf(algorithm, sizeof algorithm, "%s", tv);
        else if (!strcmp(k, "n_items")) n = (int64_t)dv;
        else if (!strcmp(k, "format")) fmt = dv;
        else if (!strcmp(k, "als_f")) f = dv;
        else if (!strcmp(k, "als_reg")) reg = dv;
        else if (!strcmp(k, "als_alpha")) alpha = dv;
        else if (!strcmp(k, "als_binary")) abin = dv;
        else if (!strcmp(k, "uknn_k")) ukk = dv;
        else if (!strcmp(k, "uknn_pow")) ukp = dv;
        else if (!strcmp(k, "n_users")) nu = dv;
        else if (!strcmp(k, "n_interactions")) ni = dv;
        else if (!strncmp(k, "p.", 2)) {
            model_kv *q = realloc(params, (np + 1) * sizeof *q);
            if (q) { params = q; snprintf(q[np].key, sizeof q[np].key, "%s", k + 2); q[np++].val = dv; }
        }
    }
    sqlite3_finalize(st); st = NULL;
    if (fmt != 1 || n < 0 || n > 100000000 || f < 0 || f > 1024 || rec_alg_parse(algorithm) < 0) {
        snprintf(err, errlen, "%s: not a model file of format 1 (format %g, n_items %lld, algorithm '%s')",
                 path, fmt, (long long)n, algorithm);
        free(params);
        goto fail;
    }
    ids = calloc((size_t)n + 1, sizeof *ids);
    if (!ids) { free(params); snprintf(err, errlen, "out of memory"); goto fail; }
    m = model_new((uint32_t)n, ids);
    if (!m) { free(ids); free(params); snprintf(err, errlen, "out of memory"); goto fail; }
    m->params = params; m->n_params = np;
    snprintf(m->version, sizeof m->version, "%s", version);
    snprintf(m->algorithm, sizeof m->algorithm, "%s", algorithm);
    m->alg = (rec_alg)rec_alg_parse(algorithm);
    m->n_users_trained = (int64_t)nu; m->n_interactions = (int64_t)ni;
    if (sqlite3_prepare_v2(db, "SELECT idx, item_id, categories, first_seen, pop FROM items ORDER BY idx", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: items: %s", path, sqlite3_errmsg(db));
        goto fail;
    }
    int64_t got = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t idx = sqlite3_column_int64(st, 0);
        const char *id = (const char *)sqlite3_column_text(st, 1);
        if (idx != got || idx >= n || !id) { snprintf(err, errlen, "%s: items table inconsistent at %lld", path, (long long)got); goto fail; }
        m->item_ids[idx] = strdup(id);
        const char *c = (const char *)sqlite3_column_text(st, 2);
        if (c) m->cats[idx] = strdup(c);
        m->first_seen[idx] = sqlite3_column_int64(st, 3);
        double pv = sqlite3_column_double(st, 4);
        m->pop[idx] = pv > 0 ? (float)pv : 0;
        if (!m->item_ids[idx] || (c && !m->cats[idx])) { snprintf(err, errlen, "out of memory"); goto fail; }
        got++;
    }
    sqlite3_finalize(st); st = NULL;
    if (got != n) { snprintf(err, errlen, "%s: %lld items, meta says %lld", path, (long long)got, (long long)n); goto fail; }
    model_index_items(m);
    model_finish_pop(m);
    if (load_csr(db, "knn", &m->knn, m->n_items, err, errlen) || load_csr(db, "cnt", &m->cnt, m->n_items, err, errlen)) goto fail;
    void *blob;
    if (f > 0) {
        m->als_f = (uint32_t)f; m->als_reg = (float)reg; m->als_alpha = (float)alpha; m->als_binary = abin != 0;
        if (get_blob(db, "als.Y", &blob, (size_t)m->n_items * m->als_f * sizeof(float), NULL) != 1) {
            snprintf(err, errlen, "%s: blob als.Y missing or of the wrong size", path); goto fail;
        }
        m->als_Y = blob;
        model_als_gram(m);
    }
    size_t ilen = 0;
    int r = get_blob(db, "ease.idx", &blob, 0, &ilen);
    if (r < 0) { snprintf(err, errlen, "%s: blob ease.idx unreadable", path); goto fail; }
    if (r == 1) {
        m->ease_idx = blob;
        m->ease_n = (uint32_t)(ilen / sizeof(uint32_t));
        if (get_blob(db, "ease.B", &blob, (size_t)m->ease_n * m->ease_n * sizeof(float), NULL) != 1) {
            snprintf(err, errlen, "%s: blob ease.B missing or of the wrong size", path); goto fail;
        }
        m->ease_B = blob;
        m->ease_pos = malloc(m->n_items * sizeof *m->ease_pos + 1);
        if (!m->ease_pos) { snprintf(err, errlen, "out of memory"); goto fail; }
        for (uint32_t i = 0; i < m->n_items; i++) m->ease_pos[i] = -1;
        for (uint32_t j = 0; j < m->ease_n; j++) {
            if (m->ease_idx[j] >= m->n_items) { snprintf(err, errlen, "%s: ease.idx out of range", path); goto fail; }
            m->ease_pos[m->ease_idx[j]] = (int32_t)j;
        }
        char qerr[160];
        if (model_ease_quantize(m, qerr, sizeof qerr)) { snprintf(err, errlen, "%s: %s", path, qerr); goto fail; }
        free(m->ease_B);                  /* serving scores from ease_Q only */
        m->ease_B = NULL;
    }
    size_t uolen = 0, uilen = 0;
    r = get_blob(db, "uknn.off", &blob, 0, &uolen);
    if (r == 1) {
        m->uk_off = blob;
        m->uk_users = uolen >= 2 * sizeof(uint32_t) ? (uint32_t)(uolen / sizeof(uint32_t) - 1) : 0;
        if (get_blob(db, "uknn.idx", &blob, 0, &uilen) != 1) { snprintf(err, errlen, "%s: blob uknn.idx missing", path); goto fail; }
        m->uk_idx = blob;
        int ok = m->uk_users > 0 && m->uk_off[0] == 0 && (size_t)m->uk_off[m->uk_users] * sizeof(uint32_t) == uilen;
        for (uint32_t u = 0; ok && u < m->uk_users; u++) ok = m->uk_off[u] <= m->uk_off[u + 1];
        for (size_t e = 0; ok && e < uilen / sizeof(uint32_t); e++) ok = m->uk_idx[e] < m->n_items;
        if (!ok) { snprintf(err, errlen, "%s: blobs uknn.*: inconsistent", path); goto fail; }
        m->uk_k = ukk >= 1 && ukk < 1e9 ? (uint32_t)ukk : 50;
        m->uk_pow = ukp > 0 && ukp < 100 ? (float)ukp : 1;
        if (uknn_index(m)) { snprintf(err, errlen, "out of memory"); goto fail; }
    }
    if (load_users(db, m, err, errlen)) {
        char why[300];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, errlen, "%s: %s", path, why);
        goto fail;
    }
    if (get_blob(db, "w", &blob, sizeof m->w, NULL) == 1) { memcpy(m->w, blob, sizeof m->w); free(blob); }
    sqlite3_close(db);
    return m;
fail:
    sqlite3_finalize(st);
    sqlite3_close(db);
    model_free(m);
    return NULL;
}
