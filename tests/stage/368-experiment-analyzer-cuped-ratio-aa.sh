#!/usr/bin/env bash
# experiment-analyzer: CUPED and ratio metrics under the always-valid path
# (sequential: msprt, a look every 16 updates), in 200 seeded A/A
# experiments of 250 users fed in event-time order: the always-valid
# p-value (the running minimum over every look) falls below alpha in at
# most 18 of 200 for each metric (alpha 0.05: P(Bin(200, 0.05) > 18) =
# 0.008), while the fixed-horizon p-value read at every look would stop far
# more often, and how often it rejects at the end (printed, not checked).
# The always-valid interval holds the lift at the end.
source "$(dirname "$0")/experiment-stats.bash"
need_python numpy
$PY - "$T/aa.yaml" > "$T/aa.jsonl" <<'PY' || die "simulation failed"
import math, random, sys
r = random.Random(368)
E, U = 200, 250
names = ["a%03d" % i for i in range(E)]
with open(sys.argv[1], "w") as f:
    f.write("experiments:\n")
    for n in names:
        f.write(f"""  - name: {n}
    control: control
    variants: [{{name: control, allocation: 0.5}}, {{name: treatment, allocation: 0.5}}]
    min_sample_size: 50
    metrics:
      - {{name: revenue, type: numeric, event: purchase, covariate: pre, tau: 2}}
      - {{name: ctr, type: ratio, event: click, aggregate: count, denominator: view, tau: 0.05}}
""")
ev = []
t0 = 1795000000 * 10**6
for x, n in enumerate(names):
    ts = t0
    for u in range(U):
        ts += int(r.expovariate(0.5) * 1e6) + 1
        user = "u%d_%d" % (x, u)
        ev.append((ts, '{"ts":%d,"user_id":"%s","type":"exposure","experiment":"%s"}' % (ts, user, n)))
        pre = r.expovariate(1 / 20)
        ev.append((ts + 1, '{"ts":%d,"user_id":"%s","type":"custom","name":"pre","value":%.4f}' % (ts + 1, user, pre)))
        tp = ts
        for k in range(r.randint(0, 3)):   # purchases minutes apart: values accrue across looks
            tp += int(r.expovariate(1 / 300) * 1e6) + 1
            ev.append((tp, '{"ts":%d,"user_id":"%s","type":"purchase","value":%.2f}' % (tp, user, 0.5 * pre + r.expovariate(1 / 10))))
        p = r.betavariate(2, 6)
        tv = ts
        for k in range(int(r.paretovariate(1.5))):
            tv += int(r.expovariate(1 / 30) * 1e6) + 1
            ev.append((tv, '{"ts":%d,"user_id":"%s","type":"view","item_id":"i"}' % (tv, user)))
            if r.random() < p:
                ev.append((tv + 1, '{"ts":%d,"user_id":"%s","type":"click","item_id":"i"}' % (tv + 1, user)))
ev.sort(key=lambda e: e[0])
sys.stdout.write("\n".join(e[1] for e in ev) + "\n")
PY
analyze "$T/aa.yaml" "$T/aa.jsonl" "$T/aa.out" --report-every 10000
$PY - "$T/aa.out" <<'PY' || fail "always-valid CUPED and ratio in A/A"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ok = True
for m in ("revenue", "ctr"):
    t = [r for r in rows if r["metric"] == m and r["variant"] == "treatment"]
    last = {}
    peeked = set()
    for r in t:
        last[r["experiment"]] = r
        if r["p_value"] < 0.05 and r["users"] >= 50: peeked.add(r["experiment"])
    assert len(last) == 200, len(last)
    ever = sum(r["always_valid_p_value"] < 0.05 for r in last.values())
    holds = sum(r["always_valid_ci_low"] <= r["lift"] <= r["always_valid_ci_high"] for r in last.values())
    final = sum(r["p_value"] < 0.05 for r in last.values())
    print(f"{m}: always-valid p ever < 0.05 in {ever}/200; fixed-horizon p < 0.05 at some report in "
          f"{len(peeked)}/200, at the end in {final}/200; final always-valid interval holds the lift in {holds}/200")
    if ever > 18 or holds != 200: ok = False
sys.exit(0 if ok else 1)
PY
finish
