#!/usr/bin/env bash
# 206-aggregate-duplicates — blocks of events sent again, as an upstream
# stage replays what it had not committed when it crashed, change no metric:
# the same events with three replayed blocks (1,000 to 4,000 events, one
# crossing window ends) give byte-identical output to the events without
# them, on tumbling and hopping windows with the feature store; every copy
# is dropped as a duplicate (done line and metrics file, not dead-lettered)
# or, once its windows have closed, as late. With --dedup-ids 0 the copies are counted again (so the
# comparison can fail). The Kafka kill -9 case is tests/e2e/ingest-kill-dedup.sh.
. "$(dirname "$0")/../lib.sh"

"$GEN_EVENTS" --count 20000 --kind interactions --seed 41 --rate 100 --users 500 --items 120 \
  | "$BIN/ingest" 2>/dev/null | "$BIN/fbcat" --type Event > "$T/events.json" || die "prepare events"
nev=$(wc -l < "$T/events.json")
[ "$nev" -gt 19000 ] || die "only $nev events"
# replays after lines 6000, 12500 and 18000 of the 2,000 / 4,000 / 1,000
# lines before them, and after 16000 of lines 8000-8999 (75 s of event time back)
python3 - "$T/events.json" > "$T/replayed.json" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines(True)
out = []
replays = {6000: (4000, 6000), 12500: (8500, 12500), 16000: (8000, 9000), 18000: (17000, 18000)}
for i, l in enumerate(lines):
    if i in replays: out.extend(lines[replays[i][0]:replays[i][1]])
    out.append(l)
sys.stdout.write("".join(out))
PY
copies=$(( $(wc -l < "$T/replayed.json") - nev ))
expect_eq "copies in the replayed input" "$copies" 8000
"$BIN/fbcat" --encode Event < "$T/events.json" > "$T/events.rec" || die "encode"
"$BIN/fbcat" --encode Event < "$T/replayed.json" > "$T/replayed.rec" || die "encode"

run() {   # run NAME INPUT FLAGS...: metrics JSON to $T/NAME.json
  local name=$1 in=$2; shift 2
  rm -f "$T/$name.dl"
  "$BIN/aggregate" --in "$in" --format json --dead-letter "$T/$name.dl" --metrics-file "$T/$name.prom" "$@" \
    > "$T/$name.json" 2> "$T/$name.err"
  expect_eq "$name: exit status" "$?" 0
}
# A copy is caught while its event's earliest window is open (its id is
# held until the watermark passes that window's end); an older copy is late
# by then, and refused as such (dead-lettered as late_event): either way it
# is not counted. The copies of lines 8000-8999 come 75 s later in event
# time: with 5 s of lateness their ids are gone and they are late.
done_n() { grep '"msg":"done"' "$T/$1.err" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
for flags in "--window 60s" "--window 5m --hop 1m --allowed-lateness 20s"; do
  run plain "$T/events.rec" $flags
  run dup "$T/replayed.rec" $flags
  check "$flags: metrics emitted" [ "$(wc -l < "$T/plain.json")" -gt 10000 ]
  expect_eq "$flags: output with replays == without" "$(md5sum < "$T/dup.json")" "$(md5sum < "$T/plain.json")"
  if ! cmp -s "$T/dup.json" "$T/plain.json"; then
    diff "$T/plain.json" "$T/dup.json" | head -4 >&2
  fi
  d=$(done_n dup duplicates); l=$(done_n dup late)
  expect_eq "$flags: events counted" "$(done_n dup events)" "$nev"
  expect_eq "$flags: every copy dropped, as a duplicate ($d) or late ($l)" "$((d + l))" "$copies"
  check "$flags: duplicates found ($d)" [ "$d" -ge 1000 ]
  case "$flags" in "--window 60s") check "$flags: the old copies are late ($l)" [ "$l" -ge 500 ] ;; esac
  expect_eq "$flags: no duplicates without copies" "$(done_n plain duplicates)" 0
  expect_eq "$flags: duplicates in the metrics file" \
    "$(awk '$1~/^streamrec_aggregate_duplicates_total/{print $2}' "$T/dup.prom")" "$d"
  expect_eq "$flags: only the late copies dead-lettered" "$(cat "$T/dup.dl" 2>/dev/null | grep -c '"reason":"late_event"')" "$l"
  expect_eq "$flags: dead letters" "$(cat "$T/dup.dl" 2>/dev/null | wc -l)" "$l"
done
# without dedup the copies count again: the comparison above can fail
run nodedup "$T/replayed.rec" --window 60s --dedup-ids 0
run plain "$T/events.rec" --window 60s
cmp -s "$T/nodedup.json" "$T/plain.json" && fail "without dedup the replays changed nothing"
finish
