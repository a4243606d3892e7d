#!/usr/bin/env bash
# kafka-alerter-group — two alerter instances with --state in one group on a
# 4-partition topic, through a join, a kill -9, a restart on the killed
# member's (stale) state and a SIGTERM: the alerts they wrote (firing and
# resolved), put together, equal a file run's, line for line (none missing,
# none twice, none different).
#
# An alert stays with the instance that holds it (README "State and
# scale-out": a rebalance does not move it), so each phase brings new
# series, each firing and resolving within its phase by its own values,
# and membership changes happen while the members have saved and committed
# everything they read (a quiet input syncs on its tick): librdkafka's mock
# broker refuses every commit while a group rebalances (see
# kafka-aggregate-rebalance).
source "$(dirname "$0")/../lib.sh"
PY=python3; /usr/bin/python3 -c 'import json' 2>/dev/null && PY=/usr/bin/python3
start_kafka metrics:4
X=(-X session.timeout.ms=4000 -X heartbeat.interval.ms=300 -X topic.metadata.refresh.interval.ms=1000)
ARGS=(--rules "$T/rules.yaml" --format json)
cat >"$T/rules.yaml" <<'Y'
rules:
  - { name: cpu, metric: cpu_usage, condition: gt, threshold: 90, for: 3m }
Y

# phase p (1-4): 12 new series of 60 points each, times going on from the
# last phase's; each goes over the threshold for a while (twice for some)
# and comes back, so its alerts fire and resolve by its own values
$PY - "$T" <<'EOF2'
import json, random, sys
r = random.Random(5)
for p in range(1, 5):
    with open("%s/p%d.json" % (sys.argv[1], p), "w") as f:
        for i in range(60):
            for s in range(12):
                hot = 10 + s <= i < 20 + s + 2 * (s % 3) or (s % 2 and 35 <= i < 40 + s % 5)
                v = (95 if hot else 50) + r.random()
                f.write(json.dumps({"name": "cpu_usage", "labels": [{"key": "host", "value": "p%dh%d" % (p, s)}],
                                    "window_end": ((p - 1) * 60 + i + 1) * 60000000, "value": v}) + "\n")
EOF2
cat "$T"/p[1-4].json | "$BIN/fbcat" --encode Metric >"$T/all.rec" || die "encode"
N=$(cat "$T"/p[1-4].json | wc -l)
produce() {   # produce P: phase P's records into the topic (keyed by series)
  "$BIN/fbcat" --encode Metric --out "kafka://$KAFKA/metrics" <"$T/p$1.json" 2>>"$T/prod.err" || die "produce phase $1"
  sent=$((sent + $(wc -l <"$T/p$1.json")))
}
sent=0
al() {   # al NAME STATE: an instance in group g, stderr in $T/NAME.err; pid in $PID
  "$BIN/alerter" --in "kafka://$KAFKA/metrics?group=g" "${X[@]}" "${ARGS[@]}" \
    --state "$T/$2.db" --out "$T/$1.json" 2>"$T/$1.err" &
  PID=$!
  at_exit "kill -9 $PID"
}
# offsets saved in the states: per partition the furthest of a.db and b.db, summed
saved() {
  { sqlite3 "$T/a.db" 'SELECT partition, next FROM streamrec_offsets' 2>/dev/null
    sqlite3 "$T/b.db" 'SELECT partition, next FROM streamrec_offsets' 2>/dev/null; } |
    awk -F'|' '$2 > m[$1] {m[$1] = $2} END {for (p in m) s += m[p]; print s + 0}'
}
assigned() { grep -c '"kafka partition assigned"' "$T/$1.err"; }

produce 1
al a a; A=$PID
wait_until 60 '[ "$(saved)" -eq "$sent" ]' || fail "A did not save phase 1 ($(saved) of $sent)"
al b b; B=$PID
wait_until 60 '[ "$(assigned b)" -ge 1 ] && [ "$(assigned a)" -gt 4 ]' || fail "B did not join"
produce 2
wait_until 60 '[ "$(saved)" -eq "$sent" ]' || fail "A and B did not save phase 2 ($(saved) of $sent)"
check "B read some of phase 2" [ -s "$T/b.json" ]
before=$(assigned a)
kill -9 $B; wait $B 2>/dev/null
wait_until 60 '[ "$(assigned a)" -ge $((before + 4)) ]' || fail "A did not take all four partitions"
produce 3
# A reads on through the partitions B had: B's saved offsets for them go stale
wait_until 60 '[ "$(saved)" -eq "$sent" ]' || fail "A did not save phase 3 ($(saved) of $sent)"
# (its alerts all resolved: what the restart finds in B's state is offsets)
check "B's state holds offsets" [ "$(sqlite3 "$T/b.db" 'SELECT count(*) FROM streamrec_offsets')" -gt 0 ]
before=$(assigned a)
al b2 b; B=$PID
wait_until 60 '[ "$(assigned b2)" -ge 1 ] && [ "$(assigned a)" -gt "$before" ]' || fail "B did not rejoin"
produce 4
wait_until 60 '[ "$(saved)" -eq "$sent" ]' || fail "A and B did not save phase 4 ($(saved) of $sent)"
# one at a time: the mock refuses the commits of a group that rebalances
kill -TERM $B; wait $B; expect_eq "B: exit after SIGTERM" $? 0
kill -TERM $A; wait $A; expect_eq "A: exit after SIGTERM" $? 0

expect_eq "the topic holds every record" \
  "$(timeout 60 kcat -C -b "$KAFKA" -t metrics -e -q -f '%p\n' 2>/dev/null | wc -l)" "$N"
grep -q 'read on by another member: resuming from the committed offset' "$T/b2.err" ||
  fail "the restarted B was given no partition A had read on: the stale-offset case was not exercised"
check "file run" "$BIN/alerter" --in "$T/all.rec" "${ARGS[@]}" --out "$T/file.json" 2>"$T/file.err"
export LC_ALL=C
sort "$T/file.json" >"$T/want"
cat "$T/a.json" "$T/b.json" "$T/b2.json" | sort >"$T/got"
echo "alerter group: $N records, file run $(wc -l <"$T/want") lines; A $(wc -l <"$T/a.json"), B $(wc -l <"$T/b.json"), B again $(wc -l <"$T/b2.json")" >&2
check "B wrote some after its restart" [ -s "$T/b2.json" ]
expect_eq "lines the group wrote that the file run did not" "$(comm -13 "$T/want" "$T/got" | wc -l)" 0
expect_eq "lines the file run wrote that the group did not" "$(comm -23 "$T/want" "$T/got" | wc -l)" 0
finish
