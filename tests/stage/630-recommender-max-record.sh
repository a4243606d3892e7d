#!/usr/bin/env bash
# 630-recommender-max-record — a Recommendation never exceeds --max-record
# (schemas/SIZES.md). Twelve items, ranked by popularity, eleven with ids of
# 3,002 bytes and the eighth with 102: a list of all twelve is ~36 KB. With
# --max-record 20000 each list keeps, best first, the items whose upper
# bound still fits (the first six), leaves out the long ones after, still
# takes the short eighth, and counts the five left out per list
# (streamrec_recommender_items_cut_total) with a warning; every record is
# at most 20,000 bytes and a reader with the same --max-record takes all
# of them. A user_id alone over the limit: no list, counted, logged. At the
# default limit nothing is cut. Before, the recommender wrote the 36 KB
# list and the reader refused it as a corrupt stream.
source "$(dirname "$0")/../lib.sh"

python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
ts = 1795000000 * 10**6
lines = []
items = ["%02d" % k + chr(65 + k) * (100 if k == 7 else 3000) for k in range(12)]
for k, it in enumerate(items):
    for u in range(14 - k):   # item k: 14 - k users, so popularity ranks them 0..11
        ts += 1000
        lines.append(json.dumps({"event_id": "e%d" % ts, "ts": ts, "user_id": "u%d" % u,
                                 "event_type": "click", "item_id": it}))
open(t + "/train.jsonl", "w").write("\n".join(lines) + "\n")
open(t + "/users.txt", "w").write("newcomer\nu99\n")
# an Event the reader takes at --max-record 20000 whose user_id leaves no room for a list
ev = lambda u, ts: json.dumps({"event_id": "x%d" % ts, "ts": ts, "user_id": u, "item_id": items[7], "type": "click"})
open(t + "/big-user.jsonl", "w").write(ev("U" * 19600, ts + 1000) + "\n" + ev("newcomer", ts + 2000) + "\n")
PY
"$BIN/ingest" --max-string 4k < "$T/train.jsonl" > "$T/train.rec" 2>"$T/ingest.log" || die "ingest: $(tail -1 "$T/ingest.log")"
"$BIN/recommender" train --in "$T/train.rec" --model "$T/model.db" 2>"$T/train.log" || die "train: $(tail -1 "$T/train.log")"

# the default limit: whole lists
"$BIN/recommender" --model "$T/model.db" --users "$T/users.txt" --top 12 > "$T/full.rec" 2>"$T/full.log" \
  || die "serve: $(tail -1 "$T/full.log")"
"$BIN/fbcat" < "$T/full.rec" > "$T/full.json" || fail "fbcat of the whole lists"
expect_eq "default limit: 12 items per list" "$(jq -c '.items | length' "$T/full.json" | tr '\n' ' ')" "12 12 "
grep -q "list cut" "$T/full.log" && fail "default limit: a list was cut"

# --max-record 20000
"$BIN/recommender" --model "$T/model.db" --users "$T/users.txt" --top 12 --max-record 20000 \
  --metrics-file "$T/m.prom" > "$T/cut.rec" 2>"$T/cut.log" || die "serve --max-record: $(tail -1 "$T/cut.log")"
check "a reader with --max-record 20000 takes every list" "$BIN/fbcat" --max-record 20000 --strict --in "$T/cut.rec" --out "$T/cut.json"
python3 - "$T" <<'PY' || fail "the cut lists"
import json, struct, sys
t = sys.argv[1]
b = open(t + "/cut.rec", "rb").read()
o, sizes = 0, []
while o < len(b):
    n = struct.unpack("<I", b[o:o + 4])[0]; sizes.append(n); o += 4 + n
assert len(sizes) == 2 and max(sizes) <= 20000, "record sizes %s" % sizes
full = [[i["item_id"] for i in json.loads(l)["items"]] for l in open(t + "/full.json")]
cut = [[i["item_id"] for i in json.loads(l)["items"]] for l in open(t + "/cut.json")]
for f, c in zip(full, cut):
    short = [x[:2] for x in c]
    # best first: the first six long ids, the long seventh left out, the short eighth taken
    assert short == ["00", "01", "02", "03", "04", "05", "07"], short
    assert [x for x in f if x in c] == c, "not the full list's order"
print("record sizes", sizes)
PY
expect_eq "items left out, counted" "$(sed -n 's/^streamrec_recommender_items_cut_total{[^}]*} //p' "$T/m.prom")" 10
expect_eq "a warning per cut list" "$(grep -c '"msg":"list cut to fit --max-record","items":12,"kept":7' "$T/cut.log")" 2

# a user_id that leaves no room for a list (its Event just fits the reader): no list,
# counted and logged; the next user is served
"$BIN/fbcat" --encode Event < "$T/big-user.jsonl" > "$T/big-user.rec" || die "encode"
"$BIN/recommender" --model "$T/model.db" --in "$T/big-user.rec" --top 12 --max-record 20000 \
  --metrics-file "$T/m2.prom" > "$T/big.rec" 2>"$T/big.log" || die "serve a long user_id: $(tail -1 "$T/big.log")"
expect_eq "the long user_id: no list, the next user's" \
  "$("$BIN/fbcat" --max-record 20000 < "$T/big.rec" | jq -r .user_id)" newcomer
expect_eq "the list not written, counted" "$(sed -n 's/^streamrec_recommender_lists_too_large_total{[^}]*} //p' "$T/m2.prom")" 1
grep -q '"level":"error".*"msg":"list not written: its user_id alone is over --max-record"' "$T/big.log" \
  || fail "the list not written is logged: $(cat "$T/big.log")"
finish
