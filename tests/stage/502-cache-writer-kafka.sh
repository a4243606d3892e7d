#!/usr/bin/env bash
# cache-writer with Kafka input: offsets are committed only after Redis
# acknowledged the writes. Mid-stream, redis-server is killed (cache-writer
# then holds unacknowledged writes and stops reading), then cache-writer is
# killed with -9 as well. Redis comes back with what it acknowledged (AOF,
# fsync always); a second cache-writer in the same group resumes from the
# committed offsets. Afterwards every user holds its newest list, and the
# second run did not start from the beginning (offsets had been committed).
source "$(dirname "$0")/../lib.sh"
export PYTHONPATH=$ROOT/tests/tools
REDIS_ARGS="--appendonly yes --appendfsync always"
start_kafka recs:2
start_redis
X=(-X session.timeout.ms=6000 -X topic.metadata.refresh.interval.ms=1000)
N=30000   # users; two versions each, the newer right after the older

python3 "$ROOT/tests/tools/recs_versions.py" gen "$N" >"$T/in.jsonl"
"$BIN/fbcat" --encode Recommendation <"$T/in.jsonl" >"$T/in.rec" || die "encode"
"$BIN/fbcat" --records --out "kafka://$KAFKA/recs" "${X[@]}" <"$T/in.rec" 2>"$T/prod.err" || die "produce: $(cat "$T/prod.err")"

"$BIN/cache-writer" --redis "$REDIS_URI" --in "kafka://$KAFKA/recs?group=cw" "${X[@]}" 2>"$T/cw1.log" &
cw=$!
at_exit "kill -9 $cw"
# let it write a good part (past its first offset commit), then pull Redis away
for i in $(seq 600); do
  n=$(redis-cli -p "$REDIS_PORT" dbsize 2>/dev/null || echo 0)
  [ "${n:-0}" -ge $((N / 2)) ] && break
  sleep 0.05
done
kill -9 "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
check "cache-writer still running when Redis went away" kill -0 "$cw"
for i in $(seq 100); do grep -q 'redis unreachable' "$T/cw1.log" && break; sleep 0.05; done
check "it noticed and is retrying" grep -q 'redis unreachable' "$T/cw1.log"
kill -9 "$cw"; wait "$cw" 2>/dev/null

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T/redis" --save '' $REDIS_ARGS \
  --daemonize no --logfile "$T/redis/log" &
REDIS_PID=$!; at_exit "kill $REDIS_PID; wait $REDIS_PID"
for i in $(seq 200); do [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done   # PONG: done loading the AOF
before=$(redis-cli -p "$REDIS_PORT" dbsize)
check "Redis kept a partial state ($before keys)" test "$before" -gt 0 -a "$before" -lt "$N"

timeout 60 "$BIN/cache-writer" --redis "$REDIS_URI" --in "kafka://$KAFKA/recs?group=cw&eof=1" "${X[@]}" 2>"$T/cw2.log"
expect_eq "second cache-writer exit" "$?" 0
second=$(jq -r 'select(.msg=="done") | .records' "$T/cw2.log")
check "second run resumed from committed offsets (read $second of $((2 * N)))" test "${second:-0}" -gt 0 -a "${second:-0}" -lt $((2 * N))
python3 "$ROOT/tests/tools/recs_versions.py" check "$REDIS_PORT" "$N" || fail "every user holds its newest list"
finish
