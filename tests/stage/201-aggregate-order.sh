#!/usr/bin/env bash
# aggregate: input out of order by less than --allowed-lateness gives
# byte-identical output to sorted input (tumbling, hopping, several windows,
# features on); hopping windows equal the sum of their tumbling parts; late
# events are dead-lettered and counted and change nothing; records of other
# types are ignored (counted) or passed through; out-of-range event times are
# refused; --max-series bounds the series and counts what it refuses.
. "$(dirname "$0")/../lib.sh"

"$GEN_EVENTS" --count 8000 --kind mixed --seed 11 --rate 50 --users 500 --items 200 > "$T/sorted.jsonl"
# bounded shuffle: order by ts + U[0,4s): nothing moves by more than 4 s
python3 - "$T/sorted.jsonl" > "$T/shuffled.jsonl" <<'PY'
import json, random, sys, datetime
random.seed(5)
rows = []
for line in open(sys.argv[1]):
    ts = json.loads(line)["ts"]
    if isinstance(ts, str):
        ts = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    rows.append((ts + random.uniform(0, 4), line))
rows.sort(key=lambda r: r[0])
sys.stdout.write("".join(l for _, l in rows))
PY
cmp -s "$T/sorted.jsonl" "$T/shuffled.jsonl" && die "shuffle did nothing"
"$BIN/ingest" < "$T/sorted.jsonl" > "$T/sorted.rec" 2>/dev/null || die "ingest"
"$BIN/ingest" < "$T/shuffled.jsonl" > "$T/shuffled.rec" 2>/dev/null || die "ingest"

n=0
for args in "--window 60s" "--window 2m --hop 30s" "--window 30s,1m --top-k 3"; do
  n=$((n + 1))
  # shellcheck disable=SC2086
  "$BIN/aggregate" $args --allowed-lateness 5s < "$T/sorted.rec" > "$T/a$n.rec" 2>"$T/a$n.err" || fail "aggregate $args (sorted) failed"
  # shellcheck disable=SC2086
  "$BIN/aggregate" $args --allowed-lateness 5s < "$T/shuffled.rec" > "$T/b$n.rec" 2>"$T/b$n.err" || fail "aggregate $args (shuffled) failed"
  [ -s "$T/a$n.rec" ] || fail "no output for $args"
  cmp -s "$T/a$n.rec" "$T/b$n.rec" || fail "out-of-order input changed the output ($args)"
  grep -q '"late":0' "$T/b$n.err" || fail "events late within the allowed lateness ($args)"
done

# hopping 2m/1m windows are the sum of two tumbling 1m windows
"$BIN/aggregate" --window 1m --features none --format json < "$T/sorted.rec" > "$T/tum.json" 2>/dev/null || fail "tumbling"
"$BIN/aggregate" --window 2m --hop 1m --features none --format json < "$T/sorted.rec" > "$T/hop.json" 2>/dev/null || fail "hopping"
python3 - "$T/tum.json" "$T/hop.json" <<'PY' || fail "hopping windows differ from the sum of tumbling ones"
import json, sys
M = 60_000_000
def load(p):
    d = {}
    for l in open(p):
        r = json.loads(l)
        if r["name"] in ("events", "item.events", "experiment.exposures") or "p50" in r:
            k = (r["name"], tuple(r["labels"].items()), r["window_start"])
            d[k] = r
    return d
t, h = load(sys.argv[1]), load(sys.argv[2])
bad = 0
for (name, lab, ws), r in h.items():
    if r["window_end"] - ws != 2 * M: bad += 1; continue
    parts = [t.get((name, lab, ws)), t.get((name, lab, ws + M))]
    parts = [p for p in parts if p]
    if sum(p.get("count", 0) for p in parts) != r.get("count", 0): bad += 1; print("count", name, lab, ws)
    if "p50" in r:
        if min(p.get("min", 0.0) for p in parts) != r.get("min", 0.0) or max(p.get("max", 0.0) for p in parts) != r.get("max", 0.0): bad += 1; print("minmax", name, lab, ws)
        s = sum(p.get("sum", 0) for p in parts)
        if abs(s - r.get("sum", 0)) > 1e-9 * abs(s) + 1e-12: bad += 1; print("sum", name, lab, ws)
# every tumbling window's series appears in the two hopping windows covering it
for (name, lab, ws) in t:
    if (name, lab, ws) not in h or (name, lab, ws - M) not in h: bad += 1; print("not covered", name, lab, ws)
print(len(h), "hopping series checked,", bad, "bad")
sys.exit(1 if bad or len(h) < 50 else 0)
PY

# late events: one event and one sample an hour behind, at the end
first_ts=$(head -1 "$T/sorted.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ts"])')
{ cat "$T/sorted.jsonl"
  echo '{"event_id":"late1","ts":"2026-11-23T09:00:00Z","user_id":"u1","event_type":"book_click","item_id":"b1","session_id":"s1"}'
  echo '{"metric_name":"cpu_usage","value":50,"ts":"2026-11-23T09:00:01Z","metadata":{"host":"web-1"}}'
} > "$T/late.jsonl"
case $first_ts in 2026-11-23T10:*) ;; *) fail "generator start moved ($first_ts): late records would not be late" ;; esac
"$BIN/ingest" < "$T/late.jsonl" > "$T/late.rec" 2>/dev/null || die "ingest"
check "aggregate with late records exits 0" "$BIN/aggregate" --window 60s --dead-letter "$T/dl.json" \
  --metrics-file "$T/late.prom" < "$T/late.rec" > "$T/late.out" 2>"$T/late.err"
cmp -s "$T/late.out" "$T/a1.rec" || fail "late records changed the output"
expect_eq "dead-lettered late records" "$(grep -c late_event "$T/dl.json")" 2
grep -q 'streamrec_records_invalid_total{stage="aggregate",reason="late_event"} 2' "$T/late.prom" \
  || fail "late_event not counted: $(grep invalid "$T/late.prom")"
grep -q '"late":2' "$T/late.err" || fail "late count not in the final log line"

# an event time the window arithmetic cannot hold (year ~290,000 BC) is refused, not a crash
echo '{"event_id":"old","ts":-9000000000000000000,"user_id":"u1","type":"click","item_id":"b1"}' \
  | "$BIN/fbcat" --encode Event > "$T/old.rec" || die "fbcat --encode Event"
cat "$T/sorted.rec" "$T/old.rec" > "$T/old-mixed.rec"
check "aggregate with an out-of-range time exits 0" "$BIN/aggregate" --window 60s --dead-letter "$T/dl-old.json" \
  < "$T/old-mixed.rec" > "$T/old.out" 2>/dev/null
cmp -s "$T/old.out" "$T/a1.rec" || fail "an out-of-range event time changed the output"
expect_eq "dead-lettered out-of-range time" "$(grep -c '"error":"bad_timestamp' "$T/dl-old.json")" 1

# other record types: ignored and counted, or passed through
echo '{"name":"x.y","value":3}' | "$BIN/fbcat" --encode Metric > "$T/metric.rec" || die "fbcat --encode"
cat "$T/metric.rec" "$T/sorted.rec" > "$T/mixed.rec"
"$BIN/aggregate" --window 60s --metrics-file "$T/ign.prom" < "$T/mixed.rec" > "$T/ign.out" 2>/dev/null || fail "ignore other types"
cmp -s "$T/ign.out" "$T/a1.rec" || fail "an ignored Metric record changed the output"
grep -q 'streamrec_aggregate_ignored_total{stage="aggregate"} 1' "$T/ign.prom" || fail "ignored record not counted"
"$BIN/aggregate" --window 60s --pass-through --format json < "$T/mixed.rec" > "$T/pass.json" 2>/dev/null || fail "pass-through"
expect_eq "passed-through record" "$(grep -c '"name":"x.y"' "$T/pass.json")" 1

# --max-series: bounded, counted, no crash
check "aggregate --max-series 40 exits 0" "$BIN/aggregate" --window 60s --max-series 40 --features none --format json \
  --metrics-file "$T/ms.prom" < "$T/sorted.rec" > "$T/ms.json" 2>"$T/ms.err"
dropped=$(sed -n 's/^streamrec_aggregate_series_dropped_total{stage="aggregate"} //p' "$T/ms.prom")
[ "${dropped:-0}" -gt 0 ] 2>/dev/null || fail "no dropped series counted ($dropped)"
grep -q 'series limit reached' "$T/ms.err" || fail "series limit not logged"
python3 - "$T/ms.json" <<'PY' || fail "more than 40 series in a window"
import json, sys
from collections import Counter
c = Counter()
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["name"] in ("events", "experiment.exposures", "experiment.conversions") or "p50" in r:
        c[r["window_start"]] += 1
    elif r["name"] == "item.ctr" or r["name"] == "item.conversion" or r["name"] == "item.events":
        c[(r["window_start"], "i", r["labels"]["item_id"])] = 1
per = Counter()
for k in c:
    per[k if not isinstance(k, tuple) else k[0]] += c[k] if not isinstance(k, tuple) else 1
sys.exit(0 if per and max(per.values()) <= 40 else 1)
PY

# bad flags are usage errors
"$BIN/aggregate" --window 100s --hop 30s < /dev/null > /dev/null 2>&1; expect_eq "window not a multiple of hop" $? 2
"$BIN/aggregate" --features users < /dev/null > /dev/null 2>&1; expect_eq "bad --features" $? 2
"$BIN/aggregate" --quantiles 1.5 < /dev/null > /dev/null 2>&1; expect_eq "bad --quantiles" $? 2
finish
