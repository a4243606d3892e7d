/* rpipe.c — see rpipe.h. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "log.h"
#include "metrics.h"
#include "rpipe.h"
#include "sdnotify.h"
#include "sig.h"
#include "timefmt.h"

#define BACKOFF_MIN_US 50000
#define RPIPE_KEEP_BYTES (64u << 10)
#define BACKOFF_MAX_US 5000000

static metrics_series *m_writes, *m_bytes, *m_errors, *m_retries, *m_reconnects, *m_depth, *m_latency;

static void register_metrics(void)
{
    if (m_writes) return;
    m_writes = metrics_counter("streamrec_redis_writes_total", "Commands Redis acknowledged");
    m_bytes = metrics_counter("streamrec_redis_bytes_total", "Bytes of acknowledged commands");
    m_errors = metrics_counter("streamrec_redis_errors_total", "Error replies (dead-lettered)");
    m_retries = metrics_counter("streamrec_redis_retries_total", "Commands sent again after a reconnect");
    m_reconnects = metrics_counter("streamrec_redis_reconnects_total", "Connections re-established");
    m_depth = metrics_gauge("streamrec_redis_pipeline_depth", "Commands in flight");
    m_latency = metrics_gauge("streamrec_redis_batch_latency_seconds", "Time from queueing to reply of the last batch's first command");
}

int rpipe_transient_error(const char *msg)
{
    /* a server still loading its data, or busy with a script, will be
     * ready soon; a wrong password or database will not */
    return !strncmp(msg, "LOADING", 7) || !strncmp(msg, "BUSY", 4) ||
           !strncmp(msg, "TRYAGAIN", 8) || !strncmp(msg, "MASTERDOWN", 10);
}

int rpipe_readonly_error(const char *msg)
{
    /* "READONLY You can't write against a read only replica.", also inside
     * a script's error ("ERR Error running script … READONLY …" on old servers) */
    return msg && (!strncmp(msg, "READONLY", 8) || strstr(msg, " READONLY ") != NULL);
}

/* One command, synchronously, on a fresh connection (AUTH, SELECT, SCRIPT LOAD). */
static int setup_cmd(rpipe *p, redisReply **out, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(p->c, argc, argv, NULL);
    if (!r) {
        log_warn("redis %s: %s", argv[0], p->c->errstr);
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        int transient = rpipe_transient_error(r->str);
        log_msg(transient ? LOG_WARN : LOG_ERROR, "redis %s: %s", argv[0], r->str);
        freeReplyObject(r);
        return transient ? -1 : -2;
    }
    if (out) *out = r; else freeReplyObject(r);
    return 0;
}

static int try_connect(rpipe *p)
{
    struct timeval tv = { 2, 0 };
    if (p->c) { redisFree(p->c); p->c = NULL; }
    p->c = p->uri.unix_path[0] ? redisConnectUnixWithTimeout(p->uri.unix_path, tv)
                               : redisConnectWithTimeout(p->uri.host, p->uri.port, tv);
    if (!p->c) return -1;
    if (p->c->err) {
        snprintf(p->last_err, sizeof p->last_err, "%s", p->c->errstr);
        if (!p->quiet) log_warn("redis connect %s: %s", p->uri.unix_path[0] ? p->uri.unix_path : p->uri.host, p->c->errstr);
        return -1;
    }
    struct timeval io = { 30, 0 };   /* a hung server becomes an error, then a reconnect */
    redisSetTimeout(p->c, io);
    /* TCP only: on a unix socket the keepalive options fail and leave the
     * context in error, so that every command after would fail */
    if (!p->uri.unix_path[0]) redisEnableKeepAlive(p->c);
    int rc;
    if (p->uri.password[0]) {
        const char *a[3] = { "AUTH", p->uri.user[0] ? p->uri.user : p->uri.password, p->uri.password };
        if ((rc = setup_cmd(p, NULL, p->uri.user[0] ? 3 : 2, a))) return rc;
    }
    if (p->uri.db) {
        char db[16]; snprintf(db, sizeof db, "%d", p->uri.db);
        const char *a[2] = { "SELECT", db };
        if ((rc = setup_cmd(p, NULL, 2, a))) return rc;
    }
    for (int i = 0; i < p->nscripts; i++) {
        redisReply *r;
        const char *a[3] = { "SCRIPT", "LOAD", p->scripts[i] };
        if ((rc = setup_cmd(p, &r, 3, a))) return rc;
        if (r->type == REDIS_REPLY_STRING && r->len == 40) memcpy(p->sha[i], r->str, 41);
        freeReplyObject(r);
    }
    if (p->probe && (rc = p->probe(p->probe_ctx, p->c))) return rc;
    return 0;
}

static void sleep_us(int64_t us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

/* Connect until it works. While stopping, give up after stop_grace_us. A
 * refusal by the server (auth, db) is fatal: retrying would not help. */
static int reconnect(rpipe *p, int first)
{
    int64_t backoff = BACKOFF_MIN_US, stop_deadline = 0;
    /* Connected, yet the connection broke again before any reply: something
     * we resend makes the server drop us. Back off as for a refused
     * connection, and let a stop request end it. */
    if (!first && p->flaps++ > 0) {
        if (sig_stop_requested()) {
            log_error("giving up on Redis while stopping: the connection keeps breaking; %d command(s) not acknowledged", p->count);
            return -1;
        }
        int shift = p->flaps < 8 ? p->flaps : 7;
        int64_t cap = BACKOFF_MIN_US << shift;
        if (cap > BACKOFF_MAX_US) cap = BACKOFF_MAX_US;
        int64_t wait = BACKOFF_MIN_US / 2 + (int64_t)(drand48() * (double)cap);
        log_kv(LOG_WARN, "redis connection keeps breaking, backing off", "\"reconnects_without_reply\":%d,\"wait_ms\":%lld",
               p->flaps, (long long)(wait / 1000));
        sleep_us(wait);
    }
    for (int attempt = 0;; attempt++) {
        int rc = try_connect(p);
        if (rc == 0) break;
        if (rc == -2) return -1;
        if (sig_stop_requested()) {
            if (!stop_deadline) stop_deadline = mono_us() + p->stop_grace_us;
            if (mono_us() > stop_deadline) {
                log_error("giving up on Redis while stopping: %d command(s) not acknowledged", p->count);
                return -1;
            }
        }
        int64_t wait = BACKOFF_MIN_US / 2 + (int64_t)(drand48() * (double)backoff);
        sd_status("Redis unreachable (%d commands waiting); retry %d in %lld ms",
                  p->count, attempt + 1, (long long)(wait / 1000));
        log_kv(LOG_WARN, "redis unreachable, retrying", "\"attempt\":%d,\"wait_ms\":%lld,\"pending\":%d",
               attempt + 1, (long long)(wait / 1000), p->count);
        sleep_us(wait);
        backoff = backoff * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : backoff * 2;
    }
    if (!first) {
        p->reconnects++; metrics_add(m_reconnects, 1);
        log_kv(LOG_INFO, "redis reconnected", "\"resending\":%d", p->count);
        sd_status("Redis reconnected");
    }
    p->gen++;
    /* every unanswered command again, in order; but a watched block's
     * writes, whose WATCH was on the old connection, would now run
     * unchecked: a PING goes in their place, answered as an abort */
    p->unsent = p->count;
    for (int i = 0; i < p->count;) {
        rpipe_slot *s = &p->ring[(p->head + i) % p->cap];
        if (s->watch == RPIPE_WATCH_WRITE || s->watch == RPIPE_WATCH_STALE) {
            s->watch = RPIPE_WATCH_STALE;
            s->nreplies = 1;
            redisAppendFormattedCommand(p->c, "*1\r\n$4\r\nPING\r\n", 14);
        } else {
            redisAppendFormattedCommand(p->c, s->cmd.p + s->cmd_off, s->cmd.len - s->cmd_off);
        }
        i += s->ncover > 0 ? s->ncover : 1;
    }
    if (!first && p->count) { p->retries += (uint64_t)p->count; metrics_add(m_retries, p->count); }
    return 0;
}

int rpipe_reconnect(rpipe *p) { return reconnect(p, 0); }

int rpipe_open(rpipe *p, const redis_uri *u, int depth, const char *const *scripts,
               int nscripts, rpipe_error_fn on_error, void *ctx,
               rpipe_probe_fn probe, void *probe_ctx)
{
    memset(p, 0, sizeof *p);
    register_metrics();
    p->uri = *u;
    p->cap = depth < 1 ? 1 : depth;
    p->send_batch = p->cap >= 4 ? p->cap / 4 : 1;
    p->ring = calloc((size_t)p->cap, sizeof *p->ring);
    p->sha = calloc((size_t)(nscripts ? nscripts : 1), sizeof *p->sha);
    if (!p->ring || !p->sha) log_fatal("out of memory");
    p->scripts = scripts; p->nscripts = nscripts;
    p->on_error = on_error; p->ctx = ctx;
    p->probe = probe; p->probe_ctx = probe_ctx;
    p->stop_grace_us = 10000000;
    srand48((long)now_us());
    /* One try now, so that a refusal (auth, db) fails at start; a server that
     * is not up yet is rpipe_wait_connected's to wait for. */
    p->quiet = 1;
    int rc = try_connect(p);
    p->quiet = 0;
    if (rc == -2) { rpipe_close(p); return -1; }
    if (rc == -1 && p->c) { redisFree(p->c); p->c = NULL; }
    return 0;
}

int rpipe_wait_connected(rpipe *p, int64_t timeout_us, char *err, size_t n)
{
    if (p->c) return 0;
    if (!p->uri.unix_path[0]) {
        /* a name that resolves nowhere is a wrong address: waiting cannot fix it */
        char port[16];
        snprintf(port, sizeof port, "%d", p->uri.port);
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
        int rc = getaddrinfo(p->uri.host, port, &hints, &ai);
        if (ai) freeaddrinfo(ai);
        if (rc == EAI_NONAME) { snprintf(err, n, "%s: %s", p->uri.host, gai_strerror(rc)); return RPIPE_UNRESOLVED; }
    }
    int64_t deadline = mono_us() + timeout_us, backoff = BACKOFF_MIN_US;
    p->quiet = 1;
    int rc = -1;
    while (!sig_stop_requested()) {
        if ((rc = try_connect(p)) != -1) break;
        if (p->c) { redisFree(p->c); p->c = NULL; }
        int64_t left = deadline - mono_us();
        if (left <= 0) break;
        int64_t wait = BACKOFF_MIN_US / 2 + (int64_t)(drand48() * (double)backoff);
        sleep_us(wait < left ? wait : left);
        backoff = backoff * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : backoff * 2;
    }
    p->quiet = 0;
    if (rc == 0 || sig_stop_requested()) return 0;   /* stopping: the stage ends as usual */
    if (rc == -2) return -1;
    snprintf(err, n, "%s", p->last_err[0] ? p->last_err : "no answer");
    return RPIPE_UNREACHABLE;
}

const char *rpipe_sha(const rpipe *p, int script) { return p->sha[script]; }

/* The answer to a watched block (see rpipe.h), r its last reply. */
static void watch_answer(rpipe *p, rpipe_slot *s, int n, const redisReply *r, const char *queue_err)
{
    const char *whole_err = queue_err[0] ? queue_err : r->type == REDIS_REPLY_ERROR ? r->str : NULL;
    int aborted = s->watch == RPIPE_WATCH_STALE || (s->watch == RPIPE_WATCH_WRITE && r->type == REDIS_REPLY_NIL);
    if (!whole_err && !aborted && r->type != REDIS_REPLY_ARRAY)
        whole_err = s->watch == RPIPE_WATCH_READ ? "MGET: not an array" : "EXEC: the transaction did not run";
    if (aborted) whole_err = NULL;
    uint64_t ok = 0, bad = 0;
    int kind = s->watch;
    for (int i = 0; i < n; i++) {
        rpipe_slot *si = &p->ring[(p->head + i) % p->cap];
        const redisReply *e = NULL;
        const char *err = whole_err;
        si->watch = kind;     /* what on_watch reads: the block's kind is on its first slot */
        if (!err && !aborted) {
            size_t at = kind == RPIPE_WATCH_READ ? (size_t)i : (size_t)si->reply_at;
            if (kind == RPIPE_WATCH_WRITE && si->reply_at < 0) { ok++; continue; }   /* older: nothing to write */
            e = at < r->elements ? r->element[at] : NULL;
            if (!e) err = "no reply for this record";
            else if (e->type == REDIS_REPLY_ERROR) err = e->str;
        }
        if (err) {
            if (kind == RPIPE_WATCH_READ && p->on_watch) p->on_watch(p->watch_ctx, si, NULL);
            bad++;
            if (p->on_error) p->on_error(p->ctx, si, err);
        } else if (kind == RPIPE_WATCH_READ || aborted) {
            if (!(p->on_watch && p->on_watch(p->watch_ctx, si, kind == RPIPE_WATCH_READ ? e : NULL))) ok++;
        } else {
            ok++;
        }
    }
    p->errors += bad; metrics_add(m_errors, (double)bad);
    p->writes += ok; metrics_add(m_writes, (double)ok);
    p->bytes += s->cmd.len - s->cmd_off; metrics_add(m_bytes, (double)(s->cmd.len - s->cmd_off));
}

/* Read the reply to the oldest command. 0 ok, 1 resent after reconnect, -1 fatal. */
static int read_one(rpipe *p)
{
    rpipe_slot *s = &p->ring[p->head];
    int n = s->ncover > 0 ? s->ncover : 1;
    /* a MULTI … EXEC block: +OK, +QUEUED per command, then EXEC's array;
     * a command refused while queueing makes EXEC refuse the whole block,
     * so only the EXEC reply tells what happened */
    char queue_err[200] = "";     /* the first command refused while queueing (say OOM) */
    for (int k = 1; k < s->nreplies; k++) {
        redisReply *q = NULL;
        if (redisGetReply(p->c, (void **)&q) != REDIS_OK || !q) {
            log_warn("redis connection lost: %s", p->c->errstr[0] ? p->c->errstr : "no reply");
            return reconnect(p, 0) ? -1 : 1;
        }
        if (q->type == REDIS_REPLY_ERROR && !queue_err[0])
            snprintf(queue_err, sizeof queue_err, "%s", q->str);
        freeReplyObject(q);
    }
    redisReply *r = NULL;
    if (redisGetReply(p->c, (void **)&r) != REDIS_OK || !r) {
        log_warn("redis connection lost: %s", p->c->errstr[0] ? p->c->errstr : "no reply");
        return reconnect(p, 0) ? -1 : 1;
    }
    p->flaps = 0;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        /* scripts flushed under us: reload them and send everything again */
        freeReplyObject(r);
        log_warn("redis lost our scripts (SCRIPT FLUSH or restart): reloading");
        return reconnect(p, 0) ? -1 : 1;
    }
    /* a read-only replica (pointed at one, or a master demoted by a
     * failover) refuses every write: no record is at fault, so none is
     * dead-lettered; the run stops (exit 1, offsets uncommitted) with one
     * error saying what to fix */
    const char *ro = r->type == REDIS_REPLY_ERROR && rpipe_readonly_error(r->str) ? r->str
                   : rpipe_readonly_error(queue_err) ? queue_err : NULL;
    for (size_t k = 0; !ro && r->type == REDIS_REPLY_ARRAY && k < r->elements; k++) {
        const redisReply *e = r->element[k];
        if (e->type == REDIS_REPLY_ERROR && rpipe_readonly_error(e->str)) ro = e->str;
        for (size_t j = 0; !ro && e->type == REDIS_REPLY_ARRAY && j < e->elements; j++)
            if (e->element[j]->type == REDIS_REPLY_ERROR && rpipe_readonly_error(e->element[j]->str))
                ro = e->element[j]->str;
    }
    if (ro) {
        log_error("redis: %.200s: %s", ro, RPIPE_READONLY_HINT);
        freeReplyObject(r);
        return -1;
    }
    if (s->watch) {
        watch_answer(p, s, n, r, queue_err);
        freeReplyObject(r);
        p->head = (p->head + n) % p->cap;
        p->count -= n;
        return 0;
    }
    /* base: what answers for the records; an error in any other command of
     * a block is every covered record's error */
    const redisReply *base = r;
    const char *whole_err = NULL;
    if (s->nreplies > 1) {
        if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
            /* EXECABORT says only that something was refused: name what */
            whole_err = queue_err[0] ? queue_err
                      : r->type == REDIS_REPLY_ERROR ? r->str : "the transaction was not executed";
        } else {
            base = r->element[0];
            for (size_t k = 0; k < r->elements; k++)
                if (r->element[k]->type == REDIS_REPLY_ERROR) { whole_err = r->element[k]->str; break; }
            if (base->type == REDIS_REPLY_ERROR) {
                /* the check failed but the writes after it ran (EXEC does
                 * not roll back): say so; the connect-time probe makes this
                 * rare (a script killed, an ACL changed since) */
                snprintf(queue_err, sizeof queue_err,
                         "the newer-wins check failed, the group was written without it: %.120s", base->str);
                whole_err = queue_err;
                log_error("redis: %s", queue_err);
            }
        }
    }
    /* one reply per record: the command's own, or (a grouped command) the
     * element of its array reply; an error for the whole command is every
     * covered record's error */
    uint64_t ok = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        const redisReply *e = base;
        if (s->multi && base->type == REDIS_REPLY_ARRAY)
            e = (size_t)i < base->elements ? base->element[i] : NULL;
        rpipe_slot *si = &p->ring[(p->head + i) % p->cap];
        if (whole_err || !e || e->type == REDIS_REPLY_ERROR) {
            bad++;
            if (p->on_error) p->on_error(p->ctx, si, whole_err ? whole_err : e ? e->str : "no reply for this record");
        } else if (!(s->nx && e->type == REDIS_REPLY_NIL)) {
            ok++;     /* (an NX attempt that found the key wrote nothing: its fallback counts) */
        }
    }
    p->errors += bad; metrics_add(m_errors, (double)bad);
    p->writes += ok; metrics_add(m_writes, (double)ok);
    p->bytes += s->cmd.len - s->cmd_off; metrics_add(m_bytes, (double)(s->cmd.len - s->cmd_off));
    if (s->nx && p->on_nx)
        p->on_nx(p->nx_ctx, s, r->type == REDIS_REPLY_ERROR ? -1 : r->type == REDIS_REPLY_NIL ? 1 : 0);
    freeReplyObject(r);
    p->head = (p->head + n) % p->cap;
    p->count -= n;
    return 0;
}

/* Write everything hiredis holds for the server. 0, or -1 if the connection
 * broke (the caller reconnects, which sends every unanswered command again). */
static int flush_out(rpipe *p)
{
    int done = 0;
    while (!done)
        if (redisBufferWrite(p->c, &done) != REDIS_OK) {
            log_warn("redis connection lost: %s", p->c->errstr[0] ? p->c->errstr : "write failed");
            return -1;
        }
    p->unsent = 0;
    return 0;
}

static int wait_until(rpipe *p, int max_in_flight)
{
    if (p->count > max_in_flight && p->count) {
        if (p->unsent && flush_out(p) && reconnect(p, 0)) return -1;
        int64_t t0 = p->ring[p->head].queued_us;
        while (p->count > max_in_flight)
            if (read_one(p) < 0) return -1;
        p->last_batch_latency_s = (double)(mono_us() - t0) / 1e6;
        metrics_set(m_latency, p->last_batch_latency_s);
    }
    metrics_set(m_depth, p->count);
    return 0;
}

rpipe_slot *rpipe_next_slot(rpipe *p)
{
    /* connect before the caller builds the command: EVALSHA needs the script sha */
    if (!p->c && reconnect(p, 1)) return NULL;
    /* full: read replies until half the ring is free, or (a group holding
     * half of it reserved) until one slot is */
    if (p->count + p->reserved == p->cap) {
        int keep = p->cap / 2 < p->cap - p->reserved - 1 ? p->cap / 2 : p->cap - p->reserved - 1;
        if (wait_until(p, keep < 0 ? 0 : keep) < 0) return NULL;
    }
    if (p->count + p->reserved == p->cap) {
        log_error("redis pipeline: every slot is held by an unsent group");   /* a caller bug */
        return NULL;
    }
    rpipe_slot *s = &p->ring[(p->head + p->count + p->reserved) % p->cap];
    p->reserved++;
    /* a slot that carried a group's whole block (or a huge record) gives its
     * buffer back, so that what stays allocated is bounded by
     * depth x RPIPE_KEEP_BYTES, not by depth x the largest group */
    if (s->cmd.cap > RPIPE_KEEP_BYTES) rbuf_free(&s->cmd);
    if (s->raw.cap > RPIPE_KEEP_BYTES) rbuf_free(&s->raw);
    if (s->part.cap > RPIPE_KEEP_BYTES) rbuf_free(&s->part);
    s->cmd.len = s->raw.len = s->key.len = 0;
    s->ncover = 0; s->multi = 0; s->nx = 0; s->nreplies = 1; s->watch = RPIPE_WATCH_NONE; s->reply_at = -1;
    return s;
}

rpipe_slot *rpipe_reserved(rpipe *p, int i)
{
    return i < p->reserved ? &p->ring[(p->head + p->count + i) % p->cap] : NULL;
}

void rpipe_slot_source(rpipe_slot *s, const stream_rec *src)
{
    rbuf_put(&s->raw, src->data, src->len);
    s->pos = src->pos;
}

int rpipe_push(rpipe *p) { return rpipe_push_group(p, 0); }

int rpipe_push_group(rpipe *p, int multi)
{
    int n = p->reserved;
    if (n < 1) return 0;
    rpipe_slot *s = &p->ring[(p->head + p->count) % p->cap];
    if (s->nreplies > 1) s->cmd_off = 0;
    else resp_end(s);
    s->queued_us = mono_us();
    s->ncover = n;
    s->multi = multi;
    p->count += n;
    p->reserved = 0;
    if (redisAppendFormattedCommand(p->c, s->cmd.p + s->cmd_off, s->cmd.len - s->cmd_off) != REDIS_OK)
        return reconnect(p, 0);
    /* Send in batches of a quarter of the window, without waiting for
     * replies: Redis works on one batch while we build the next. (hiredis
     * alone would write only once its reply buffer is empty, leaving the
     * server idle while we read.) */
    p->unsent += n;
    if (p->unsent >= p->send_batch && flush_out(p)) return reconnect(p, 0);
    return 0;
}

int rpipe_drain(rpipe *p) { return wait_until(p, 0); }

int rpipe_read_next(rpipe *p) { return p->count ? wait_until(p, p->count - 1) : 0; }

int rpipe_send(rpipe *p)
{
    if (!p->c || !p->unsent) return 0;
    if (flush_out(p) && reconnect(p, 0)) return -1;
    return 0;
}

void rpipe_reject(void *ctx, const rpipe_slot *s, const char *msg)
{
    char detail[512];
    snprintf(detail, sizeof detail, "%.*s: %s", (int)s->key.len, s->key.p ? s->key.p : "", msg);
    stream_reject((stream_in *)ctx, &s->pos, "redis_error", detail, s->raw.p, s->raw.len);
}

int rpipe_start_failed(int wc, const redis_uri *uri, int64_t timeout_us, const char *err)
{
    /* a wrong address (2) is the person's to fix; Redis not answering (1)
     * may be Redis still starting: systemd restarts us (after 2 it does not) */
    char t[32], where[300];   /* the address without the password the URI may hold */
    time_format_duration(timeout_us, t, sizeof t);
    if (uri->unix_path[0]) snprintf(where, sizeof where, "%s", uri->unix_path);
    else snprintf(where, sizeof where, "%s:%d", uri->host, uri->port);
    if (wc == RPIPE_UNRESOLVED) fprintf(stderr, "cache-writer: --redis %s: %s\n", where, err);
    else if (wc == RPIPE_UNREACHABLE)
        fprintf(stderr, "cache-writer: --redis %s: Redis did not answer within %s (--connect-timeout): %s\n",
                where, t, err);
    return wc == RPIPE_UNRESOLVED ? 2 : 1;
}

void rpipe_slot_free(rpipe_slot *s)
{
    rbuf_free(&s->cmd); rbuf_free(&s->part); rbuf_free(&s->raw); rbuf_free(&s->key);
}

void rpipe_close(rpipe *p)
{
    if (p->c) redisFree(p->c);
    for (int i = 0; p->ring && i < p->cap; i++) rpipe_slot_free(&p->ring[i]);
    free(p->ring); free(p->sha);
    memset(p, 0, sizeof *p);
}
