#!/usr/bin/env bash
# Adaptive TTL pays: one access trace replayed in real time against one
# redis-server per --ttl (fixed ones and adaptive ones), each filled by its
# own cache-writer from the same stream of fresh lists; prints each one's
# hit rate and Redis memory (tests/bench/cache-ttl.py says how the trace is
# made: gen-events' sessions as visits, users redrawn from a Zipf law).
#   SECONDS_=60 VISITS_PER_S=1000 USERS=10000 SKEW=1.0 tests/bench/cache-ttl.sh
# TTLS: the --ttl values compared (space-separated). For each adaptive one
# the table also gives the memory a fixed TTL needs for the same hit rate
# (interpolated between the fixed TTLs around it).
source "$(dirname "$0")/lib.sh"
DUR=${SECONDS_:-60} VPS=${VISITS_PER_S:-1000} USERS=${USERS:-10000} SKEW=${SKEW:-1.0}
TTLS=${TTLS:-"1s 2s 4s 8s 16s adaptive:1s:60s adaptive:2s:60s"}
dir=$(mktemp -d); pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; rm -rf "$dir"' EXIT

# the trace: gen-events' sessions average ~7.6 lines; --rate is lines/s of event time
lines=$(awk -v d="$DUR" -v v="$VPS" 'BEGIN { printf "%d", d * v * 7.6 }')
rate=$((VPS * 76 / 10))
ev=$BT/cache-ttl-$lines-$rate.jsonl
[ -s "$ev" ] || "$GEN_EVENTS" --kind interactions --count "$lines" --rate "$rate" --seed 19 > "$ev" || exit 1

ports=() cws=()
for ttl in $TTLS; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$dir/$port"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir/$port" --daemonize no \
    --logfile "$dir/$port/log" >/dev/null 2>&1 &
  pids+=($!)
  for i in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  ports+=("$port")
  cws+=("$BIN/cache-writer --redis redis://127.0.0.1:$port --ttl $ttl --log-level warn")
done
# one fbcat, its records to every cache-writer (tee to all but the last)
fan=""
for ((k = 0; k < ${#cws[@]} - 1; k++)); do fan+=" >(${cws[k]})"; done
PYTHONPATH=$ROOT/tests/tools:${PYTHONPATH:-} bash -c "set -o pipefail
  python3 '$ROOT/tests/bench/cache-ttl.py' '$ev' $USERS $SKEW ${ports[*]} 2>'$dir/report' |
  '$BIN/fbcat' --encode Recommendation | tee $fan | ${cws[-1]}" || { echo "replay failed"; cat "$dir/report"; exit 1; }
sleep 0.5   # the tee'd cache-writers finish on their own

SKEW=$SKEW python3 - "$dir/report" $TTLS <<'PY'
import json, os, sys
rep = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
ttls = sys.argv[2:]
print("  trace: %d visits by %d users (Zipf %s), %.0f s; measured over the second half; replay late by "
      "p99 %.3f s, max %.3f s" % (rep["visits"], rep["users"], os.environ["SKEW"], rep["span_s"], rep["lag_p99_s"], rep["lag_max_s"]))
print("  %-22s %8s %9s %10s %12s %s" % ("--ttl", "reads", "hit rate", "keys", "used_memory", "fixed TTL's memory at that hit rate"))
rows = []
for ttl, s in zip(ttls, rep["servers"]):
    rows.append((ttl, s["hits"] / max(s["reads"], 1), s["mem_mean"] / 2**20, s["keys_mean"], s["reads"]))
fixed = sorted((h, m) for t, h, m, k, n in rows if not t.startswith("adaptive"))
for ttl, h, m, k, n in rows:
    note = ""
    if ttl.startswith("adaptive"):
        lo = [f for f in fixed if f[0] <= h]; hi = [f for f in fixed if f[0] >= h]
        if lo and hi:
            (h0, m0), (h1, m1) = lo[-1], hi[0]
            mf = m0 if h1 == h0 else m0 + (m1 - m0) * (h - h0) / (h1 - h0)
            note = "%.1f MiB: adaptive uses %.0f%% %s" % (mf, abs(1 - m / mf) * 100, "less" if m < mf else "MORE")
        else:
            note = "(outside the fixed TTLs' range)"
    print("  %-22s %8d %8.1f%% %10.0f %8.1f MiB  %s" % (ttl, n, 100 * h, k, m, note))
PY
