#!/usr/bin/env bash
# kafka-alerter-changelog — two alerter instances with --changelog (and
# each its own --state, for acks and silences) in one group on a
# 4-partition topic, with alerts pending and firing while their series'
# partitions move: every series runs through all three phases and is hot
# across each phase boundary; B joins after phase 1 (the alerts of its
# partitions were built by A), checkpoints the first half of phase 2, is
# killed -9 in the middle of its second half (A takes them back from B's
# last checkpoint), restarts for phase 3 (with nothing of its own), then
# both stop on SIGTERM at once. What the
# instances wrote, put together, equals a file run's line for line (lines
# written again after the kill are identical: compared as sets).
# The data also checks the tombstones (an alert that fired and resolved in
# phase 1 must not come back on the next owner: it would resolve again)
# and the inhibition index on restore (a warning hidden by its series'
# critical must stay hidden on the next owner).
# With ALERTER_WITHOUT_CHANGELOG=1 the same run goes without --changelog
# (each instance its own --state, the way to scale out before): it fails,
# alerts that moved are raised again or resolved nowhere.
source "$(dirname "$0")/../lib.sh"
PY=python3; /usr/bin/python3 -c 'import json' 2>/dev/null && PY=/usr/bin/python3
start_kafka metrics:4 alerter-state:4
X=(-X session.timeout.ms=4000 -X heartbeat.interval.ms=300 -X topic.metadata.refresh.interval.ms=1000)
cat >"$T/rules.yaml" <<'Y'
rules:
  - { name: cpu_high, metric: cpu_usage, condition: gt, threshold: 80, for: 3m, severity: warning }
  - { name: cpu_critical, metric: cpu_usage, condition: gt, threshold: 95, for: 2m, severity: critical }
Y
ARGS=(--rules "$T/rules.yaml" --format json)

# 24 series of 300 points (one a minute), 100 a phase (p2 and p3 are phase
# 2's halves, p4 phase 3): a short alert that
# fires and resolves inside phase 1; a hot stretch across each phase
# boundary (for every third series critical first: its warning fires
# inhibited, and is delivered only once the critical resolves), but the odd series' not at phase 2's middle: their alerts
# from phase 1 resolve on B, which dies after a checkpoint, so only the
# tombstones keep A from raising them again; series whose value goes up
# only as the phase ends keep a pending alert across it
$PY - "$T" <<'EOF2'
import json, random, sys
r = random.Random(7)
f = [open("%s/p%d.json" % (sys.argv[1], p), "w") for p in (1, 2, 3, 4)]
for i in range(300):
    for s in range(24):
        v = 50
        if 20 + s % 5 <= i < 30 + s % 7: v = 88
        for b in (100, 150, 200):
            if b == 150 and s % 2: continue
            lo = b - 12 + s % 13
            if lo <= i < lo + 20 + s % 6: v = 88
            if s % 3 == 0 and lo <= i < lo + 8: v = 97
        v += r.random()
        f[(0, 1, 2, 3, 3, 3)[i // 50]].write(json.dumps({"name": "cpu_usage", "labels": [{"key": "host", "value": "h%d" % s}],
                                      "window_end": (i + 1) * 60000000, "value": v}) + "\n")
EOF2
cat "$T"/p[1-4].json | "$BIN/fbcat" --encode Metric >"$T/all.rec" || die "encode"
N=$(cat "$T"/p[1-4].json | wc -l)
sent=0
produce() {
  "$BIN/fbcat" --encode Metric --out "kafka://$KAFKA/metrics" <"$T/p$1.json" 2>>"$T/prod.err" || die "produce phase $1"
  sent=$((sent + $(wc -l <"$T/p$1.json")))
}
start() {   # start NAME STATE [FLAGS]: one instance in group g; pid in PID
  local name=$1 st=$2; shift 2
  local keep=(--changelog "kafka://$KAFKA/alerter-state")
  [ -n "${ALERTER_WITHOUT_CHANGELOG:-}" ] && keep=()
  "$BIN/alerter" --in "kafka://$KAFKA/metrics?group=g" "${X[@]}" "${ARGS[@]}" "${keep[@]}" \
    --state "$T/$st.db" "$@" --out "$T/$name.json" 2>"$T/$name.err" &
  PID=$!
  at_exit "kill -9 $PID"
}
# how far the group's checkpoints cover the input: per partition the
# furthest offset saved in a.db or b.db (each sync writes the changelog
# first, then these), summed
covered() {
  { sqlite3 "$T/a.db" 'SELECT partition, next FROM streamrec_offsets' 2>/dev/null
    sqlite3 "$T/b.db" 'SELECT partition, next FROM streamrec_offsets' 2>/dev/null; } |
    awk -F'|' '$2 > m[$1] {m[$1] = $2} END {for (p in m) s += m[p]; print s + 0}'
}
assigned() { cat "$T/$1.err" 2>/dev/null | grep -c '"kafka partition assigned"'; }   # 0 before the file exists

produce 1
start a a; A=$PID
wait_until 60 '[ "$(covered)" -eq "$sent" ]' || fail "A did not checkpoint phase 1 ($(covered) of $sent)"
# B takes over half the partitions, with alerts A built, checkpoints the
# first half of phase 2 (about 600 records of B's) and dies in the middle
# of the second: its work since its last checkpoint is A's to redo
start b b --crash-after 900; B=$PID
wait_until 60 '[ "$(assigned b)" -ge 1 ] && [ "$(assigned a)" -gt 4 ]' || fail "B did not join"
produce 2
wait_until 60 '[ "$(covered)" -eq "$sent" ]' || fail "A and B did not checkpoint phase 2's first half ($(covered) of $sent)"
check "B wrote alerts in phase 2's first half" [ -s "$T/b.json" ]
produce 3
wait $B 2>/dev/null; expect_eq "B killed itself (-9) in phase 2" $? 137
wait_until 60 '[ "$(covered)" -eq "$sent" ]' || fail "A did not checkpoint phase 2 ($(covered) of $sent)"
before=$(assigned a)
start b2 b; B=$PID
wait_until 60 '[ "$(assigned b2)" -ge 1 ] && [ "$(assigned a)" -gt "$before" ]' || fail "B did not rejoin"
produce 4
wait_until 60 '[ "$(covered)" -eq "$sent" ]' || fail "A and B did not checkpoint phase 3 ($(covered) of $sent)"
kill -TERM $A $B
wait $A; expect_eq "A: exit after SIGTERM together" $? 0
wait $B; expect_eq "B: exit after SIGTERM together" $? 0

expect_eq "the topic holds every record" \
  "$(timeout 60 kcat -C -b "$KAFKA" -t metrics -e -q -f '%p\n' 2>/dev/null | wc -l)" "$N"
if [ -z "${ALERTER_WITHOUT_CHANGELOG:-}" ]; then
  moved=$(cat "$T"/a.err "$T"/b.err "$T"/b2.err | grep -c '"partition restored from the changelog".*"alerts_applied":[1-9]')
  tomb=$(cat "$T"/a.err "$T"/b.err "$T"/b2.err | grep -c '"partition restored from the changelog".*"tombstones":[1-9]')
  kept=$(cat "$T"/a.err "$T"/b.err "$T"/b2.err | grep -c '"partition kept')
  echo "alerter changelog group: $moved partitions restored with alerts, $tomb with tombstones, $kept handed back and kept" >&2
  check "partitions moved with their alerts ($moved)" [ "$moved" -ge 4 ]
  check "restores read tombstones ($tomb)" [ "$tomb" -ge 1 ]
fi
check "file run" "$BIN/alerter" --in "$T/all.rec" "${ARGS[@]}" --out "$T/file.json" 2>"$T/file.err"
$PY - "$T/file.json" "$T/a.json" "$T/b.json" "$T/b2.json" <<'EOF2' || fail "the group's lines differ from the file run's"
import sys
want = open(sys.argv[1]).read().splitlines()
runs = []
for p in sys.argv[2:]:
    t = open(p).read()
    if t and not t.endswith("\n"): t = t[: t.rfind("\n") + 1]     # a line cut by the kill
    runs.append(t.splitlines())
got = sum(runs, [])
w, g = set(want), set(got)
st = lambda ls: "%d firing, %d resolved" % (sum('"status":"firing"' in l for l in ls), sum('"status":"resolved"' in l for l in ls))
print("alerter changelog group: file run %d lines (%s); A %d, B %d, B again %d; %d written twice, %d extra, %d missing"
      % (len(want), st(want), *map(len, runs), len(got) - len(g), len(g - w), len(w - g)), file=sys.stderr)
for l in sorted(g - w)[:3]: print("extra:", l[:240], file=sys.stderr)
for l in sorted(w - g)[:3]: print("missing:", l[:240], file=sys.stderr)
sys.exit(1 if g != w or len(w) != len(want) else 0)
EOF2
check "B wrote some after its restart" [ -s "$T/b2.json" ]
finish
