/* layout.h — the stage's writer: which Redis keys (and values) a record
 * becomes under each --layout, and how they are written so that an older
 * record never replaces a newer one. layout.c maps records to keys and
 * values and holds the per-record scripts (layout_scripts); newer.c the
 * json layout's write paths (SET NX, checked groups, the script group)
 * and layout_flush/drain/send/pending/queued/attach; txn.c the commands
 * of the checked groups and the script group, and their probe.
 * Both work on the one `layout` below: the paths decide per record, and a
 * metric or a zset/fb record flushes what the json paths hold first.
 *
 * Key layout (PREFIX is --prefix, empty by default):
 *   PREFIXrec:USER                       Recommendation, by --layout:
 *       json  a string {"ts":…,"user_id":…,"items":[{"item_id":…,"score":…}],"algorithm":…,"model_version":…}
 *       zset  a sorted set item -> score, with PREFIXrec:USER:ts holding the record's ts
 *       fb    the Recommendation FlatBuffer (no size prefix), zstd-compressed, with PREFIXrec:USER:ts
 *   PREFIXmetric:NAME[:k=v,k=v]          Metric hash: count sum min max mean stddev value
 *                                        window_start window_end p50 p90 p95 p99 p999 (labels sorted by key)
 *   PREFIXfeatures:user:ID, PREFIXfeatures:item:ID
 *                                        user.* / item.* Metrics whose only label is user_id / item_id:
 *                                        field = name without "user."/"item.", value = the Metric's value;
 *                                        …:ts holds each field's window_end
 *   PREFIXleaderboard:NAME[:k=v,…]:WINDOW  sorted set item_id -> score for Metrics named in
 *                                        --leaderboard that carry item_id; the labels in the
 *                                        key leave out item_id and rank (aggregate's top.clicks
 *                                        carries both); WINDOW is the window length ("1m");
 *                                        holds the newest window only, top --leaderboard-size
 *                                        kept; …:window holds its window_start. Score: the
 *                                        Metric's value, or its count for NAME:count boards;
 *                                        NAME@N leaves out Metrics whose count is below N (a
 *                                        CTR from 2 impressions is noise).
 *   PREFIXcache-writer:held[:N]         exists only inside a json group's transaction (see txn.c)
 * Versions: Recommendation ts; Metric window_end (leaderboards: window_start).
 * Equal versions overwrite (a replay after a restart rewrites the same value). */
#ifndef CACHE_WRITER_LAYOUT_H
#define CACHE_WRITER_LAYOUT_H
#include <stdint.h>
#include <zstd.h>
#include "fbrec.h"
#include "keyset.h"
#include "rpipe.h"

#define GROUP_MAX 32   /* json recommendations in one transaction at most */
enum { SCRIPT_VERSIONED, SCRIPT_HASH, SCRIPT_FEATURE, SCRIPT_LEADERBOARD, SCRIPT_COUNT };
extern const char *const layout_scripts[SCRIPT_COUNT];

typedef enum { LAYOUT_JSON, LAYOUT_ZSET, LAYOUT_FB } rec_layout;

/* One --leaderboard entry: NAME[:count][@MIN_COUNT]. */
typedef struct layout_board {
    char name[128];
    int by_count;          /* score = count (counters) instead of value (ratios, top-K) */
    uint64_t min_count;    /* Metrics with a smaller count stay off the board */
} layout_board;
/* Parse one --leaderboard entry. 0, or -1 with err naming what is wrong. */
int layout_board_parse(const char *s, layout_board *b, char *err, size_t errlen);

typedef struct layout_conf {
    const char *prefix;
    rec_layout rec_layout;
    int64_t rec_ttl_ms, metric_ttl_ms;   /* 0: no expiry */
    /* --ttl adaptive:MIN:MAX (max > 0): rec: keys expire after
     * min * max / (the user's average gap between records), within
     * [min, max]; min for a user seen once (see layout_adaptive_ttl) */
    int64_t rec_ttl_min_ms, rec_ttl_max_ms;
    int64_t leaderboard_size;
    const layout_board *boards; int nboards;
    int zstd_level;
    int pipeline_depth;   /* rpipe's; json recommendations go in groups of up to depth/2 (32 at most) */
} layout_conf;

/* Records waiting in order, in a ring that grows (their buffers move along). */
typedef struct slotq { rpipe_slot *q; int head, n, cap; } slotq;

/* Json recommendations take one of two paths (see newer.c):
 *   a key not in `known`: SET key value NX [PX ttl], as cheap for Redis as a
 *     plain SET, and atomic; if the key existed (a nil reply: nothing was
 *     written) the record goes to the checked path after all;
 *   a key in `known`: a group of up to 32 records, read back under WATCH
 *     and written by one MULTI … EXEC that fails if any of their keys
 *     changed meanwhile (records of a failed one go to the script group).
 * Per key the records reach Redis in input order: a record whose key has an
 * NX attempt unanswered or queued waits until that attempt and its fallback
 * are queued before it. */
typedef struct layout {
    layout_conf conf;
    json_writer jw;
    fb_builder fbb;
    ZSTD_CCtx *zc;
    rbuf tmp, key2;
    uint64_t skipped;
    /* keys written lately (layout.c's rec_touch): newer.c sends them to the
     * checked path directly; with --ttl adaptive, also their users' gaps */
    keyset known;
    /* the json layout's write paths: newer.c's alone */
    rpipe_slot batch;     /* where a group's commands are built, one at a time */
    rbuf block;           /* a group's block of commands */
    rbuf held;            /* PREFIXcache-writer:held (see txn.c) */
    int group, group_max; /* script-group records waiting in reserved slots */
    /* NX attempts staged or in flight, by key hash (exact: linear probing,
     * at least 4x as many entries as there can be attempts) */
    uint64_t *busy_h; uint32_t *busy_n; size_t busy_mask;
    rpipe_slot *staged; int nstaged;          /* NX attempts sent after the group (group_max at most) */
    slotq retry;          /* NX found the key: for the checked path */
    slotq contended;      /* their checked transaction was aborted: for the script group */
    rpipe_slot *pend; int npend;     /* the next checked group, not yet sent (group_max at most) */
    rpipe_slot *ready; int nready;   /* the open group, read back: its writes go next */
    int wopen;            /* a group's WATCH is on the connection and its EXEC not: no other may start */
    int wreading;         /* records of the open group's read not yet answered */
    uint64_t ready_gen;   /* the connection (rpipe gen) that answered it */
    rpipe *pipe;
    int nx_open;          /* NX attempts staged or unanswered */
    int nx_off;           /* most recent NX attempts found the key: only probe */
    unsigned nx_window, nx_window_existed, probe;
    uint64_t nx_sent, nx_existed, checked, aborted, scripted;   /* for the log */
} layout;

void layout_init(layout *l, const layout_conf *c);
void layout_free(layout *l);
/* The adaptive TTL for a user whose records come gap_us apart on average
 * (0: unknown), in ms. */
int64_t layout_adaptive_ttl(int64_t min_ms, int64_t max_ms, double gap_us);
/* Parse --ttl: a duration ("1h", 0: none) or adaptive:MIN:MAX. 0, or -1
 * with err saying why. */
int layout_ttl_parse(const char *s, int64_t *fixed_ms, int64_t *min_ms, int64_t *max_ms, char *err, size_t errlen);
/* Queue the commands for one record on the pipe. 0, or -1 if the pipe failed. */
int layout_recommendation(layout *l, rpipe *p, const Recommendation *r, const stream_rec *src);
int layout_metric(layout *l, rpipe *p, const Metric *m, const stream_rec *src);
/* Send what is grouped and not yet sent (before waiting for input or for
 * replies). 0, or -1 if the pipe failed. */
int layout_flush(layout *l, rpipe *p);
/* Flush, then wait until Redis acknowledged every record given so far
 * (fallbacks included). 0, or -1 if the pipe failed. */
int layout_drain(layout *l, rpipe *p);
/* Before the input may wait: send what is queued, and when NX attempts are
 * unanswered wait for them, so that their fallbacks are sent too (Redis
 * is never behind what was read). 0, or -1 if the pipe failed. */
int layout_send(layout *l, rpipe *p);
/* Anything given and not yet written to the pipe? */
int layout_pending(const layout *l);
/* rpipe's probe for the json layout (see txn.c): 0, -1 retry, -2 fatal. */
int layout_probe(void *ctx, redisContext *c);
/* Records given and not yet acknowledged that wait in the layout. */
int layout_queued(const layout *l);
/* Hook the NX and watched answers (rpipe's on_nx, on_watch) to this
 * layout; after rpipe_open. */
void layout_attach(layout *l, rpipe *p);
#endif
