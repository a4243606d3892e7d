#!/usr/bin/env bash
# 345-experiment-analyzer-duplicates — blocks of events sent again (as an
# upstream stage replays what it had not committed when it crashed) change
# no ExperimentResult: gen-events through ingest (event ids), four metric
# kinds (conversion, revenue sum, mean rating, time to click), three
# replayed blocks: the results equal those without the copies, field for
# field, at the end and at every report of event time; every copy of an
# event that concerns the experiment is counted as a duplicate. With
# --state, a copy of events counted before a restart is still dropped.
# With --dedup-window 0 the copies change revenue (the comparison can fail).
source "$(dirname "$0")/../lib.sh"
EA=$BIN/experiment-analyzer
cp "$DATA/experiments.yaml" "$T/c.yaml"
"$GEN_EVENTS" --count 40000 --kind interactions --users 3000 --seed 8 --experiment rec_algo_v1:0.30 \
  --start 1795000000 | "$BIN/ingest" 2>/dev/null | "$BIN/fbcat" --type Event > "$T/events.json" || die "prepare events"
nev=$(wc -l < "$T/events.json")
[ "$nev" -gt 39000 ] || die "only $nev events"
# after lines 10000, 25000 and 39000, the 3,000 / 6,000 / 500 lines before them again
python3 - "$T/events.json" 10000:3000 25000:6000 39000:500 > "$T/replayed.json" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines(True)
replays = {int(a): int(b) for a, b in (x.split(":") for x in sys.argv[2:])}
out = []
for i, l in enumerate(lines):
    if i in replays: out.extend(lines[i - replays[i]:i])
    out.append(l)
sys.stdout.write("".join(out))
PY
"$BIN/fbcat" --encode Event < "$T/events.json" > "$T/events.rec" || die "encode"
"$BIN/fbcat" --encode Event < "$T/replayed.json" > "$T/replayed.rec" || die "encode"
# copies of events that concern the experiment: exposures (they carry it) and the metric events
relevant=$(python3 - "$T/events.json" 10000:3000 25000:6000 39000:500 <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
n = 0
for a, b in (x.split(":") for x in sys.argv[2:]):
    for l in lines[int(a) - int(b):int(a)]:
        r = json.loads(l)
        n += bool(r.get("experiment")) or r.get("type") in ("purchase", "rating", "click")
print(n)
PY
)

run() {   # run NAME FLAGS...: results to $T/NAME.json
  local name=$1; shift
  "$EA" --config "$T/c.yaml" --format json --metrics-file "$T/$name.prom" "$@" > "$T/$name.json" 2> "$T/$name.err"
  expect_eq "$name: exit status" "$?" 0
}
done_n() { grep '"msg":"done"' "$T/$1.err" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
for every in 0 10m; do
  run plain --in "$T/events.rec" --report-every "$every"
  run dup --in "$T/replayed.rec" --report-every "$every"
  check "report every $every: results written" [ "$(wc -l < "$T/plain.json")" -ge 8 ]
  expect_eq "report every $every: results with replays == without" "$(md5sum < "$T/dup.json")" "$(md5sum < "$T/plain.json")"
  expect_eq "report every $every: duplicates (the copies that concern the experiment)" "$(done_n dup duplicates)" "$relevant"
  expect_eq "report every $every: no duplicates without copies" "$(done_n plain duplicates)" 0
done
expect_eq "duplicates in the metrics file" \
  "$(awk '$1~/^streamrec_experiment_duplicates_total/{print $2}' "$T/dup.prom")" "$relevant"
check "the replays hold purchases (revenue would move)" [ "$relevant" -gt 1000 ]

# a restart between an event and its copy: the window is in the state
head -n 20000 "$T/events.json" | "$BIN/fbcat" --encode Event > "$T/a.rec"
{ sed -n 17001,20000p "$T/events.json"; tail -n +20001 "$T/events.json"; } | "$BIN/fbcat" --encode Event > "$T/b.rec"
run s1 --in "$T/a.rec" --report-every 0 --state "$T/s.db"
run s2 --in "$T/b.rec" --report-every 0 --state "$T/s.db"
run plain --in "$T/events.rec" --report-every 0
python3 - "$T/plain.json" "$T/s2.json" <<'PY' || fail "restart with a replayed block != one run"
import json, sys
def rows(p): return sorted(json.dumps({k: v for k, v in json.loads(l).items()}, sort_keys=True) for l in open(p))
a, b = rows(sys.argv[1]), rows(sys.argv[2])
sys.exit(0 if a == b and a else 1)
PY
check "restart: copies dropped ($(done_n s2 duplicates))" [ "$(done_n s2 duplicates)" -gt 500 ]
check "ids saved in the state" [ "$(sqlite3 "$T/s.db" 'SELECT count(*) FROM ea_seen')" -gt 1000 ]

# without dedup the copies are counted again: the comparison above can fail
run nodedup --in "$T/replayed.rec" --report-every 0 --dedup-window 0
cmp -s "$T/nodedup.json" "$T/plain.json" && fail "without dedup the replays changed nothing"
finish
