#!/usr/bin/env bash
# recommender business rules hold on every emitted list. One list per event
# (--flush-interval 0), checked against the user's history up to that event:
# blocked and out-of-stock items never appear, nor seen ones; no category
# has more than max_per_category items; and every item's score, compared
# with the same list served without rules, is multiplied by exactly the
# factor the documented priority gives it (promoted x3 over new x2 over
# favourite category x1.5). Then: already_purchased with the seen filter off,
# a rule switched off, and a bad rules file (exit 2, FILE:LINE in the error).
source "$(dirname "$0")/../lib.sh"

python3 - "$T" <<'PY'
import json, random, sys, time
t = sys.argv[1]
rnd = random.Random(611)
now = int(time.time())
cats = {}
for i in range(20): cats["a%d" % i] = "A"
for i in range(20): cats["b%d" % i] = "B" if i % 2 else "B|A"
for i in range(10): cats["c%d" % i] = "C"
for i in range(5): cats["n%d" % i] = "N"          # new items: first seen yesterday
cats.update({"p1": "P", "x1": "A", "x2": "B", "o1": "C", "o2": "A", "o3": "B"})
items = sorted(cats)
old = [i for i in items if not i.startswith("n")]
weights = {i: 1.0 / (1 + k) for k, i in enumerate(["x1", "o1", "x2", "o2", "p1"] + [j for j in old if j not in "x1 o1 x2 o2 p1".split()])}
ts = (now - 100 * 86400) * 10**6
def ev(u, i, kind, at):
    return {"event_id": "e%d-%s-%s-%d" % (at, u, i, rnd.randrange(10**9)), "ts": at, "user_id": u, "item_id": i, "type": kind}
train, serve = [], []
for u in range(150):
    pool = rnd.choice([["a", "x", "o", "p"], ["b", "x", "o"], ["c", "o", "p"]])
    cand = [i for i in old if i[0] in pool]
    for i in rnd.choices(cand, [weights[c] for c in cand], k=8):
        ts += 10**6
        train.append(ev("u%d" % u, i, rnd.choice(["view", "click", "purchase"]), ts))
for u in range(60):                                  # the new items, recently
    ts2 = (now - 86400) * 10**6 + u * 10**6
    train.append(ev("u%d" % u, "n%d" % (u % 5), "click", ts2))
for u in range(0, 150, 3):
    for i in rnd.sample(items, 4):
        serve.append(ev("u%d" % u, i, rnd.choice(["view", "click", "purchase"]), now * 10**6))
serve.append(ev("fresh", "a3", "view", now * 10**6))
open(t + "/train.jsonl", "w").write("".join(json.dumps(e) + "\n" for e in train))
open(t + "/serve.jsonl", "w").write("".join(json.dumps(e) + "\n" for e in serve))
open(t + "/items.csv", "w").write("item,genres\n" + "".join("%s,%s\n" % (i, cats[i]) for i in items))
json.dump(cats, open(t + "/cats.json", "w"))
PY
"$BIN/fbcat" --encode Event < "$T/train.jsonl" > "$T/train.rec" || die "encode"
"$BIN/fbcat" --encode Event < "$T/serve.jsonl" > "$T/serve.rec" || die "encode"
cat "$T/train.rec" "$T/serve.rec" > "$T/all.rec"
cat "$T/train.jsonl" "$T/serve.jsonl" > "$T/all.jsonl"
# --user-history 0: the model carries no training interactions, so the histories the rules see are
# only the events each process reads (615 tests the model's interactions)
"$BIN/recommender" train --in "$T/train.rec" --model "$T/model.db" --items "$T/items.csv" \
  --item-map id=item,categories=genres --user-history 0 2>"$T/train.log" || { cat "$T/train.log" >&2; die "train"; }

printf 'o1\n# restocking\no2\n' > "$T/oos.txt"
cat > "$T/rules.yaml" <<'EOF'
filter:
  blocked: { items: [x1, x2] }
  out_of_stock: { file: oos.txt }
boost:
  promoted: { priority: 1, factor: 3, items: [p1] }
  new_items: { priority: 2, factor: 2, days: 30 }
  favourite_categories: { priority: 3, factor: 1.5, top: 1 }
diversity:
  max_per_category: 3
  pool: 100
EOF
serve() { "$BIN/recommender" --model "$T/model.db" --in "$T/all.rec" --flush-interval 0 --top 8 --format json "$@"; }
serve --rules "$T/rules.yaml" > "$T/rules.jsonl" 2>"$T/rules.log" || { cat "$T/rules.log" >&2; fail "serve with rules"; }
serve > "$T/plain.jsonl" 2>/dev/null || fail "serve without rules"
"$BIN/recommender" --model "$T/model.db" --rules "$T/rules.yaml" --check > "$T/check.txt" || fail "--check"
grep -q "filter blocked (2 items); filter out_of_stock (2 items); boost promoted x3" "$T/check.txt" \
  || fail "--check lists the rules in order: $(cat "$T/check.txt")"

python3 - "$T" <<'PY' || fail "rules hold on every list"
import json, sys
t = sys.argv[1]
cats = {k: v.split("|") for k, v in json.load(open(t + "/cats.json")).items()}
events = [json.loads(l) for l in open(t + "/all.jsonl")]
ruled = [json.loads(l) for l in open(t + "/rules.jsonl")]
plain = [json.loads(l) for l in open(t + "/plain.jsonl")]
bad, seen = [], {}
assert len(ruled) == len(events) == len(plain), (len(ruled), len(events), len(plain))
counts = {"promoted": 0, "new": 0, "cat": 0, "x1_plain": 0}
for e, r, p in zip(events, ruled, plain):
    u = e["user_id"]
    seen.setdefault(u, []).append(e["item_id"])
    items = [x["item_id"] for x in r.get("items", [])]
    if {"x1", "x2", "o1", "o2"} & set(items): bad.append("%s: filtered item in %s" % (u, items))
    if set(seen[u]) & set(items): bad.append("%s: seen item in %s" % (u, items))
    if "x1" in [x["item_id"] for x in p.get("items", [])]: counts["x1_plain"] += 1
    per = {}
    for i in items:
        for c in cats[i]: per[c] = per.get(c, 0) + 1
    if per and max(per.values()) > 3: bad.append("%s: diversity broken %s" % (u, items))
    if len(items) != len(set(items)) or len(items) > 8: bad.append("%s: bad list %s" % (u, items))
    user_cats = {c for i in seen[u] for c in cats[i]}
    ps = {x["item_id"]: x.get("score", 0) for x in p.get("items", [])}
    for x in r.get("items", []):
        i, s = x["item_id"], x.get("score", 0)
        if i not in ps or abs(ps[i]) < 1e-6: continue
        f = s / ps[i]
        if i == "p1": want, k = [3], "promoted"
        elif i.startswith("n"): want, k = [2], "new"
        elif set(cats[i]) & user_cats: want, k = [1, 1.5], "cat"
        else: want, k = [1], None
        if not any(abs(f - w) < 1e-3 for w in want): bad.append("%s: %s boosted x%.4f, expected %s" % (u, i, f, want))
        elif k and abs(f - 1) > 1e-3: counts[k] += 1
for k in ("promoted", "new", "cat", "x1_plain"):
    if counts[k] == 0: bad.append("no list exercised %s" % k)
for b in bad[:10]: print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# --- already purchased with the seen filter off; a rule switched off
cat > "$T/purchased.yaml" <<'EOF'
filter:
  seen: { enabled: false }
  already_purchased: { enabled: true }
diversity: { enabled: false, max_per_category: 1 }
EOF
serve --rules "$T/purchased.yaml" > "$T/purchased.jsonl" 2>/dev/null || fail "serve already_purchased"
python3 - "$T" <<'PY' || fail "already_purchased with seen off"
import json, sys
t = sys.argv[1]
cats = {k: v.split("|") for k, v in json.load(open(t + "/cats.json")).items()}
events = [json.loads(l) for l in open(t + "/all.jsonl")]
recs = [json.loads(l) for l in open(t + "/purchased.jsonl")]
bought, seen, seen_shown, crowded = {}, {}, 0, 0
for e, r in zip(events, recs):
    u = e["user_id"]
    seen.setdefault(u, set()).add(e["item_id"])
    if e["type"] == "purchase": bought.setdefault(u, set()).add(e["item_id"])
    items = [x["item_id"] for x in r["items"]]
    if bought.get(u, set()) & set(items): sys.exit("%s: purchased item in %s" % (u, items))
    seen_shown += bool(seen[u] & set(items))
    crowded += any(sum(c in cats[i] for i in items) > 1 for c in "ABC")
if not seen_shown: sys.exit("seen filter off, yet no list shows a seen item")
if not crowded: sys.exit("diversity switched off, yet no list has two items of a category")
PY

# --- a bad rules file is a configuration error naming file and line
printf 'filter:\n  blocked: { items: [x1] }\nboost:\n  promoted: { factr: 2 }\n' > "$T/bad.yaml"
"$BIN/recommender" --model "$T/model.db" --rules "$T/bad.yaml" < /dev/null > /dev/null 2>"$T/bad.err"
expect_eq "bad rules: exit" $? 2
grep -q "bad.yaml:4:.*factr" "$T/bad.err" || fail "bad rules error names the line: $(cat "$T/bad.err")"
printf 'filter:\n  out_of_stock: { file: missing.txt }\n' > "$T/bad2.yaml"
"$BIN/recommender" --model "$T/model.db" --rules "$T/bad2.yaml" < /dev/null > /dev/null 2>"$T/bad2.err"
expect_eq "missing items file: exit" $? 2
grep -q "bad2.yaml:2:.*missing.txt" "$T/bad2.err" || fail "missing items file error: $(cat "$T/bad2.err")"
finish
