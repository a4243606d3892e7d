#!/usr/bin/env bash
# aggregate: kill -9 in the middle of a Kafka input, restart with the same
# --state: the union of what both runs emitted equals the output of an
# uninterrupted run (windows emitted between the last checkpoint and the
# crash come out again, identical), and the feature store ends identical:
# no event lost, none counted twice.
. "$(dirname "$0")/../lib.sh"

start_kafka events:1
"$GEN_EVENTS" --count 20000 --kind interactions --seed 31 --rate 100 --users 400 --items 100 \
  | "$BIN/ingest" 2>/dev/null | "$BIN/fbcat" --type Event > "$T/events.json" || die "prepare events"
"$BIN/fbcat" --encode Event --out "kafka://$KAFKA/events" < "$T/events.json" || die "produce to kafka"
nev=$(wc -l < "$T/events.json")

src() { echo "kafka://$KAFKA/events?group=$1&eof=1"; }
X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
check "uninterrupted run" "$BIN/aggregate" --in "$(src full)" "${X[@]}" --window 60s --state "$T/full.db" \
  --format json > "$T/full.json" 2>"$T/full.err"
grep -q "\"events\":$nev," "$T/full.err" || fail "uninterrupted run did not read every event: $(tail -1 "$T/full.err")"

"$BIN/aggregate" --in "$(src crash)" "${X[@]}" --window 60s --state "$T/crash.db" --checkpoint-interval 0 \
  --crash-after 13000 --format json > "$T/c1.json" 2>"$T/c1.err"
rc=$?
expect_eq "first run killed by SIGKILL" "$rc" 137
# the restarted member must get the partition: the dead one's session expires first
sleep 7
check "restart" "$BIN/aggregate" --in "$(src crash)" "${X[@]}" --window 60s --state "$T/crash.db" \
  --format json > "$T/c2.json" 2>"$T/c2.err"
grep -q '"msg":"resumed from' "$T/c2.err" || fail "restart did not resume from the checkpoint"

python3 - "$T/full.json" "$T/c1.json" "$T/c2.json" <<'PY' || fail "crash + restart output differs from the uninterrupted run"
import json, sys
full = open(sys.argv[1]).read().splitlines()
c1 = open(sys.argv[2]).read()
if c1 and not c1.endswith("\n"): c1 = c1[: c1.rfind("\n") + 1]     # a line cut by the kill
c1 = c1.splitlines(); c2 = open(sys.argv[3]).read().splitlines()
def key(l):
    r = json.loads(l)
    return (r["name"], tuple(r["labels"].items()), r["window_start"])
fk = {key(l): l for l in full}
if len(fk) != len(full): print("duplicate series in the uninterrupted output"); sys.exit(1)
seen = {}
bad = 0
for l in c1 + c2:
    k = key(l)
    if k not in fk: bad += 1; print("unexpected", l[:150]); continue
    if l != fk[k]: bad += 1; print("differs:", l[:150], "\n   want:", fk[k][:150]); continue
    seen[k] = 1
missing = [k for k in fk if k not in seen]
for k in missing[:5]: print("missing", k)
dups = len(c1) + len(c2) - len(seen)
print(f"{len(full)} records; first run {len(c1)}, restart {len(c2)}, re-emitted {dups}, missing {len(missing)}, bad {bad}")
sys.exit(1 if bad or missing or len(c1) == 0 or len(c2) == 0 else 0)
PY

q='SELECT * FROM user_features ORDER BY 1'
expect_eq "user features after crash + restart" "$(sqlite3 "$T/crash.db" "$q" | md5sum)" "$(sqlite3 "$T/full.db" "$q" | md5sum)"
q='SELECT * FROM item_features ORDER BY 1'
expect_eq "item features after crash + restart" "$(sqlite3 "$T/crash.db" "$q" | md5sum)" "$(sqlite3 "$T/full.db" "$q" | md5sum)"
expect_eq "saved offset is the end of the topic" \
  "$(sqlite3 "$T/crash.db" "SELECT next FROM streamrec_offsets WHERE topic='events'")" "$nev"
finish
