#!/usr/bin/env bash
# experiment-analyzer: CUPED (metric with `covariate:`) against an
# independent computation from the raw events, to 1e-6:
#  - the adjusted lift and θ are the `treated` and covariate coefficients of
#    statsmodels OLS  y ~ 1 + treated + x  over the two arms compared;
#  - its standard error, interval, p-value and the variance reduction from
#    numpy/scipy on the per-user y - θx (Welch on the adjusted values).
# Three arms (θ is pooled over each treatment and control only), a numeric
# sum and a conversion metric, a covariate given twice for some users (the
# newest counts), none for others (x = 0) and, for a few, only before their
# exposure (not attributed: x = 0, as the README says).
source "$(dirname "$0")/experiment-stats.bash"
need_python scipy statsmodels
cat > "$T/exp.yaml" <<'YAML'
experiments:
  - name: cx
    control: control
    variants:
      - {name: control, allocation: 0.5}
      - {name: treatment, allocation: 0.3}
      - {name: t2, allocation: 0.2}
    min_sample_size: 100
    metrics:
      - {name: revenue, type: numeric, event: purchase, covariate: pre_revenue, tau: 1}
      - {name: bought, type: conversion, event: purchase, covariate: pre_bought, tau: 0.05}
YAML
$PY - "$T/truth.json" > "$T/ev.jsonl" <<'PY' || die "simulation failed"
import json, random, sys
r = random.Random(362)
t = 1795000000 * 10**6
truth = {}
def out(ts, user, typ, **kw):
    d = {"ts": ts, "user_id": user, "type": typ}
    d.update(kw)
    print(json.dumps(d))
for u in range(3000):
    t += 1000
    user = "u%d" % u
    v = r.choices(["control", "treatment", "t2"], [0.5, 0.3, 0.2])[0]
    pre = r.lognormvariate(2, 0.6)
    pre_b = 1.0 if r.random() < 0.3 else 0.0
    kind = r.random()
    if kind < 0.05:     # covariate only before the exposure: not attributed
        out(t - 500, user, "custom", name="pre_revenue", value=pre)
        x = 0.0
    elif kind < 0.10:   # no covariate
        x = 0.0
    else:
        x = pre
    out(t, user, "exposure", experiment="cx", variant=v)
    if 0.10 <= kind < 0.20:   # a first, superseded value
        out(t + 1, user, "custom", name="pre_revenue", value=pre * 3 + 7)
    if kind >= 0.10:
        out(t + 2, user, "custom", name="pre_revenue", value=pre)
    out(t + 2, user, "custom", name="pre_bought", value=pre_b)
    eff = {"control": 0, "treatment": 0.8, "t2": -0.5}[v]
    y = 0.0
    # buyers before buy again: the conversion's covariate is informative
    npur = r.randint(1, 3) if pre_b else (0 if r.random() < 0.7 else r.randint(1, 2))
    for k in range(npur):
        val = round(max(0.0, 0.6 * pre + eff + r.gauss(0, 2)), 4)
        out(t + 10 + k, user, "purchase", value=val)
        y += val
    truth[user] = {"v": v, "x": x, "y": y, "xb": pre_b}
json.dump(truth, open(sys.argv[1], "w"))
PY
analyze "$T/exp.yaml" "$T/ev.jsonl" "$T/out.json"
$PY - "$T/truth.json" "$T/ev.jsonl" "$T/out.json" <<'PY' || fail "CUPED against statsmodels/numpy"
import json, sys
import numpy as np, statsmodels.api as sm
from scipy import stats
truth = json.load(open(sys.argv[1]))
# conversion: did the user have any purchase event after exposure
bought = set(json.loads(l)["user_id"] for l in open(sys.argv[2]) if '"purchase"' in l)
rows = {(d["metric"], d["variant"]): d for d in map(json.loads, open(sys.argv[3]))}
bad = 0
def close(what, got, want, tol=1e-6):
    global bad
    if not abs(got - want) <= tol * max(1.0, abs(want)):
        print(f"  {what}: got {got!r}, want {want!r}"); bad += 1
for metric, xkey in (("revenue", "x"), ("bought", "xb")):
    for tv in ("treatment", "t2"):
        users = [u for u in truth.values() if u["v"] in ("control", tv)]
        ids = [uid for uid, u in truth.items() if u["v"] in ("control", tv)]
        y = np.array([u["y"] for u in users]) if metric == "revenue" else \
            np.array([1.0 if uid in bought else 0.0 for uid in ids])
        x = np.array([u[xkey] for u in users])
        d = np.array([1.0 if u["v"] == tv else 0.0 for u in users])
        fit = sm.OLS(y, sm.add_constant(np.column_stack([d, x]))).fit()
        theta, lift = fit.params[2], fit.params[1]
        adj = y - theta * x
        at, ac = adj[d == 1], adj[d == 0]
        vt, vc = at.var(ddof=1) / len(at), ac.var(ddof=1) / len(ac)
        se = np.sqrt(vt + vc)
        df = (vt + vc) ** 2 / (vt ** 2 / (len(at) - 1) + vc ** 2 / (len(ac) - 1))
        h = stats.t.ppf(0.975, df) * se
        p = 2 * stats.t.sf(abs(lift / se), df)
        plain = y[d == 1].var(ddof=1) / len(at) + y[d == 0].var(ddof=1) / len(ac)
        row = rows[(metric, tv)]
        print(f"{metric}/{tv}: lift {row['lift']:.6g} (OLS {lift:.6g}), theta {theta:.6g}, se {se:.6g}, "
              f"variance reduction {row['variance_reduction']:.4f}")
        close("lift vs OLS", row["lift"], lift)
        close("theta vs OLS", row["cuped_theta"], theta)
        close("std error", row["lift_std_error"], se)
        close("ci low", row["lift_ci_low"], lift - h)
        close("ci high", row["lift_ci_high"], lift + h)
        close("p", row["p_value"], p)
        close("variance reduction", row["variance_reduction"], 1 - (vt + vc) / plain)
        close("unadjusted lift", row["lift_unadjusted"], y[d == 1].mean() - y[d == 0].mean())
        if row["test"] != "cuped_welch_t" or row["covariate"] != ("pre_revenue" if metric == "revenue" else "pre_bought"):
            print("  test/covariate fields:", row["test"], row["covariate"]); bad += 1
        if not row["variance_reduction"] > 0.05:
            print("  the covariate should reduce the variance here"); bad += 1
sys.exit(1 if bad else 0)
PY
finish
