# 20-aggregate.sh — demo section: windowed metrics from ingest's records.
# Writes $DEMO/metrics.rec (Metric records, features included) and
# $DEMO/aggregate.db (the feature store).
section "aggregate: 60 s windows -> CTR per item, p95/p99 latency per endpoint, distinct users, features"
"$BIN/aggregate" --in "$DEMO/events.rec" --out "$DEMO/metrics.rec" --window 60s \
  --state "$DEMO/aggregate.db" --metrics-file "$DEMO/aggregate.prom" 2>"$DEMO/aggregate.log"
"$BIN/fbcat" < "$DEMO/metrics.rec" > "$DEMO/metrics.json"
jq -r 'select(.msg=="done") | "  \(.events) events + \(.samples) samples -> \(.metrics) Metric records in \(.windows) windows (late: \(.late))"' "$DEMO/aggregate.log"
echo "  top items by CTR (items with >= 20 impressions in a window):"
jq -r 'select(.name=="item.ctr" and .count >= 20) | [.labels.item_id, .count, .sum, .value] | @tsv' "$DEMO/metrics.json" \
  | sort -t$'\t' -k4,4gr | head -n 3 | awk -F'\t' '{ printf "    %-6s impressions %3d  clicks %3d  CTR %.3f\n", $1, $2, $3, $4 }' || true
echo "  request latency per endpoint (2xx, first window):"
jq -r 'select(.name=="request.duration_ms" and .labels.status_class=="2xx")
  | [.window_start, .labels.endpoint, .count, .p95, .p99] | @tsv' \
  "$DEMO/metrics.json" | awk -F'\t' 'NR==1 { w = $1 } $1 == w { printf "    %-28s n=%4d  p95 %6.1f ms  p99 %6.1f ms\n", $2, $3, $4, $5 }' | head -n 4 || true
jq -r 'select(.name=="users.distinct") | "  distinct users (HyperLogLog) per window: \(.value) of \(.count) events"' "$DEMO/metrics.json" | head -n 2 || true
printf '  feature store (sqlite3 %s):\n' "aggregate.db"
sqlite3 -separator '  ' "$DEMO/aggregate.db" "SELECT '    ' || user_id, 'interactions ' || interactions, 'purchases ' || purchases,
  'activity ' || printf('%.1f', activity_score) FROM user_features ORDER BY activity_score DESC LIMIT 2"
