#!/usr/bin/env bash
# experiment-analyzer: results recomputed from the raw events with
# scipy/statsmodels (tests/data/experiments/check_scipy.py) agree to 1e-6:
# three arms with unequal allocation and 4 metric kinds on 4,000 users; then
# small samples (25 users per experiment, where zero conversions happen).
source "$(dirname "$0")/experiment-stats.bash"
D=$ROOT/tests/data/experiments
need_python scipy statsmodels

cat > "$T/exp.yaml" <<'YAML'
experiments:
  - name: exp000
    control: control
    variants:
      - {name: control, allocation: 0.5}
      - {name: treatment, allocation: 0.3}
      - {name: t2, allocation: 0.2}
    min_sample_size: 100
    metrics:
      - {name: converted, type: conversion, event: purchase, primary: true}
      - {name: revenue, type: numeric, event: purchase, aggregate: sum, tau: 1}
      - {name: aov, type: numeric, event: purchase, aggregate: mean, tau: 5}
      - {name: ttp, type: duration, event: purchase, goal: minimize, tau: 1}
YAML
run_case() { # name sim-args... ; alloc in $ALLOC
  local name=$1; shift
  python3 "$D/sim_events.py" "$@" > "$T/$name.jsonl" || die "sim_events failed"
  "$BIN/fbcat" --encode Event < "$T/$name.jsonl" > "$T/$name.rec" || die "fbcat --encode failed"
  "$BIN/experiment-analyzer" --config "$T/$name.yaml" --in "$T/$name.rec" --format json \
    --report-every 0 > "$T/$name.out" 2> "$T/$name.err" || { cat "$T/$name.err"; fail "$name: analyzer exit $?"; return; }
  check "$name: matches scipy/statsmodels" $PY "$D/check_scipy.py" "$T/$name.jsonl" "$T/$name.out" "$ALLOC"
}
cp "$T/exp.yaml" "$T/three.yaml"
ALLOC=0.5,0.3,0.2 run_case three --experiments 1 --users 4000 --alloc 0.5,0.3,0.2 --lift 0.2 --seed 3

# small samples: 8 experiments of 25 users, conversion 15%: zero conversions appear
sed -e 's/min_sample_size: 100/min_sample_size: 5/' "$T/exp.yaml" > "$T/one.yaml"
python3 - "$T/one.yaml" "$T/small.yaml" <<'PYEOF'
import sys
src = open(sys.argv[1]).read()
body = src.split("\n", 1)[1]
out = "experiments:\n" + "".join(body.replace("exp000", "exp%03d" % i) for i in range(8))
open(sys.argv[2], "w").write(out)
PYEOF
ALLOC=0.5,0.3,0.2 run_case small --experiments 8 --users 25 --p 0.15 --alloc 0.5,0.3,0.2 --seed 5
grep -q '"conversions"' "$T/small.out" || fail "no conversions at all in the small case"
# at least one arm with zero conversions exercised
python3 -c '
import json,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
z=[r for r in rows if r["metric"]=="converted" and r.get("conversions",0)==0]
sys.exit(0 if z else 1)' "$T/small.out" || fail "small case has no zero-conversion arm"
finish
