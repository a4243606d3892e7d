#!/usr/bin/env bash
# 616-recommender-quality — the quality of the default model, measured from
# outside as issue 14 asks, on the bundled MovieLens latest-small (every
# rating an interaction): each user's ratings split 80/20 by Python's own
# random.Random(1) (not the project's generator), the default model trained
# by `recommender train` on the training part, one list of 10 per user from
# the batch path (`recommender --users`, histories from the model file), and
# NDCG@10 computed by tests/tools/rec_quality.py with the README's
# definitions. The default must
# reach 0.390 (it gets 0.3927): without EASE's sequence term (--ease-seq 0)
# it gets 0.3785, without its ALS part 0.3887, EASE alone 0.3885 and kNN
# alone 0.3322 on this split, so losing one of those fails it (the
# README's variant table has each figure's command; without kNN it gets
# 0.3919, too close to tell apart here). It must also beat
# popularity (computed there: 0.187) by 0.15, and recommend no item a user
# already rated (102 users have more than --max-history 200 ratings).
# And users scored alone get the lists a batch gave them, and a streamed
# run gives the same lists bit for bit with and without the score cache.
source "$(dirname "$0")/../lib.sh"
ML=$DATA/movielens-latest-small

python3 "$ROOT/tests/tools/rec_quality.py" split "$ML/ratings.csv.zst" 1 "$T" || die "split"
"$BIN/ingest" --in "$T/train.csv" --in-format csv --event-type rating \
  --map user_id=userId,item_id=movieId,value=rating,ts=timestamp --out "$T/train.rec" 2>"$T/ingest.err" \
  || { cat "$T/ingest.err" >&2; die "ingest"; }
"$BIN/recommender" train --in "$T/train.rec" --model "$T/m.db" --log-level warn 2>"$T/train.err" \
  || { cat "$T/train.err" >&2; die "train"; }
"$BIN/recommender" --model "$T/m.db" --users "$T/users.txt" --top 10 --format json > "$T/lists.jsonl" 2>"$T/serve.err" \
  || { cat "$T/serve.err" >&2; die "serve"; }
python3 "$ROOT/tests/tools/rec_quality.py" check "$T" "$T/lists.jsonl" || fail "quality"
# --users scores groups of 8 users together (model_als_batch: four, two or
# one user at a time over each item panel); a user listed alone is not
# grouped. Eleven users (groups of 8 and 3) against each scored alone: the
# same items and scores, bit for bit, in lanes 0, 4 and 7 of the full group
# and 1 and 2 of the short one.
printf '%s\n' 1 2 3 4 5 7 8 9 10 11 12 > "$T/eleven.txt"
"$BIN/recommender" --model "$T/m.db" --users "$T/eleven.txt" --top 10 --format json > "$T/eleven.jsonl" 2>>"$T/serve.err" \
  || { cat "$T/serve.err" >&2; die "serve eleven users"; }
for u in 1 5 9 11 12; do
  echo "$u" | "$BIN/recommender" --model "$T/m.db" --users - --top 10 --format json > "$T/alone.$u.json" 2>>"$T/serve.err" \
    || { cat "$T/serve.err" >&2; die "serve user $u"; }
  expect_eq "user $u alone: the list of the group" "$(sed 's/,"algorithm".*//' "$T/alone.$u.json")" \
    "$(grep "^{\"user_id\":\"$u\"," "$T/eleven.jsonl" | sed 's/,"algorithm".*//')"
done
# A list does not depend on the users served before it: every test user
# (102 have more than --max-history 200 ratings, whose older seen items join
# the history from the seen set) served in reverse order gets the same items
# and scores, bit for bit (they joined in serving's item-id order, which the
# users before decide, and the last bits of the sums moved)
sort -r "$T/users.txt" > "$T/users.rev"
"$BIN/recommender" --model "$T/m.db" --users "$T/users.rev" --top 10 --format json > "$T/rev.jsonl" 2>>"$T/serve.err" \
  || { cat "$T/serve.err" >&2; die "serve reversed"; }
lists_of() { sed 's/,"algorithm".*//' "$1" | sort; }
expect_eq "lists in reverse user order: lines differing" \
  "$(comm -3 <(lists_of "$T/lists.jsonl") <(lists_of "$T/rev.jsonl") | wc -l)" 0
# Streamed, the EASE part of a user's score is kept per user in the score
# cache (one row added per new item) or, with --score-cache-mb 0, summed
# from the history for every list: the sums are exact (int32), so both runs
# write the same lists, bytes for bytes. Users 1-100's held-out ratings, up to 8 each, round
# robin (each list comes after other users' lists), on top of their
# training histories from the model file (up to 2,000 ratings).
python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
by = {}
for l in open(t + "/held.tsv"):
    u, m = l.split()
    if int(u) <= 100 and len(by.setdefault(u, [])) < 8: by[u].append(m)
out, ts, k = [], 2000000000 * 10**6, 0
while any(by.values()):
    for u in sorted(by, key=int):
        if by[u]:
            ts += 10**6; k += 1
            out.append(json.dumps({"event_id": "s%d" % k, "ts": ts, "user_id": u, "item_id": by[u].pop(0), "type": "click"}) + "\n")
open(t + "/stream.jsonl", "w").write("".join(out))
PY
"$BIN/fbcat" --encode Event <"$T/stream.jsonl" >"$T/stream.rec" || die "encode the stream"
for mb in 64 0; do
  "$BIN/recommender" --model "$T/m.db" --in "$T/stream.rec" --flush-interval 0 --top 10 --format json \
    --score-cache-mb $mb >"$T/stream.$mb.jsonl" 2>>"$T/serve.err" || { cat "$T/serve.err" >&2; die "stream, --score-cache-mb $mb"; }
done
expect_eq "streamed: one list per event" "$(wc -l <"$T/stream.64.jsonl")" "$(wc -l <"$T/stream.jsonl")"
# (all but the time each list was written)
expect_eq "streamed lists differing with --score-cache-mb 0" \
  "$(diff <(sed 's/,"ts":.*//' "$T/stream.64.jsonl") <(sed 's/,"ts":.*//' "$T/stream.0.jsonl") | grep -c '^>')" 0
finish
