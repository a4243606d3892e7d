/* checkpoint.c — the experiment engine in --state (ea_state_load/_save,
 * analyze.h): its tables, the fingerprint that ties a saved experiment to
 * its definition, the settings checked against the run's, and the users
 * saved incrementally. Separate from analyze.c because it is the file
 * format: analyze.c counts, this file writes the counts down and reads
 * them back. */
#include "analyze_int.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hash.h"
#include "log.h"
#include "state.h"

/* The tables:
 * ea_exp:  one row per experiment: a fingerprint of its definition (variants,
 *          allocations, metrics) and its ea_exp_stats as a blob;
 * ea_user: one row per (experiment, user): variant index, exposure time,
 *          flags and the per-metric values (16 bytes each) as a blob.
 * Saves write only the slots changed since the last save. */

const char ea_state_schema[] =
    "CREATE TABLE IF NOT EXISTS ea_exp(experiment TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,"
    " stats BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS ea_user(experiment TEXT NOT NULL, user_id TEXT NOT NULL,"
    " variant INTEGER NOT NULL, exposed_ts INTEGER NOT NULL, flags INTEGER NOT NULL,"
    " vals BLOB NOT NULL, PRIMARY KEY(experiment, user_id)) WITHOUT ROWID;"
    /* mergeable mode: the exact sums, nvariants x nmetrics ea_xarm */
    "CREATE TABLE IF NOT EXISTS ea_xsum(experiment TEXT PRIMARY KEY, sums BLOB NOT NULL);"
    /* the settings outside the fingerprint (ea_config_settings); a state
     * written before this table has none and takes the run's */
    "CREATE TABLE IF NOT EXISTS ea_setting(experiment TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY(experiment, name)) WITHOUT ROWID;"
    EA_SEEN_SCHEMA;

/* FNV-1a over the definition as text, fed piece by piece (the same hash as
 * ea_hash("", 0, text): fingerprints of states written when the text was
 * cut at 4 KiB stay valid for every definition shorter than that). */
typedef struct ea_fp { uint64_t h; } ea_fp;
static void ea_fp_add(ea_fp *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ea_fp_bytes(ea_fp *f, const char *p, size_t n)
{
    f->h = hash_fnv1a64_more(f->h, p, n);
}
static void ea_fp_add(ea_fp *f, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof buf) { ea_fp_bytes(f, buf, (size_t)n); return; }
    /* longer than the buffer (a long name): format again into the heap */
    char *big = malloc((size_t)n + 1);
    if (!big) log_fatal("experiment-analyzer: out of memory");
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    ea_fp_bytes(f, big, (size_t)n);
    free(big);
}

void ea_fingerprint(const ea_experiment_cfg *e, char out[17])
{
    ea_fp f = { HASH_FNV1A64_BASIS };
    ea_fp_bytes(&f, ":", 1);
    ea_fp_add(&f, "%zu|%s|", sizeof(ea_exp_stats), e->salt ? e->salt : "");
    for (int v = 0; v < e->nvariants; v++)
        ea_fp_add(&f, "%s=%.9g;", e->variants[v].name, e->variants[v].allocation);
    for (int m = 0; m < e->nmetrics; m++) {
        const ea_metric_cfg *mc = &e->metrics[m];
        ea_fp_add(&f, "%s:%d:%s:%lld:%d;", mc->name, mc->type, mc->event, (long long)mc->window,
                  mc->aggregate);
        /* only when set: the fingerprints of definitions without them stay */
        if (mc->covariate || mc->denominator || mc->quantile_line)
            ea_fp_add(&f, "cov=%s|den=%s|q=%.17g;", mc->covariate ? mc->covariate : "",
                      mc->denominator ? mc->denominator : "", mc->quantile);
    }
    uint64_t h = hash_mix64(f.h);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* A setting of the run (ea_config_settings) against its value in the
 * state: the statistics so far were tested and decided with the stored one,
 * so another is a usage error naming both (-2); the state is left as is. */
typedef struct ea_setting_cmp {
    const char *name, *stored;    /* the row read */
    int found;                    /* a setting of this run too */
    char *now;                    /* its value in this run when it differs (malloc) */
} ea_setting_cmp;

static void ea_setting_find(void *ctx, const char *name, const char *value)
{
    ea_setting_cmp *c = ctx;
    if (c->found || strcmp(name, c->name)) return;
    c->found = 1;
    if (strcmp(value, c->stored) && !(c->now = strdup(value))) log_fatal("experiment-analyzer: out of memory");
}

static int ea_settings_check(ea_engine *ea, sqlite3 *db)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT experiment, name, value FROM ea_setting", -1, &q, NULL) != SQLITE_OK)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *exp = (const char *)sqlite3_column_text(q, 0);
        int x = ea_config_find(ea->cfg, exp, strlen(exp));
        if (x < 0) continue;
        ea_setting_cmp c = { (const char *)sqlite3_column_text(q, 1), (const char *)sqlite3_column_text(q, 2) };
        ea_config_settings(&ea->cfg->experiments[x], ea_setting_find, &c);
        if (!c.now) continue;   /* the same, or a setting this version does not have: no say */
        log_error("state: experiment \"%s\": %s is %s in the config but was %s when the state was written: "
                  "its statistics so far were tested and decided with %s; restore the setting, or use a new "
                  "--state or a new experiment name", exp, c.name, c.now, c.stored, c.stored);
        free(c.now);
        sqlite3_finalize(q);
        return -2;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : -1;
}

typedef struct ea_setting_put { sqlite3_stmt *q; const char *exp; int rc; } ea_setting_put;

static void ea_setting_insert(void *ctx, const char *name, const char *value)
{
    ea_setting_put *p = ctx;
    if (p->rc != SQLITE_DONE) return;
    sqlite3_bind_text(p->q, 1, p->exp, -1, SQLITE_STATIC);
    sqlite3_bind_text(p->q, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(p->q, 3, value, -1, SQLITE_TRANSIENT);
    p->rc = sqlite3_step(p->q);
    sqlite3_reset(p->q);
}

/* The run's settings into the state: once per process (they were checked
 * at load, or the state had none). */
static int ea_settings_save(ea_engine *ea, sqlite3 *db)
{
    if (ea->settings_saved) return 0;
    ea_setting_put p = { NULL, NULL, SQLITE_DONE };
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO ea_setting VALUES(?,?,?)", -1, &p.q, NULL) != SQLITE_OK)
        return -1;
    for (int x = 0; x < ea->cfg->nexperiments && p.rc == SQLITE_DONE; x++) {
        p.exp = ea->cfg->experiments[x].name;
        ea_config_settings(&ea->cfg->experiments[x], ea_setting_insert, &p);
    }
    sqlite3_finalize(p.q);
    if (p.rc != SQLITE_DONE) return -1;
    ea->settings_saved = 1;
    return 0;
}

int ea_state_load(ea_engine *ea, state *stt)
{
    sqlite3 *db = state_db(stt);
    sqlite3_stmt *q = NULL;
    int nexp = 0;
    ea->us.track_dirty = 1;
    if (sqlite3_prepare_v2(db, "SELECT experiment, fingerprint, stats FROM ea_exp", -1, &q, NULL) != SQLITE_OK)
        goto sqlerr;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        const char *fp = (const char *)sqlite3_column_text(q, 1);
        int x = ea_config_find(ea->cfg, name, strlen(name));
        if (x < 0) { log_info("state: experiment \"%s\" is no longer configured: ignored", name); continue; }
        char want[17];
        ea_fingerprint(&ea->cfg->experiments[x], want);
        if (!fp || strcmp(fp, want)) {
            log_error("state: experiment \"%s\" was recorded with a different definition (variants, "
                      "allocations or metrics changed) or by an older version of experiment-analyzer "
                      "(whose statistics are laid out differently): use a new --state or a new "
                      "experiment name", name);
            sqlite3_finalize(q);
            return -2;
        }
        if ((size_t)sqlite3_column_bytes(q, 2) != sizeof(ea_exp_stats)) {
            log_error("state: experiment \"%s\": statistics blob has the wrong size", name);
            sqlite3_finalize(q);
            return -1;
        }
        memcpy(&ea->st[x], sqlite3_column_blob(q, 2), sizeof(ea_exp_stats));
        nexp++;
    }
    if (rc != SQLITE_DONE) goto sqlerr;
    sqlite3_finalize(q);
    q = NULL;
    int sr = ea_settings_check(ea, db);
    if (sr == -1) goto sqlerr;
    if (sr < 0) return sr;
    /* the exact sums of mergeable mode: there exactly when that mode wrote
     * the state (the other mode's moments and looks mean something else) */
    if (sqlite3_prepare_v2(db, "SELECT experiment, sums FROM ea_xsum", -1, &q, NULL) != SQLITE_OK)
        goto sqlerr;
    int nx = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        int x = ea_config_find(ea->cfg, name, strlen(name));
        if (x < 0) continue;
        nx++;
        if (!ea->mergeable) continue;
        const ea_experiment_cfg *e = &ea->cfg->experiments[x];
        size_t want = (size_t)e->nvariants * (size_t)e->nmetrics * sizeof(ea_xarm);
        if ((size_t)sqlite3_column_bytes(q, 1) != want) {
            log_error("state: experiment \"%s\": exact sums blob has the wrong size", name);
            sqlite3_finalize(q);
            return -1;
        }
        const ea_xarm *b = sqlite3_column_blob(q, 1);
        for (int v = 0; v < e->nvariants; v++)
            for (int m = 0; m < e->nmetrics; m++) *ea_xa(ea, x, v, m) = b[v * e->nmetrics + m];
    }
    if (rc != SQLITE_DONE) goto sqlerr;
    sqlite3_finalize(q);
    if (nexp && (nx > 0) != (ea->mergeable != 0)) {
        log_error("state: written %s mergeable mode (--emit partials, --merge, --mergeable) and read %s it: "
                  "looks and moments are kept differently; use a new --state", nx ? "in" : "outside",
                  ea->mergeable ? "in" : "outside");
        return -2;
    }
    if (sqlite3_prepare_v2(db, "SELECT experiment, user_id, variant, exposed_ts, flags, vals FROM ea_user"
                           " ORDER BY experiment", -1, &q, NULL) != SQLITE_OK)
        goto sqlerr;
    int x = -1;
    char cur[256] = "";
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        if (strncmp(cur, name, sizeof cur - 1)) {
            snprintf(cur, sizeof cur, "%s", name);
            x = ea_config_find(ea->cfg, name, strlen(name));
        }
        if (x < 0) continue;
        const ea_experiment_cfg *e = &ea->cfg->experiments[x];
        const char *id = (const char *)sqlite3_column_text(q, 1);
        size_t idlen = (size_t)sqlite3_column_bytes(q, 1);
        int v = sqlite3_column_int(q, 2);
        size_t vb = (size_t)sqlite3_column_bytes(q, 5);
        if (v < 0 || v >= e->nvariants || vb != (size_t)e->nvals * sizeof(ea_uval) || idlen > EA_MAX_KEY) {
            log_error("state: bad row for user in experiment \"%s\"", name);
            sqlite3_finalize(q);
            return -1;
        }
        uint32_t tag = ea_user_tag(id, idlen);
        ea_entry *u = ea_probe(&ea->us, id, idlen, tag);
        if (!u->blk) u = ea_insert(&ea->us, u, id, idlen, tag, ea->us.slot_size[x]);
        if (!u) { log_error("state: more users than --max-users"); sqlite3_finalize(q); return -1; }
        if (ea_slot_find(&ea->us, u, x)) continue;   /* primary key: cannot happen */
        ea_slot *s = ea_slot_new(&ea->us, u, x, v, sqlite3_column_int64(q, 3));
        s->flags = (uint8_t)(sqlite3_column_int(q, 4) & ~EA_F_DIRTY);
        if (vb) memcpy(ea_uvals(s), sqlite3_column_blob(q, 5), vb);
        /* CUPED and ratio sums are not in the state: rebuilt from the
         * users, exactly (they are exact sums) */
        for (int m = 0; m < e->nmetrics; m++) {
            if (!ea_metric_paired(&e->metrics[m])) continue;
            double py, px;
            ea_pair_of(&e->metrics[m], ea_uvals(s), m, &py, &px);
            ea_ps_add(ea_ps(ea, x, v, m), py, px, 1);
        }
    }
    if (rc != SQLITE_DONE) goto sqlerr;
    sqlite3_finalize(q);
    log_info("state: %llu exposed users loaded", (unsigned long long)ea->us.n);
    return ea_seen_load(&ea->seen, stt);
sqlerr:
    log_error("state: %s", sqlite3_errmsg(db));
    sqlite3_finalize(q);
    return -1;
}

static int ea_save_xsums(ea_engine *ea, sqlite3 *db)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO ea_xsum VALUES(?,?)", -1, &q, NULL) != SQLITE_OK) return -1;
    for (int x = 0; x < ea->cfg->nexperiments; x++) {
        const ea_experiment_cfg *e = &ea->cfg->experiments[x];
        size_t n = (size_t)e->nvariants * (size_t)e->nmetrics;
        ea_xarm *b = malloc(n * sizeof *b);
        if (!b) { sqlite3_finalize(q); return -1; }
        for (int v = 0; v < e->nvariants; v++)
            for (int m = 0; m < e->nmetrics; m++) b[v * e->nmetrics + m] = *ea_xa(ea, x, v, m);
        sqlite3_bind_text(q, 1, e->name, -1, SQLITE_STATIC);
        sqlite3_bind_blob(q, 2, b, (int)(n * sizeof *b), SQLITE_TRANSIENT);
        int rc = sqlite3_step(q);
        free(b);
        if (rc != SQLITE_DONE) { sqlite3_finalize(q); return -1; }
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    return 0;
}

int ea_state_save(ea_engine *ea, state *stt)
{
    sqlite3 *db = state_db(stt);
    sqlite3_stmt *qu = NULL, *qe = NULL;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO ea_user VALUES(?,?,?,?,?,?)", -1, &qu, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO ea_exp VALUES(?,?,?)", -1, &qe, NULL) != SQLITE_OK)
        goto sqlerr;
    for (size_t i = 0; i < ea->us.ndirty; i++) {
        ea_block *b = ea_blk(&ea->us, ea->us.dirty[i]);
        /* a block that moved since it was listed is free (nslots 0) or
         * another user's (listed again if dirty): only dirty slots are saved */
        b->flags &= (uint8_t)~EA_B_DIRTY;
        char *p = (char *)ea_blk_slots(b);
        for (int k = 0; k < b->nslots; k++, p += ea->us.slot_size[((ea_slot *)p)->exp]) {
            ea_slot *s = (ea_slot *)p;
            if (!(s->flags & EA_F_DIRTY)) continue;
            const ea_experiment_cfg *e = &ea->cfg->experiments[s->exp];
            s->flags &= (uint8_t)~EA_F_DIRTY;
            sqlite3_bind_text(qu, 1, e->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(qu, 2, ea_blk_key(b), (int)b->key_len, SQLITE_STATIC);
            sqlite3_bind_int(qu, 3, s->variant);
            sqlite3_bind_int64(qu, 4, s->exposed_ts);
            sqlite3_bind_int(qu, 5, s->flags);
            sqlite3_bind_blob(qu, 6, ea_uvals(s), (int)((size_t)e->nvals * sizeof(ea_uval)), SQLITE_STATIC);
            if (sqlite3_step(qu) != SQLITE_DONE) goto sqlerr;
            sqlite3_reset(qu);
        }
    }
    ea->us.ndirty = 0;
    for (int x = 0; x < ea->cfg->nexperiments; x++) {
        char fp[17];
        ea_fingerprint(&ea->cfg->experiments[x], fp);
        sqlite3_bind_text(qe, 1, ea->cfg->experiments[x].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(qe, 2, fp, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(qe, 3, &ea->st[x], sizeof(ea_exp_stats), SQLITE_STATIC);
        if (sqlite3_step(qe) != SQLITE_DONE) goto sqlerr;
        sqlite3_reset(qe);
    }
    if (ea->mergeable && ea_save_xsums(ea, db) < 0) goto sqlerr;
    if (ea_settings_save(ea, db) < 0) goto sqlerr;
    sqlite3_finalize(qu);
    sqlite3_finalize(qe);
    return ea_seen_save(&ea->seen, stt);
sqlerr:
    log_error("state: %s", sqlite3_errmsg(db));
    sqlite3_finalize(qu);
    sqlite3_finalize(qe);
    return -1;
}
