#!/usr/bin/env bash
# drift: records/s and peak RSS over N Metric records (S series of N/S
# one-minute points, N(10, 1) with a +3 sd shift in every tenth series),
# against what a user would otherwise write for the same computation:
#   - `cat` through the same pipe (the floor);
#   - zscore + cusum: drift --detectors zscore,cusum --horizons none against
#     a plain Python script keeping the same per-series EWMA and CUSUM state
#     (json.loads per line: what the Metric stream looks like as JSON);
#   - ks + psi: drift --detectors ks,psi --horizons none against a numpy +
#     scipy script doing scipy.stats.ks_2samp and a numpy PSI on the same
#     windows at the same points;
#   - all detectors and the four Holt horizons (the default), for scale.
# drift reads records (its input in a pipeline); the scripts read the same
# records as JSON lines (their natural input), so the comparison includes
# parsing on both sides.
#   N=400000 S=1000 tests/bench/drift.sh
source "$(dirname "$0")/lib.sh"
N=${N:-400000}
S=${S:-1000}
PY=${PYTHON:-/usr/bin/python3}

in=$BT/drift-$N-$S.jsonl
recs=$BT/drift-$N-$S.rec
if [ ! -s "$recs" ]; then
  echo "  generating $N Metric records over $S series (cached in $recs)..."
  $PY - "$N" "$S" > "$in" <<'PY'
import json, random, sys
n, s = int(sys.argv[1]), int(sys.argv[2])
r = random.Random(1)
pts = n // s
for i in range(pts):
    for k in range(s):
        v = r.gauss(10, 1) + (3 if k % 10 == 0 and i >= pts // 2 else 0)
        print(json.dumps({"name": "cpu_usage", "labels": [{"key": "host", "value": "h%d" % k}],
                          "window_start": i * 60000000, "window_end": (i + 1) * 60000000,
                          "count": 10, "mean": v, "value": v}))
PY
  "$BIN/fbcat" --encode Metric < "$in" > "$recs" || exit 1
fi
nrec=$(wc -l < "$in")
echo "  input: $nrec Metric records ($(du -m "$recs" | cut -f1) MB as records, $(du -m "$in" | cut -f1) MB as JSON lines)"

cat > "$BT/drift-zc.py" <<'PY'
import json, math, sys
a, thr, warm, k, h = 0.05, 2.5, 50, 0.5, 10.0
st = {}
alerts = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    key = (r["name"], tuple((l["key"], l["value"]) for l in r.get("labels", [])))
    x = r.get("value", 0.0)
    s = st.get(key)
    if s is None: s = st[key] = {"n": 0, "m": 0.0, "v": 0.0, "bn": 0, "bm": 0.0, "b2": 0.0, "p": 0.0, "q": 0.0, "anom": False}
    s["n"] += 1
    if s["n"] == 1: s["m"] = x
    else:
        z = (x - s["m"]) / max(math.sqrt(s["v"]), 1e-9 * max(1, abs(s["m"])))
        if s["n"] > warm and abs(z) > thr and not s["anom"]: alerts += 1; s["anom"] = True
        elif abs(z) <= thr: s["anom"] = False
        d = x - s["m"]; inc = a * d; s["m"] += inc; s["v"] = (1 - a) * (s["v"] + d * inc)
    if s["bn"] < warm:
        s["bn"] += 1; d = x - s["bm"]; s["bm"] += d / s["bn"]; s["b2"] += d * (x - s["bm"])
    else:
        z = (x - s["bm"]) / max(math.sqrt(s["b2"] / s["bn"]), 1e-9)
        s["p"] = max(0, s["p"] + z - k); s["q"] = max(0, s["q"] - z - k)
        if max(s["p"], s["q"]) > h: alerts += 1; s["bn"] = 0; s["bm"] = s["b2"] = s["p"] = s["q"] = 0.0
print(alerts)
PY

cat > "$BT/drift-kp.py" <<'PY'
import json, sys
import numpy as np
from scipy import stats
W, every, bins = 100, 10, 5
st = {}
alerts = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    key = (r["name"], tuple((l["key"], l["value"]) for l in r.get("labels", [])))
    s = st.setdefault(key, {"v": [], "since": 0})
    s["v"].append(r.get("value", 0.0))
    n = len(s["v"])
    if n > W: s["since"] += 1
    if n >= 2 * W and s["since"] >= every:
        s["since"] = 0
        ref = np.array(s["v"][:W]); cur = np.array(s["v"][-W:])
        if stats.ks_2samp(ref, cur).pvalue < 0.001: alerts += 1
        e = np.quantile(ref, np.arange(1, bins) / bins)
        rc = np.maximum(np.bincount(np.searchsorted(e, ref, side="right"), minlength=bins) / W, 1e-4)
        cc = np.maximum(np.bincount(np.searchsorted(e, cur, side="right"), minlength=bins) / W, 1e-4)
        if np.sum((cc - rc) * np.log(cc / rc)) > 0.25: alerts += 1
        del s["v"][W:-W]     # keep the reference and the current window only
print(alerts)
PY

# The machine is shared: CPU seconds (user + sys, the pipeline's children
# included), best of REPS runs, rather than wall time.
REPS=${REPS:-3}
cpu() {   # cpu NAME SHELL-COMMAND
  local best="" t rss
  for _ in $(seq "$REPS"); do
    /usr/bin/time -o "$BT/time.$$" -f '%x %U %S %M' bash -c "set -o pipefail; $2 > /dev/null" 2>/dev/null
    read -r rc u s rss < "$BT/time.$$"
    [ "$rc" = 0 ] || { printf '  %-28s FAILED (exit %s)\n' "$1" "$rc"; CPU[$1]=nan; return; }
    t=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
  done
  CPU[$1]=$best
  awk -v n="$1" -v t="$best" -v r="$nrec" -v m="$rss" \
    'BEGIN { if (t == 0) t = 0.01; printf "  %-28s %7.2f s CPU %11.0f rec/s %8.1f MiB peak\n", n, t, r / t, m / 1024 }'
}
cratio() { awk -v a="${CPU[$1]}" -v b="${CPU[$2]}" -v n1="$1" -v n2="$2" \
  'BEGIN { if (a == 0) a = 0.01; printf "  ratio: %s takes %.2fx the CPU of %s\n", n1, a / b, n2 }'; }
declare -A CPU
cpu "cat (records)" "cat $recs"
cpu "drift zscore,cusum" "$BIN/drift --detectors zscore,cusum --horizons none < $recs"
cpu "python zscore+cusum" "$PY $BT/drift-zc.py $in"
cpu "drift ks,psi" "$BIN/drift --detectors ks,psi --horizons none < $recs"
cpu "numpy/scipy ks+psi" "$PY $BT/drift-kp.py $in"
cpu "drift (all, no forecasts)" "$BIN/drift --horizons none < $recs"
cpu "drift (all, 4 horizons)" "$BIN/drift < $recs"
cratio "drift zscore,cusum" "python zscore+cusum"
cratio "drift ks,psi" "numpy/scipy ks+psi"
cratio "drift (all, 4 horizons)" "cat (records)"

echo "  -- memory per series: 1000 vs 20000 series of 60 points, every detector on"
for ns in 1000 20000; do
  $PY -c "
import json, sys
for i in range(60):
    for k in range($ns):
        print(json.dumps({'name': 'm', 'labels': [{'key': 'host', 'value': 'h%d' % k}],
                          'window_start': i * 60000000, 'window_end': (i + 1) * 60000000, 'value': (i * 7 + k) % 13}))
" | "$BIN/fbcat" --encode Metric > "$BT/drift-mem-$ns.rec"
  /usr/bin/time -o "$BT/time.$$" -f '%M' "$BIN/drift" --horizons none < "$BT/drift-mem-$ns.rec" > /dev/null 2>&1
  eval "rss_$ns=$(cat "$BT/time.$$")"
done
awk -v a="$rss_1000" -v b="$rss_20000" 'BEGIN { printf "  peak RSS %.1f MiB (1000 series), %.1f MiB (20000): %.2f KiB per series\n", a / 1024, b / 1024, (b - a) / 19000 }'

