#!/usr/bin/env bash
# kafka-pipeline: issue 11's end-to-end benchmark, on kafka-mock with
# 8-partition topics on this 2-core machine:
#   kcat -P raw → ingest ×K → events → aggregate --emit partials ×K → partials
#     → aggregate --merge ×1 → metrics → cache-writer ×K → Redis
# with K = 1, 2, 3 instances of each scalable stage, each stage in its own
# consumer group, beside kcat producing and consuming the same N JSON lines.
#
# Throughput: every stage is started on empty topics and its group left to
# settle; then kcat produces the N lines (keyed as below) and the clock runs
# until Redis holds the last metric. Live
# stages never close their last windows by themselves, so once the events
# topic holds all of ingest's records, one far-later event per events
# partition is sent through raw (it closes every real window, as later
# traffic would); once the metrics topic holds every metric of the file run,
# one marker Metric per metrics partition follows them, and the run ends
# when cache-writer has written all markers (each cache-writer writes its
# partition in order). The end is therefore late by up to a poll (0.2 s)
# plus the markers' own trip.
# Every figure is checked before it is printed: each topic's message count
# (the mock keeps only ~5 MiB per partition), no record refused as late, the
# merged metrics equal to a file run's (`ingest | aggregate`, sorted JSON,
# line for line), and Redis equal to cache-writer fed with the file run
# (DEBUG DIGEST of the whole data set).
# A run that fails a check prints FAILED and no rate.
# Each row: wall seconds, records/s (N input lines), per stage CPU µs per
# line (user+sys of all its instances, from /proc, after the groups
# settled) and peak RSS (the largest instance); then ratios to kcat -C:
# by wall time, and per core (kcat -C's CPU against the stages').
#
# Rebalance: 2 ingest, 2 emitters (--window 1s) and the merge, with the
# input produced at RATE lines/s in real time (event time = wall clock),
# one emitter killed -9 at +KILL_AT s, a third one joining at +JOIN_AT s.
# The merge's output latency per window (Kafka timestamp of its metrics −
# window end on the wall clock) gives: the steady latency before the kill
# (median), and for the kill and the join, when the instance concerned was
# given partitions it did not have, when results flow again (the last window
# more than 1 s later than steady came out) and the worst window's latency.
# The merged metrics must equal the file run's here too. The group notices
# a kill -9 after session.timeout.ms (6 s here, -X below; librdkafka's
# default is 45 s), so that is half of the kill's figure.
# About 3 minutes in all (KS="1 2" picks the instance counts, REBALANCE=0
# skips the second part, KBENCH_TINY=1 is a quick run, KBENCH_TRACE=1 times
# the phases on stderr):
#   N=100000 tests/bench/kafka-pipeline.sh
source "$(dirname "$0")/lib.sh"
TINY=${KBENCH_TINY:-0}
if [ "$TINY" = 1 ]; then   # a quick run: does the script still work and do its checks pass
  N=${N:-4000} KS=${KS:-1} REBALANCE=${REBALANCE:-0} GEN_RATE=20 KCAT_REPEAT=1
else
  N=${N:-100000} KS=${KS:-1 2 3} REBALANCE=${REBALANCE:-1} GEN_RATE=200 KCAT_REPEAT=3
fi
P=8                       # partitions of every topic
# GEN_RATE: lines per second of event time; 100,000 lines span 9 windows of 60 s
AGG="--window 60s --features none"
X="-X session.timeout.ms=6000 -X heartbeat.interval.ms=500 -X topic.metadata.refresh.interval.ms=1000"
# KBENCH_X: more -X for every stage, to weigh a librdkafka setting
# (KBENCH_X="-X compression.level=3": librdkafka's own zstd level)
X="$X ${KBENCH_X:-}"
W=$BT/kp; rm -rf "$W"; mkdir -p "$W"
PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
ANY_FAILED=0
fail() { echo "  FAILED: $*"; FAILED=1; ANY_FAILED=1; }
now() { date +%s.%N; }
T0=$(now)
phase() { [ -n "${KBENCH_TRACE:-}" ] && awk -v a="$T0" -v b="$(now)" -v m="$*" 'BEGIN { printf "  [%6.1fs] %s\n", b - a, m }' >&2; return 0; }

# ---- input, and what a file run gives ---------------------------------------
# the key of each line: from ingest's record of it (one record per line here)
KEYS_PY='
import json, sys
lines = open(sys.argv[1]).read().splitlines()
recs = sys.stdin.read().splitlines()
if len(recs) != len(lines): sys.exit("%d records from %d lines: not one each" % (len(recs), len(lines)))
for line, rec in zip(lines, recs):
    r = json.loads(rec)
    if "user_id" in r: key = r["user_id"]
    else: key = r["name"] + ("{" + ",".join("%s=%s" % kv for kv in sorted(r["labels"].items())) + "}" if r.get("labels") else "")
    print(key + "\t" + line)
'
# RAW_KEY=line (the default): raw lines keyed by line number, as a
# producer that knows nothing of ingest's keys would, all of gen-events'
# mixed traffic. One ingest keeps event time in step across its raw
# partitions (--max-partition-skew), and several ingest instances say how
# far they are with watermark marks in every events partition, so the
# emitters close windows by the slowest (schemas/README.md "Watermark
# marks"): at x2 with 100,000 lines 0 late, merged metrics and Redis equal
# to the file run (26,193 late before the marks).
# RAW_KEY=record: keyed by the key of ingest's record (below), request and
# model lines left out: raw partition p feeds events partition p only.
RAW_KEY=${RAW_KEY:-line}
# prepare DIR LINES SEED RATE: DIR/raw.jsonl and DIR/raw.keyed, kept between
# runs (they depend on the arguments only)
prepare() {
  local dir=$1-$RAW_KEY n=$2 seed=$3 rate=$4
  mkdir -p "$dir"
  [ -s "$dir/raw.keyed" ] && return 0
  if [ "$RAW_KEY" = line ]; then
    "$GEN_EVENTS" --count "$n" --kind mixed --seed "$seed" --rate "$rate" >"$dir/raw.jsonl"
    awk '{ print NR "\t" $0 }' "$dir/raw.jsonl" >"$dir/raw.keyed"
    return 0
  fi
  # mixed traffic less request and model lines: those give two Samples of
  # different series (keys) each, and every events partition must be fed by one
  # raw partition for its event time to stay in order (see below)
  "$GEN_EVENTS" --count $((n * 13 / 10)) --kind mixed --seed "$seed" --rate "$rate" |
    grep -v -e '"endpoint"' -e '"model_id"' | head -n "$n" >"$dir/raw.jsonl"
  # Each line keyed by the key of the record ingest makes of it (libstream
  # record_key: user_id, or series name{sorted labels}), so that raw partition
  # p feeds events partition p only (kcat and the stages share librdkafka's
  # default partitioner). (Keyed otherwise, ingest without
  # --max-partition-skew interleaved its input partitions as it read them,
  # and a backlog's event time went back and forth by minutes within each
  # events partition: with 60 s windows and 2 min of lateness, 10,107 of
  # 112,125 records were refused as late at x1.)
  "$BIN/ingest" <"$dir/raw.jsonl" 2>/dev/null | "$BIN/fbcat" --format json |
    python3 -c "$KEYS_PY" "$dir/raw.jsonl" >"$dir/raw.keyed.$$" || { echo "prepare failed"; exit 1; }
  mv "$dir/raw.keyed.$$" "$dir/raw.keyed"
}
# sentinels ISO-TIME: one far-later event per events partition, keyed as
# above (200 users cover all 8 partitions: checked in every run)
sentinels() {
  local i
  for i in $(seq 200); do
    printf 'zend%d\t{"event_id":"zend%d","ts":"%s","user_id":"zend%d","event_type":"view","session_id":"zend","item_id":"b1"}\n' \
      "$i" "$i" "$1" "$i"
  done
}
IN=$BT/kp-input-$N
prepare "$IN" "$N" 7 "$GEN_RATE"
IN=$IN-$RAW_KEY
phase "generated, keyed"
"$BIN/ingest" <"$IN/raw.jsonl" >"$W/ev.rec" 2>"$W/ingest-file.err" || { echo "prepare failed"; exit 1; }
E=$("$BIN/fbcat" --count <"$W/ev.rec" | awk '$1 == "total" { print $2 }')
"$BIN/aggregate" $AGG --format json <"$W/ev.rec" 2>"$W/agg-file.err" >"$W/file.json"
sort "$W/file.json" >"$W/file.sorted"
M=$(wc -l <"$W/file.sorted")
grep -q '"late":0,' "$W/agg-file.err" || { echo "the file run refuses records as late"; exit 1; }
# (gen-events starts at 2026-11-23T10:00:00Z, epoch 1795428000: an hour past twice its span)
sentinels "$(date -u -d "@$((1795428000 + 2 * N / GEN_RATE + 3600))" +%Y-%m-%dT%H:%M:%S.000Z)" >"$W/sentinel.keyed"
# markers after the metrics: the same 200-way spread over the metrics topic
for i in $(seq 200); do
  printf '{"name":"bench.end","labels":{"m":"%d"},"window_start":1,"window_end":2,"count":1,"value":1}\n' "$i"
done | "$BIN/fbcat" --encode Metric >"$W/markers.rec"
MARKER_KEYS=$(for i in $(seq 200); do printf 'metric:bench.end:m=%d ' "$i"; done)
bytes=$(wc -c <"$IN/raw.jsonl")
echo "  $N JSON lines ($((bytes / 1048576)) MiB) -> $E records -> $M metrics (60 s windows, no features); $P partitions per topic"
# What the producers' zstd level costs in bytes: the records compressed in
# pieces of a batch's size (librdkafka compresses each batch alone) at the
# stages' level (1, libstream/kafka.c) and at librdkafka's default (3)
if command -v zstd >/dev/null; then
  for kib in 16 64; do
    split -b $((kib * 1024)) "$W/ev.rec" "$W/zchunk."
    for lv in 1 3; do
      printf '%s %s %s\n' "$kib" "$lv" "$(zstd -q -"$lv" -c "$W"/zchunk.* | wc -c)"   # (one frame per piece)
    done
    rm -f "$W"/zchunk.*
  done | awk -v raw="$(wc -c <"$W/ev.rec")" '{ r[$1, $2] = $3; k[$1] = 1 } END {
    for (kib in k) printf "  events in %d KiB batches, zstd -1: %.2fx smaller, -3: %.2fx (-1 writes %.1f%% more bytes)\n",
      kib, raw / r[kib, 1], raw / r[kib, 3], (r[kib, 1] / r[kib, 3] - 1) * 100 }' | sort -n -k3
fi

# ---- servers ----------------------------------------------------------------
phase "file runs"
REDIS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$W/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$W/redis" --save '' --appendonly no \
  --daemonize no --logfile "$W/redis/log" --enable-debug-command local &
PIDS+=($!)
for i in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
RC="redis-cli -p $REDIS_PORT"
redis_digest() { $RC debug digest; }
# what Redis holds after cache-writer is fed the file run: the truth
"$BIN/fbcat" --encode Metric <"$W/file.json" | "$BIN/cache-writer" --redis "redis://127.0.0.1:$REDIS_PORT" 2>/dev/null ||
  { echo "cache-writer file run failed"; exit 1; }
TRUTH=$(redis_digest) TRUTH_KEYS=$($RC dbsize)

start_kafka() {   # a fresh mock per run: the runs do not share the ~5 MiB per partition
  "$BIN/kafka-mock" "raw:$P" "events:$P" "partials:$P" "metrics:$P" >"$W/kafka-mock.out" 2>/dev/null &
  KM=$!; PIDS+=($KM)
  local i; for i in $(seq 100); do K=$(head -n1 "$W/kafka-mock.out" 2>/dev/null); [ -n "$K" ] && return 0; sleep 0.1; done
  echo "kafka-mock did not start"; exit 1
}
stop_kafka() { kill "$KM" 2>/dev/null; wait "$KM" 2>/dev/null; }
held() {   # held TOPIC: messages in the topic (the sum of its partitions' end offsets)
  local a=() p; for p in $(seq 0 $((P - 1))); do a+=(-t "$1:$p:-1"); done
  kcat -Q -b "$K" "${a[@]}" 2>/dev/null | awk '$3 == "offset" { s += $4 } END { print s + 0 }'
}
per_partition() {   # per_partition TOPIC: "p0=n p1=n ..." as kcat reads them (records: watermark marks have no key)
  timeout 60 kcat -C -b "$K" -t "$1" -e -q -f '%K %p\n' 2>/dev/null | awk '$1 >= 0 { print $2 }' | sort -n | uniq -c |
    awk '{ printf " p%s=%s", $2, $1 }'
}
records() {   # records TOPIC: messages less ingest's watermark marks (the only messages without a key)
  timeout 60 kcat -C -b "$K" -t "$1" -e -q -f '%K\n' 2>/dev/null | awk '$1 >= 0 { n++ } END { print n + 0 }'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
TCK=$(getconf CLK_TCK)
wait_records() {   # wait_records TOPIC TARGET: as wait_count, counting records (a read of the whole topic: once a second)
  local n last=-1 since; since=$(date +%s)
  while :; do
    n=$(records "$1")
    [ "$n" -ge "$2" ] && return 0
    [ "$n" != "$last" ] && { last=$n; since=$(date +%s); }
    [ $(( $(date +%s) - since )) -ge 45 ] && return 1
    sleep 1
  done
}
wait_count() {   # wait_count TOPIC TARGET: until it holds TARGET messages; 1 when 45 s pass with none added
  local n last=-1 since; since=$(date +%s)
  while :; do
    n=$(held "$1")
    [ "$n" -ge "$2" ] && return 0
    [ "$n" != "$last" ] && { last=$n; since=$(date +%s); }
    [ $(( $(date +%s) - since )) -ge 45 ] && return 1
    sleep 0.2
  done
}
wait_for() {   # wait_for SECONDS CONDITION: poll every 0.2 s
  local end=$(( $(date +%s) + $1 ))
  while ! eval "$2"; do [ "$(date +%s)" -ge "$end" ] && return 1; sleep 0.2; done
}
assigned_all() {   # every log named has a partition assignment, and none came in the last 1.5 s
  local f
  for f in "$@"; do grep -q '"kafka partition assigned"' "$f" || return 1; done
  # (the logs' newest change, to the ms)
  [ "$(stat -c %.3Y "$@" | sort -n | tail -n1 | awk -v t="$(now)" '{ print (t - $1 >= 1.5) }')" = 1 ]
}
stage() {   # stage NAME LOG CMD...: start one instance in the background
  local name=$1 log=$2; shift 2
  "$@" 2>"$log" &
  local pid=$!; PIDS+=($pid); SP[$name]=$pid; SLOG[$name]=$log
}

# ---- kcat, the yardstick ----------------------------------------------------
phase "the truth in Redis"
echo "  -- kcat on the same lines (topic raw, $P partitions)"
start_kafka
measure "kcat -P (produce, keyed)" "$N" "kcat -P -b $K -t raw -K '\t' < $IN/raw.keyed"
n=$(held raw)
[ "$n" = "$N" ] || { echo "  the raw topic holds $n of $N lines: not measuring"; exit 1; }
# the best of 3 (its CPU time is a few ticks: one slow tick is 10%)
for r in $(seq "$KCAT_REPEAT"); do
  /usr/bin/time -o "$W/kcat.time" -f '%e %U %S %M' kcat -C -b "$K" -t raw -e -q -o beginning >/dev/null
  awk '{ print $1, $2 + $3, $4 }' "$W/kcat.time"
done >"$W/kcat.times"
KC_WALL=$(sort -n -k1,1 "$W/kcat.times" | head -n1 | cut -d' ' -f1)
KC_CPU=$(sort -n -k2,2 "$W/kcat.times" | head -n1 | cut -d' ' -f2)
KC_RSS=$(sort -n -k3,3 "$W/kcat.times" | tail -n1 | cut -d' ' -f3)
BENCH_SECS["kcat -C"]=$KC_WALL
awk -v s="$KC_WALL" -v n="$N" -v c="$KC_CPU" -v m="$KC_RSS" 'BEGIN {
  printf "  %-34s %8.2fs %12.0f rec/s   cpu %5.2f us/rec %7.1f MiB peak\n", "kcat -C (to the end)", s, n / s, c * 1e6 / n, m / 1024 }'
kcat -P -b "$K" -t raw -K '\t' <"$W/sentinel.keyed"
RAW_SPREAD=$(per_partition raw)   # the same keys, so the same spread in every run
stop_kafka

# ---- the pipeline at 1, 2, 3 instances --------------------------------------
declare -A SP SLOG
run_pipeline() {
  local k=$1 i name t0 t1 tm ti FAILED=0
  SP=() SLOG=()
  start_kafka
  $RC -n 0 flushdb >/dev/null
  for i in $(seq "$k"); do
    stage "ingest$i" "$W/x$k-ingest$i.err" "$BIN/ingest" --in "kafka://$K/raw?group=ing" $X --out "kafka://$K/events"
    stage "emit$i" "$W/x$k-emit$i.err" "$BIN/aggregate" --emit partials --in "kafka://$K/events?group=agg" $X $AGG \
      --out "kafka://$K/partials"
    stage "cw$i" "$W/x$k-cw$i.err" "$BIN/cache-writer" --in "kafka://$K/metrics?group=cw" $X \
      --redis "redis://127.0.0.1:$REDIS_PORT/0"
  done
  stage merge "$W/x$k-merge.err" "$BIN/aggregate" --merge --in "kafka://$K/partials?group=mrg" $X $AGG \
    --out "kafka://$K/metrics"
  # (stdout of the emitters and the merge is unused: --out is Kafka)
  if ! wait_for 60 'assigned_all "${SLOG[@]}"'; then
    fail "x$k: not every instance got partitions within 60 s"; return 1
  fi
  phase "x$k: groups settled"
  declare -A c0
  for name in "${!SP[@]}"; do c0[$name]=$(cpu_ticks "${SP[$name]}"); done
  local km0; km0=$(cpu_ticks "$KM")
  t0=$(now)
  kcat -P -b "$K" -t raw -K '\t' <"$IN/raw.keyed" || fail "x$k: produce"
  # (the end offsets count ingest's watermark marks too: then the records, exactly)
  wait_count events "$E" && wait_records events "$E" ||
    fail "x$k: the events topic holds $(records events) of $E records (none added in 45 s)"
  ti=$(now)
  kcat -P -b "$K" -t raw -K '\t' <"$W/sentinel.keyed" || fail "x$k: produce the closing events"
  wait_count metrics "$M" || fail "x$k: the metrics topic holds $(held metrics) of $M metrics (none added in 45 s)"
  tm=$(now)
  "$BIN/fbcat" --records --out "kafka://$K/metrics" <"$W/markers.rec" 2>/dev/null || fail "x$k: produce the markers"
  # (EXISTS of the 200 keys: one round trip, where a SCAN walks every key)
  wait_for 120 '[ "$($RC -n 0 exists $MARKER_KEYS)" -ge 200 ]' ||
    fail "x$k: cache-writer wrote $($RC -n 0 exists $MARKER_KEYS) of 200 markers in 120 s"
  t1=$(now)
  # CPU and peak memory per stage, before stopping anything
  declare -A cpu rss
  for name in "${!SP[@]}"; do
    local st=${name%%[0-9]*} c r
    c=$(( $(cpu_ticks "${SP[$name]}") - ${c0[$name]} )); r=$(hwm_kib "${SP[$name]}")
    cpu[$st]=$(( ${cpu[$st]:-0} + c ))
    [ "$r" -gt "${rss[$st]:-0}" ] && rss[$st]=$r
  done
  local kmc=$(( $(cpu_ticks "$KM") - km0 ))
  for name in "${!SP[@]}"; do kill -TERM "${SP[$name]}" 2>/dev/null; done
  for name in "${!SP[@]}"; do
    wait "${SP[$name]}"; local rc=$?
    [ "$rc" = 0 ] || fail "x$k: $name exit $rc after SIGTERM"
  done
  phase "x$k: stopped"
  # ---- checks: counts, lateness, merged == file run, Redis == file run
  local nev; nev=$(records events)
  [ "$nev" = "$((E + 200))" ] || fail "x$k: the events topic holds $nev records, not $E + 200 (each once)"
  local late; late=$(cat "$W"/x$k-emit*.err | grep '"msg":"done"' | sed 's/.*"late":\([0-9]*\).*/\1/' | awk '{ s += $1 } END { print s + 0 }')
  [ "$late" = 0 ] || fail "x$k: the emitters refused $late records as late"
  local parts; parts=$(per_partition events)
  local np; np=$(echo "$parts" | wc -w)
  [ "$np" = "$P" ] || fail "x$k: records on $np of $P events partitions:$parts"
  # (a request line makes 2 records, so this compares the spread, not counts: 1 record per line here)
  [ "$RAW_KEY" = line ] || [ "$RAW_SPREAD" = "$parts" ] ||
    fail "x$k: raw partition p did not feed events partition p: raw$RAW_SPREAD, events$parts"
  timeout 60 "$BIN/fbcat" --in "kafka://$K/metrics" -e --format json 2>/dev/null | grep -v '"name":"bench.end"' |
    sort >"$W/x$k-merged.sorted"
  local diff; diff=$(comm -3 "$W/file.sorted" "$W/x$k-merged.sorted" | wc -l)
  [ "$diff" = 0 ] || fail "x$k: merged metrics differ from the file run in $diff lines ($(wc -l <"$W/x$k-merged.sorted") against $M)"
  $RC del $MARKER_KEYS >/dev/null
  [ "$(redis_digest)" = "$TRUTH" ] ||
    fail "x$k: Redis differs from the file run's ($($RC dbsize) keys against $TRUTH_KEYS)"
  local psz; psz=$(timeout 60 kcat -C -b "$K" -t partials -e -q -f '%p %S\n' 2>/dev/null |
    awk '{ n++; s[$1] += $2 } END { m = 0; for (p in s) if (s[p] > m) m = s[p]; printf "%d %.1f", n, m / 1048576 }')
  stop_kafka
  phase "x$k: checked"
  if [ "$FAILED" = 1 ]; then
    echo "  pipeline x$k: FAILED, no figure (logs: $W/x$k-*.err)"
    return 1
  fi
  local secs; secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  BENCH_SECS["pipeline x$k"]=$secs
  PCPU[$k]=$(( ${cpu[ingest]} + ${cpu[emit]} + ${cpu[merge]} + ${cpu[cw]} ))
  awk -v n="pipeline x$k" -v s="$secs" -v r="$N" -v si="$ti" -v sm="$tm" -v a="$t0" -v m="$(( ${rss[ingest]} > ${rss[emit]} ? ${rss[ingest]} : ${rss[emit]} ))" \
    'BEGIN { printf "  %-34s %8.2fs %12.0f rec/s   (ingest done at %.1fs, merge at %.1fs)\n", n, s, r / s, si - a, sm - a }'
  local st
  for st in ingest emit merge cw; do
    local label; case $st in ingest) label="ingest x$k";; emit) label="aggregate --emit partials x$k";;
      merge) label="aggregate --merge x1";; cw) label="cache-writer x$k";; esac
    awk -v l="$label" -v c="${cpu[$st]}" -v t="$TCK" -v n="$N" -v m="${rss[$st]}" -v kc="$KC_CPU" \
      'BEGIN { printf "    %-32s cpu %6.2f us/line (%.2fx kcat -C) %7.1f MiB peak\n", l, c / t * 1e6 / n, (c / t) / kc, m / 1024 }'
  done
  awk -v c="$kmc" -v t="$TCK" -v n="$N" 'BEGIN { printf "    %-32s cpu %6.2f us/line\n", "kafka-mock (the broker)", c / t * 1e6 / n }'
  echo "    checked: $nev records in events ($parts ), partials $psz MiB in its largest partition, $M metrics equal to the file run's, Redis equal, 0 late"
  awk -v k="$k" -v c="${PCPU[$k]}" -v t="$TCK" -v kc="$KC_CPU" \
    'BEGIN { printf "  cpu ratio: kcat -C uses %.2fx the CPU time of pipeline x%d (all stages)\n", kc / (c / t), k }'
  if [ "$k" = 1 ]; then   # each stage alone, for the guard (at x1: no group overhead)
    for st in ingest emit merge cw; do
      local l; case $st in ingest) l=ingest;; emit) l="aggregate --emit partials";; merge) l="aggregate --merge";;
        cw) l=cache-writer;; esac
      awk -v l="$l" -v c="${cpu[$st]}" -v t="$TCK" -v kc="$KC_CPU" \
        'BEGIN { printf "  cpu ratio: kcat -C uses %.2fx the CPU time of %s x1\n", kc / (c / t), l }'
    done
  fi
}
declare -A PCPU
phase "kcat rows"
echo "  -- the pipeline (rate from kcat -P's start to the last metric in Redis)"
for k in $KS; do run_pipeline "$k"; done
for k in $KS; do
  [ "${BENCH_SECS[pipeline x$k]:-}" ] && ratio "pipeline x$k" "kcat -C"
done
echo "  (goal, issue 11: the pipeline at >= 0.5x kcat -C's rate per core, i.e. cpu ratio >= 0.5)"

# ---- rebalance: how long results stop after a kill -9 and after a join ------
[ "$REBALANCE" = 1 ] || exit "$ANY_FAILED"
RATE=${RATE:-2000} DUR=${DUR:-40} KILL_AT=${KILL_AT:-8} JOIN_AT=${JOIN_AT:-28}
AGG1="--window 1s --features none --allowed-lateness 1s"
RB=$BT/kp-rebalance-$RATE-$DUR
prepare "$RB" $((RATE * DUR)) 8 "$RATE"
RB=$RB-$RAW_KEY
NR=$(wc -l <"$RB/raw.keyed")
"$BIN/ingest" <"$RB/raw.jsonl" 2>/dev/null | "$BIN/aggregate" $AGG1 --format json 2>/dev/null | sort >"$W/rb-file.sorted"
MR=$(wc -l <"$W/rb-file.sorted")
sentinels "$(date -u -d "@$((1795428000 + 2 * DUR + 3600))" +%Y-%m-%dT%H:%M:%S.000Z)" >"$W/rb-sentinel.keyed"
echo "  -- rebalance: ${NR} lines produced in real time (gen-events at $RATE/s$([ "$RAW_KEY" = line ] || echo " less the request and model lines"), keyed by $RAW_KEY), 1 s windows ($MR metrics); 2 ingest, 2 emitters, the merge"
SP=() SLOG=()
start_kafka
for i in 1 2; do
  stage "ingest$i" "$W/rb-ingest$i.err" "$BIN/ingest" --in "kafka://$K/raw?group=ing" $X --out "kafka://$K/events"
  stage "emit$i" "$W/rb-emit$i.err" "$BIN/aggregate" --emit partials --in "kafka://$K/events?group=agg" $X $AGG1 \
    --out "kafka://$K/partials"
done
stage merge "$W/rb-merge.err" "$BIN/aggregate" --merge --in "kafka://$K/partials?group=mrg" $X $AGG1 --out "kafka://$K/metrics"
wait_for 60 'assigned_all "${SLOG[@]}"' || { echo "  FAILED: not every instance got partitions within 60 s"; exit 1; }
# paced: each line leaves when the wall clock since the start reaches its
# event time since the first line's (1795428000: gen-events' start)
python3 -c '
import re, sys, time, datetime
t0 = float(sys.argv[1]); ts_re = re.compile(r"\"ts\":\"?([^,\"}]+)")
out = sys.stdout
for line in sys.stdin:
    v = ts_re.search(line).group(1)
    t = datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp() if "T" in v else float(v)
    d = t0 + (t - 1795428000) - time.time()
    if d > 0.002:
        out.flush(); time.sleep(d)
    out.write(line)
out.flush()
' "$(awk -v t="$(now)" 'BEGIN { printf "%.3f", t + 1 }')" <"$RB/raw.keyed" | kcat -P -b "$K" -t raw -K '\t' &
PRODUCER=$!; PIDS+=($PRODUCER)
RB_T0=$(awk -v t="$(now)" 'BEGIN { printf "%.3f", t + 1 }')   # (within a few ms of the producer's)
sleep $(awk -v a="$RB_T0" -v b="$(now)" -v k="$KILL_AT" 'BEGIN { print a + k - b }')
T_KILL=$(now); kill -9 "${SP[emit2]}"; wait "${SP[emit2]}" 2>/dev/null
sleep $(awk -v a="$RB_T0" -v b="$(now)" -v k="$JOIN_AT" 'BEGIN { print a + k - b }')
T_JOIN=$(now)
stage emit3 "$W/rb-emit3.err" "$BIN/aggregate" --emit partials --in "kafka://$K/events?group=agg" $X $AGG1 \
  --out "kafka://$K/partials"
wait "$PRODUCER" || echo "  FAILED: the producer"
FAILED=0
ER=$("$BIN/ingest" <"$RB/raw.jsonl" 2>/dev/null | "$BIN/fbcat" --count | awk '$1 == "total" { print $2 }')   # (a request line gives 2)
wait_count events "$ER" && wait_records events "$ER" || fail "rebalance: the events topic holds $(records events) of $ER records"
kcat -P -b "$K" -t raw -K '\t' <"$W/rb-sentinel.keyed"
wait_count metrics "$MR" || fail "rebalance: the metrics topic holds $(held metrics) of $MR metrics (none added in 45 s)"
for name in ingest1 ingest2 emit1 emit3 merge; do kill -TERM "${SP[$name]}" 2>/dev/null; done
for name in ingest1 ingest2 emit1 emit3 merge; do wait "${SP[$name]}" || fail "rebalance: $name exit $? after SIGTERM"; done
timeout 60 "$BIN/fbcat" --in "kafka://$K/metrics" -e -m --format json 2>/dev/null >"$W/rb-merged.json"
timeout 60 "$BIN/fbcat" --in "kafka://$K/metrics" -e --format json 2>/dev/null | sort >"$W/rb-merged.sorted"
d=$(comm -3 "$W/rb-file.sorted" "$W/rb-merged.sorted" | wc -l)
[ "$d" = 0 ] || fail "rebalance: merged metrics differ from the file run in $d lines ($(wc -l <"$W/rb-merged.sorted") against $MR)"
stop_kafka
python3 - "$W/rb-merged.json" "$RB_T0" "$T_KILL" "$T_JOIN" "$W/rb-emit1.err" "$W/rb-emit3.err" <<'PY'
import json, sys, statistics, datetime
path, t0, t_kill, t_join = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
emit = {}
for line in open(path):
    r = json.loads(line)
    w = r["window_end"] / 1e6
    emit[w] = max(emit.get(w, 0), r["_kafka"]["ts_ms"] / 1e3)
wall = lambda w: t0 + (w - 1795428000)        # when the window's end passed, on the wall clock
lat = {w: emit[w] - wall(w) for w in emit}
steady = [lat[w] for w in lat if t0 + 3 <= wall(w) < t_kill]
L0 = statistics.median(steady); thr = L0 + 1
def recovery(t_ev, t_next):
    # the windows that ended from just before the event until the next one
    # (less 5 s: those are the next event's); results flow again once the
    # last of them that came out late has come out
    win = [w for w in lat if t_ev - 2 <= wall(w) < t_next - 5]
    late = [w for w in win if lat[w] > thr]
    worst = max(lat[w] for w in win)
    return (max(emit[w] for w in late) - t_ev if late else 0.0), worst
def took_new(log, since):
    # when the instance was first given a partition it did not have before
    had, t_new = set(), float("nan")
    for l in open(log):
        try: r = json.loads(l)
        except ValueError: continue
        if r.get("msg") != "kafka partition assigned": continue
        t = datetime.datetime.strptime(r["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
        if t <= since: had.add(r["partition"])
        elif r["partition"] not in had: return t - since
    return t_new
end = max(wall(w) for w in lat)
rk, wk = recovery(t_kill, t_join)
rj, wj = recovery(t_join, end)
print("  %.0f s of traffic; steady: a 1 s window's metrics leave the merge %.1f s after its end (median of %d windows)" % (end - t0, L0, len(steady)))
print("  kill -9 of 1 of 2 emitters: the survivor was given its partitions after %.1f s; results flowing again after %.1f s (worst window %.1f s late)"
      % (took_new(sys.argv[5], t_kill), rk, wk))
print("  a 3rd emitter joins: it had partitions after %.1f s; results flowing again after %.1f s (worst window %.1f s late)"
      % (took_new(sys.argv[6], t_join), rj, wj))
PY
if [ "$FAILED" = 1 ]; then echo "  rebalance: FAILED (logs: $W/rb-*.err)"; exit 1; fi
echo "    checked: $MR merged metrics equal to the file run's (no window lost or counted twice through the kill and the join)"
exit "$ANY_FAILED"
