#!/usr/bin/env bash
# 352-experiment-analyzer-merge-empty — an empty source partition does not
# hold the merge back: every event on partition 0 of a 2-partition topic,
# partition 1 empty. Once partition 1 has had nothing unread for
# --idle-timeout, the emitter sends its (empty) snapshot as standing for
# every boundary while it stays idle, and the merge, live, writes every
# boundary report one process writes from the file, byte for byte. (Before:
# the merge waited for partition 1's first snapshot and wrote nothing.)
# About 15 s under ASan.
. "$(dirname "$0")/experiment-merge-idle.bash"
keep 'p == 0'
run
expect_eq "partition 1 is empty" "$(held 1)" 0
reports "empty partition"
finish
