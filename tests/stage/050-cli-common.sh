#!/usr/bin/env bash
# 050-cli-common — what every stage binary shares through libstream/cli.c:
# --help (stdout, exit 0, every shared flag and an example), --version,
# usage errors (stderr "STAGE: --flag: reason" + hint, exit 2, nothing on
# stdout), and, for stages that start without a config, --metrics-file at
# exit, READY=1 to $NOTIFY_SOCKET, and exit 0 on SIGTERM while idle.
source "$(dirname "$0")/../lib.sh"

stages=()
for s in ingest aggregate drift experiment-analyzer recommender cache-writer alerter fbcat; do
  [ -x "$BIN/$s" ] && stages+=("$s")
done
[ ${#stages[@]} -gt 0 ] || die "no stage binaries in $BIN"

for s in "${stages[@]}"; do
  # --help
  "$BIN/$s" --help >"$T/help.out" 2>"$T/help.err"; rc=$?
  expect_eq "$s --help exit" "$rc" 0
  expect_eq "$s --help stderr" "$(cat "$T/help.err")" ""
  for want in "usage: $s" "--in URI" "--out URI" "--format records|json" "--metrics-file PATH" \
              "--dead-letter URI" "--strict" "--log-level LEVEL" "-X, --kafka-conf KEY=VALUE" \
              "--connect-timeout DURATION" \
              "--help" "--version" "example:"; do
    grep -qF -- "$want" "$T/help.out" || fail "$s --help lacks '$want'"
  done

  # --version
  out=$("$BIN/$s" --version 2>/dev/null); rc=$?
  expect_eq "$s --version exit" "$rc" 0
  case $out in "$s (streamrec) "[0-9]*) ;; *) fail "$s --version printed '$out'" ;; esac

  # usage errors: exit 2, reason on stderr naming the flag, hint, empty stdout
  usage_error() { # expected-stderr-substring args...
    local want=$1; shift
    "$BIN/$s" "$@" </dev/null >"$T/u.out" 2>"$T/u.err"; local rc=$?
    expect_eq "$s $* exit" "$rc" 2
    grep -qF -- "$want" "$T/u.err" || fail "$s $*: stderr lacks '$want': $(head -c 300 "$T/u.err")"
    grep -qF -- "try '$s --help'" "$T/u.err" || fail "$s $*: no hint"
    [ -s "$T/u.out" ] && fail "$s $*: wrote to stdout on a usage error"
  }
  usage_error "$s: --metric-file: unknown flag; did you mean --metrics-file?" --metric-file x
  usage_error "$s: --format: 'xml' is not records or json" --format xml
  usage_error "$s: --strict: given twice" --strict --strict
  usage_error "$s: --in: needs a value" --in
done

# Runtime behaviour for the stages that run with no arguments on empty input.
python3 - "$T/notify.sock" >"$T/notify.log" 2>&1 <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
try:
    while True:
        msg = s.recv(4096).decode()
        print(msg.replace("\n", "|"), flush=True)
except socket.timeout:
    pass
EOF
npid=$!
at_exit "kill $npid"
for i in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done

ran=0
# what a stage needs to start at all (alerter: its rules, the installed
# default; cache-writer: a Redis that answers, or it ends after --connect-timeout)
start_redis
declare -A needs=([alerter]="--rules $ROOT/stages/alerter/rules.default.yaml" [cache-writer]="--redis $REDIS_URI")
for s in "${stages[@]}"; do
  : >"$T/notify.log"
  # shellcheck disable=SC2086
  NOTIFY_SOCKET=$T/notify.sock "$BIN/$s" ${needs[$s]:-} --metrics-file "$T/$s.prom" </dev/null >"$T/run.out" 2>"$T/run.err"; rc=$?
  [ "$rc" -eq 2 ] && continue            # needs flags or a config to start: covered by its own tests
  ran=$((ran + 1))
  expect_eq "$s on empty input: exit (stderr: $(head -c 300 "$T/run.err"))" "$rc" 0
  grep -q "^streamrec_records_in_total{stage=\"$s\"} 0\$" "$T/$s.prom" 2>/dev/null ||
    fail "$s: metrics file lacks records_in at 0"
  grep -q "^# TYPE streamrec_records_out_total counter\$" "$T/$s.prom" 2>/dev/null ||
    fail "$s: metrics file lacks the TYPE line"
  wait_until 10 'grep -q "^READY=1|MAINPID=" "$T/notify.log"' || fail "$s: no READY=1 on NOTIFY_SOCKET ($(cat "$T/notify.log"))"
  cp "$T/run.err" "$T/stderr.$s"

  # SIGTERM while idle on an open pipe: drain and exit 0, promptly
  mkfifo "$T/fifo.$s"
  exec 7<>"$T/fifo.$s"                   # keep a writer so the stage waits, not EOF
  : >"$T/notify.log"
  # shellcheck disable=SC2086
  NOTIFY_SOCKET=$T/notify.sock "$BIN/$s" ${needs[$s]:-} <"$T/fifo.$s" >/dev/null 2>"$T/term.err" &
  spid=$!
  # signal it once it says it is ready (its handlers are set by then)
  wait_until 20 'grep -q "^READY=1" "$T/notify.log"' || fail "$s: no READY=1 within 20 s"
  kill -TERM "$spid"
  for i in $(seq 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$spid" 2>/dev/null; then
    fail "$s: still running 5 s after SIGTERM"; kill -KILL "$spid"
  fi
  wait "$spid"; rc=$?
  exec 7>&-
  expect_eq "$s exit after SIGTERM ($(head -c 200 "$T/term.err"))" "$rc" 0
done
[ "$ran" -gt 0 ] || fail "no stage ran without arguments"
for s in ingest aggregate drift alerter; do
  [ -e "$T/stderr.$s" ] || fail "$s did not run on empty input"
done
# every stderr line of those runs is a JSON log line with the shared members
python3 -c 'import json, sys
for f in sys.argv[1:]:
    for l in open(f):
        o = json.loads(l)
        assert {"ts", "level", "stage", "msg"} <= set(o), (f, l)' "$T"/stderr.* 2>"$T/json.err" ||
  fail "stderr is not JSON log lines: $(tail -n 3 "$T/json.err")"
finish
