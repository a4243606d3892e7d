#!/usr/bin/env bash
# aggregate: a series key as long as a record allows. The key of a series
# holds its name and labels (a Sample) or the experiment, variant and item
# (an Event); the pool the keys live in once grew a block without regard to
# the entry, so a key of ~16-256 KiB was written past a 16 KiB block (heap
# overflow, "malloc(): corrupted top size", issue 12). Both ways in, at
# ingest's default limits: a small sample, then the same one with 60 labels
# of ~1 KiB (~62 KiB of key); and one Event whose experiment is 20,000
# characters, written by fbcat. Each must come out as its Metric, key intact.
source "$(dirname "$0")/../lib.sh"

python3 - > "$T/samples.jsonl" <<'PY'
import json
base = {"metric_name": "cpu_usage", "value": 0.5, "ts": "2026-11-23T10:00:01Z", "labels": {"host": "h1"}}
print(json.dumps(base))
big = dict(base, ts="2026-11-23T10:00:02Z")
big["labels"] = {"host": "h1"}
for i in range(60):
    big["labels"]["k%02d" % i] = chr(ord("a") + i % 26) * 1000
print(json.dumps(big))
PY
"$BIN/ingest" < "$T/samples.jsonl" > "$T/samples.rec" 2>"$T/ingest.err" || die "ingest: $(cat "$T/ingest.err")"
expect_eq "ingest wrote both samples" "$("$BIN/fbcat" --count < "$T/samples.rec" | awk '$1 == "total" { print $2 }')" 2
"$BIN/aggregate" --window 60s --features none --format json < "$T/samples.rec" > "$T/samples.out" 2>"$T/agg.err"
expect_eq "aggregate on the long sample key: exit" "$?" 0
# one cpu_usage series per label set: the small one and the long one, each count 1
expect_eq "cpu_usage series" "$(jq -c 'select(.name=="cpu_usage") | [.count, (.labels|length)]' "$T/samples.out" | sort | tr '\n' ' ')" "[1,1] [1,61] "
expect_eq "the 60 long label values came out whole" \
  "$(jq -r 'select(.name=="cpu_usage") | .labels | to_entries[] | select(.key|startswith("k")) | .value | length' "$T/samples.out" | sort -u)" 1000

# An Event with a 20,000-character experiment (its key: kind, name, experiment, variant, item)
exp=$(python3 -c 'print("x" * 20000)')
printf '{"ts":1795428001000000,"user_id":"u1","item_id":"b1","type":"exposure","experiment":"%s","variant":"control"}\n' "$exp" \
  | "$BIN/fbcat" --encode Event > "$T/event.rec" 2>"$T/fbcat.err" || die "fbcat --encode: $(cat "$T/fbcat.err")"
"$BIN/aggregate" --window 60s --features none --format json < "$T/event.rec" > "$T/event.out" 2>"$T/agg2.err"
expect_eq "aggregate on the 20,000-character experiment: exit" "$?" 0
expect_eq "the experiment came out whole" \
  "$(jq -r '.labels.experiment // empty | length' "$T/event.out" | sort -u)" 20000
jq -e 'select(.msg=="done") | .events == 1' "$T/agg2.err" >/dev/null || fail "aggregate did not count the event: $(tail -n 3 "$T/agg2.err")"
finish
