#!/usr/bin/env bash
# 800-alerter-conditions — every condition (gt ge lt le eq ne outside) with a
# for-duration, over random Metric series: the Alert records (firing with
# starts_at, resolved with ends_at) equal those of an independent Python
# model of the documented semantics: pending when the condition first holds
# (starts_at = that window_end), firing once window_end - starts_at >= for,
# resolved on the first window where it does not hold (ends_at = its
# window_end); one alert per fingerprint (no duplicate firing while it holds).
. "$(dirname "$0")/../lib.sh"

cat > "$T/rules.yaml" <<'Y'
rules:
  - { name: r_gt, metric: m, field: mean, condition: gt, threshold: 50, for: 2m }
  - { name: r_ge, metric: m, field: mean, condition: ge, threshold: 50, for: 0s, severity: info }
  - { name: r_lt, metric: m, field: min, condition: lt, threshold: 20, for: 1m, severity: critical }
  - { name: r_le, metric: m, field: min, condition: le, threshold: 20, for: 3m }
  - { name: r_eq, metric: m, field: count, condition: eq, threshold: 3 }
  - { name: r_ne, metric: m, field: count, condition: ne, threshold: 3, for: 4m }
  - { name: r_out, metric: m, field: p99, condition: outside, threshold: 10, threshold_high: 90, for: 1m }
  - { name: r_val, metric: other, condition: gt, threshold: 0.5, labels: { env: prod } }
inhibit: []   # none: this test is about conditions (801 tests inhibition)
Y

python3 - "$T" <<'PY' || die "generate input"
import json, random, sys
random.seed(800)
T = sys.argv[1]
recs = []
for w in range(60):
    for host in ("a", "b", "c"):
        mean = random.choice([10, 20, 30, 49, 50, 51, 70, 95])
        recs.append({"name": "m", "labels": [{"key": "host", "value": host}],
                     "window_start": w * 60_000_000, "window_end": (w + 1) * 60_000_000,
                     "count": random.choice([2, 3, 3, 4]), "mean": mean, "min": random.choice([5, 20, 25, 40]),
                     "quantiles": [{"q": 0.5, "value": 1}, {"q": 0.99, "value": random.choice([5, 10, 50, 90, 91])}]})
    for env in ("prod", "dev"):
        recs.append({"name": "other", "labels": [{"key": "env", "value": env}],
                     "window_start": w * 60_000_000, "window_end": (w + 1) * 60_000_000,
                     "value": random.random()})
with open(T + "/in.json", "w") as f:
    for r in recs: f.write(json.dumps(r) + "\n")

rules = [("r_gt", "m", "mean", lambda x: x > 50, 120, "warning"), ("r_ge", "m", "mean", lambda x: x >= 50, 0, "info"),
         ("r_lt", "m", "min", lambda x: x < 20, 60, "critical"), ("r_le", "m", "min", lambda x: x <= 20, 180, "warning"),
         ("r_eq", "m", "count", lambda x: x == 3, 0, "warning"), ("r_ne", "m", "count", lambda x: x != 3, 240, "warning"),
         ("r_out", "m", "p99", lambda x: x < 10 or x > 90, 60, "warning"),
         ("r_val", "other", "value", lambda x: x > 0.5, 0, "warning")]
def field(r, f):
    if f == "p99": return [q["value"] for q in r["quantiles"] if q["q"] == 0.99][0]
    return r.get(f, 0)
state = {}
out = []
for r in recs:
    labels = tuple(sorted([(l["key"], l["value"]) for l in r["labels"]] + [("metric", r["name"])]))
    t = r["window_end"]
    for name, metric, f, cond, for_s, sev in rules:
        if r["name"] != metric: continue
        if name == "r_val" and ("env", "prod") not in labels: continue
        key = (name, labels)
        x = field(r, f)
        a = state.get(key)
        if cond(x):
            if a is None: a = state[key] = {"starts": t, "firing": False}
            a["value"] = x
            if not a["firing"] and t - a["starts"] >= for_s * 1_000_000:
                a["firing"] = True
                out.append((name, "firing", sev, labels, x, a["starts"], 0))
        elif a is not None:
            if a["firing"]: out.append((name, "resolved", sev, labels, a["value"], a["starts"], t))
            del state[key]
with open(T + "/want.json", "w") as f:
    for o in out: f.write(json.dumps(o) + "\n")
print(len(out), "alerts expected", file=sys.stderr)
PY

"$BIN/fbcat" --encode Metric < "$T/in.json" > "$T/in.rec" || die "encode"
check "alerter runs" "$BIN/alerter" --rules "$T/rules.yaml" --in "$T/in.rec" --format json > "$T/out.json" 2>"$T/err"
python3 - "$T/out.json" "$T/want.json" <<'PY' || fail "alerts differ from the Python model"
import json, sys
got = []
fps = {}
for l in open(sys.argv[1]):
    a = json.loads(l)
    labels = tuple(sorted(a["labels"].items()))
    got.append((a["rule"], a.get("status", "firing"), a.get("severity", "info"), labels, a["value"],
                a.get("starts_at", 0), a.get("ends_at", 0)))
    fps.setdefault((a["rule"], labels), set()).add(a["fingerprint"])
want = [tuple(x if not isinstance(x, list) else tuple(tuple(y) for y in x) for x in json.loads(l)) for l in open(sys.argv[2])]
bad = [k for k, v in fps.items() if len(v) != 1]
if bad: print("fingerprint not stable:", bad[:3]); sys.exit(1)
if sorted(got) != sorted(want):
    sg, sw = set(got), set(want)
    for x in list(sw - sg)[:5]: print("missing", x)
    for x in list(sg - sw)[:5]: print("unexpected", x)
    print(len(got), "got,", len(want), "wanted"); sys.exit(1)
conds = {g[0] for g in got}
if len(conds) != 8: print("not every rule fired:", conds); sys.exit(1)
print(len(got), "alerts match")
PY
grep -q '"resolved":' "$T/err" || fail "no done line"
finish
