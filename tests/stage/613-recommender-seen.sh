#!/usr/bin/env bash
# recommender: the seen filter is complete whatever --max-history. Two heavy
# users interact with 1,200 items each (the 300 most popular first, so they
# fall out of a 200-entry history and are exactly what the model would
# recommend again); every list — streamed one per event, from the --users
# batch, and after a restart from --state with a smaller history cap — must
# leave out every item they ever touched, and the already-purchased filter
# every item they bought. The memory of the seen sets is reported
# (seen_set_bytes) and stays within the bound of stages/recommender/README.md.
source "$(dirname "$0")/../lib.sh"

python3 - "$T" <<'PY'
import json, random, sys
t = sys.argv[1]
rnd = random.Random(613)
N = 2000
items = ["m%d" % i for i in range(N)]
ts = 1795000000 * 10**6
def ev(u, i, kind="view"):
    global ts
    ts += 1000
    return {"event_id": "e%d" % ts, "ts": ts, "user_id": u, "item_id": i, "type": kind}
train = []
# light users: 20 items each, mostly from the popular head
for u in range(400):
    for i in rnd.sample(items[:300], 15) + rnd.sample(items[300:], 5):
        train.append(ev("u%d" % u, i))
heavy = []
for h in ("heavy1", "heavy2"):
    seq = items[:300] + rnd.sample(items[300:], 900)        # popular (oldest) first
    for k, i in enumerate(seq):
        heavy.append(ev(h, i, "purchase" if k % 7 == 0 else "view"))
open(t + "/train.jsonl", "w").write("".join(json.dumps(e) + "\n" for e in train))
open(t + "/heavy.jsonl", "w").write("".join(json.dumps(e) + "\n" for e in heavy))
open(t + "/users.txt", "w").write("heavy1\nheavy2\n")
open(t + "/rules.yaml", "w").write("filter:\n  seen: { enabled: false }\n  already_purchased: { enabled: true }\n")
PY
"$BIN/fbcat" --encode Event < "$T/train.jsonl" > "$T/train.rec" || die "encode train"
"$BIN/fbcat" --encode Event < "$T/heavy.jsonl" > "$T/heavy.rec" || die "encode heavy"
"$BIN/recommender" train --in "$T/train.rec" --model "$T/model.db" 2>"$T/train.log" || { cat "$T/train.log" >&2; die "train"; }

# check FILE EVENTS-FILE MODE: every list leaves out what its user touched
# (MODE seen) or bought (MODE bought) up to then; with EVENTS-FILE "-" the
# lists come from the batch, after all events
check_lists() {
  python3 - "$T" "$@" <<'PY'
import json, sys
t, recs_f, events_f, mode = sys.argv[1:5]
recs = [json.loads(l) for l in open(t + "/" + recs_f)]
heavy = [json.loads(l) for l in open(t + "/heavy.jsonl")]
touched = {}
def note(e):
    if mode == "seen" or e["type"] == "purchase":
        touched.setdefault(e["user_id"], set()).add(e["item_id"])
bad = []
if events_f == "-":
    for e in heavy: note(e)
    pairs = [(None, r) for r in recs]
else:
    events = [json.loads(l) for l in open(t + "/" + events_f)]
    if len(events) != len(recs): sys.exit("%d lists for %d events" % (len(recs), len(events)))
    pairs = list(zip(events, recs))
hits = 0
for e, r in pairs:
    if e: note(e)
    items = [x["item_id"] for x in r["items"]]
    if len(items) != 10: bad.append("%s: %d items" % (r["user_id"], len(items)))
    again = touched.get(r["user_id"], set()) & set(items)
    if again: hits += 1; bad.append("%s (after %d): %s again" % (r["user_id"], len(touched.get(r["user_id"], ())), sorted(again)[:5]))
if bad:
    print("%d lists with already %s items; first: %s" % (hits, mode, "; ".join(bad[:3])))
    sys.exit(1)
print("%d lists checked" % len(pairs))
PY
}

# --- streamed, one list per event, default --max-history 200
cat "$T/train.rec" "$T/heavy.rec" > "$T/all.rec"
cat "$T/train.jsonl" "$T/heavy.jsonl" > "$T/all.jsonl"
"$BIN/recommender" --model "$T/model.db" --in "$T/all.rec" --flush-interval 0 --format json \
  --metrics-file "$T/s.prom" > "$T/stream.jsonl" 2>"$T/stream.log" || { cat "$T/stream.log" >&2; fail "stream exit"; }
check_lists stream.jsonl all.jsonl seen || fail "streamed lists repeat seen items"
dropped=$(awk '$1 ~ /^streamrec_recommender_history_dropped_total/ {print $2}' "$T/s.prom")
[ "${dropped:-0}" -ge 2000 ] || fail "the history cap was in play (dropped $dropped, expected >= 2000)"
# seen sets: 400 light users (20 ids each, nothing bought) and two heavy
# ones (1,200 ids seen, 172 bought, of 2,000); the bound is min(6 bytes per
# id + 16, catalogue / 8 + 4) per set
bytes=$(grep -o '"seen_set_bytes":[0-9]*' "$T/stream.log" | cut -d: -f2)
gauge=$(awk '$1 ~ /^streamrec_recommender_seen_set_bytes/ {print $2}' "$T/s.prom")
expect_eq "seen_set_bytes in the done line and the metrics" "$bytes" "$gauge"
bound=$(( 400 * (20 * 6 + 16) + 2 * 2 * (2000 / 8 + 4) ))
[ "${bytes:-0}" -gt 0 ] && [ "$bytes" -le "$bound" ] || fail "seen sets hold $bytes bytes, bound $bound"
echo "seen_set_bytes $bytes (bound $bound)"

# --- the users batch, history from --in
"$BIN/recommender" --model "$T/model.db" --in "$T/heavy.rec" --users "$T/users.txt" --format json \
  > "$T/batch.jsonl" 2>"$T/batch.log" || { cat "$T/batch.log" >&2; fail "batch exit"; }
check_lists batch.jsonl - seen || fail "batch lists repeat seen items"

# --- already purchased (seen filter off): the bought set is complete too
"$BIN/recommender" --model "$T/model.db" --in "$T/heavy.rec" --users "$T/users.txt" --rules "$T/rules.yaml" \
  --format json > "$T/bought.jsonl" 2>"$T/bought.log" || { cat "$T/bought.log" >&2; fail "bought exit"; }
check_lists bought.jsonl - bought || fail "batch lists repeat bought items"

# --- --state: saved, then a restart with a history of 50 reads the sets back
"$BIN/recommender" --model "$T/model.db" --in "$T/heavy.rec" --state "$T/st.db" > /dev/null 2>"$T/st1.log" \
  || { cat "$T/st1.log" >&2; fail "state run 1"; }
"$BIN/recommender" --model "$T/model.db" --state "$T/st.db" --max-history 50 --users "$T/users.txt" --format json \
  > "$T/restored.jsonl" 2>"$T/st2.log" || { cat "$T/st2.log" >&2; fail "state run 2"; }
check_lists restored.jsonl - seen || fail "lists after a restart from --state repeat seen items"
grep -q '"restored_users":2' "$T/st2.log" || fail "both heavy users restored from --state"
finish
