#!/usr/bin/env bash
# 130-ingest-movielens — the MovieLens ratings CSV (zstd) as rating events in
# one command: one event per CSV row (100,836), and users, items, values and
# timestamps that agree with python's csv module reading the same file
# (row by row for a sample of rows, and as totals and sums for all).
source "$(dirname "$0")/../lib.sh"
CSV=$DATA/movielens-latest-small/ratings.csv.zst
[ -f "$CSV" ] || die "missing $CSV"

"$BIN/ingest" --in "$CSV" --in-format csv --event-type rating \
  --map user_id=userId,item_id=movieId,value=rating,ts=timestamp \
  --out "$T/ratings.rec" --dead-letter "$T/dl.jsonl" 2>"$T/err"
expect_eq "exit status" "$?" 0
zstd -dc "$CSV" > "$T/ratings.csv"
rows=$(($(wc -l < "$T/ratings.csv") - 1))   # the header row is not a rating
[ "$rows" -gt 100000 ] || fail "the sample has $rows ratings, expected the whole MovieLens small set"
expect_eq "records" "$("$BIN/fbcat" --count < "$T/ratings.rec" | tr '\n' ' ')" "Event $rows total $rows "
expect_eq "dead letters" "$(cat "$T/dl.jsonl" 2>/dev/null | wc -l)" 0
"$BIN/fbcat" < "$T/ratings.rec" > "$T/ratings.jsonl"
python3 - "$T/ratings.csv" "$T/ratings.jsonl" <<'PY' || fail "records differ from the CSV"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
recs = [json.loads(l) for l in open(sys.argv[2])]
ok = True
def bad(msg):
    global ok; ok = False; print(msg)
if len(rows) != len(recs): bad("rows %d records %d" % (len(rows), len(recs)))
# row by row on a sample, all fields
for i in list(range(0, len(rows), 997)) + [len(rows) - 1]:
    r, e = rows[i], recs[i]
    want = {"user_id": r["userId"], "item_id": r["movieId"], "value": float(r["rating"]),
            "ts": int(r["timestamp"]) * 1000000, "type": "rating", "name": "rating"}
    got = {k: e.get(k) for k in want}
    if got != want: bad("row %d: got %s want %s" % (i + 1, got, want))
# totals over everything
def agg(users, items, values, ts):
    return (len(set(users)), len(set(items)), round(sum(values), 6), sum(ts), min(ts), max(ts))
a = agg([r["userId"] for r in rows], [r["movieId"] for r in rows], [float(r["rating"]) for r in rows],
        [int(r["timestamp"]) * 1000000 for r in rows])
b = agg([e["user_id"] for e in recs], [e["item_id"] for e in recs], [e.get("value", 0) for e in recs],
        [e["ts"] for e in recs])
print("users, items, sum of ratings, sum/min/max ts:", a)
if a != b: bad("totals differ: csv %s records %s" % (a, b))
# every event has a distinct generated id (content hash)
ids = set(e["event_id"] for e in recs)
if len(ids) != len(recs) or not all(i.startswith("h") and len(i) == 17 for i in ids): bad("event ids")
sys.exit(0 if ok else 1)
PY
finish
