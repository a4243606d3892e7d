#!/usr/bin/env bash
# cache-writer: 1,000,000 recommendation lists of 10 items into Redis, against
# `redis-benchmark -P` (SET, same pipeline depth, same value size) on the same
# server. Both are limited by the one redis-server; the ratio is what counts.
#   N=1000000 PIPELINE=64 REPEAT=3 tests/bench/cache-writer.sh
source "$(dirname "$0")/lib.sh"
N=${N:-1000000}; P=${PIPELINE:-64}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d); trap 'kill $rpid 2>/dev/null; wait $rpid 2>/dev/null; rm -rf "$dir"' EXIT
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize no --logfile "$dir/log" &
rpid=$!
for i in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

recs=$BT/recs-$N.rec
if [ ! -s "$recs" ]; then
  python3 - "$N" <<'PY' | "$BIN/fbcat" --encode Recommendation > "$recs"
import json, random, sys
n = int(sys.argv[1]); rnd = random.Random(5); w = sys.stdout.write
for i in range(n):
    items = ",".join('{"item_id":"b%d","score":%.4f}' % (rnd.randrange(10000), rnd.random()) for _ in range(10))
    w('{"user_id":"u%d","items":[%s],"algorithm":"hybrid","model_version":"2026-11-23T10:00:00Z","ts":%d}\n'
      % (i % 200000, items, 1795000000000000 + i))
PY
fi
# the value cache-writer stores for one list: measure it to give redis-benchmark the same size
"$BIN/cache-writer" --redis "redis://127.0.0.1:$port" --in <(head -c 100000 "$recs") 2>/dev/null
size=$(redis-cli -p "$port" --scan --pattern 'rec:*' | head -n 200 | while read -r k; do redis-cli -p "$port" strlen "$k"; done \
       | awk '{ s += $1; n++ } END { printf "%d", s / n }')
redis-cli -p "$port" flushall >/dev/null
echo "  $N lists of 10 items, value ~${size} bytes, pipeline $P"
measure "cat (the pipe's limit)" "$N" "cat $recs"
# Best of $REPEAT alternating runs: on a shared machine one run of either can
# be slowed by the neighbours. Also Redis's own CPU time per record (from
# /proc), which the neighbours hardly change: the server is the bottleneck.
REPEAT=${REPEAT:-3}
cpu() { awk '{ print $14 + $15 }' "/proc/$rpid/stat"; }      # clock ticks
tck=$(getconf CLK_TCK)
best_cw=; best_rb=; cpu_cw=0; cpu_rb=0
for r in $(seq "$REPEAT"); do
  redis-cli -p "$port" flushall >/dev/null; c0=$(cpu)
  measure "cache-writer --pipeline $P #$r" "$N" "$BIN/cache-writer --redis redis://127.0.0.1:$port --pipeline $P --in $recs"
  c1=$(cpu); cpu_cw=$((cpu_cw + c1 - c0))
  redis-cli -p "$port" flushall >/dev/null; c0=$(cpu)
  measure "redis-benchmark -P $P SET -d $size #$r" "$N" \
    "redis-benchmark -p $port -P $P -t set -d $size -n $N -r 200000 -c 1 -q"
  c1=$(cpu); cpu_rb=$((cpu_rb + c1 - c0))
  t=${BENCH_SECS["cache-writer --pipeline $P #$r"]}; [ -z "$best_cw" ] || awk -v a="$t" -v b="$best_cw" 'BEGIN { exit !(a < b) }' && best_cw=$t
  t=${BENCH_SECS["redis-benchmark -P $P SET -d $size #$r"]}; [ -z "$best_rb" ] || awk -v a="$t" -v b="$best_rb" 'BEGIN { exit !(a < b) }' && best_rb=$t
done
BENCH_SECS["cache-writer (best)"]=$best_cw; BENCH_SECS["redis-benchmark (best)"]=$best_rb
ratio "cache-writer (best)" "redis-benchmark (best)"
awk -v a="$cpu_cw" -v b="$cpu_rb" -v n="$((N * REPEAT))" -v t="$tck" 'BEGIN {
  printf "  redis-server CPU per record: cache-writer %.2f us, redis-benchmark SET %.2f us (ratio %.2f)\n",
         a / t / n * 1e6, b / t / n * 1e6, b / a }'
echo "  (goal: cache-writer at least 0.70x redis-benchmark; the scripts' newer-wins check runs inside Redis)"
