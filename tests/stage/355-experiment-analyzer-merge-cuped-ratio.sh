#!/usr/bin/env bash
# experiment-analyzer --emit partials | --merge with CUPED (covariate:) and
# ratio (type: ratio) metrics: ExperimentPartial carries their per-arm pair
# sums (Σy, Σx, Σy², Σx², Σxy, exact), so the events of one file split by
# user into P partitions, one --emit partials run per partition, merge into
# ExperimentResult records and an HTML report equal, byte for byte, to one
# --mergeable process reading the whole file: CUPED on a numeric sum and on
# a conversion, ratios of a count and of a sum per view, beside a plain
# metric, over 16 reports with msprt looks. Partials reordered and repeated
# change nothing; a CUPED partial without its pair sums is refused, named
# and dead-lettered; fbcat round-trips the new fields.
# About 10 s on the shared machine, ASan or not (2 s of CPU).
source "$(dirname "$0")/../lib.sh"
EA=$BIN/experiment-analyzer
cat > "$T/e.yaml" <<'YAML'
experiments:
  - name: cr
    control: control
    variants: [{name: control, allocation: 0.5}, {name: treatment, allocation: 0.5}]
    min_sample_size: 50
    sequential: msprt
    metrics:
      - {name: revenue, type: numeric, event: purchase, covariate: pre_revenue, tau: 1}
      - {name: bought, type: conversion, event: purchase, covariate: pre_revenue, tau: 0.1}
      - {name: ctr, type: ratio, event: click, aggregate: count, denominator: view, tau: 0.05}
      - {name: rev_per_view, type: ratio, event: purchase, denominator: view, tau: 1}
      - {name: plain, type: numeric, event: purchase, aggregate: count, tau: 0.5}
YAML
# events sorted by time (a partition crosses a boundary where the whole
# stream does), split by crc32(user_id) mod 4 as a keyed producer would
python3 - "$T" <<'PY' || die "prepare events"
import json, random, sys, zlib
t0, r, ev = 1795000000 * 10**6, random.Random(355), []
def out(ts, user, typ, **kw):
    d = {"ts": ts, "user_id": user, "type": typ}; d.update(kw); ev.append(d)
for u in range(1600):
    t = t0 + u * 10**6
    user = "u%d" % u
    v = "treatment" if r.random() < 0.5 else "control"
    out(t, user, "exposure", experiment="cr", variant=v)
    pre = r.expovariate(0.1)
    out(t + 1, user, "custom", name="pre_revenue", value=round(pre, 3))
    for k in range(r.randint(0, 5)):
        out(t + 2 + k, user, "view", item_id="i")
        if r.random() < (0.3 if v == "treatment" else 0.2):
            out(t + 3 + k + int(r.expovariate(0.2) * 1e6), user, "click", item_id="i")
    # buying and spending follow the covariate (what CUPED removes), and the treatment
    if r.random() < min(0.95, 0.15 + pre / 25 + (0.1 if v == "treatment" else 0)):
        for k in range(r.randint(1, 2)):
            out(t + 300 * 10**6 + k, user, "purchase",
                value=round(0.5 * pre + r.expovariate(0.2) + (1.5 if v == "treatment" else 0), 2))
ev.sort(key=lambda d: d["ts"])
fs = [open("%s/p%d.json" % (sys.argv[1], i), "w") for i in range(4)]
with open(sys.argv[1] + "/ev.json", "w") as f:
    for d in ev:
        line = json.dumps(d) + "\n"
        f.write(line)
        fs[zlib.crc32(d["user_id"].encode()) % 4].write(line)
PY
for f in ev p0 p1 p2 p3; do "$BIN/fbcat" --encode Event < "$T/$f.json" > "$T/$f.rec" || die "encode $f"; done
run() { "$EA" --config "$T/e.yaml" --report-every 128s "$@"; }

run --mergeable --in "$T/ev.rec" --format json --report html --report-file "$T/one.html" > "$T/one.json" 2> "$T/one.err" ||
  fail "single run: $(cat "$T/one.err")"
expect_eq "single run: 16 reports of 10 rows" "$(wc -l < "$T/one.json")" 160
# not trivial: CUPED adjusts (θ, variance reduction), the ratios have sums,
# the always-valid p of each paired metric moves over the reports
python3 - "$T/one.json" <<'PY' || fail "single run's rows"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
last = {(d["metric"], d["variant"]): d for d in rows}
ok = True
for m in ("revenue", "bought"):
    t = last[(m, "treatment")]
    if not (t["cuped_theta"] != 0 and t["variance_reduction"] > 0.05): print(m, "not adjusted:", t); ok = False
for m in ("ctr", "rev_per_view"):
    t = last[(m, "treatment")]
    if not (t["numerator"] > 0 and t["denominator"] > 0 and t["test"] == "delta_ratio_z"): print(m, t); ok = False
for m in ("revenue", "bought", "ctr", "rev_per_view"):
    ps = {d["always_valid_p_value"] for d in rows if d["metric"] == m and d["variant"] == "treatment"}
    if len(ps) < 3: print(m, "always-valid p over the reports:", ps); ok = False
sys.exit(0 if ok else 1)
PY

for i in 0 1 2 3; do
  run --emit partials --partition $i --partitions 4 --in "$T/p$i.rec" > "$T/part$i.rec" 2>> "$T/part.err" ||
    fail "partials of partition $i: $(cat "$T/part.err")"
done
cat "$T"/part{0,1,2,3}.rec | run --merge --format json --report html --report-file "$T/merged.html" \
  > "$T/merged.json" 2> "$T/merge.err" || fail "merge: $(cat "$T/merge.err")"
check "merge = single run, every field of every row" cmp "$T/one.json" "$T/merged.json"
check "merge: the same HTML report" cmp "$T/one.html" "$T/merged.html"
grep -q '"complete":true' "$T/merge.err" || fail "merge did not reach the last report: $(cat "$T/merge.err")"

# partials in another order, and three partitions sent twice
cat "$T"/part{2,0,3,1,0,2,3}.rec | run --merge --format json > "$T/again.json" 2> "$T/again.err" || fail "merge again"
check "merge of reordered and repeated partials = single run" cmp "$T/one.json" "$T/again.json"
grep -q '"partials_ignored":[1-9]' "$T/again.err" || fail "the repeated partials were not recognized: $(cat "$T/again.err")"

# the partial record through fbcat, pair sums included
"$BIN/fbcat" --type ExperimentPartial < "$T/part0.rec" > "$T/part0.json" || fail "fbcat decode"
check "a CUPED arm carries its pair sums" jq -e '.arms[0].pair_n > 0 and (.arms[0].sum_xy | length) == 24' \
  <(tail -n 1 "$T/part0.json")
"$BIN/fbcat" --encode ExperimentPartial < "$T/part0.json" | "$BIN/fbcat" --type ExperimentPartial > "$T/part0b.json" ||
  fail "fbcat encode"
check "fbcat round trip" cmp "$T/part0.json" "$T/part0b.json"

# a CUPED arm without its pair sums (a writer that cannot merge it): refused, named, dead-lettered
jq -c 'del(.arms[0].sum_xy)' "$T/part0.json" | "$BIN/fbcat" --encode ExperimentPartial > "$T/nopair.rec" || die "encode"
cat "$T/nopair.rec" | run --merge --format json --dead-letter "$T/dl.jsonl" > /dev/null 2> "$T/ref.err"
grep -q '"refused":'"$(wc -l < "$T/part0.json")" "$T/ref.err" || fail "refusals not counted: $(tail -1 "$T/ref.err")"
check "no pair sums: named" grep -q 'metric \\"revenue\\": CUPED metric without its pair sums' "$T/dl.jsonl"
finish
