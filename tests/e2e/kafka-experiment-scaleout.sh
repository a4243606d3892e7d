#!/usr/bin/env bash
# kafka-experiment-scaleout — experiment-analyzer scaled out over Kafka:
# instances of `--emit partials` in one consumer group on an 8-partition
# events topic (keyed by user), one `--merge` reading their partials. Two
# start on the first half of the events, a third joins halfway, one is
# killed -9 while the second half streams in and restarted, then all three
# get SIGTERM at once. The merged ExperimentResult records of every report
# equal, byte for byte, those of one process reading the same events from a
# file (--mergeable): nothing lost, nothing counted twice, although
# partitions moved three times and the killed instance's partitions were
# read again from their start (the input is the changelog: README "Scaling
# out").
source "$(dirname "$0")/../lib.sh"
start_kafka events:8 partials:1
X=(-X session.timeout.ms=4000 -X heartbeat.interval.ms=300 -X topic.metadata.refresh.interval.ms=1000)
EA=$BIN/experiment-analyzer
cp "$DATA/experiments.yaml" "$T/e.yaml"
"$GEN_EVENTS" --count 24000 --kind interactions --users 3000 --seed 8 --experiment rec_algo_v1:0.30 \
  --start 1795000000 | "$BIN/ingest" 2>/dev/null | "$BIN/fbcat" --type Event > "$T/ev.json" || die "prepare events"
N=$(wc -l < "$T/ev.json")
half=$((N / 2))
"$BIN/fbcat" --encode Event < "$T/ev.json" > "$T/ev.rec" || die "encode"
# the truth: one process, from the file; the reports at boundaries (Kafka has no end: not the last one)
"$EA" --config "$T/e.yaml" --report-every 5s --mergeable --in "$T/ev.rec" --format json > "$T/one.json" 2>/dev/null ||
  die "file run"
rows=$(($(wc -l < "$T/one.json") - 8))
[ "$rows" -ge 40 ] || die "only $rows rows of boundary reports"
head -n "$rows" "$T/one.json" > "$T/want.json"

produce() {   # produce FROM TO: lines FROM..TO, keyed by user (record_key)
  sed -n "$1,$2p" "$T/ev.json" | "$BIN/fbcat" --encode Event --out "kafka://$KAFKA/events" 2>>"$T/prod.err" ||
    die "produce $1..$2"
}
inst() {   # inst NAME: an --emit partials instance in group g; pid in $PID
  "$EA" --config "$T/e.yaml" --report-every 5s --emit partials \
    --in "kafka://$KAFKA/events?group=g" "${X[@]}" --out "kafka://$KAFKA/partials" \
    >/dev/null 2>"$T/$1.err" &
  PID=$!
  at_exit "kill -9 $PID"
}
assigned() { grep -c '"kafka partition assigned"' "$T/$1.err"; }
merge() {   # the merge over every partial so far, results in $T/merged.json
  "$EA" --config "$T/e.yaml" --report-every 5s --merge --in "kafka://$KAFKA/partials?group=m$1&eof=1" \
    --format json > "$T/merged.json" 2> "$T/merge.err"
}

# the partition count comes from the topic; a wrong one is a usage error
"$EA" --config "$T/e.yaml" --report-every 5s --emit partials --partitions 4 \
  --in "kafka://$KAFKA/events?group=wrong" "${X[@]}" --out /dev/null 2>"$T/wrong.err"
expect_eq "--partitions 4 on an 8-partition topic" "$?" 2
grep -q 'the input topic has 8 partitions' "$T/wrong.err" || fail "wrong count not named: $(cat "$T/wrong.err")"
produce 1 "$half"
inst a; A=$PID
inst b; B=$PID
wait_until 120 '[ "$(assigned a)" -ge 1 ] && [ "$(assigned b)" -ge 1 ]' || fail "A and B did not start"
inst c; C=$PID        # joins halfway
wait_until 120 '[ "$(assigned c)" -ge 1 ]' || fail "C did not join"
third=$((half + half / 2))
produce $((half + 1)) "$third"
kill -9 $B; wait $B 2>/dev/null   # while the second half streams in
produce $((third + 1)) "$N"
inst b2; B=$PID
wait_until 120 '[ "$(assigned b2)" -ge 1 ]' || fail "B did not rejoin"
k=0
wait_until 180 'k=$((k + 1)); merge $k; [ "$(wc -l < "$T/merged.json")" -ge "$rows" ]' ||
  fail "the merge did not reach every boundary report: $(wc -l < "$T/merged.json") of $rows rows"
kill -TERM $A $B $C
wait $A; expect_eq "A: exit after SIGTERM together" $? 0
wait $B; expect_eq "B (restarted): exit after SIGTERM together" $? 0
wait $C; expect_eq "C: exit after SIGTERM together" $? 0

# the topics hold what they should (kcat, not our code)
expect_eq "the events topic holds every event" \
  "$(timeout 60 kcat -C -b "$KAFKA" -t events -e -q -f '%p\n' 2>/dev/null | wc -l)" "$N"
partials=$(timeout 60 kcat -C -b "$KAFKA" -t partials -e -q -f '%S\n' 2>/dev/null | awk '{n++; s += $1} END {print n + 0, s + 0}')
echo "partials topic: $partials (records, bytes)" >&2
[ "${partials#* }" -lt 3000000 ] || fail "partials topic over 3 MB: the mock may have dropped some"
merge final
head -n "$rows" "$T/merged.json" > "$T/got.json"
check "merged over Kafka = one process from the file, every report" cmp "$T/want.json" "$T/got.json"
grep -h "\"msg\":\"done\"" "$T/merge.err" >&2
for f in a b b2 c; do grep -h "\"msg\":\"done\"" "$T/$f.err" >&2; done
# nothing committed: a partition given to an instance without its engine starts at 0, never
# at another member's position (a commit made on revoke would skip a partition's start)
if grep -l 'read on by another member' "$T"/{a,b,b2,c}.err 2>/dev/null; then fail "an instance resumed from a commit"; fi
grep -l 'read from after its start' "$T"/{a,b,b2,c}.err 2>/dev/null && fail "a partition was not read from its start"
# and the group has no committed offset: a new member of it reads every event
expect_eq "group g committed nothing" \
  "$(timeout 60 "$BIN/fbcat" --type Event --in "kafka://$KAFKA/events?group=g&eof=1" 2>/dev/null | wc -l)" "$N"
# a partition read again (the killed instance's, from its start, by the others; the restarted
# one's) re-emits partials the merge already holds: they are recognized, not added
grep -q '"partials_ignored":[1-9]' "$T/merge.err" || fail "no partial was re-emitted: the replay was not exercised"
finish
