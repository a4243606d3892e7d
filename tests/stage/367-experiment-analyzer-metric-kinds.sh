#!/usr/bin/env bash
# experiment-analyzer: CUPED, ratio and quantile metrics around the
# statistics:
#  - configuration errors name FILE:LINE and exit 2 (a ratio without a
#    denominator, a covariate where some users have no value, a quantile
#    outside (0, 1) or on a conversion, ...);
#  - the scale-out modes refuse quantile metrics (exit 2, naming the
#    metric and why: a quantile needs every user's value; CUPED and ratio
#    metrics merge, test 355);
#  - a run split by a restart (--state) gives exactly one run's rows: the
#    CUPED and ratio pair sums are rebuilt from the users at load, the
#    covariates and denominators come back with them;
#  - a quantile metric under msprt stays keep_running, saying it is
#    fixed-horizon only; CUPED and ratio metrics get always-valid p-values;
#  - the HTML report names each kind, shows CUPED's θ and variance
#    reduction (the record's), and keeps 10 cells a row.
source "$(dirname "$0")/../lib.sh"
EA=$BIN/experiment-analyzer
bad_cfg() { # description, expected message part, metric line
  printf 'experiments:\n  - name: e\n    control: c\n    variants: [{name: c, allocation: 0.5}, {name: t, allocation: 0.5}]\n    metrics:\n      - %s\n' "$3" > "$T/bad.yaml"
  "$EA" --config "$T/bad.yaml" < /dev/null > /dev/null 2> "$T/bad.err"
  local rc=$?
  expect_eq "$1: exit" "$rc" 2
  grep -q "bad.yaml:6.*$2" "$T/bad.err" || fail "$1: message: $(cat "$T/bad.err")"
}
bad_cfg "ratio without denominator" "needs denominator" "{name: r, type: ratio, event: click, tau: 1}"
bad_cfg "ratio of a mean" "not a mean" "{name: r, type: ratio, event: click, aggregate: mean, denominator: view, tau: 1}"
bad_cfg "denominator on numeric" "denominator is for type: ratio" "{name: r, type: numeric, event: click, denominator: view, tau: 1}"
bad_cfg "covariate on a duration" "every exposed user" "{name: d, type: duration, event: click, covariate: pre, tau: 1}"
bad_cfg "covariate on a mean" "every exposed user" "{name: d, type: numeric, aggregate: mean, event: rating, covariate: pre, tau: 1}"
bad_cfg "quantile 1.5" "quantile must be in" "{name: q, type: duration, event: click, quantile: 1.5}"
bad_cfg "quantile of a conversion" "numeric and duration" "{name: q, type: conversion, event: click, quantile: 0.5}"
bad_cfg "count of a conversion" "aggregate: count is for" "{name: q, type: conversion, event: click, aggregate: count}"
bad_cfg "ratio without tau" "set tau" "{name: r, type: ratio, event: click, denominator: view}"

cat > "$T/c.yaml" <<'YAML'
experiments:
  - name: mk
    control: control
    variants: [{name: control, allocation: 0.5}, {name: treatment, allocation: 0.5}]
    min_sample_size: 50
    metrics:
      - {name: revenue, type: numeric, event: purchase, covariate: pre_revenue, tau: 1}
      - {name: ctr, type: ratio, event: click, aggregate: count, denominator: view, tau: 0.05}
      - {name: ttc_p90, type: duration, event: click, quantile: 0.9}
      - {name: plain, type: numeric, event: purchase, aggregate: count, tau: 0.5}
YAML
for mode in "--mergeable" "--emit partials" "--merge"; do
  # shellcheck disable=SC2086
  "$EA" --config "$T/c.yaml" $mode --report-every 0 < /dev/null > /dev/null 2> "$T/m.err"
  rc=$?
  expect_eq "$mode with a quantile: exit" "$rc" 2
  grep -q "metric \"ttc_p90\": quantile metrics are not mergeable.*needs every user's value" "$T/m.err" ||
    fail "$mode: $(cat "$T/m.err")"
done

python3 - > "$T/all.jsonl" <<'PY'
import json, random
r = random.Random(367)
t = 1795000000 * 10**6
def out(ts, user, typ, **kw):
    d = {"ts": ts, "user_id": user, "type": typ}; d.update(kw); print(json.dumps(d))
for u in range(1500):
    t += 10**6
    user = "u%d" % u
    v = "treatment" if r.random() < 0.5 else "control"
    out(t, user, "exposure", experiment="mk", variant=v)
    pre = r.expovariate(0.1)
    out(t + 1, user, "custom", name="pre_revenue", value=round(pre, 3))
    for k in range(r.randint(0, 5)):
        out(t + 2 + k, user, "view", item_id="i")
        if r.random() < (0.3 if v == "treatment" else 0.2):
            out(t + 3 + k + int(r.expovariate(0.2) * 1e6), user, "click", item_id="i")
    for k in range(r.randint(0, 2)):
        out(t + 500 * 10**6 + k, user, "purchase", value=round(0.5 * pre + r.expovariate(0.2), 2))
PY
n=$(wc -l < "$T/all.jsonl"); half=$((n / 2))
head -n "$half" "$T/all.jsonl" > "$T/a.jsonl"; tail -n +$((half + 1)) "$T/all.jsonl" > "$T/b.jsonl"
for f in all a b; do "$BIN/fbcat" --encode Event < "$T/$f.jsonl" > "$T/$f.rec" || die "fbcat"; done
# rows sorted; the analyzer's exit status (not sort's)
run() { "$EA" --config "$T/c.yaml" --report-every 0 --format json "$@" 2>> "$T/err" | sort; return "${PIPESTATUS[0]}"; }
run --in "$T/all.rec" --report html --report-file "$T/r.html" > "$T/one.json"
run --in "$T/a.rec" --state "$T/s.db" > /dev/null || fail "first half"
run --in "$T/b.rec" --state "$T/s.db" > "$T/two.json" || fail "second half"
check "restart with --state = one run" cmp -s "$T/one.json" "$T/two.json"
[ "$(wc -l < "$T/one.json")" = 8 ] || fail "8 rows expected: $(wc -l < "$T/one.json")"
python3 - "$T/one.json" <<'PY' || fail "rows"
import json, sys
rows = {(d["metric"], d["variant"]): d for d in map(json.loads, open(sys.argv[1]))}
ok = True
q = rows[("ttc_p90", "treatment")]
if q["decision"] != "keep_running" or "fixed-horizon only" not in q["decision_reason"] or q["always_valid_p_value"] != 1:
    print("quantile under msprt:", q["decision"], q["decision_reason"]); ok = False
for m in ("revenue", "ctr"):
    t = rows[(m, "treatment")]
    print(m, t["test"], "p", t["p_value"], "always-valid p", t["always_valid_p_value"], t["decision"])
    if not t["always_valid_p_value"] < 1 or not t["always_valid_ci_low"] < t["lift"] < t["always_valid_ci_high"]:
        print(m, ": no always-valid result"); ok = False
if rows[("revenue", "treatment")]["variance_reduction"] < 0.1: print("no variance reduction"); ok = False
if rows[("plain", "control")]["metric_type"] != "numeric": ok = False
sys.exit(0 if ok else 1)
PY
python3 - "$T/one.json" "$T/r.html" <<'PY' || fail "report"
import json, re, sys
rows = {(d["metric"], d["variant"]): d for d in map(json.loads, open(sys.argv[1]))}
html = open(sys.argv[2]).read()
ok = True
t = rows[("revenue", "treatment")]
want = "CUPED: θ = %.4g, variance reduction %.1f%%" % (t["cuped_theta"], 100 * t["variance_reduction"])
for w in (want, "CUPED-adjusted by the covariate pre_revenue", "(counted) per view event",
          "its p90 over users", ">p90 (s) [95% CI]<", ">ratio [95% CI]<"):
    if w not in html: print("report lacks:", w); ok = False
for tr in re.findall(r"<tr>(.*?)</tr>", html, re.S):
    n = len(re.findall(r"<t[dh]>", tr))
    if n != 10: print("row with", n, "cells"); ok = False
sys.exit(0 if ok else 1)
PY
finish
