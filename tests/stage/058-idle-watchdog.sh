#!/usr/bin/env bash
# 058-idle-watchdog — a stage waiting on a quiet pipe keeps pinging systemd's
# watchdog (WATCHDOG=1 at least every WATCHDOG_USEC/2) and keeps rewriting
# its metrics file; under WatchdogSec= an idle stage must not be killed.
source "$(dirname "$0")/../lib.sh"
python3 - "$T/notify.sock" >"$T/notify.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(30)
try:
    while True:
        print(s.recv(4096).decode().replace("\n", "|"), flush=True)
except socket.timeout:
    pass
PY
npid=$!
at_exit "kill $npid"
for i in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done

for s in ingest fbcat; do
  [ -x "$BIN/$s" ] || continue
  : >"$T/notify.log"
  mkfifo "$T/fifo.$s"
  exec 7<>"$T/fifo.$s"     # a writer that never writes: the stage idles
  NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 "$BIN/$s" --metrics-file "$T/$s.prom" \
    <"$T/fifo.$s" >/dev/null 2>"$T/$s.err" &
  spid=$!
  # at least 5 pings (one per 0.2 s expected) while it reads nothing
  wait_until 20 '[ "$(grep -c WATCHDOG=1 "$T/notify.log")" -ge 5 ]'
  pings=$(grep -c 'WATCHDOG=1' "$T/notify.log")
  echo "$s pings=$pings" >&2; [ "$pings" -ge 5 ] || fail "$s idle with WATCHDOG_USEC=0.4 s: $pings WATCHDOG=1 pings, expected >= 5"
  kill -TERM "$spid"; wait "$spid"; rc=$?
  exec 7>&-
  expect_eq "$s exit after SIGTERM" "$rc" 0
done
finish
