#!/usr/bin/env bash
# 100-ingest-golden — input lines and the exact records out, read back
# through fbcat (which prints what flatc --json prints: schema order, fields
# at their default omitted, enum names). Expected values were worked out by
# hand: timestamps with python's datetime, event types from the mapping in
# the issue, labels sorted by key.
source "$(dirname "$0")/../lib.sh"

cat > "$T/in.jsonl" <<'IN'
{"user_id":"user123","event_type":"book_view","item_id":"book456","session_id":"session789","metadata":{"source":"recommendation","position":1},"event_id":"a1","ts":"2026-11-23T09:30:00.5+01:00"}
{"user_id":"u2","event_type":"purchase","item_id":"b9","value":12.99,"event_id":"a2","ts":1795391999999999,"metadata":{"experiment":"rec_algo_v1","variant":"treatment","coupon":{"code":"X1","pct":10},"tags":["a","b"]}}
{"user_id":"caf\u00e9","event_type":"wishlist","event_id":"a3","timestamp":"2026-11-23","metadata":{"note":"line\nbreak \"quoted\""}}
{"user_id":"u4","event_type":"impression","event_id":"a4","ts":1795392000123}
{"metric_name":"cpu_usage","value":75.5,"ts":1795392000,"metadata":{"source":"system_monitor","host":"h1"}}
{"model_id":"recommendation_model_v1","model_version":"v1.0","ts":1795392000.25,"metrics":[{"type":"accuracy","value":0.85},{"type":"latency_ms","value":120}]}
{"endpoint":"/api/recommendations","duration_ms":42,"status":200,"ts":1795392000}
{"endpoint":"/api/recommendations","duration_ms":1500.5,"status":502,"ts":1795392001}
IN

cat > "$T/want.jsonl" <<'WANT'
{"event_id":"a1","ts":1795422600500000,"user_id":"user123","item_id":"book456","session_id":"session789","type":"view","name":"book_view","source":"recommendation","position":1}
{"event_id":"a2","ts":1795391999999999,"user_id":"u2","item_id":"b9","type":"purchase","name":"purchase","value":12.99,"experiment":"rec_algo_v1","variant":"treatment","attrs":[{"key":"coupon.code","value":"X1"},{"key":"coupon.pct","value":"10"},{"key":"tags","value":"[\"a\",\"b\"]"}]}
{"event_id":"a3","ts":1795392000000000,"user_id":"café","type":"custom","name":"wishlist","attrs":[{"key":"note","value":"line\nbreak \"quoted\""}]}
{"event_id":"a4","ts":1795392000123000,"user_id":"u4","name":"impression"}
{"ts":1795392000000000,"name":"cpu_usage","value":75.5,"labels":[{"key":"host","value":"h1"},{"key":"source","value":"system_monitor"}]}
{"ts":1795392000250000,"name":"model.accuracy","value":0.85,"labels":[{"key":"model_id","value":"recommendation_model_v1"},{"key":"model_version","value":"v1.0"}]}
{"ts":1795392000250000,"name":"model.latency_ms","value":120,"labels":[{"key":"model_id","value":"recommendation_model_v1"},{"key":"model_version","value":"v1.0"}]}
{"ts":1795392000000000,"name":"request.duration_ms","value":42,"labels":[{"key":"endpoint","value":"/api/recommendations"},{"key":"status_class","value":"2xx"}]}
{"ts":1795392000000000,"name":"request.error","labels":[{"key":"endpoint","value":"/api/recommendations"}]}
{"ts":1795392001000000,"name":"request.duration_ms","value":1500.5,"labels":[{"key":"endpoint","value":"/api/recommendations"},{"key":"status_class","value":"5xx"}]}
{"ts":1795392001000000,"name":"request.error","value":1,"labels":[{"key":"endpoint","value":"/api/recommendations"}]}
WANT

check "ingest exits 0" "$BIN/ingest" --in "$T/in.jsonl" --out "$T/out.rec" 2>"$T/err"
"$BIN/fbcat" --json-style flatc < "$T/out.rec" > "$T/got.jsonl" || fail "fbcat failed"   # the golden file's form
# compare as JSON values (key order and number spelling are fbcat's business)
python3 - "$T/got.jsonl" "$T/want.jsonl" <<'PY' || fail "records differ from the golden file"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
want = [json.loads(l) for l in open(sys.argv[2])]
if len(got) != len(want):
    print("got %d records, want %d" % (len(got), len(want))); sys.exit(1)
bad = 0
for i, (g, w) in enumerate(zip(got, want)):
    if g != w:
        print("record %d:\n  got  %s\n  want %s" % (i + 1, json.dumps(g, sort_keys=True), json.dumps(w, sort_keys=True))); bad = 1
sys.exit(bad)
PY
# record types, in order
expect_eq "record types" "$("$BIN/fbcat" --count < "$T/out.rec" | tr '\n' ' ')" "Event 4 Sample 7 total 11 "
# --format json prints the same records as fbcat does
"$BIN/ingest" --in "$T/in.jsonl" --format json --json-style flatc > "$T/direct.jsonl" 2>/dev/null
check "--format json equals fbcat of the records" cmp -s "$T/direct.jsonl" "$T/got.jsonl"
"$BIN/ingest" --in "$T/in.jsonl" --format json > "$T/direct-jq.jsonl" 2>/dev/null
check "--format json equals fbcat of the records (jq form)" cmp -s "$T/direct-jq.jsonl" <("$BIN/fbcat" < "$T/out.rec")
# stdin, a .zst file and a plain file give the same bytes
zstd -q -c "$T/in.jsonl" > "$T/in.jsonl.zst"
"$BIN/ingest" --in "$T/in.jsonl.zst" --out "$T/z.rec" 2>/dev/null
"$BIN/ingest" < "$T/in.jsonl" > "$T/s.rec" 2>/dev/null
check ".zst input gives the same records" cmp -s "$T/z.rec" "$T/out.rec"
check "stdin gives the same records" cmp -s "$T/s.rec" "$T/out.rec"
# the summary log line counts
grep -q '"msg":"done","lines":8,"ok":8,"refused":0,"duplicates":0,"events":4,"samples":7' "$T/err" \
  || fail "summary log line: $(tail -n1 "$T/err")"
finish
