# 25-drift.sh — demo section: drift detection on request latency with a planted regression.
section "drift: p95 latency per endpoint, a regression planted at 13:06 (latency x2)"
"$BIN/gen-events" --count 60000 --kind requests --seed 7 --start 1795000000 --rate 5 \
  --drift-at 36000:2 | "$BIN/ingest" 2>/dev/null \
  | "$BIN/aggregate" --window 60s --features none 2>/dev/null > "$DEMO/requests-metrics.rec"
"$BIN/drift" --in "$DEMO/requests-metrics.rec" --field p95 --detectors cusum,adwin,zscore --horizons 30m \
  --format json --out "$DEMO/drift.json" 2>"$DEMO/drift.log"
jq -r 'select(.msg=="done") | "  \(.observations) observations in \(.series) series -> \(.drifts) drifts, \(.anomalies) anomalies, \(.recoveries) recoveries, \(.forecasts) forecasts"' "$DEMO/drift.log"
echo "  first drifts (time, endpoint, status, detector, p95 before -> now):"
jq -r 'select(.series=="request.duration_ms" and .kind=="drift")
  | [.ts_iso, .labels.endpoint, .labels.status_class, .detector, .reference, .current] | @tsv' \
  "$DEMO/drift.json" | head -n 4 | awk -F'\t' '{ printf "    %s  %-26s %s  %-6s %6.1f -> %6.1f ms\n", $1, $2, $3, $4, $5, $6 }' || true
