#!/usr/bin/env bash
# 602-recommender-eval-split — `recommender eval` from outside: (1) the
# random split is the generator the README documents, reproduced here in a
# few lines of Python from the raw events (duplicates, impressions, a
# one-interaction user included) and compared with --write-split line for
# line; (2) eval's lists are the serving path's: the model trained by
# `recommender train` on the training part and given to `eval --model`, and
# asked for the held-out users with `recommender --users`, scored by Python
# with the README's definitions, gives eval's NDCG, P, R, MAP and HR, with
# the default --max-history and with a cap of 5 (which must change them: the
# bound reaches eval as it reaches serving).
source "$(dirname "$0")/../lib.sh"
ML=$DATA/movielens-latest-small

# MovieLens users 1..60 as events, plus a few odd ones: a repeated rating
# (one interaction), an impression (not one), a user with one interaction
zstd -dc "$ML/ratings.csv.zst" | awk -F, 'NR > 1 && $1 <= 60' | python3 -c '
import json, sys
out = []
for l in sys.stdin:
    u, i, r, t = l.strip().split(",")
    out.append({"user_id": "u" + u, "item_id": "m" + i, "type": "rating", "value": float(r), "ts": int(t) * 10**6})
out.insert(5, dict(out[3], value=1.0, ts=out[3]["ts"] + 1))
out.insert(9, {"user_id": "u1", "item_id": "never", "type": "impression", "ts": 1})
out.append({"user_id": "lonely", "item_id": "m1", "type": "rating", "value": 4.0, "ts": 5})
sys.stdout.write("".join(json.dumps(e) + "\n" for e in out))
' > "$T/ev.jsonl"
"$BIN/fbcat" --encode Event < "$T/ev.jsonl" > "$T/ev.rec" || die "encode"

for seed in 42 7; do
  "$BIN/recommender" eval --in "$T/ev.rec" --models pop --split random:0.2 --seed $seed \
    --write-split "$T/split$seed.tsv" > /dev/null 2>"$T/eval.err" || { cat "$T/eval.err" >&2; fail "eval --write-split"; }
  # the generator stages/recommender/README.md "The split" describes in prose
  python3 - "$T/ev.jsonl" $seed 0.2 > "$T/py$seed.tsv" <<'PY'
import json, sys
M = (1 << 64) - 1
def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return state, z ^ (z >> 31)
events, seed, frac = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
users, items, pairs = {}, {}, {}
for l in open(events):
    e = json.loads(l)
    if e["type"] in ("impression", "exposure"): continue
    users.setdefault(e["user_id"], len(users))       # first appearance
    items.setdefault(e["item_id"], len(items))
    pairs.setdefault(e["user_id"], set()).add(e["item_id"])
state = seed
for u in sorted(users, key=users.get):
    its = sorted(pairs[u], key=items.get)             # by the item's first appearance
    n = len(its)
    if n < 2: continue
    h = min(max(int(frac * n + 0.5), 1), n - 1)
    perm = list(range(n))
    for q in range(h):
        state, r = splitmix64(state)
        r = q + r % (n - q)
        perm[q], perm[r] = perm[r], perm[q]
    for q in sorted(perm[:h]):
        print("%s\t%s" % (u, its[q]))
PY
  sort "$T/split$seed.tsv" > "$T/a"; sort "$T/py$seed.tsv" > "$T/b"
  [ -s "$T/a" ] || fail "seed $seed: --write-split wrote nothing"
  cmp -s "$T/a" "$T/b" || fail "seed $seed: the Python generator gives another split: $(diff "$T/a" "$T/b" | head -5)"
done
expect_eq "seeds 42 and 7 differ" "$(cmp -s "$T/split42.tsv" "$T/split7.tsv" && echo same)" ""

# (2) eval against serving, scored outside, for two history caps: the model
# is trained on the training part of the split (--write-split's complement)
# and given to eval with --model, so both score the very same model
python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
held = {}
for l in open(t + "/split42.tsv"):
    u, i = l.rstrip("\n").split("\t")
    held.setdefault(u, set()).add(i)
# the training part as eval replays it into serving: one event per (user,
# item) with the largest rating and the latest time (as training merges
# them), each user's in time order, ties by the item's first appearance
first, train = {}, {}
for l in open(t + "/ev.jsonl"):
    e = json.loads(l)
    if e["type"] != "rating": continue
    first.setdefault(e["item_id"], len(first))
    if e["item_id"] in held.get(e["user_id"], ()): continue
    k = (e["user_id"], e["item_id"])
    if k in train:
        e = dict(e, value=max(e["value"], train[k]["value"]), ts=max(e["ts"], train[k]["ts"]))
    train[k] = e
order = sorted(train.values(), key=lambda e: (e["user_id"], e["ts"] // 10**6, first[e["item_id"]]))
open(t + "/train.jsonl", "w").write("".join(json.dumps(e) + "\n" for e in order))
open(t + "/users.txt", "w").write("".join(u + "\n" for u in held))
PY
"$BIN/fbcat" --encode Event < "$T/train.jsonl" > "$T/train.rec" || die "encode train"
"$BIN/recommender" train --in "$T/train.rec" --model "$T/knn.db" --algorithm knn 2>"$T/train.err" \
  || { cat "$T/train.err" >&2; die "train"; }
for cap in 200 5; do
  "$BIN/recommender" eval --in "$T/ev.rec" --model "$T/knn.db" --split random:0.2 --seed 42 --max-history $cap \
    > "$T/eval$cap.out" 2>"$T/eval.err" || { cat "$T/eval.err" >&2; fail "eval --max-history $cap"; }
  "$BIN/recommender" --model "$T/knn.db" --in "$T/train.rec" --users "$T/users.txt" --max-history $cap \
    --top 10 --format json > "$T/lists$cap.jsonl" 2>"$T/serve.err" || { cat "$T/serve.err" >&2; fail "serve $cap"; }
  python3 - "$T" $cap <<'PY' || fail "--max-history $cap: eval's table is not the serving lists' scores"
import json, math, sys
t, cap = sys.argv[1], sys.argv[2]
held = {}
for l in open(t + "/split42.tsv"):
    u, i = l.rstrip("\n").split("\t")
    held.setdefault(u, set()).add(i)
sums, n = [0.0] * 5, 0
for l in open(t + "/lists%s.jsonl" % cap):
    r = json.loads(l)
    ranked, hs = [x["item_id"] for x in r["items"]][:10], held[r["user_id"]]
    hits = [k for k, i in enumerate(ranked) if i in hs]
    ideal = min(10, len(hs))
    dcg = sum(1 / math.log2(k + 2) for k in hits)
    idcg = sum(1 / math.log2(k + 2) for k in range(ideal))
    ap = sum((j + 1) / (k + 1) for j, k in enumerate(hits)) / ideal
    for q, v in enumerate((dcg / idcg, len(hits) / 10, len(hits) / len(hs), ap, 1.0 if hits else 0.0)): sums[q] += v
    n += 1
want = [s / n for s in sums]
row = [l for l in open(t + "/eval%s.out" % cap) if "(knn)" in l][0]
got = [float(x) for x in row.strip().strip("|").split("|")[1:6]]
print("cap", cap, "eval", got, "serving", ["%.4f" % x for x in want])
if any(abs(g - w) > 6e-5 for g, w in zip(got, want)): sys.exit(1)
open(t + "/ndcg%s" % cap, "w").write("%.6f" % want[0])
PY
done
[ -s "$T/ndcg200" ] && [ "$(cat "$T/ndcg200")" != "$(cat "$T/ndcg5")" ] \
  || fail "a history of 5 scores the same as 200: the cap does not reach eval"
finish
