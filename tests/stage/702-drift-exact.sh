#!/usr/bin/env bash
# drift: the numbers are right, checked against independent computations.
#   - ks: statistic and p-value equal scipy.stats.ks_2samp (exact method) on
#     the same windows (the first --window points; the last --window points
#     ending at the record), to 1e-9;
#   - psi: equals a numpy computation (bins at numpy.quantile of the
#     reference, proportions floored at 1e-4), to 1e-9;
#   - zscore: every anomaly and recovery (which points, z, median, threshold)
#     against a Python median/MAD of the lagged window with the tracked
#     threshold (numpy median, scipy norm.isf), to 1e-9;
#   - Holt forecasts (value, interval) against a Python Holt, for horizons of
#     a whole and a fractional number of steps, to 1e-9 relative.
# Loose thresholds (--ks-alpha 0.5, --psi-threshold 0.35, --anomaly-rate 0.05)
# make the detectors switch between drift and recovery often, so many
# records are compared; psi and ks must alternate drift, recovery, drift...
source "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
$PY -c 'import scipy, numpy' 2>/dev/null || die "python3-scipy and python3-numpy are needed (make deps)"

$PY - "$T/series.json" > "$T/in.json" <<'EOF2'
import json, random, sys
r = random.Random(7)
series = {}
for s in range(8):          # s0-s5 stationary (s1 with a step), s6-s7 trending
    lvl = 100.0 * (s + 1)
    v = []
    for i in range(300):
        lvl += 0.3 * (s - 5) * (s > 5) + (5 if i == 150 and s == 1 else 0)
        v.append(lvl + r.gauss(0, 2 + s) + (r.random() < 0.02) * 20)
    series["s%d" % s] = v
json.dump(series, open(sys.argv[1], "w"))
step = 300000000     # 5-minute windows
for i in range(300):
    for name, v in series.items():
        print(json.dumps({"name": "latency", "labels": [{"key": "endpoint", "value": name}],
                          "window_start": i * step, "window_end": (i + 1) * step, "count": 5,
                          "mean": v[i], "value": v[i]}))
EOF2
"$BIN/fbcat" --encode Metric < "$T/in.json" > "$T/in.rec" || die "encode"

check "drift ks,psi" "$BIN/drift" --in "$T/in.rec" --detectors ks,psi --window 40 --every 7 --psi-bins 8 \
  --ks-alpha 0.5 --psi-threshold 0.35 --warmup 10 --horizons none --format json --out "$T/win.json" 2>"$T/err"
check "drift zscore" "$BIN/drift" --in "$T/in.rec" --detectors zscore --threshold 1 --anomaly-rate 0.05 \
  --recovery 1 --warmup 10 --horizons none --format json --out "$T/z.json" 2>>"$T/err"
check "drift holt" "$BIN/drift" --in "$T/in.rec" --detectors zscore --threshold 1000 --warmup 10 \
  --horizons 15m,7m,2h --holt-alpha 0.4 --holt-beta 0.2 --format json --out "$T/f.json" 2>>"$T/err"

$PY - "$T/series.json" "$T/win.json" "$T/z.json" "$T/f.json" <<'EOF2' || fail "values differ from the independent computation"
import json, math, sys
import numpy as np
from scipy import stats
series = json.load(open(sys.argv[1]))
step = 300000000
def idx(ts): return ts // step - 1
def close(a, b, tol=1e-9): return abs(a - b) <= tol * max(1.0, abs(b))
bad = 0
def check(ok, *msg):
    global bad
    if not ok:
        bad += 1
        if bad < 10: print(*msg)

W = 40
n = {"ks": 0, "psi": 0, "z": 0, "f": 0}
# each window detector alternates drift / recovery per series, starting with a drift
state = {}
for l in open(sys.argv[2]):
    r = json.loads(l)
    k = (r["labels"]["endpoint"], r["detector"]); kind = r.get("kind", "drift")
    check(kind == ("recovery" if state.get(k) == "drift" else "drift"), "kind out of turn", r)
    state[k] = kind
rec = sum(1 for l in open(sys.argv[2]) if json.loads(l).get("kind") == "recovery")
check(rec >= 10, "only %d recoveries" % rec)
for l in open(sys.argv[2]):
    r = json.loads(l)
    v = series[r["labels"]["endpoint"]]
    i = idx(r["ts"])
    ref = np.array(v[:W]); cur = np.array(v[i - W + 1:i + 1])
    check(i - W + 1 >= W and (i + 1 - 2 * W) % 7 == 0, "evaluated at an unexpected point", i)
    check(close(r["reference"], ref.mean()) and close(r["current"], cur.mean()), "window means", r)
    if r["detector"] == "ks":
        k = stats.ks_2samp(ref, cur, method="exact")
        check(close(r["statistic"], k.statistic) and close(r["p_value"], k.pvalue), "ks", r, k)
        n["ks"] += 1
    else:
        e = np.quantile(ref, np.arange(1, 8) / 8)
        rc = np.bincount(np.searchsorted(e, ref, side="right"), minlength=8) / W
        cc = np.bincount(np.searchsorted(e, cur, side="right"), minlength=8) / W
        rc = np.maximum(rc, 1e-4); cc = np.maximum(cc, 1e-4)
        psi = float(np.sum((cc - rc) * np.log(cc / rc)))
        check(close(r["statistic"], psi), "psi", r["statistic"], psi)
        n["psi"] += 1

# zscore: median and MAD (x1.4826; mean absolute deviation x1.2533 when the
# MAD is 0) of the 128 values ending 64 before the point; the threshold
# starts at max(--threshold, norm.isf(rate/2), the first window's largest
# |z|) and moves by 0.05 * (alarm - rate) in log scale at each point that
# could alarm; --recovery 1: one point back within it ends an anomaly
W, LAG, ETA, RATE, FLOOR = 128, 64, 0.05, 0.05, 1.0
want_z = []
for name, v in series.items():
    lt = None; anom = False
    for j, x in enumerate(v):
        if j < W + LAG: continue
        w = np.array(v[j - LAG - W:j - LAG])
        med = float(np.median(w))
        dev = np.abs(w - med)
        sc = 1.482602218505602 * float(np.median(dev))
        if not sc > 0: sc = 1.2533141373155003 * float(np.mean(dev))
        sc = max(sc, 1e-9 * max(1.0, abs(med)))
        z = (x - med) / sc
        if lt is None:
            lt = math.log(max(FLOOR, stats.norm.isf(RATE / 2), float(dev.max()) / sc))
        t = math.exp(lt)
        if not anom:
            alarm = abs(z) > t
            lt = max(math.log(FLOOR), lt + ETA * ((1.0 if alarm else 0.0) - RATE))
            if alarm:
                anom = True
                want_z.append((name, j, "anomaly", z, med, t))
        elif abs(z) <= t:
            anom = False
            want_z.append((name, j, "recovery", z, med, t))
got_z = []
for l in open(sys.argv[3]):
    r = json.loads(l)
    got_z.append((r["labels"]["endpoint"], idx(r["ts"]), r.get("kind", "drift"), r["statistic"],
                  r["reference"], r["threshold"]))
key = lambda t: (t[0], t[1])
got_z.sort(key=key); want_z.sort(key=key)
check([g[:3] for g in got_z] == [w[:3] for w in want_z], "zscore: anomalies/recoveries differ",
      [g[:3] for g in got_z][:8], [w[:3] for w in want_z][:8])
for g, w in zip(got_z, want_z):
    check(g[:3] == w[:3] and close(g[3], w[3]) and close(g[4], w[4]) and close(g[5], w[5]), "zscore", g, w)
    n["z"] += 1

# Holt: l1 = x1; l2 = x2, b2 = x2 - x1; then the usual recursions; sigma^2 =
# mean squared one-step error; 95% interval from FPP3 (beta_ets = a * b*)
a, b = 0.4, 0.2
fc = {}
for name, v in series.items():
    L = B = sse = 0.0; ne = 0
    for j, x in enumerate(v):
        if j == 0: L = x
        elif j == 1: B = x - L; L = x
        else:
            e = x - (L + B); sse += e * e; ne += 1
            p = L; L = a * x + (1 - a) * (L + B); B = b * (L - p) + (1 - b) * B
        if j + 1 > 10:
            for hz, us in (("15m", 900e6), ("7m", 420e6), ("2h", 7200e6)):
                k = us / step; h = max(1, math.ceil(k)); be = a * b
                var = (sse / ne if ne else 0) * (1 + (h - 1) * (a * a + a * be * h + be * be * h * (2 * h - 1) / 6))
                y = L + k * B; half = 1.959963984540054 * math.sqrt(var)
                fc[(name, hz, (j + 1) * step + int(us))] = (y, y - half, y + half, j + 1)
seen = 0
for l in open(sys.argv[4]):
    r = json.loads(l)
    if r.get("name") != "forecast.latency": continue
    lab = r["labels"]
    want = fc.get((lab["endpoint"], lab["horizon"], r["window_end"]))
    check(want is not None and r["window_start"] == r["window_end"], "unexpected forecast", r)
    if want:
        check(close(r["value"], want[0]) and close(r["min"], want[1]) and close(r["max"], want[2])
              and r["count"] == want[3], "holt", r, want)
    seen += 1
check(seen == len(fc), "forecasts: %d emitted, %d expected" % (seen, len(fc)))
n["f"] = seen
print("compared:", n, "bad:", bad)
sys.exit(1 if bad or min(n.values()) < 20 else 0)
EOF2
finish
