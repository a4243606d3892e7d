#!/usr/bin/env bash
# experiment-analyzer: CUPED by simulation. 400 seeded experiments of 250
# users, unit-variance metric, a true lift of 0.1 and a covariate of
# correlation rho with the metric (rho = 0, 0.5, 0.8, 0.95; 100 each):
#  - the adjusted 95% interval covers the true lift in at least 365 of 400
#    (P(Bin(400, 0.05) > 35) = 0.003);
#  - the variance reduction reported averages rho² (±0.03) per rho;
#  - the adjusted lifts really vary less across experiments, as theory
#    says: (lift - 0.1)² over (1 - rho²)(1/nt + 1/nc) averages 1 (within
#    [0.8, 1.25] over all 400, sd about 0.07; within [0.6, 1.6] per rho),
#    where the unadjusted lift would give 1/(1 - rho²) (10 at rho 0.95);
#  - the reported standard errors match that spread (within [0.8, 1.25]).
source "$(dirname "$0")/experiment-stats.bash"
need_python numpy
$PY - "$T/exp.yaml" > "$T/ev.jsonl" <<'PY' || die "simulation failed"
import math, random, sys
r = random.Random(363)
RHOS, PER, U, LIFT = (0.0, 0.5, 0.8, 0.95), 100, 250, 0.1
t = 1795000000 * 10**6
with open(sys.argv[1], "w") as f:
    f.write("experiments:\n")
    for i, rho in enumerate(RHOS):
        for k in range(PER):
            f.write(f"""  - name: r{i}_{k:02d}
    control: control
    variants: [{{name: control, allocation: 0.5}}, {{name: treatment, allocation: 0.5}}]
    sequential: "off"
    metrics: [{{name: y, type: numeric, event: purchase, covariate: pre}}]
""")
lines = []
for i, rho in enumerate(RHOS):
    for k in range(PER):
        for u in range(U):
            t += 1000
            user = "u%d_%d_%d" % (i, k, u)
            v = "treatment" if r.random() < 0.5 else "control"
            x = r.gauss(0, 1)
            y = rho * x + math.sqrt(1 - rho * rho) * r.gauss(0, 1) + (LIFT if v == "treatment" else 0)
            lines.append('{"ts":%d,"user_id":"%s","type":"exposure","experiment":"r%d_%02d","variant":"%s"}' % (t, user, i, k, v))
            lines.append('{"ts":%d,"user_id":"%s","type":"custom","name":"pre","value":%.9f}' % (t + 1, user, x))
            lines.append('{"ts":%d,"user_id":"%s","type":"purchase","value":%.9f}' % (t + 2, user, y))
print("\n".join(lines))
PY
analyze "$T/exp.yaml" "$T/ev.jsonl" "$T/out.json"
$PY - "$T/out.json" <<'PY' || fail "CUPED coverage and variance reduction"
import json, sys
import numpy as np
allrows = list(map(json.loads, open(sys.argv[1])))
nc = {d["experiment"]: d["users"] for d in allrows if d["variant"] == "control"}
rows = [d for d in allrows if d["variant"] == "treatment"]
assert len(rows) == 400, len(rows)
RHOS, LIFT = (0.0, 0.5, 0.8, 0.95), 0.1
bad = 0
cover = sum(r["lift_ci_low"] <= LIFT <= r["lift_ci_high"] for r in rows)
print(f"adjusted interval covers the true lift in {cover}/400")
if cover < 365: bad += 1
zs, qs = [], []
for i, rho in enumerate(RHOS):
    g = [r for r in rows if r["experiment"].startswith("r%d_" % i)]
    vr = np.mean([r["variance_reduction"] for r in g])
    theory = np.array([(1 - rho * rho) * (1 / r["users"] + 1 / nc[r["experiment"]]) for r in g])
    z2 = np.array([(r["lift"] - LIFT) ** 2 for r in g]) / theory
    p2 = np.array([(r["lift_unadjusted"] - LIFT) ** 2 for r in g]) / theory
    q2 = np.array([(r["lift"] - LIFT) ** 2 / r["lift_std_error"] ** 2 for r in g])
    zs += list(z2); qs += list(q2)
    print(f"rho {rho}: mean variance reduction {vr:.4f} (rho² {rho*rho:.4f}); spread of adjusted lifts over "
          f"theory {z2.mean():.3f} (unadjusted {p2.mean():.3f}); over reported se² {q2.mean():.3f}")
    if abs(vr - rho * rho) > 0.03: bad += 1; print("  FAIL: variance reduction")
    if not 0.6 <= z2.mean() <= 1.6: bad += 1; print("  FAIL: adjusted lifts do not vary as 1 - rho² says")
print(f"all: spread over theory {np.mean(zs):.3f}, over reported se² {np.mean(qs):.3f}")
if not 0.8 <= np.mean(zs) <= 1.25: bad += 1; print("  FAIL: spread over theory")
if not 0.8 <= np.mean(qs) <= 1.25: bad += 1; print("  FAIL: the standard error does not match the spread")
sys.exit(1 if bad else 0)
PY
finish
