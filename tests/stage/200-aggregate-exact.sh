#!/usr/bin/env bash
# aggregate: every count, sum, mean, stddev, min, max, CTR and conversion
# equals an independent computation (python over the same records, decoded
# by fbcat); quantiles are within the sketch's stated 1% relative error of
# the exact order statistic; distinct users/sessions within 3 standard
# errors of HyperLogLog (0.81%); top-K leaderboards match; nothing extra,
# nothing missing.
. "$(dirname "$0")/../lib.sh"

"$GEN_EVENTS" --count 30000 --kind mixed --seed 7 --rate 250 --users 3000 --items 300 \
  --experiment rec_algo_v1:0.2 > "$T/in.jsonl"
"$BIN/ingest" < "$T/in.jsonl" > "$T/in.rec" 2>"$T/ingest.err" || die "ingest failed"
"$BIN/fbcat" --type Event < "$T/in.rec" > "$T/events.json" || die "fbcat"
"$BIN/fbcat" --type Sample < "$T/in.rec" > "$T/samples.json" || die "fbcat"
check "aggregate exits 0" "$BIN/aggregate" --window 60s --features none --format json \
  --metrics-file "$T/metrics.prom" < "$T/in.rec" > "$T/out.json" 2>"$T/agg.err"
[ -s "$T/out.json" ] || die "no output"

python3 - "$T/events.json" "$T/samples.json" "$T/out.json" <<'PY' || fail "values differ from the independent computation"
import json, math, sys
from collections import Counter, defaultdict
W = 60_000_000
ev = [json.loads(l) for l in open(sys.argv[1])]
sm = [json.loads(l) for l in open(sys.argv[2])]
out = [json.loads(l) for l in open(sys.argv[3])]
bad = []
def err(*a):
    if len(bad) < 30: print("MISMATCH", *a)
    bad.append(a)
def lab(r): return tuple(sorted(r["labels"].items()))
def close(a, b, rel): return abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-12

exp = {}            # (name, ws, labels) -> dict of expected fields
types = Counter(); items = defaultdict(Counter); users = defaultdict(set); sess = defaultdict(set)
expo = Counter(); conv = Counter()
for e in ev:
    ws = e["ts"] // W * W
    t = e.get("type", "impression")
    tl = (e.get("name") or "custom") if t == "custom" else t
    types[(ws, tl)] += 1
    if e.get("item_id"): items[(ws, e["item_id"])][t] += 1
    if e.get("user_id"): users[ws].add(e["user_id"])
    if e.get("session_id"): sess[ws].add(e["session_id"])
    if e.get("experiment") and t in ("exposure", "purchase"):
        (expo if t == "exposure" else conv)[(ws, e["experiment"], e.get("variant", ""))] += 1
for (ws, tl), n in types.items(): exp[("events", ws, (("event_type", tl),))] = {"count": n}
for (ws, it), c in items.items():
    for t, n in c.items(): exp[("item.events", ws, (("event_type", t), ("item_id", it)))] = {"count": n}
    if c["impression"]: exp[("item.ctr", ws, (("item_id", it),))] = {"value": c["click"] / c["impression"], "count": c["impression"]}
    if c["click"]: exp[("item.conversion", ws, (("item_id", it),))] = {"value": c["purchase"] / c["click"], "count": c["click"]}
for (ws, x, v), n in expo.items(): exp[("experiment.exposures", ws, (("experiment", x), ("variant", v)))] = {"count": n}
for (ws, x, v), n in conv.items(): exp[("experiment.conversions", ws, (("experiment", x), ("variant", v)))] = {"count": n}
series = defaultdict(list)
for s in sm: series[(s["name"], s["ts"] // W * W, lab(s))].append(s.get("value", 0.0))
for k, v in series.items(): exp[k] = {"samples": v}

got = {}
top = defaultdict(dict)
for r in out:
    k = (r["name"], r["window_start"], lab(r))
    if r["window_end"] - r["window_start"] != W: err("window bounds", k)
    if r["name"] in ("top.clicks", "top.purchases"):
        top[(r["name"], r["window_start"])][int(dict(lab(r))["rank"])] = (dict(lab(r))["item_id"], r.get("count", 0))
        continue
    if k in got: err("duplicate", k)
    got[k] = r

nd = 0
for ws in users:
    for name, s in (("users.distinct", users[ws]), ("sessions.distinct", sess[ws])):
        r = got.pop((name, ws, ()), None)
        if r is None: err("missing", name, ws); continue
        n, est = len(s), r.get("value", 0)
        if abs(est - n) > max(3, 3 * 0.0081 * n): err(name, ws, "estimate", est, "true", n)
        nd += 1

nq = 0
for k, x in exp.items():
    r = got.pop(k, None)
    if r is None: err("missing", k); continue
    if "samples" in x:
        v = x["samples"]; n = len(v)
        if r.get("count", 0) != n: err(k, "count", r.get("count"), n)
        s = math.fsum(v); m = s / n
        sd = math.sqrt(math.fsum((y - m) ** 2 for y in v) / (n - 1)) if n > 1 else 0.0
        for f, want in (("sum", s), ("mean", m), ("stddev", sd)):
            if not close(r.get(f, 0.0), want, 1e-9): err(k, f, r.get(f), want)
        if r.get("min", 0.0) != min(v) or r.get("max", 0.0) != max(v): err(k, "min/max", r.get("min"), r.get("max"))
        sv = sorted(v)
        qs = {float("0." + k[1:]): v for k, v in r.items() if k[0] == "p" and k[1:].isdigit()}   # p50 ... p999
        if sorted(qs) != [0.5, 0.9, 0.95, 0.99, 0.999]: err(k, "quantile set", sorted(qs))
        for q, val in qs.items():
            exact = sv[math.floor(q * (n - 1))]
            if abs(val - exact) > 0.01 * abs(exact) + 1e-12: err(k, "q", q, val, "exact", exact)
            nq += 1
    else:
        if r.get("count", 0) != x["count"]: err(k, "count", r.get("count"), x["count"])
        if "value" in x and not close(r.get("value", 0.0), x["value"], 1e-12): err(k, "value", r.get("value"), x["value"])
for k in got: err("unexpected", k)

nt = 0
for (ws, _), _c in list(items.items())[:0]: pass
wins = sorted({ws for (ws, _) in items})
for ws in wins:
    for name, t in (("top.clicks", "click"), ("top.purchases", "purchase")):
        counts = {it: c[t] for (w, it), c in items.items() if w == ws and c[t]}
        want = sorted(counts.values(), reverse=True)[:10]
        g = top.get((name, ws), {})
        if sorted(g) != list(range(1, len(want) + 1)): err(name, ws, "ranks", sorted(g)); continue
        if [g[i][1] for i in sorted(g)] != want: err(name, ws, "counts", [g[i][1] for i in sorted(g)], want)
        for it, n in g.values():
            if counts.get(it) != n: err(name, ws, it, n, counts.get(it))
        nt += 1
print(f"checked {len(exp)} series, {nq} quantiles, {nd} distinct estimates, {nt} leaderboards over {len(wins)} windows: {len(bad)} mismatches")
sys.exit(1 if bad or len(wins) < 2 or nq < 100 else 0)
PY

# --by endpoint: latency series grouped by endpoint alone (status classes merged)
check "aggregate --by endpoint" "$BIN/aggregate" --window 60s --by endpoint --features none --top-k 0 --format json \
  < "$T/in.rec" > "$T/by.json" 2>/dev/null
python3 - "$T/samples.json" "$T/by.json" <<'PY' || fail "--by endpoint grouping differs from the independent computation"
import json, math, sys
from collections import defaultdict
W = 60_000_000
want = defaultdict(list)
for l in open(sys.argv[1]):
    s = json.loads(l)
    ep = [v for k, v in s["labels"].items() if k == "endpoint"]
    want[(s["name"], s["ts"] // W * W, tuple(ep))].append(s.get("value", 0.0))
got = {}
for l in open(sys.argv[2]):
    r = json.loads(l)
    if "p50" in r:
        got[(r["name"], r["window_start"], tuple(r["labels"].values()))] = r
    elif r["name"].startswith("top."): sys.exit("top-k emitted with --top-k 0")
bad = 0
for k, v in want.items():
    r = got.pop(k, None)
    if r is None or r["count"] != len(v): bad += 1; print("count", k); continue
    p95 = sorted(v)[math.floor(0.95 * (len(v) - 1))]
    q = r["p95"]
    if abs(q - p95) > 0.01 * abs(p95) + 1e-12: bad += 1; print("p95", k, q, p95)
print(len(want), "series grouped by endpoint;", bad, "bad;", len(got), "unexpected")
sys.exit(1 if bad or got or len(want) < 10 else 0)
PY

# the run's counters: every record in, nothing late, nothing dropped
grep -q 'streamrec_aggregate_windows_total{stage="aggregate"} [1-9]' "$T/metrics.prom" || fail "windows counter missing: $(grep windows "$T/metrics.prom")"
grep -q '"late":0' "$T/agg.err" || fail "late events in sorted input: $(tail -1 "$T/agg.err")"
finish
