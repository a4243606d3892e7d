/* changelog.h — `--changelog kafka://…/TOPIC`: a stage's per-key state
 * follows its input partition from one instance to the next (Kafka
 * Streams' changelog topics). Used by recommender (a user's history),
 * drift (a series' detectors) and alerter (a series' alerts).
 *
 * Partition p of the changelog topic holds the state of the keys whose
 * records come on partition p of the input, written by whichever instance
 * owns p at the time. A checkpoint of p is: one record per key updated
 * since the last one (changelog_put: the key, the stage's blob), a flush
 * until every one is acknowledged, then a marker record carrying the
 * input offset the state covers (every record of p before it, none after;
 * changelog_checkpoint). Restoring p (changelog_restore) reads the
 * partition to its end (the end offset when the restore starts): each
 * key's newest record up to the last marker is its state, and the
 * marker's offset is where reading the input resumes. Records after the
 * last marker (a checkpoint cut short by a kill -9) are left out: the
 * next owner reads those input records again and writes them anew. That
 * restore also writes a void record after them, so a later restore leaves
 * them out too (else the next owner's first marker would close their
 * checkpoint: state covering input past that marker, read again).
 *
 * A key whose state is gone for good (alerter: a resolved alert) gets a
 * tombstone (changelog_delete), or a restore would bring the last state
 * back; compaction keeps the tombstone as the key's newest record.
 *
 * Value (little-endian): u8 version 1, u8 kind (1 state, 2 marker, 3
 * tombstone, 4 void: no blob; a void record drops the records since the
 * last marker),
 * i64 covered (a marker's input offset; -1 in a state record), i64 aux
 * (the stage's own number per key: recommender's model_until, µs, or
 * INT64_MIN), then for a state record the stage's blob. A marker's key is
 * CHANGELOG_MARK_KEY, a void record's CHANGELOG_VOID_KEY and the end
 * offset its restore saw (u64: unique, so compaction keeps every one);
 * both start with a NUL byte: no user id, series or alert key a stage
 * writes starts with one. This is recommender's format since
 * its --changelog came (state records were "user" records): topics written
 * before read the same.
 *
 * Bounds: a restore holds one checkpoint's records at a time (what one
 * instance wrote to that partition between two markers: at most the keys
 * it updated in one checkpoint interval); the topic holds every
 * checkpoint's records until compaction (cleanup.policy=compact keeps the
 * newest per key and the newest marker), so it must be created compacted
 * and with at least as many partitions as the input. Not thread-safe. */
#ifndef STREAMREC_CHANGELOG_H
#define STREAMREC_CHANGELOG_H
#include <stddef.h>
#include <stdint.h>
#include "cli.h"
#include "stream.h"

#define CHANGELOG_MARK_KEY "\0streamrec.checkpoint"
#define CHANGELOG_MARK_KEYLEN 21
#define CHANGELOG_VOID_KEY "\0streamrec.void"
#define CHANGELOG_VOID_KEYLEN 15

typedef struct changelog changelog;

/* NULL with err on a bad URI, a topic that does not exist or a client that
 * cannot be made. conf: the -X items (as for --in); stage: names the
 * restore consumer's (never joined) group. */
changelog *changelog_open(const char *uri, const cli_list *conf, const char *stage, char *err, size_t errlen);
void changelog_close(changelog *c);
int32_t changelog_partitions(const changelog *c);
const char *changelog_topic(const changelog *c);
/* The input has more partitions than the changelog topic: 0, or -1 with
 * err saying so (an input whose count is unknown passes). */
int changelog_check_input(const changelog *c, stream_in *in, char *err, size_t errlen);

/* Queue one key's state for partition part. 0, or -1 (logged). */
int changelog_put(changelog *c, int32_t part, const void *key, size_t klen, int64_t aux,
                  const uint8_t *blob, size_t n);
/* Queue key's tombstone for partition part (its state is gone: a restore
 * hands fn a NULL blob). 0, or -1 (logged). */
int changelog_delete(changelog *c, int32_t part, const void *key, size_t klen);
/* Wait until every queued record is acknowledged, then queue a marker for
 * each partition of in (stream_in_offsets) whose position moved since its
 * last marker, and wait for those. 0, or -1 (logged): the checkpoint is
 * not complete, the input must not be committed. */
int changelog_checkpoint(changelog *c, stream_in *in);
/* This process holds partition part's state (changelog_restore read it,
 * changelog_forget not called since). */
int changelog_held(const changelog *c, int32_t part);
/* Partition part is held and ends with the last marker this process wrote
 * to it (no other instance wrote since): what this process holds for it
 * is current, and the input resumes at the returned offset. -1: read it
 * back (changelog_restore). */
int64_t changelog_current(changelog *c, int32_t part);
/* This process no longer holds part's state: markers are written anew. */
void changelog_forget(changelog *c, int32_t part);
/* After a rebalance: each held partition in no longer owns is forgotten
 * and drop(ctx, part) lets the stage free its state. 0 when in owns
 * nothing (between an eager revoke and its assignment everything would
 * go: call again later), 1 done. */
int changelog_keep_owned(changelog *c, stream_in *in, void (*drop)(void *ctx, int32_t part), void *ctx);

typedef struct changelog_restored {
    uint64_t records, applied, left_out;   /* read; state records applied; after the last marker (voided) */
    uint64_t voided;                       /* records of checkpoints cut short, voided before */
    uint64_t deleted;                      /* tombstones applied */
    uint64_t bad;                          /* not understood (logged with their offset), left out */
    int64_t covered;                       /* the last marker's offset, -1 none */
} changelog_restored;
/* Read partition part to its end; fn(ctx, …) for each state record and
 * tombstone (blob NULL, n 0: only stages that call changelog_delete see
 * one) of every complete checkpoint, in order (a key may come several
 * times: the later replaces). 0, or -1 (logged; fn's non-zero return also stops it). */
typedef int (*changelog_state_fn)(void *ctx, const char *key, size_t klen, int64_t aux,
                                  const uint8_t *blob, size_t n);
int changelog_restore(changelog *c, int32_t part, changelog_state_fn fn, void *ctx, changelog_restored *out);
#endif
