#!/usr/bin/env bash
# aggregate: `ingest | aggregate --window 60s` over 1,000,000 interaction
# events and 1,000,000 request lines (1,000,000 latency samples, plus the
# 0/1 error samples ingest derives), against Miller (stats1 count, mean,
# p50, p95, p99 per window+endpoint+status class; count per window+event
# type+item) and a pandas groupby doing the same, in one run. aggregate does
# more (HyperLogLog users/sessions, CTR, p90/p999, top-K, error rates).
#   N=1000000 tests/bench/aggregate.sh
source "$(dirname "$0")/lib.sh"
N=${N:-1000000}
# lib.sh's measure sends /usr/bin/time's report into the command's stderr
# file (so it prints 0 s); this one keeps it apart with -o.
measure() {
  local name=$1 recs=$2 cmd=$3 secs rss
  /usr/bin/time -o "$BT/time.$$" -f '%e %M' bash -c "$cmd" >/dev/null 2>"$BT/err.$$" \
    || echo "  ($name failed: $(tail -n 2 "$BT/err.$$"))"
  read -r secs rss < <(tail -n 1 "$BT/time.$$")
  [ "$secs" = "0.00" ] && secs=0.01
  BENCH_SECS[$name]=$secs
  awk -v n="$name" -v s="$secs" -v r="$recs" -v m="$rss" \
    'BEGIN { printf "  %-36s %8.2fs %12.0f rec/s %9.1f MiB peak\n", n, s, r/s, m/1024 }'
}
in=$BT/agg-mixed-$N.jsonl
if [ ! -s "$in" ]; then
  echo "  generating $N events + $N requests (cached in $in)..."
  "$GEN_EVENTS" --count "$N" --kind interactions --seed 1 --rate 500 > "$BT/agg-ev.$$"
  "$GEN_EVENTS" --count "$N" --kind requests --seed 2 --rate 500 > "$BT/agg-rq.$$"
  # both advance at 500 lines/s of event time: alternating lines stay in time order
  paste -d '\n' "$BT/agg-ev.$$" "$BT/agg-rq.$$" > "$in"
  rm -f "$BT/agg-ev.$$" "$BT/agg-rq.$$"
fi
recs=$BT/agg-mixed-$N.rec
[ -s "$recs" ] || "$BIN/ingest" < "$in" > "$recs" 2>/dev/null
lines=$((2 * N))
nrec=$("$BIN/fbcat" --count < "$recs" | awk '$1 == "total" { print $2 }')
echo "  input: $lines JSON lines ($(du -m "$in" | cut -f1) MB) -> $nrec records ($(du -m "$recs" | cut -f1) MB)"

cat > "$BT/agg-pandas.py" <<'PY'
import sys, pandas as pd
df = pd.read_json(sys.argv[1], lines=True, convert_dates=False, dtype=False)
ev = df[df["event_type"].notna()]
rq = df[df["endpoint"].notna()].copy()
ev_w = ev["ts"].str.slice(0, 16)                       # the minute: a 60 s tumbling window
a = ev.groupby([ev_w, "event_type"]).size()
b = ev.groupby([ev_w, "item_id", "event_type"]).size()
rq["w"] = (rq["ts"].astype(float) // 60) * 60
rq["sc"] = (rq["status"].astype(int) // 100).astype(str) + "xx"
g = rq.groupby(["w", "endpoint", "sc"])["duration_ms"]
c = g.agg(["count", "mean"]).join(g.quantile([0.5, 0.95, 0.99]).unstack())
sys.stdout.write(a.to_string()[:0] + f"{len(a)} {len(b)} {len(c)}\n")
PY

mlr_cmd="mlr --ijsonl --ojsonl filter 'is_present(\$endpoint)' then put '\$w = floor(\$ts / 60) * 60; \$sc = fmtnum(floor(\$status / 100), \"%d\") . \"xx\"' then stats1 -a count,mean,p50,p95,p99 -f duration_ms -g w,endpoint,sc $in > /dev/null &&
 mlr --ijsonl --ojsonl filter 'is_present(\$event_type)' then put '\$w = substr0(\$ts, 0, 15)' then count -g w,event_type,item_id $in"

measure "cat (records)" "$nrec" "cat $recs"
measure "aggregate (records in)" "$nrec" "$BIN/aggregate --window 60s --features none < $recs"
measure "aggregate + features (records in)" "$nrec" "$BIN/aggregate --window 60s < $recs"
measure "ingest | aggregate (JSON in)" "$lines" "$BIN/ingest < $in 2>/dev/null | $BIN/aggregate --window 60s --features none"
measure "ingest alone (JSON in)" "$lines" "$BIN/ingest < $in 2>/dev/null"
measure "mlr stats1 + count (JSON in)" "$lines" "$mlr_cmd"
measure "pandas groupby (JSON in)" "$lines" "${PYTHON:-/usr/bin/python3} $BT/agg-pandas.py $in"
ratio "ingest | aggregate (JSON in)" "mlr stats1 + count (JSON in)"
ratio "ingest | aggregate (JSON in)" "pandas groupby (JSON in)"
ratio "aggregate (records in)" "mlr stats1 + count (JSON in)"
ratio "aggregate (records in)" "pandas groupby (JSON in)"
echo "  (goal: ingest | aggregate at least 10x Miller and 10x pandas; peak RSS of aggregate grows with live series, not events)"
