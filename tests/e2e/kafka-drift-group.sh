#!/usr/bin/env bash
# kafka-drift-group — two drift instances with --state in one group on a
# 4-partition topic, through a join, a kill -9, a restart on the killed
# member's (stale) state and a SIGTERM: what the instances wrote, put
# together, equals a file run over the same records, line for line (no
# record missing, none twice, none different).
#
# drift's per-series state stays with the instance that built it (README
# "Scale-out": a series whose partition moves warms up again), so each
# phase brings new series, and membership changes happen while the members
# have saved and committed everything they read (a quiet input saves once
# due): librdkafka's mock broker refuses every commit while a group
# rebalances (see kafka-aggregate-rebalance).
source "$(dirname "$0")/../lib.sh"
PY=python3; /usr/bin/python3 -c 'import json' 2>/dev/null && PY=/usr/bin/python3
start_kafka metrics:4
X=(-X session.timeout.ms=4000 -X heartbeat.interval.ms=300 -X topic.metadata.refresh.interval.ms=1000)
ARGS=(--window 40 --every 5 --warmup 20 --horizons 15m --format json)

# phase p (1-4): 12 new series of 150 points each, with a step half-way so
# every detector has something to find
$PY - "$T" <<'EOF2'
import json, random, sys
r = random.Random(5)
for p in range(1, 5):
    with open("%s/p%d.json" % (sys.argv[1], p), "w") as f:
        for i in range(150):
            for s in range(12):
                v = r.gauss(10 + s, 1) + (4 if i >= 75 + s else 0)
                f.write(json.dumps({"name": "cpu_usage", "labels": [{"key": "host", "value": "p%dh%d" % (p, s)}],
                                    "window_start": i * 60000000, "window_end": (i + 1) * 60000000,
                                    "count": 10, "mean": v, "value": v}) + "\n")
EOF2
start() {   # start NAME STATE (group-phases.bash)
  "$BIN/drift" --in "kafka://$KAFKA/metrics?group=g" "${X[@]}" "${ARGS[@]}" \
    --state "$T/$2.db" --checkpoint-interval 300ms --out "$T/$1.json" 2>"$T/$1.err" &
  PID=$!
  at_exit "kill -9 $PID"
}
source "$(dirname "$0")/group-phases.bash"
group_phases
grep -q '"msg":"resumed from' "$T/b2.err" || fail "the restarted B did not resume from its state"
check "file run" "$BIN/drift" --in "$T/all.rec" "${ARGS[@]}" --out "$T/file.json" 2>"$T/file.err"
grep -q '"drifts":[1-9]' "$T/file.err" || fail "no drift found at all: $(tail -1 "$T/file.err")"
group_compare drift
finish
