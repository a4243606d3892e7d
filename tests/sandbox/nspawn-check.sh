#!/usr/bin/env bash
# tests/sandbox/nspawn-check.sh — run the stages under the sandbox of their
# systemd units, in a real systemd (a booted Debian 12 container), to check
# that no setting of the units (the system-call filter above all) breaks a
# stage on some path of its own or of librdkafka's or SQLite's threads.
# Not part of `make test`: it needs root, debootstrap and systemd-nspawn
# (Debian packages debootstrap, systemd-container) and takes 20-40 minutes.
#
#   sudo tests/sandbox/nspawn-check.sh DIR [STAGE-TEST-PATTERN...]
#
# DIR holds the container (created with debootstrap on the first run,
# ~400 MB). Two checks:
#  1. every stage test (tests/stage, or those matching the patterns) with
#     STREAMREC_BIN pointing at wrappers that start the stage with
#     `systemd-run` and the sandbox lines of its unit (NoNewPrivileges= to
#     RestrictAddressFamilies=, SystemCallFilter= included). Differences from
#     the units, so that the tests can reach their files: /srv/t is writable
#     (the tests' TMPDIR); the stage runs as root, though with no capability
#     at all. Signals to a wrapper are forwarded to the stage; SIGKILL cannot
#     be, so tests that kill -9 a stage fail here for that reason alone.
#  2. the units as `make install` writes them, every one started for real:
#     kafka-mock, redis-server with a password (from the credential), events
#     through ingest, aggregate, drift, experiment-analyzer, alerter (with an
#     exec: channel), cache-writer, training and serving; then each unit is
#     stopped and must exit 0.
# It prints each test's result and each unit's state, exit status, and
# whether the kernel reported a system call the filter refused.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
R=${1:?usage: nspawn-check.sh DIR [PATTERN...]}; shift
[ "$(id -u)" = 0 ] || { echo "nspawn-check: run as root" >&2; exit 2; }
R=$(realpath -m "$R")/root
if [ ! -x "$R/usr/bin/systemd-run" ]; then
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,librdkafka1,libzstd1,libsqlite3-0,libhiredis0.14,libyaml-0-2,libcurl4,redis-server,python3,python3-numpy,python3-scipy,procps,jq,zstd,sqlite3,kcat,miller \
    bookworm "$R" http://deb.debian.org/debian
fi
make -C "$ROOT" --no-print-directory -s all
rm -rf "$R/opt/streamrec" "$R/opt/wrap"; mkdir -p "$R/opt/streamrec/build" "$R/opt/wrap" "$R/srv/t"
(cd "$ROOT" && tar -c --exclude=./build . | tar -x -C "$R/opt/streamrec")
cp -a "$ROOT/build/bin" "$R/opt/streamrec/build/bin"
make -C "$ROOT" --no-print-directory -s install DESTDIR="$R" PREFIX=/usr >/dev/null

# the wrappers: one per stage, with its unit's sandbox lines
for s in ingest aggregate drift experiment-analyzer recommender cache-writer alerter fbcat; do
  unit=$ROOT/systemd/streamrec-$s@.service
  [ -f "$unit" ] || unit=$ROOT/systemd/streamrec-ingest@.service   # fbcat has no unit: the common lines
  props=$(sed -n '/^NoNewPrivileges=/,/^RestrictAddressFamilies=/p' "$unit" | grep -E '^[A-Za-z]+=' |
          sed 's/.*/"-p", "&",/' | tr '\n' ' ')
  cat >"$R/opt/wrap/$s" <<W
#!/usr/bin/python3
# systemd-run does not pass signals on: forward them to the stage (Python: a
# background bash job could not even catch SIGINT, ignored from the start)
import os, random, signal, subprocess, sys
unit = "sr-$s-%d-%d" % (os.getpid(), random.randrange(1 << 30))
env = [a for v in ("CREDENTIALS_DIRECTORY", "REDISCLI_AUTH") if v in os.environ for a in ("-E", v)]
cmd = ["systemd-run", "--quiet", "--pipe", "--wait", "--collect", "--same-dir", "--service-type=exec",
       "--unit=" + unit, "-p", "ReadWritePaths=/srv/t", "-p", "Environment=TMPDIR=/srv/t"] + env + \\
      [$props] + ["/opt/streamrec/build/bin/$s"] + sys.argv[1:]
p = subprocess.Popen(cmd)
def fwd(sig, frame):
    subprocess.call(["systemctl", "kill", "--kill-who=main", "-s", str(int(sig)), unit + ".service"],
                    stderr=subprocess.DEVNULL)
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
    signal.signal(sig, fwd)
sys.exit(p.wait())
W
  chmod +x "$R/opt/wrap/$s"
done
cp "$ROOT/build/bin/kafka-mock" "$R/opt/wrap/kafka-mock"

cat >"$R/opt/inside.sh" <<'IN'
#!/bin/bash
set -u
id streamrec >/dev/null 2>&1 || { useradd --system --home /var/lib/streamrec --shell /usr/sbin/nologin streamrec
  groupadd --system prometheus; usermod -aG prometheus streamrec; }
install -d -m 0775 -g prometheus /var/lib/prometheus/node-exporter; install -d /etc/streamrec
systemctl daemon-reload
echo "== 1. stage tests under the units' sandbox"
cd /opt/streamrec
tests=("$@"); [ ${#tests[@]} -gt 0 ] || tests=($(ls tests/stage | sed 's/\.sh$//'))
for t in "${tests[@]}"; do
  STREAMREC_BIN=/opt/wrap STREAMREC_NO_FUZZ=1 TMPDIR=/srv/t tests/run "$t" 2>&1 |
    grep -E "^(ok|FAIL)|^ +\| FAIL" | head -6
done
echo "== 2. the installed units"
rm -rf /var/lib/streamrec/t /var/lib/prometheus/node-exporter/*   # a fresh start: no state from an earlier run
systemd-run --quiet --unit=nc-redis --collect /usr/bin/redis-server --port 6390 --bind 127.0.0.1 --save "" \
  --appendonly no --requirepass "pw-from-a-credential"
install -m 0600 /dev/null /etc/streamrec/t.redis-password; echo "pw-from-a-credential" >/etc/streamrec/t.redis-password
rm -f /run/nc-kafka.out
systemd-run --quiet --unit=nc-kafka --collect -p StandardOutput=truncate:/run/nc-kafka.out \
  /opt/streamrec/build/bin/kafka-mock events.raw:1 events:1 metrics:2 drift:2 experiments:2 alerts:2 recommendations:2
for i in $(seq 50); do [ -s /run/nc-kafka.out ] && break; sleep 0.1; done; K=$(head -n1 /run/nc-kafka.out)
cat >/etc/streamrec/t.env <<E
KAFKA=$K
REDIS=redis://127.0.0.1:6390
AGGREGATE_ARGS=--window 10s --allowed-lateness 1s
EXPERIMENT_ANALYZER_ARGS=--config /etc/streamrec/t.experiments.yaml --report-every 1000
ALERTER_ARGS=--rules /etc/streamrec/t.alert-rules.yaml
E
printf '%s\n' 'experiments:' '  - name: e' '    control: a' '    variants:' '      - {name: a, allocation: 0.5}' \
  '      - {name: b, allocation: 0.5}' '    metrics:' '      - {name: m, type: conversion, event: book_purchase}' \
  >/etc/streamrec/t.experiments.yaml
printf '%s\n' 'rules:' '  - { name: busy, metric: events, condition: gt, threshold: 0, channels: [out, "exec:cat >> /var/lib/streamrec/t/exec-alerts.jsonl"] }' \
  >/etc/streamrec/t.alert-rules.yaml
if [ -x /opt/streamrec/build/bin/gen-events ]; then
  /opt/streamrec/build/bin/gen-events --count 20000 --users 300 --items 500 --seed 7 --rate 200 >/srv/ev.jsonl
else   # 20,000 interactions over 100 minutes of event time, in order
python3 - >/srv/ev.jsonl <<'PY'
import json, random
r = random.Random(7)
for i in range(20000):
    print(json.dumps({"user_id": "u%d" % r.randrange(300), "item_id": "i%d" % r.randrange(500),
                      "event_type": r.choice(["view", "view", "click", "purchase"]),
                      "ts": 1795000000000000 + i * 300000}))
PY
fi
stages="ingest aggregate drift experiment-analyzer alerter cache-writer"
for u in $stages; do systemctl start streamrec-$u@t.service & done; wait
kcat -P -b "$K" -t events.raw -l /srv/ev.jsonl; sleep 15
systemctl start streamrec-recommender-train@t.service
echo "recommender-train: $(systemctl show -p Result --value streamrec-recommender-train@t.service)"
systemctl start streamrec-recommender@t.service; sleep 3
# more events (new ids, later times), for the serving recommender and to move the watermark on
python3 -c 'import json,sys; [print(json.dumps(dict(json.loads(l), event_id="2" + json.loads(l).get("event_id", str(i)))))
  for i, l in enumerate(sys.stdin)]' </srv/ev.jsonl >/srv/ev2.jsonl
sleep 5; kcat -P -b "$K" -t events.raw -l /srv/ev2.jsonl; sleep 15
systemctl reload streamrec-alerter@t.service streamrec-recommender@t.service; sleep 2
for u in $stages recommender; do
  pid=$(systemctl show -p MainPID --value streamrec-$u@t.service)
  printf '%-20s %-9s seccomp=%s restarts=%s\n' "$u" "$(systemctl is-active streamrec-$u@t.service)" \
    "$(awk '/^Seccomp:/ {print $2}' /proc/$pid/status 2>/dev/null)" "$(systemctl show -p NRestarts --value streamrec-$u@t.service)"
done
for t in events metrics drift experiments alerts recommendations; do
  printf 'topic %-16s %s messages\n' $t "$(kcat -C -b "$K" -t $t -e -q -f 'x\n' 2>/dev/null | wc -l)"
done
echo "redis rec:* keys: $(REDISCLI_AUTH=pw-from-a-credential redis-cli -p 6390 --no-auth-warning --scan --pattern 'rec:*' | wc -l)"
for u in $stages recommender; do systemctl stop streamrec-$u@t.service & done; wait
for u in $stages recommender; do
  printf '%-20s stop: %s, exit %s\n' $u "$(systemctl show -p Result --value streamrec-$u@t.service)" \
    "$(systemctl show -p ExecMainStatus --value streamrec-$u@t.service)"
done
for u in $stages recommender recommender-train; do
  [ "$(systemctl show -p Result --value streamrec-$u@t.service)" = success ] ||
    journalctl -u streamrec-$u@t.service -o cat --no-pager | grep -v '^streamrec-\|^Failed to start' | tail -4
done
# (after the stop: the alerter sends what is queued when it drains)
echo "exec: payloads: $(grep -o "\"channel\"" /var/lib/streamrec/t/exec-alerts.jsonl 2>/dev/null | wc -l)"
echo "system calls refused (audit/SIGSYS lines in the journal): $(journalctl -b -k -o cat --no-pager | grep -ciE 'audit.*syscall|SIGSYS')"
journalctl -b -o cat --no-pager | grep -E 'code=killed|SIGSYS|status=31' | tail -3
systemctl stop nc-kafka nc-redis
IN
chmod +x "$R/opt/inside.sh"

# boot the container, run the checks inside, power it off
log=$(mktemp); systemd-nspawn -D "$R" -M streamrec-check --boot --register=no --keep-unit --console=pipe >"$log" 2>&1 &
nspid=$! leader=
stop() {
  if [ -n "$leader" ]; then nsenter -t "$leader" -a systemctl poweroff 2>/dev/null; else kill $nspid 2>/dev/null; fi
  wait $nspid 2>/dev/null; rm -f "$log"
}
trap stop EXIT
for i in $(seq 100); do
  leader=$(pgrep -P $nspid -x systemd || true)
  [ -n "$leader" ] && { nsenter -t "$leader" -a systemctl is-system-running --wait >/dev/null 2>&1 || true; break; }
  sleep 0.3
done
[ -n "$leader" ] || { cat "$log" >&2; echo "nspawn-check: the container did not boot" >&2; exit 1; }
nsenter -t "$leader" -a /opt/inside.sh "$@"
