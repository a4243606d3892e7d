#!/usr/bin/env bash
# kafka-drift-changelog — two drift instances with --changelog in one group
# on a 4-partition topic, with series whose partitions move while they are
# read: every series runs through all three phases; B joins after phase 1
# (the series of its partitions were built by A), is killed -9 in the
# middle of phase 2 (A takes them back from B's last checkpoint), restarts
# for phase 3 (with nothing of its own), then both stop on SIGTERM at once.
# What the instances wrote, put together, equals a file run's line for line
# (lines written again after the kill are identical: compared as sets), and
# partitions moved with their series.
# With DRIFT_WITHOUT_CHANGELOG=1 the same run uses --state instead (each
# instance its own, the way to scale out before --changelog): it fails, the
# series that moved start again on their new owner.
source "$(dirname "$0")/../lib.sh"
PY=python3; /usr/bin/python3 -c 'import json' 2>/dev/null && PY=/usr/bin/python3
start_kafka metrics:4 drift-state:4
X=(-X session.timeout.ms=4000 -X heartbeat.interval.ms=300 -X topic.metadata.refresh.interval.ms=1000)
ARGS=(--window 40 --every 5 --warmup 20 --horizons 15m --format json)

# 24 series of 300 points, 100 a phase, each with a step in phase 2 so
# that every detector has something to find after the moves
$PY - "$T" <<'EOF2'
import json, random, sys
r = random.Random(5)
f = [open("%s/p%d.json" % (sys.argv[1], p), "w") for p in (1, 2, 3)]
for i in range(300):
    for s in range(24):
        v = r.gauss(10 + s, 1) + (4 if i >= 130 + 2 * s else 0)
        f[i // 100].write(json.dumps({"name": "cpu_usage", "labels": [{"key": "host", "value": "h%d" % s}],
                                      "window_start": i * 60000000, "window_end": (i + 1) * 60000000,
                                      "count": 10, "mean": v, "value": v}) + "\n")
EOF2
cat "$T"/p[1-3].json | "$BIN/fbcat" --encode Metric >"$T/all.rec" || die "encode"
N=$(cat "$T"/p[1-3].json | wc -l)
sent=0
produce() {
  "$BIN/fbcat" --encode Metric --out "kafka://$KAFKA/metrics" <"$T/p$1.json" 2>>"$T/prod.err" || die "produce phase $1"
  sent=$((sent + $(wc -l <"$T/p$1.json")))
}
start() {   # start NAME STATE [FLAGS]: one instance in group g; pid in PID
  local name=$1 st=$2; shift 2
  local keep=(--changelog "kafka://$KAFKA/drift-state")
  [ -n "${DRIFT_WITHOUT_CHANGELOG:-}" ] && keep=(--state "$T/$st.db")
  "$BIN/drift" --in "kafka://$KAFKA/metrics?group=g" "${X[@]}" "${ARGS[@]}" "${keep[@]}" \
    --checkpoint-interval 300ms "$@" --out "$T/$name.json" 2>"$T/$name.err" &
  PID=$!
  at_exit "kill -9 $PID"
}
# how far the group's checkpoints cover the input: per partition the
# offset of the newest marker in the changelog, summed (with --state: the
# furthest offset saved in a.db or b.db)
covered() {
  if [ -n "${DRIFT_WITHOUT_CHANGELOG:-}" ]; then
    { sqlite3 "$T/a.db" 'SELECT partition, next FROM streamrec_offsets' 2>/dev/null
      sqlite3 "$T/b.db" 'SELECT partition, next FROM streamrec_offsets' 2>/dev/null; } |
      awk -F'|' '$2 > m[$1] {m[$1] = $2} END {for (p in m) s += m[p]; print s + 0}'
    return
  fi
  timeout 20 kcat -C -b "$KAFKA" -t drift-state -e -q -f '%p %K %S\n%k%s\n' 2>/dev/null | $PY -c '
import struct, sys
d, i, last = sys.stdin.buffer.read(), 0, {}
while i < len(d):
    j = d.index(b"\n", i)
    p, k, s = d[i:j].split()
    k, s, i = int(k), int(s), j + 1
    if d[i:i + k] == b"\0streamrec.checkpoint": last[p] = struct.unpack("<q", d[i + k + 2:i + k + 10])[0]
    i += k + s + 1
print(sum(last.values()))'
}
assigned() { cat "$T/$1.err" 2>/dev/null | grep -c '"kafka partition assigned"'; }   # 0 before the file exists

produce 1
start a a; A=$PID
wait_until 60 '[ "$(covered)" -eq "$sent" ]' || fail "A did not checkpoint phase 1 ($(covered) of $sent)"
# B takes over half the partitions, with series A built, and dies in the
# middle of phase 2: its work since its last checkpoint is A's to redo
start b b --crash-after 300; B=$PID
wait_until 60 '[ "$(assigned b)" -ge 1 ] && [ "$(assigned a)" -gt 4 ]' || fail "B did not join"
produce 2
wait $B 2>/dev/null; expect_eq "B killed itself (-9) in phase 2" $? 137
wait_until 60 '[ "$(covered)" -eq "$sent" ]' || fail "A did not checkpoint phase 2 ($(covered) of $sent)"
before=$(assigned a)
start b2 b; B=$PID
wait_until 60 '[ "$(assigned b2)" -ge 1 ] && [ "$(assigned a)" -gt "$before" ]' || fail "B did not rejoin"
produce 3
wait_until 60 '[ "$(covered)" -eq "$sent" ]' || fail "A and B did not checkpoint phase 3 ($(covered) of $sent)"
kill -TERM $A $B
wait $A; expect_eq "A: exit after SIGTERM together" $? 0
wait $B; expect_eq "B: exit after SIGTERM together" $? 0

expect_eq "the topic holds every record" \
  "$(timeout 60 kcat -C -b "$KAFKA" -t metrics -e -q -f '%p\n' 2>/dev/null | wc -l)" "$N"
if [ -z "${DRIFT_WITHOUT_CHANGELOG:-}" ]; then
  # the mock keeps ~5 MiB a partition and drops older records silently
  for p in 0 1 2 3; do
    expect_eq "changelog partition $p: first offset" \
      "$(kcat -Q -b "$KAFKA" -t "drift-state:$p:-2" 2>/dev/null | awk '{print $NF}')" 0
  done
  moved=$(cat "$T"/a.err "$T"/b.err "$T"/b2.err | grep -c '"partition restored from the changelog".*"series_applied":[1-9]')
  kept=$(cat "$T"/a.err "$T"/b.err "$T"/b2.err | grep -c '"partition kept')
  echo "drift changelog group: $moved partitions restored with series, $kept handed back and kept" >&2
  check "partitions moved with their series ($moved)" [ "$moved" -ge 4 ]
fi
check "file run" "$BIN/drift" --in "$T/all.rec" "${ARGS[@]}" --out "$T/file.json" 2>"$T/file.err"
grep -q '"drifts":[1-9]' "$T/file.err" || fail "no drift found at all: $(tail -1 "$T/file.err")"
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
print("drift changelog group: file run %d lines; A %d, B %d, B again %d; %d written twice, %d extra, %d missing"
      % (len(want), *map(len, runs), len(got) - len(g), len(g - w), len(w - g)), file=sys.stderr)
for l in sorted(g - w)[:3]: print("extra:", l[:220], file=sys.stderr)
for l in sorted(w - g)[:3]: print("missing:", l[:220], file=sys.stderr)
sys.exit(1 if g != w or len(w) != len(want) else 0)
EOF2
check "B wrote some after its restart" [ -s "$T/b2.json" ]
finish
