#!/usr/bin/env bash
# ingest-kill-dedup — a crash of ingest changes no metric and no experiment
# result. 6,000 JSON lines (events, and samples: request latencies and
# errors, host samples, model metrics) go into a Kafka topic; ingest reads
# them into an `events` topic and is killed -9 after 3,400 lines
# (--crash-after: everything it wrote is delivered, nothing committed, the
# worst case of at least once), then restarted in the same consumer group:
# it reads again from its last commit and writes those records a second
# time, with the same event_ids and sample_ids (a sample's id comes from its
# Kafka position and bytes). The topic then holds every record once plus
# the copies (counted: distinct ids = the file run's records, the copies =
# the records of the lines read again, and it stays under 3 MiB, far from
# the mock's ~5 MiB per partition). aggregate reading that topic emits
# exactly the metrics of `ingest < file | aggregate`, byte for byte —
# latency percentiles and error rates included — every copy dropped as a
# duplicate or (once its windows closed) as late; experiment-analyzer gives
# the results of the file run, every event copy dropped. Without dedup
# neither does (so the comparisons can fail).
source "$(dirname "$0")/../lib.sh"
command -v kcat >/dev/null || die "kcat not installed (make deps)"
N=6000
# one partition each: one input order, as the file run has (several
# partitions and their watermarks are issue 11's)
start_kafka raw:1 events:1
X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)

"$GEN_EVENTS" --count $N --kind mixed --seed 5 --rate 100 --users 400 --items 100 \
  --experiment rec_algo_v1:0.30 > "$T/raw.jsonl"
cat > "$T/exp.yaml" <<'YAML'
experiments:
  - name: rec_algo_v1
    control: control
    variants:
      - {name: control, allocation: 0.5}
      - {name: treatment, allocation: 0.5}
    min_sample_size: 20
    metrics:
      - {name: purchase_rate, type: conversion, event: purchase, primary: true, tau: 0.02}
      - {name: revenue, type: numeric, event: purchase, aggregate: sum, tau: 2}
      - {name: rating, type: numeric, event: rating, aggregate: mean, tau: 1}
YAML
kcat -P -b "$KAFKA" -t raw -z none -l "$T/raw.jsonl" 2>"$T/kcat.err" || die "kcat produce: $(cat "$T/kcat.err")"

# the file run
"$BIN/ingest" < "$T/raw.jsonl" > "$T/file.rec" 2>"$T/file-ingest.err" || die "file run: ingest"
"$BIN/aggregate" --in "$T/file.rec" --window 60s --format json > "$T/file.json" 2>"$T/file-agg.err" || die "file run"
"$BIN/experiment-analyzer" --config "$T/exp.yaml" --report-every 0 --in "$T/file.rec" --format json \
  > "$T/file-exp.json" 2>"$T/file-exp.err" || die "file run: experiment-analyzer"
check "file run: metrics" [ "$(wc -l < "$T/file.json")" -gt 5000 ]

# ingest over Kafka, killed -9 mid-stream, restarted
timeout 120 "$BIN/ingest" --in "kafka://$KAFKA/raw?group=ingest" --out "kafka://$KAFKA/events" "${X[@]}" \
  --crash-after 3400 2>"$T/ingest1.err"
expect_eq "first ingest killed by SIGKILL" "$?" 137
sleep 7   # the dead member's session expires, so the restart gets the partition
timeout 120 "$BIN/ingest" --in "kafka://$KAFKA/raw?group=ingest&eof=1" --out "kafka://$KAFKA/events" "${X[@]}" \
  2>"$T/ingest2.err"
expect_eq "restarted ingest exit" "$?" 0
lines2=$(sed -n 's/.*"msg":"done","lines":\([0-9]*\).*/\1/p' "$T/ingest2.err")

# what the topic holds: every record, and the copies (a record is its id and name:
# the samples of one line share a producer's id, never a generated one)
timeout 60 "$BIN/fbcat" --in "kafka://$KAFKA/events?group=count&eof=1" "${X[@]}" > "$T/topic.json" 2>"$T/count.err"
total=$(wc -l < "$T/topic.json")
distinct=$(jq -r '"\(.event_id // .sample_id) \(.name)"' "$T/topic.json" | sort -u | wc -l)
samples=$(jq -r 'select(.sample_id) | .sample_id' "$T/topic.json" | wc -l)
copies=$((total - distinct))
records=$("$BIN/fbcat" --count < "$T/file.rec" | sed -n 's/^total //p')
bytes=$(timeout 60 kcat -C -b "$KAFKA" -t events -e -q -f '%S\n' 2>/dev/null | awk '{s += $1} END {print s + 0}')
echo "events topic: $total records ($samples samples), $distinct distinct, $copies copies, $bytes bytes; restarted ingest read $lines2 lines" >&2
expect_eq "every record of the file run in the topic once" "$distinct" "$records"
check "samples in the topic ($samples)" [ "$samples" -ge 1000 ]
check "the restart wrote copies ($copies)" [ "$copies" -ge 1 ]
again=$((lines2 - (N - 3400)))
check "lines read again ($again)" [ "$again" -ge 1 ]
sed -n "$((3401 - again)),3400p" "$T/raw.jsonl" | "$BIN/ingest" --format json > "$T/again.json" 2>/dev/null
expect_eq "the copies are the records of the lines read again" "$copies" "$(wc -l < "$T/again.json")"
check "samples among the copies" grep -q sample_id "$T/again.json"
check "topic under 3 MiB ($bytes bytes)" [ "$bytes" -gt 0 ] && [ "$bytes" -lt $((3 << 20)) ]

# aggregate over the topic == the file run
timeout 120 "$BIN/aggregate" --in "kafka://$KAFKA/events?group=agg&eof=1" "${X[@]}" --window 60s --format json \
  --dead-letter "$T/agg.dl" > "$T/kafka.json" 2>"$T/agg.err"
expect_eq "aggregate exit" "$?" 0
check "kafka run: metrics" [ -s "$T/kafka.json" ]
expect_eq "metrics after kill -9 of ingest == file run" "$(md5sum < "$T/kafka.json")" "$(md5sum < "$T/file.json")"
cmp -s "$T/kafka.json" "$T/file.json" || diff "$T/file.json" "$T/kafka.json" | head -4 >&2
done_n() { grep '"msg":"done"' "$T/$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
d=$(done_n agg.err duplicates); l=$(done_n agg.err late)
echo "aggregate: $d duplicates, $l late of $copies copies" >&2
expect_eq "events counted" "$(done_n agg.err events)" "$(done_n file-agg.err events)"
expect_eq "samples counted" "$(done_n agg.err samples)" "$(done_n file-agg.err samples)"
expect_eq "every copy dropped, as a duplicate ($d) or late ($l)" "$((d + l))" "$copies"
expect_eq "late copies dead-lettered" "$(cat "$T/agg.dl" 2>/dev/null | wc -l)" "$l"

# experiment-analyzer over the topic == the file run
timeout 120 "$BIN/experiment-analyzer" --config "$T/exp.yaml" --report-every 0 --in "kafka://$KAFKA/events?group=exp&eof=1" \
  "${X[@]}" --format json > "$T/kafka-exp.json" 2>"$T/exp.err"
expect_eq "experiment-analyzer exit" "$?" 0
check "experiment results" [ "$(wc -l < "$T/file-exp.json")" -ge 6 ]
expect_eq "experiment results after kill -9 of ingest == file run" "$(md5sum < "$T/kafka-exp.json")" "$(md5sum < "$T/file-exp.json")"
expect_eq "experiment-analyzer: every event copy dropped" "$(done_n exp.err duplicates)" \
  "$(grep -c '"event_id"' "$T/again.json")"
timeout 120 "$BIN/experiment-analyzer" --config "$T/exp.yaml" --report-every 0 --in "kafka://$KAFKA/events?group=exp0&eof=1" \
  "${X[@]}" --format json --dedup-window 0 > "$T/kafka-exp0.json" 2>"$T/exp0.err"
cmp -s "$T/kafka-exp0.json" "$T/file-exp.json" && fail "experiment-analyzer: without dedup the copies changed nothing"

# without dedup the copies count again
timeout 120 "$BIN/aggregate" --in "kafka://$KAFKA/events?group=agg0&eof=1" "${X[@]}" --window 60s --format json \
  --dedup-ids 0 > "$T/nodedup.json" 2>"$T/agg0.err"
cmp -s "$T/nodedup.json" "$T/file.json" && fail "without dedup the copies changed nothing"
python3 - "$T/file.json" "$T/nodedup.json" >&2 <<'PY'
import json, sys
def load(p):
    return {(r["name"], json.dumps(r.get("labels")), r["window_start"]): r for r in map(json.loads, open(p))}
a, b = load(sys.argv[1]), load(sys.argv[2])
print(f"without dedup: {sum(1 for k in a if a[k] != b.get(k))} of {len(a)} metrics differ from the file run")
sample = {k for k in a if k[0].startswith(("request.", "model.")) or k[0] in ("cpu_usage", "memory_usage", "disk_usage", "cache_hit_rate")}
print(f"  of them sample series: {sum(1 for k in sample if a[k] != b.get(k))} of {len(sample)}")
PY
finish
