# 10-ingest.sh — demo section: JSON lines in, Event/Sample records out,
# malformed lines dead-lettered with a reason. Writes $DEMO/events.rec.
section "ingest: JSON lines -> Event and Sample records (bad lines to the dead letter)"
rm -f "$DEMO/ingest.dead.jsonl"   # the dead letter appends
"$BIN/ingest" --in "$DEMO/events.jsonl" --out "$DEMO/events.rec" \
  --dead-letter "$DEMO/ingest.dead.jsonl" --metrics-file "$DEMO/ingest.prom" 2>"$DEMO/ingest.log"
lines_in=$(wc -l < "$DEMO/events.jsonl")
dead=$(wc -l < "$DEMO/ingest.dead.jsonl")
ok=$(jq -r 'select(.msg=="done") | .ok' "$DEMO/ingest.log")
printf '  lines in: %s = good lines out: %s + dead-lettered: %s\n' "$lines_in" "$ok" "$dead"
printf '  records out: %s\n' "$("$BIN/fbcat" --count < "$DEMO/events.rec" | tr '\n' ' ')"
printf '  dead letters by reason: %s\n' \
  "$(jq -r .reason "$DEMO/ingest.dead.jsonl" | sort | uniq -c | awk '{printf "%s %s  ", $2, $1}')"
echo "  two records, as JSON (fbcat):"
"$BIN/fbcat" < "$DEMO/events.rec" | awk '/"EVNT"|"event_id"/ && !e++ {print; next} /"name":"request/ && !s++ {print}' \
  | head -n 2 | cut -c1-230 | sed 's/^/    /'
echo "  one dead letter:"
head -n 1 "$DEMO/ingest.dead.jsonl" | cut -c1-230 | sed 's/^/    /'
