#!/usr/bin/env bash
# aggregate: the feature store. Per user and item, the SQLite tables and the
# emitted user.* / item.* metrics equal an independent computation of the
# documented formulas (counts, avg rating, first/last seen, decayed activity
# and popularity, recency); features are emitted for exactly the keys
# touched in each window; a second run on the same --state continues the
# store (two half runs == one full run).
. "$(dirname "$0")/../lib.sh"

"$GEN_EVENTS" --count 12000 --kind interactions --seed 21 --rate 60 --users 300 --items 80 > "$T/in.jsonl"
"$BIN/ingest" < "$T/in.jsonl" > "$T/in.rec" 2>/dev/null || die "ingest"
"$BIN/fbcat" --type Event < "$T/in.rec" > "$T/events.json" || die "fbcat"
check "aggregate --state exits 0" "$BIN/aggregate" --window 60s --state "$T/full.db" --format json \
  < "$T/in.rec" > "$T/out.json" 2>"$T/err"
grep -F "not closed cleanly" "$T/err" && fail "aggregate --state leaves statements open at exit: $(grep -F "not closed" "$T/err")"

python3 - "$T/events.json" "$T/out.json" "$T/full.db" <<'PY' || fail "features differ from the independent computation"
import json, math, sqlite3, sys
from collections import defaultdict
W = 60_000_000; DAY = 86400 * 1_000_000
HA, HR, HP = 7 * DAY, DAY, DAY
WA = {"impression": 0, "view": 1, "click": 2, "add_to_cart": 3, "purchase": 5, "rating": 2, "exposure": 0, "custom": 1}
INTER = {"view", "click", "add_to_cart", "purchase", "rating", "custom"}
ev = [json.loads(l) for l in open(sys.argv[1])]
out = [json.loads(l) for l in open(sys.argv[2])]
bad = []
def err(*a):
    if len(bad) < 20: print("MISMATCH", *a)
    bad.append(a)
def close(a, b, rel=1e-9): return abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-12

# per key and bucket: the delta
buckets = {"user": defaultdict(lambda: defaultdict(list)), "item": defaultdict(lambda: defaultdict(list))}
for e in ev:
    b = e["ts"] // W * W
    for kind in ("user", "item"):
        k = e.get(kind + "_id")
        if k: buckets[kind][k][b].append(e)
# replay the formulas bucket by bucket
emitted_want = {}     # (name, window_start, key) -> value
final = {"user": {}, "item": {}}
for kind in ("user", "item"):
    for k, bs in buckets[kind].items():
        st = None
        for b in sorted(bs):
            end = b + W
            es = bs[b]
            wa = sum(WA[e.get("type", "impression")] for e in es)
            wp = sum(1 for e in es if e.get("type", "impression") in INTER)
            if st is None:
                st = {"n": defaultdict(int), "rsum": 0.0, "first": min(e["ts"] for e in es),
                      "last": max(e["ts"] for e in es), "act": 0.0, "pop": 0.0, "sts": end}
            dt = end - st["sts"]
            st["act"] = st["act"] * 2 ** (-dt / HA) + wa
            st["pop"] = st["pop"] * 2 ** (-dt / HP) + wp
            st["sts"] = end
            for e in es:
                t = e.get("type", "impression"); st["n"][t] += 1
                if t == "rating": st["rsum"] += e.get("value", 0.0)
            st["first"] = min(st["first"], min(e["ts"] for e in es))
            st["last"] = max(st["last"], max(e["ts"] for e in es))
            n = st["n"]
            vals = {"interactions": sum(n[t] for t in INTER), "impressions": n["impression"], "views": n["view"],
                    "clicks": n["click"], "add_to_carts": n["add_to_cart"], "purchases": n["purchase"],
                    "ratings": n["rating"], "first_seen": st["first"], "last_seen": st["last"],
                    "activity_score": st["act"], "recency_score": 2 ** (-(end - st["last"]) / HR)}
            if n["rating"]: vals["avg_rating"] = st["rsum"] / n["rating"]
            if kind == "item": vals["popularity"] = st["pop"]
            for f, v in vals.items(): emitted_want[(kind + "." + f, b, k)] = v
        final[kind][k] = st

got = {}
for r in out:
    nm = r["name"]
    if nm.split(".")[0] in ("user", "item") and nm not in ("item.events", "item.ctr", "item.conversion"):
        lab = r["labels"]
        k = (nm, r["window_start"], lab.get("user_id") or lab.get("item_id"))
        if k in got: err("duplicate", k)
        got[k] = r.get("value", 0.0)
for k, v in emitted_want.items():
    if k not in got: err("missing", k); continue
    if not close(got.pop(k), v): err(k, "want", v)
for k in got: err("unexpected", k)

db = sqlite3.connect(sys.argv[3])
for kind in ("user", "item"):
    rows = db.execute(f"SELECT {kind}_id, interactions, clicks, purchases, ratings, avg_rating, first_seen, "
                      f"last_seen, activity_score, popularity FROM {kind}_features").fetchall()
    if len(rows) != len(final[kind]): err(kind, "rows", len(rows), len(final[kind]))
    for (k, inter, clicks, purch, ratings, avg, first, last, act, pop) in rows:
        st = final[kind].get(k)
        if not st: err("extra row", k); continue
        n = st["n"]
        if (inter, clicks, purch, ratings, first, last) != (sum(n[t] for t in INTER), n["click"], n["purchase"],
                                                           n["rating"], st["first"], st["last"]):
            err(kind, k, "row", (inter, clicks, purch, ratings, first, last))
        if ratings and not close(avg, st["rsum"] / ratings): err(kind, k, "avg", avg)
        if not close(act, st["act"]) or not close(pop, st["pop"]): err(kind, k, "scores", act, pop)
print(f"{len(emitted_want)} feature values and {sum(len(v) for v in final.values())} rows checked: {len(bad)} mismatches")
sys.exit(1 if bad or len(emitted_want) < 1000 else 0)
PY

# two runs on halves with the same --state == one run
lines=$(wc -l < "$T/in.jsonl")
head -n $((lines / 2)) "$T/in.jsonl" | "$BIN/ingest" > "$T/h1.rec" 2>/dev/null
tail -n +$((lines / 2 + 1)) "$T/in.jsonl" | "$BIN/ingest" > "$T/h2.rec" 2>/dev/null
check "first half" "$BIN/aggregate" --window 60s --state "$T/half.db" < "$T/h1.rec" > /dev/null 2>&1
check "second half" "$BIN/aggregate" --window 60s --state "$T/half.db" < "$T/h2.rec" > /dev/null 2>&1
q='SELECT item_id, interactions, impressions, views, clicks, add_to_carts, purchases, ratings, first_seen, last_seen, round(activity_score, 6), round(popularity, 6) FROM item_features ORDER BY 1'
expect_eq "item features after two half runs" "$(sqlite3 "$T/half.db" "$q" | md5sum)" "$(sqlite3 "$T/full.db" "$q" | md5sum)"
q='SELECT user_id, interactions, clicks, purchases, ratings, avg_rating, first_seen, last_seen, round(activity_score, 6) FROM user_features ORDER BY 1'
expect_eq "user features after two half runs" "$(sqlite3 "$T/half.db" "$q" | md5sum)" "$(sqlite3 "$T/full.db" "$q" | md5sum)"
[ "$(sqlite3 "$T/full.db" 'SELECT count(*) FROM user_features')" -gt 100 ] || fail "too few users in the store"

# another window size on the same state is a usage error naming the cause
"$BIN/aggregate" --window 30s --state "$T/full.db" < /dev/null > /dev/null 2>"$T/cfg.err"
expect_eq "changed --window on existing state" $? 2
grep -q 'other --window' "$T/cfg.err" || fail "no explanation: $(cat "$T/cfg.err")"
finish
