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
echo "  the MovieLens ratings, one command (CSV, zstd): ingest --in ratings.csv.zst --in-format csv --event-type rating \\"
echo "      --map user_id=userId,item_id=movieId,value=rating,ts=timestamp"
ml=$DATA/movielens-latest-small/ratings.csv.zst
start=$(date +%s.%N)
"$BIN/ingest" --in "$ml" --in-format csv --event-type rating \
  --map user_id=userId,item_id=movieId,value=rating,ts=timestamp --out "$DEMO/ratings.rec" 2>/dev/null
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
printf '  -> %s in %ss; the first:\n' "$("$BIN/fbcat" --count < "$DEMO/ratings.rec" | tr '\n' ' ')" "$secs"
"$BIN/fbcat" < "$DEMO/ratings.rec" | sed -n '1s/^/    /p'
echo "  a resent line is a duplicate (dropped, counted); a flood is rate limited (--rate-limit 2/s):"
line='{"user_id":"bot","event_type":"click","item_id":"b1","ts":"2026-11-23T10:00:00Z"}'
for i in 1 2 3 4 5 6; do echo "${line/b1/b$i}"; done | sed '2s/b2/b1/' \
  | "$BIN/ingest" --rate-limit 2/s --metrics-file "$DEMO/ingest-flood.prom" --dead-letter "$DEMO/ingest-flood.dead.jsonl" \
    --out /dev/null 2>/dev/null
printf '    6 lines -> duplicates %s, rate_limited %s\n' \
  "$(awk '/^streamrec_ingest_duplicates_total/ {print $2}' "$DEMO/ingest-flood.prom")" \
  "$(awk '/reason="rate_limited"/ {print $2}' "$DEMO/ingest-flood.prom")"
