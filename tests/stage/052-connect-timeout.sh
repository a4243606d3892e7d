#!/usr/bin/env bash
# 052-connect-timeout — a Kafka or Redis address that cannot work ends the
# stage at start with one plain line instead of a retry loop: a name that
# resolves nowhere at once with exit 2 (a wrong address: a usage error, not
# restarted by systemd), brokers or Redis that do not answer within
# --connect-timeout with exit 1 (may be starting: systemd restarts). A
# Redis that comes up within the time is waited for and used. No timing is
# asserted: each run is bounded by a generous `timeout` (exit 124 = hung).
source "$(dirname "$0")/../lib.sh"
NOPORT=$(free_port)   # nothing listens there
one_line() { # name file expected-prefix
  expect_eq "$1: lines on stderr ($(head -c 300 "$2"))" "$(wc -l <"$2")" 1
  case $(cat "$2") in "$3"*) ;; *) fail "$1: stderr '$(head -c 300 "$2")' does not start with '$3'" ;; esac
}

# ---- Kafka ------------------------------------------------------------------
uri="kafka://nohost.invalid:9092/t?group=g"
timeout 60 "$BIN/ingest" --in "$uri" </dev/null >/dev/null 2>"$T/k1.err"
expect_eq "--in kafka://nohost.invalid: exit" "$?" 2
one_line "--in kafka://nohost.invalid" "$T/k1.err" "ingest: --in $uri: nohost.invalid: "

uri="kafka://127.0.0.1:$NOPORT/t?group=g"
timeout 60 "$BIN/aggregate" --connect-timeout 1s --in "$uri" </dev/null >/dev/null 2>"$T/k2.err"
expect_eq "--in: no broker answers: exit" "$?" 1
one_line "--in: no broker answers" "$T/k2.err" "aggregate: --in $uri: no Kafka broker answered within 1s (--connect-timeout): "
check "--in: no broker answers: the reason" grep -q "Connection refused" "$T/k2.err"

uri="kafka://127.0.0.1:$NOPORT/out"
timeout 60 "$BIN/ingest" --connect-timeout 1s --out "$uri" </dev/null >/dev/null 2>"$T/k3.err"
expect_eq "--out: no broker answers: exit" "$?" 1
one_line "--out: no broker answers" "$T/k3.err" "ingest: --out $uri: no Kafka broker answered within 1s"
timeout 60 "$BIN/fbcat" --out "kafka://nohost.invalid:9092/out" </dev/null >/dev/null 2>"$T/k4.err"
expect_eq "--out kafka://nohost.invalid: exit" "$?" 2

# a broker that answers: the check passes and the stage runs
start_kafka t:1
echo '{"user_id":"u1","event_type":"view","item_id":"b1","ts":1795000000000000}' |
  timeout 60 "$BIN/ingest" --connect-timeout 30s --out "kafka://$KAFKA/t" 2>"$T/k5.err"
rc=$?; expect_eq "reachable broker: ingest exit ($(tail -c 300 "$T/k5.err"))" "$rc" 0
timeout 60 "$BIN/fbcat" --count --in "kafka://$KAFKA/t?group=c&eof=1" >"$T/count" 2>"$T/k6.err"
check "reachable broker: the record is there ($(cat "$T/count"))" grep -q "Event" "$T/count"

# ---- Redis ------------------------------------------------------------------
timeout 60 "$BIN/cache-writer" --redis redis://nohost.invalid:6379 </dev/null 2>"$T/r1.err"
expect_eq "--redis nohost.invalid: exit" "$?" 2
one_line "--redis nohost.invalid" "$T/r1.err" "cache-writer: --redis nohost.invalid:6379: nohost.invalid: "
timeout 60 "$BIN/cache-writer" --connect-timeout 1s --redis "redis://:secret@127.0.0.1:$NOPORT" </dev/null 2>"$T/r2.err"
expect_eq "--redis: nothing answers: exit" "$?" 1
# a password in the URI earns a warning of its own (test 508): the rest is one line
check "--redis: the URI's password is warned about" grep -q '"level":"warn".*password in the URI' "$T/r2.err"
grep -v '"level":"warn"' "$T/r2.err" > "$T/r2.msg"
one_line "--redis: nothing answers" "$T/r2.msg" \
  "cache-writer: --redis 127.0.0.1:$NOPORT: Redis did not answer within 1s (--connect-timeout): Connection refused"
check "--redis: the password is not printed" sh -c "! grep -q secret '$T/r2.err'"

# Redis that starts while cache-writer waits for it: used, everything written
echo '{"user_id":"u1","ts":1795000000000000,"items":[{"item_id":"b1","score":1.5}],"algorithm":"pop","model_version":"m1"}' |
  "$BIN/fbcat" --encode Recommendation >"$T/rec.rec" || die "encode"
PORT=$(free_port)
timeout 120 "$BIN/cache-writer" --connect-timeout 100s --redis "redis://127.0.0.1:$PORT" --in "$T/rec.rec" 2>"$T/r3.err" &
cw=$!
sleep 0.5   # not a pass/fail timing: only so that Redis is usually not there at cache-writer's first try
mkdir -p "$T/redis"
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$T/redis" --save '' --appendonly no --daemonize no \
  --logfile "$T/redis/log" &
rpid=$!
at_exit "kill $rpid; wait $rpid"
wait "$cw"
rc=$?; expect_eq "Redis started late: cache-writer exit ($(tail -c 300 "$T/r3.err"))" "$rc" 0
check "Redis started late: rec:u1 written" sh -c "redis-cli -p $PORT get rec:u1 | grep -q b1"
finish
