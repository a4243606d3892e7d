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
start() {   # start NAME STATE (group-phases.bash)
  "$BIN/alerter" --in "kafka://$KAFKA/metrics?group=g" "${X[@]}" "${ARGS[@]}" \
    --state "$T/$2.db" --out "$T/$1.json" 2>"$T/$1.err" &
  PID=$!
  at_exit "kill -9 $PID"
}
source "$(dirname "$0")/group-phases.bash"
group_phases
check "file run" "$BIN/alerter" --in "$T/all.rec" "${ARGS[@]}" --out "$T/file.json" 2>"$T/file.err"
group_compare alerter
finish
