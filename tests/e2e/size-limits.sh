#!/usr/bin/env bash
# The size rule (schemas/SIZES.md): every size ingest accepts passes every
# later stage whole, and one past it ingest refuses. Records at each limit
# and one past it go through
#   ingest | aggregate | drift --pass-through | alerter
#   ingest | experiment-analyzer
#   ingest | recommender | cache-writer (into a redis-server the test starts;
#   the model trained on ingest's records of items with the longest ids)
# first at ingest's default limits (64 labels, 1 KiB strings, 1 MiB lines),
# then at the ceilings of its flags (4,096 labels; a string as long as the
# record limit allows, with --max-string 16M: --max-record less 64 KiB).
# At the limit: no stage refuses anything, the alerter fires for the series
# with every label and every byte, experiment-analyzer counts the user,
# Redis holds each user's list under the whole user_id with every item id
# whole (at the ceiling, lists whose ids would pass --max-record are cut
# to what fits, counted). One past: ingest's dead letter names the limit,
# nothing downstream sees it.
source "$(dirname "$0")/../lib.sh"
step() { echo "$(date +%T) $*"; }
start_redis

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

# recleg MODE INGEST_FLAGS...: ingest | recommender | cache-writer into Redis
recleg() {
  local mode=$1; shift
  local d=$T/$mode; mkdir -p "$d"
  python3 - "$mode" "$T" <<'PY' || die "$mode: recommender generator"
import hashlib, json, sys
mode, out = sys.argv[1], sys.argv[2]
MIB = 1 << 20
base = 1795392000 * 10**6
if mode == "default":   # ids at --max-string (1 KiB); the model's 4 long items, one short
    items = ["%s%d" % (mode, k) + "i" * (1024 - len(mode) - 1) for k in range(4)] + ["s"]
else:                    # 1 MiB ids: two beside a 14.5 MiB user_id pass --max-record, one does not
    items = ["%s%d" % (mode, k) + "i" * MIB for k in range(2)] + ["s"]
train, serve, want = [], [], {}
ts = base
for k, it in enumerate(items):   # item k clicked by len(items) + 1 - k users: ranked in order
    for u in range(len(items) + 1 - k):
        ts += 1000
        train.append({"event_id": "t%d" % ts, "ts": ts, "user_id": "tu%d" % u, "event_type": "click", "item_id": it})
def user(case, uid, attrs=None, item="unknown", pad_to=None):
    global ts
    ts += 1000
    ev = dict({"event_id": "%s-%s" % (mode, case), "ts": ts, "user_id": uid, "event_type": "click", "item_id": item},
              **({"metadata": attrs} if attrs else {}))
    line = json.dumps(ev, separators=(",", ":"))
    if pad_to:
        line = line[:-1] + " " * (pad_to - len(line)) + "}"
    serve.append(line)
    if not case.endswith("-over"): want[case] = uid
if mode == "default":
    user("uid", "U" * 1024)
    user("uid-over", "O" * 1025)
    user("item-over", "v1", item="x" * 1025)
    user("attrs", "a1", {"k%02d" % i: "v" for i in range(64)})
    user("attrs-over", "a2", {"k%02d" % i: "v" for i in range(65)})
    user("line", "l1", pad_to=MIB)
    user("line-over", "l2", pad_to=MIB + 1)
else:
    user("uid", "U" * (16 * MIB - 64 * 1024 - 4096))   # the longest user_id of the aggregate leg
    user("mid", "M" * (14 * MIB + MIB // 2))          # room for one long item, not two
    user("attrs", "a1", {"k%04d" % i: "v" for i in range(4096)})
    user("attrs-over", "a2", {"k%04d" % i: "v" for i in range(4097)})
open("%s/%s.train.jsonl" % (out, mode), "w").write("".join(json.dumps(e) + "\n" for e in train))
open("%s/%s.serve.jsonl" % (out, mode), "w").write("".join(l + "\n" for l in serve))
# what Redis must hold, by digest (the ids themselves are tens of MiB)
h = lambda x: hashlib.sha256(x.encode()).hexdigest()
json.dump({"items": [[h(i), len(i)] for i in items], "users": {c: [h(u), len(u)] for c, u in want.items()},
           "uids": {c: u if len(u) < 4096 else None for c, u in want.items()}},
          open("%s/%s.recwant.json" % (out, mode), "w"))
PY
  "$BIN/ingest" "$@" < "$T/$mode.train.jsonl" > "$d/train.rec" 2>"$d/ingest-train.err" || die "$mode: ingest the training events"
  "$BIN/recommender" train --in "$d/train.rec" --model "$d/model.db" 2>"$d/train.err" || die "$mode: train: $(tail -1 "$d/train.err")"
  "$BIN/ingest" "$@" --dead-letter "$d/ingest-rec.dl" < "$T/$mode.serve.jsonl" 2>"$d/ingest-rec.err" \
    | "$BIN/recommender" --model "$d/model.db" --top 4 --metrics-file "$d/rec.prom" --dead-letter "$d/rec.dl" 2>"$d/rec.err" \
    | "$BIN/cache-writer" --redis "$REDIS_URI" --dead-letter "$d/cw.dl" 2>"$d/cw.err"
  local rcs=("${PIPESTATUS[@]}")
  expect_eq "$mode: exit statuses of ingest | recommender | cache-writer" "${rcs[*]}" "0 0 0"
  local s
  for s in rec cw; do [ -s "$d/$s.dl" ] && fail "$mode: $s refused: $(head -c 300 "$d/$s.dl")"; done
  expect_eq "$mode: ingest refused the events over a limit" \
    "$(jq -r .raw "$d/ingest-rec.dl" 2>/dev/null | grep -o "\"event_id\":\"$mode-[a-z-]*\"" | sort | tr '\n' ' ')" \
    "$(grep -o "\"event_id\":\"$mode-[a-z-]*-over\"" "$T/$mode.serve.jsonl" | sort | tr '\n' ' ')"
  local cut
  cut=$(sed -n 's/^streamrec_recommender_items_cut_total{[^}]*} //p' "$d/rec.prom")
  python3 - "$T" "$mode" "$REDIS_PORT" "${cut:-0}" "$ROOT/tests/tools" <<'PY' || fail "$mode: the lists in Redis"
import hashlib, json, sys
sys.path.insert(0, sys.argv[5])
from resp import Redis
t, mode, port, cut = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
want = json.load(open("%s/%s.recwant.json" % (t, mode)))
h = lambda x: hashlib.sha256(x).hexdigest()
items = [tuple(i) for i in want["items"]]
longest = max(n for _, n in items)
r = Redis(port)
keys = {c: k.encode() for c, k in want["uids"].items() if k}
for k in r.scan("rec:*"):   # the long user_ids: found by their digest
    for c, (d, n) in want["users"].items():
        if len(k) == 4 + n and h(k[4:]) == d: keys[c] = k[4:]
for case, (d, n) in want["users"].items():
    assert case in keys, "%s: no rec: key under the whole user_id (%d bytes)" % (case, n)
    raw = r.cmd("GET", b"rec:" + keys[case])
    assert raw is not None, "%s: no rec: key" % case
    rec = json.loads(raw)
    assert h(rec["user_id"].encode()) == d, "%s: user_id cut" % case
    got = [(h(i["item_id"].encode()), len(i["item_id"])) for i in rec["items"]]
    lens = [n for _, n in got]
    assert got and all(i in items for i in got), "%s: item ids not whole: %s" % (case, lens)
    if mode == "default":                      # nothing to cut: the four best, whole
        assert len(got) == 4 and all(n == longest for n in lens), "%s: %s" % (case, lens)
    if mode == "ceiling" and case == "attrs":  # nothing to cut: every item, best first
        assert got == items, "%s: %s" % (case, lens)
    if mode == "ceiling" and case == "mid":    # one long item fits beside a 14.5 MiB user_id, the short one too
        assert lens == [longest, 1], "%s: %s" % (case, lens)
    if mode == "ceiling" and case == "uid":    # no room for a long item: the short one
        assert lens == [1], "%s: %s" % (case, lens)
    print("%s: %d items, %d-byte user_id" % (case, len(got), n))
for over in (b"O" * 1025, b"v1", b"a2", b"l2"):
    assert r.cmd("EXISTS", b"rec:" + over) == 0, "a refused user has a list"
assert (cut > 0) == (mode == "ceiling"), "items cut: %d" % cut
PY
}

step default; run default
expect_eq "default: reasons" "$(cat "$T/default/reasons")" "line_too_long too_long "
step default-rec; recleg default
step ceiling; run ceiling --max-attrs 4096 --max-string 16M --max-line 64M
step ceiling-rec; recleg ceiling --max-attrs 4096 --max-string 16M --max-line 64M
expect_eq "ceiling: reasons" "$(cat "$T/ceiling/reasons")" "too_long "
grep -q 'over the 16711680-byte limit (--max-record less 64 KiB' "$T/ceiling/ingest.dl" \
  || fail "ceiling: the record limit's refusal does not name it: $(jq -r .detail "$T/ceiling/ingest.dl" | sort -u | head -c 300)"
step done; finish
