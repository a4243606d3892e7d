#!/usr/bin/env bash
# 640-recommender-changelog — a partition's user histories handed from one
# instance to the next through --changelog (README "Scale-out"), the
# restore path alone: A reads phase 1 of a 2-partition topic and stops; B,
# a new process with an empty --state, reads phase 2; A comes back on its
# own --state (saved at the end of phase 1, stale since B read on) and
# reads phase 3. Each phase's lists (--flush-interval 0: one per event)
# equal, list for list, those of one process reading all three phases from
# a file: B starts from A's histories, A from B's, not from its stale file.
# Between B and A, a checkpoint cut short (a user's record with no marker
# after it) is left out. Control: phase 2 without phase 1's histories (what
# B got before --changelog) gives other lists, so the comparison can tell.
source "$(dirname "$0")/../lib.sh"
start_kafka events:2 hist:2

# two clusters of 20 items; 40 users each in one cluster; training data,
# then three phases of 3 clicks per user, later than the training
python3 - "$T" <<'PY'
import json, random, sys
t = sys.argv[1]
r = random.Random(640)
A = ["a%d" % i for i in range(20)]; B = ["b%d" % i for i in range(20)]
ts = 1795000000 * 10**6
def ev(u, i):
    global ts
    ts += 1000
    return json.dumps({"event_id": "e%d" % ts, "ts": ts, "user_id": u, "item_id": i, "type": "click"}) + "\n"
with open(t + "/train.jsonl", "w") as f:
    for u in range(40):
        for i in r.sample(A if u % 2 == 0 else B, 6): f.write(ev("u%d" % u, i))
for p in (1, 2, 3):
    with open("%s/p%d.jsonl" % (t, p), "w") as f:
        for k in range(3):
            for u in range(40):
                # a few users wander into the other cluster: their lists move
                pool = A if (u % 2 == 0) != (u % 7 == 0 and p > 1) else B
                f.write(ev("u%d" % u, r.choice(pool)))
PY
"$BIN/fbcat" --encode Event <"$T/train.jsonl" >"$T/train.rec" || die "encode"
"$BIN/recommender" train --in "$T/train.rec" --model "$T/m.db" --log-level warn 2>"$T/train.err" || { cat "$T/train.err" >&2; die "train"; }
cat "$T"/p1.jsonl "$T"/p2.jsonl "$T"/p3.jsonl | "$BIN/fbcat" --encode Event >"$T/all.rec" || die "encode"
ARGS=(--model "$T/m.db" --flush-interval 0 --top 5 --format json --log-level info)
X=(-X session.timeout.ms=4000 -X heartbeat.interval.ms=300)
"$BIN/recommender" "${ARGS[@]}" --in "$T/all.rec" >"$T/file.json" 2>"$T/file.err" || { cat "$T/file.err" >&2; die "file run"; }
n=$(wc -l <"$T/p1.jsonl")
expect_eq "file run: one list per event" "$(wc -l <"$T/file.json")" $((3 * n))
lists() { sed 's/,"algorithm".*//' | LC_ALL=C sort; }
want() { sed -n "$(( ($1 - 1) * n + 1 )),$(( $1 * n ))p" "$T/file.json" | lists; }

produce() { "$BIN/fbcat" --encode Event --out "kafka://$KAFKA/events" <"$T/p$1.jsonl" 2>>"$T/prod.err" || die "produce $1"; }
# run NAME STATE [FLAGS]: one instance in group g until every partition is read
run() {
  local name=$1 st=$2; shift 2
  timeout 120 "$BIN/recommender" "${ARGS[@]}" --in "kafka://$KAFKA/events?group=g&eof=1" "${X[@]}" --state "$T/$st.db" \
    "$@" >"$T/$name.json" 2>"$T/$name.err" || { cat "$T/$name.err" >&2; fail "$name: exit $?"; }
}
CL=(--changelog "kafka://$KAFKA/hist")

produce 1
run a a "${CL[@]}"
expect_eq "A (phase 1): lists as the file run's" "$(lists <"$T/a.json")" "$(want 1)"
produce 2
run b b "${CL[@]}"
grep -q '"partition restored from the changelog"' "$T/b.err" || fail "B restored nothing"
expect_eq "B (phase 2, A's histories): lists as the file run's" "$(lists <"$T/b.json")" "$(want 2)"
# a checkpoint cut short (a kill -9 between a user's record and the
# marker): a record for u0 after the last marker, with an item of the other
# cluster at weight 50. The next owner leaves it out (u0's lists would
# move to that cluster otherwise)
part=$(sqlite3 "$T/b.db" "SELECT part FROM rec_history WHERE user_id = 'u0'")
python3 -c '
import struct, sys
v = struct.pack("<BBqq", 1, 1, -1, -2**63) + struct.pack("<BII", 3, 1, 2) + b"b3" + \
    struct.pack("<fqH", 50.0, 1795000000123456, 4) + struct.pack("<II", 1, 2) + b"b3\0"
assert b"\n" not in v and b"\t" not in v
sys.stdout.buffer.write(b"u0\t" + v + b"\n")' | kcat -P -b "$KAFKA" -t hist -p "$part" -K '\t' 2>>"$T/prod.err" ||
  die "produce the cut-short record"
produce 3
run a2 a "${CL[@]}"
expect_eq "A again: the record after the last marker left out" \
  "$(grep -c "\"partition restored from the changelog\",\"partition\":$part,.*\"left_out\":1," "$T/a2.err")" 1
expect_eq "A again (phase 3, B's histories, not its stale --state): lists as the file run's" \
  "$(lists <"$T/a2.json")" "$(want 3)"
expect_eq "A again: both partitions restored from the changelog" \
  "$(grep -c '"partition restored from the changelog"' "$T/a2.err")" 2

# control: phase 2 alone, histories only from the model (no changelog)
"$BIN/fbcat" --encode Event <"$T/p2.jsonl" >"$T/p2.rec" || die "encode"
"$BIN/recommender" "${ARGS[@]}" --in "$T/p2.rec" >"$T/ctl.json" 2>"$T/ctl.err" || die "control"
differ=$(comm -3 <(lists <"$T/ctl.json") <(want 2) | wc -l)
echo "640: $n events a phase; without the histories of phase 1, $differ list lines differ in phase 2" >&2
check "the control differs (the comparison can fail)" [ "$differ" -gt 0 ]

# the state holds each user once, tagged with their partition
expect_eq "A's --state: users by partition" \
  "$(sqlite3 "$T/a.db" 'SELECT count(*), count(DISTINCT part), min(part), max(part) FROM rec_history')" "40|2|0|1"
finish
