#!/usr/bin/env bash
# kafka-aggregate-merge — aggregate scaled out: `aggregate --emit partials`
# instances in one consumer group on an 8-partition topic, through a join,
# a kill -9 and a restart, another join and a SIGTERM of two at once, then
# one instance draining the rest (?eof=1); their partials (a 4-partition
# topic, keyed by source partition) into `aggregate --merge`. The merged
# metrics, the feature store's included, are the single process's file run,
# field for field. Each instance commits no further than its open windows
# need, so whoever owns a partition next rebuilds them by re-reading; the
# merge keeps one partial per (series, window, partition). The same
# instances in plain mode (each its own metrics) do not give the file run.
source "$(dirname "$0")/../lib.sh"
start_kafka events:8 partials:4
X=(-X session.timeout.ms=4000 -X heartbeat.interval.ms=300 -X topic.metadata.refresh.interval.ms=1000)

"$GEN_EVENTS" --count 16000 --kind interactions --seed 11 --rate 40 --users 1500 --items 200 \
  | "$BIN/ingest" 2>/dev/null | "$BIN/fbcat" --type Event >"$T/ev.json" || die "prepare events"
N=$(wc -l <"$T/ev.json")
"$BIN/fbcat" --encode Event <"$T/ev.json" >"$T/ev.rec" || die "encode"
produce() {   # produce FROM TO: lines FROM..TO (1-based) into the topic, keyed by user
  sed -n "$1,$2p" "$T/ev.json" | "$BIN/fbcat" --encode Event --out "kafka://$KAFKA/events" 2>>"$T/prod.err" ||
    die "produce $1..$2"
}
# emitter NAME [FLAGS...]: an instance in group g writing partials.
# --idle-timeout stays at its 10 s: a partition idle for less while the
# producer (under ASan and load) had not yet written its share of a quarter
# let the instance's other partitions close its windows, and its records
# came late (1,237 refused by B in one run, old code and new alike)
emitter() {
  local name=$1 q="group=g"; shift
  [ "${1:-}" = eof ] && { q="$q&eof=1"; shift; }
  "$BIN/aggregate" --in "kafka://$KAFKA/events?$q" "${X[@]}" --window 60s --emit partials \
    --checkpoint-interval 300ms --metrics-file "$T/$name.prom" --out "kafka://$KAFKA/partials" "$@" \
    >/dev/null 2>"$T/$name.err" &
  PID=$!
  at_exit "kill -9 $PID"
}
assigned() { grep -c '"kafka partition assigned"' "$T/$1.err"; }
# evidence: what each instance logged and last reported, on any failure
# (a failure under load is otherwise a bare message, its files gone)
evidence() {
  local f
  for f in "$T"/*.err; do
    echo "--- $(basename "$f"): $(grep -c '"kafka partition assigned"' "$f") assignments; last lines:" >&2
    grep -v '"level":"debug"' "$f" | tail -n 6 >&2
    [ -f "${f%.err}.prom" ] && grep -E '^streamrec_(records_in_total|kafka_consumer_lag)' "${f%.err}.prom" | head -n 12 >&2
  done
  echo "--- events per partition: $(timeout 30 kcat -C -b "$KAFKA" -t events -e -q -f '%p\n' 2>/dev/null | sort -n | uniq -c | awk '{printf " p%s=%s", $2, $1}')" >&2
}
fail() { echo "FAIL: $*" >&2; _nfail=$((_nfail + 1)); [ "$_nfail" -gt 1 ] || evidence; }
die() { fail "$@"; exit 1; }
caught_up() {   # every instance named has a metrics file written after $T/mark, lag 0 on every partition
  local f
  for f in "$@"; do
    [ "$T/$f.prom" -nt "$T/mark" ] && grep -q '^streamrec_kafka_consumer_lag{' "$T/$f.prom" &&
      ! grep '^streamrec_kafka_consumer_lag{' "$T/$f.prom" | grep -vq '} 0$' || return 1
  done
}
records_in() { local n; n=$(sed -n 's/^streamrec_records_in_total{[^}]*} //p' "$T/$1.prom" 2>/dev/null); echo "${n:-0}"; }
mark() { touch "$T/mark"; }   # after a produce: a metrics file newer than it has seen every record

q1=$((N / 4)) q2=$((N / 2)) q3=$((3 * N / 4))
produce 1 "$q1"
# A kills itself (-9) in the second quarter, right after it delivered the
# partials of a window it has not committed past: the next owner emits them
# again. Its count of records read must pass q1 + 200 for that, so B joins
# only once A has read the whole first quarter: after the rebalance A reads
# its half again from its commits and then the second quarter. (Started
# sooner, as this test did, B took half the partitions while A had read
# ~2,000 records under load: A then read 3,960 in all, caught up with
# nothing left, and never reached its count: the "stuck" A, which was idle.)
# Every wait below is for a state; the bounds are guards only.
emitter a --crash-after $((q1 + 200)); A=$PID
wait_until 120 '[ "$(assigned a)" -ge 8 ]' || fail "A got no partitions"
wait_until 180 '[ "$(records_in a)" -ge "$q1" ]' || fail "A did not read the first quarter"
emitter b; B=$PID
wait_until 120 '[ "$(assigned b)" -ge 1 ] && [ "$(assigned a)" -gt 8 ]' || fail "B did not join"
produce $((q1 + 1)) "$q2"; mark
wait_until 300 '! kill -0 $A 2>/dev/null' || {
  fail "A did not crash by itself: no window closed after its $((q1 + 200))th record; it read" \
    "$(sed -n 's/^streamrec_records_in_total{[^}]*} //p' "$T/a.prom"), caught up: $(caught_up a && echo yes || echo no)"
  kill -9 $A; }
wait $A 2>/dev/null
# (B takes A's partitions once the session times out; the mock is slow to
# tell under load, and C's join below rebalances anyway: not a check)
wait_until 120 '[ "$(assigned b)" -ge 9 ]'
emitter c; C=$PID
wait_until 120 '[ "$(assigned c)" -ge 1 ]' || fail "C did not join"
produce $((q2 + 1)) "$q3"; mark
emitter a2; A=$PID      # A again, halfway through the third quarter
wait_until 120 '[ "$(assigned a2)" -ge 1 ]' || fail "A did not rejoin"
wait_until 180 'caught_up a2 b c' || fail "A, B and C did not catch up"
kill -TERM $B $C
wait $B; expect_eq "B: exit after SIGTERM together" $? 0
wait $C; expect_eq "C: exit after SIGTERM together" $? 0
produce $((q3 + 1)) "$N"
kill -TERM $A; wait $A; expect_eq "A: exit after SIGTERM" $? 0
# one instance drains the rest to the end of the topic and closes every window
emitter d eof; D=$PID
wait $D; expect_eq "D: drained to the end" $? 0

# the topic holds every event (kcat, not our code); the partials topic is small
expect_eq "the topic holds every event" \
  "$(timeout 60 kcat -C -b "$KAFKA" -t events -e -q -f '%p\n' 2>/dev/null | wc -l)" "$N"
timeout 60 kcat -C -b "$KAFKA" -t partials -e -q -f '%p %S\n' 2>/dev/null >"$T/partials.sizes"
echo "partials topic: $(wc -l <"$T/partials.sizes") messages, $(awk '{s += $2} END {print s}' "$T/partials.sizes") bytes" >&2
awk '{s[$1] += $2} END {for (p in s) if (s[p] > 3 * 1048576) exit 1}' "$T/partials.sizes" ||
  fail "a partials partition holds over 3 MiB (the mock keeps ~5)"
grep -q '"partition windows dropped' "$T/b.err" || fail "B never handed windows over"

"$BIN/aggregate" --in "$T/ev.rec" --window 60s --format json >"$T/file.json" 2>"$T/file.err" || fail "file run"
grep -q '"late":0,' "$T/file.err" || fail "the file run refuses records as late"
timeout 60 "$BIN/aggregate" --merge --in "kafka://$KAFKA/partials?group=m&eof=1" "${X[@]}" --window 60s \
  --format json >"$T/merged.json" 2>"$T/merge.err" || fail "merge: exit $?"
tail -1 "$T/merge.err" >&2
sort "$T/file.json" >"$T/file.sorted"
sort "$T/merged.json" >"$T/merged.sorted"
check "merged metrics == the file run ($(wc -l <"$T/file.sorted") metrics; $(comm -3 "$T/file.sorted" "$T/merged.sorted" | wc -l) lines differ)" \
  cmp -s "$T/file.sorted" "$T/merged.sorted"
dropped=$(grep '"msg":"done"' "$T/merge.err" | sed 's/.*"repeats":\([0-9]*\),"late_partials":\([0-9]*\)}.*/\1 \2/' |
  awk '{print $1 + $2}')
[ "$dropped" -gt 0 ] || fail "no partial was emitted twice: the hand-overs were not exercised"
etype='if type == "array" then .[0].value else .event_type end'   # labels: [{key, value}] or {key: value}
# without keeping one partial per (series, window, partition): the events
# counts summed over every partial in the topic are not the file run's
"$BIN/fbcat" --in "kafka://$KAFKA/partials?group=sum&eof=1" "${X[@]}" --format json 2>/dev/null |
  jq -r 'select(.kind == "events" and .name == "events") | "\(.window_start) \(.labels | '"$etype"') \(.count)"' |
  awk '{s[$1 " " $2] += $3} END {for (k in s) print k, s[k]}' | sort >"$T/summed"
jq -r 'select(.name == "events") | "\(.window_start) \(.labels | '"$etype"') \(.count)"' "$T/file.json" | sort >"$T/truth"
echo "events counts summed over all partials: $(comm -13 "$T/truth" "$T/summed" | wc -l) of $(wc -l <"$T/truth") differ" >&2
check "summing every partial (no dedup) double-counts" test "$(comm -13 "$T/truth" "$T/summed" | wc -l)" -gt 0
finish
