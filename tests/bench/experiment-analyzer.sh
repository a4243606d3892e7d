#!/usr/bin/env bash
# experiment-analyzer: N events (default 4,000,000) of U users (default
# 200,000) with 10 live experiments, every user exposed to several of them:
# 25% exposures (experiment and variant), 60% views, 12% clicks, 3% purchases.
# Each experiment has three metrics (purchase conversion, click conversion
# within 1 h, revenue per user) and the analyzer runs every test on them.
# Beside it, on the same events:
#   - `cat | cat`: the same pipe with nothing behind it;
#   - a pandas + statsmodels script computing less (only the purchase
#     conversion and its two-proportion z-test per experiment), from the
#     same events as JSON lines; its p-values must equal the analyzer's.
# Then the figures the issue asks for: events per second per core (CPU
# time, since the machines are shared), peak memory, and memory per exposed
# user against the stated bound (ea_bytes_per_user, stages/experiment-
# analyzer/analyze.h).
#   N=4000000 USERS=200000 tests/bench/experiment-analyzer.sh   (SLOW=0 skips pandas)
source "$(dirname "$0")/lib.sh"
N=${N:-4000000}; U=${USERS:-200000}; SLOW=${SLOW:-1}
PY=${PYTHON:-/usr/bin/python3}
EA=$BIN/experiment-analyzer

in=$BT/ea-$N-$U.jsonl
if [ ! -s "$in" ]; then
  echo "  generating $N events of $U users (cached in $in)..."
  python3 - "$N" "$U" > "$in.$$" <<'PY' && mv "$in.$$" "$in"
import random, sys
n, users = int(sys.argv[1]), int(sys.argv[2])
r = random.Random(42); w = sys.stdout.write
ts = 1795000000 * 1000000
for i in range(n):
    ts += r.randint(0, 50)
    u = r.randrange(users)
    k = r.random()
    if k < 0.25:
        x = r.randrange(10)
        v = "treatment" if (u * 31 + x * 17) % 2 else "control"
        w('{"ts":%d,"user_id":"u%d","type":"exposure","experiment":"exp%02d","variant":"%s"}\n' % (ts, u, x, v))
    elif k < 0.85:
        w('{"ts":%d,"user_id":"u%d","type":"view","item_id":"i%d"}\n' % (ts, u, r.randrange(5000)))
    elif k < 0.97:
        w('{"ts":%d,"user_id":"u%d","type":"click","item_id":"i%d"}\n' % (ts, u, r.randrange(5000)))
    else:
        w('{"ts":%d,"user_id":"u%d","type":"purchase","item_id":"i%d","value":%.2f}\n'
          % (ts, u, r.randrange(5000), r.expovariate(1 / 20)))
PY
fi
recs=$BT/ea-$N-$U.rec
[ -s "$recs" ] || "$BIN/fbcat" --encode Event < "$in" > "$recs" || { echo "  fbcat --encode failed"; exit 1; }
echo "  input: $N events, $U users ($(du -m "$in" | cut -f1) MB of JSON lines -> $(du -m "$recs" | cut -f1) MB of records)"

cfg=$BT/ea-bench.yaml
{
  echo "experiments:"
  for x in 0 1 2 3 4 5 6 7 8 9; do cat <<YAML
  - name: exp0$x
    control: control
    variants:
      - {name: control, allocation: 0.5}
      - {name: treatment, allocation: 0.5}
    metrics:
      - {name: purchased, type: conversion, event: purchase, primary: true}
      - {name: clicked, type: conversion, event: click, window: 1h}
      - {name: revenue, type: numeric, event: purchase, aggregate: sum, tau: 1}
YAML
  done
} > "$cfg"

cat > "$BT/ea-pandas.py" <<'PY'
# Purchase conversion per experiment and variant (a user converts if they
# purchase at or after their first exposure), two-proportion z-test.
import json, sys
import pandas as pd
from statsmodels.stats.proportion import proportions_ztest
df = pd.read_json(sys.argv[1], lines=True, convert_dates=False, dtype=False)
ex = df[df["type"] == "exposure"].drop_duplicates(["experiment", "user_id"], keep="first")
last_buy = df[df["type"] == "purchase"].groupby("user_id")["ts"].max().rename("last_buy")
ex = ex.join(last_buy, on="user_id")
ex["conv"] = ex["last_buy"] >= ex["ts"]
g = ex.groupby(["experiment", "variant"])["conv"].agg(["size", "sum"])
out = {}
for e in sorted(ex["experiment"].unique()):
    t, c = g.loc[(e, "treatment")], g.loc[(e, "control")]
    _, p = proportions_ztest([t["sum"], c["sum"]], [t["size"], c["size"]])
    out[e] = p
json.dump(out, sys.stdout)
PY

# CPU seconds (user + sys) of a command: the per-core rate on a shared machine
cpu() { /usr/bin/time -o "$BT/cpu.$$" -f '%U %S' bash -c "$1" >/dev/null 2>&1; awk '{ print $1 + $2 }' "$BT/cpu.$$"; }

measure "cat | cat (the pipe's limit)" "$N" "cat $recs | cat"
measure "cat | experiment-analyzer" "$N" "cat $recs | $EA --config $cfg --report-every 0 --format json > $BT/ea-out.json"
measure "experiment-analyzer --in FILE" "$N" "$EA --config $cfg --in $recs --report-every 0 --format json > /dev/null"
ratio "experiment-analyzer --in FILE" "cat | cat (the pipe's limit)"
if [ "$SLOW" = 1 ] && $PY -c 'import pandas, statsmodels' 2>/dev/null; then
  measure "pandas + statsmodels (1 metric)" "$N" "$PY $BT/ea-pandas.py $in > $BT/ea-pandas.json"
  ratio "experiment-analyzer --in FILE" "pandas + statsmodels (1 metric)"
  $PY - "$BT/ea-out.json" "$BT/ea-pandas.json" <<'PY' || echo "  MISMATCH between the analyzer and pandas/statsmodels"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ref = json.load(open(sys.argv[2]))
got = {r["experiment"]: r.get("p_value", 0) for r in rows if r["metric"] == "purchased" and r["variant"] == "treatment"}
bad = [e for e in ref if abs(got[e] - ref[e]) > 1e-6 * abs(ref[e]) + 1e-12]
print("  same z-test p-values as pandas/statsmodels: %d/%d experiments%s" % (len(ref) - len(bad), len(ref),
      "" if not bad else " (differ: %s)" % bad))
sys.exit(1 if bad else 0)
PY
fi

secs=$(cpu "$EA --config $cfg --in $recs --report-every 0 --format json")
"$EA" --config "$cfg" --in "$recs" --report-every 0 --format json 2> "$BT/ea-log.json" > /dev/null
read -r users mem per <<< "$(jq -r 'select(.msg=="done") | "\(.exposed_users) \(.memory_bytes) \(.bytes_per_user)"' "$BT/ea-log.json")"
slots=$((10 * (16 + 16 * 3)))
bound=$(awk -v s="$slots" 'BEGIN { need = 16 + 8 + s; c = 32; k = 0
  while (c < need) { k++; c = (k % 2 ? 48 : 32) * 2 ^ int(k / 2) } printf "%d", 32 + 4 * c }')
awk -v n="$N" -v s="$secs" 'BEGIN { printf "  per core: %.0f events/s (%.2f s of CPU for %d events; goal >= 2,000,000)\n", n / s, s, n }'
echo "  memory: $users exposed users, $((mem / 1048576)) MiB held for them: $per bytes per user" \
     "(bound for an 8-byte id in all 10 experiments: $bound; need $((16 + 8 + slots)))"
