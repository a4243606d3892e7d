#!/usr/bin/env bash
# Loss: 200,000 records streamed while redis-server is killed (kill -9) and
# started again, twice. Redis runs with appendfsync always, so what it
# acknowledged survives the kill; cache-writer must resend whatever was not
# acknowledged. Afterwards every key holds its newest value and none is missing.
source "$(dirname "$0")/../lib.sh"
export PYTHONPATH=$ROOT/tests/tools
REDIS_ARGS="--appendonly yes --appendfsync always"
start_redis

python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
# 50,000 users x 4 versions, in version order: 200,000 records
with open(t + "/in.jsonl", "w") as f:
    for v in range(4):
        for u in range(50000):
            f.write(json.dumps({"user_id": "u%d" % u, "ts": 1795000000000000 + v * 1000 + u,
                                "items": [{"item_id": "b%d" % ((u + v) % 10000), "score": 1.0 + v}],
                                "algorithm": "pop", "model_version": "v%d" % v}) + "\n")
PY
"$BIN/fbcat" --encode Recommendation < "$T/in.jsonl" > "$T/in.rec" || die "encode"

# Feed the records slowly (about 6 s in all) so the kills land mid-stream.
python3 - "$T/in.rec" 2>"$T/feeder.log" <<'PY' | "$BIN/cache-writer" --redis "$REDIS_URI" --pipeline 64 2>"$T/cw.log" &
import struct, sys, time
data = open(sys.argv[1], "rb").read()
out, pos, n = sys.stdout.buffer, 0, 0
while pos < len(data):
    ln = struct.unpack_from("<I", data, pos)[0]
    out.write(data[pos:pos + 4 + ln]); pos += 4 + ln; n += 1
    if n % 2000 == 0:
        out.flush(); time.sleep(0.06)
out.flush()
PY
writer=$!
for round in 1 2; do
  # the second kill only once the writer is back from the first: on a loaded
  # machine its reconnect may take longer than the gap, and the two kills
  # would then be one outage (the pipe holds the feeder back meanwhile, so
  # the stream is still mid-way)
  [ "$round" = 2 ] && { wait_until 60 '[ "$(grep -c "redis reconnected" "$T/cw.log")" -ge 1 ]' ||
    fail "no reconnect within 60 s of the first kill"; }
  sleep 2
  kill -9 "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
  sleep 0.7
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T/redis" --save '' $REDIS_ARGS \
    --daemonize no --logfile "$T/redis/log" &
  REDIS_PID=$!; at_exit "kill $REDIS_PID"
done
wait $writer; rc=$?
expect_eq "cache-writer exit status" "$rc" 0
check "it reconnected at least twice" test "$(grep -c 'redis reconnected' "$T/cw.log")" -ge 2
# PONG: done loading the AOF, however long that takes (a load error ends the server)
wait_until 120 "[ \"\$(redis-cli -p $REDIS_PORT ping 2>/dev/null)\" = PONG ] || ! kill -0 $REDIS_PID 2>/dev/null"
python3 - "$REDIS_PORT" <<'PY' || fail "every key holds its newest value"
import json, sys, resp
r = resp.Redis(int(sys.argv[1]))
users = ["u%d" % u for u in range(50000)]
vals = r.pipeline([("GET", "rec:" + u) for u in users])
missing = [u for u, v in zip(users, vals) if v is None]
stale = [u for u, v in zip(users, vals) if v is not None and json.loads(v)["model_version"] != "v3"]
print("missing", len(missing), "stale", len(stale))
assert not missing and not stale
PY
finish
