# 60-alerter.sh — demo section: alert rules on aggregate's metrics.
section "alerter: rules on the metrics -> Alert records (firing/resolved), an exec: channel, inhibition"
cat > "$DEMO/alert-rules.yaml" <<Y
rules:
  - { name: search_p99_slow, metric: request.duration_ms, labels: { endpoint: /api/v1/search }, field: p99,
      condition: gt, threshold: 150, severity: warning, summary: "p99 {{ \$value }} ms on {{ \$labels.endpoint }}",
      channels: [out, "exec:cat >> $DEMO/notified.jsonl"] }
  - { name: search_p99_critical, metric: request.duration_ms, labels: { endpoint: /api/v1/search }, field: p99,
      condition: gt, threshold: 250, severity: critical, summary: "p99 {{ \$value }} ms on {{ \$labels.endpoint }}" }
  - { name: cpu_spike, metric: cpu_usage, field: max, condition: gt, threshold: 95, summary: "cpu max {{ \$value }}% on {{ \$labels.host }}" }
inhibit:
  - { source_severity: critical, target_severity: warning, equal: [metric, endpoint, status_class] }
Y
"$BIN/alerter" --rules "$DEMO/alert-rules.yaml" --in "$DEMO/metrics.rec" --state "$DEMO/alerter.db" \
  --format json > "$DEMO/alerts.json" 2>"$DEMO/alerter.log"
jq -r 'select(.msg=="done") | "  \(.matched) metrics matched; \(.fired) alerts fired, \(.resolved) resolved, \(.inhibited) inhibited, \(.firing) still firing"' "$DEMO/alerter.log"
jq -r '[.status, .severity, .fingerprint, .starts_at_iso, .summary] | @tsv' "$DEMO/alerts.json" \
  | head -n 6 | awk -F'\t' '{ printf "    %-8s %-8s %s  %s  %s\n", $1, $2, $3, $4, $5 }'
printf '  the exec: channel received %s alert(s); acknowledge one with: alerter ack %s --state %s\n' \
  "$(jq -s '[.[].alerts[]] | length' "$DEMO/notified.jsonl" 2>/dev/null || echo 0)" "$(jq -r '.fingerprint' "$DEMO/alerts.json" | head -n1)" "alerter.db"
