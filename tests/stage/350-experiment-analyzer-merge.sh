#!/usr/bin/env bash
# experiment-analyzer --emit partials | --merge: the events of one file split
# by user into P partitions (what Kafka does with ingest's user_id key), one
# --emit partials run per partition, the partials concatenated into one
# --merge: its ExperimentResult records and HTML report equal, byte for
# byte (so field for field), those of one process reading the whole file
# with --mergeable (the same looks: one per report; moments from exact
# sums), over conversion, numeric sum, numeric mean and duration metrics
# and 9 reports. Also: partials in any order and sent twice (a re-emission
# after a crash) change nothing; a partition that never had an event; a
# merge missing a partition writes nothing rather than a partial truth;
# a merge restarted with --state writes each report once; partials of
# another definition and records that are not partials are refused, named
# and dead-lettered; fbcat reads and writes the record.
# About 4 s (10 s under ASan).
source "$(dirname "$0")/../lib.sh"
EA=$BIN/experiment-analyzer
cp "$DATA/experiments.yaml" "$T/e.yaml"
"$GEN_EVENTS" --count 40000 --kind interactions --users 4000 --seed 8 --experiment rec_algo_v1:0.30 \
  --start 1795000000 | "$BIN/ingest" 2>/dev/null | "$BIN/fbcat" --type Event > "$T/ev.json" || die "prepare events"
expect_eq "events prepared" "$(wc -l < "$T/ev.json")" 40000
"$BIN/fbcat" --encode Event < "$T/ev.json" > "$T/ev.rec" || die "encode"
# split by user: crc32(user_id) mod P, as a keyed producer would (any
# function of the user keeps each user's events on one partition, in order)
split_users() {   # split_users P: $T/p0.rec ... (partition P-1 of "P+1" stays empty: see below)
  python3 - "$T" "$1" <<'PY' || die "split"
import json, sys, zlib
t, n = sys.argv[1], int(sys.argv[2])
fs = [open("%s/p%d.json" % (t, i), "w") for i in range(n)]
for line in open(t + "/ev.json"):
    fs[zlib.crc32(json.loads(line).get("user_id", "").encode()) % n].write(line)
PY
  local i
  for ((i = 0; i < $1; i++)); do "$BIN/fbcat" --encode Event < "$T/p$i.json" > "$T/p$i.rec" || die "encode p$i"; done
}
run() { "$EA" --config "$T/e.yaml" --report-every 10s "$@"; }

run --mergeable --in "$T/ev.rec" --format json --report html --report-file "$T/one.html" > "$T/one.json" 2> "$T/one.err" ||
  fail "single run"
expect_eq "single run: 9 reports of 8 rows" "$(wc -l < "$T/one.json")" 72
# the statistics are not trivial: the arms differ, the always-valid p moves over the reports
expect_eq "always-valid p-values of purchase_rate over the reports" \
  "$(jq -r 'select(.metric == "purchase_rate" and .variant == "treatment") | .always_valid_p_value' "$T/one.json" | sort -u | wc -l | tr -d ' ')" 5
check "some rating stddev is not 0" grep -q '"metric":"rating".*"stddev":0\.[0-9]' "$T/one.json"

# P = 5: four partitions with users, the fifth without any event
split_users 4
: > "$T/p4.rec"
for i in 0 1 2 3 4; do
  run --emit partials --partition $i --partitions 5 --in "$T/p$i.rec" > "$T/part$i.rec" 2>> "$T/part.err" ||
    fail "partials of partition $i"
done
cat "$T"/part{0,1,2,3,4}.rec | run --merge --format json --report html --report-file "$T/merged.html" \
  > "$T/merged.json" 2> "$T/merge.err" || fail "merge"
check "merge = single run, every field of every row" cmp "$T/one.json" "$T/merged.json"
check "merge: the same HTML report" cmp "$T/one.html" "$T/merged.html"
grep -q '"complete":true' "$T/merge.err" || fail "merge did not reach the last report: $(cat "$T/merge.err")"

# partials in another order, and every partition but one sent twice
cat "$T"/part{3,2,0,4,1,2,0,3,4}.rec | run --merge --format json > "$T/again.json" 2> "$T/again.err" || fail "merge again"
check "merge of reordered and repeated partials = single run" cmp "$T/one.json" "$T/again.json"
grep -q '"partials_ignored":[1-9]' "$T/again.err" || fail "the repeated partials were not recognized: $(cat "$T/again.err")"

# a partition missing: nothing is reported (no report lacks a partition's users)
cat "$T"/part{0,1,2,4}.rec | run --merge --format json > "$T/missing.json" 2> "$T/missing.err" || fail "merge missing"
expect_eq "no result without partition 3" "$(wc -l < "$T/missing.json")" 0
grep -q '"complete":false' "$T/missing.err" || fail "the incomplete merge did not say so"
# partition 3 arriving last completes it
cat "$T"/part{0,1,2,4,3}.rec | run --merge --format json > "$T/late.json" 2>/dev/null || fail "merge late"
check "partition 3 last = single run" cmp "$T/one.json" "$T/late.json"

# a merge restarted with --state writes each report once: the first run has
# the first 5 partials of partition 3, the second all of them again (a merge
# reads its input from the start, so it rebuilds its looks) and writes only
# the reports the first did not
"$BIN/fbcat" --type ExperimentPartial < "$T/part3.rec" | head -n 5 | "$BIN/fbcat" --encode ExperimentPartial > "$T/part3a.rec"
cat "$T"/part{0,1,2,3a,4}.rec | run --merge --format json --state "$T/m.db" > "$T/m1.json" 2>/dev/null || fail "merge 1"
cat "$T"/part{0,1,2,3,4}.rec | run --merge --format json --state "$T/m.db" > "$T/m2.json" 2>/dev/null || fail "merge 2"
expect_eq "first merge: the reports partition 3 had reached" "$(wc -l < "$T/m1.json")" 40
check "merge restarted with --state: each report once, = single run" cmp "$T/one.json" <(cat "$T/m1.json" "$T/m2.json")

# refusals: a partial of another definition, an Event, each named and dead-lettered
sed 's/allocation: 0.5}/allocation: 0.4}/; s/treatment, allocation: 0.4}/treatment, allocation: 0.6}/' "$T/e.yaml" > "$T/e2.yaml"
"$EA" --config "$T/e2.yaml" --report-every 10s --emit partials --in "$T/p0.rec" > "$T/other.rec" 2>/dev/null || fail "other partials"
cat "$T/other.rec" "$T/p1.rec" | run --merge --format json --dead-letter "$T/dl.jsonl" > /dev/null 2> "$T/ref.err"
grep -q '"refused":'"$(( $(wc -l < "$T/p1.json") + $("$BIN/fbcat" --type ExperimentPartial < "$T/other.rec" | wc -l) ))" "$T/ref.err" ||
  fail "refusals not counted: $(tail -1 "$T/ref.err")"
check "another definition: named" grep -q 'bad_partial.*written for another definition' "$T/dl.jsonl"
check "an Event: named" grep -q 'not_a_partial' "$T/dl.jsonl"

# the partial record through fbcat: JSON out, records back, the same JSON
"$BIN/fbcat" --type ExperimentPartial < "$T/part0.rec" > "$T/part0.json" || fail "fbcat decode"
expect_eq "partials of partition 0 (8 boundaries and the final)" "$(wc -l < "$T/part0.json")" 9
"$BIN/fbcat" --encode ExperimentPartial < "$T/part0.json" | "$BIN/fbcat" --type ExperimentPartial > "$T/part0b.json" ||
  fail "fbcat encode"
check "fbcat round trip" cmp "$T/part0.json" "$T/part0b.json"
check "a partial names its source" grep -q '"partition":1,"partitions":5' <("$BIN/fbcat" --type ExperimentPartial < "$T/part1.rec")

# count reports are refused in the mergeable modes (partitions agree on times, not counts)
"$EA" --config "$T/e.yaml" --report-every 1000 --emit partials --in "$T/p0.rec" > /dev/null 2>&1
expect_eq "--emit partials with a count of events" "$?" 2
finish
