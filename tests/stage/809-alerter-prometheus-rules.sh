#!/usr/bin/env bash
# 809-alerter-prometheus-rules — alerter reads Prometheus alerting-rule
# files (groups: → rules:). A rule file that promtool accepts, with every
# matcher (= != =~ !~), every comparison, a number on either side, the
# field by suffix, by quantile="0.Q" and by __field__, for:, labels and
# annotation templates, fires on random Metric records exactly as an
# independent Python reading of PromQL's semantics says (regexes anchored,
# an absent label is "", a record name's dots read as '_'; the rule's
# labels on the alert, severity from labels.severity, the summary
# rendered). Expressions promtool accepts but the subset cannot evaluate
# are refused with FILE:LINE:COL of the offending token and the reason, in
# plain, quoted and block-scalar YAML. A Prometheus file loads beside a
# file in the alerter's own format; two own-format files are refused.
# promtool accepts the shipped default rules.
. "$(dirname "$0")/../lib.sh"
command -v promtool >/dev/null || die "promtool missing: 'make deps' installs Debian's prometheus package"

cat > "$T/prom.yml" <<'Y'
groups:
  - name: pasted
    rules:
      - alert: LatencyHigh
        expr: request_duration_ms{quantile="0.99", endpoint=~"/api/.*", status_class!="5xx"} > 300
        for: 2m
        labels:
          severity: critical
          team: web
        annotations:
          summary: "p99 {{ $value }} ms on {{ $labels.endpoint }} ({{ $labels.status_class }})"
          runbook_url: https://runbooks.example.org/latency
      - alert: CpuBusy
        expr: 80 <= cpu_usage_mean{host!~"db-.*"}
        for: 1m
        annotations:
          description: "{{ $labels.host }} at {{ $value }}%"
      - alert: FewRequests
        expr: 'request_duration_ms_count{env="prod"} < 5'
        labels: {severity: info}
      - alert: DiskMax
        expr: |
          disk_usage{__field__="max", host=~"db-.*|web-1"}
            >= 95
        for: 3m
        labels: {severity: warning, page: "yes"}
      - alert: NotExactlyOne
        expr: item_ctr != 0.5
      - alert: ExactlyHalf
        expr: item_ctr{item_id="i1"} == 0.5
Y
check "promtool accepts the pasted rules" promtool check rules "$T/prom.yml" > "$T/promtool.out" 2>&1
check "alerter --check" "$BIN/alerter" --rules "$T/prom.yml" --check > "$T/check.out" 2>&1
grep -q ': 6 rules' "$T/check.out" || fail "--check: $(cat "$T/check.out")"

python3 - "$T" <<'PY' || die "generate input"
import json, random, re, sys
random.seed(809)
T = sys.argv[1]
recs = []
hosts = ["db-1", "db-2", "web-1", "web-2"]
for w in range(80):
    ws, we = w * 60_000_000, (w + 1) * 60_000_000
    for h in hosts:
        recs.append({"name": "cpu_usage", "labels": [{"key": "host", "value": h}], "window_start": ws, "window_end": we,
                     "count": 6, "mean": random.choice([50, 79.5, 80, 85, 99]), "max": 100})
        recs.append({"name": "disk_usage", "labels": [{"key": "host", "value": h}], "window_start": ws, "window_end": we,
                     "count": 6, "mean": 50, "max": random.choice([90, 94.9, 95, 99])})
    for ep in ["/api/recs", "/api/books", "/health"]:
        for sc in ["2xx", "5xx"]:
            labels = [{"key": "endpoint", "value": ep}, {"key": "status_class", "value": sc}]
            if random.random() < 0.5: labels.append({"key": "env", "value": random.choice(["prod", "dev"])})
            recs.append({"name": "request.duration_ms", "labels": labels, "window_start": ws, "window_end": we,
                         "count": random.choice([2, 4, 5, 9]),
                         "quantiles": [{"q": 0.5, "value": 50}, {"q": 0.99, "value": random.choice([100, 299, 300, 301, 800])}]})
    for item in ["i1", "i2"]:
        recs.append({"name": "item.ctr", "labels": [{"key": "item_id", "value": item}], "window_start": ws,
                     "window_end": we, "value": random.choice([0.25, 0.5, 0.5])})
    # a name that only differs by its separator would match too: keep one that must NOT
    recs.append({"name": "item.ctr.x", "labels": [], "window_start": ws, "window_end": we, "value": 0.1})
with open(T + "/in.json", "w") as f:
    for r in recs: f.write(json.dumps(r) + "\n")

def lab(r, k):
    for x in r["labels"]:
        if x["key"] == k: return x["value"]
    return ""
def q(r, qq):
    return [x["value"] for x in r.get("quantiles", []) if abs(x["q"] - qq) < 1e-9][0]
prom = lambda n: re.sub(r"[^A-Za-z0-9_:]", "_", n)
# (alert, selector, value, condition, for s, severity, extra labels, summary)
rules = [
    ("LatencyHigh", lambda r: prom(r["name"]) == "request_duration_ms" and re.fullmatch("/api/.*", lab(r, "endpoint"))
                    and lab(r, "status_class") != "5xx", lambda r: q(r, 0.99), lambda x: x > 300, 120, "critical",
     {"team": "web"}, lambda r, x: "p99 %g ms on %s (%s)" % (x, lab(r, "endpoint"), lab(r, "status_class"))),
    ("CpuBusy", lambda r: prom(r["name"]) == "cpu_usage" and not re.fullmatch("db-.*", lab(r, "host")),
     lambda r: r["mean"], lambda x: 80 <= x, 60, "warning", {}, lambda r, x: "%s at %g%%" % (lab(r, "host"), x)),
    ("FewRequests", lambda r: prom(r["name"]) == "request_duration_ms" and lab(r, "env") == "prod",
     lambda r: r["count"], lambda x: x < 5, 0, "info", {}, None),
    ("DiskMax", lambda r: prom(r["name"]) == "disk_usage" and re.fullmatch("db-.*|web-1", lab(r, "host")),
     lambda r: r["max"], lambda x: x >= 95, 180, "warning", {"page": "yes"}, None),
    ("NotExactlyOne", lambda r: prom(r["name"]) == "item_ctr", lambda r: r["value"], lambda x: x != 0.5, 0, "warning", {}, None),
    ("ExactlyHalf", lambda r: prom(r["name"]) == "item_ctr" and lab(r, "item_id") == "i1", lambda r: r["value"],
     lambda x: x == 0.5, 0, "warning", {}, None),
]
state, out = {}, []
for r in recs:
    labels = tuple(sorted([(l["key"], l["value"]) for l in r["labels"]] + [("metric", r["name"])]))
    t = r["window_end"]
    for name, sel, val, cond, for_s, sev, extra, summ in rules:
        if not sel(r): continue
        x = val(r)
        key = (name, labels)
        a = state.get(key)
        alabels = tuple(sorted(dict(labels, **extra).items()))
        if cond(x):
            if a is None: a = state[key] = {"starts": t, "firing": False}
            a["value"] = x
            if not a["firing"] and t - a["starts"] >= for_s * 1_000_000:
                a["firing"] = True
                s = summ(r, x) if summ else "%s: value %g" % (name, x)
                out.append((name, "firing", sev, alabels, a["starts"], 0, s))
        elif a is not None:
            if a["firing"]: out.append((name, "resolved", sev, alabels, a["starts"], t, None))
            del state[key]
json.dump(out, open(T + "/want.json", "w"))
PY

"$BIN/fbcat" --encode Metric < "$T/in.json" > "$T/in.rec" || die "encode"
check "alerter runs on the Prometheus rules" "$BIN/alerter" --rules "$T/prom.yml" --in "$T/in.rec" --format json \
  > "$T/out.json" 2>"$T/err"
python3 - "$T/out.json" "$T/want.json" <<'PY' || fail "alerts differ from the Python reading of PromQL"
import json, sys
got = []
for l in open(sys.argv[1]):
    a = json.loads(l)
    st = a.get("status", "firing")
    s = a.get("summary")
    if st == "firing" and s.startswith(a["rule"] + ": value "):   # the default summary: compare its rule part
        s = a["rule"] + ": value %g" % a["value"]
    labels = a["labels"].items() if isinstance(a["labels"], dict) else ((x["key"], x["value"]) for x in a["labels"])
    got.append((a["rule"], st, a.get("severity", "info"), tuple(sorted(labels)),
                a.get("starts_at", 0), a.get("ends_at", 0), s if st == "firing" else None))
want = [(w[0], w[1], w[2], tuple(tuple(p) for p in w[3]), w[4], w[5], w[6]) for w in json.load(open(sys.argv[2]))]
if sorted(got) != sorted(want):
    sg, sw = set(got), set(want)
    for x in sorted(sw - sg)[:5]: print("missing   ", x)
    for x in sorted(sg - sw)[:5]: print("unexpected", x)
    print(len(got), "got,", len(want), "wanted"); sys.exit(1)
fired = {g[0] for g in got if g[1] == "firing"}
if len(fired) != 6: print("not every rule fired:", fired); sys.exit(1)
print(len(got), "alerts match")
PY

# refusals: valid Prometheus (promtool says so), outside the subset
refuse() { # expected "LINE:COL: ...reason" , the expr line(s) as YAML [, "not-prometheus": promtool refuses it too]
  printf 'groups:\n  - name: g\n    rules:\n      - alert: A\n%s\n' "$2" > "$T/bad.yml"
  [ "${3:-}" = not-prometheus ] || promtool check rules "$T/bad.yml" > /dev/null 2>&1 ||
    fail "promtool refuses the test's own rule: $2"
  "$BIN/alerter" --rules "$T/bad.yml" --check </dev/null > /dev/null 2>"$T/bad.err"; local rc=$?
  expect_eq "refused ($1): exit" "$rc" 2
  grep -qF -- "bad.yml:$1" "$T/bad.err" || fail "refusal: expected 'bad.yml:$1', got: $(cat "$T/bad.err")"
}
refuse '5:15: alert "A": expr: function '"'rate'"' is not supported' '        expr: rate(http_requests_total[5m]) > 1'
refuse '5:34: alert "A": expr: a range selector' '        expr: http_requests_total[5m] > 1' not-prometheus
refuse '5:15: alert "A": expr: aggregation '"'sum'"'' '        expr: sum by (job) (up) > 1'
refuse '5:22: alert "A": expr: set operator '"'and'"'' '        expr: up > 1 and down > 2'
refuse '5:18: alert "A": expr: arithmetic' '        expr: up * 100 > 1'
refuse '5:20: alert "A": expr: '"'bool'"' is not supported' '        expr: up > bool 1'
refuse '5:20: alert "A": expr: comparing two series' '        expr: up > down'
refuse '5:26: alert "A": expr: a bare selector' '        expr: up{job="x"}'
refuse '5:18: alert "A": expr: '"'offset'"' is not supported' '        expr: up offset 5m > 1'
refuse '5:32: alert "A": expr: aggregation' $'        expr: "up{job=\\"a\\"} > count(x)"'
refuse '7:13: alert "A": expr: arithmetic' $'        expr: |\n          up{job="x"}\n            + 1 > 2'
refuse '5:15: alert "A": expr: field "p9x": a quantile is pNN' '        expr: up{__field__="p9x"} > 1'
refuse '6:16: recording rule "job:up:sum" is not supported' $'        expr: up > 1\n      - record: job:up:sum\n        expr: sum(up)'
refuse '7:21: alert "A": severity "page"' $'        expr: up > 1\n        labels:\n          severity: page'
refuse '8:45: alert "A": annotation summary: unknown placeholder '"'{{ \$value | humanize }}'" \
  $'        expr: up > 1\n        annotations:\n          runbook: x\n          summary: "{{ $labels.job }} is at {{ $value | humanize }}"'
refuse '6:25: alert "A": keep_firing_for is not supported' $'        expr: up > 1\n        keep_firing_for: 5m'
# regexes whose repetitions nest: glibc's regcomp unrolls each '+' and
# '{n,m}', so 20 stacked '+' took ~700 MB and the fuzzer's 60 ran out of
# memory (fuzz_promrules). Refused by an estimate of the unrolled size;
# patterns a user writes, even long or with big counts, still pass.
refuse_re() { # the pattern (YAML double-quoted), expected: ok|costly
  printf 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up{host=~"%s"} > 1\n' "$1" > "$T/re.yml"
  # 400 MB of address space, but not under ASan (its shadow memory alone is
  # terabytes of reservation); there the time limit catches a long compile
  ( grep -q __asan_init "$BIN/alerter" || ulimit -v 400000
    timeout 60 "$BIN/alerter" --rules "$T/re.yml" --check </dev/null > /dev/null 2>"$T/re.err" ); local rc=$?
  if [ "$2" = ok ]; then expect_eq "regex $1: exit ($(cat "$T/re.err"))" "$rc" 0
  else
    expect_eq "regex $1: exit" "$rc" 2
    grep -qF 're.yml:5:18: alert "A": expr: regular expression' "$T/re.err" && grep -qF 'is too costly' "$T/re.err" ||
      fail "regex $1: $(cat "$T/re.err")"
  fi
}
refuse_re 'x+++++++++++++++++++++++++++++++++++++++++++++++++++++++++' costly
refuse_re '((((((((((((((x+)+)+)+)+)+)+)+)+)+)+)+)+)+)+' costly
refuse_re '(((x{30}){30}){30})' costly
refuse_re 'a{20000}' costly
refuse_re '(a|b{200}|c){60}' costly
# skippable atoms cost quadratically ((a?){5000}: 400 MB); {,m} is {0,m}
refuse_re '(a?){5000}' costly
refuse_re '(a{,100}){,100}' costly
refuse_re '(a|){2000}' costly
refuse_re '(a?){1000}' ok
refuse_re 'x+++++++++++' ok
refuse_re '(x{99}){99}' ok
refuse_re '[a-z{}()+*]{1000}-(db|web)-[[:digit:]]+\\.example\\.(com|org){1,3}' ok
refuse_re 'db-.*|web-[0-9]+|api-(eu|us)-[0-9]{1,4}' ok
refuse_re '\\({500}' ok

# an empty alert name (a comment where the name was): promtool refuses it too; the
# alerter crashed on it (found by fuzz_promrules)
printf 'groups:\n  - name: g\n    rules:\n      - alert: # cpu_critical\n        expr: cpu_usage_mean > 95\n' > "$T/noname.yml"
promtool check rules "$T/noname.yml" > /dev/null 2>&1 && fail "promtool accepts an empty alert name"
"$BIN/alerter" --rules "$T/noname.yml" --check </dev/null > /dev/null 2>"$T/noname.err"
expect_eq "empty alert name: exit" "$?" 2
grep -qF "noname.yml:4:15: a rule needs 'alert: NAME', not an empty name" "$T/noname.err" || fail "empty alert name: $(cat "$T/noname.err")"

# both formats at once: the own format for what PromQL cannot say
cat > "$T/own.yml" <<'Y'
rules:
  - { name: drift, type: Drift, field: severity, condition: ge, threshold: 2 }
inhibit: []
Y
out=$("$BIN/alerter" --rules "$T/prom.yml" --rules "$T/own.yml" --check 2>&1) || fail "prom + own: $out"
case $out in *": 7 rules, 0 silences, 0 inhibit rules: ok") ;; *) fail "prom + own --check: $out" ;; esac
"$BIN/alerter" --rules "$T/own.yml" --rules "$T/own.yml" --check > /dev/null 2>"$T/two.err" && fail "two own-format files accepted"
grep -q 'a second rules file in the alerter.s own format' "$T/two.err" || fail "two own files: $(cat "$T/two.err")"
printf 'rules:\n  - { name: CpuBusy, metric: x, condition: gt, threshold: 1 }\n' > "$T/dup.yml"
"$BIN/alerter" --rules "$T/prom.yml" --rules "$T/dup.yml" --check > /dev/null 2>"$T/dup.err" && fail "a name in both accepted"
grep -qF "prom.yml:13: rule \"CpuBusy\" defined twice (first at $T/dup.yml:2)" "$T/dup.err" || fail "duplicate: $(cat "$T/dup.err")"

# the shipped defaults: promtool accepts the Prometheus one, both load together
check "promtool accepts rules.default.yaml" promtool check rules "$ROOT/stages/alerter/rules.default.yaml"
check "defaults load together" "$BIN/alerter" --rules "$ROOT/stages/alerter/rules.default.yaml" \
  --rules "$ROOT/stages/alerter/rules.default.alerter.yaml" --check
finish
