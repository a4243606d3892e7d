# tests/lib.sh — sourced by every shell test (tests/stage/*.sh, tests/e2e/*.sh).
# Gives: $BIN (binaries under test), $GEN_EVENTS (the event generator,
# tests/tools/gen-events.c), $DATA (the sample data, pipelines/data), $T (a
# fresh temp dir removed at exit), fail/pass helpers, free_port, and
# start_kafka / start_redis which stop their server at exit, pass or fail.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${STREAMREC_BIN:-$ROOT/build/bin}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
GEN_EVENTS=$BIN/gen-events
DATA=$ROOT/pipelines/data
T=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-test.XXXXXX")
_cleanups=()
_cleanup() { local c; for c in "${_cleanups[@]}"; do eval "$c" >/dev/null 2>&1; done; rm -rf "$T"; }
trap _cleanup EXIT
at_exit() { _cleanups+=("$1"); }

_nfail=0
fail() { echo "FAIL: $*" >&2; _nfail=$((_nfail + 1)); }
die() { echo "FAIL: $*" >&2; exit 1; }
# check "description" command...: runs the command, fails the test if nonzero
check() { local d=$1; shift; if "$@"; then :; else fail "$d"; fi; }
# expect_eq "description" actual expected
expect_eq() { if [ "$2" != "$3" ]; then fail "$1: got '$2', expected '$3'"; fi; }
# wait_until SECONDS SHELL-CONDITION: polls every 0.1 s; 1 if it never held.
# Tests wait for an observable state, never a fixed time (CI machines are
# loaded, and the sanitizer build starts slowly).
wait_until() { local end=$((SECONDS + $1)); until eval "$2"; do [ "$SECONDS" -ge "$end" ] && return 1; sleep 0.1; done; }
finish() { if [ "$_nfail" -gt 0 ]; then echo "$_nfail check(s) failed" >&2; exit 1; fi; exit 0; }

# A free TCP port on loopback (the kernel picks it).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_kafka TOPIC:PARTITIONS ... -> sets KAFKA (bootstrap servers)
start_kafka() {
  local out=$T/kafka-mock.out
  "$BIN/kafka-mock" "$@" >"$out" 2>"$T/kafka-mock.err" &
  local pid=$!
  at_exit "kill $pid; wait $pid"
  local i; for i in $(seq 100); do
    KAFKA=$(head -n1 "$out" 2>/dev/null); [ -n "$KAFKA" ] && return 0; sleep 0.1
  done
  cat "$T/kafka-mock.err" >&2; die "kafka-mock did not start"
}

# kafka_owned LOG: the partitions of a stage's last assignment, from its log
# (assignment lines less than 0.5 s apart belong to one rebalance: the
# group's rebalances are seconds apart, and a fixed time prefix would split
# a block logged across its boundary)
kafka_owned() {
  grep '"kafka partition assigned"' "$1" | awk '{ split(substr($0, 19, 15), c, ":"); t = c[1] * 3600 + c[2] * 60 + c[3]
    p = $0; sub(/.*"partition":/, "", p); sub(/[^0-9].*/, "", p)
    if (NR == 1 || t - last > 0.5) { s = "" } s = s " " p; last = t } END { print substr(s, 2) }'
}

# kafka_settled P LOG...: the members of one group, logging to LOG...,
# own partitions 0..P-1 between them, each once by their last assignments
# (kafka_owned), and none was assigned any in the last 2 s (the group has
# settled; an instance killed or stopped must not be named)
kafka_settled() {
  local p=$1 f owned="" t newest=0; shift
  for f in "$@"; do
    t=$(grep '"kafka partition assigned"' "$f" 2>/dev/null | tail -n1 | sed 's/^{"ts":"\([^"]*\)".*/\1/')
    [ -n "$t" ] || return 1
    t=$(date -u -d "$t" +%s) || return 1
    [ "$t" -gt "$newest" ] && newest=$t
    owned="$owned $(kafka_owned "$f")"
  done
  [ "$(echo $owned | tr ' ' '\n' | sort -n | xargs)" = "$(seq -s ' ' 0 $((p - 1)))" ] &&
    [ $(( $(date +%s) - newest )) -ge 2 ]
}

# start_redis -> sets REDIS_PORT, REDIS_URI; stopped at exit
start_redis() {
  REDIS_PORT=$(free_port)
  local dir=$T/redis; mkdir -p "$dir"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
    --daemonize no --logfile "$dir/log" ${REDIS_ARGS:-} &
  REDIS_PID=$!
  at_exit "kill $REDIS_PID; wait $REDIS_PID"
  REDIS_URI=redis://127.0.0.1:$REDIS_PORT
  local i; for i in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  die "redis-server did not start"
}
