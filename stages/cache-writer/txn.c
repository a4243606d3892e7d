/* txn.c — the commands of the json layout's checked transactions: a
 * checked (WATCH) group's read and writes, the script group, the decision a
 * read back makes, and the probe that tries both at every connect
 * (txn.h). When a group goes out is newer.c's. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "layout.h"
#include "log.h"
#include "txn.h"

/* Json recommendations whose key exists go to Redis in groups (up to 32),
 * checked without Lua: an optimistic transaction, in two steps.
 *   WATCH key …; MGET key …           the read: the stored values
 * then, once the answer is in, the record's ts against the stored one (the
 * value starts with {"ts":N), and
 *   MULTI
 *   MSET key value …                  the records not older than what is stored
 *                                     (with --ttl: SET key value PX ttl, one per key)
 *   SET key value NX GET [PX ttl]     per key that held no string (gone since,
 *                                     or another type: then WRONGTYPE, nothing written)
 *   EXEC
 * EXEC runs nothing if any watched key was written or expired since the
 * WATCH, by anyone: so a newer value that arrived in between is never
 * overwritten, and what is compared is what is replaced. Newer-wins is
 * still decided inside Redis, atomically: by EXEC. Redis pays about what a
 * SET costs (the MGET and WATCH of a key cost less than a command of their
 * own each), instead of a script call per record.
 * A WATCH lives on one connection until the next EXEC, so one group at a
 * time is between its read and its writes; the next group's read goes out
 * right behind the writes, in the same send. An aborted group (contention:
 * another writer on the same keys) goes through the script group below,
 * which cannot be aborted, so every record is written in one more step at
 * most; so do a group's records when the connection broke after their
 * writes were sent (rpipe sends a PING in place of writes whose WATCH was
 * lost); a group read on a connection that broke before its writes were
 * sent is read again.
 *
 * The script group, one transaction:
 *   MULTI
 *   EVAL check   KEYS: the group's keys, then HELD; ARGV: their records' ts
 *   MSET key value …            (with --ttl: SET key value PX ttl, one per key)
 *   EVAL restore KEYS: HELD
 *   EXEC
 * The values never enter Lua: Redis's Lua hashes every byte of every string
 * handed to a script, and that hashing was the largest cost of writing a
 * 457-byte list through a script (perf: ~40% of what redis-server spent
 * beyond a plain SET). The check script instead moves aside (RENAME to HELD:1, HELD:2,
 * …, names listed in HELD) every key whose stored ts is newer than the
 * record's, or that holds another type; MSET then writes the group; restore
 * moves the set-aside values back over what MSET wrote. Inside MULTI nothing
 * runs in between, so no client ever sees an older value or HELD, and a
 * value put back keeps its TTL (RENAME carries it). The group never holds a
 * key twice (contended_to_group starts a new group first). EVAL, not EVALSHA: a
 * missing script inside EXEC would leave MSET to write unchecked, and the
 * text costs Redis one SHA1 of a few hundred bytes per group.
 * check returns 1 when every record may be written (the common case: no
 * table built), else one element per key: 1 written, 0 older than what is
 * there, or the error (WRONGTYPE) for that key alone. The stored ts is read
 * with GETRANGE of the first 32 bytes ({"ts":N comes first), and ts are
 * compared as strings when they have the same length and no sign (tonumber
 * is strtod). */
#define LUA_STRING_CHECK \
    "local n = #KEYS - 1\n" \
    "local held, nh, out = KEYS[n + 1], 0, nil\n" \
    "local function newer(t, a)\n" \
    "  if #t == #a and t >= '0' and a >= '0' then return t > a end\n" \
    "  return tonumber(t) > tonumber(a)\n" \
    "end\n" \
    "for i = 1, n do\n" \
    "  local k, r = KEYS[i], 1\n" \
    "  local cur = redis.pcall('GETRANGE', k, '0', '31')\n" \
    "  if type(cur) == 'table' then r = cur\n" \
    "  else\n" \
    "    local t = string.match(cur, '^{\"ts\":(%-?%d+)')\n" \
    "    if t and newer(t, ARGV[i]) then r = 0 end\n" \
    "  end\n" \
    "  if r ~= 1 then\n" \
    "    if nh == 0 then redis.call('DEL', held) end\n" \
    "    nh = nh + 1\n" \
    "    redis.call('RENAME', k, held .. ':' .. nh)\n" \
    "    redis.call('RPUSH', held, k)\n" \
    "    if not out then out = {} for j = 1, i - 1 do out[j] = 1 end end\n" \
    "  end\n" \
    "  if out then out[i] = r end\n" \
    "end\n" \
    "return out or 1\n"
/* A set-aside value can expire between the two scripts (each takes its own
 * clock): then ours is the right one to keep, so a failed RENAME is passed
 * over, and the list goes in any case, so that no later group trips on it. */
#define LUA_STRING_RESTORE \
    "local held = KEYS[1]\n" \
    "local names = redis.pcall('LRANGE', held, 0, -1)\n" \
    "if type(names) ~= 'table' or names.err then redis.call('DEL', held) return 0 end\n" \
    "if #names == 0 then return 0 end\n" \
    "for j = 1, #names do redis.pcall('RENAME', held .. ':' .. j, names[j]) end\n" \
    "redis.call('DEL', held)\n" \
    "return #names\n"
static const char lua_string_check[] = LUA_STRING_CHECK;
static const char lua_string_restore[] = LUA_STRING_RESTORE;

/* The ts at the start of a stored value ({"ts":N…), or 0 if it has none
 * (a value not ours: it is replaced, as the script does). */
static int stored_ts(const char *v, size_t len, int64_t *ts)
{
    if (len < 7 || memcmp(v, "{\"ts\":", 6) != 0) return 0;
    size_t i = 6;
    int neg = v[i] == '-';
    if (neg) i++;
    if (i >= len || v[i] < '0' || v[i] > '9') return 0;
    uint64_t t = 0;
    for (; i < len && v[i] >= '0' && v[i] <= '9'; i++) {
        if (t > (UINT64_MAX - 9) / 10) return 0;
        t = t * 10 + (uint64_t)(v[i] - '0');
    }
    if (t > (uint64_t)INT64_MAX) return 0;
    *ts = neg ? -(int64_t)t : (int64_t)t;
    return 1;
}

/* The decision for a record whose key's MGET element is e. */
int txn_read_act(const rpipe_slot *s, const redisReply *e)
{
    int64_t t;
    if (e->type != REDIS_REPLY_STRING) return ACT_CREATE;   /* nil: no string there */
    return stored_ts(e->str, e->len, &t) && t > s->ver ? ACT_SKIP : ACT_WRITE;
}


/* A checked group's read: WATCH key …; MGET key …. Returns its number of replies. */
int txn_read_block(layout *l, rbuf *blk, int n, const rpipe_slot *const *slot)
{
    rpipe_slot *b = &l->batch;
    size_t need = 64;
    for (int i = 0; i < n; i++) need += 2 * slot[i]->key.len + 32;
    rbuf_reserve(blk, need);
    for (int c = 0; c < 2; c++) {
        resp_begin(b);
        resp_arg_str(b, c ? "MGET" : "WATCH");
        for (int i = 0; i < n; i++) resp_arg(b, slot[i]->key.p, slot[i]->key.len);
        resp_finish_into(blk, b);
    }
    return 2;
}

/* A checked group's writes, after its read (see the top of this file):
 * sets each slot's reply_at (its element of EXEC's array, -1 for one not
 * written). Returns the number of replies. */
int txn_write_block(layout *l, rbuf *blk, int n, rpipe_slot *const *slot)
{
    rpipe_slot *b = &l->batch;
    size_t need = 64;
    int ncmds = 0, mset = 0;
    int ttl = l->conf.rec_ttl_ms > 0 || l->conf.rec_ttl_max_ms > 0;
    for (int i = 0; i < n; i++) {
        need += 2 * slot[i]->key.len + slot[i]->part.len + 64;
        mset |= slot[i]->act == ACT_WRITE && !ttl;
    }
    rbuf_reserve(blk, need);
    rbuf_put(blk, "*1\r\n$5\r\nMULTI\r\n", 15);
    if (mset) {   /* without a TTL, one MSET for every record to replace: the first command */
        resp_begin(b);
        resp_arg_str(b, "MSET");
        for (int i = 0; i < n; i++)
            if (slot[i]->act == ACT_WRITE) {
                resp_arg(b, slot[i]->key.p, slot[i]->key.len);
                resp_append_encoded(b, &slot[i]->part, 1);
            }
        resp_finish_into(blk, b);
        ncmds++;
    }
    for (int i = 0; i < n; i++) {
        rpipe_slot *s = slot[i];
        s->reply_at = s->act == ACT_SKIP || s->act == ACT_SUPERSEDED ? -1 : 0;
        if (s->reply_at < 0 || (s->act == ACT_WRITE && mset)) continue;
        resp_begin(b);
        resp_arg_str(b, "SET");
        resp_arg(b, s->key.p, s->key.len);
        resp_append_encoded(b, &s->part, 1);
        /* GET: a key of another type answers WRONGTYPE and is left alone */
        if (s->act == ACT_CREATE) { resp_arg_str(b, "NX"); resp_arg_str(b, "GET"); }
        if (s->ttl_ms > 0) { resp_arg_str(b, "PX"); resp_arg_i64(b, s->ttl_ms); }
        resp_finish_into(blk, b);
        s->reply_at = ncmds++;
    }
    rbuf_put(blk, "*1\r\n$4\r\nEXEC\r\n", 14);
    return ncmds + 2;
}

/* The transaction for n json recommendations (see the top of this file)
 * into blk: each slot holds its record's value as one RESP argument (after
 * resp_begin), its key and its ts (ver). Returns the number of replies it
 * gets: MULTI's OK, one QUEUED per command, EXEC's array, whose first
 * element (the check script's) answers for the records. */
int txn_group_block(layout *l, rbuf *blk, int n, const rpipe_slot *const *slot)
{
    rpipe_slot *b = &l->batch;
    size_t need = 1024 + sizeof lua_string_check + sizeof lua_string_restore;
    for (int i = 0; i < n; i++) need += 2 * slot[i]->key.len + slot[i]->part.len + 64;
    rbuf_reserve(blk, need);       /* one allocation, not a doubling series */
    rbuf_put(blk, "*1\r\n$5\r\nMULTI\r\n", 15);
    resp_begin(b);
    resp_arg_str(b, "EVAL");
    resp_arg(b, lua_string_check, sizeof lua_string_check - 1);
    resp_arg_i64(b, n + 1);
    for (int i = 0; i < n; i++) resp_arg(b, slot[i]->key.p, slot[i]->key.len);
    resp_arg(b, l->held.p, l->held.len);
    for (int i = 0; i < n; i++) resp_arg_i64(b, slot[i]->ver);
    resp_finish_into(blk, b);
    int ncmds = 1;
    if (l->conf.rec_ttl_ms > 0 || l->conf.rec_ttl_max_ms > 0) {
        /* each key's own expiry, set by the write itself: the TTL is decided
         * with the value, inside the same transaction as the check */
        for (int i = 0; i < n; i++) {
            resp_begin(b);
            resp_arg_str(b, "SET");
            resp_arg(b, slot[i]->key.p, slot[i]->key.len);
            resp_append_encoded(b, &slot[i]->part, 1);
            if (slot[i]->ttl_ms > 0) { resp_arg_str(b, "PX"); resp_arg_i64(b, slot[i]->ttl_ms); }
            resp_finish_into(blk, b);
            ncmds++;
        }
    } else {
        resp_begin(b);
        resp_arg_str(b, "MSET");
        for (int i = 0; i < n; i++) {
            resp_arg(b, slot[i]->key.p, slot[i]->key.len);
            resp_append_encoded(b, &slot[i]->part, 1);
        }
        resp_finish_into(blk, b);
        ncmds++;
    }
    resp_begin(b);
    resp_arg_str(b, "EVAL");
    resp_arg(b, lua_string_restore, sizeof lua_string_restore - 1);
    resp_arg_str(b, "1");
    resp_arg(b, l->held.p, l->held.len);
    resp_finish_into(blk, b);
    ncmds++;
    rbuf_put(blk, "*1\r\n$4\r\nEXEC\r\n", 14);
    return ncmds + 2;
}


/* Send a block on a connection being set up, read its n replies: the
 * last one into *last (the caller frees it), the first error into why. */
static int probe_block(redisContext *c, const rbuf *blk, int n, redisReply **last, char *why, size_t whylen)
{
    if (redisAppendFormattedCommand(c, blk->p, blk->len) != REDIS_OK) return -1;
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
            log_warn("redis: connection lost while checking the newer-wins transaction: %s", c->errstr);
            return -1;
        }
        if (!why[0] && r->type == REDIS_REPLY_ERROR) snprintf(why, whylen, "%s", r->str);
        if (i == n - 1) *last = r;
        else freeReplyObject(r);
    }
    return 0;
}

static int probe_cmd(redisContext *c, int argc, const char **argv, redisReply **out, char *why, size_t whylen)
{
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    if (!r) {
        log_warn("redis: connection lost while checking the newer-wins transaction: %s", c->errstr);
        return -1;
    }
    if (!why[0] && r->type == REDIS_REPLY_ERROR) snprintf(why, whylen, "%s", r->str);
    if (out) *out = r; else freeReplyObject(r);
    return 0;
}

/* What is wrong with a probe transaction's EXEC answer, into why (if empty). */
static void exec_why(const redisReply *ex, char *why, size_t whylen)
{
    if (why[0]) return;
    if (ex->type != REDIS_REPLY_ARRAY) snprintf(why, whylen, "EXEC: the transaction did not run");
    for (size_t j = 0; ex->type == REDIS_REPLY_ARRAY && j < ex->elements && !why[0]; j++)
        if (ex->element[j]->type == REDIS_REPLY_ERROR)
            snprintf(why, whylen, "in the transaction: %s", ex->element[j]->str);
}

/* The probe's check of the script group: a stored newer value, then a
 * group of one older record for it, built as every group is. */
static int probe_script(layout *l, redisContext *c, const char *key, char *why, size_t whylen)
{
    const char *newer = "{\"ts\":2}", *older = "{\"ts\":1}";
    rpipe_slot rec = { 0 };
    rbuf_put(&rec.key, key, strlen(key));
    rec.ver = 1;
    rec.ttl_ms = 60000;
    resp_encode_arg(&rec.part, older, strlen(older));
    const rpipe_slot *slot[1] = { &rec };
    rbuf blk = { 0 };
    int nblock = txn_group_block(l, &blk, 1, slot);
    const char *set[] = { "SET", key, newer, "PX", "60000" }, *get[] = { "GET", key };
    redisReply *ex = NULL, *g = NULL;
    int rc = probe_cmd(c, 5, set, NULL, why, whylen) || probe_block(c, &blk, nblock, &ex, why, whylen) ||
             probe_cmd(c, 2, get, &g, why, whylen) ? -1 : 0;
    rpipe_slot_free(&rec); rbuf_free(&blk);
    if (!rc && !why[0]) {
        exec_why(ex, why, whylen);
        if (!why[0] && !(g->type == REDIS_REPLY_STRING && strcmp(g->str, newer) == 0))
            snprintf(why, whylen, "an older value replaced a newer one");
    }
    if (ex) freeReplyObject(ex);
    if (g) freeReplyObject(g);
    return rc;
}

/* The probe's check of the watched path: three keys, read back and written
 * by the same blocks as every checked group: one newer than our record
 * (kept), one older (replaced), one absent (created). */
static int probe_watched(layout *l, redisContext *c, const char *key, char *why, size_t whylen)
{
    char k[3][600];
    const char *stored[3] = { "{\"ts\":2}", "{\"ts\":0}", NULL }, *ours = "{\"ts\":1}";
    const char *want[3] = { "{\"ts\":2}", "{\"ts\":1}", "{\"ts\":1}" };
    rpipe_slot rec[3];
    rpipe_slot *slot[3];
    int rc = 0;
    memset(rec, 0, sizeof rec);
    for (int i = 0; i < 3 && !rc; i++) {
        snprintf(k[i], sizeof k[i], "%s:%d", key, i);
        rbuf_put(&rec[i].key, k[i], strlen(k[i]));
        rec[i].ver = 1;
        rec[i].ttl_ms = 60000;
        resp_encode_arg(&rec[i].part, ours, strlen(ours));
        slot[i] = &rec[i];
        const char *set[] = { "SET", k[i], stored[i], "PX", "60000" }, *del[] = { "DEL", k[i] };
        rc = stored[i] ? probe_cmd(c, 5, set, NULL, why, whylen) : probe_cmd(c, 2, del, NULL, why, whylen);
    }
    rbuf blk = { 0 };
    redisReply *rd = NULL, *ex = NULL;
    if (!rc && !why[0]) {
        int n = txn_read_block(l, &blk, 3, (const rpipe_slot *const *)slot);
        rc = probe_block(c, &blk, n, &rd, why, whylen);
    }
    if (!rc && !why[0]) {
        if (rd->type != REDIS_REPLY_ARRAY || rd->elements != 3) snprintf(why, whylen, "MGET: not an array of 3");
        for (int i = 0; i < 3 && !why[0]; i++) rec[i].act = txn_read_act(&rec[i], rd->element[i]);
    }
    if (!rc && !why[0]) {
        int n = txn_write_block(l, &blk, 3, slot);
        rc = probe_block(c, &blk, n, &ex, why, whylen);
    }
    if (!rc && !why[0]) {
        exec_why(ex, why, whylen);
    }
    for (int i = 0; i < 3 && !rc && !why[0]; i++) {
        redisReply *g = NULL;
        const char *get[] = { "GET", k[i] };
        rc = probe_cmd(c, 2, get, &g, why, whylen);
        if (!rc && !why[0] && !(g->type == REDIS_REPLY_STRING && strcmp(g->str, want[i]) == 0))
            snprintf(why, whylen, i ? "a checked write did not happen" : "an older value replaced a newer one");
        if (g) freeReplyObject(g);
    }
    for (int i = 0; i < 3; i++) {
        const char *del[] = { "DEL", k[i] };
        if (!rc) rc = probe_cmd(c, 2, del, NULL, why, whylen);
        rpipe_slot_free(&rec[i]);
    }
    if (rd) freeReplyObject(rd);
    if (ex) freeReplyObject(ex);
    rbuf_free(&blk);
    return rc;
}

/* rpipe's probe, for the json layout: at every connect, both checked paths
 * (the watched group, the script group) on keys of this process's own. A
 * Redis that refuses part of them (an ACL without WATCH, MULTI, EVAL,
 * RENAME or the held keys, a read-only replica) stops us here, instead of
 * answering a group with an error after its writes ran unchecked (EXEC
 * does not roll back). */
int layout_probe(void *ctx, redisContext *c)
{
    layout *l = ctx;
    char key[512], why[300] = "";
    snprintf(key, sizeof key, "%scache-writer:probe:%ld:%lx", l->conf.prefix ? l->conf.prefix : "",
             (long)getpid(), (unsigned long)lrand48());
    const char *del[] = { "DEL", key };
    if (probe_script(l, c, key, why, sizeof why) || probe_cmd(c, 2, del, NULL, why, sizeof why)) return -1;
    if (!why[0] && probe_watched(l, c, key, why, sizeof why)) return -1;
    if (!why[0]) return 0;
    if (rpipe_transient_error(why)) {
        log_warn("redis: %s; trying again", why);
        return -1;
    }
    if (rpipe_readonly_error(why)) {
        log_error("redis: %s: %s", why, RPIPE_READONLY_HINT);
        return -2;
    }
    /* every command of the README's ACL line, so one ACL SETUSER fixes it */
    log_error("redis: the newer-wins transaction does not work on this server (%s); the Redis user needs "
              "PING, GET, SET, MSET, DEL, WATCH, MGET, MULTI, EXEC, EVAL, EVALSHA, SCRIPT LOAD, PEXPIRE, "
              "ZADD, ZCARD, ZREMRANGEBYRANK, HGET, HSET, SELECT (with a /db in --redis) and, in the scripts, "
              "GETRANGE, RENAME, RPUSH, LRANGE on %s*", why, l->conf.prefix && l->conf.prefix[0] ? l->conf.prefix : "");
    return -2;
}
