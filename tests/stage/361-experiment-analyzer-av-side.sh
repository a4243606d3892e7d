#!/usr/bin/env bash
# experiment-analyzer: a numeric metric's always-valid interval is the last
# look's (not intersected, see test 360), but a win keeps its side. The
# treatment is far ahead for the first 150 users per arm, then far behind
# for the next 1,500: its always-valid p-value fell below alpha early
# (running minimum, so it stays), the current lift and interval are now
# negative, and the decision must still be "treatment wins" - the side the
# interval first excluded 0 on - not flip to "control wins" with the sign of
# today's lift. Before, the intersection over looks of this run was empty
# ([1.617, -1.433]: low above high) and the test failed on that.
source "$(dirname "$0")/../lib.sh"
cat > "$T/side.yaml" <<'YAML'
experiments:
  - name: side
    control: control
    variants:
      - {name: control, allocation: 0.5}
      - {name: treatment, allocation: 0.5}
    min_sample_size: 20
    metrics:
      - {name: score, type: numeric, event: purchase, aggregate: sum, tau: 1}
YAML
python3 - > "$T/side.jsonl" <<'PY'
import random
r = random.Random(361)
ts = 1795000000 * 1000000
def user(i, arm, mean):
    global ts
    ts += 1000
    print('{"ts": %d, "user_id": "u%d", "type": "exposure", "experiment": "side", "variant": "%s"}' % (ts, i, arm))
    print('{"ts": %d, "user_id": "u%d", "type": "purchase", "value": %.3f}' % (ts + 1, i, r.gauss(mean, 1)))
i = 0
for phase, (t_mean, n) in enumerate(((2.0, 150), (-2.0, 1500))):
    for k in range(n):
        user(i, "treatment", t_mean); i += 1
        user(i, "control", 0.0); i += 1
PY
"$BIN/fbcat" --encode Event < "$T/side.jsonl" > "$T/side.rec" || die "fbcat failed"
"$BIN/experiment-analyzer" --config "$T/side.yaml" --in "$T/side.rec" --format json \
  --report-every 0 > "$T/side.out" 2> "$T/side.err" || { cat "$T/side.err" >&2; die "analyzer failed"; }
python3 - "$T/side.out" <<'PY' || fail "a win keeps its side"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '"treatment"' in l][0]
print(f"lift {r['lift']:.3f}, always-valid [{r['always_valid_ci_low']:.3f}, {r['always_valid_ci_high']:.3f}], "
      f"p {r['always_valid_p_value']:.3g}: {r['decision']}")
ok = r["lift"] < 0 and r["always_valid_ci_high"] < 0 and r["always_valid_p_value"] < 0.05
ok = ok and r["always_valid_ci_low"] <= r["lift"] <= r["always_valid_ci_high"]
ok = ok and r["decision"] == "treatment_wins"
sys.exit(0 if ok else 1)
PY
finish
