/* follow.h — `drift --changelog`: each series' detectors follow its input
 * partition from one instance of the group to the next (libstream's
 * changelog.h; README "Scale-out"). At each checkpoint (every
 * --checkpoint-interval, on revoke, at exit) --out is flushed, the series
 * changed since the last one are written to the changelog partition of
 * their input partition, then a marker with the input offset they cover;
 * only then is the input committed. When a partition is assigned, its
 * series are read back from the changelog (unless what this process holds
 * is still the newest: an eager rebalance handing it back) and the input
 * resumes at the marker's offset. */
#ifndef DRIFT_FOLLOW_H
#define DRIFT_FOLLOW_H
#include "run.h"

/* In init, with a Kafka --in: open the changelog (as many partitions as
 * the input), track changed series, restore partitions as they come.
 * RUNNER_OK or RUNNER_FAIL (logged). */
int drift_follow_open(drift_main *a, stream_in *in);
/* The checkpoint above: 0, -1 (logged: nothing may be committed), or
 * RUNNER_SKIP when not due (unless force). */
int drift_follow_checkpoint(drift_main *a, int force);
/* After a rebalance: forget the series of partitions no longer owned
 * (not while nothing is owned: between an eager revoke and its assignment
 * everything would go). */
void drift_follow_keep_owned(drift_main *a);
void drift_follow_close(drift_main *a);
#endif
