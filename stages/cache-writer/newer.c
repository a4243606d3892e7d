/* newer.c — the json layout's newer-wins writes: a SET NX attempt for a
 * key not known, the checked (WATCH) groups and the script group for the
 * rest, and flush, drain and send (see layout.h): which path a record
 * takes and when each group goes out. What key and value a record becomes
 * is layout.c's; the commands a group sends, and the probe that tries both
 * at connect, are txn.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "layout.h"
#include "log.h"
#include "newer.h"
#include "txn.h"


/* NX costs Redis about what a SET costs and the script nearly twice that;
 * an attempt that finds the key pays both. So after every NX_WINDOW answers:
 * if more than NX_OFF_PERMILLE of them found the key (say a restart over a
 * full Redis), keys not known take the checked (WATCH) path as known keys
 * do, but for one in NX_PROBE which still tries NX, to notice when fresh
 * keys come back. */
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
    for (int i = 0; i < q->cap; i++) rpipe_slot_free(&q->q[i]);
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

/* rpipe's on_watch (see rpipe.h). */
static int on_watch(void *ctx, rpipe_slot *s, const redisReply *e)
{
    layout *l = ctx;
    if (s->watch == RPIPE_WATCH_READ) {
        if (l->wreading) l->wreading--;
        if (!e) return 0;                     /* the read failed: rpipe dead-letters it */
        rpipe_slot *r = &l->ready[l->nready++];
        slot_move_record(r, s);
        if (r->act != ACT_SUPERSEDED) r->act = txn_read_act(r, e);
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

/* Send the pending script group as one transaction. */
static int group_flush(layout *l, rpipe *p)
{
    int n = l->group;
    if (!n) return 0;
    l->group = 0;
    const rpipe_slot *slot[GROUP_MAX];
    for (int i = 0; i < n; i++) slot[i] = rpipe_reserved(p, i);
    int nreplies = txn_group_block(l, &l->block, n, slot);
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
    int nreplies = kind == RPIPE_WATCH_READ ? txn_read_block(l, &l->block, n, (const rpipe_slot *const *)slot)
                                            : txn_write_block(l, &l->block, n, slot);
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
    for (int i = 0; i < l->group_max; i++) { rpipe_slot_free(&l->staged[i]); rpipe_slot_free(&l->pend[i]); rpipe_slot_free(&l->ready[i]); }
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
