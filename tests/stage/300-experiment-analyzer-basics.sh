#!/usr/bin/env bash
# experiment-analyzer: --help, configuration errors (exit 2, FILE:LINE),
# `assign` against the Python re-implementation of the documented hash, the
# 1,000,000-user split against its allocation (chi-square), bad records
# rejected and dead-lettered, records readable by fbcat, periodic reports,
# the HTML report.
source "$(dirname "$0")/../lib.sh"
D=$ROOT/tests/data/experiments
EA=$BIN/experiment-analyzer

"$EA" --help > "$T/help" || fail "--help exit"
grep -q -- "--report-every" "$T/help" || fail "--help lists --report-every"
grep -q "assign" "$T/help" || fail "--help mentions assign"

# ---- configuration errors -------------------------------------------------
cat > "$T/bad.yaml" <<'YAML'
experiments:
  - name: e
    control: a
    variants:
      - {name: a, allocation: 0.5}
      - {name: b, allocation: 0.4}
    metrics:
      - {name: m, type: conversion, event: purchase}
YAML
"$EA" --config "$T/bad.yaml" < /dev/null > /dev/null 2> "$T/err"; rc=$?
expect_eq "bad allocation exit" "$rc" 2
grep -q "bad.yaml:4:.*sum to 0.9" "$T/err" || { cat "$T/err"; fail "allocation error names the line"; }
sed 's/type: conversion/type: conversoin/' "$T/bad.yaml" > "$T/bad2.yaml"
"$EA" --config "$T/bad2.yaml" < /dev/null > /dev/null 2> "$T/err"; rc=$?
expect_eq "bad enum exit" "$rc" 2
grep -q "bad2.yaml:8:" "$T/err" || { cat "$T/err"; fail "enum error names the line"; }
"$EA" < /dev/null > /dev/null 2>&1; expect_eq "no --config exit" "$?" 2
"$EA" --config "$T/bad.yaml" --report pdf < /dev/null > /dev/null 2>&1; expect_eq "bad --report exit" "$?" 2

# ---- assign -----------------------------------------------------------------
cat > "$T/three.yaml" <<'YAML'
experiments:
  - name: layout_test
    control: control
    variants:
      - {name: control, allocation: 0.5}
      - {name: wide, allocation: 0.3}
      - {name: narrow, allocation: 0.2}
    metrics:
      - {name: clicked, type: conversion, event: click}
  - name: other
    control: a
    salt: other-2026
    variants:
      - {name: a, allocation: 0.5}
      - {name: b, allocation: 0.5}
    metrics:
      - {name: clicked, type: conversion, event: click}
YAML
seq 1 5000 | sed 's/^/user-/' > "$T/ids"
"$EA" assign --config "$T/three.yaml" --experiment layout_test < "$T/ids" > "$T/assigned" || fail "assign exit"
python3 "$D/assign_ref.py" layout_test 0.5,0.3,0.2 < "$T/ids" \
  | awk '{ print ($1 == 0 ? "control" : $1 == 1 ? "wide" : "narrow") }' > "$T/want"
check "assign equals the reference hash (5000 users)" cmp -s "$T/assigned" "$T/want"
"$EA" assign --config "$T/three.yaml" --experiment other < "$T/ids" > "$T/assigned2"
python3 "$D/assign_ref.py" other-2026 0.5,0.5 < "$T/ids" | awk '{ print ($1 == 0 ? "a" : "b") }' > "$T/want2"
check "assign uses the salt" cmp -s "$T/assigned2" "$T/want2"
"$EA" assign --config "$T/three.yaml" < "$T/ids" > /dev/null 2>&1; expect_eq "assign needs --experiment" "$?" 2
# 1,000,000 users: chi-square of the split (df 2: sf(x) = exp(-x/2))
seq 1 1000000 | "$EA" assign --config "$T/three.yaml" -e layout_test | sort | uniq -c > "$T/split"
awk '{ n[$2] = $1; t += $1 } END {
  e["control"] = .5; e["wide"] = .3; e["narrow"] = .2
  for (k in e) { x = n[k] - t * e[k]; chi += x * x / (t * e[k]) }
  p = exp(-chi / 2); printf "split %d/%d/%d chi2=%.3f p=%.4f\n", n["control"], n["wide"], n["narrow"], chi, p
  exit !(t == 1000000 && p > 0.001) }' "$T/split" || fail "1M split fails the chi-square test"
"$EA" assign --config "$T/three.yaml" --experiment layout_test < "$T/ids" | cmp -s - "$T/assigned" \
  || fail "assignment is not deterministic"

# ---- the stream -------------------------------------------------------------
cat > "$T/ev.jsonl" <<'JSON'
{"ts": 1000000, "user_id": "u1", "type": "exposure", "experiment": "layout_test", "variant": "control"}
{"ts": 2000000, "user_id": "u2", "type": "exposure", "experiment": "layout_test", "variant": "wide"}
{"ts": 3000000, "user_id": "u3", "type": "exposure", "experiment": "layout_test", "variant": "bogus"}
{"ts": 4000000, "user_id": "u1", "type": "click"}
{"ts": 5000000, "user_id": "u1", "type": "view", "experiment": "layout_test", "variant": "wide"}
{"ts": 6000000, "user_id": "u4", "type": "view", "experiment": "layout_test"}
{"ts": 7000000, "user_id": "u9", "type": "click"}
{"ts": 8000000, "type": "exposure", "experiment": "layout_test"}
JSON
"$BIN/fbcat" --encode Event < "$T/ev.jsonl" > "$T/ev.rec" || die "fbcat --encode"
"$EA" --config "$T/three.yaml" --in "$T/ev.rec" --dead-letter "$T/dead.jsonl" --report html \
  --report-file "$T/r.html" > "$T/out.rec" 2> "$T/err"; rc=$?
expect_eq "analyzer exit" "$rc" 0
expect_eq "dead letters" "$(wc -l < "$T/dead.jsonl")" 2
grep -q "unknown_variant\|no variant" "$T/dead.jsonl" || fail "dead letter names the unknown variant"
"$BIN/fbcat" < "$T/out.rec" > "$T/out.json" || fail "fbcat reads the results"
u4=$(echo u4 | "$EA" assign --config "$T/three.yaml" -e layout_test)
python3 - "$T/out.json" "$u4" <<'PY' || fail "result rows"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
u4 = sys.argv[2]
lt = {r["variant"]: r for r in rows if r["experiment"] == "layout_test"}
assert set(lt) == {"control", "wide", "narrow"}, lt.keys()
want = {"control": 1, "wide": 1, "narrow": 0}
want[u4] += 1
for v, n in want.items():
    assert lt[v].get("users", 0) == n, (v, lt[v].get("users"), n)
assert lt["control"].get("conversions", 0) == 1          # u1 clicked after exposure
assert lt["control"].get("mixed_users", 0) == 1          # u1 seen in wide later
assert all(r["control"] == "control" for r in lt.values())
assert lt["wide"]["decision_reason"].startswith("waiting for min_sample_size")
o = [r for r in rows if r["experiment"] == "other"]
assert len(o) == 2 and all(r.get("users", 0) == 0 for r in o)
print("rows ok")
PY
grep -q "<svg" "$T/r.html" || fail "html report has an SVG chart"
grep -q "layout_test" "$T/r.html" || fail "html report names the experiment"
grep -q "lift vs control" "$T/r.html" || fail "html report has the lift panel"

# a broken split (every user in "wide"): flagged in every row and in the report
for i in $(seq 1 60); do
  printf '{"ts": %d, "user_id": "s%d", "type": "exposure", "experiment": "layout_test", "variant": "wide"}\n' "$((i * 1000000))" "$i"
done | "$BIN/fbcat" --encode Event > "$T/srm.rec"
"$EA" --config "$T/three.yaml" --in "$T/srm.rec" --report-every 0 --format json --report markdown \
  --report-file "$T/srm.md" 2>/dev/null > "$T/srm.json" || fail "srm run"
expect_eq "SRM flagged in every layout_test row" \
  "$(jq -r 'select(.experiment=="layout_test") | [.srm_flag, (.decision_reason | test("sample ratio mismatch"))] | @tsv' "$T/srm.json" | sort -u)" \
  "$(printf 'true\ttrue')"
grep -q "SAMPLE RATIO MISMATCH" "$T/srm.md" || fail "the report says the split is broken"

# periodic reports: every 3 events, and by event time
"$EA" --config "$T/three.yaml" --in "$T/ev.rec" --report-every 3 --format json 2>/dev/null > "$T/p.json"
expect_eq "reports every 3 events (2 + final) x 5 rows" "$(wc -l < "$T/p.json")" 15
"$EA" --config "$T/three.yaml" --in "$T/ev.rec" --report-every 4 --format json 2>/dev/null > "$T/p4.json"
expect_eq "reports every 4 of 8 events: 2, no repeat at the end" "$(wc -l < "$T/p4.json")" 10
"$EA" --config "$T/three.yaml" --in "$T/ev.rec" --report-every 2s --format json 2>/dev/null > "$T/p2.json"
expect_eq "reports every 2 s of event time (boundaries 2,4,6,8 s + final) x 5 rows" "$(wc -l < "$T/p2.json")" 25
"$EA" --config "$T/three.yaml" --report-every 3x < /dev/null > /dev/null 2>&1; expect_eq "bad --report-every" "$?" 2

# records of other types are counted, not silently skipped; exposures past
# --max-users are counted too (done line and --metrics-file, both modes)
printf '{"ts": 1000000, "name": "cpu", "value": 0.5}\n' \
  | "$BIN/fbcat" --encode Sample > "$T/sample.rec" && [ -s "$T/sample.rec" ] || die "fbcat --encode Sample"
cat "$T/ev.rec" "$T/sample.rec" "$T/sample.rec" "$T/srm.rec" > "$T/mixed.rec"
"$EA" --config "$T/three.yaml" --in "$T/mixed.rec" --max-users 10 --metrics-file "$T/m.prom" \
  > /dev/null 2> "$T/err" || { cat "$T/err"; fail "mixed run"; }
expect_eq "done line: ignored, users_dropped" \
  "$(grep '"done"' "$T/err" | jq -r '[.ignored, .users_dropped] | @tsv')" "$(printf '2\t53')"
expect_eq "metrics: ignored" "$(awk '/^streamrec_experiment_ignored_total/ { print $2 }' "$T/m.prom")" 2
expect_eq "metrics: users dropped" "$(awk '/^streamrec_experiment_users_dropped_total/ { print $2 }' "$T/m.prom")" 53
"$EA" --config "$T/three.yaml" --in "$T/mixed.rec" --max-users 10 --emit partials --metrics-file "$T/mp.prom" \
  > /dev/null 2> "$T/err" || { cat "$T/err"; fail "mixed partials run"; }
expect_eq "partials done line: ignored, users_dropped" \
  "$(grep '"done"' "$T/err" | jq -r '[.ignored, .users_dropped] | @tsv')" "$(printf '2\t53')"
expect_eq "partials metrics: users held" "$(awk '/^streamrec_experiment_users[{]/ { print $2 }' "$T/mp.prom")" 10
finish
