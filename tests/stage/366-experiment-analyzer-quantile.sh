#!/usr/bin/env bash
# experiment-analyzer: quantile metrics (quantile: q on a duration or
# numeric metric).
# 1. Exact, against numpy from the raw events: each arm's quantile is
#    numpy.quantile (linear) of the per-user values, its interval the order
#    statistics of ranks floor(nq - z√(nq(1-q))) and ceil(nq + z√(nq(1-q)))+1,
#    and the difference's standard error Woodruff's: per arm, numpy.quantile
#    at q ± z√(q(1-q)/n) over 2z, added in quadrature, with a normal
#    interval and p-value; p50 and p90 of a duration, p90 of a per-user mean.
# 2. By simulation: 300 experiments of 2 x 150 users, time to click
#    log-normal (median 5 s), the treatment 10% slower, so the true p90
#    difference is 0.1·ξ90. The difference's 95% interval covers it in 272
#    to 297 of 300 (P(Bin(300, 0.05) > 28) = 0.003; more than 297 would be
#    an interval far wider than it should be); each arm's interval
#    covers its true p90 in at least the binomial coverage of its ranks
#    minus 4 sd, over 600 arm intervals.
source "$(dirname "$0")/experiment-stats.bash"
need_python scipy numpy

# 1. exact
cat > "$T/exp.yaml" <<'YAML'
experiments:
  - name: qx
    control: control
    variants:
      - {name: control, allocation: 0.5}
      - {name: treatment, allocation: 0.3}
      - {name: t2, allocation: 0.2}
    sequential: "off"
    metrics:
      - {name: ttc_p50, type: duration, event: click, quantile: 0.5}
      - {name: ttc_p90, type: duration, event: click, quantile: 0.9, goal: minimize}
      - {name: rating_p90, type: numeric, event: rating, aggregate: mean, quantile: 0.9}
YAML
$PY - "$T/truth.json" > "$T/ev.jsonl" <<'PY' || die "simulation failed"
import json, math, random, sys
r = random.Random(366)
t = 1795000000 * 10**6
truth = {}
def out(ts, user, typ, **kw):
    d = {"ts": ts, "user_id": user, "type": typ}; d.update(kw); print(json.dumps(d))
for u in range(3000):
    t += 1000
    user = "u%d" % u
    v = r.choices(["control", "treatment", "t2"], [0.5, 0.3, 0.2])[0]
    out(t, user, "exposure", experiment="qx", variant=v)
    d = {}
    if r.random() < 0.7:
        us = int(r.lognormvariate(math.log(5), 1) * (1.2 if v == "treatment" else 1) * 1e6) + 1
        out(t + us, user, "click", item_id="i")
        out(t + us + 5 * 10**6, user, "click", item_id="i")   # only the first counts
        d["ttc"] = us / 1e6
    ratings = [r.randint(1, 5) for k in range(r.randint(0, 3))]
    for x in ratings: out(t + 3, user, "rating", value=x)
    if ratings: d["rating"] = sum(ratings) / len(ratings)
    d["v"] = v
    truth[user] = d
json.dump(truth, open(sys.argv[1], "w"))
PY
analyze "$T/exp.yaml" "$T/ev.jsonl" "$T/out.json"
$PY - "$T/truth.json" "$T/out.json" <<'PY' || fail "quantiles against numpy"
import json, math, sys
import numpy as np
from scipy import stats
truth = json.load(open(sys.argv[1]))
rows = {(d["metric"], d["variant"]): d for d in map(json.loads, open(sys.argv[2]))}
bad = 0
def close(what, got, want, tol=1e-9):
    global bad
    if not abs(got - want) <= tol * max(1.0, abs(want)):
        print(f"  {what}: got {got!r}, want {want!r}"); bad += 1
z = stats.norm.ppf(0.975)
def arm(vals, q):
    x = np.sort(np.array(vals)); n = len(x)
    s = z * math.sqrt(n * q * (1 - q))
    lo, hi = max(1, math.floor(n * q - s)), min(n, math.ceil(n * q + s) + 1)
    h = z * math.sqrt(q * (1 - q) / n)
    se = (np.quantile(x, min(1, q + h)) - np.quantile(x, max(0, q - h))) / (2 * z)
    return np.quantile(x, q), x[lo - 1], x[hi - 1], n, se
for metric, key, q in (("ttc_p50", "ttc", 0.5), ("ttc_p90", "ttc", 0.9), ("rating_p90", "rating", 0.9)):
    res = {}
    for v in ("control", "treatment", "t2"):
        res[v] = arm([u[key] for u in truth.values() if u["v"] == v and key in u], q)
        row = rows[(metric, v)]
        est, lo, hi, n, _ = res[v]
        close(f"{metric}/{v} quantile", row["mean"], est)
        close(f"{metric}/{v} ci low", row["ci_low"], lo)
        close(f"{metric}/{v} ci high", row["ci_high"], hi)
        if row["conversions"] != n or row["quantile"] != q: print(f"  {metric}/{v}: values {row['conversions']} of {n}, q {row['quantile']}"); bad += 1
    for v in ("treatment", "t2"):
        (et, _, _, _, st), (ec, _, _, _, sc) = res[v], res["control"]
        se = math.hypot(st, sc)
        diff = et - ec
        row = rows[(metric, v)]
        close(f"{metric}/{v} lift", row["lift"], diff)
        close(f"{metric}/{v} se", row["lift_std_error"], se, 1e-6)
        close(f"{metric}/{v} lift ci low", row["lift_ci_low"], diff - z * se, 1e-6)
        close(f"{metric}/{v} lift ci high", row["lift_ci_high"], diff + z * se, 1e-6)
        close(f"{metric}/{v} p", row["p_value"], 2 * stats.norm.sf(abs(diff) / se) if se > 0 else float(diff == 0), 1e-6)
        print(f"{metric}/{v}: {row['mean']:.4g} vs control {rows[(metric, 'control')]['mean']:.4g}, "
              f"lift {row['lift']:.4g} [{row['lift_ci_low']:.4g}, {row['lift_ci_high']:.4g}], p {row['p_value']:.3g}")
sys.exit(1 if bad else 0)
PY

# 2. coverage
$PY - "$T/cov.yaml" > "$T/cov.jsonl" <<'PY' || die "simulation failed"
import math, random, sys
r = random.Random(3660)
E, U = 300, 300
t = 1795000000 * 10**6
with open(sys.argv[1], "w") as f:
    f.write("experiments:\n")
    for k in range(E):
        f.write(f"""  - name: c{k:03d}
    control: control
    variants: [{{name: control, allocation: 0.5}}, {{name: treatment, allocation: 0.5}}]
    sequential: "off"
    min_sample_size: 10
    metrics: [{{name: ttc_p90, type: duration, event: click, quantile: 0.9}}]
""")
out = []
for k in range(E):
    for u in range(U):
        t += 10**8
        v = "treatment" if u % 2 else "control"
        user = "c%d_%d" % (k, u)
        out.append('{"ts":%d,"user_id":"%s","type":"exposure","experiment":"c%03d","variant":"%s"}' % (t, user, k, v))
        d = int(r.lognormvariate(math.log(5), 1) * (1.1 if v == "treatment" else 1) * 1e6) + 1
        out.append('{"ts":%d,"user_id":"%s","type":"click","item_id":"i"}' % (t + d, user))
print("\n".join(out))
PY
analyze "$T/cov.yaml" "$T/cov.jsonl" "$T/cov.out"
$PY - "$T/cov.out" <<'PY' || fail "quantile interval coverage"
import json, math, sys
from scipy import stats
rows = list(map(json.loads, open(sys.argv[1])))
xi = 5 * math.exp(stats.norm.ppf(0.9))           # true p90 of control
true = {"control": xi, "treatment": 1.1 * xi}
t = [r for r in rows if r["variant"] == "treatment"]
assert len(t) == 300, len(t)
cover = sum(r["lift_ci_low"] <= 0.1 * xi <= r["lift_ci_high"] for r in t)
arms = sum(r["ci_low"] <= true[r["variant"]] <= r["ci_high"] for r in rows)
# the per-arm intervals' exact coverage: P(l <= B <= u-1), B ~ Bin(150, 0.9)
n, q, z = 150, 0.9, stats.norm.ppf(0.975)
s = z * math.sqrt(n * q * (1 - q))
l, u = max(1, math.floor(n * q - s)), min(n, math.ceil(n * q + s) + 1)
pc = stats.binom.cdf(u - 1, n, q) - stats.binom.cdf(l - 1, n, q)
want = 600 * pc - 4 * math.sqrt(600 * pc * (1 - pc))
print(f"difference interval covers 0.1·p90 in {cover}/300; arm intervals cover their p90 in {arms}/600 "
      f"(exact coverage of ranks {l}..{u}: {pc:.4f}, need >= {want:.0f})")
sys.exit(0 if 272 <= cover <= 297 and arms >= want else 1)
PY
finish
