#!/usr/bin/python3
"""Recompute experiment-analyzer's results from the raw events with
scipy/statsmodels and compare (1e-6 relative, 1e-9 absolute near 0).

    check_scipy.py EVENTS.jsonl RESULTS.jsonl [ALLOC]

EVENTS: the Event JSON lines fed to the analyzer (sim_events.py output);
RESULTS: its --format json output (the last report of each row is used).
Metrics understood, by name: converted (conversion of purchase), revenue
(sum of purchase value over exposed users), aov (mean purchase value over
purchasers), ttp (seconds from exposure to first purchase). ALLOC
("0.5,0.3,0.2", arms control, treatment, t2, ...) checks the SRM p-value: the
always-valid one is the running minimum over the analyzer's looks of
1/BF (Dirichlet-multinomial against the allocation, Lindon and Malek 2022),
so it must lie between the running minimum over every exposure (computed
here with scipy's gammaln) and 1, and flag below 0.001. Prints each
mismatch; exits 1 if any, and prints the number of values compared."""
import json
import math
import sys
import warnings
warnings.simplefilter("ignore")
from collections import defaultdict

import numpy as np
from scipy import special, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (confint_proportions_2indep, proportion_confint,
                                          proportions_ztest)

events = [json.loads(l) for l in open(sys.argv[1])]
rows = {}
for l in open(sys.argv[2]):
    r = json.loads(l)
    rows[(r["experiment"], r["metric"], r["variant"])] = r

expo = {}                      # (exp, user) -> (variant, ts)
by_user = defaultdict(list)    # user -> [(exp)]
purchases = defaultdict(list)  # user -> [(ts, value)]
for e in events:
    if e.get("experiment"):
        k = (e["experiment"], e["user_id"])
        if k not in expo:
            expo[k] = (e["variant"], e["ts"])
            by_user[e["user_id"]].append(e["experiment"])
    if e["type"] == "purchase":
        purchases[e["user_id"]].append((e["ts"], e.get("value", 0.0)))

arms = defaultdict(lambda: defaultdict(lambda: {"n": 0, "conv": 0, "revenue": [], "aov": [], "ttp": []}))
for (exp, user), (variant, ts0) in expo.items():
    a = arms[exp][variant]
    a["n"] += 1
    ps = sorted(p for p in purchases[user] if p[0] >= ts0)
    a["conv"] += 1 if ps else 0
    a["revenue"].append(sum(v for _, v in ps))
    if ps:
        a["aov"].append(sum(v for _, v in ps) / len(ps))
        a["ttp"].append((ps[0][0] - ts0) / 1e6)

bad = 0
checked = 0
undefined = 0
def cmp(what, got, want):
    """scipy's nan means undefined (an arm without values, zero variance):
    the analyzer then reports its documented fallback, not compared."""
    global bad, checked, undefined
    if isinstance(want, float) and math.isnan(want):
        undefined += 1
        return
    checked += 1
    if got is None or not (abs(got - want) <= 1e-6 * abs(want) + 1e-9):
        bad += 1
        print(f"MISMATCH {what}: analyzer {got!r} scipy {want!r}")

for exp, av in arms.items():
    variants = sorted(av)
    n = [av[v]["n"] for v in variants]
    if len(sys.argv) > 3:
        alloc = [float(x) for x in sys.argv[3].split(",")]
        names = ["control", "treatment"] + ["t%d" % i for i in range(2, len(alloc))]
        obs = [av[v]["n"] if v in av else 0 for v in names]
        conc = [100.0 * a for a in alloc]
        counts = [0] * len(names)
        lo = 1.0
        for (x, user), (variant, _) in expo.items():     # in the order of the events
            if x != exp:
                continue
            counts[names.index(variant)] += 1
            lbf = (special.gammaln(sum(conc)) - special.gammaln(sum(conc) + sum(counts))
                   + sum(special.gammaln(a + n) - special.gammaln(a) - n * math.log(t)
                         for a, n, t in zip(conc, counts, alloc)))
            lo = min(lo, math.exp(-lbf) if lbf > 0 else 1.0)
        r = rows[(exp, "converted", "control")]
        got = r.get("srm_p_value", 1.0)    # 1: the default, left out of the JSON
        checked += 1
        if not (lo * (1 - 1e-9) - 1e-12 <= got <= 1) or bool(r.get("srm_flag", False)) != (got < 0.001):
            bad += 1
            print(f"MISMATCH {exp} srm: analyzer {got!r} flag {r.get('srm_flag')!r}, "
                  f"running minimum over every exposure {lo!r}")
    for metric in ("converted", "revenue", "aov", "ttp"):
        if (exp, metric, "control") not in rows:
            continue
        c = av["control"]
        treats = [v for v in variants if v != "control"]
        ps = []
        for v in variants:
            a, r = av[v], rows[(exp, metric, v)]
            cmp(f"{exp}/{metric}/{v} users", r.get("users", 0), a["n"])
            if metric == "converted":
                lo, hi = proportion_confint(a["conv"], a["n"], alpha=0.05, method="wilson")
                cmp(f"{exp}/{metric}/{v} conversions", r.get("conversions", 0), a["conv"])
                cmp(f"{exp}/{metric}/{v} rate", r.get("rate", 0), a["conv"] / a["n"])
                cmp(f"{exp}/{metric}/{v} ci_low", r.get("ci_low", 0), lo)
                cmp(f"{exp}/{metric}/{v} ci_high", r.get("ci_high", 0), hi)
                if v != "control":
                    dl, dh = confint_proportions_2indep(a["conv"], a["n"], c["conv"], c["n"],
                                                        method="newcomb", compare="diff")
                    _, p = proportions_ztest([a["conv"], c["conv"]], [a["n"], c["n"]])
                    cmp(f"{exp}/{metric}/{v} lift", r.get("lift", 0), a["conv"] / a["n"] - c["conv"] / c["n"])
                    cmp(f"{exp}/{metric}/{v} lift_ci_low", r.get("lift_ci_low", 0), dl)
                    cmp(f"{exp}/{metric}/{v} lift_ci_high", r.get("lift_ci_high", 0), dh)
                    cmp(f"{exp}/{metric}/{v} p", r.get("p_value", 0), p)
                    ps.append(p)
            else:
                x = np.array(a[metric])
                xc = np.array(c[metric])
                cmp(f"{exp}/{metric}/{v} n", r.get("conversions", 0), len(x))
                cmp(f"{exp}/{metric}/{v} mean", r.get("mean", 0), x.mean())
                cmp(f"{exp}/{metric}/{v} stddev", r.get("stddev", 0), x.std(ddof=1))
                lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=x.std(ddof=1) / math.sqrt(len(x)))
                cmp(f"{exp}/{metric}/{v} ci_low", r.get("ci_low", 0), lo)
                cmp(f"{exp}/{metric}/{v} ci_high", r.get("ci_high", 0), hi)
                if v != "control":
                    t = stats.ttest_ind(x, xc, equal_var=False)
                    vt, vc = x.var(ddof=1) / len(x), xc.var(ddof=1) / len(xc)
                    df = (vt + vc) ** 2 / (vt ** 2 / (len(x) - 1) + vc ** 2 / (len(xc) - 1))
                    q = stats.t.ppf(0.975, df) * math.sqrt(vt + vc)
                    d = x.mean() - xc.mean()
                    cmp(f"{exp}/{metric}/{v} p", r.get("p_value", 0), t.pvalue)
                    cmp(f"{exp}/{metric}/{v} lift", r.get("lift", 0), d)
                    cmp(f"{exp}/{metric}/{v} lift_ci_low", r.get("lift_ci_low", 0), d - q)
                    cmp(f"{exp}/{metric}/{v} lift_ci_high", r.get("lift_ci_high", 0), d + q)
                    ps.append(t.pvalue)
        if len(ps) > 0:
            holm = multipletests(ps, method="holm")[1]
            for v, h in zip(treats, holm):
                cmp(f"{exp}/{metric}/{v} p_adjusted", rows[(exp, metric, v)].get("p_value_adjusted", 0), h)

print(f"{checked} values compared, {bad} mismatches ({undefined} undefined in scipy, skipped)")
sys.exit(1 if bad else 0)
