#!/usr/bin/env bash
# 600-recommender-train — `recommender train` on MovieLens (a subsample of
# users, with movies.csv as item metadata): the model file is SQLite with
# the version, algorithm, parameters and training summary the input implies,
# every component of the hybrid, the items' genres; a retrain replaces it
# atomically (new inode, no temporary file left, the old one still readable
# by a process that had it open); flag and input errors exit 2 / 1 with a
# message naming the problem.
source "$(dirname "$0")/../lib.sh"
ML=$DATA/movielens-latest-small
[ -f "$ML/ratings.csv.zst" ] || die "missing MovieLens"

# users 1..200: ~30k ratings, enough for every model, quick under sanitizers
zstd -dc "$ML/ratings.csv.zst" | awk -F, 'NR == 1 || $1 <= 200' > "$T/ratings.csv"
want_n=$(($(wc -l < "$T/ratings.csv") - 1))
want_items=$(awk -F, 'NR > 1 { print $2 }' "$T/ratings.csv" | sort -u | wc -l)
"$BIN/ingest" --in "$T/ratings.csv" --in-format csv --event-type rating \
  --map user_id=userId,item_id=movieId,value=rating,ts=timestamp --out "$T/r.rec" 2>"$T/ingest.err" \
  || die "ingest failed: $(cat "$T/ingest.err")"

"$BIN/recommender" train --in "$T/r.rec" --model "$T/model.db" --model-version v1 \
  --items "$ML/movies.csv.zst" --item-map id=movieId,categories=genres,text=title \
  --ease-max-items 800 --iterations 4 2>"$T/train.err"
expect_eq "train exit" "$?" 0
grep -q '"msg":"model written"' "$T/train.err" || fail "no 'model written' log line: $(tail -3 "$T/train.err")"
q() { sqlite3 "$T/model.db" "$1"; }
expect_eq "model_version" "$(q "SELECT value FROM meta WHERE key='model_version'")" v1
expect_eq "algorithm" "$(q "SELECT value FROM meta WHERE key='algorithm'")" hybrid
expect_eq "interactions" "$(q "SELECT CAST(value AS INTEGER) FROM meta WHERE key='n_interactions'")" "$want_n"
expect_eq "users" "$(q "SELECT CAST(value AS INTEGER) FROM meta WHERE key='n_users'")" 200
# the catalogue: rated items plus every movie of movies.csv
all_movies=$(zstd -dc "$ML/movies.csv.zst" | python3 -c 'import csv,sys; print(len({r["movieId"] for r in csv.DictReader(sys.stdin)}))')
union=$( (awk -F, 'NR > 1 { print $2 }' "$T/ratings.csv"; zstd -dc "$ML/movies.csv.zst" | python3 -c 'import csv,sys; [print(r["movieId"]) for r in csv.DictReader(sys.stdin)]') | sort -u | wc -l)
expect_eq "items" "$(q "SELECT count(*) FROM items")" "$union"
[ "$union" -ge "$want_items" ] && [ "$union" -ge "$all_movies" ] || fail "catalogue size $union"
expect_eq "Toy Story's genres" "$(q "SELECT categories FROM items WHERE item_id='1'")" "Adventure|Animation|Children|Comedy|Fantasy"
expect_eq "popularity of item 1 = its raters" "$(q "SELECT CAST(pop AS INTEGER) FROM items WHERE item_id='1'")" \
  "$(awk -F, '$2 == 1' "$T/ratings.csv" | wc -l)"
for b in knn.off knn.nbr knn.sim cnt.off als.Y ease.idx ease.B w; do
  expect_eq "blob $b" "$(q "SELECT count(*) FROM blobs WHERE name='$b' AND length(data) > 0")" 1
done
expect_eq "ease items capped" "$(q "SELECT length(data)/4 FROM blobs WHERE name='ease.idx'")" 800
expect_eq "parameter recorded" "$(q "SELECT value FROM meta WHERE key='p.als.iterations'")" 4.0
expect_eq "journal mode (one self-contained file)" "$(q "PRAGMA journal_mode")" delete

# atomic replace: a reader holding the old file keeps reading it
exec 9< "$T/model.db"
ino1=$(stat -c %i "$T/model.db")
"$BIN/recommender" train --in "$T/r.rec" --model "$T/model.db" --model-version v2 --algorithm knn 2>"$T/train2.err"
expect_eq "retrain exit" "$?" 0
ino2=$(stat -c %i "$T/model.db")
[ "$ino1" != "$ino2" ] || fail "model file replaced in place (same inode)"
expect_eq "new version" "$(q "SELECT value FROM meta WHERE key='model_version'")" v2
expect_eq "new algorithm" "$(q "SELECT value FROM meta WHERE key='algorithm'")" knn
cat <&9 > "$T/old.db"
expect_eq "old file intact through the open descriptor" \
  "$(sqlite3 "$T/old.db" "SELECT value FROM meta WHERE key='model_version'" 2>&1)" v1
rm -f "$T/old.db"
exec 9<&-
expect_eq "no temporary files left" "$(ls "$T" | grep -c '\.tmp\.')" 0

# every single algorithm trains
for a in pop knn als ease content uknn; do
  "$BIN/recommender" train --in "$T/r.rec" --model "$T/$a.db" --algorithm $a --iterations 2 \
    --ease-max-items 300 --items "$ML/movies.csv.zst" 2>"$T/$a.err" || fail "train --algorithm $a: $(tail -1 "$T/$a.err")"
done

# errors: usage (2) and runtime (1), with messages that name the problem
"$BIN/recommender" train --in "$T/r.rec" 2>"$T/e1"; expect_eq "no --model" "$?" 2
grep -q -- '--model' "$T/e1" || fail "no --model: message: $(cat "$T/e1")"
"$BIN/recommender" train --in "$T/r.rec" --model "$T/x.db" --algorithm deep 2>"$T/e2"; expect_eq "bad algorithm" "$?" 2
grep -q "deep" "$T/e2" || fail "bad algorithm message: $(cat "$T/e2")"
"$BIN/recommender" train --in "$T/r.rec" --model "$T/x.db" --weights ease=1,magic=2 2>"$T/e3"; expect_eq "bad weights" "$?" 2
grep -q "magic" "$T/e3" || fail "bad weights message: $(cat "$T/e3")"
"$BIN/recommender" train --in /dev/null --model "$T/x.db" 2>"$T/e4"; expect_eq "empty input" "$?" 1
grep -q "no interactions" "$T/e4" || fail "empty input message: $(cat "$T/e4")"
"$BIN/recommender" train --in "$T/r.rec" --model "$T/x.db" --items "$ML/movies.csv.zst" --item-map id=bookId 2>"$T/e5"
expect_eq "bad item map" "$?" 1
grep -q "bookId" "$T/e5" || fail "bad item map message: $(cat "$T/e5")"
"$BIN/recommender" train --in "$T/r.rec" --model "$T/nodir/x.db" 2>"$T/e6"; expect_eq "unwritable model path" "$?" 1
[ ! -e "$T/x.db" ] || fail "a failed training left a model file"
finish
