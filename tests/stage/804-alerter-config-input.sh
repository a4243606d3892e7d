#!/usr/bin/env bash
# 804-alerter-config-input — rules-file errors name FILE:LINE:COL (or
# FILE:LINE) and exit 2; --check; bad input (a NaN value a rule compares)
# is dead-lettered and counted, records of other types are ignored and
# counted; the shipped default rules load and fire on realistic data
# (gen-events samples/requests with a planted regression | ingest |
# aggregate), exactly where an independent Python reading of the same rules
# says they must.
. "$(dirname "$0")/../lib.sh"
DEF=$ROOT/stages/alerter/rules.default.yaml           # Prometheus rule file
DEF_OWN=$ROOT/stages/alerter/rules.default.alerter.yaml  # the alerter's own format

bad() { # expected-substring yaml
  printf '%s\n' "$2" > "$T/bad.yaml"
  "$BIN/alerter" --rules "$T/bad.yaml" --check </dev/null >"$T/b.out" 2>"$T/b.err"; local rc=$?
  expect_eq "bad config ($1): exit" "$rc" 2
  grep -qF -- "$1" "$T/b.err" || fail "bad config: stderr lacks '$1': $(cat "$T/b.err")"
}
bad "bad.yaml:3:5: " $'rules:\n  - name: a\n    condtion: gt\n    threshold: 1'
bad "did you mean" $'rules:\n  - name: a\n    condtion: gt\n    threshold: 1'
bad "bad.yaml:2:" $'rules:\n  - name: a\n    threshold: 1'
bad "bad.yaml:4:16: " $'rules:\n  - name: a\n    condition: gt\n    threshold: lots'
bad "bad.yaml:3:16: " $'rules:\n  - name: a\n    condition: bigger\n    threshold: 1'
bad 'bad.yaml:5: rule "a": field "p9x": a quantile is pNN' $'rules:\n  - name: a\n    condition: gt\n    threshold: 1\n    field: p9x'
bad 'unknown field "meen"; did you mean "mean"' $'rules:\n  - name: a\n    condition: gt\n    threshold: 1\n    field: meen'
bad 'a Drift has no field "mean"' $'rules:\n  - name: a\n    type: Drift\n    condition: gt\n    threshold: 1\n    field: mean'
bad 'needs threshold (low) and threshold_high' $'rules:\n  - name: a\n    condition: outside\n    threshold: 1'
bad 'bad.yaml:5: rule "a": summary: unknown placeholder' $'rules:\n  - name: a\n    condition: gt\n    threshold: 1\n    summary: "x {{ $valu }}"'
bad 'channel "mail:x" is not out, exec:COMMAND or webhook' $'rules:\n  - name: a\n    condition: gt\n    threshold: 1\n    channels: [mail:x]'
bad 'rule "a" defined twice' $'rules:\n  - {name: a, condition: gt, threshold: 1}\n  - {name: a, condition: lt, threshold: 1}'
bad 'escalate_to must be above severity critical' $'rules:\n  - {name: a, condition: gt, threshold: 1, severity: critical, escalate_after: 1m, escalate_to: warning}'
bad 'silence 1: ends before it starts' $'rules:\n  - {name: a, condition: gt, threshold: 1}\nsilences:\n  - {rule: a, starts: "2026-01-02", ends: "2026-01-01"}'
bad 'silence 1: no rule named "b"' $'rules:\n  - {name: a, condition: gt, threshold: 1}\nsilences:\n  - {rule: b, starts: "2026-01-01", ends: "2026-01-02"}'
bad 'source_severity must be above target_severity' $'rules:\n  - {name: a, condition: gt, threshold: 1}\ninhibit:\n  - {source_severity: warning, target_severity: critical}'
"$BIN/alerter" </dev/null >/dev/null 2>"$T/n.err"; rc=$?
expect_eq "no --rules: usage error" "$rc" 2
grep -q -- '--rules is required' "$T/n.err" || fail "no --rules: $(cat "$T/n.err")"
out=$("$BIN/alerter" --rules "$DEF" --rules "$DEF_OWN" --check 2>&1); rc=$?
expect_eq "default rules --check" "$rc" 0
case $out in *"16 rules"*ok) ;; *) fail "default rules --check said: $out" ;; esac

# bad input: NaN in a compared field -> dead letter; an Event is ignored (counted)
cat > "$T/r.yaml" <<'Y'
rules:
  - { name: cpu, metric: cpu, condition: gt, threshold: 90 }
Y
python3 - "$T" <<'PY'
import json, struct, sys
T = sys.argv[1]
open(T + "/m.json", "w").write(
    json.dumps({"name": "cpu", "window_end": 60_000_000, "value": 95}) + "\n" +
    json.dumps({"name": "cpu", "window_end": 120_000_000, "value": 97}) + "\n")
PY
{ "$BIN/fbcat" --encode Metric < "$T/m.json"
  # JSON has no NaN: encode 12345.5 and patch its 8 bytes into a NaN
  printf '{"name":"cpu","window_end":180000000,"value":12345.5}\n' | "$BIN/fbcat" --encode Metric |
    python3 -c 'import struct, sys; b = sys.stdin.buffer.read(); p = struct.pack("<d", 12345.5)
assert b.count(p) == 1; sys.stdout.buffer.write(b.replace(p, struct.pack("<d", float("nan"))))'
  printf '{"event_id":"e1","ts":1,"user_id":"u"}\n' | "$BIN/fbcat" --encode Event
  printf '{"name":"cpu","window_end":240000000,"value":50}\n' | "$BIN/fbcat" --encode Metric; } > "$T/mixed.rec"
check "mixed input" "$BIN/alerter" --rules "$T/r.yaml" --in "$T/mixed.rec" --format json --dead-letter "$T/dl.jsonl" \
  --metrics-file "$T/m.prom" > "$T/mixed.out" 2>"$T/mixed.err"
expect_eq "alerts around the bad record" "$(python3 -c 'import json,sys
for l in open(sys.argv[1]): a = json.loads(l); print(a.get("status","firing"), a["starts_at"], a.get("ends_at",0))' "$T/mixed.out" | tr '\n' ';')" \
  "firing 60000000 0;resolved 60000000 240000000;"
grep -q '"reason":"bad_value".*rule \\"cpu\\": the value it compares is NaN or infinite' "$T/dl.jsonl" || fail "NaN not dead-lettered: $(cat "$T/dl.jsonl" 2>/dev/null)"
grep -q '^streamrec_records_invalid_total{stage="alerter",reason="bad_value"} 1$' "$T/m.prom" || fail "bad_value not counted"
grep -q '^streamrec_alerter_ignored_total{stage="alerter"} 1$' "$T/m.prom" || fail "Event not counted as ignored"
"$BIN/alerter" --rules "$T/r.yaml" --in "$T/mixed.rec" --strict >/dev/null 2>&1; rc=$?
expect_eq "--strict: the NaN is fatal" "$rc" 1

# default rules on realistic aggregate output
"$GEN_EVENTS" --count 40000 --kind samples --seed 5 --rate 50 --drift-at 20000:3 > "$T/s.jsonl"
"$GEN_EVENTS" --count 40000 --kind requests --seed 6 --rate 50 --drift-at 20000:3 > "$T/q.jsonl"
# one stream in event-time order, as aggregate expects
python3 -c 'import heapq, json, sys
for l in heapq.merge(open(sys.argv[1]), open(sys.argv[2]), key=lambda l: json.loads(l)["ts"]): sys.stdout.write(l)' \
  "$T/s.jsonl" "$T/q.jsonl" | "$BIN/ingest" 2>/dev/null | "$BIN/aggregate" --features none 2>/dev/null > "$T/agg.rec" || die "ingest | aggregate"
"$BIN/fbcat" < "$T/agg.rec" > "$T/agg.json"
check "default rules" "$BIN/alerter" --rules "$DEF" --rules "$DEF_OWN" --in "$T/agg.rec" --format json > "$T/def.json" 2>"$T/def.err"
python3 - "$DEF_OWN" "$T/agg.json" "$T/def.json" "$T/def.err" "$DEF" <<'PY' || fail "default rules: alerts differ from the Python reading"
import json, re, sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
# the Prometheus file's rules, read as README.md "Prometheus rule files" says:
# NAME_FIELD or NAME{quantile="0.Q"} CMP NUMBER; a record name's dots are '_'
names = {"cpu_usage": "cpu_usage", "disk_usage": "disk_usage", "request_duration_ms": "request.duration_ms",
         "request_error": "request.error", "cache_hit_rate": "cache_hit_rate", "model_latency_ms": "model.latency_ms"}
cmp = {">": "gt", "<": "lt", ">=": "ge"}
for g in yaml.safe_load(open(sys.argv[5]))["groups"]:
    for r in g["rules"]:
        m = re.fullmatch(r'(\w+?)(?:_(mean|max))?(?:\{quantile="0\.(\d+)"\})? (>|<|>=) ([\d.]+)', r["expr"])
        assert m, r["expr"]
        cfg["rules"].append({"name": r["alert"], "metric": names[m[1]], "field": m[2] or "p" + m[3],
                             "condition": cmp[m[4]], "threshold": float(m[5]), "for": r.get("for", 0)})
def dur(s):
    s = str(s); u = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(float(s[:-1]) * u[s[-1]] * 1e6) if s[-1] in u else int(float(s) * 1e6)
ops = {"gt": lambda x, t: x > t, "lt": lambda x, t: x < t, "ge": lambda x, t: x >= t}
def field(r, f):
    if f.startswith("p"):   # p50, p95, p999: the fields of the jq form
        return r.get(f)
    return r.get(f, 0)
state, fired = {}, set()
for l in open(sys.argv[2]):
    r = json.loads(l)
    if "window_end" not in r: continue
    labels = tuple(sorted(list(r["labels"].items()) + [("metric", r["name"])]))
    for rule in cfg["rules"]:
        if rule.get("type", "Metric") != "Metric" or rule["metric"] != r["name"]: continue
        x = field(r, rule.get("field", "value"))
        if x is None: continue
        k = (rule["name"], labels)
        if ops[rule["condition"]](x, rule["threshold"]):
            a = state.setdefault(k, {"starts": r["window_end"], "firing": False})
            if not a["firing"] and r["window_end"] - a["starts"] >= dur(rule.get("for", 0)):
                a["firing"] = True; fired.add((rule["name"], labels, a["starts"]))
        else:
            state.pop(k, None)
got = set()
for l in open(sys.argv[3]):
    a = json.loads(l)
    if a.get("status", "firing") == "firing":
        got.add((a["rule"], tuple(sorted(a["labels"].items())), a["starts_at"]))
done = [json.loads(l) for l in open(sys.argv[4]) if '"msg":"done"' in l][0]
rules = {f[0] for f in fired}
print(len(fired), "alerts fire by the model, rules:", sorted(rules), "; delivered", len(got), "; inhibited", done["inhibited"])
assert done["fired"] == len(fired), done
assert got <= fired, got - fired
# every alert fired either reached the output or was inhibited (no silences here)
assert len(fired - got) == done["inhibited"], (fired - got, done)
assert {"cpu_critical", "cpu_high", "latency_p99_high"} <= rules, rules   # the planted regression
PY

# labels: 4,160 on the record are accepted (4,161 with the series name: the
# size contract, schemas/SIZES.md, leaves room over ingest's 4,096); 4,161
# are refused, and the dead letter says the limit the record broke
python3 -c 'import json
for n in (4160, 4161):
    print(json.dumps({"name": "cpu", "window_end": 60_000_000, "value": 95,
                      "labels": [{"key": "k%04d" % i, "value": "v"} for i in range(n)]}))' |
  "$BIN/fbcat" --encode Metric > "$T/lab.rec"
"$BIN/alerter" --rules "$T/r.yaml" --in "$T/lab.rec" --format json --dead-letter "$T/lab-dl.jsonl" \
  > "$T/lab.out" 2>"$T/lab.err"
expect_eq "4,160 labels: one alert" "$(grep -c . "$T/lab.out")" 1
expect_eq "4,160 labels: all on the alert, with the series name" "$(jq '.labels | length' "$T/lab.out")" 4161
grep -q '"reason":"too_many_labels".*more than 4160 labels' "$T/lab-dl.jsonl" ||
  fail "4,161 labels: dead letter: $(head -c 300 "$T/lab-dl.jsonl" 2>/dev/null)"
finish
