#!/usr/bin/env bash
# 530-cache-writer-readonly — cache-writer pointed at a read-only replica
# (`redis-server --replicaof`, or a master demoted by a failover) writes
# nothing and must not pretend otherwise: whatever the layout, it stops
# with exit 1 (a Kafka input's offsets stay uncommitted, systemd restarts
# it), one error names the cause (a replica: point --redis at the master),
# and no record is dead-lettered, since no record was wrong. Before, with
# --layout zset or fb every record was dead-lettered as redis_error with a
# READONLY warning of its own and the stage exited 0 having written
# nothing; with json the error blamed the Redis user's permissions.
source "$(dirname "$0")/../lib.sh"
start_redis
REPLICA_PORT=$(free_port)
mkdir -p "$T/replica"
redis-server --port "$REPLICA_PORT" --bind 127.0.0.1 --dir "$T/replica" --save '' --appendonly no \
  --daemonize no --logfile "$T/replica/log" --replicaof 127.0.0.1 "$REDIS_PORT" &
REPLICA_PID=$!
at_exit "kill $REPLICA_PID; wait $REPLICA_PID"
wait_until 120 '[ "$(redis-cli -p $REPLICA_PORT info replication 2>/dev/null | tr -d "\r" | sed -n "s/^master_link_status://p")" = up ]' \
  || die "the replica did not sync with its master"

python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
recs = [{"user_id": "u%d" % u, "items": [{"item_id": "b%d" % i, "score": 1.0 / (i + 1)} for i in range(3)],
         "algorithm": "pop", "model_version": "v1", "ts": 1795000000000000 + u} for u in range(3)]
open(t + "/recs.jsonl", "w").write("".join(json.dumps(r) + "\n" for r in recs))
W = 60 * 10**6
mets = [{"name": "events", "labels": [{"key": "event_type", "value": "click"}], "window_start": 1795000000000000 + w * W,
         "window_end": 1795000000000000 + (w + 1) * W, "count": 10 + w} for w in range(3)]
open(t + "/mets.jsonl", "w").write("".join(json.dumps(m) + "\n" for m in mets))
PY
"$BIN/fbcat" --encode Recommendation < "$T/recs.jsonl" > "$T/recs.rec" || die "encode recs"
"$BIN/fbcat" --encode Metric < "$T/mets.jsonl" > "$T/mets.rec" || die "encode metrics"

for input in recs mets; do
  for layout in json zset fb; do
    [ "$input" = mets ] && [ "$layout" != json ] && continue   # the layout is rec:USER's only
    c="$input/$layout"
    "$BIN/cache-writer" --redis "redis://127.0.0.1:$REPLICA_PORT" --layout "$layout" --in "$T/$input.rec" \
      --dead-letter "$T/dl.$input.$layout" 2>"$T/err.$input.$layout"
    expect_eq "$c: exit status against a replica" "$?" 1
    expect_eq "$c: records dead-lettered" "$(cat "$T/dl.$input.$layout" 2>/dev/null | wc -l)" 0
    expect_eq "$c: log lines naming READONLY" "$(grep -c READONLY "$T/err.$input.$layout")" 1
    grep '"level":"error"' "$T/err.$input.$layout" | grep -q 'read-only replica.*point --redis at the master' \
      || fail "$c: the error does not name the replica: $(grep READONLY "$T/err.$input.$layout" | head -c 400)"
  done
done
expect_eq "nothing reached the master" "$(redis-cli -p "$REDIS_PORT" dbsize)" 0
# the same input against the master: written (the test's input is writable at all)
check "against the master: exit 0" "$BIN/cache-writer" --redis "$REDIS_URI" --layout zset --in "$T/recs.rec" 2>"$T/err.master"
expect_eq "against the master: the lists" "$(redis-cli -p "$REDIS_PORT" zcard rec:u2)" 3
finish
