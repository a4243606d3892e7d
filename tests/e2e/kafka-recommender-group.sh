#!/usr/bin/env bash
# kafka-recommender-group — two recommender instances with --state and
# --changelog in one group on a 4-partition topic (events keyed by user),
# through a join while the first reads, a kill -9 of the second while both
# read, its restart on its own (stale) --state, and a SIGTERM of each: the
# lists they wrote (--flush-interval 0: one per event), put together, equal
# those of one process reading the same events from a file, list for list —
# every user's lists as if their history never moved (README "Scale-out"):
# the same items in the same order with the same scores, bit for bit (a
# user's EASE sum is exact, int32 fixed point: summed again after their
# partition moved, in another order than the one kept up event by event,
# it is the same).
# Duplicates are allowed (at least once: events read again after the kill
# give the same lists again); a list the file run did not write, or one it
# wrote that the group did not, fails.
#
# The model is trained on the bundled MovieLens sample (users 1-60 but each
# one's last 12 ratings), and those last ratings are streamed in 4 phases,
# so each list depends on everything the user did before it.
source "$(dirname "$0")/../lib.sh"
PY=python3; /usr/bin/python3 -c 'import json' 2>/dev/null && PY=/usr/bin/python3
start_kafka events:4 rec-history:4
X=(-X session.timeout.ms=4000 -X heartbeat.interval.ms=300 -X topic.metadata.refresh.interval.ms=1000)

zstd -dc "$DATA/movielens-latest-small/ratings.csv.zst" | $PY -c '
import json, sys
t = sys.argv[1]
by = {}
next(sys.stdin)
for line in sys.stdin:
    u, m, r, ts = line.strip().split(",")
    if int(u) <= 60: by.setdefault(u, []).append((int(ts), m, float(r)))
ev = lambda u, x: json.dumps({"event_id": "%s-%s" % (u, x[1]), "ts": x[0] * 10**6, "user_id": u,
                              "item_id": x[1], "type": "rating", "value": x[2]}) + "\n"
train = open(t + "/train.jsonl", "w")
phases = [open("%s/p%d.jsonl" % (t, p), "w") for p in range(4)]
for u, rs in sorted(by.items()):
    rs.sort()
    for x in rs[:-12]: train.write(ev(u, x))
    # phases of 3, 5, 2 and 2 ratings a user: the join and the kill come
    # while the longer phases 1 and 2 are being read
    for k, x in enumerate(rs[-12:]): phases[0 if k < 3 else 1 if k < 8 else 2 if k < 10 else 3].write(ev(u, x))
' "$T" || die "split"
"$BIN/fbcat" --encode Event <"$T/train.jsonl" >"$T/train.rec" || die "encode"
"$BIN/recommender" train --in "$T/train.rec" --model "$T/m.db" --log-level warn 2>"$T/train.err" ||
  { cat "$T/train.err" >&2; die "train"; }
cat "$T"/p[0-3].jsonl | "$BIN/fbcat" --encode Event >"$T/all.rec" || die "encode"
N=$(cat "$T"/p[0-3].jsonl | wc -l)
ARGS=(--model "$T/m.db" --flush-interval 0 --top 10 --format json --log-level info)
sent=0
produce() {
  "$BIN/fbcat" --encode Event --out "kafka://$KAFKA/events" <"$T/p$1.jsonl" 2>>"$T/prod.err" || die "produce phase $1"
  sent=$((sent + $(wc -l <"$T/p$1.jsonl")))
}
rec() {   # rec NAME STATE: an instance in group g; pid in $PID
  "$BIN/recommender" "${ARGS[@]}" --in "kafka://$KAFKA/events?group=g" "${X[@]}" --state "$T/$2.db" \
    --changelog "kafka://$KAFKA/rec-history" >"$T/$1.json" 2>"$T/$1.err" &
  PID=$!
  at_exit "kill -9 $PID"
}
# how far the group has read and saved: per partition the furthest of the
# offsets in a.db and b.db and of the starts partitions were assigned at
# (a partition that moved has its offset deleted from its old owner's
# state, and its new owner saves one only once it reads something), summed
saved() {
  { sqlite3 "$T/a.db" 'SELECT partition, next FROM streamrec_offsets' 2>/dev/null
    sqlite3 "$T/b.db" 'SELECT partition, next FROM streamrec_offsets' 2>/dev/null
    cat "$T"/*.err 2>/dev/null | sed -n 's/.*"kafka partition assigned","topic":"events","partition":\([0-9]*\),"start":\([0-9]*\)}.*/\1|\2/p'; } |
    awk -F'|' '$2 > m[$1] {m[$1] = $2} END {for (p in m) s += m[p]; print s + 0}'
}
assigned() { grep -c '"kafka partition assigned"' "$T/$1.err"; }
lines() { cat "$T/$1.json" 2>/dev/null | wc -l; }

produce 0
rec a a; A=$PID
wait_until 90 '[ "$(saved)" -eq "$sent" ]' || fail "A did not read phase 0 ($(saved) of $sent)"
# B joins while A reads phase 1: the group rebalances (seconds) while the
# phase is produced and read
rec b b; B=$PID
produce 1
wait_until 60 '[ "$(assigned b)" -ge 1 ]' || fail "B was given no partition"
wait_until 90 '[ "$(saved)" -eq "$sent" ]' || fail "A and B did not read phase 1 ($(saved) of $sent)"
b_phase1=$(lines b)
produce 2
# B is killed while both read phase 2
wait_until 30 '[ "$(lines b)" -gt "$b_phase1" ]' || fail "B did not start on phase 2"
unread=$((sent - $(saved)))
kill -9 $B; wait $B 2>/dev/null
wait_until 90 '[ "$(saved)" -eq "$sent" ]' || fail "A did not read phase 2 after B died ($(saved) of $sent)"
# B comes back on its own --state, stale since A read on
rec b2 b; B=$PID
wait_until 60 '[ "$(assigned b2)" -ge 1 ]' || fail "B did not rejoin"
produce 3
wait_until 90 '[ "$(saved)" -eq "$sent" ]' || fail "A and B did not read phase 3 ($(saved) of $sent)"
kill -TERM $B; wait $B; expect_eq "B: exit after SIGTERM" $? 0
kill -TERM $A; wait $A; expect_eq "A: exit after SIGTERM" $? 0

expect_eq "the topic holds every event" \
  "$(timeout 60 kcat -C -b "$KAFKA" -t events -e -q -f '%p\n' 2>/dev/null | wc -l)" "$N"
# the mock keeps ~5 MiB a partition and drops older records silently: the
# changelog must still start at offset 0 (nothing lost), and its size is shown
for p in 0 1 2 3; do
  expect_eq "changelog partition $p: first offset" \
    "$(kcat -Q -b "$KAFKA" -t "rec-history:$p:-2" 2>/dev/null | awk '{print $NF}')" 0
done
clbytes=$(timeout 60 kcat -C -b "$KAFKA" -t rec-history -e -q -f '%p %S\n' 2>/dev/null |
          awk '{b[$1] += $2} END {for (p in b) if (b[p] > m) m = b[p]; print m + 0}')
check "file run" "$BIN/recommender" "${ARGS[@]}" --in "$T/all.rec" --out "$T/file.json" 2>"$T/file.err"
expect_eq "file run: one list per event" "$(lines file)" "$N"
# each list as user, items, scores; the same (user, items, scores) bit for
# bit on both sides, as sets (a list read again is no extra one)
cmp_lists() {
  $PY - "$@" <<'EOF2'
import json, sys
def load(paths):
    d = {}
    for p in paths:
        for line in open(p):
            r = json.loads(line)
            key = (r["user_id"], tuple((i["item_id"], i["score"]) for i in r.get("items", [])))
            d[key] = d.get(key, 0) + 1
    return d
want, got = load(sys.argv[1:2]), load(sys.argv[2:])
extra = sum(v for k, v in got.items() if k not in want)
missing = sum(v for k, v in want.items() if k not in got)
exact = sum(v for k, v in got.items() if k in want)
print(extra, missing, exact, sum(got.values()))
EOF2
}
read -r extra missing exact total < <(cmp_lists "$T/file.json" "$T/a.json" "$T/b.json" "$T/b2.json")
restored=$(cat "$T"/b2.err "$T"/a.err "$T"/b.err | grep -c '"partition restored from the changelog".*"users_applied":[1-9]')
echo "recommender group: B read $b_phase1 events of phase 1 (0: it joined after A had read it all); $unread of phase 2 unsaved at the kill; " >&2
echo "recommender group: $N events; A $(lines a), B $(lines b), B again $(lines b2) lists, $exact of $total bit for bit; $restored partitions restored with histories; changelog at most $clbytes bytes a partition" >&2
check "B wrote lists after its restart" [ -s "$T/b2.json" ]
check "partitions moved with histories" [ "$restored" -ge 2 ]
expect_eq "lists the group wrote that the file run did not" "$extra" 0
expect_eq "lists the file run wrote that the group did not" "$missing" 0
finish
