#!/usr/bin/env bash
# drift on a pipe that goes quiet: the Drift record for a shift is written
# (and the state saved) while the input stays open, not at the next record
# or at the end; SIGHUP is logged (nothing to reload); SIGTERM then ends it with exit 0, the final log line and the
# checkpoint in --state.
source "$(dirname "$0")/../lib.sh"
PY=python3; /usr/bin/python3 -c 'import numpy' 2>/dev/null && PY=/usr/bin/python3

# 60 points at 10, then a jump to 20 at point 60; the pipe stays open after
$PY -c '
import json
for i in range(70):
    v = 10 + (i % 3) * 0.1 + (10 if i >= 60 else 0)
    print(json.dumps({"name": "cpu_usage", "labels": [{"key": "host", "value": "a"}],
                      "window_start": i * 60000000, "window_end": (i + 1) * 60000000, "value": v}))
' | "$BIN/fbcat" --encode Metric > "$T/in.rec" || die "encode"
mkfifo "$T/fifo"
( cat "$T/in.rec"; sleep 120 ) > "$T/fifo" &
feeder=$!
at_exit "kill $feeder"
"$BIN/drift" --in "$T/fifo" --detectors cusum --horizons none --state "$T/s.db" --format json \
  --out "$T/out.json" 2>"$T/err" &
pid=$!
at_exit "kill $pid"
wait_until 30 "grep -qs '\"detector\":\"cusum\"' '$T/out.json'" || fail "no Drift record while the input is quiet"
# the idle sync saves the state too (the checkpoint covers every record read)
wait_until 30 "[ \"\$(sqlite3 '$T/s.db' 'SELECT count(*) FROM streamrec_blobs' 2>/dev/null)\" = 1 ]" \
  || fail "state not saved while the input is quiet"
# the third point of the jump: CUSUM takes at most 3 - k = 2.5 from a point
# (the clip, README.md), h is 7.5, and S+ was a little above 0 before it
expect_eq "drift at the shift" "$(jq -r .ts "$T/out.json" | head -1)" "$((63 * 60000000))"
kill -HUP $pid     # nothing to reload: logged, and drift goes on
wait_until 30 "grep -q 'SIGHUP: drift has no configuration file' '$T/err'" || fail "SIGHUP not acknowledged"
kill -0 $pid 2>/dev/null || fail "SIGHUP ended drift"
kill -TERM $pid
wait $pid
expect_eq "exit after SIGTERM" "$?" 0
grep -q '"msg":"done","observations":70' "$T/err" || fail "done line: $(tail -1 "$T/err")"
finish
