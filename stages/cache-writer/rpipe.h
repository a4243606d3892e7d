/* rpipe.h — a pipelined Redis connection that never drops a write.
 *
 * Commands go into a ring of at most `depth` in flight. They are written
 * to the socket in batches of depth/4 as they are queued, without waiting
 * for replies, so Redis works on one batch while the next is built; when
 * the ring is full, replies are read until it is half empty. A command leaves the ring only when Redis has
 * answered it: an error reply goes to the on_error callback (the caller
 * dead-letters it); a broken connection (Redis killed or restarted) makes
 * rpipe reconnect with capped exponential backoff and full jitter, reload
 * the Lua scripts, and send every unanswered command again, in order. The
 * caller is blocked meanwhile: that is the backpressure. Resending is safe
 * because every script is idempotent and newer-wins.
 *
 * Each ring slot owns its buffers (command, record copy, key), reused from
 * one command to the next: no allocation per record once warm. */
#ifndef CACHE_WRITER_RPIPE_H
#define CACHE_WRITER_RPIPE_H
#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>
#include "redisuri.h"
#include "resp.h"
#include "stream.h"

typedef struct rpipe_slot {
    rbuf cmd;           /* RESP-encoded command, from cmd.p + cmd_off */
    size_t cmd_off;     /* the header is written right-aligned before the args */
    int nargs;
    rbuf raw;           /* the record it came from, for the dead letter */
    rbuf key;           /* the main key written, for messages */
    stream_pos pos;
    int64_t queued_us;
    int ncover;         /* records this slot's command covers (it and the next ncover-1 slots); 0: covered by an earlier one */
    int multi;          /* the reply is an array, one element per covered record */
    int nx;             /* a SET NX attempt: its answer goes to on_nx too */
    int nreplies;       /* > 1: cmd is a MULTI … EXEC block of complete commands with this many
                           replies; the first element of EXEC's array answers for the records */
    rbuf part;          /* the caller's: kept with the slot (the record's script arguments) */
    uint64_t khash;     /* the caller's: a hash of key */
    int64_t ver;        /* the caller's: the record's version (ts) */
    int64_t ttl_ms;     /* the caller's: the record's key expiry (0: none) */
    int watch;          /* a watched block (RPIPE_WATCH_*): its answers go to on_watch */
    int reply_at;       /* RPIPE_WATCH_WRITE: the record's element of EXEC's array; -1 nothing written */
    int act;            /* the caller's: what the read back decided for the record */
} rpipe_slot;

/* Watched blocks (optimistic transactions, see txn.c): READ is WATCH +
 * MGET of the block's keys, WRITE the MULTI … EXEC that follows it. A WRITE
 * block is never sent again after a reconnect (the WATCH went with the old
 * connection): it is sent as a PING instead, and answered as aborted. */
enum { RPIPE_WATCH_NONE, RPIPE_WATCH_READ, RPIPE_WATCH_WRITE, RPIPE_WATCH_STALE };

/* A reply saying the server is a read-only replica: nothing can be written
 * there, whatever the record (the run stops with RPIPE_READONLY_HINT). */
int rpipe_readonly_error(const char *msg);
#define RPIPE_READONLY_HINT "the server is a read-only replica, nothing was written; point --redis at the master"

/* A Redis error that goes away by itself (loading, busy script, failover). */
int rpipe_transient_error(const char *msg);

typedef void (*rpipe_error_fn)(void *ctx, const rpipe_slot *s, const char *msg);
/* The answer to a slot marked nx (SET ... NX): 1 the key existed (nothing
 * written; a nil reply), 0 written, -1 an error (also given to on_error). The
 * slot leaves the ring after the call: take its buffers by swapping them, and
 * call no rpipe function from here. */
typedef void (*rpipe_nx_fn)(void *ctx, rpipe_slot *s, int existed);
/* The answer for one record of a watched block: READ, e is its MGET element
 * (a string, or nil: no string there), or NULL if the read failed (then
 * rpipe dead-letters it); WRITE, e is NULL: the transaction was aborted
 * (a watched key changed, or the connection broke before the answer).
 * Return 1 if the caller took the record (buffers swapped out), 0 to leave
 * it to rpipe. Call no rpipe function from here. */
typedef int (*rpipe_watch_fn)(void *ctx, rpipe_slot *s, const redisReply *e);

/* Run on every new connection, after the scripts are loaded: 0 fine, -1 try
 * again later (with backoff), -2 it cannot work (fatal). */
typedef int (*rpipe_probe_fn)(void *ctx, redisContext *c);

typedef struct rpipe {
    redis_uri uri;
    redisContext *c;
    rpipe_slot *ring;
    int cap, head, count;          /* in flight: ring[head .. head+count) */
    int reserved;                  /* taken by rpipe_next_slot, not yet pushed: the next ones */
    int unsent, send_batch;        /* commands only buffered; write when send_batch are */
    const char *const *scripts; int nscripts;
    char (*sha)[41];
    rpipe_error_fn on_error; void *ctx;
    rpipe_nx_fn on_nx; void *nx_ctx;
    rpipe_watch_fn on_watch; void *watch_ctx;
    uint64_t gen;                  /* connections made: a WATCH holds on the one it was sent on only */
    rpipe_probe_fn probe; void *probe_ctx;
    int flaps;                     /* reconnects since the last reply: a resend the server keeps dropping */
    int64_t stop_grace_us;         /* how long to keep trying after a stop request */
    int quiet;                     /* connect failures only noted in last_err (the start-up wait) */
    char last_err[256];
    uint64_t writes, errors, retries, reconnects, bytes;
    double last_batch_latency_s;
} rpipe;

/* An rpipe_error_fn: the record refused as "redis_error" through
 * stream_reject (counted, logged, dead-lettered); ctx is the stream_in. */
void rpipe_reject(void *ctx, const rpipe_slot *s, const char *msg);
/* Set up and try to connect once; a refused login fails here (-1, logged). */
int rpipe_open(rpipe *p, const redis_uri *u, int depth, const char *const *scripts,
               int nscripts, rpipe_error_fn on_error, void *ctx,
               rpipe_probe_fn probe, void *probe_ctx);
/* At start, after rpipe_open: wait until Redis answers, at most timeout_us
 * (backoff as for a reconnect, without a log line per attempt), so a wrong
 * or dead address ends the stage instead of a retry loop; once connected,
 * outages are retried without limit. 0 connected (or a stop was requested);
 * RPIPE_UNRESOLVED the host name resolves nowhere; RPIPE_UNREACHABLE no
 * answer in time; -1 refused (auth, database: logged). err says why. */
#define RPIPE_UNRESOLVED 2
#define RPIPE_UNREACHABLE 1
int rpipe_wait_connected(rpipe *p, int64_t timeout_us, char *err, size_t n);
/* A start that rpipe_wait_connected refused (wc): "cache-writer: --redis
 * ADDRESS: why" on stderr (without the password the URI may hold); the
 * exit status: 2 an address that resolves nowhere (the person's to fix),
 * 1 Redis did not answer (maybe still starting: systemd restarts us). */
int rpipe_start_failed(int wc, const redis_uri *uri, int64_t timeout_us, const char *err);
/* The slot for the next record (waits for replies if the ring is full).
 * It stays reserved until rpipe_push or rpipe_push_group. */
rpipe_slot *rpipe_next_slot(rpipe *p);
/* Keep in the slot the record its command comes from (raw and pos: for
 * the dead letter). */
void rpipe_slot_source(rpipe_slot *s, const stream_rec *src);
/* Send the command built in the slot returned by rpipe_next_slot. 0 or -1. */
int rpipe_push(rpipe *p);
/* Group: several records in one command. Reserve a slot per record
 * (rpipe_next_slot; at most depth/2 in a group), build the command in the
 * first (rpipe_reserved(p, 0)), then push: the command covers every reserved
 * slot. multi: its reply is an array with one element per record, each
 * checked (an error element is that record's error); otherwise one reply
 * stands for all. 0 or -1. */
int rpipe_push_group(rpipe *p, int multi);
rpipe_slot *rpipe_reserved(rpipe *p, int i);    /* the i-th reserved slot, or NULL */
/* Write every queued command to Redis now, without waiting for replies
 * (before the input may block, so that what was read reaches Redis). 0 or -1. */
int rpipe_send(rpipe *p);
/* Read the answer to the oldest command in flight (sending what is
 * queued first). 0, or -1 (gave up). */
int rpipe_read_next(rpipe *p);
/* Wait until every command sent has been answered. 0 or -1 (gave up). */
int rpipe_drain(rpipe *p);
const char *rpipe_sha(const rpipe *p, int script);
/* Connect again now (after a failure found by a caller that used p->c
 * directly: --redis-stats), with the usual backoff. 0, or -1 gave up. */
int rpipe_reconnect(rpipe *p);
/* Free a slot's buffers (one outside the ring too: the layout's queues). */
void rpipe_slot_free(rpipe_slot *s);
void rpipe_close(rpipe *p);
#endif
