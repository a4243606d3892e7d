#!/usr/bin/env bash
# 012-gen-events — the traffic generator the other tests stand on
# (tests/tools/README.md): the same flags give the same bytes and another
# seed others; every line of every kind has the documented members and
# types; mixed traffic has about the documented shares; --rate sets the
# event-time span; item popularity falls with rank (Zipf); a planted
# --experiment lift shows in purchases per exposed user; --drift-at
# multiplies durations from exactly line N; --latency and --bad-fraction
# leave every other line byte-identical. Each figure is measured by python
# on the output, with tolerances from the sample sizes.
. "$(dirname "$0")/../lib.sh"
G=$GEN_EVENTS

"$G" --count 3000 --kind mixed --seed 4 > "$T/a" || die "gen-events failed"
"$G" --count 3000 --kind mixed --seed 4 > "$T/b"
"$G" --count 3000 --kind mixed --seed 5 > "$T/c"
cmp -s "$T/a" "$T/b" || fail "same flags, different bytes"
cmp -s "$T/a" "$T/c" && fail "another seed, same bytes"
expect_eq "lines" "$(wc -l < "$T/a")" 3000

# --latency adds a member to impressions and changes nothing else
"$G" --count 3000 --kind mixed --seed 4 --latency > "$T/lat"
python3 - "$T/a" "$T/lat" <<'PY' || fail "--latency changed more than latency_ms"
import json, sys
n = 0
for x, y in zip(open(sys.argv[1]), open(sys.argv[2])):
    a, b = json.loads(x), json.loads(y)
    if b.get("event_type") == "impression":
        assert b.pop("latency_ms") > 0; n += 1
    assert a == b, (a, b)
assert n > 300, n
PY

# usage errors: exit 2, one line naming the flag
for bad in "--kind nope" "--count -1" "--rate 0" "--bad-fraction 2" "--drift-at x:2" "--frobnicate 1" "--start yesterday"; do
  # shellcheck disable=SC2086
  "$G" $bad > /dev/null 2> "$T/err"; rc=$?
  expect_eq "gen-events $bad: exit" "$rc" 2
  expect_eq "gen-events $bad: one stderr line" "$(wc -l < "$T/err")" 1
  grep -q -- "${bad%% *}" "$T/err" || fail "gen-events $bad: message does not name the flag: $(cat "$T/err")"
done
"$G" --count 1000000 | head -n 1 > /dev/null
expect_eq "reader goes away: exit" "${PIPESTATUS[0]}" 0

"$G" --count 40000 --kind mixed --seed 9 --users 3000 --items 500 --rate 100 --start 2026-01-01T00:00:00Z > "$T/mix"
"$G" --count 120000 --seed 3 --users 4000 --items 300 --experiment ab:1.0 > "$T/ab"
"$G" --count 20000 --kind requests --seed 2 --drift-at 10000:3 > "$T/rq"
python3 - "$T/mix" "$T/ab" "$T/rq" <<'PY' || fail "generated traffic differs from its documentation"
import json, math, statistics, sys
from collections import Counter, defaultdict
from datetime import datetime
bad = []
def check(cond, *what):
    if not cond: bad.append(what); print("BAD", *what)
def epoch(ts):
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() if isinstance(ts, str) else ts

kinds, ts, items = Counter(), [], Counter()
funnel = ["impression", "book_view", "book_click", "add_to_cart", "purchase"]
for line in open(sys.argv[1]):
    d = json.loads(line)
    ts.append(epoch(d["ts"]))
    if "user_id" in d:
        kinds["interactions"] += 1
        check(isinstance(d["event_id"], str) and d["event_id"][0] == "e" and len(d["event_id"]) == 17, "event_id", d)
        check(d["event_type"] in funnel + ["rating"], "event_type", d)
        check(1 <= int(d["user_id"][1:]) <= 3000 and 1 <= int(d["item_id"][1:]) <= 500, "ids", d)
        check(d["metadata"]["source"] in ("recommendation", "search", "home", "email"), "source", d)
        check(1 <= d["metadata"]["position"] <= 5, "position", d)
        check(("value" in d) == (d["event_type"] in ("purchase", "rating")), "value", d)
        if d["event_type"] == "rating": check(d["value"] in (1, 2, 3, 4, 5), "stars", d)
        if d["event_type"] == "purchase": check(3 <= d["value"] <= 40, "price", d)
        items[d["item_id"]] += 1
    elif "metric_name" in d:
        kinds["samples"] += 1
        check(d["metric_name"] in ("cpu_usage", "memory_usage", "disk_usage", "cache_hit_rate", "active_users"), d)
        check(d["value"] >= 0 and d["metadata"]["host"] in ("web-1", "web-2", "web-3", "web-4"), "sample", d)
    elif "endpoint" in d:
        kinds["requests"] += 1
        check(d["duration_ms"] > 0 and d["status"] in (200, 201, 204, 304, 400, 404, 500), "request", d)
    else:
        kinds["model"] += 1
        check(d["model_id"] == "recommendation_model_v1" and [m["type"] for m in d["metrics"]] == ["accuracy", "latency_ms"], d)
n = sum(kinds.values())
for k, share in (("interactions", 0.80), ("samples", 0.08), ("requests", 0.10), ("model", 0.02)):
    sd = math.sqrt(share * (1 - share) / n)
    check(abs(kinds[k] / n - share) < 5 * sd, "share", k, kinds[k] / n, share)
check(ts == sorted(ts), "event time goes backwards")
check(ts[0] >= 1767225600 and ts[0] < 1767225601, "--start", ts[0])
span, want = ts[-1] - ts[0], (n - 1) / 100
check(abs(span - want) < 5 * want / math.sqrt(n), "--rate: span", span, want)
ranked = [c for _, c in items.most_common()]
check(items["b1"] == ranked[0] and items["b1"] > 3 * items["b10"] > 0, "Zipf: b1", items["b1"], "b10", items["b10"])

# the planted lift: purchases per exposed user, treatment / control = 2
exposed, purchases, variant_of = Counter(), Counter(), {}
first_seen = set()
for line in open(sys.argv[2]):
    d = json.loads(line)
    u, v = d["user_id"], d["metadata"]["variant"]
    check(variant_of.setdefault(u, v) == v, "a user switched variant", u)
    if u not in first_seen:
        first_seen.add(u); check(d["event_type"] == "exposure", "first event is not the exposure", d)
    elif d["event_type"] == "exposure": check(False, "second exposure", d)
    if d["event_type"] == "exposure": exposed[v] += 1
    if d["event_type"] == "purchase": purchases[v] += 1
ratio = (purchases["treatment"] / exposed["treatment"]) / (purchases["control"] / exposed["control"])
rel_se = math.sqrt(1 / purchases["treatment"] + 1 / purchases["control"])
print("exposed", dict(exposed), "purchases", dict(purchases), "ratio %.3f (planted 2, se %.3f)" % (ratio, 2 * rel_se))
check(abs(ratio - 2) < 4 * 2 * rel_se, "lift", ratio)
check(abs(exposed["treatment"] - exposed["control"]) < 4 * math.sqrt(sum(exposed.values())) / 2, "assignment not 50/50", exposed)

# the planted regression: durations x3 from line 10000, per endpoint
dur = defaultdict(lambda: ([], []))
errors = [0, 0]
for i, line in enumerate(open(sys.argv[3])):
    d = json.loads(line)
    dur[d["endpoint"]][i >= 10000].append(d["duration_ms"])
    errors[i >= 10000] += d["status"] == 500
for ep, (before, after) in sorted(dur.items()):
    r = statistics.median(after) / statistics.median(before)
    print("%-24s median %.1f -> %.1f ms (x%.2f)" % (ep, statistics.median(before), statistics.median(after), r))
    check(2.6 < r < 3.4, "drift", ep, r)
check(errors[1] > 1.8 * errors[0], "5xx after the drift", errors)
print(n, "lines:", dict(kinds), "; %d problems" % len(bad))
sys.exit(1 if bad else 0)
PY

# --bad-fraction: good lines identical to the clean run, every kind of damage present
"$G" --count 4000 --kind mixed --seed 6 > "$T/clean"
"$G" --count 4000 --kind mixed --seed 6 --bad-fraction 0.2 > "$T/dirty"
python3 - "$T/clean" "$T/dirty" <<'PY' || fail "--bad-fraction: unexpected lines"
import json, sys
clean = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
dirty = open(sys.argv[2], "rb").read().split(b"\n")[:-1]
assert len(clean) == len(dirty) == 4000
shapes = set()
for c, d in zip(clean, dirty):
    if c == d: continue
    if d == b"": shapes.add("empty"); continue
    if d.startswith(b"[") and d[1:-1] == c: shapes.add("array"); continue
    if c.startswith(d): shapes.add("truncated"); continue
    try: o = json.loads(d)
    except UnicodeDecodeError: shapes.add("utf8"); continue
    if o.get("ts") == "last tuesday": shapes.add("timestamp")
    elif len(d) > 70000: shapes.add("huge")
    elif not any(k in o for k in ("user_id", "metric_name", "endpoint", "model_id")): shapes.add("missing")
    else: shapes.add("wrong type")
n = sum(a != b for a, b in zip(clean, dirty))
print(n, "lines damaged, shapes:", sorted(shapes))
assert 600 < n < 1000, n
assert len(shapes) == 8, shapes
PY
finish
