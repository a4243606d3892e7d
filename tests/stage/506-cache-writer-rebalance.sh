#!/usr/bin/env bash
# cache-writer in a Kafka consumer group that rebalances mid-stream: when a
# second member joins, the first one is asked to give partitions up; before
# its offsets are committed, Redis must have acknowledged every write derived
# from what it read (the hook logs it). Both members then finish the topic,
# and every user holds its newest list.
source "$(dirname "$0")/../lib.sh"
export PYTHONPATH=$ROOT/tests/tools
start_kafka recs:4
start_redis
X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500 -X topic.metadata.refresh.interval.ms=1000)
N=40000
python3 "$ROOT/tests/tools/recs_versions.py" gen "$N" >"$T/in.jsonl"
"$BIN/fbcat" --encode Recommendation <"$T/in.jsonl" >"$T/in.rec" || die "encode"
"$BIN/fbcat" --records --out "kafka://$KAFKA/recs" "${X[@]}" <"$T/in.rec" 2>"$T/prod.err" || die "produce: $(cat "$T/prod.err")"

"$BIN/cache-writer" --redis "$REDIS_URI" --in "kafka://$KAFKA/recs?group=cw&eof=1" "${X[@]}" 2>"$T/a.log" &
a=$!; at_exit "kill -9 $a"
for i in $(seq 600); do
  n=$(redis-cli -p "$REDIS_PORT" dbsize 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 2000 ] && break
  sleep 0.02
done
"$BIN/cache-writer" --redis "$REDIS_URI" --in "kafka://$KAFKA/recs?group=cw&eof=1" "${X[@]}" 2>"$T/b.log" &
b=$!; at_exit "kill -9 $b"
wait "$a"; expect_eq "first member exit" "$?" 0
wait "$b"; expect_eq "second member exit" "$?" 0
# a second round of assignments in the first member = it was asked to give
# partitions up while it was running (not after it had finished)
if [ "$(grep -c '"kafka partition assigned"' "$T/a.log")" -gt 4 ]; then
  grep -q 'rebalance: Redis acknowledged every write' "$T/a.log" ||
    fail "the first member gave partitions up without draining Redis first"
else
  echo "note: no rebalance while the first member ran (it finished first); drain not exercised" >&2
fi
python3 "$ROOT/tests/tools/recs_versions.py" check "$REDIS_PORT" "$N" || fail "every user holds its newest list"
finish
