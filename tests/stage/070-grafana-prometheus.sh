#!/usr/bin/env bash
# 070-grafana-prometheus — the monitoring files under systemd/ agree with
# what the stages really export. Every stage runs briefly with
# --metrics-file (aggregate from a two-partition Kafka topic, for the lag
# series); then the Grafana dashboard JSON must have one row per stage with
# rates in/out, dead letters by reason, lag per topic and partition and a
# latency (or the stage's own) panel, every metric its queries name must be
# in the files of the stage the query selects, and every label it groups by
# must be on that series (plus `instance`, which Prometheus adds). promtool
# accepts the pipeline-health rules and parses the metrics files, and `promtool
# test rules` fires the stalled-stage, lag, dead-letter and restart alerts
# on synthetic series (and keeps them quiet on healthy ones).
. "$(dirname "$0")/../lib.sh"
command -v promtool >/dev/null || die "promtool missing: 'make deps' installs Debian's prometheus package"
DASH=$ROOT/systemd/grafana-streamrec-dashboard.json
RULES=$ROOT/systemd/prometheus-streamrec-rules.yml
M=$T/metrics; mkdir -p "$M"

start_kafka events:2
"$GEN_EVENTS" --count 3000 --kind mixed --seed 70 --users 200 --experiment ab:0.3 --bad-fraction 0.02 > "$T/ev.jsonl"
"$BIN/ingest" --in "$T/ev.jsonl" --out "kafka://$KAFKA/events" --metrics-file "$M/ingest.prom" \
  --dead-letter "$T/ingest.dl" 2>/dev/null || die "ingest to Kafka"
"$BIN/ingest" --in "$T/ev.jsonl" --out "$T/ev.rec" 2>/dev/null
timeout 60 "$BIN/aggregate" --in "kafka://$KAFKA/events?group=agg&eof=1" --out "$T/agg.rec" --features none \
  --idle-timeout 1s --metrics-file "$M/aggregate.prom" 2>/dev/null || die "aggregate from Kafka"
"$BIN/drift" --in "$T/agg.rec" --out /dev/null --metrics-file "$M/drift.prom" 2>/dev/null || die "drift"
cat > "$T/exp.yaml" <<'Y'
experiments:
  - name: ab
    control: control
    variants: [{name: control, allocation: 0.5}, {name: treatment, allocation: 0.5}]
    metrics: [{name: purchase_rate, type: conversion, event: purchase}]
Y
"$BIN/experiment-analyzer" --config "$T/exp.yaml" --in "$T/ev.rec" --out /dev/null \
  --metrics-file "$M/experiment-analyzer.prom" 2>/dev/null || die "experiment-analyzer"
"$BIN/recommender" train --in "$T/ev.rec" --model "$T/model.db" 2>/dev/null || die "recommender train"
"$BIN/recommender" --model "$T/model.db" --in "$T/ev.rec" --out "$T/recs.rec" \
  --metrics-file "$M/recommender.prom" 2>/dev/null || die "recommender"
start_redis
"$BIN/cache-writer" --redis "$REDIS_URI" --in "$T/recs.rec" --metrics-file "$M/cache-writer.prom" 2>/dev/null ||
  die "cache-writer"
"$BIN/alerter" --rules "$ROOT/stages/alerter/rules.default.yaml" --in "$T/agg.rec" --out /dev/null \
  --metrics-file "$M/alerter.prom" 2>/dev/null || die "alerter"
# promtool parses every file (its lint remarks are printed, not fatal: the
# recommender's list_seconds gauge with a quantile label is one)
for f in "$M"/*.prom; do
  promtool check metrics < "$f" > "$T/lint.out" 2>&1
  if grep -q 'error while linting' "$T/lint.out"; then fail "promtool cannot parse $(basename "$f"): $(cat "$T/lint.out")"
  elif [ -s "$T/lint.out" ]; then echo "promtool lint, $(basename "$f"): $(sort -u "$T/lint.out")"; fi
done

python3 - "$DASH" "$RULES" "$M" <<'PY' || fail "dashboard or rules query what the stages do not export"
import glob, json, os, re, sys, yaml
dash_path, rules_path, mdir = sys.argv[1:4]
# series the stages export: {stage: {metric: set(label names)}}
exported = {}
for f in glob.glob(mdir + "/*.prom"):
    stage = os.path.basename(f)[:-5]
    for line in open(f):
        if line.startswith("#") or not line.strip(): continue
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} ', line)
        assert m, (f, line)
        labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m[2]))
        assert ("stage", stage) == ("stage", re.search(r'stage="([^"]*)"', m[2])[1]), (f, line)
        exported.setdefault(stage, {}).setdefault(m[1], set()).update(labels)
stages = ["ingest", "aggregate", "drift", "experiment-analyzer", "recommender", "cache-writer", "alerter"]
assert sorted(exported) == sorted(stages), sorted(exported)
lag = exported["aggregate"].get("streamrec_kafka_consumer_lag")
assert lag and {"topic", "partition"} <= lag, "the lag series has no topic/partition labels: %s" % lag

# libstream's series, any stage may have them: those in every file, and two
# that appear with their first label value (a dead-letter reason, a
# partition assigned), checked to exist in some file all the same
shared = set.intersection(*(set(v) for v in exported.values())) | {"streamrec_records_invalid_total",
                                                                  "streamrec_kafka_consumer_lag"}
def blank(m, keep=0):
    """the match as spaces (its first/last keep characters kept): positions stay those of the expression"""
    t = m[0]
    return t[:keep] + " " * (len(t) - 2 * keep) + (t[-keep:] if keep else "")
def metrics_in(expr):
    """(metric, stage or None, grouping labels, matcher labels) per selector"""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: blank(m, 1), expr)      # strings
    e = re.sub(r'\$[a-zA-Z_]+', blank, e)                                 # Grafana variables
    e = re.sub(r'\[[^\]]*\]', blank, e)                                   # ranges
    groups = set()
    for g in re.findall(r'\b(?:by|without|on|ignoring)\s*\(([^)]*)\)', e):
        groups |= {x.strip() for x in g.split(",") if x.strip()}
    e = re.sub(r'\b(?:by|without|on|ignoring)\s*\([^)]*\)', blank, e)
    braces = {}
    for m in re.finditer(r'\{[^}]*\}', e):
        braces[m.start()] = expr[m.start() + 1:m.end() - 1]             # the original text
    e = re.sub(r'\{[^}]*\}', lambda m: blank(m, 1), e)
    out = []
    for m in re.finditer(r'(?<![a-zA-Z0-9_:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![a-zA-Z0-9_:])', e):
        name = m[1]
        rest = e[m.end():]
        if re.match(r'\s*\(', rest): continue           # a function or aggregation
        if name in ("and", "or", "unless", "bool", "offset") or re.fullmatch(r'\d+[smhdwy]', name): continue
        inner = ""
        b = re.match(r'\s*\{', rest)
        if b: inner = braces[m.end() + b.end() - 1]
        st = re.search(r'stage="([^"]*)"', inner)
        mlabels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=|!=|=~|!~)', inner))
        out.append((name, st[1] if st else None, groups, mlabels))
    return out

def check(expr, where, allow=()):
    bad = []
    found = metrics_in(expr)
    if not found: return ["%s: no metric in %r" % (where, expr)]
    for name, stage, groups, mlabels in found:
        if name in allow: continue
        owners = [s for s in exported if name in exported[s]]
        if not owners: bad.append("%s: %s is exported by no stage" % (where, name)); continue
        if stage and stage not in owners and name not in shared:
            bad.append("%s: %s is not in %s's metrics file (only %s)" % (where, name, stage, owners)); continue
        have = set().union(*(exported[s][name] for s in owners)) | {"instance", "job"}
        for l in sorted((groups | mlabels) - have):
            bad.append("%s: %s has no label %s (it has %s)" % (where, name, l, sorted(have)))
    return bad

dash = json.load(open(dash_path))
bad = []
assert dash["templating"]["list"][0]["type"] == "datasource"
rows, cur = [], None
nq = 0
for p in dash["panels"]:
    if p["type"] == "row":
        cur = {"title": p["title"], "panels": []}; rows.append(cur); continue
    assert cur is not None, "a panel before the first row"
    assert p["datasource"]["uid"] == "${datasource}", p["title"]
    cur["panels"].append(p)
    for t in p["targets"]:
        nq += 1
        bad += check(t["expr"], "%s / %s" % (cur["title"], p["title"]))
        sel = re.findall(r'stage="([^"]*)"', t["expr"])
        if sel and set(sel) != {cur["title"]}: bad.append("%s / %s queries stage %s" % (cur["title"], p["title"], sel))
for v in dash["templating"]["list"][1:]:
    bad += check(v["definition"].replace("label_values(", "").split(",")[0], "variable " + v["name"])
for a in dash["annotations"]["list"]:
    bad += check(a["expr"], "annotation " + a["name"])
assert [r["title"] for r in rows] == stages, [r["title"] for r in rows]
for r in rows:
    titles = [p["title"] for p in r["panels"]]
    assert titles[:3] == ["Records in / out", "Dead letters by reason", "Kafka consumer lag"], (r["title"], titles)
    assert len(titles) == 4, titles
    lagq = r["panels"][2]["targets"][0]["expr"]
    assert "by (topic, partition)" in lagq and "{{topic}}/{{partition}}" == r["panels"][2]["targets"][0]["legendFormat"], lagq
    assert "by (reason)" in r["panels"][1]["targets"][0]["expr"]
    ids = [p["gridPos"]["x"] for p in r["panels"]]
    assert ids == [0, 6, 12, 18], ids              # four panels side by side, 24 columns
# latency where the stage measures one
lat = {r["title"]: r["panels"][3]["fieldConfig"]["defaults"]["unit"] for r in rows}
assert lat["recommender"] == lat["cache-writer"] == lat["aggregate"] == "s", lat

rules = yaml.safe_load(open(rules_path))
nr = 0
for g in rules["groups"]:
    for r in g["rules"]:
        nr += 1
        bad += check(r["expr"], "rule " + r["alert"], allow=("node_textfile_mtime_seconds",))
for b in bad: print(b)
print(nq, "dashboard queries,", nr, "rules checked against", sum(len(v) for v in exported.values()), "exported series names")
sys.exit(1 if bad else 0)
PY

check "promtool check rules" promtool check rules "$RULES"
# the rules fire where they must, and stay quiet on a healthy stage
cat > "$T/rules-test.yml" <<Y
rule_files: [$RULES]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # aggregate on h1: lag grows, nothing read (stalled); on h2: reads, lag falls
      - series: 'streamrec_kafka_consumer_lag{instance="h1",stage="aggregate",topic="events",partition="3"}'
        values: '200000+1000x40'
      - series: 'streamrec_records_in_total{instance="h1",stage="aggregate"}'
        values: '5000x40'
      - series: 'streamrec_records_invalid_total{instance="h1",stage="aggregate",reason="bad_json"}'
        values: '0x40'
      - series: 'streamrec_kafka_consumer_lag{instance="h2",stage="aggregate",topic="events",partition="0"}'
        values: '500-10x40'
      - series: 'streamrec_records_in_total{instance="h2",stage="aggregate"}'
        values: '0+600x40'
      # ingest on h2: 5 % of its lines are refused
      - series: 'streamrec_records_in_total{instance="h2",stage="ingest"}'
        values: '0+6000x40'
      - series: 'streamrec_records_invalid_total{instance="h2",stage="ingest",reason="bad_json"}'
        values: '0+300x40'
      # drift on h1 restarted every 5 minutes
      - series: 'streamrec_start_time_seconds{instance="h1",stage="drift"}'
        values: '100 100 100 100 100 400 400 400 400 400 700 700 700 700 700 1000 1000 1000 1000 1000 1300 1300 1300 1300 1300 1600 1600 1600 1600 1600 1900 1900 1900 1900 1900 2200 2200 2200 2200 2200 2500'
    alert_rule_test:
      - eval_time: 30m
        alertname: StreamrecStageStalled
        exp_alerts:
          - exp_labels: {severity: critical, instance: h1, stage: aggregate}
            exp_annotations: {summary: "aggregate on h1 reads nothing while 230000 messages wait"}
      - eval_time: 30m
        alertname: StreamrecConsumerLagHigh
        exp_alerts:
          - exp_labels: {severity: warning, instance: h1, stage: aggregate, topic: events, partition: "3"}
            exp_annotations: {summary: "aggregate on h1 is 230000 messages behind on events/3"}
      - eval_time: 30m
        alertname: StreamrecDeadLetters
        exp_alerts:
          - exp_labels: {severity: warning, instance: h2, stage: ingest}
            exp_annotations: {summary: "ingest on h2 dead-letters 5% of its input"}
      - eval_time: 30m
        alertname: StreamrecRestarting
        exp_alerts:
          - exp_labels: {severity: warning, instance: h1, stage: drift}
            exp_annotations: {summary: "drift on h1 restarted 6 times in 30 min"}
      - eval_time: 5m
        alertname: StreamrecStageStalled
        exp_alerts: []
Y
promtool test rules "$T/rules-test.yml" > "$T/rt.out" 2>&1 || fail "promtool test rules: $(cat "$T/rt.out")"
finish
