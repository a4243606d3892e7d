#!/usr/bin/env bash
# cache-writer: 1,000,000 recommendation lists of 10 items into Redis, against
# `redis-benchmark -P` (SET, same pipeline depth, same value size) on the same
# server. Both are limited by the one redis-server; the ratio is what counts.
#   N=1000000 PIPELINE=64 tests/bench/cache-writer.sh
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
measure "cache-writer --pipeline $P" "$N" "$BIN/cache-writer --redis redis://127.0.0.1:$port --pipeline $P --in $recs"
redis-cli -p "$port" flushall >/dev/null
measure "redis-benchmark -P $P SET -d $size" "$N" \
  "redis-benchmark -p $port -P $P -t set -d $size -n $N -r 200000 -c 1 -q"
ratio "cache-writer --pipeline $P" "redis-benchmark -P $P SET -d $size"
echo "  (goal: cache-writer at least 0.70x redis-benchmark; the scripts' newer-wins check runs inside Redis)"
