#!/usr/bin/env bash
# 212-aggregate-merge-quiet — a quiet emitter does not stall the merge: two
# `aggregate --emit partials` instances on a 2-partition topic, one
# partition each; events keep coming on partition 0 and stop after 30 s of
# event time on partition 1. Once partition 1 has had nothing unread for
# --idle-timeout, its instance sends its open windows' partials and an idle
# watermark, and the merge closes windows by partition 0's time, with
# partition 1's events in them: the merged windows equal one process's file
# run. Then partition 1 gets events again, ahead of the merge's watermark:
# its instance tells the merge before anything else, and they are counted
# as one process counts them. (Before: the merge took the minimum over
# every partition, the quiet one's included, and emitted nothing past it
# while the instances ran.) About 30 s under ASan.
. "$(dirname "$0")/aggregate-merge-idle.bash"
start_all
# partition 1's events are read before partition 0's come: one process
# would refuse them as late otherwise (an idle partition holds nothing
# back, so what it brings later for closed windows is late)
produce 1 0 30
expect_eq "partition 1 holds its events" "$(held 1)" 30
wait_until 60 '[ "$(($(records_in e1) + $(records_in e2)))" -ge 30 ]' || fail "partition 1 was not read"
produce 0 0 300
# partition 0's watermark, 299 s - 5 s lateness, closes the windows up to [180, 240)
wait_until 120 'merged_upto 180' || fail "the merge emitted nothing past the quiet instance's watermark"
same 180 "quiet instance idle"

# partition 1 reads again, ahead of the merge's watermark; its instance has
# told the merge before partition 0 moves on (one partials partition: in order)
produce 1 300 330
wait_until 60 '[ "$(($(records_in e1) + $(records_in e2)))" -ge 360 ]' || fail "the new events were not read"
produce 0 300 420
expect_eq "partition 1 holds its events" "$(held 1)" 60
wait_until 120 'merged_upto 300' || fail "the merge did not go on"
same 300 "quiet instance back"
kill -TERM $M; wait $M; expect_eq "merge: exit after SIGTERM" $? 0
finish
