#!/usr/bin/env bash
# 013-json-jq — the JSON people read with jq (schemas/README.md, "JSON"):
# every record type, made by the stage that makes it, answers the jq paths
# a user writes (.labels.endpoint, .p95, .decision, .kind, .ts_iso) with no
# select, map or `//`; every schema field is present (the field list comes
# from the .fbs files, not from our generator); the flatc form stays behind
# --json-style flatc; fbcat --encode reads both forms (and a mix) and
# json -> record -> json gives the same text in each; the edge cases of
# the names (p999, p05, "p5" refused, duplicate label keys, NAME_iso that
# disagrees with NAME) do what the README says.
source "$(dirname "$0")/../lib.sh"
F=$BIN/fbcat
X=$T/x; mkdir -p "$X"

# ---- each record type, from the stage that writes it
"$GEN_EVENTS" --count 3000 --kind mixed --seed 7 --rate 50 | "$BIN/ingest" 2>/dev/null >"$X/mixed.rec"
"$F" --type Event <"$X/mixed.rec" | head -n 50 >"$X/Event.json"
"$F" --type Sample <"$X/mixed.rec" | head -n 50 >"$X/Sample.json"
"$BIN/aggregate" --window 60s --features none --in "$X/mixed.rec" --format json 2>/dev/null >"$X/Metric.json"
python3 -c '
import json, random; r = random.Random(1)
for i in range(300):
    v = r.gauss(10, 1) + (3 if i >= 200 else 0)
    print(json.dumps({"name": "cpu_usage", "labels": {"host": "a"},
                      "window_start": i * 60000000, "window_end": (i + 1) * 60000000, "value": v}))' \
  | "$F" --encode Metric | "$BIN/drift" --detectors cusum,zscore --horizons none --format json 2>/dev/null >"$X/Drift.json"
cat >"$X/exp.yaml" <<'Y'
experiments:
  - name: rec_algo_v1
    control: control
    variants: [{name: control, allocation: 0.5}, {name: treatment, allocation: 0.5}]
    metrics: [{name: purchase_rate, type: conversion, event: purchase, primary: true}]
Y
"$GEN_EVENTS" --count 6000 --users 800 --seed 3 --experiment rec_algo_v1:0.30 | "$BIN/ingest" 2>/dev/null \
  | "$BIN/experiment-analyzer" --config "$X/exp.yaml" --format json 2>/dev/null >"$X/ExperimentResult.json"
printf '%s\n' '{"user_id":"u1","items":[{"item_id":"b1","score":0.9},{"item_id":"b2","score":0.5}],"algorithm":"knn","ts":1795428000000000}' \
  | "$F" --encode Recommendation | "$F" >"$X/Recommendation.json"
cat >"$X/rules.yaml" <<'Y'
rules:
  - { name: cpu_high, metric: cpu_usage, field: mean, condition: gt, threshold: 90, summary: "cpu {{ $value }} on {{ $labels.host }}" }
Y
for v in 50 95 40; do i=$((${i:-0} + 1))
  printf '{"name":"cpu_usage","labels":{"host":"web-1"},"window_end":%d,"mean":%s}\n' $((i * 60000000)) $v
done | "$F" --encode Metric | "$BIN/alerter" --rules "$X/rules.yaml" --format json 2>/dev/null >"$X/Alert.json"
for t in Event Sample Metric Drift ExperimentResult Recommendation Alert; do
  [ -s "$X/$t.json" ] || fail "no $t records to look at"
done

# ---- the jq paths a user writes
expect_eq "Metric: .labels.endpoint, .p95, .p99, .p999 of a latency series" \
  "$(jq -r 'select(.name=="request.duration_ms" and .labels.endpoint=="/api/v1/books" and .labels.status_class=="2xx")
            | [(.p50 < .p95), (.p95 <= .p99), (.p99 <= .p999), (.window_start_iso | test("^2026-11-23T10:00:00.000Z$"))] | @tsv' \
       "$X/Metric.json" | head -n 1)" "$(printf 'true\ttrue\ttrue\ttrue')"
expect_eq "Metric: no quantiles list when every quantile has a name" "$(jq -s 'map(has("quantiles")) | any' "$X/Metric.json")" false
expect_eq "Metric: a count series has every field, no p95" \
  "$(jq -c 'select(.name=="events") | [.labels.event_type != null, .sum, has("p95")]' "$X/Metric.json" | sort -u | head -n 1)" '[true,0,false]'
expect_eq "Event: .type and .attrs as an object" "$(jq -r '[.type, (.attrs|type), (.ts_iso|test("Z$"))] | @tsv' "$X/Event.json" | sort -u | head -n1 | cut -f2-)" "$(printf 'object\ttrue')"
expect_eq "Sample: .labels.host" "$(jq -r 'select(.name=="cpu_usage") | .labels.host' "$X/Sample.json" | sort -u | head -n1)" web-1
expect_eq "Drift: .kind, .detector and .severity always there" \
  "$(jq -r 'select(.detector=="cusum") | [.kind, .detector, .severity, .labels.host, (.p_value|type)] | @tsv' "$X/Drift.json" | sort -u | tr '\n' ';')" \
  "$(printf 'drift\tcusum\twarning\ta\tnumber;')"
# the ISO time is the integer one, as jq's own todate writes it (whole seconds here)
expect_eq "Drift: .ts_iso is .ts" "$(jq -r 'select(.kind=="drift") | [.ts_iso, (.ts / 1000000 | todate | sub("Z$"; ".000Z"))] | @tsv' "$X/Drift.json" |
  awk -F '\t' '$1 != $2' | head -n1)" ""
expect_eq "Drift: the first one's time" "$(jq -r 'select(.kind=="drift") | .ts_iso' "$X/Drift.json" | head -n1 | grep -c '^1970-01-01T03:2[0-9]:00.000Z$')" 1
expect_eq "ExperimentResult: .decision, .significant and .lift on every row" \
  "$(jq -r '[(.decision|type), (.significant|type), (.lift|type), (.srm_flag|type)] | @tsv' "$X/ExperimentResult.json" | sort -u)" \
  "$(printf 'string\tboolean\tnumber\tboolean')"
expect_eq "ExperimentResult: control rows too (keep_running, lift 0)" \
  "$(jq -r 'select(.variant==.control) | [.decision, .lift] | @tsv' "$X/ExperimentResult.json" | sort -u)" "$(printf 'keep_running\t0')"
expect_eq "Recommendation: items stay a list; model_version absent is null" \
  "$(jq -c '[.items[].item_id, .model_version, .ts_iso]' "$X/Recommendation.json")" '["b1","b2",null,"2026-11-23T10:00:00.000Z"]'
expect_eq "Alert: firing then resolved, .labels.host, ends_at_iso null while firing" \
  "$(jq -c '[.status, .labels.host, .labels.metric, .ends_at_iso]' "$X/Alert.json" | tr '\n' ';')" \
  '["firing","web-1","cpu_usage",null];["resolved","web-1","cpu_usage","1970-01-01T00:03:00.000Z"];'

# ---- every field of the schema is there (names from the .fbs files)
check "every schema field present in every record" python3 - "$ROOT/schemas" "$X" <<'PY'
import glob, json, re, sys
fields, times = {}, {}
for f in glob.glob(sys.argv[1] + "/*.fbs"):
    text = re.sub(r"//[^\n]*", "", open(f).read())
    for name, body in re.findall(r"\btable\s+(\w+)\s*\{([^}]*)\}", text):
        fl = re.findall(r"(\w+)\s*:\s*(\[?\w+\]?)", body)
        fields[name] = [n for n, _ in fl]
        times[name] = [n for n, t in fl if t == "long" and (n == "ts" or n.endswith("_at") or n.startswith("window_"))]
for t in ["Event", "Sample", "Metric", "Drift", "ExperimentResult", "Recommendation", "Alert"]:
    for line in open("%s/%s.json" % (sys.argv[2], t)):
        r = json.loads(line)
        want = [n for n in fields[t] if n != "quantiles"] + [n + "_iso" for n in times[t]]
        missing = [n for n in want if n not in r]
        assert not missing, (t, missing, line)
        extra = [k for k in r if k not in want and not re.fullmatch(r"p\d+", k)]
        assert not extra, (t, extra)
print("checked", len(fields), "tables")
PY

# ---- both forms read back to the same records and print the same text
for t in Event Sample Metric Drift ExperimentResult Recommendation Alert; do
  "$F" --encode "$t" <"$X/$t.json" >"$X/$t.rec" || fail "$t: encode the jq form"
  check "$t: jq form -> record -> jq form, same text" cmp -s "$X/$t.json" <("$F" <"$X/$t.rec")
  "$F" --json-style flatc <"$X/$t.rec" >"$X/$t.flatc.json"
  check "$t: flatc form -> record -> flatc form, same text" \
    cmp -s "$X/$t.flatc.json" <("$F" --encode "$t" <"$X/$t.flatc.json" | "$F" --json-style flatc)
  check "$t: the flatc form reads back to the same records" cmp -s "$X/$t.rec" <("$F" --encode "$t" <"$X/$t.flatc.json")
done
check "the flatc form leaves defaults out (no kind:drift)" bash -c "! grep -q '\"kind\":\"drift\"' '$X/Drift.flatc.json'"
check "the flatc form has quantiles as a list" grep -q '"quantiles":\[{"q":0.5,' "$X/Metric.flatc.json"
# every stage's --json-style flatc is fbcat's
"$BIN/drift" --detectors cusum,zscore --horizons none --format json --json-style flatc <"$X/Drift.rec" >/dev/null 2>&1 \
  || fail "drift --json-style flatc"
"$BIN/drift" --json-style yaml </dev/null >/dev/null 2>&1; expect_eq "--json-style yaml: usage error" $? 2

# ---- names: quantiles, duplicate labels, times
q() { echo "{\"name\":\"m\",$1}" | "$F" --encode Metric | "$F" | jq -c "$2"; }
expect_eq "q=0.999 is p999, 0.05 is p05, 0 p0, 1 p100" \
  "$(q '"quantiles":[{"q":0,"value":1},{"q":0.05,"value":2},{"q":0.5,"value":3},{"q":0.999,"value":4},{"q":1,"value":5}]' '[.p0,.p05,.p50,.p999,.p100]')" '[1,2,3,4,5]'
expect_eq "a q with no name (1.5) and a repeated q stay in a list" \
  "$(q '"quantiles":[{"q":0.5,"value":1},{"q":1.5,"value":2},{"q":0.5,"value":3}]' '[.p50, .quantiles]')" \
  '[1,[{"q":1.5,"value":2},{"q":0.5,"value":3}]]'
expect_eq "named quantiles written in any order come out sorted" \
  "$(echo '{"name":"m","p99":3,"p50":1,"p95":2}' | "$F" --encode Metric | "$F" --json-style flatc | jq -c '[.quantiles[].q]')" '[0.5,0.95,0.99]'
echo '{"name":"m","p5":1}' | "$F" --encode Metric >/dev/null 2>"$X/p5.err"
check "p5 is refused, with the spelling to use" grep -q 'p5.*is not a quantile name.*p05' "$X/p5.err"
echo '{"name":"m","labels":{"k":"a","k":"b"}}' | "$F" --encode Metric >"$X/dup.rec"
expect_eq "duplicate label keys: both kept in the record" "$("$F" --json-style flatc <"$X/dup.rec" | jq -c '[.labels[].value]')" '["a","b"]'
expect_eq "duplicate label keys: jq sees the last" "$("$F" <"$X/dup.rec" | jq -r '.labels.k')" b
expect_eq "a label without a key stays a list" \
  "$(echo '{"name":"m","labels":[{"value":"v"}]}' | "$F" --encode Metric | "$F" | jq -c '.labels')" '[{"key":null,"value":"v"}]'
expect_eq "ts_iso alone sets ts" "$(echo '{"ts_iso":"2026-11-23T10:00:00Z","name":"a"}' | "$F" --encode Sample | "$F" | jq .ts)" 1795428000000000
expect_eq "ts_iso with an offset, same instant as ts: fine" \
  "$(echo '{"ts":1795428000000000,"ts_iso":"2026-11-23T11:00:00+01:00"}' | "$F" --encode Sample | "$F" | jq -r .ts_iso)" 2026-11-23T10:00:00.000Z
echo '{"ts":1795428000000000,"ts_iso":"2026-11-23T10:00:01Z"}' | "$F" --encode Sample >/dev/null 2>"$X/iso.err"
check "ts_iso that is not ts is refused, naming both" grep -q 'field ts_iso: .* is not the time in ts (2026-11-23T10:00:00.000Z)' "$X/iso.err"
expect_eq "fbcat --meta's _kafka is not part of the record" \
  "$(echo '{"name":"a","_kafka":{"partition":3}}' | "$F" --encode Sample | "$F" --json-style flatc)" '{"name":"a"}'
finish
