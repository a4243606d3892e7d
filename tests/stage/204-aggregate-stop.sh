#!/usr/bin/env bash
# aggregate: SIGTERM while the input is still open (a pipe that has not
# ended) stops the stage with exit 0. Without --state it closes and emits
# every open window first (same output as if the input had ended there);
# with --state it keeps them open in the checkpoint instead, and a second
# run on the same --state fed the rest of the records finishes them: the two
# outputs together are byte-identical to one uninterrupted run, and so is
# the feature store.
. "$(dirname "$0")/../lib.sh"

"$GEN_EVENTS" --count 6000 --kind mixed --seed 41 --rate 40 --users 300 --items 60 > "$T/in.jsonl"
lines=$(wc -l < "$T/in.jsonl")
head -n $((lines / 2)) "$T/in.jsonl" | "$BIN/ingest" > "$T/h1.rec" 2>/dev/null || die "ingest"
tail -n +$((lines / 2 + 1)) "$T/in.jsonl" | "$BIN/ingest" > "$T/h2.rec" 2>/dev/null || die "ingest"
# the first half ends with a marker record that --pass-through writes out
# when it is read: once it shows in the output, everything before it has
# been aggregated (and the output is flushed while the input is idle)
echo '{"name":"zz.stop.marker","value":1}' | "$BIN/fbcat" --encode Metric > "$T/marker.rec" || die "fbcat --encode"
cat "$T/h1.rec" "$T/marker.rec" > "$T/h1m.rec"
cat "$T/h1m.rec" "$T/h2.rec" > "$T/all.rec"
A=(--window 60s --pass-through)

check "uninterrupted run" "$BIN/aggregate" "${A[@]}" --state "$T/full.db" < "$T/all.rec" > "$T/full.rec" 2>/dev/null
check "first half to its end" "$BIN/aggregate" "${A[@]}" < "$T/h1m.rec" > "$T/h1-end.rec" 2>/dev/null

# run aggregate on a FIFO, feed it the first half, wait for the marker, then
# SIGTERM with the pipe still open
stop_run() {   # stop_run OUT [FLAGS...] -> sets rc
  local out=$1; shift
  rm -f "$T/fifo"; mkfifo "$T/fifo"
  "$BIN/aggregate" "${A[@]}" --in "$T/fifo" "$@" > "$out" 2>"$out.err" &
  local pid=$!
  exec 3>"$T/fifo"
  cat "$T/h1m.rec" >&3
  local i
  for i in $(seq 600); do grep -qa zz.stop.marker "$out" && break; sleep 0.1; done
  grep -qa zz.stop.marker "$out" || fail "the marker record did not come through"
  kill -TERM "$pid"
  wait "$pid"; rc=$?
  exec 3>&-
}

stop_run "$T/nostate.rec"
expect_eq "exit status after SIGTERM (no --state)" "$rc" 0
cmp -s "$T/nostate.rec" "$T/h1-end.rec" || fail "SIGTERM without --state did not emit the open windows like an end of input"

stop_run "$T/s1.rec" --state "$T/stop.db"
expect_eq "exit status after SIGTERM (--state)" "$rc" 0
[ -s "$T/s1.rec" ] || fail "no window emitted before the stop"
cmp -s "$T/s1.rec" "$T/h1-end.rec" && fail "with --state the open windows should stay open, not be emitted"
check "second run on the same --state" "$BIN/aggregate" --window 60s --state "$T/stop.db" \
  < "$T/h2.rec" > "$T/s2.rec" 2>"$T/s2.err"
grep -q '"msg":"resumed from' "$T/s2.err" || fail "second run did not resume the open windows"
cat "$T/s1.rec" "$T/s2.rec" > "$T/stopped.rec"
cmp -s "$T/stopped.rec" "$T/full.rec" || fail "stop + continue differs from one uninterrupted run"
q='SELECT * FROM user_features ORDER BY 1'
expect_eq "user features after stop + continue" "$(sqlite3 "$T/stop.db" "$q" | md5sum)" "$(sqlite3 "$T/full.db" "$q" | md5sum)"
q='SELECT * FROM item_features ORDER BY 1'
expect_eq "item features after stop + continue" "$(sqlite3 "$T/stop.db" "$q" | md5sum)" "$(sqlite3 "$T/full.db" "$q" | md5sum)"
finish
