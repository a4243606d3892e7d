/* newer.c — the json layout's newer-wins writes: a SET NX attempt for a
 * key not known, the checked (WATCH) groups and the script group for the
 * rest, the probe that checks both at connect, and flush, drain and send
 * (see layout.h). What key and value a record becomes is layout.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "layout.h"
#include "log.h"
#include "newer.h"

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

/* NX costs Redis about what a SET costs and the script nearly twice that;
 * an attempt that finds the key pays both. So after every NX_WINDOW answers:
 * if more than NX_OFF_PERMILLE of them found the key (say a restart over a
 * full Redis), keys not known go to the script too, but for one in NX_PROBE
 * which still tries NX, to notice when fresh keys come back. */
#define NX_WINDOW 256
#define NX_OFF_PERMILLE 400
#define NX_PROBE 64

void newer_init(layout *l)
{
    const layout_conf *c = &l->conf;
    /* half the window: with 32 a group, Redis spent a fifth less per record
     * than with 16 (a transaction's fixed costs), while a second group can
     * be in flight (a checked group's writes and the next one's read) */
    l->group_max = c->pipeline_depth / 2;
    if (l->group_max > GROUP_MAX) l->group_max = GROUP_MAX;
    if (l->group_max < 1) l->group_max = 1;
    if (c->prefix) rbuf_put(&l->held, c->prefix, strlen(c->prefix));
    rbuf_put(&l->held, "cache-writer:held", 17);
    size_t busy = 64;
    while (busy < 4 * ((size_t)c->pipeline_depth + (size_t)l->group_max)) busy <<= 1;
    l->busy_h = calloc(busy, sizeof *l->busy_h);
    l->busy_n = calloc(busy, sizeof *l->busy_n);
    l->busy_mask = busy - 1;
    l->staged = calloc((size_t)l->group_max, sizeof *l->staged);
    l->pend = calloc((size_t)l->group_max, sizeof *l->pend);
    l->ready = calloc((size_t)l->group_max, sizeof *l->ready);
    if (!l->busy_h || !l->busy_n || !l->staged || !l->pend || !l->ready) log_fatal("out of memory");
}

static void swap_buf(rbuf *a, rbuf *b) { rbuf t = *a; *a = *b; *b = t; }

/* A record's own fields from one slot to another (queues, staged NX,
 * pipeline): the record, its value, key, position, hash, version and
 * expiry, so that no path forgets one; the command buffers stay. */
static void slot_move_record(rpipe_slot *to, rpipe_slot *from)
{
    swap_buf(&to->raw, &from->raw); swap_buf(&to->key, &from->key); swap_buf(&to->part, &from->part);
    to->pos = from->pos; to->khash = from->khash; to->ver = from->ver; to->ttl_ms = from->ttl_ms;
    to->act = from->act;
}

static void slot_free(rpipe_slot *s)
{
    rbuf_free(&s->cmd); rbuf_free(&s->part); rbuf_free(&s->raw); rbuf_free(&s->key);
}

/* The slot at the queue's tail, for a record to move into. */
static rpipe_slot *slotq_push(slotq *q)
{
    if (q->n == q->cap) {
        int cap = q->cap ? q->cap * 2 : 64;
        rpipe_slot *n = calloc((size_t)cap, sizeof *n);
        if (!n) log_fatal("out of memory");
        for (int i = 0; i < q->cap; i++)   /* in order; the buffers move along */
            n[i] = q->q[(q->head + i) % q->cap];
        free(q->q);
        q->q = n; q->head = 0; q->cap = cap;
    }
    return &q->q[(q->head + q->n++) % q->cap];
}

static rpipe_slot *slotq_front(slotq *q) { return &q->q[q->head]; }
static void slotq_pop(slotq *q) { q->head = (q->head + 1) % q->cap; q->n--; }

static void slotq_free(slotq *q)
{
    for (int i = 0; i < q->cap; i++) slot_free(&q->q[i]);
    free(q->q);
}

/* The busy table: how many NX attempts for the key hash h are staged or
 * unanswered. Hashes are never 0 (keyset_hash), so 0 marks a free entry. */
static size_t busy_at(const layout *l, uint64_t h)
{
    size_t i = h & l->busy_mask;
    while (l->busy_h[i] && l->busy_h[i] != h) i = (i + 1) & l->busy_mask;
    return i;
}

static int busy_get(const layout *l, uint64_t h) { return l->busy_h[busy_at(l, h)] == h; }

static void busy_inc(layout *l, uint64_t h)
{
    size_t i = busy_at(l, h);
    l->busy_h[i] = h;
    l->busy_n[i]++;
}

static void busy_dec(layout *l, uint64_t h)
{
    size_t i = busy_at(l, h), m = l->busy_mask;
    if (l->busy_h[i] != h || --l->busy_n[i]) return;
    /* delete by shifting back the entries that probed past i */
    for (size_t j = (i + 1) & m; l->busy_h[j]; j = (j + 1) & m) {
        size_t home = l->busy_h[j] & m;
        if (((j - home) & m) >= ((j - i) & m)) {
            l->busy_h[i] = l->busy_h[j]; l->busy_n[i] = l->busy_n[j];
            i = j;
        }
    }
    l->busy_h[i] = 0; l->busy_n[i] = 0;
}

/* rpipe's on_nx: the answer to one NX attempt. */
static void on_nx(void *ctx, rpipe_slot *s, int existed)
{
    layout *l = ctx;
    busy_dec(l, s->khash);
    if (l->nx_open) l->nx_open--;
    if (existed < 0) return;                  /* an error: rpipe dead-letters it */
    l->nx_window++;
    if (existed) {
        l->nx_existed++; l->nx_window_existed++;
        /* the key was there and nothing was written: the record goes to
         * the checked path, ahead of any later record for the key */
        slot_move_record(slotq_push(&l->retry), s);
    }
    if (l->nx_window >= NX_WINDOW) {
        l->nx_off = (uint64_t)l->nx_window_existed * 1000 > (uint64_t)l->nx_window * NX_OFF_PERMILLE;
        l->nx_window = l->nx_window_existed = 0;
    }
}

/* What the read back decides for a record (rpipe_slot.act). */
enum { ACT_WRITE, ACT_SKIP, ACT_CREATE, ACT_SUPERSEDED };

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
static int read_act(const rpipe_slot *s, const redisReply *e)
{
    int64_t t;
    if (e->type != REDIS_REPLY_STRING) return ACT_CREATE;   /* nil: no string there */
    return stored_ts(e->str, e->len, &t) && t > s->ver ? ACT_SKIP : ACT_WRITE;
}

/* rpipe's on_watch (see rpipe.h). */
static int on_watch(void *ctx, rpipe_slot *s, const redisReply *e)
{
    layout *l = ctx;
    if (s->watch == RPIPE_WATCH_READ) {
        if (l->wreading) l->wreading--;
        if (!e) return 0;                     /* the read failed: rpipe dead-letters it */
        rpipe_slot *r = &l->ready[l->nready++];
        slot_move_record(r, s);
        if (r->act != ACT_SUPERSEDED) r->act = read_act(r, e);
        l->ready_gen = l->pipe->gen;
        return 1;
    }
    /* aborted: a watched key changed, or the WATCH went with a broken
     * connection; the script group writes it instead */
    l->aborted++;
    slot_move_record(slotq_push(&l->contended), s);
    return 1;
}

void layout_attach(layout *l, rpipe *p)
{
    p->on_nx = on_nx; p->nx_ctx = l;
    p->on_watch = on_watch; p->watch_ctx = l;
    l->pipe = p;
}

/* A checked group's read: WATCH key …; MGET key …. Returns its number of replies. */
static int read_block(layout *l, rbuf *blk, int n, const rpipe_slot *const *slot)
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
static int write_block(layout *l, rbuf *blk, int n, rpipe_slot *const *slot)
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
static int group_block(layout *l, rbuf *blk, int n, const rpipe_slot *const *slot)
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

/* Send the pending script group as one transaction. */
static int group_flush(layout *l, rpipe *p)
{
    int n = l->group;
    if (!n) return 0;
    l->group = 0;
    const rpipe_slot *slot[GROUP_MAX];
    for (int i = 0; i < n; i++) slot[i] = rpipe_reserved(p, i);
    int nreplies = group_block(l, &l->block, n, slot);
    /* the block moves into the group's first slot (buffers swapped, not copied) */
    rpipe_slot *first = rpipe_reserved(p, 0);
    swap_buf(&first->cmd, &l->block);
    first->nreplies = nreplies;
    return rpipe_push_group(p, 1);
}

/* Is a record for the key hash h already in the pending script group? A
 * group holds each key once: MSET would otherwise write both values after
 * one check against what was stored before. */
static int group_has(layout *l, rpipe *p, uint64_t h)
{
    for (int i = 0; i < l->group; i++)
        if (rpipe_reserved(p, i)->khash == h) return 1;
    return 0;
}

/* The record last added to the pending group: its key may be there
 * already (a user twice within one group, common when a stream replays):
 * then of the two only the newer (the later, at equal ts) is written, the
 * other rides along, answered with the group, as Redis's check would have
 * decided between them. A group thus writes each key once. */
static void pend_added(layout *l)
{
    rpipe_slot *s = &l->pend[l->npend - 1];
    s->act = ACT_WRITE;
    for (int i = 0; i < l->npend - 1; i++) {
        rpipe_slot *o = &l->pend[i];
        if (o->khash != s->khash || o->act == ACT_SUPERSEDED || o->key.len != s->key.len ||
            memcmp(o->key.p, s->key.p, s->key.len) != 0)
            continue;
        if (s->ver >= o->ver) o->act = ACT_SUPERSEDED;
        else s->act = ACT_SUPERSEDED;
        return;
    }
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
    int nblock = group_block(l, &blk, 1, slot);
    const char *set[] = { "SET", key, newer, "PX", "60000" }, *get[] = { "GET", key };
    redisReply *ex = NULL, *g = NULL;
    int rc = probe_cmd(c, 5, set, NULL, why, whylen) || probe_block(c, &blk, nblock, &ex, why, whylen) ||
             probe_cmd(c, 2, get, &g, why, whylen) ? -1 : 0;
    slot_free(&rec); rbuf_free(&blk);
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
        int n = read_block(l, &blk, 3, (const rpipe_slot *const *)slot);
        rc = probe_block(c, &blk, n, &rd, why, whylen);
    }
    if (!rc && !why[0]) {
        if (rd->type != REDIS_REPLY_ARRAY || rd->elements != 3) snprintf(why, whylen, "MGET: not an array of 3");
        for (int i = 0; i < 3 && !why[0]; i++) rec[i].act = read_act(&rec[i], rd->element[i]);
    }
    if (!rc && !why[0]) {
        int n = write_block(l, &blk, 3, slot);
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
        slot_free(&rec[i]);
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

/* Records whose checked transaction was aborted join the script group,
 * oldest first, until none is left (taking a slot may read answers that
 * add more); the group is sent. */
static int contended_to_group(layout *l, rpipe *p)
{
    while (l->contended.n) {
        if ((l->group >= l->group_max || group_has(l, p, slotq_front(&l->contended)->khash)) && group_flush(l, p))
            return -1;
        rpipe_slot *s = rpipe_next_slot(p);
        if (!s) return -1;
        /* only now: taking a slot may read answers, which can grow (move) the queue */
        slot_move_record(s, slotq_front(&l->contended));
        slotq_pop(&l->contended);
        l->scripted++;
        if (++l->group >= l->group_max && group_flush(l, p)) return -1;
    }
    return group_flush(l, p);
}

/* The ring slots for n records from the array from[]: reserved, records
 * moved in. -1 if the pipe failed. */
static int reserve_for(rpipe *p, rpipe_slot *from, int n, rpipe_slot **slot)
{
    for (int i = 0; i < n; i++) {
        if (!(slot[i] = rpipe_next_slot(p))) return -1;
        slot_move_record(slot[i], &from[i]);
    }
    return 0;
}

/* A checked group's block (RPIPE_WATCH_READ or _WRITE) for the records in
 * slot[], pushed; a read makes it the open group. */
static int push_watched(layout *l, rpipe *p, int kind, int n, rpipe_slot **slot)
{
    int nreplies = kind == RPIPE_WATCH_READ ? read_block(l, &l->block, n, (const rpipe_slot *const *)slot)
                                            : write_block(l, &l->block, n, slot);
    swap_buf(&slot[0]->cmd, &l->block);
    slot[0]->nreplies = nreplies;
    slot[0]->watch = kind;
    if (kind == RPIPE_WATCH_READ) { l->wopen = 1; l->wreading = n; }
    return rpipe_push_group(p, 0);
}

/* The pending group's read; it becomes the open group. */
static int push_read(layout *l, rpipe *p)
{
    int n = l->npend;
    rpipe_slot *slot[GROUP_MAX];
    l->npend = 0;
    if (reserve_for(p, l->pend, n, slot)) return -1;
    l->checked += (uint64_t)n;
    return push_watched(l, p, RPIPE_WATCH_READ, n, slot);
}

/* The open group's writes, its read answered. On another connection than
 * the one that answered the read (a reconnect in between: the WATCH is
 * gone) the group is read again instead. */
static int push_writes(layout *l, rpipe *p)
{
    int n = l->nready;
    rpipe_slot *slot[GROUP_MAX];
    l->nready = 0;
    l->wopen = 0;
    if (!n) return 0;
    if (reserve_for(p, l->ready, n, slot)) return -1;
    return push_watched(l, p, p->gen != l->ready_gen ? RPIPE_WATCH_READ : RPIPE_WATCH_WRITE, n, slot);
}

/* Move the checked path along as far as it goes: the open group's writes
 * once its read is answered; aborted records to the script group while no
 * group is open; NX fallbacks into the pending group; the pending group's
 * read once no group is open. until: 0 no waiting; 1 wait until every NX
 * fallback is in a group (they precede later records for their keys); 2
 * also until the pending group is sent (it is full). */
static int watch_step(layout *l, rpipe *p, int until)
{
    for (;;) {
        if (l->wopen && !l->wreading && push_writes(l, p)) return -1;
        /* the script group is a MULTI … EXEC of its own: sent between an
         * open group's WATCH and its writes, its EXEC would end that WATCH
         * (the writes then run unchecked) or be aborted by it */
        if (!l->wopen && l->contended.n && contended_to_group(l, p)) return -1;
        while (l->retry.n && l->npend < l->group_max) {
            slot_move_record(&l->pend[l->npend++], slotq_front(&l->retry));
            slotq_pop(&l->retry);
            pend_added(l);
        }
        if (!l->wopen && l->npend) {
            if (push_read(l, p)) return -1;
            continue;
        }
        if (!(until >= 1 && l->retry.n) && !(until >= 2 && l->npend)) return 0;
        /* blocked behind the open group: its read's answer is next */
        if (!p->count) {   /* nothing in flight would answer: a bug, not a reason to spin */
            log_error("redis: a checked group waits for an answer to nothing in flight");
            return -1;
        }
        if (rpipe_read_next(p)) return -1;
    }
}

/* The staged NX attempts (they are for keys not in any group). */
static int staged_flush(layout *l, rpipe *p)
{
    for (int i = 0; i < l->nstaged; i++) {
        rpipe_slot *s = rpipe_next_slot(p), *st = &l->staged[i];
        if (!s) return -1;
        swap_buf(&s->cmd, &st->cmd);
        slot_move_record(s, st);
        s->nargs = st->nargs; s->nx = 1;
        if (rpipe_push(p)) return -1;
    }
    l->nstaged = 0;
    return 0;
}

int layout_flush(layout *l, rpipe *p)
{
    if (watch_step(l, p, 0) || staged_flush(l, p)) return -1;
    return 0;
}

int layout_queued(const layout *l)
{
    return l->group + l->nstaged + l->retry.n + l->contended.n + l->npend + l->nready;
}

int layout_pending(const layout *l) { return layout_queued(l) || l->wopen; }

int layout_drain(layout *l, rpipe *p)
{
    do
        if (layout_flush(l, p) || rpipe_drain(p)) return -1;
    while (layout_pending(l));
    return 0;
}

int layout_send(layout *l, rpipe *p)
{
    /* an NX attempt that finds the key, and a checked group, are written
     * only once an answer is read: wait for those answers */
    if (l->nx_open || layout_pending(l)) return layout_drain(l, p) || rpipe_send(p) ? -1 : 0;
    return rpipe_send(p);
}

void newer_free(layout *l)
{
    rbuf_free(&l->batch.cmd); rbuf_free(&l->block); rbuf_free(&l->held);
    free(l->busy_h); free(l->busy_n);
    for (int i = 0; i < l->group_max; i++) { slot_free(&l->staged[i]); slot_free(&l->pend[i]); slot_free(&l->ready[i]); }
    free(l->staged); free(l->pend); free(l->ready);
    slotq_free(&l->retry); slotq_free(&l->contended);
}

int newer_fallbacks(layout *l, rpipe *p)
{
    if ((l->retry.n || l->contended.n || (l->wopen && !l->wreading)) && watch_step(l, p, 1)) return -1;
    return 0;
}

int newer_json(layout *l, rpipe *p, const rbuf *key, uint64_t h, int64_t ts, int64_t ttl_ms, int known,
               const json_writer *w, const stream_rec *src)
{
    /* an earlier record for this key is still an NX attempt whose answer
     * may send it to the checked path: wait for that answer (not for the
     * rest), so this one cannot overtake its fallback (the same user twice
     * within one pipeline window: a replay of recent records) */
    if (busy_get(l, h)) {
        if (staged_flush(l, p)) return -1;
        while (busy_get(l, h))
            if (rpipe_read_next(p)) return -1;
        if (watch_step(l, p, 1)) return -1;
    }
    int nx = !known && (!l->nx_off || ++l->probe % NX_PROBE == 0);

    /* the slot: in the pending checked group, or a staged one for NX */
    if (!nx && l->npend >= l->group_max && watch_step(l, p, 2)) return -1;
    rpipe_slot *s = nx ? &l->staged[l->nstaged] : &l->pend[l->npend++];
    s->raw.len = s->key.len = s->part.len = 0;
    rpipe_slot_source(s, src);
    rbuf_put(&s->key, key->p, key->len);
    s->khash = h;
    s->ver = ts;
    s->ttl_ms = ttl_ms;
    resp_encode_arg(&s->part, w->buf, w->len);    /* the value, for any group's commands */
    if (!nx) {
        pend_added(l);
        /* the read goes out at once if no group is open; else when the
         * open group's read is answered (the next record that finds this
         * one full, or a flush) */
        if (!l->wopen) return push_read(l, p);
        return 0;
    }
    resp_begin(s);
    resp_arg_str(s, "SET");
    resp_arg(s, key->p, key->len);
    resp_arg(s, w->buf, w->len);
    resp_arg_str(s, "NX");
    if (ttl_ms > 0) { resp_arg_str(s, "PX"); resp_arg_i64(s, ttl_ms); }
    busy_inc(l, h);
    l->nx_open++; l->nx_sent++;
    if (++l->nstaged >= l->group_max) return layout_flush(l, p);
    return 0;
}
