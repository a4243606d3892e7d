#!/usr/bin/env bash
# recommender train: seconds and peak RSS of `recommender train` (2 threads)
# on the MovieLens ratings (100,836) and on a generated stream of 5,000,000
# events (gen-events: 50,000 users, 10,000 items; impressions and exposures
# are not interactions, so ~2.9M interactions, ~1.45M distinct user-item
# pairs), beside numpy/scipy references of the same computations on the
# same data: item-kNN cosine with the top 100 per item (sparse X^T X), and
# EASE over the same item subset (items with >= 10 users, at most 4000 most
# popular; numpy.linalg.inv: on ML only, Debian's numpy takes minutes for
# the 4000 items of the 5M stream). The references' fit time excludes reading.
# The issue's anchors (fit s on ML): item-kNN 10, EASE (all 9,724 items) 562.
#   tests/bench/recommender-train.sh        (first run also builds the inputs)
source "$(dirname "$0")/lib.sh"
PY=${PYTHON:-/usr/bin/python3}       # the system python has numpy, scipy, pandas (make deps)
ML=$DATA/movielens-latest-small
mlrec=$BT/rec-train-ml.rec; mltsv=$BT/rec-train-ml.tsv
if [ ! -s "$mlrec" ]; then
  "$BIN/ingest" --in "$ML/ratings.csv.zst" --in-format csv --event-type rating \
    --map user_id=userId,item_id=movieId,value=rating,ts=timestamp --out "$mlrec" 2>/dev/null || exit 1
fi
[ -s "$mltsv" ] || zstd -dc "$ML/ratings.csv.zst" | awk -F, 'NR > 1 { print $1 "\t" $2 }' > "$mltsv"
g5=$BT/rec-train-gen5m.rec; g5tsv=$BT/rec-train-gen5m.tsv
if [ ! -s "$g5" ]; then
  echo "  (generating 5,000,000 events once: about a minute with ingest)"
  "$GEN_EVENTS" --count 5000000 --users 50000 --items 10000 --seed 1 | "$BIN/ingest" --out "$g5" 2>/dev/null || exit 1
fi
if [ ! -s "$g5tsv" ]; then
  "$BIN/fbcat" --in "$g5" | $PY -c '
import sys, json
skip = {"impression", "exposure"}
w = sys.stdout.write
for l in sys.stdin:
    e = json.loads(l)
    if e.get("type", "impression") in skip or not e.get("item_id"): continue
    w(e["user_id"] + "\t" + e["item_id"] + "\n")' > "$g5tsv" || exit 1
fi

cat > "$BT/rec-train-ref.py" <<'PY'
# numpy/scipy references: item-kNN cosine top-k and EASE on the same items.
import sys, time
import numpy as np, pandas as pd, scipy.sparse as sp
path, algo, out = sys.argv[1], sys.argv[2], sys.argv[3]
df = pd.read_csv(path, sep="\t", header=None, names=["u", "i"], dtype=str)
u = pd.factorize(df.u)[0]; i = pd.factorize(df.i)[0]
X = sp.csr_matrix((np.ones(len(u), dtype=np.float32), (u, i)))
X.data[:] = 1                      # binary, duplicates merged
t0 = time.time()
if algo == "knn":
    G = (X.T @ X).toarray()
    n = np.sqrt(np.diag(G))
    S = G / (np.outer(n, n) + 1e-12)
    np.fill_diagonal(S, 0)
    k = 100
    idx = np.argpartition(-S, k, axis=0)[:k]            # top k per column
    keep = np.zeros_like(S, dtype=bool)
    np.put_along_axis(keep, idx, True, axis=0)
    S[~keep] = 0
    nnz = int((S > 0).sum())
else:
    cnt = np.asarray(X.sum(axis=0)).ravel()
    items = np.where(cnt >= 10)[0]
    items = items[np.argsort(-cnt[items], kind="stable")][:4000]
    Xs = X[:, items]
    G = (Xs.T @ Xs).toarray().astype(np.float64)
    G[np.diag_indices_from(G)] += 250.0
    P = np.linalg.inv(G)
    B = P / (-np.diag(P))
    np.fill_diagonal(B, 0)
    nnz = len(items)
open(out, "w").write("%.2f %d\n" % (time.time() - t0, nnz))
PY

run_ours() {   # name data algorithm extra-flags
  measure "$1" "$5" "$BIN/recommender train --in $2 --model $BT/rec-train-model.db --algorithm $3 $4 --log-level debug 2>$BT/rec-train.log"
  grep -o '"pop_s.*' "$BT/rec-train.log" | tr -d '}' | sed 's/^/      components: /'
}
run_ref() {    # name tsv algo records
  measure "$1" "$4" "$PY $BT/rec-train-ref.py $2 $3 $BT/rec-train-ref.out" &&
    awk '{ printf "      numpy fit (without reading): %.2fs\n", $1 }' "$BT/rec-train-ref.out"
}

n_ml=100836; n_g5=5000000
echo "  MovieLens latest-small: 100,836 ratings, 610 users, 9,724 items (2 threads)"
run_ours "train hybrid (default), ML" "$mlrec" hybrid "" $n_ml
run_ours "train ease, ML" "$mlrec" ease "" $n_ml
run_ours "train knn, ML" "$mlrec" knn "" $n_ml
run_ours "train als, ML" "$mlrec" als "" $n_ml
run_ref "numpy item-kNN k=100, ML" "$mltsv" knn $n_ml
run_ref "numpy EASE same items, ML" "$mltsv" ease $n_ml
ratio "train knn, ML" "numpy item-kNN k=100, ML"
ratio "train ease, ML" "numpy EASE same items, ML"
echo "  gen-events: 5,000,000 events, 50,000 users, 10,000 items"
run_ours "train hybrid (default), 5M" "$g5" hybrid "" $n_g5
run_ours "train knn, 5M" "$g5" knn "" $n_g5
run_ours "train ease, 5M" "$g5" ease "" $n_g5
run_ref "numpy item-kNN k=100, 5M" "$g5tsv" knn $n_g5
ratio "train knn, 5M" "numpy item-kNN k=100, 5M"
echo "  (rec/s counts input events; the machine's 2 cores are shared: see the components' seconds)"
rm -f "$BT/rec-train-model.db"
