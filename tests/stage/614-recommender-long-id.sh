#!/usr/bin/env bash
# recommender: an item id longer than 65,535 bytes (ingest takes up to
# 16 MiB: schemas/SIZES.md) survives --state across a restart. A user
# views the long item, the process ends; after a restart from --state the
# user's list must still leave it out (the seen filter), with the other two
# items in it. Before the blob's version 3, the id's length was stored in
# 16 bits: the restored history held another (cut) item and the long item
# came back in the list.
source "$(dirname "$0")/../lib.sh"

python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
long_id = "L" * 70000
ts = 1795000000 * 10**6
def ev(u, i):
    global ts
    ts += 1000
    return json.dumps({"event_id": "e%d" % ts, "ts": ts, "user_id": u, "item_id": i, "type": "click"}) + "\n"
open(t + "/train.jsonl", "w").write("".join(ev("u%d" % u, i) for u in range(6) for i in ("a", "b", long_id)))
open(t + "/run1.jsonl", "w").write(ev("z", long_id))
open(t + "/run2.jsonl", "w").write(ev("z", "a"))
PY
for f in train run1 run2; do
  "$BIN/fbcat" --encode Event < "$T/$f.jsonl" > "$T/$f.rec" 2>"$T/enc.log" || { cat "$T/enc.log" >&2; die "encode $f"; }
done
"$BIN/recommender" train --in "$T/train.rec" --model "$T/model.db" 2>"$T/train.log" || { cat "$T/train.log" >&2; die "train"; }
for r in 1 2; do
  "$BIN/recommender" --model "$T/model.db" --in "$T/run$r.rec" --state "$T/s.db" --format json \
    > "$T/out$r.jsonl" 2>"$T/run$r.log" || { cat "$T/run$r.log" >&2; die "run $r"; }
done
python3 - "$T" <<'PY' || fail "the long item id did not survive --state"
import json, sys
t = sys.argv[1]
lists = [json.loads(l) for l in open(t + "/out2.jsonl")]
z = [r for r in lists if r["user_id"] == "z"]
assert z, "no list for z after the restart"
ids = [i["item_id"] for i in z[-1]["items"]]
lens = sorted(len(i) for i in ids)
assert "L" * 70000 not in ids, "the long item, seen before the restart, is recommended: %s" % lens
assert "a" not in ids, "the item just seen is recommended"
assert "b" in ids, "the one unseen item is missing: %s" % lens
PY
# the users batch takes any user id ingest can write (it refused one over
# 4,096 bytes): a 100,000-byte user, known to the model from training, gets
# a list through --users that leaves out what they clicked in training
python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
u = "U" * 100000
ts = 1795000000 * 10**6
lines = []
for k, (usr, item) in enumerate([(u, "a")] + [("v%d" % v, i) for v in range(6) for i in ("a", "b", "c")]):
    lines.append(json.dumps({"event_id": "f%d" % k, "ts": ts + k, "user_id": usr, "item_id": item, "type": "click"}))
open(t + "/train2.jsonl", "w").write("\n".join(lines) + "\n")
open(t + "/users.txt", "w").write(u + "\nv0\n")
PY
"$BIN/fbcat" --encode Event < "$T/train2.jsonl" > "$T/train2.rec" 2>"$T/enc2.log" || { cat "$T/enc2.log" >&2; die "encode train2"; }
"$BIN/recommender" train --in "$T/train2.rec" --model "$T/model2.db" 2>"$T/train2.log" || { cat "$T/train2.log" >&2; die "train2"; }
"$BIN/recommender" --model "$T/model2.db" --users "$T/users.txt" --format json > "$T/batch.jsonl" 2>"$T/batch.log" ||
  fail "--users with a 100,000-byte user id: $(tail -n 2 "$T/batch.log")"
python3 - "$T" <<'PY' || fail "the long user id through --users"
import json, sys
t = sys.argv[1]
lists = {r["user_id"]: [i["item_id"] for i in r["items"]] for r in map(json.loads, open(t + "/batch.jsonl"))}
u = "U" * 100000
assert u in lists, "no list for the 100,000-byte user: %s" % [len(k) for k in lists]
assert "a" not in lists[u], "the long user's training item is recommended: %s" % lists[u]
assert "v0" in lists, "the short user lost"
PY
finish
