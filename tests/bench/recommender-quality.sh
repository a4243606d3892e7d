#!/usr/bin/env bash
# recommender quality from outside (issue 14's protocol): MovieLens
# latest-small, every rating an interaction, each user's ratings split 80/20
# by Python's random.Random(SEED) (not the project's splitmix64 of
# `recommender eval`, so nothing of the project chooses the split), the
# default model trained on the training part (and again with --items
# movies.csv, which adds the content part), one list of 10 per user from
# the batch path (`recommender --model M --users U --top 10 --format
# json`, histories from the model file), scored here: NDCG@10, P@10,
# HR@10 with the README's definitions, popularity beside them, and the
# number of recommended items the user had already rated (must be 0).
# tests/stage/616 checks the default on seed 1 of the same protocol.
#   SEEDS="42 43 44" tests/bench/recommender-quality.sh
source "$(dirname "$0")/lib.sh"
ML=$DATA/movielens-latest-small
SEEDS=${SEEDS:-42 43 44}
for seed in $SEEDS; do
  d=$BT/rec-quality-$seed; mkdir -p "$d"
  python3 - "$ML/ratings.csv.zst" "$d" "$seed" <<'PY' || { echo "  split failed"; exit 1; }
import random, subprocess, sys
ratings, t, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = subprocess.run(["zstd", "-dc", ratings], capture_output=True, text=True, check=True).stdout.splitlines()
by = {}
for l in lines[1:]:
    by.setdefault(l.split(",", 1)[0], []).append(l)
rng = random.Random(seed)
train, held = [lines[0]], []
for u in sorted(by, key=int):
    rs = by[u]
    h = set(rng.sample(range(len(rs)), round(0.2 * len(rs))))
    for k, l in enumerate(rs):
        (held if k in h else train).append(l)
open(t + "/train.csv", "w").write("\n".join(train) + "\n")
open(t + "/held.tsv", "w").write("".join("%s\t%s\n" % tuple(l.split(",")[:2]) for l in held))
open(t + "/users.txt", "w").write("".join(u + "\n" for u in sorted(by, key=int)))
PY
  "$BIN/ingest" --in "$d/train.csv" --in-format csv --event-type rating \
    --map user_id=userId,item_id=movieId,value=rating,ts=timestamp --out "$d/train.rec" 2>/dev/null || exit 1
  for variant in default items; do
    opt=(); [ $variant = items ] && opt=(--items "$ML/movies.csv.zst")
    "$BIN/recommender" train --in "$d/train.rec" --model "$d/m-$variant.db" --log-level warn "${opt[@]}" || exit 1
    "$BIN/recommender" --model "$d/m-$variant.db" --users "$d/users.txt" --top 10 --format json \
      > "$d/lists-$variant.jsonl" 2>/dev/null || exit 1
    python3 - "$d" "$variant" "$seed" <<'PY'
import json, math, sys
t, variant, seed = sys.argv[1], sys.argv[2], sys.argv[3]
held, train, pop = {}, {}, {}
for l in open(t + "/held.tsv"):
    u, i = l.split()
    held.setdefault(u, set()).add(i)
for l in list(open(t + "/train.csv"))[1:]:
    u, i = l.split(",")[:2]
    train.setdefault(u, set()).add(i)
    pop[i] = pop.get(i, 0) + 1
by_pop = sorted(pop, key=lambda i: (-pop[i], int(i)))
def metrics(ranked, hs):
    hits = [k for k, i in enumerate(ranked[:10]) if i in hs]
    dcg = sum(1 / math.log2(k + 2) for k in hits)
    return (dcg / sum(1 / math.log2(k + 2) for k in range(min(10, len(hs)))), len(hits) / 10, 1.0 if hits else 0.0)
s, p, seen, n = [0.0] * 3, [0.0] * 3, 0, 0
for l in open(t + "/lists-%s.jsonl" % variant):
    r = json.loads(l)
    u, ranked = r["user_id"], [x["item_id"] for x in r["items"]]
    seen += sum(1 for i in ranked if i in train[u])
    for q, v in enumerate(metrics(ranked, held[u])): s[q] += v
    for q, v in enumerate(metrics([i for i in by_pop if i not in train[u]][:10], held[u])): p[q] += v
    n += 1
print("  seed %s, %-25s NDCG@10 %.4f  P@10 %.4f  HR@10 %.4f  (popularity %.4f)  rated items recommended: %d" %
      (seed, "default model:" if variant == "default" else "with --items movies.csv:", s[0] / n, s[1] / n, s[2] / n, p[0] / n, seen))
PY
  done
done
