#!/usr/bin/env bash
# cache-writer's ways to reach Redis: a unix socket, AUTH (requirepass) with
# the password in the URI or in $REDISCLI_AUTH, a database number; a wrong or
# missing password is refused at start (exit 1, the reason named), not
# retried forever. Also the metrics file: writes, bytes, errors, pipeline
# depth and latency agree with what was written.
source "$(dirname "$0")/../lib.sh"
PORT=$(free_port)
SOCK=$T/redis.sock
mkdir -p "$T/redis"
redis-server --port "$PORT" --bind 127.0.0.1 --unixsocket "$SOCK" --unixsocketperm 700 \
  --requirepass 's3cr@t:pw' --dir "$T/redis" --save '' --appendonly no --daemonize no \
  --logfile "$T/redis/log" &
rpid=$!
at_exit "kill $rpid; wait $rpid"
R() { REDISCLI_AUTH='s3cr@t:pw' redis-cli -s "$SOCK" --no-auth-warning "$@"; }
for i in $(seq 100); do R ping >/dev/null 2>&1 && break; sleep 0.05; done

python3 - >"$T/in.jsonl" <<'PY'
import json
for u in range(500):
    print(json.dumps({"user_id": "u%d" % u, "ts": 1795000000000000 + u,
                      "items": [{"item_id": "b%d" % u, "score": 1.5}], "algorithm": "pop", "model_version": "m1"}))
PY
"$BIN/fbcat" --encode Recommendation <"$T/in.jsonl" >"$T/in.rec" || die "encode"

# unix socket, password from the environment, database 2
timeout 30 env REDISCLI_AUTH='s3cr@t:pw' "$BIN/cache-writer" --redis "unix://$SOCK?db=2" --in "$T/in.rec" \
  --metrics-file "$T/m.prom" 2>"$T/unix.err"
rc=$?; expect_eq "unix socket + REDISCLI_AUTH: exit ($(tail -c 300 "$T/unix.err"))" "$rc" 0
expect_eq "keys in db 2" "$(R -n 2 dbsize)" 500
expect_eq "nothing in db 0" "$(R -n 0 dbsize)" 0
check "rec:u7 in db 2" sh -c "REDISCLI_AUTH='s3cr@t:pw' redis-cli -s '$SOCK' --no-auth-warning -n 2 get rec:u7 | grep -q '\"item_id\":\"b7\"'"

# metrics: one command per record, bytes at least the values written
m() { awk -v k="$1" '$1 ~ "^"k"({|$)" { print $2 }' "$T/m.prom"; }
expect_eq "writes_total" "$(m streamrec_redis_writes_total)" 500
expect_eq "errors_total" "$(m streamrec_redis_errors_total)" 0
expect_eq "reconnects_total" "$(m streamrec_redis_reconnects_total)" 0
expect_eq "retries_total" "$(m streamrec_redis_retries_total)" 0
vbytes=$(R -n 2 eval "local s = 0 for _, k in ipairs(redis.call('KEYS', 'rec:*')) do s = s + redis.call('STRLEN', k) end return s" 0)
check "bytes_total ($(m streamrec_redis_bytes_total)) covers the $vbytes value bytes" \
  awk -v b="$(m streamrec_redis_bytes_total)" -v v="$vbytes" 'BEGIN { exit !(b + 0 > v + 0) }'
check "pipeline depth gauge present and 0 at exit" test "$(m streamrec_redis_pipeline_depth)" = 0
check "batch latency gauge present" test -n "$(m streamrec_redis_batch_latency_seconds)"

# TCP with the password in the URI (percent-escaped), database 3
timeout 30 "$BIN/cache-writer" --redis "redis://:s3cr%40t%3Apw@127.0.0.1:$PORT/3" --in "$T/in.rec" 2>"$T/tcp.err"
rc=$?; expect_eq "redis://:password@host:port/3: exit ($(tail -c 300 "$T/tcp.err"))" "$rc" 0
expect_eq "keys in db 3" "$(R -n 3 dbsize)" 500

# errors: one key of the wrong type -> errors_total 1, the rest written
R -n 4 rpush rec:u9 x >/dev/null
timeout 30 "$BIN/cache-writer" --redis "redis://:s3cr%40t%3Apw@127.0.0.1:$PORT/4" --in "$T/in.rec" \
  --metrics-file "$T/m.prom" --dead-letter "$T/dl.jsonl" 2>/dev/null
expect_eq "exit with one error reply" "$?" 0
expect_eq "errors_total" "$(m streamrec_redis_errors_total)" 1
expect_eq "writes_total" "$(m streamrec_redis_writes_total)" 499
check "dead letter names rec:u9 and WRONGTYPE" grep -q 'rec:u9: WRONGTYPE' "$T/dl.jsonl"

# a wrong password, or none, is refused at once: exit 1, reason named
timeout 20 "$BIN/cache-writer" --redis "redis://:wrong@127.0.0.1:$PORT" --in "$T/in.rec" 2>"$T/bad.err"
expect_eq "wrong password: exit" "$?" 1
check "wrong password: reason named" grep -q 'AUTH' "$T/bad.err"
timeout 20 env -u REDISCLI_AUTH "$BIN/cache-writer" --redis "unix://$SOCK" --in "$T/in.rec" 2>"$T/none.err"
expect_eq "no password: exit" "$?" 1
check "no password: NOAUTH named" grep -q 'NOAUTH' "$T/none.err"
timeout 20 env REDISCLI_AUTH='s3cr@t:pw' "$BIN/cache-writer" --redis "unix://$SOCK?db=99999" --in "$T/in.rec" 2>"$T/db.err"
expect_eq "database out of range: exit" "$?" 1
check "database out of range: SELECT named" grep -q 'SELECT' "$T/db.err"
finish
