#!/usr/bin/env bash
# experiment-analyzer A/A simulation through the real binary: 200 seeded
# experiments of 600 users with no true difference, variants assigned by
# the analyzer's hash. For the conversion and the revenue metric:
#  - the fixed-horizon false-positive rate (p < 0.05 at the end) lies in the
#    central 99.9% binomial interval of Bin(200, 0.05);
#  - the always-valid p-value, monitored continuously (a look every 16
#    updates per experiment, running minimum), is below 0.05 in at most
#    5% of the experiments;
#  - the hash split passes the SRM check (p < 0.001 in at most 2 of 200).
source "$(dirname "$0")/../lib.sh"
D=$ROOT/tests/data/experiments
python3 "$D/sim_events.py" --experiments 200 --users 600 --no-variant --seed 11 \
  --config "$T/aa.yaml" > "$T/aa.jsonl" || die "sim_events failed"
"$BIN/fbcat" --encode Event < "$T/aa.jsonl" > "$T/aa.rec" || die "fbcat failed"
"$BIN/experiment-analyzer" --config "$T/aa.yaml" --in "$T/aa.rec" --format json \
  --report-every 0 > "$T/aa.out" 2> "$T/aa.err" || { cat "$T/aa.err" >&2; die "analyzer failed"; }
python3 - "$T/aa.out" <<'PY' || fail "A/A error rates"
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
N, alpha = 200, 0.05
def binom_two_sided(k, n, p):
    pmf = [math.comb(n, i) * p**i * (1 - p)**(n - i) for i in range(n + 1)]
    return min(1.0, sum(x for x in pmf if x <= pmf[k] * (1 + 1e-9)))
ok = True
for m in ("converted", "revenue"):
    t = [r for r in rows if r["metric"] == m and r["variant"] != "control"]
    assert len(t) == N, (m, len(t))
    fixed = sum(r.get("p_value", 0) < alpha for r in t)
    av = sum(r.get("always_valid_p_value", 1) < alpha for r in t)
    stops = sum(r.get("decision", "keep_running") in ("treatment_wins", "control_wins") for r in t)
    pb = binom_two_sided(fixed, N, alpha)
    print(f"{m}: fixed-horizon false positives {fixed}/{N} (binomial p={pb:.3g}); "
          f"always-valid {av}/{N}; wrong stops {stops}/{N}")
    if pb < 0.001:
        print(f"  FAIL: fixed-horizon FPR {fixed/N:.3f} is outside the binomial interval of {alpha}"); ok = False
    if av > alpha * N:
        print(f"  FAIL: always-valid FPR {av/N:.3f} > {alpha}"); ok = False
    if stops > alpha * N:
        print(f"  FAIL: {stops} experiments stopped with a winner"); ok = False
srm = sum(r.get("srm_flag", False) for r in rows if r["metric"] == "converted" and r["variant"] == "control")
print(f"SRM flags: {srm}/{N}")
if srm > 2: ok = False
sys.exit(0 if ok else 1)
PY
finish
