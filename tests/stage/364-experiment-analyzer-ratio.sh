#!/usr/bin/env bash
# experiment-analyzer: ratio metrics (type: ratio), users the unit of
# analysis, the metric a ratio of sums, against an independent computation
# from the raw events:
#  - the ratio, its delta-method standard error, interval and p-value, from
#    numpy on the per-user linearized values (N - R·D)/mean(D) (Deng et al.
#    2018), to 1e-6; the numerator and denominator sums exactly;
#  - a bootstrap (1,000 resamples of users per arm) of the difference: its
#    standard deviation within 10% of the reported standard error.
# clicks per pageview (a count over a count) and revenue per session (a sum
# over a count), with users who have no pageview or session at all (they
# count, with 0 over 0) and a 1-hour window.
# Then coverage: 200 experiments of 2 x 150 users, pageviews per user
# 1 + Poisson(3) or none, each user's click rate drawn from Beta(2, 8)
# (x1.15 in treatment), so the true difference of clicks per pageview is
# 0.2·0.15 = 0.03: the 95% interval covers it in 182 to 198 of 200
# (P(Bin(200, 0.05) > 18) = 0.008).
source "$(dirname "$0")/experiment-stats.bash"
need_python scipy numpy
cat > "$T/exp.yaml" <<'YAML'
experiments:
  - name: rx
    control: control
    variants:
      - {name: control, allocation: 0.5}
      - {name: treatment, allocation: 0.5}
    metrics:
      - {name: ctr, type: ratio, event: click, aggregate: count, denominator: view, tau: 0.05}
      - {name: rev_per_session, type: ratio, event: purchase, denominator: session_start, window: 1h, tau: 1}
YAML
$PY - "$T/truth.json" > "$T/ev.jsonl" <<'PY' || die "simulation failed"
import json, random, sys
r = random.Random(364)
t = 1795000000 * 10**6
truth = {}
def out(ts, user, typ, **kw):
    d = {"ts": ts, "user_id": user, "type": typ}; d.update(kw); print(json.dumps(d))
for u in range(4000):
    t += 1000
    user = "u%d" % u
    v = "treatment" if r.random() < 0.5 else "control"
    out(t, user, "exposure", experiment="rx", variant=v)
    # heavy users view a lot and click at their own rate: ratio per user varies
    views = int(r.paretovariate(1.5)) - 1 if r.random() < 0.9 else 0
    p = min(0.9, r.betavariate(2, 8) * (1.15 if v == "treatment" else 1.0))
    clicks = 0
    for k in range(views):
        out(t + 1 + k, user, "view", item_id="i")
        if r.random() < p:
            out(t + 1 + k, user, "click", item_id="i"); clicks += 1
    sessions, rev = r.randint(0, 4), 0.0
    for k in range(sessions):
        out(t + 5, user, "custom", name="session_start")
        if r.random() < 0.3:
            val = round(r.expovariate(1 / 30), 2)
            out(t + 6, user, "purchase", value=val); rev += val
    # late ones, after the window: not counted
    out(t + 7200 * 10**6, user, "custom", name="session_start")
    out(t + 7200 * 10**6, user, "purchase", value=99.0)
    truth[user] = {"v": v, "clicks": clicks, "views": views, "rev": rev, "sessions": sessions}
json.dump(truth, open(sys.argv[1], "w"))
PY
analyze "$T/exp.yaml" "$T/ev.jsonl" "$T/out.json"
$PY - "$T/truth.json" "$T/out.json" <<'PY' || fail "ratio metrics against numpy"
import json, sys
import numpy as np
from scipy import stats
truth = json.load(open(sys.argv[1]))
rows = {(d["metric"], d["variant"]): d for d in map(json.loads, open(sys.argv[2]))}
bad = 0
def close(what, got, want, tol=1e-6):
    global bad
    if not abs(got - want) <= tol * max(1.0, abs(want)):
        print(f"  {what}: got {got!r}, want {want!r}"); bad += 1
rng = np.random.default_rng(364)
z = stats.norm.ppf(0.975)
for metric, nk, dk in (("ctr", "clicks", "views"), ("rev_per_session", "rev", "sessions")):
    arm = {}
    for v in ("control", "treatment"):
        N = np.array([u[nk] for u in truth.values() if u["v"] == v], dtype=float)
        D = np.array([u[dk] for u in truth.values() if u["v"] == v], dtype=float)
        R = N.sum() / D.sum()
        lin = (N - R * D) / D.mean()
        var = lin.var(ddof=1) / len(N)
        arm[v] = (N, D, R, var)
        row = rows[(metric, v)]
        close(f"{metric}/{v} ratio", row["mean"], R)
        close(f"{metric}/{v} se", row["stddev"], np.sqrt(var))
        close(f"{metric}/{v} ci low", row["ci_low"], R - z * np.sqrt(var))
        close(f"{metric}/{v} ci high", row["ci_high"], R + z * np.sqrt(var))
        close(f"{metric}/{v} numerator", row["numerator"], N.sum(), 1e-12)
        close(f"{metric}/{v} denominator", row["denominator"], D.sum(), 0)
    (Nt, Dt, Rt, vt), (Nc, Dc, Rc, vc) = arm["treatment"], arm["control"]
    diff, se = Rt - Rc, np.sqrt(vt + vc)
    row = rows[(metric, "treatment")]
    close(f"{metric} lift", row["lift"], diff)
    close(f"{metric} se", row["lift_std_error"], se)
    close(f"{metric} ci low", row["lift_ci_low"], diff - z * se)
    close(f"{metric} ci high", row["lift_ci_high"], diff + z * se)
    close(f"{metric} p", row["p_value"], 2 * stats.norm.sf(abs(diff / se)))
    close(f"{metric} relative lift", row["relative_lift"], diff / Rc)
    boot = []
    for b in range(1000):
        it = rng.integers(0, len(Nt), len(Nt)); ic = rng.integers(0, len(Nc), len(Nc))
        boot.append(Nt[it].sum() / Dt[it].sum() - Nc[ic].sum() / Dc[ic].sum())
    bsd = np.std(boot, ddof=1)
    print(f"{metric}: lift {diff:.6g}, delta-method se {row['lift_std_error']:.6g}, bootstrap sd {bsd:.6g} "
          f"({row['lift_std_error'] / bsd:.3f}x), p {row['p_value']:.4g}, test {row['test']}")
    if abs(row["lift_std_error"] / bsd - 1) > 0.10: print("  FAIL: bootstrap disagrees"); bad += 1
    if row["test"] != "delta_ratio_z" or row["metric_type"] != "ratio": print("  FAIL: test/type"); bad += 1
sys.exit(1 if bad else 0)
PY

$PY - "$T/cov.yaml" > "$T/cov.jsonl" <<'PY' || die "simulation failed"
import math, random, sys
r = random.Random(3640)
E, U = 200, 300
with open(sys.argv[1], "w") as f:
    f.write("experiments:\n")
    for k in range(E):
        f.write(f"""  - name: c{k:03d}
    control: control
    variants: [{{name: control, allocation: 0.5}}, {{name: treatment, allocation: 0.5}}]
    sequential: "off"
    metrics: [{{name: ctr, type: ratio, event: click, aggregate: count, denominator: view}}]
""")
def poisson(lam):
    k, p, L = 0, 1.0, math.exp(-lam)
    while True:
        p *= r.random()
        if p < L: return k
        k += 1
t = 1795000000 * 10**6
out = []
for k in range(E):
    for u in range(U):
        t += 1000
        v = "treatment" if u % 2 else "control"
        user = "c%d_%d" % (k, u)
        out.append('{"ts":%d,"user_id":"%s","type":"exposure","experiment":"c%03d","variant":"%s"}' % (t, user, k, v))
        p = r.betavariate(2, 8) * (1.15 if v == "treatment" else 1)
        for j in range(1 + poisson(3) if r.random() < 0.8 else 0):
            out.append('{"ts":%d,"user_id":"%s","type":"view","item_id":"i"}' % (t + 1, user))
            if r.random() < p: out.append('{"ts":%d,"user_id":"%s","type":"click","item_id":"i"}' % (t + 2, user))
print("\n".join(out))
PY
analyze "$T/cov.yaml" "$T/cov.jsonl" "$T/cov.out"
$PY - "$T/cov.out" <<'PY' || fail "ratio interval coverage"
import json, sys
t = [d for d in map(json.loads, open(sys.argv[1])) if d["variant"] == "treatment"]
assert len(t) == 200, len(t)
cover = sum(r["lift_ci_low"] <= 0.03 <= r["lift_ci_high"] for r in t)
print(f"clicks per pageview: the interval covers the true difference 0.03 in {cover}/200")
sys.exit(0 if 182 <= cover <= 198 else 1)
PY
finish
