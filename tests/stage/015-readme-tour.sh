#!/usr/bin/env bash
# 015-readme-tour — the README's tour runs as written: its ```sh blocks are
# taken from README.md verbatim (so the two cannot drift apart), run in
# order in one bash, as a person pastes them, in a scratch copy of the
# clone's layout (pipelines/, stages/, build/bin -> the binaries under
# test). Each step's output is checked against what its comments promise,
# computed independently where there is something to compute: the CSV's
# row count, distinct users per window and the A/B conversion rates by
# python over the same generated lines, the served lists against the
# user's own ratings, the drift times against the line where gen-events
# planted the regression. Nothing may log an error (no "Broken pipe" from
# a `| head`), and the Redis the tour starts is stopped by it.
. "$(dirname "$0")/../lib.sh"

C=$T/clone
mkdir -p "$C/build"
ln -s "$ROOT/pipelines" "$C/pipelines"
ln -s "$ROOT/stages" "$C/stages"
ln -s "$BIN" "$C/build/bin"

# the tour: every ```sh block of the section, a marker before each
python3 - "$ROOT/README.md" > "$T/tour.sh" <<'PY' || die "no tour in README.md"
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"^## A tour, in a terminal\n(.*?)(?=^## )", text, re.S | re.M)
blocks = re.findall(r"^```sh\n(.*?)^```$", m.group(1), re.S | re.M)
assert len(blocks) == 7, len(blocks)
for i, b in enumerate(blocks):
    print('echo "@@step %d"' % i)
    sys.stdout.write(b)
print('echo "@@port $port"')
PY
(cd "$C" && bash "$T/tour.sh") > "$T/out" 2> "$T/err"
port=$(sed -n 's/^@@port //p' "$T/out")
# should the tour have stopped early, its Redis must not outlive the test
[ -n "$port" ] && at_exit "redis-cli -p $port shutdown nosave"
for i in 0 1 2 3 4 5 6; do
  awk -v s="@@step $i" '$0 == s {on = 1; next} /^@@/ {on = 0} on' "$T/out" > "$T/step$i"
done
D=$C/build/tour
[ -d "$D" ] || die "step 0 made no tour directory"

# no stage logged an error (EPIPE on stdout included), nothing crashed
grep -v '^{' "$T/err" | grep -v '^$' > "$T/err.plain"
if grep -q '"level":"error"' "$T/err" || [ -s "$T/err.plain" ]; then
  fail "the tour wrote errors: $(grep '"level":"error"' "$T/err" | head -3; head -5 "$T/err.plain")"
fi

# 1. one event with the app's fields; the bad line dead-lettered with its reason
python3 - "$T/step1" <<'PY' || fail "step 1: $(cat "$T/step1")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
e = json.loads(lines[0])
want = {"user_id": "user123", "item_id": "book456", "session_id": "session789", "type": "view",
        "name": "book_view", "source": "recommendation", "position": 1}
assert {k: e.get(k) for k in want} == want, e
d = json.loads(lines[1])
assert d["pos"] == "line 1" and d["reason"] == "bad_timestamp" and "yesterday" in d["detail"], d
assert len(lines) == 2, lines
PY

# 2. one rating event per CSV row
rows=$(($(zstd -dc "$DATA/movielens-latest-small/ratings.csv.zst" | wc -l) - 1))
expect_eq "step 2: counts" "$(tr '\n' ' ' < "$T/step2")" "Event $rows total $rows "

# 3. latency series, then distinct users per window within 3 standard errors
#    of HyperLogLog (0.81%) of python's exact count over the same lines
"$GEN_EVENTS" --count 20000 --kind mixed --seed 7 --rate 50 > "$T/mixed.jsonl"
python3 - "$T/step3" "$T/mixed.jsonl" <<'PY' || fail "step 3: $(head -c 600 "$T/step3")"
import json, sys
from collections import defaultdict
from datetime import datetime
out = [json.loads(l) for l in open(sys.argv[1])]
lat = [o for o in out if "p95" in o]
assert len(lat) == 4 and len({o["endpoint"] for o in lat}) == 4, lat
assert all(o["count"] > 20 and 0 < o["p95"] <= o["p99"] < 1000 for o in lat), lat
users = defaultdict(set)
for l in open(sys.argv[2]):
    d = json.loads(l)
    if "user_id" in d:
        t = datetime.fromisoformat(d["ts"].replace("Z", "+00:00")).timestamp()
        users[int(t // 60 * 60)].add(d["user_id"])
got = {int(datetime.fromisoformat(o["window"].replace("Z", "+00:00")).timestamp()): o["users"]
       for o in out if "users" in o}
assert sorted(got) == sorted(users), (sorted(got), sorted(users))
for w, s in users.items():
    assert abs(got[w] - len(s)) <= max(3, 3 * 0.0081 * len(s)), (w, got[w], len(s))
print(len(got), "windows of distinct users agree")
PY

# 4. the planted lift: significant, and the rates python computes from the same lines
"$GEN_EVENTS" --count 100000 --users 6000 --seed 3 --experiment rec_algo_v1:0.30 > "$T/ab.jsonl"
python3 - "$T/step4" "$T/ab.jsonl" <<'PY' || fail "step 4: $(cat "$T/step4")"
import json, sys
from collections import defaultdict
rows = {r["metric"]: r for r in map(json.loads, open(sys.argv[1]))}
exposed, bought, spent = defaultdict(set), defaultdict(set), defaultdict(float)
for l in open(sys.argv[2]):
    d = json.loads(l)
    v = d["metadata"]["variant"]
    if d["event_type"] == "exposure": exposed[v].add(d["user_id"])
    if d["event_type"] == "purchase": bought[v].add(d["user_id"]); spent[v] += d["value"]
rate = {v: len(bought[v]) / len(exposed[v]) for v in exposed}
mean = {v: spent[v] / len(exposed[v]) for v in exposed}
p, r = rows["purchase_rate"], rows["revenue"]
print("python: rate %s, revenue per user %s" % (rate, mean))
assert abs(p["rate"] - rate["treatment"]) < 1e-9, (p["rate"], rate)
assert abs(p["lift"] - (rate["treatment"] - rate["control"])) < 1e-9, (p["lift"], rate)
assert abs(r["mean"] - mean["treatment"]) < 1e-6, (r["mean"], mean)
assert p["lift"] > 0 and p["p_value"] < 0.05 and r["lift"] > 0, (p, r)
assert r["decision"] == "treatment_wins", r
PY
grep -q 'rec_algo_v1' "$D/report.html" 2>/dev/null || fail "step 4: report.html missing or without the experiment"

# 5. the evaluation table; lists for a known user and a new one
zstd -dc "$DATA/movielens-latest-small/ratings.csv.zst" | awk -F, '$1 == "1" { print $2 }' > "$T/rated1"
python3 - "$T/step5" "$T/rated1" <<'PY' || fail "step 5: $(cat "$T/step5")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
table = {l.split("|")[1].strip(): [x.strip() for x in l.split("|")[2:-1]] for l in lines
         if l.startswith("| ") and not l.startswith("| model") and not l.startswith("| ---")}
assert sorted(table) == ["hybrid", "knn", "pop"], table
ndcg = {m: float(v[0]) for m, v in table.items()}
assert ndcg["hybrid"] > ndcg["pop"] * 1.5 and ndcg["knn"] > ndcg["pop"], ndcg
recs = [json.loads(l) for l in lines if l.startswith("{")]
assert [r["user_id"] for r in recs] == ["1", "new-user"], recs
rated = set(open(sys.argv[2]).read().split())
assert len(rated) > 100, len(rated)
# none of the movies user 1 rated in the training data: the model carries
# their ratings into the seen set of a process that never saw them live
again = set(recs[0]["items"]) & rated
assert not again, "user 1's list holds %d of the movies they rated: %s" % (len(again), sorted(again))
for r in recs:
    assert len(r["items"]) == 5 and r["algorithm"] == "hybrid", r
# what the user just did is never recommended back
assert "1" not in recs[0]["items"] and "296" not in recs[1]["items"], recs
assert recs[0]["items"] != recs[1]["items"], recs
PY
[ -n "$port" ] || fail "step 5: no Redis port"
if [ -n "$port" ] && redis-cli -p "$port" ping > /dev/null 2>&1; then fail "step 5: the tour's Redis still runs"; fi

# 6. drift on every endpoint, soon after the line gen-events planted it at; CPU alerts per host
"$GEN_EVENTS" --count 60000 --kind requests --seed 7 --rate 5 --drift-at 36000:2 | sed -n '36001p' > "$T/planted"
python3 - "$T/step6" "$T/planted" <<'PY' || fail "step 6: $(cat "$T/step6")"
import json, sys
from datetime import datetime
out = [json.loads(l) for l in open(sys.argv[1])]
planted = json.loads(open(sys.argv[2]).read())["ts"]
drifts = [o for o in out if "endpoint" in o]
alerts = [o for o in out if "rule" in o]
assert len(drifts) == 4 and len({d["endpoint"] for d in drifts}) == 4, drifts
for d in drifts:
    at = datetime.fromisoformat(d["at"].replace("Z", "+00:00")).timestamp()
    assert planted <= at + 60 <= planted + 15 * 60, (d, planted)   # a window ends after the change
    assert d["p95_now"] > 1.4 * d["p95_before"], d
print("drifts at", sorted({d["at"] for d in drifts}), "planted", datetime.utcfromtimestamp(planted))
assert alerts and all(a["rule"].startswith("cpu_") for a in alerts), alerts
hosts = {a["summary"].split(" on ")[-1] for a in alerts}
assert hosts == {"web-1", "web-2", "web-3", "web-4"}, hosts
PY
finish
