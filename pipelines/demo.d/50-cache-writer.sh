# demo section: recommendations and metrics into a Redis started for the demo
section "cache-writer: results into Redis (leaderboards, feature store, recommendations)"
command -v redis-server >/dev/null || { echo "  (redis-server not installed: skipped)"; return 0; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$DEMO" --daemonize no \
  --logfile "$DEMO/redis.log" & rpid=$!
trap 'kill $rpid 2>/dev/null; wait $rpid 2>/dev/null' RETURN
for i in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
R() { redis-cli -p "$port" "$@"; }
for f in "$DEMO"/recs.rec "$DEMO"/metrics.rec; do
  [ -s "$f" ] || continue
  "$BIN/cache-writer" --redis "redis://127.0.0.1:$port" --ttl 1h --metric-ttl 2h --in "$f" \
    --metrics-file "$DEMO/cache-writer.prom" 2>"$DEMO/cache-writer.log"
  jq -r 'select(.msg=="done") | "  \(.records) records -> \(.writes) Redis writes, \(.errors) errors"' "$DEMO/cache-writer.log"
done
printf '  keys in Redis: %s\n' "$(R dbsize)"
k=$(R --scan --pattern 'rec:*' | grep -v ':ts$' | head -n1)
[ -n "$k" ] && printf '  redis-cli GET %s\n    %s\n' "$k" "$(R get "$k" | cut -c1-160)…"
for lb in leaderboard:top.clicks:1m leaderboard:item.ctr:1m; do
  [ "$(R exists "$lb")" = 1 ] && printf '  redis-cli ZREVRANGE %s 0 4 WITHSCORES\n    %s\n' "$lb" \
    "$(R zrevrange "$lb" 0 4 withscores | paste -sd' ')"
done
u=$(R --scan --pattern 'features:user:*' | grep -v ':ts$' | head -n1)
[ -n "$u" ] && printf '  redis-cli HMGET %s interactions clicks purchases activity_score\n    %s\n' "$u" \
  "$(R hmget "$u" interactions clicks purchases activity_score | paste -sd' ')"
true
