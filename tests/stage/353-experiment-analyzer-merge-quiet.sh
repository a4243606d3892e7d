#!/usr/bin/env bash
# 353-experiment-analyzer-merge-quiet — a quiet source partition does not
# hold the merge back: partition 1's users stop after the first 30 s of
# event time (of 120), partition 0's go on. Once partition 1 has had
# nothing unread for --idle-timeout, the emitter sends its snapshot as
# standing for every later boundary while it stays idle, and the merge,
# live, writes every boundary report one process writes from the file,
# byte for byte. (Before: the merge waited for partition 1 to cross the
# boundaries after its last event, and wrote nothing past them.) About
# 15 s under ASan.
. "$(dirname "$0")/experiment-merge-idle.bash"
keep 'p == 0 or ts < t0 + 30 * 1000000'
run
[ "$(held 1)" -ge 100 ] || fail "partition 1 holds only $(held 1) events"
reports "quiet partition"
finish
