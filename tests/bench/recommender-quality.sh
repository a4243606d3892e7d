#!/usr/bin/env bash
# recommender quality from outside (issue 14's protocol): MovieLens
# latest-small, every rating an interaction, each user's ratings split 80/20
# by Python's random.Random(SEED) (not the project's splitmix64 of
# `recommender eval`, so nothing of the project chooses the split), the
# default model trained on the training part (and again with --items
# movies.csv, which adds the content part), one list of 10 per user from
# the batch path (`recommender --model M --users U --top 10 --format
# json`, histories from the model file), scored by tests/tools/rec_quality.py
# (split and scoring shared with 616): NDCG@10, P@10,
# HR@10 with the README's definitions, popularity beside them, and the
# number of recommended items the user had already rated (must be 0).
# tests/stage/616 checks the default on seed 1 of the same protocol.
# TRAIN_ARGS adds `recommender train` flags to both models (a variant to
# compare with the default, e.g. TRAIN_ARGS="--ease-lambda 500");
# VARIANTS="default" skips the model with --items.
#   SEEDS="42 43 44" tests/bench/recommender-quality.sh
source "$(dirname "$0")/lib.sh"
ML=$DATA/movielens-latest-small
SEEDS=${SEEDS:-42 43 44}
VARIANTS=${VARIANTS:-default items}
read -r -a train_args <<<"${TRAIN_ARGS:-}"
for seed in $SEEDS; do
  d=$BT/rec-quality-$seed; mkdir -p "$d"
  python3 "$ROOT/tests/tools/rec_quality.py" split "$ML/ratings.csv.zst" "$seed" "$d" || { echo "  split failed"; exit 1; }
  "$BIN/ingest" --in "$d/train.csv" --in-format csv --event-type rating \
    --map user_id=userId,item_id=movieId,value=rating,ts=timestamp --out "$d/train.rec" 2>/dev/null || exit 1
  for variant in $VARIANTS; do
    opt=(); [ $variant = items ] && opt=(--items "$ML/movies.csv.zst")
    "$BIN/recommender" train --in "$d/train.rec" --model "$d/m-$variant.db" --log-level warn "${opt[@]}" "${train_args[@]}" || exit 1
    "$BIN/recommender" --model "$d/m-$variant.db" --users "$d/users.txt" --top 10 --format json \
      > "$d/lists-$variant.jsonl" 2>/dev/null || exit 1
    label="default model:"; [ $variant = items ] && label="with --items movies.csv:"
    python3 "$ROOT/tests/tools/rec_quality.py" bench "$d" "$d/lists-$variant.jsonl" "$seed" "$label"
  done
done
