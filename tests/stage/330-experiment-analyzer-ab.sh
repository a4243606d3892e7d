#!/usr/bin/env bash
# experiment-analyzer finds a known lift:
#  1. gen-events --experiment rec_algo_v1:0.30 (treatment purchase step x1.3)
#     through ingest: the purchase conversion of the treatment is higher,
#     significant at the fixed horizon, with a positive lift interval;
#  2. simulated traffic with a known 10% relative conversion lift (p 0.10 ->
#     0.11) on 40,000 users: the lift interval covers the true +0.01 and
#     excludes 0; revenue (+10% from the conversion lift) stops early with
#     "treatment wins" on the always-valid test.
source "$(dirname "$0")/../lib.sh"
D=$ROOT/tests/data/experiments
cat > "$T/ab.yaml" <<'YAML'
experiments:
  - name: rec_algo_v1
    control: control
    variants:
      - {name: control, allocation: 0.5}
      - {name: treatment, allocation: 0.5}
    metrics:
      - {name: purchase_rate, type: conversion, event: purchase, primary: true, min_effect: 0.005, tau: 0.02}
      - {name: revenue, type: numeric, event: purchase, aggregate: sum, tau: 1}
YAML
"$GEN_EVENTS" --count 100000 --users 6000 --seed 3 --experiment rec_algo_v1:0.30 > "$T/ab.jsonl"
"$BIN/ingest" < "$T/ab.jsonl" > "$T/ab.rec" 2> "$T/ingest.err" || { cat "$T/ingest.err" >&2; die "ingest failed"; }
"$BIN/experiment-analyzer" --config "$T/ab.yaml" --in "$T/ab.rec" --format json --report-every 0 \
  --report markdown --report-file "$T/ab.md" > "$T/ab.out" 2> "$T/ab.err" || { cat "$T/ab.err" >&2; die "analyzer failed"; }
python3 - "$T/ab.out" <<'PY' || fail "gen-events lift not found"
import json, sys
rows = {(r["metric"], r["variant"]): r for r in map(json.loads, open(sys.argv[1]))}
t, c = rows[("purchase_rate", "treatment")], rows[("purchase_rate", "control")]
print(f"gen-events +30%: control {c['rate']:.4f} treatment {t['rate']:.4f} lift {t['lift']:+.4f} "
      f"[{t['lift_ci_low']:.4f}, {t['lift_ci_high']:.4f}] p={t['p_value']:.3g} always-valid p={t['always_valid_p_value']:.3g}")
assert t["rate"] > c["rate"] and t["p_value"] < 0.05 and t["lift_ci_low"] > 0 and t.get("significant")
assert t["srm_p_value"] > 0.001
PY
grep -q "purchase" "$T/ab.md" && grep -q "treatment" "$T/ab.md" || fail "markdown report missing"

python3 "$D/sim_events.py" --experiments 1 --users 40000 --lift 0.10 --seed 2 --config "$T/s.yaml" > "$T/s.jsonl"
"$BIN/fbcat" --encode Event < "$T/s.jsonl" > "$T/s.rec" || die "fbcat failed"
"$BIN/experiment-analyzer" --config "$T/s.yaml" --in "$T/s.rec" --format json --report-every 0 \
  > "$T/s.out" 2> "$T/s.err" || { cat "$T/s.err" >&2; die "analyzer failed"; }
python3 - "$T/s.out" <<'PY' || fail "known lift not found"
import json, sys
rows = {(r["metric"], r["variant"]): r for r in map(json.loads, open(sys.argv[1]))}
t = rows[("converted", "treatment")]
print(f"simulated +0.01: lift {t['lift']:+.4f} [{t['lift_ci_low']:.4f}, {t['lift_ci_high']:.4f}] p={t['p_value']:.3g}")
assert t["lift_ci_low"] > 0 and t["lift_ci_low"] < 0.01 < t["lift_ci_high"] and t["p_value"] < 0.05
r = rows[("revenue", "treatment")]
print(f"revenue: lift {r['lift']:+.3f} always-valid p={r['always_valid_p_value']:.3g} decision {r.get('decision')}: {r['decision_reason']}")
assert r.get("decision") == "treatment_wins"
# one treatment: the reason must not claim a multiple-testing correction
assert "one treatment, no correction needed" in r["decision_reason"], r["decision_reason"]
PY
finish
