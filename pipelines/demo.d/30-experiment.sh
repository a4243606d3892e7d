# 30-experiment.sh — demo section: the A/B test planted in the demo's events
# (rec_algo_v1, treatment +30% purchases) read by experiment-analyzer.
# Writes $DEMO/experiments.yaml, $DEMO/experiment.rec (ExperimentResult
# records), $DEMO/experiment.db (its state), $DEMO/experiment.html (the
# report, inline SVG) and $DEMO/experiment-more.* (a second day of traffic).
section "experiment-analyzer: A/B test rec_algo_v1 -> ExperimentResult records, decisions, HTML report"
cp "$DATA/experiments.yaml" "$DEMO/experiments.yaml"
echo "  config ($DEMO/experiments.yaml): 2 arms 50/50, 4 metrics (conversion, revenue per user, mean rating, time to click)"
printf '  assignment as the analyzer does it (experiment-analyzer assign):'
seq 1 8 | sed 's/^/u/' > "$DEMO/experiment-users.txt"
"$BIN/experiment-analyzer" assign --config "$DEMO/experiments.yaml" < "$DEMO/experiment-users.txt" \
  | paste "$DEMO/experiment-users.txt" - | awk '{ printf " %s->%s", $1, $2 } END { print "" }'

# results as JSON lines (fbcat) on stdin -> a table: one line per metric and treatment
ea_table() {
  jq -r 'select(.variant != .control) | [.metric, .users, (if .metric_type == "conversion" then .rate else .mean end),
      .lift, .lift_ci_low, .lift_ci_high, .p_value, .always_valid_p_value, .decision] | @tsv' \
  | awk -F'\t' '{ printf "    %-14s users %5d  treatment %8.4f  lift %+8.4f [%+.4f, %+.4f]  p %.4f  always-valid p %.4f  %s\n",
                   $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
}
"$BIN/experiment-analyzer" --config "$DEMO/experiments.yaml" --in "$DEMO/events.rec" --out "$DEMO/experiment.rec" \
  --report-every 0 --state "$DEMO/experiment.db" --report html --report-file "$DEMO/experiment.html" \
  2> "$DEMO/experiment.log"
jq -r 'select(.msg=="done") | "  \(.records) records in, \(.exposed_users) users exposed (\(.bytes_per_user) bytes each in memory)"' "$DEMO/experiment.log"
echo "  day 1 ($DEMO_EVENTS mixed events): treatment against control, per metric:"
"$BIN/fbcat" < "$DEMO/experiment.rec" | ea_table
"$BIN/fbcat" < "$DEMO/experiment.rec" | jq -r 'select(.variant != .control and .primary)
  | "  decision on the primary metric: \(.decision): \(.decision_reason)\n  sample-ratio check p = \(.srm_p_value*1000|round/1000) (flagged below 0.001); users seen in both arms: \(.mixed_users)"'

# A second day of traffic, read with the same --state: the analyzer resumes
# where it stopped (nothing counted twice) and reports every 25,000 events,
# so the always-valid decision can be read at any point.
"$BIN/gen-events" --count 100000 --kind interactions --users 8000 --items 500 --seed 8 \
  --experiment rec_algo_v1:0.30 --start 1795086400 > "$DEMO/experiment-more.jsonl"
"$BIN/ingest" --in "$DEMO/experiment-more.jsonl" --out "$DEMO/experiment-more.rec" 2>/dev/null
"$BIN/experiment-analyzer" --config "$DEMO/experiments.yaml" --in "$DEMO/experiment-more.rec" \
  --out "$DEMO/experiment-more-results.rec" --report-every 25000 --state "$DEMO/experiment.db" \
  --report html --report-file "$DEMO/experiment.html" 2> "$DEMO/experiment-more.log"
echo "  day 2 (100,000 more events, same --state): the primary metric at each report:"
"$BIN/fbcat" < "$DEMO/experiment-more-results.rec" | jq -r 'select(.variant != .control and .primary)
  | [.users, .lift, .p_value, .always_valid_p_value, .decision] | @tsv' \
  | awk -F'\t' '{ printf "    report %d: users %5d  lift %+.4f  p %.2g  always-valid p %.2g  -> %s\n", NR, $1, $2, $3, $4, $5 }'
echo "  final, per metric:"
"$BIN/fbcat" < "$DEMO/experiment-more-results.rec" | tail -n 8 | ea_table
printf '  HTML report (per metric: an SVG chart of each arm with its interval, p-values, decision and reason): %s\n' \
  "$DEMO/experiment.html"
