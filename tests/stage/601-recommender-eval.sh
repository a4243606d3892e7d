#!/usr/bin/env bash
# 601-recommender-eval — `recommender eval`: (1) on a data set small enough
# to work out by hand (split last:1, popularity), every metric and the
# coverage are exactly the hand-computed values; (2) on a MovieLens
# subsample the hybrid beats popularity by a clear margin and so do kNN and
# EASE, all metrics are in [0, 1], the same seed gives the same table and
# another seed another split; (3) bad --split / --models are usage errors.
source "$(dirname "$0")/../lib.sh"
ML=$DATA/movielens-latest-small

# (1) by hand. u1: a b c (c newest), u2: a b d (d newest). last:1 holds out
# c and d; training is u1{a,b}, u2{a,b}; popularity ranks the unseen items
# c, d (both 0, tie to the lower index, c first) for both users:
#   u1 hit at rank 1: NDCG 1, AP 1;  u2 hit at rank 2: NDCG 1/log2(3), AP 1/2
#   P@10 = 0.1, R@10 = 1, HR = 1; coverage 2 of 4 items.
n=0
for e in u1:a u1:b u1:c u2:a u2:b u2:d; do
  n=$((n + 1))
  printf '{"user_id":"%s","item_id":"%s","event_type":"view","ts":%d}\n' "${e%%:*}" "${e##*:}" $((1700000000 + n))
done > "$T/tiny.jsonl"
"$BIN/ingest" < "$T/tiny.jsonl" > "$T/tiny.rec" 2>"$T/ingest.err" || die "ingest: $(cat "$T/ingest.err")"
"$BIN/recommender" eval --in "$T/tiny.rec" --models pop --split last:1 --k 10 > "$T/tiny.out" 2>"$T/tiny.err"
expect_eq "tiny eval exit" "$?" 0
python3 - "$T/tiny.out" <<'PY' || fail "tiny: metrics differ from the hand-computed values: $(cat "$T/tiny.out")"
import math, sys
rows = [l.strip().strip('|').split('|') for l in open(sys.argv[1]) if l.startswith('| pop')]
assert len(rows) == 1, rows
got = [float(x) for x in rows[0][1:7]]
want = [(1 + 1 / math.log2(3)) / 2, 0.1, 1.0, 0.75, 1.0, 0.5]
bad = [(g, w) for g, w in zip(got, want) if abs(g - w) > 6e-5]
if bad: print(bad); sys.exit(1)
PY

# (2) MovieLens users 1..300
zstd -dc "$ML/ratings.csv.zst" | awk -F, 'NR == 1 || $1 <= 300' > "$T/ratings.csv"
"$BIN/ingest" --in "$T/ratings.csv" --in-format csv --event-type rating \
  --map user_id=userId,item_id=movieId,value=rating,ts=timestamp --out "$T/r.rec" 2>"$T/ingest.err" \
  || die "ingest: $(cat "$T/ingest.err")"
ev() { "$BIN/recommender" eval --in "$T/r.rec" --ease-max-items 1000 --iterations 6 "$@" 2>>"$T/eval.err"; }
ev --models pop,knn,ease,hybrid --split random:0.2 --seed 42 > "$T/a.out"
expect_eq "eval exit" "$?" 0
ev --models pop,knn,ease,hybrid --split random:0.2 --seed 42 > "$T/b.out"
ev --models pop --split random:0.2 --seed 43 > "$T/c.out"
python3 - "$T/a.out" "$T/b.out" "$T/c.out" <<'PY' || fail "MovieLens eval: $(cat "$T/a.out")"
import sys
def table(p):
    t = {}
    for l in open(p):
        if l.startswith('| ') and not l.startswith('| model') and not l.startswith('| ---'):
            c = [x.strip() for x in l.strip().strip('|').split('|')]
            t[c[0]] = [float(x) for x in c[1:7]]
    return t
a, b, c = table(sys.argv[1]), table(sys.argv[2]), table(sys.argv[3])
ok = True
def need(cond, msg):
    global ok
    if not cond: ok = False; print("FAIL:", msg)
need(sorted(a) == ['ease', 'hybrid', 'knn', 'pop'], "rows %s" % sorted(a))
for m, v in a.items():
    need(all(0 <= x <= 1 for x in v), "%s metrics out of [0,1]: %s" % (m, v))
    need(v[0] > 0, "%s NDCG is 0" % m)
ndcg = {m: v[0] for m, v in a.items()}
need(ndcg['hybrid'] >= ndcg['pop'] + 0.10, "hybrid %.4f vs pop %.4f: not a clear margin" % (ndcg['hybrid'], ndcg['pop']))
need(ndcg['knn'] > ndcg['pop'] + 0.05 and ndcg['ease'] > ndcg['pop'] + 0.05, "knn/ease vs pop: %s" % ndcg)
need(a['hybrid'][4] > a['pop'][4], "hit rate: hybrid not above pop")
need(a == b, "same seed, different table")
need(a['pop'] != c['pop'], "another seed gave the same popularity row (same split?)")
sys.exit(0 if ok else 1)
PY
head -1 "$T/a.out" | grep -q "seed 42" || fail "header line: $(head -1 "$T/a.out")"

# (3) usage errors
"$BIN/recommender" eval --in "$T/r.rec" --split random:1.5 2>"$T/e1"; expect_eq "bad split fraction" "$?" 2
grep -q -- "--split" "$T/e1" || fail "bad split message: $(cat "$T/e1")"
"$BIN/recommender" eval --in "$T/r.rec" --split middle:3 2>/dev/null; expect_eq "bad split kind" "$?" 2
"$BIN/recommender" eval --in "$T/r.rec" --models pop,svd 2>"$T/e3"; expect_eq "bad model" "$?" 2
grep -q "svd" "$T/e3" || fail "bad model message: $(cat "$T/e3")"
finish
