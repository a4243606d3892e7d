#!/usr/bin/env bash
# aggregate on a live 8-partition topic where one user writes (one key: one
# partition holds everything, seven stay empty): the empty partitions stop
# holding the watermark back once they have had nothing unread for
# --idle-timeout, so windows close while aggregate runs, not only at exit.
# (Were an idle partition counted with no time, the minimum would never
# move and nothing would come out until SIGTERM.)
. "$(dirname "$0")/../lib.sh"
start_kafka events:8
python3 -c '
import json
for i in range(200):
    print(json.dumps({"event_id": "e%d" % i, "ts": 1700000040000000 + i * 1000000, "user_id": "u1", "item_id": "b1", "type": "click"}))
' | "$BIN/fbcat" --encode Event --out "kafka://$KAFKA/events" 2>"$T/prod.err" || die "produce"

X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
"$BIN/aggregate" --in "kafka://$KAFKA/events?group=agg" "${X[@]}" --window 60s --features none \
  --idle-timeout 1s --format json >"$T/out.json" 2>"$T/err" &
P=$!
at_exit "kill -9 $P"
# the window [1700000040, 1700000100) closes while it runs (the watermark
# reaches 1700000234 s once the empty partitions are idle)
closed() { grep -q '"window_start":1700000040000000' "$T/out.json" 2>/dev/null; }
wait_until 60 closed || fail "no window closed while aggregate ran: the empty partitions held the watermark back"
kill -TERM $P; wait $P; expect_eq "exit after SIGTERM" $? 0
grep -q '"late":0,' "$T/err" || fail "late events: $(grep '"msg":"done"' "$T/err")"
finish
