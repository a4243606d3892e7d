#!/usr/bin/env bash
# 213-aggregate-merge-empty — an instance that owns only an empty partition
# does not hold the merge back: two `aggregate --emit partials` instances on
# a 2-partition topic, one partition each, every event on partition 0. The
# one on partition 1 has never read a record; once it has had nothing
# unread for --idle-timeout it sends an idle watermark for it (no time
# yet), so the merge has heard from every partition and closes windows by
# partition 0's time: equal to one process's file run. (Before: an
# instance with no record sent nothing, the merge waited to hear from
# partition 1 and emitted nothing at all while they ran.) About 20 s under
# ASan.
. "$(dirname "$0")/aggregate-merge-idle.bash"
start_all
produce 0 0 300
expect_eq "partition 1 is empty" "$(held 1)" 0
wait_until 120 'merged_upto 180' || fail "the merge emitted nothing: the empty partition held it back"
same 180 "empty partition idle"
kill -TERM $M; wait $M; expect_eq "merge: exit after SIGTERM" $? 0
finish
