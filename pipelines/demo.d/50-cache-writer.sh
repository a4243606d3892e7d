# demo section: recommendations and metrics into a Redis started for the demo
section "cache-writer: results into Redis"
command -v redis-server >/dev/null || { echo "  (redis-server not installed: skipped)"; return 0; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$DEMO" --daemonize no \
  --logfile "$DEMO/redis.log" & rpid=$!
trap 'kill $rpid 2>/dev/null; wait $rpid 2>/dev/null' RETURN
for i in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
for f in "$DEMO"/recs.rec "$DEMO"/metrics.rec; do
  [ -s "$f" ] && "$BIN/cache-writer" --redis "redis://127.0.0.1:$port" --ttl 1h --in "$f" 2>/dev/null
done
printf '  keys in Redis: %s\n' "$(redis-cli -p "$port" dbsize)"
k=$(redis-cli -p "$port" --scan --pattern 'rec:*' | head -n1)
[ -n "$k" ] && printf '  redis-cli GET %s\n    %s\n' "$k" "$(redis-cli -p "$port" get "$k" | cut -c1-160)…"
lb=$(redis-cli -p "$port" --scan --pattern 'leaderboard:*click*' | grep -v ':window$' | head -n1)
[ -n "$lb" ] && printf '  redis-cli ZREVRANGE %s 0 4 WITHSCORES\n    %s\n' "$lb" \
  "$(redis-cli -p "$port" zrevrange "$lb" 0 4 withscores | paste -sd' ')"
