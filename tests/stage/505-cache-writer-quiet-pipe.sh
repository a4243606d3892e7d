#!/usr/bin/env bash
# cache-writer keeps Redis in step with a quiet pipe: records read from a
# producer that then pauses are in Redis within moments, not when the next
# record or the end of input comes (commands are sent before the input
# blocks). SIGTERM during the pause: drain, exit 0.
source "$(dirname "$0")/../lib.sh"
start_redis
python3 - >"$T/in.jsonl" <<'PY'
import json
for u in range(3):
    print(json.dumps({"user_id": "q%d" % u, "ts": 1795000000000000 + u, "items": [{"item_id": "b1", "score": 1}],
                      "algorithm": "pop", "model_version": "m"}))
PY
"$BIN/fbcat" --encode Recommendation <"$T/in.jsonl" >"$T/in.rec" || die "encode"
mkfifo "$T/fifo"
"$BIN/cache-writer" --redis "$REDIS_URI" <"$T/fifo" 2>"$T/cw.err" &
cw=$!
at_exit "kill -9 $cw"
exec 7>"$T/fifo"                 # the producer: three records, then silence
cat "$T/in.rec" >&7
# however slowly it starts: until the keys are there or it has ended
wait_until 120 '[ "$(redis-cli -p "$REDIS_PORT" dbsize)" = 3 ] || ! kill -0 $cw 2>/dev/null'
n=$(redis-cli -p "$REDIS_PORT" dbsize)
expect_eq "keys in Redis while the pipe is quiet" "$n" 3
check "cache-writer still running (input not closed)" kill -0 "$cw"
kill -TERM "$cw"; wait "$cw"
rc=$?; expect_eq "exit after SIGTERM ($(tail -c 300 "$T/cw.err"))" "$rc" 0
exec 7>&-
finish
