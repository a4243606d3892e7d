#!/usr/bin/env bash
# cache-writer with Kafka input: offsets are committed only after Redis
# acknowledged the writes. Mid-stream, redis-server is killed (cache-writer
# then holds unacknowledged writes and stops reading), then cache-writer is
# killed with -9 as well. Redis comes back with what it acknowledged (AOF,
# fsync always); a second cache-writer in the same group resumes from the
# committed offsets. Afterwards every user holds its newest list, and the
# second run did not start from the beginning (offsets had been committed).
# Waits are bounded by progress, not time: a run is stopped only when Redis
# has run no command of it for STALL seconds (with fsync always and the
# machine loaded, a healthy run may take minutes).
source "$(dirname "$0")/../lib.sh"
export PYTHONPATH=$ROOT/tests/tools
REDIS_ARGS="--appendonly yes --appendfsync always"
start_kafka recs:2
start_redis
X=(-X session.timeout.ms=6000 -X topic.metadata.refresh.interval.ms=1000)
N=30000   # users; two versions each, the newer right after the older
STALL=30

# the commands Redis has run for its clients, the probes below left out
redis_cmds() {
  redis-cli -p "$REDIS_PORT" INFO commandstats 2>/dev/null |
    awk -F'[:=,]' '/^cmdstat_/ && $1 !~ /^cmdstat_(info|dbsize|ping)$/ { n += $3 } END { print n + 0 }'
}
# wait_progressing PID PROBE: the exit status of PID; it is killed (status
# 124) if PROBE's output stays the same for STALL seconds while it runs
wait_progressing() {
  local pid=$1 last= now since=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    now=$(eval "$2")
    if [ "$now" != "$last" ]; then last=$now since=$SECONDS
    elif [ $((SECONDS - since)) -ge $STALL ]; then kill -9 "$pid"; wait "$pid"; return 124; fi
    sleep 0.2
  done
  wait "$pid"
}

python3 "$ROOT/tests/tools/recs_versions.py" gen "$N" >"$T/in.jsonl"
"$BIN/fbcat" --encode Recommendation <"$T/in.jsonl" >"$T/in.rec" || die "encode"
"$BIN/fbcat" --records --out "kafka://$KAFKA/recs" "${X[@]}" <"$T/in.rec" 2>"$T/prod.err" || die "produce: $(cat "$T/prod.err")"

"$BIN/cache-writer" --redis "$REDIS_URI" --in "kafka://$KAFKA/recs?group=cw" "${X[@]}" 2>"$T/cw1.log" &
cw=$!
at_exit "kill -9 $cw"
# let it write a good part (past its first offset commit), then pull Redis
# away; should the keys stop growing for STALL seconds, it goes anyway
last=-1 since=$SECONDS
while kill -0 "$cw" 2>/dev/null; do
  n=$(redis-cli -p "$REDIS_PORT" dbsize 2>/dev/null || echo 0)
  [ "${n:-0}" -ge $((N / 2)) ] && break
  [ "$n" != "$last" ] && last=$n since=$SECONDS
  [ $((SECONDS - since)) -ge $STALL ] && break
  sleep 0.05
done
kill -9 "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
check "cache-writer still running when Redis went away" kill -0 "$cw"
# its next write fails at once; the log line follows whenever it is scheduled
wait_until 120 "grep -q 'redis unreachable' '$T/cw1.log' || ! kill -0 $cw 2>/dev/null"
check "it noticed and is retrying" grep -q 'redis unreachable' "$T/cw1.log"
kill -9 "$cw"; wait "$cw" 2>/dev/null

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T/redis" --save '' $REDIS_ARGS \
  --daemonize no --logfile "$T/redis/log" &
REDIS_PID=$!; at_exit "kill $REDIS_PID; wait $REDIS_PID"
# PONG: done loading the AOF (a load error ends the server: stop waiting)
wait_until 120 "[ \"\$(redis-cli -p $REDIS_PORT ping 2>/dev/null)\" = PONG ] || ! kill -0 $REDIS_PID 2>/dev/null"
before=$(redis-cli -p "$REDIS_PORT" dbsize)
check "Redis kept a partial state ($before keys)" test "$before" -gt 0 -a "$before" -lt "$N"

"$BIN/cache-writer" --redis "$REDIS_URI" --in "kafka://$KAFKA/recs?group=cw&eof=1" "${X[@]}" 2>"$T/cw2.log" &
cw2=$!
at_exit "kill -9 $cw2"
wait_progressing "$cw2" redis_cmds
expect_eq "second cache-writer exit (124: Redis ran none of its commands for ${STALL}s)" "$?" 0
second=$(jq -r 'select(.msg=="done") | .records' "$T/cw2.log")
check "second run resumed from committed offsets (read $second of $((2 * N)))" test "${second:-0}" -gt 0 -a "${second:-0}" -lt $((2 * N))
python3 "$ROOT/tests/tools/recs_versions.py" check "$REDIS_PORT" "$N" || fail "every user holds its newest list"
finish
