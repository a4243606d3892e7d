#!/usr/bin/env bash
# The size rule (schemas/SIZES.md): every size ingest accepts passes every
# later stage whole, and one past it ingest refuses. Records at each limit
# and one past it go through
#   ingest | aggregate | drift --pass-through | alerter
#   ingest | experiment-analyzer
# first at ingest's default limits (64 labels, 1 KiB strings, 1 MiB lines),
# then at the ceilings of its flags (4,096 labels; a string as long as the
# record limit allows, with --max-string 16M: --max-record less 64 KiB).
# At the limit: no stage refuses anything, the alerter fires for the series
# with every label and every byte, experiment-analyzer counts the user.
# One past: ingest's dead letter names the limit, nothing downstream sees it.
source "$(dirname "$0")/../lib.sh"
step() { echo "$(date +%T) $*"; }

cat > "$T/rules.yaml" <<'YAML'
rules:
  - name: cpu_hot
    metric: cpu_usage
    field: mean
    condition: gt
    threshold: 50
    severity: warning
    summary: "cpu {{ $value }} on {{ $labels.case }}"
  - name: cpu_forecast_hot
    metric: forecast.cpu_usage
    field: value
    condition: gt
    threshold: 50
    severity: info
    summary: "cpu forecast {{ $value }} on {{ $labels.case }}"
YAML
cat > "$T/exp.yaml" <<'YAML'
experiments:
  - name: exp
    control: control
    variants:
      - {name: control, allocation: 0.5}
      - {name: b, allocation: 0.5}
    metrics:
      - {name: purchase_rate, type: conversion, event: purchase, primary: true, tau: 0.02}
YAML

# gen MODE: writes $T/MODE.samples.jsonl, $T/MODE.events.jsonl and
# $T/MODE.want (case, labels expected on the alert, longest label value) for
# the cases that must pass; the cases named *-over must be refused.
gen() {
  python3 - "$1" "$T" <<'PY'
import json, sys
mode, out = sys.argv[1], sys.argv[2]
MIB = 1 << 20
base = 1795392000   # 2026-11-23T00:00:00Z: in the past, within --max-skew
samples, events, want = [], [], []

def sample(case, labels, minute, pad_to=None):
    labels = dict(labels, case=case)
    line = json.dumps({"metric_name": "cpu_usage", "value": 99, "ts": base + 60 * minute + 1, "labels": labels},
                      separators=(",", ":"))
    if pad_to:   # JSON allows whitespace: a line of exactly pad_to bytes
        line = line[:-1] + " " * (pad_to - len(line)) + "}"
        assert len(line) == pad_to
    return line

def case(name, labels, pad_to=None):
    for m in range(3):   # 3 windows: drift forecasts after --warmup 2
        samples.append((m, sample(name, labels, m, pad_to)))
    if not name.endswith("-over"):
        want.append("%s %d %d" % (name, len(labels) + 2, max([len(v) for v in labels.values()] + [len(name), len("cpu_usage")])))

def many(n, size=1):
    return {"k%04d" % i: "v" * size for i in range(n)}

def bound(name, labels):   # ingest's upper bound of a Sample record (record.c), its 17-byte sample_id included
    return 512 + len(name) + 8 + 17 + 8 + sum(32 + len(k) + 8 + len(v) + 8 for k, v in labels.items())

def user(name, uid, attrs):
    for t, minute in (("exposure", 0), ("purchase", 1)):
        ev = dict({"user_id": uid, "event_type": t, "ts": base + 60 * minute, "experiment": "exp", "variant": "b",
                   "event_id": "%s-%s" % (name, t)}, **{"metadata": attrs} if attrs else {})
        events.append(json.dumps(ev, separators=(",", ":")))

if mode == "default":
    case("labels", many(63))                    # + case: 64 labels, --max-attrs
    case("labels-over", many(64))
    case("string", {"long": "s" * 1024})        # --max-string
    case("string-over", {"long": "s" * 1025})
    case("line", many(8), pad_to=MIB)           # --max-line, newline not counted
    case("line-over", many(8), pad_to=MIB + 1)
    user("uid", "u" * 1024, None)
    user("uid-over", "o" * 1025, None)
    user("attrs", "a1", {"k%02d" % i: "v" for i in range(64)})
    user("attrs-over", "a2", {"k%02d" % i: "v" for i in range(65)})
else:
    case("labels", many(4095))                  # + case: 4,096 labels, the --max-attrs ceiling
    case("labels-over", many(4096))
    # the longest label value whose record ingest still writes: 16 MiB - 64 KiB
    limit = 16 * MIB - 64 * 1024
    fixed = bound("cpu_usage", {"long": "", "case": "record"})
    case("record", {"long": "r" * (limit - fixed)})
    case("record-over", {"long": "r" * (limit - fixed + 1)})
    user("uid", "u" * (limit - 4096), None)     # a user_id of ~16 MiB
    user("attrs", "a1", {"k%04d" % i: "v" for i in range(4096)})
    user("attrs-over", "a2", {"k%04d" % i: "v" for i in range(4097)})
samples.sort(key=lambda s: s[0])                # time order across the series
with open("%s/%s.samples.jsonl" % (out, mode), "w") as f:
    f.write("".join(s + "\n" for _, s in samples))
with open("%s/%s.events.jsonl" % (out, mode), "w") as f:
    f.write("".join(e + "\n" for e in events))
with open("%s/%s.want" % (out, mode), "w") as f:
    f.write("".join(w + "\n" for w in want))
over = {}
for _, l in samples:
    c = json.loads(l)["labels"]["case"]
    if c.endswith("-over"): over[c] = over.get(c, 0) + 1
with open("%s/%s.over" % (out, mode), "w") as f:
    f.write("\n".join('"case":"%s" %d' % (c, n) for c, n in sorted(over.items())) + "\n")
PY
}

# run MODE INGEST_FLAGS...
run() {
  local mode=$1; shift
  gen "$mode" || die "$mode: generator"
  local d=$T/$mode; mkdir -p "$d"
  "$BIN/ingest" "$@" --dead-letter "$d/ingest.dl" < "$T/$mode.samples.jsonl" 2>"$d/ingest.err" \
    | "$BIN/aggregate" --window 60s --features none --dead-letter "$d/aggregate.dl" 2>"$d/aggregate.err" \
    | "$BIN/drift" --pass-through --warmup 2 --horizons 15m --dead-letter "$d/drift.dl" 2>"$d/drift.err" \
    | "$BIN/alerter" --rules "$T/rules.yaml" --format json --dead-letter "$d/alerter.dl" > "$d/alerts.jsonl" 2>"$d/alerter.err"
  local rcs=("${PIPESTATUS[@]}")
  expect_eq "$mode: exit statuses of ingest | aggregate | drift | alerter" "${rcs[*]}" "0 0 0 0"
  local s
  for s in aggregate drift alerter; do
    [ -s "$d/$s.dl" ] && fail "$mode: $s refused: $(head -c 300 "$d/$s.dl")"
  done
  # what ingest refused: the *-over cases, each of its 4 lines, and nothing else
  expect_eq "$mode: ingest refused exactly the cases over a limit, each line of them" \
    "$(jq -r '.raw' "$d/ingest.dl" 2>/dev/null | grep -o '"case":"[a-z-]*"' | sort | uniq -c | awk '{print $2, $1}')" \
    "$(cat "$T/$mode.over")"
  jq -r '.reason' "$d/ingest.dl" | sort -u | tr '\n' ' ' > "$d/reasons"
  # each passing case: cpu_hot fired with every label (+ case and the series name) and every byte
  local name nlab longest got
  while read -r name nlab longest; do
    got=$(jq -r --arg c "$name" 'select(.rule == "cpu_hot" and .status == "firing" and .labels.case == $c)
            | "\(.labels | length) \([.labels[] | length] | max)"' "$d/alerts.jsonl" | sort -u)
    expect_eq "$mode: the alert of $name (labels, longest value)" "$got" "$nlab $longest"
    got=$(jq -r --arg c "$name" 'select(.rule == "cpu_forecast_hot")
            | select(.labels.case == $c) | .labels | length' "$d/alerts.jsonl" | sort -u | head -n1)
    expect_eq "$mode: the forecast alert of $name (labels + horizon)" "$got" "$((nlab + 1))"
  done < "$T/$mode.want"
  jq -e -s 'any(.[]; .labels.case // "" | endswith("-over"))' "$d/alerts.jsonl" >/dev/null \
    && fail "$mode: a refused case reached the alerter"

  # ingest | experiment-analyzer: the users at the limits are counted, none of those past them
  "$BIN/ingest" "$@" --dead-letter "$d/ingest-ev.dl" < "$T/$mode.events.jsonl" 2>"$d/ingest-ev.err" \
    | "$BIN/experiment-analyzer" --config "$T/exp.yaml" --dead-letter "$d/ea.dl" > /dev/null 2>"$d/ea.err"
  rcs=("${PIPESTATUS[@]}")
  expect_eq "$mode: exit statuses of ingest | experiment-analyzer" "${rcs[*]}" "0 0"
  [ -s "$d/ea.dl" ] && fail "$mode: experiment-analyzer refused: $(head -c 300 "$d/ea.dl")"
  local users_in over_in
  users_in=$(python3 -c 'import json,sys; print(len({json.loads(l)["user_id"] for l in open(sys.argv[1]) if "-over-" not in json.loads(l)["event_id"]}))' "$T/$mode.events.jsonl")
  expect_eq "$mode: users experiment-analyzer counted" \
    "$(jq -r 'select(.msg == "done") | .exposed_users' "$d/ea.err")" "$users_in"
  over_in=$(grep -c -- '-over-' "$T/$mode.events.jsonl")
  expect_eq "$mode: events ingest refused (those over a limit)" "$(grep -c . "$d/ingest-ev.dl" 2>/dev/null || echo 0)" "$over_in"
}

step default; run default
expect_eq "default: reasons" "$(cat "$T/default/reasons")" "line_too_long too_long "
step ceiling; run ceiling --max-attrs 4096 --max-string 16M --max-line 64M
expect_eq "ceiling: reasons" "$(cat "$T/ceiling/reasons")" "too_long "
grep -q 'over the 16711680-byte limit (--max-record less 64 KiB' "$T/ceiling/ingest.dl" \
  || fail "ceiling: the record limit's refusal does not name it: $(jq -r .detail "$T/ceiling/ingest.dl" | sort -u | head -c 300)"
step done; finish
