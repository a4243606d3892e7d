#!/usr/bin/env bash
# drift: kill -9 in the middle, restart with the same --state: the union of
# what both runs wrote equals an uninterrupted run's output (records written
# between the last checkpoint and the crash come out again, identical; none
# missing, none different), for file input (the state keeps how many records
# it covers) and for Kafka input (the state keeps the offsets). Every
# detector and the forecasts are on.
source "$(dirname "$0")/../lib.sh"
PY=python3; /usr/bin/python3 -c 'import numpy' 2>/dev/null && PY=/usr/bin/python3

$PY - > "$T/in.json" <<'EOF2'
import json, random
r = random.Random(3)
names = ["h%d" % s for s in range(50)]
for i in range(400):
    for s, h in enumerate(names):
        v = r.gauss(10, 1) + (3 if i >= 200 + s else 0) + (8 if i == 300 else 0)
        print(json.dumps({"name": "cpu_usage", "labels": [{"key": "host", "value": h}],
                          "window_start": i * 60000000, "window_end": (i + 1) * 60000000,
                          "count": 10, "mean": v, "value": v}))
EOF2
"$BIN/fbcat" --encode Metric < "$T/in.json" > "$T/in.rec" || die "encode"
nrec=$(wc -l < "$T/in.json")
ARGS=(--window 40 --every 5 --horizons 15m,1h)

compare() {   # full first-run restart-run
  $PY - "$1" "$2" "$3" <<'EOF2'
import json, sys
full = open(sys.argv[1]).read().splitlines()
c1 = open(sys.argv[2]).read()
if c1 and not c1.endswith("\n"): c1 = c1[: c1.rfind("\n") + 1]     # a line cut by the kill
c1 = c1.splitlines(); c2 = open(sys.argv[3]).read().splitlines()
def key(l):
    r = json.loads(l)
    lab = tuple(r["labels"].items())
    if "series" in r: return ("D", r["series"], lab, r["ts"], r.get("detector"), r.get("kind"))
    return ("M", r["name"], lab, r["window_end"], r["count"])
fk = {key(l): l for l in full}
if len(fk) != len(full): print("duplicate keys in the uninterrupted output"); sys.exit(1)
seen, bad = {}, 0
for l in c1 + c2:
    k = key(l)
    if k not in fk: bad += 1; print("unexpected", l[:160]); continue
    if l != fk[k]: bad += 1; print("differs:", l[:160], "\n   want:", fk[k][:160]); continue
    seen[k] = 1
missing = [k for k in fk if k not in seen]
for k in missing[:5]: print("missing", k)
print(f"{len(full)} records; first run {len(c1)}, restart {len(c2)}, re-emitted {len(c1) + len(c2) - len(seen)}, missing {len(missing)}, bad {bad}")
sys.exit(1 if bad or missing or not c1 or not c2 else 0)
EOF2
}

# file input
check "uninterrupted run" "$BIN/drift" --in "$T/in.rec" "${ARGS[@]}" --state "$T/full.db" --format json \
  --out "$T/full.json" 2>"$T/full.err"
grep -q '"drifts":[1-9]' "$T/full.err" || fail "no drift found at all: $(tail -1 "$T/full.err")"
"$BIN/drift" --in "$T/in.rec" "${ARGS[@]}" --state "$T/crash.db" --checkpoint-interval 0 --crash-after 13000 \
  --format json --out "$T/c1.json" 2>"$T/c1.err"
expect_eq "first run killed by SIGKILL" "$?" 137
check "restart" "$BIN/drift" --in "$T/in.rec" "${ARGS[@]}" --state "$T/crash.db" --format json \
  --out "$T/c2.json" 2>"$T/c2.err"
grep -q '"msg":"resumed from' "$T/c2.err" || fail "restart did not resume from the checkpoint"
# the checkpoint lies at or before the crash (10,000 records by count; a loaded
# machine may also save earlier by time), and the restart skips what it covers
skipped=$(grep -o '"msg":"skipping the [0-9]* input records' "$T/c2.err" | grep -o '[0-9][0-9]*' | head -n1)
{ [ -n "$skipped" ] && [ "$skipped" -gt 0 ] && [ "$skipped" -le 13000 ]; } ||
  fail "restart did not skip the covered records (skipped '${skipped:-none}'): $(head -3 "$T/c2.err")"
compare "$T/full.json" "$T/c1.json" "$T/c2.json" || fail "file input: crash + restart differs from the uninterrupted run"
# both state files end the same (the blob holds every detector's state)
expect_eq "saved state after crash + restart" "$(sqlite3 "$T/crash.db" "SELECT hex(data) FROM streamrec_blobs" 2>/dev/null | md5sum)" \
  "$(sqlite3 "$T/full.db" "SELECT hex(data) FROM streamrec_blobs" 2>/dev/null | md5sum)"

# other settings on the same state: a usage error (exit 2), not a silent mix
"$BIN/drift" --in /dev/null --window 30 --state "$T/full.db" > /dev/null 2>"$T/s.err"
expect_eq "restart with other settings exit" "$?" 2
grep -q 'saved with other settings' "$T/s.err" || fail "settings message: $(cat "$T/s.err")"

# Kafka input
start_kafka metrics:1
"$BIN/fbcat" --encode Metric --out "kafka://$KAFKA/metrics" < "$T/in.json" || die "produce to kafka"
src() { echo "kafka://$KAFKA/metrics?group=$1&eof=1"; }
X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
check "kafka uninterrupted run" "$BIN/drift" --in "$(src full)" "${X[@]}" "${ARGS[@]}" --state "$T/kfull.db" \
  --format json --out "$T/kfull.json" 2>"$T/kfull.err"
"$BIN/drift" --in "$(src crash)" "${X[@]}" "${ARGS[@]}" --state "$T/kcrash.db" --checkpoint-interval 0 \
  --crash-after 13000 --format json --out "$T/k1.json" 2>"$T/k1.err"
expect_eq "kafka first run killed by SIGKILL" "$?" 137
sleep 7     # the dead member's session expires, so the restart gets the partition
check "kafka restart" "$BIN/drift" --in "$(src crash)" "${X[@]}" "${ARGS[@]}" --state "$T/kcrash.db" \
  --format json --out "$T/k2.json" 2>"$T/k2.err"
compare "$T/kfull.json" "$T/k1.json" "$T/k2.json" || fail "kafka input: crash + restart differs from the uninterrupted run"
cmp -s "$T/kfull.json" "$T/full.json" || fail "kafka and file input give different output"
expect_eq "saved offset is the end of the topic" \
  "$(sqlite3 "$T/kcrash.db" "SELECT next FROM streamrec_offsets WHERE topic='metrics'")" "$nrec"
finish
