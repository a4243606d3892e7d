/* follow.h — `alerter --changelog`: each alert (pending or firing, with
 * its timers) follows its series' input partition from one instance of
 * the group to the next (libstream's changelog.h; README "Scale-out"). At
 * each sync (notifications delivered, --out flushed) the alerts removed
 * since the last one get a tombstone and the changed ones their state in
 * the changelog partition of their input partition, then a marker with
 * the input offset they cover; only then is the input committed. When a
 * partition is assigned, its alerts are read back from the changelog
 * (unless what this process holds is still the newest: an eager
 * rebalance handing it back) and the input resumes at the marker's
 * offset. --state, if given, keeps acks and silences (and a copy of the
 * alerts held, for `alerter ack`), not the alerts' source of truth. */
#ifndef ALERTER_FOLLOW_H
#define ALERTER_FOLLOW_H
#include <stdint.h>
#include "cli.h"
#include "engine.h"
#include "stream.h"

typedef struct al_follow al_follow;

typedef struct al_follow_stats {
    uint64_t restored_partitions;   /* partitions whose alerts were read from the changelog */
    uint64_t restored_alerts;       /* alert states applied (an alert may count more than once) */
    uint64_t bad;                   /* changelog records not understood (logged), left out */
    uint64_t dropped_alerts;        /* alerts forgotten because their partition went to another member */
} al_follow_stats;

/* Open the changelog (as many partitions as in's topic), track changed
 * alerts, restore partitions as they come. NULL: logged. */
al_follow *al_follow_open(const char *uri, const cli_list *conf, al_engine *e, stream_in *in, stream_out *out);
/* The record about to be handled came on partition part. */
void al_follow_record(al_follow *f, int32_t part);
/* The checkpoint above: 0, or -1 (logged: nothing may be committed). */
int al_follow_checkpoint(al_follow *f);
/* Partitions are about to move (revoke): keep_owned runs once the
 * assignment is known. */
void al_follow_rebalanced(al_follow *f);
/* After a rebalance: forget the alerts of partitions no longer owned
 * (not while nothing is owned: between an eager revoke and its
 * assignment everything would go). */
void al_follow_keep_owned(al_follow *f);
const al_follow_stats *al_follow_stats_get(const al_follow *f);
void al_follow_close(al_follow *f);
#endif
