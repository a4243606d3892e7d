/* changelog.h — `recommender --changelog kafka://…/TOPIC`: the users'
 * histories follow their input partition from one instance to the next
 * (Kafka Streams' changelog topics, README "Scale-out").
 *
 * Partition p of the changelog topic holds the histories of the users whose
 * events come on partition p of the input, written by whichever instance
 * owns p at the time. A checkpoint of p is: one record per user updated
 * since the last one (key: user_id; value below), a flush until every one
 * is acknowledged, then a marker record carrying the input offset the
 * histories cover (every event of p before it, none after). Restoring p
 * reads the partition to its end (the end offset when the restore starts):
 * each user's newest record up to the last marker is their history, and
 * the marker's offset is where reading the input resumes. Records after
 * the last marker (a checkpoint cut short by a kill -9) are left out: the
 * next owner reads those events again and writes them anew.
 *
 * Value (little-endian): u8 version 1, u8 kind (1 user, 2 marker),
 * i64 covered (input offset), i64 model_until (the user's training data
 * ends there, µs; INT64_MIN none: serve.c's replay rule), then for a user
 * the hist_encode blob. A marker's key is CHANGELOG_MARK_KEY (starts with
 * a NUL byte, which no user_id from ingest has).
 *
 * Bounds: a restore holds one checkpoint's records at a time (at most
 * --max-batch users); the topic holds every checkpoint's records until
 * compaction (cleanup.policy=compact keeps the newest per user and the
 * newest marker). Not thread-safe. */
#ifndef STREAMREC_REC_CHANGELOG_H
#define STREAMREC_REC_CHANGELOG_H
#include <stddef.h>
#include <stdint.h>
#include "cli.h"

#define CHANGELOG_MARK_KEY "\0streamrec.checkpoint"
#define CHANGELOG_MARK_KEYLEN 21

typedef struct changelog changelog;

/* NULL with err on a bad URI, a topic that does not exist or a client that
 * cannot be made. conf: the -X items (as for --in). */
changelog *changelog_open(const char *uri, const cli_list *conf, char *err, size_t errlen);
void changelog_close(changelog *c);
int32_t changelog_partitions(const changelog *c);
const char *changelog_topic(const changelog *c);

/* Queue one user's history for partition part. 0, or -1 (logged). */
int changelog_put(changelog *c, int32_t part, const char *user, size_t ulen, int64_t model_until,
                  const uint8_t *blob, size_t n);
/* Wait until every queued record is acknowledged. 0, or -1 if any failed
 * (logged): the checkpoint is not complete and no marker may follow. */
int changelog_flush(changelog *c);
/* Queue the marker of part: its histories cover the input up to covered.
 * Only after a successful changelog_flush of the histories; flush again
 * before the input offsets are committed. 0 or -1. */
int changelog_mark(changelog *c, int32_t part, int64_t covered);
/* 1 when partition part ends with the last marker this process wrote to it
 * (no other instance wrote since): what this process holds is current. */
int changelog_unchanged(changelog *c, int32_t part);

typedef struct changelog_restored {
    uint64_t records, users_applied, left_out;   /* read; applied; after the last marker */
    uint64_t bad;                                /* not understood (logged with their offset), left out */
    int64_t covered;                            /* the last marker's offset, -1 none */
} changelog_restored;
/* Read partition part to its end; fn(ctx, …) for each user record of every
 * complete checkpoint, in order (a user may come several times: the later
 * replaces). 0, or -1 (logged; fn's non-zero return also stops it). */
typedef int (*changelog_user_fn)(void *ctx, const char *user, size_t ulen, int64_t model_until,
                                 const uint8_t *blob, size_t n);
int changelog_restore(changelog *c, int32_t part, changelog_user_fn fn, void *ctx, changelog_restored *out);
#endif
