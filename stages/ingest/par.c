/* par.c — ingest's line loop on parser threads (see par.h). */
#include "par.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "log.h"
#include "record.h"
#include "sdnotify.h"
#include "timefmt.h"

enum { BLK_FREE, BLK_FILLING, BLK_QUEUED, BLK_WORKING, BLK_DONE };
enum { PAR_TOO_LONG = 100, PAR_SEQ = 101 };

/* A block's encoded records at most (a model line may encode its labels
 * 1024 times): the lines after it are left to the main thread, which
 * writes their records one at a time, as the sequential loop does. */
#define PAR_OUT_MAX (4u << 20)

/* The main thread polls a quiet input this often while it holds lines; each
 * poll hands over the partial block and writes what is done, so a trickle
 * is not held back. With nothing held, the input's usual pace. */
#define PAR_TICK_MS 10
#define PAR_IDLE_TICK_MS 200
/* Lines ahead whose dedup slots are prefetched while applying a block. */
#define PAR_PREFETCH 12

typedef struct par_res {
    int rc;                     /* ING_OUT, ING_BAD, PAR_TOO_LONG, or PAR_SEQ: the main thread does it */
    uint32_t rec0, nrec;        /* the line's records: recs[rec0 .. rec0 + nrec) */
    const char *reason;         /* ING_BAD: a static string */
    size_t detail;              /* ING_BAD: offset of the detail in blk->txt */
} par_res;

typedef struct par_rec {
    const fbrec_desc *d;
    size_t off; uint32_t len;   /* in blk->out: FlatBuffer with its size prefix, or JSON text */
    int64_t ts;                 /* Event: ts, or its arrival time with --rate-clock arrival */
    int64_t event_ts;           /* Event, Sample: its ts (the freshness gauge, metrics.h) */
    uint64_t h, uh;             /* Event: event_id hash (dedup), user_id hash (rate limit) */
    size_t user;                /* Event, rate limit on: user_id as the message prints it, in blk->txt */
} par_rec;

typedef struct par_blk {
    int state;                  /* under par.mu once handed over */
    char *in; size_t in_len, in_cap;   /* the lines as read, each ending in '\n' (split by the worker) */
    int64_t first_line;         /* the number of the first */
    int prefix;                 /* one line, the prefix of a line over --max-line (par_split_lines) */
    par_line lines[PAR_BLOCK_LINES];
    par_res res[PAR_BLOCK_LINES];
    uint32_t nlines;
    par_rec *recs; uint32_t nrecs; size_t recs_cap;
    uint8_t *out; size_t out_len, out_cap;
    char *txt; size_t txt_len, txt_cap;
    int full;                   /* out of memory or PAR_OUT_MAX: the rest is PAR_SEQ */
} par_blk;

typedef struct par par;

typedef struct par_worker {
    pthread_t th;
    par *p;
    ingest g;                   /* parse + validate + build; no dedup, no rate limit */
    fb_builder b;
    json_writer jw;
    par_blk *blk;               /* the block being parsed */
} par_worker;

struct par {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    par_blk *blk; int nblk;
    par_worker *w; int nw, started;
    uint64_t fill_seq;          /* blocks handed to the workers */
    uint64_t take_seq;          /* blocks taken by a worker */
    uint64_t apply_seq;         /* blocks applied by the main thread */
    int quit;
    int json, rate;             /* workers write JSON text; keep user_id for rate_limited */
    int rate_arrival;           /* --rate-clock arrival */
    ingest_run *run;
    par_blk *cur;               /* being filled by the main thread */
    /* records due out, not yet written: blk->out[pend_off .. pend_end) of
     * block pend_blk, pend_n records (a run of consecutive lines' records
     * is written in one go) */
    const par_blk *pend_blk;
    size_t pend_off, pend_end;
    uint64_t pend_n;
    int tick_fast;              /* the input ticks every PAR_TICK_MS */
    int room_failed;            /* par_room could not give a block */
};

/* ---- buffers ---------------------------------------------------------------- */

/* p with room for need elements (grown by doubling), or NULL (p kept). */
static void *par_grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return p;
    size_t nc = *cap ? *cap : 4096 / elem + 1;
    while (nc < need) nc *= 2;
    void *n = realloc(p, nc * elem);
    if (n) *cap = nc;
    return n;
}

/* Append n bytes and a NUL to blk->txt: their offset (b->full when out of memory). */
static size_t par_txt(par_blk *b, const char *s, size_t n)
{
    char *t = par_grow(b->txt, &b->txt_cap, b->txt_len + n + 1, 1);
    if (!t) { b->full = 1; return 0; }
    b->txt = t;
    size_t at = b->txt_len;
    memcpy(b->txt + at, s, n);
    b->txt[at + n] = 0;
    b->txt_len += n + 1;
    return at;
}

/* ---- workers ------------------------------------------------------------------ */

/* ingest's emit: the record, encoded as the output will carry it, into the block. */
static int par_emit(void *ctx, const fbrec_desc *d, const void *rec, const void *key, size_t keylen)
{
    (void)key; (void)keylen;   /* keys are for Kafka, which stays sequential */
    par_worker *w = ctx;
    par_blk *b = w->blk;
    if (b->full) return 0;   /* the line goes to the main thread */
    const uint8_t *data = NULL;   /* NULL: encoded in place, at b->out + b->out_len */
    size_t len = 0;
    par_rec *rs = par_grow(b->recs, &b->recs_cap, (size_t)b->nrecs + 1, sizeof *b->recs);
    if (!rs) { b->full = 1; return 0; }
    b->recs = rs;
    if (w->p->json) {
        jw_reset(&w->jw);
        fb_to_json_style(d, rec, &w->jw, stream_out_json_style(w->p->run->out));
        data = (const uint8_t *)w->jw.buf;
        len = w->jw.len;
    } else if (d == &Event_desc && !((const Event *)rec)->attrs) {
        /* the usual event: straight into the block, size prefix and all;
         * when the room left is too small, grown to the record's bound (the
         * table, vtable and header take under 160 bytes, each string at
         * most len + 8; a bound past PAR_OUT_MAX by more than its slack,
         * 224, cannot fit the block) */
        const Event *ev = rec;
        len = b->out ? ing_event_encode(ev, b->out + b->out_len, b->out_cap - b->out_len, 1) : 0;
        if (!len) {
            size_t need = 160;
            const fb_str *strs[] = { &ev->event_id, &ev->user_id, &ev->item_id, &ev->session_id,
                                     &ev->name, &ev->source, &ev->experiment, &ev->variant };
            for (int i = 0; i < 8; i++) need += strs[i]->ptr ? (size_t)strs[i]->len + 8 : 0;
            uint8_t *o = b->out_len + need <= PAR_OUT_MAX + 224 ? par_grow(b->out, &b->out_cap, b->out_len + need, 1) : NULL;
            if (!o) { b->full = 1; return 0; }
            b->out = o;
            len = ing_event_encode(ev, b->out + b->out_len, b->out_cap - b->out_len, 1);
            if (!len) { b->full = 1; return 0; }
        }
    } else {
        fbrec_encode(&w->b, d, rec, 1);   /* with its size prefix: runs of records are written as they are */
        data = fb_data(&w->b, &len);
    }
    if (b->out_len + len > PAR_OUT_MAX) { b->full = 1; return 0; }
    if (data) {
        uint8_t *o = par_grow(b->out, &b->out_cap, b->out_len + len, 1);
        if (!o) { b->full = 1; return 0; }
        b->out = o;
        memcpy(b->out + b->out_len, data, len);
    }
    par_rec *r = &b->recs[b->nrecs];
    memset(r, 0, sizeof *r);
    r->d = d;
    r->off = b->out_len;
    r->len = (uint32_t)len;
    b->out_len += len;
    if (d == &Sample_desc) r->event_ts = ((const Sample *)rec)->ts;
    if (d == &Event_desc) {
        const Event *ev = rec;
        r->event_ts = ev->ts;
        r->ts = w->p->rate_arrival ? ingest_now(&w->g) : ev->ts;
        /* the hash ingest_build_event would look up */
        r->h = w->g.id_hash_ok ? w->g.id_hash : hash_table(ev->event_id.ptr, ev->event_id.len);
        if (w->p->rate) {
            r->uh = hash_table(ev->user_id.ptr, ev->user_id.len);
            /* the message prints user_id with %.60s: the same bytes */
            r->user = par_txt(b, ev->user_id.ptr, strnlen(ev->user_id.ptr, 60));
            if (b->full) return 0;
        }
    }
    b->nrecs++;
    return 0;
}

void par_split_lines(char *buf, size_t len, uint32_t n, size_t max_line, int64_t first, int prefix,
                     par_line *out)
{
    char *s = buf, *end = buf + len;
    for (uint32_t i = 0; i < n; i++) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t l = (size_t)(nl - s);
        int too_long = prefix;
        if (!prefix) {   /* stream_in_next_line's rules */
            if (l > 0 && s[l - 1] == '\r') l--;
            too_long = l > max_line;
            if (too_long) l = max_line;
        }
        s[l] = 0;
        out[i] = (par_line){ (size_t)(s - buf), (uint32_t)l, too_long, first + i };
        s = nl + 1;
    }
}

size_t par_copy_lines(char *dst, const stream_lines *ls)
{
    if (dst != ls->ptr) memcpy(dst, ls->ptr, ls->len);   /* else read there (stream_in_next_lines_to) */
    if (!ls->len || ls->ptr[ls->len - 1] != '\n') {   /* the input's last line, or a too-long prefix */
        dst[ls->len] = '\n';
        return ls->len + 1;
    }
    return ls->len;
}

static void par_parse(par_worker *w, par_blk *b)
{
    w->blk = b;
    par_split_lines(b->in, b->in_len, b->nlines, w->p->run->max_line, b->first_line, b->prefix, b->lines);
    b->nrecs = 0;
    b->out_len = 0;
    b->txt_len = 0;
    b->full = 0;
    for (uint32_t i = 0; i < b->nlines; i++) {
        const par_line *ln = &b->lines[i];
        par_res *rs = &b->res[i];
        memset(rs, 0, sizeof *rs);
        if (ln->too_long) { rs->rc = PAR_TOO_LONG; continue; }
        if (b->full) { rs->rc = PAR_SEQ; continue; }
        uint32_t rec0 = b->nrecs;
        size_t out0 = b->out_len;
        ingest_set_pos(&w->g, NULL, 0, ln->lineno);   /* as the main thread's pos: the same sample_ids */
        int rc = ingest_line(&w->g, b->in + ln->off, ln->len, 0);   /* arrival: when parsed */
        if (rc == ING_BAD) {
            rs->reason = w->g.reason;
            rs->detail = par_txt(b, w->g.detail, strlen(w->g.detail));
        }
        if (b->full || rc == ING_FAIL) rc = PAR_SEQ;   /* out of memory here: the main thread tries */
        if (rc != ING_OUT) { b->nrecs = rec0; b->out_len = out0; }   /* all or nothing */
        rs->rc = rc;
        rs->rec0 = rec0;
        rs->nrec = b->nrecs - rec0;
    }
}

static void *par_worker_main(void *arg)
{
    par_worker *w = arg;
    par *p = w->p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->take_seq == p->fill_seq) pthread_cond_wait(&p->work, &p->mu);
        if (p->quit) break;
        par_blk *b = &p->blk[p->take_seq % (uint64_t)p->nblk];
        p->take_seq++;
        b->state = BLK_WORKING;
        pthread_mutex_unlock(&p->mu);
        par_parse(w, b);
        pthread_mutex_lock(&p->mu);
        b->state = BLK_DONE;
        pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Stop and join the workers (idempotent). */
static void par_halt(par *p)
{
    if (!p->started) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++) pthread_join(p->w[i].th, NULL);
    p->started = 0;
}

/* ---- the main thread: applying blocks in input order ------------------------------ */

/* Write the records queued by par_write. 0, or -1 (the output failed). */
static int par_flush(par *p)
{
    if (!p->pend_n) return 0;
    int rc = stream_write_framed(p->run->out, p->pend_blk->out + p->pend_off, p->pend_end - p->pend_off, p->pend_n);
    p->pend_n = 0;
    return rc;
}

/* A record out: JSON text at once; a record joins the run of records
 * queued for one write when it follows the last one in the block (it does
 * unless a line between was refused or a duplicate). */
static int par_write(par *p, const par_blk *b, const par_rec *rec)
{
    if (rec->d == &Event_desc || rec->d == &Sample_desc) metrics_note_event_time(rec->event_ts);
    if (p->json) return stream_write_line(p->run->out, (const char *)b->out + rec->off, rec->len);
    if (p->pend_n && (p->pend_blk != b || p->pend_end != rec->off) && par_flush(p)) return -1;
    if (!p->pend_n) { p->pend_blk = b; p->pend_off = rec->off; }
    p->pend_end = rec->off + rec->len;
    p->pend_n++;
    return 0;
}

/* An ING_OUT line: what ingest_build_event would still decide (dedup, rate
 * limit), then the records out. ING_OUT, ING_DUP, ING_BAD (g->reason,
 * g->detail) or ING_FAIL. */
static int par_deliver(par *p, const par_blk *b, const par_res *rs)
{
    ingest *g = p->run->g;
    const par_rec *r = &b->recs[rs->rec0];
    if (rs->nrec == 1 && r->d == &Event_desc) {
        dedup_at(&g->dd, r->ts);
        if (dedup_seen(&g->dd, r->h)) { g->n_dups++; return ING_DUP; }
        if (!ratelimit_allow(&g->rl, r->uh, r->ts))
            return ingest_rate_limited(g, b->txt + r->user);
        if (par_write(p, b, r)) return ING_FAIL;
        dedup_add(&g->dd, r->h);
        g->n_events++;
    } else {
        for (uint32_t k = 0; k < rs->nrec; k++) {
            if (par_write(p, b, &r[k])) return ING_FAIL;
            g->n_samples++;
        }
    }
    g->n_lines_ok++;
    return ING_OUT;
}

/* --strict is about to exit from stream_reject: the workers stop first. */
static void par_strict_stop(void *ctx)
{
    par_halt(ctx);
}

/* The outcome of each parsed line, in input order (run.c applies it). */
static void par_apply(par *p, const par_blk *b)
{
    ingest_run *run = p->run;
    ingest *g = run->g;
    for (uint32_t i = 0; i < b->nlines && !run->failed; i++) {
        const par_line *ln = &b->lines[i];
        const par_res *rs = &b->res[i];
        /* the dedup table is probed at random: start loading the slots a few events ahead */
        if (i + PAR_PREFETCH < b->nlines) {
            const par_res *ra = &b->res[i + PAR_PREFETCH];
            if (ra->rc == ING_OUT && ra->nrec == 1 && b->recs[ra->rec0].d == &Event_desc)
                dedup_prefetch_ahead(&g->dd, b->recs[ra->rec0].h, PAR_PREFETCH);
        }
        stream_pos pos = { NULL, 0, ln->lineno, 1 };
        const char *raw = b->in + ln->off;
        if (rs->rc == PAR_TOO_LONG) {
            if (par_flush(p)) { run->failed = 1; break; }
            ingest_run_too_long(run, &pos, raw, ln->len);
            continue;
        }
        uint64_t ev0 = g->n_events, sm0 = g->n_samples;
        int rc = rs->rc;
        const char *reason = rs->reason, *detail = rc == ING_BAD ? b->txt + rs->detail : NULL;
        /* anything but a line's records going out may write to the output
         * (the sequential path), sync it or stop (--strict): what is queued
         * goes first */
        if (rc != ING_OUT && par_flush(p)) { run->failed = 1; break; }
        if (rc == PAR_SEQ) {   /* as the sequential loop: g counts, emits, dedups itself */
            ingest_set_pos(g, NULL, 0, ln->lineno);
            rc = ingest_line(g, raw, ln->len, 0);
            reason = g->reason;
            detail = g->detail;
        } else if (rc == ING_OUT) {
            rc = par_deliver(p, b, rs);
            if (rc == ING_BAD) { reason = g->reason; detail = g->detail; }
            if (rc != ING_OUT && par_flush(p)) rc = ING_FAIL;
        } else if (rc == ING_BAD) {
            g->n_bad++;
        }
        if (ingest_run_outcome(run, rc, &pos, reason, detail, raw, ln->len, ev0, sm0)) break;
    }
    if (par_flush(p)) run->failed = 1;   /* before the block is reused */
}

/* Apply finished blocks in order; with wait, every block handed over. */
static void par_apply_ready(par *p, int wait)
{
    while (p->apply_seq < p->fill_seq && !p->run->failed) {
        par_blk *b = &p->blk[p->apply_seq % (uint64_t)p->nblk];
        pthread_mutex_lock(&p->mu);
        while (wait && b->state != BLK_DONE) pthread_cond_wait(&p->done, &p->mu);
        int done = b->state == BLK_DONE;
        pthread_mutex_unlock(&p->mu);
        if (!done) break;
        par_apply(p, b);
        b->state = BLK_FREE;
        p->apply_seq++;
    }
}

static void par_submit(par *p)
{
    par_blk *b = p->cur;
    p->cur = NULL;
    pthread_mutex_lock(&p->mu);
    b->state = BLK_QUEUED;
    p->fill_seq++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
}

/* A block to fill: the next in the ring, once the main thread applied it. */
static par_blk *par_get(par *p)
{
    par_apply_ready(p, 0);
    while (p->fill_seq - p->apply_seq >= (uint64_t)p->nblk && !p->run->failed) {
        /* every block is out: wait for the oldest */
        par_blk *b = &p->blk[p->apply_seq % (uint64_t)p->nblk];
        pthread_mutex_lock(&p->mu);
        while (b->state != BLK_DONE) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
        par_apply_ready(p, 0);
    }
    if (p->run->failed) return NULL;
    par_blk *b = &p->blk[p->fill_seq % (uint64_t)p->nblk];
    /* room for a block's worth of typical lines; a longer one grows it */
    char *in = par_grow(b->in, &b->in_cap, PAR_BLOCK_BYTES + (64u << 10), 1);
    if (!in) return NULL;
    b->in = in;
    b->state = BLK_FILLING;
    b->nlines = 0;
    b->in_len = 0;
    p->cur = b;
    return b;
}

/* The input is quiet: hand over the partial block, write everything out. */
static void par_tick(void *ctx)
{
    par *p = ctx;
    if (p->cur && p->cur->nlines) par_submit(p);
    if (p->apply_seq == p->fill_seq || p->run->failed) {
        if (p->tick_fast) {   /* nothing held: no need to wake up often */
            stream_in_set_tick(p->run->in, PAR_IDLE_TICK_MS, par_tick, p);
            p->tick_fast = 0;
        }
        return;
    }
    par_apply_ready(p, 1);
    if (!p->run->failed && stream_sync(p->run->in, p->run->out)) p->run->failed = 1;
}

/* stream_in_next_lines_to's room: the end of the block being filled (a new
 * one when a tick handed it over while the read waited; a too-long prefix
 * goes alone), with len + 1 bytes free. NULL: out of memory, or the loop
 * failed (p->room_failed). */
static char *par_room(void *ctx, size_t len, int alone)
{
    par *p = ctx;
    par_blk *b = p->cur;
    if (b && alone && b->nlines) { par_submit(p); b = NULL; }
    char *in = b || (b = par_get(p)) ? par_grow(b->in, &b->in_cap, b->in_len + len + 1, 1) : NULL;
    if (!in) { p->room_failed = 1; return NULL; }
    b->in = in;
    return b->in + b->in_len;
}

/* The lines just read into the block (par_room): a '\n' after a last line
 * without one, counted, the block handed over when full. */
static void par_add_lines(par *p, const stream_lines *ls)
{
    par_blk *b = p->cur;
    if (!b->nlines) { b->first_line = ls->first; b->prefix = ls->too_long; }
    b->in_len += par_copy_lines(b->in + b->in_len, ls);
    b->nlines += ls->n;
    if (ls->too_long || b->nlines == PAR_BLOCK_LINES || b->in_len >= PAR_BLOCK_BYTES) par_submit(p);
}

/* ---- setup ------------------------------------------------------------------------- */

int ingest_par_ok(const ingest_conf *c, stream_in *in, const char *out_uri)
{
    if (c->csv || stream_in_is_kafka(in)) return 0;
    if (out_uri && !strncmp(out_uri, "kafka://", 8)) return 0;
    return 1;
}

static void par_free(par *p)
{
    par_halt(p);
    for (int i = 0; i < p->nw; i++) {
        ingest_free(&p->w[i].g);
        fb_builder_free(&p->w[i].b);
        jw_free(&p->w[i].jw);
    }
    for (int i = 0; i < p->nblk; i++) {
        free(p->blk[i].in);
        free(p->blk[i].recs);
        free(p->blk[i].out);
        free(p->blk[i].txt);
    }
    free(p->w);
    free(p->blk);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    free(p);
}

int ingest_run_par(ingest_run *run, const ingest_conf *c, int threads)
{
    par *p = calloc(1, sizeof *p);
    if (!p) return -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->run = run;
    p->json = stream_out_is_json(run->out);
    p->rate = c->rate_per_s > 0;
    p->rate_arrival = c->rate_arrival;
    p->nw = threads;
    p->nblk = 2 * threads + 2;
    p->w = calloc((size_t)p->nw, sizeof *p->w);
    p->blk = calloc((size_t)p->nblk, sizeof *p->blk);
    if (!p->w || !p->blk) { par_free(p); return -1; }
    ingest_conf wc = *c;
    wc.dedup_window = 0;   /* order-dependent: the main thread decides */
    wc.rate_per_s = 0;
    char err[320];
    for (int i = 0; i < p->nw; i++) {
        par_worker *w = &p->w[i];
        w->p = p;
        wc.emit = par_emit;
        wc.emit_ctx = w;
        fb_builder_init(&w->b);
        jw_init(&w->jw);
        if (ingest_init(&w->g, &wc, err, sizeof err)) { log_error("%s", err); par_free(p); return -1; }
    }
    /* signals go to the main thread, which may be waiting in read() */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int i = 0; i < p->nw; i++) {
        if (pthread_create(&p->w[i].th, NULL, par_worker_main, &p->w[i])) break;
        p->started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (p->started < p->nw) { log_error("cannot start %d parser threads", p->nw); par_free(p); return -1; }
    run->before_strict = par_strict_stop;
    run->before_strict_ctx = p;
    stream_in_set_tick(run->in, PAR_TICK_MS, par_tick, p);
    p->tick_fast = 1;

    /* the main thread reads whole runs of lines into blocks (copied as
     * their newlines are counted); the workers split them */
    stream_lines ls;
    int rc = 0;
    while (!run->failed) {
        if (!p->cur && !par_get(p)) { if (!run->failed) log_error("out of memory for a block of lines"); run->failed = 1; break; }
        par_blk *b = p->cur;
        if (!p->tick_fast) {
            stream_in_set_tick(run->in, PAR_TICK_MS, par_tick, p);
            p->tick_fast = 1;
        }
        rc = stream_in_next_lines_to(run->in, &ls, run->max_line, b->in_cap - b->in_len - 1,
                                     PAR_BLOCK_LINES - b->nlines, par_room, p);
        if (rc < 0 && p->room_failed) {
            if (!run->failed) log_error("out of memory for %zu bytes of lines", ls.len);
            run->failed = 1;
            break;
        }
        if (rc <= 0) break;
        if (rc == 2) {   /* a line longer than the room left: in a block of its own, grown to it */
            if (p->cur && p->cur->nlines) par_submit(p);
            if (!p->cur && !par_get(p)) { if (!run->failed) log_error("out of memory for a block of lines"); run->failed = 1; break; }
            b = p->cur;
            char *in = par_grow(b->in, &b->in_cap, ls.len + 1, 1);
            if (!in) { log_error("out of memory for a %zu-byte line", ls.len); run->failed = 1; break; }
            b->in = in;
            continue;
        }
        par_add_lines(p, &ls);
    }
    if (!run->failed) run->rc = rc;
    if (p->cur && p->cur->nlines) par_submit(p);
    par_apply_ready(p, 1);
    stream_in_set_tick(run->in, 0, NULL, NULL);
    run->before_strict = NULL;
    par_free(p);
    return 0;
}
