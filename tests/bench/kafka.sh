#!/usr/bin/env bash
# Kafka consume throughput (kafka-mock, 8 partitions, 100,000 events keyed
# by user, ~2 MiB per partition): kcat reading the topic, fbcat counting it
# through libstream, and aggregate (60 s windows, no features) as 1, 2 and 3
# instances of one consumer group, each to the end of the topic (eof=1).
# fbcat's wall time includes joining the group (seconds on the mock); the
# aggregate rows count from the first partition assignment. The mock
# broker shares the 2 cores with the consumers. aggregate as several
# instances is measured for speed only (plain aggregate: each emits its
# share; merged results are kafka-pipeline.sh's, systemd/README.md
# "Scaling out").
source "$(dirname "$0")/lib.sh"
N=100000
"$GEN_EVENTS" --count "$N" --kind interactions --seed 5 --users 5000 --items 2000 \
  | "$BIN/ingest" >"$BT/kafka-ev.rec" 2>/dev/null || { echo "prepare failed"; exit 1; }
"$BIN/kafka-mock" events:8 >"$BT/kafka-mock.out" 2>/dev/null &
KM=$!
trap 'kill $KM 2>/dev/null; wait $KM 2>/dev/null' EXIT
for i in $(seq 100); do K=$(head -n1 "$BT/kafka-mock.out" 2>/dev/null); [ -n "$K" ] && break; sleep 0.1; done
"$BIN/fbcat" --records --out "kafka://$K/events" <"$BT/kafka-ev.rec" 2>/dev/null || { echo "produce failed"; exit 1; }
held=$(timeout 120 kcat -C -b "$K" -t events -e -q -f '%p\n' 2>/dev/null | wc -l)
[ "$held" = "$N" ] || { echo "the topic holds $held of $N events: not measuring"; exit 1; }
X="-X session.timeout.ms=6000 -X heartbeat.interval.ms=500"
group=0
# after_join NAME K: K aggregate instances in a fresh group, all to the end;
# the rate counts from the first partition assignment to the last "done"
# (joining the group, a few seconds of the mock's rebalance protocol, is
# left out: it is paid once per start, not per record)
after_join() {
  local name=$1 k=$2 i pids=()
  group=$((group + 1))
  : >"$BT/kafka-agg.log"
  for i in $(seq "$k"); do
    "$BIN/aggregate" --in "kafka://$K/events?group=agg$group&eof=1" $X --window 60s --features none \
      >/dev/null 2>>"$BT/kafka-agg.log" &
    pids+=($!)
  done
  wait "${pids[@]}"
  python3 - "$BT/kafka-agg.log" "$N" "$name" <<'PY'
import json, sys, datetime
t = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
start, end = None, None
for l in open(sys.argv[1]):
    try: r = json.loads(l)
    except ValueError: continue
    if r.get("msg") == "kafka partition assigned" and start is None: start = t(r["ts"])
    if r.get("msg") == "done": end = t(r["ts"]) if end is None else max(end, t(r["ts"]))
n = int(sys.argv[2])
if start is None or end is None: print("  %-34s no timing in the logs" % sys.argv[3]); sys.exit(0)
print("  %-34s %8.2fs %12.0f rec/s   (first assignment to last done)" % (sys.argv[3], end - start, n / max(end - start, 0.01)))
PY
}
measure "kcat -C (to the end)" "$N" "kcat -C -b $K -t events -e -q -o beginning >/dev/null"
measure "fbcat --count (one member)" "$N" "$BIN/fbcat --in 'kafka://$K/events?group=f1&eof=1' $X --count"
after_join "aggregate x1" 1
after_join "aggregate x2 (one group)" 2
after_join "aggregate x3 (one group)" 3
