#!/usr/bin/env bash
# recommender: a serving process that has never seen a user live still knows
# what they did in the training data, because the model file carries every
# training user's interactions (`train --user-history`, default 10,000 per
# user, the newest). Two trained users come back with one new event each to a
# fresh process: "heavy" (400 training items, the 300 most popular first, so
# more than --max-history 200) and "light" (15 popular items). Their lists
# must leave out every training item (the model would recommend them again:
# checked with a model trained with --user-history 0), and must equal the
# lists of a process that was fed their training events live (so the
# scoring history starts from them too), streamed and from --users, also
# when the training events come again first (a replay). A model
# with --user-history 100 excludes the heavy user's newest 100 (the bound).
source "$(dirname "$0")/../lib.sh"

python3 - "$T" <<'PY'
import json, random, sys
t = sys.argv[1]
rnd = random.Random(615)
N = 2000
items = ["m%d" % i for i in range(N)]
ts = 1795000000 * 10**6
def ev(u, i, kind="view"):
    global ts
    ts += 10**6        # a second apart: the model keeps times in seconds
    return {"event_id": "e%d" % ts, "ts": ts, "user_id": u, "item_id": i, "type": kind}
train = []
for u in range(400):
    for i in rnd.sample(items[:300], 15) + rnd.sample(items[300:], 5):
        train.append(ev("u%d" % u, i))
mine = {"heavy": items[:300] + rnd.sample(items[300:], 100), "light": rnd.sample(items[:300], 15)}
for u, seq in mine.items():
    for i in seq:
        train.append(ev(u, i, "click"))
live = [ev("heavy", items[1999]), ev("light", items[1998]), ev("stranger", items[5])]
def write(name, evs): open(t + "/" + name, "w").write("".join(json.dumps(e) + "\n" for e in evs))
write("train.jsonl", train)
write("live.jsonl", live)
write("mine.jsonl", [e for e in train if e["user_id"] in mine])
write("mine-live.jsonl", [e for e in train if e["user_id"] in mine] + live)
json.dump({u: seq for u, seq in mine.items()}, open(t + "/mine.json", "w"))
open(t + "/users.txt", "w").write("heavy\nlight\n")
PY
for f in train live mine mine-live; do
  "$BIN/fbcat" --encode Event < "$T/$f.jsonl" > "$T/$f.rec" || die "encode $f"
done
for h in 10000 0 100; do
  extra=(); [ "$h" = 10000 ] || extra=(--user-history "$h")   # 10000: the default
  "$BIN/recommender" train --in "$T/train.rec" --model "$T/model-$h.db" "${extra[@]}" 2>"$T/train.log" \
    || { cat "$T/train.log" >&2; die "train --user-history $h"; }
done

run() {   # NAME MODEL-HISTORY ARGS...: recommender's lists into $T/NAME.jsonl
  local name=$1 h=$2; shift 2
  "$BIN/recommender" --model "$T/model-$h.db" --format json "$@" > "$T/$name.jsonl" 2>"$T/$name.log" \
    || { cat "$T/$name.log" >&2; fail "$name: exit"; }
}
# check NAME WANT-OVERLAP [REFERENCE] [NEWEST]: the lists of heavy and light
# hold none of their training items (WANT-OVERLAP 0; with NEWEST only the
# newest NEWEST of them) or some (1); equal to REFERENCE's lists when given
check() {
  python3 - "$T" "$@" <<'PY'
import json, sys
t, name, want = sys.argv[1:4]
ref = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] != "-" else None
newest = int(sys.argv[5]) if len(sys.argv) > 5 else None
mine = json.load(open(t + "/mine.json"))
lists = {r["user_id"]: r for r in map(json.loads, open(t + "/" + name + ".jsonl"))}
bad = []
for u, seq in mine.items():
    if u not in lists: bad.append("no list for " + u); continue
    got = [x["item_id"] for x in lists[u]["items"]]
    if len(got) != 10: bad.append("%s: %d items" % (u, len(got)))
    trained = set(seq[-newest:] if newest else seq)
    again = sorted(trained & set(got))
    if want == "0" and again: bad.append("%s gets %d of their training items again: %s" % (u, len(again), again[:5]))
    if want == "1" and u == "heavy" and not again: bad.append("%s: expected training items back (the test's premise)" % u)
    if ref:
        r = {x["user_id"]: x for x in map(json.loads, open(t + "/" + ref + ".jsonl"))}[u]
        a = [(x["item_id"], x["score"]) for x in lists[u]["items"]]
        b = [(x["item_id"], x["score"]) for x in r["items"]]
        if [i for i, _ in a] != [i for i, _ in b] or any(abs(x - y) > 1e-5 * max(1, abs(y)) for (_, x), (_, y) in zip(a, b)):
            bad.append("%s: %s differs from %s: %s vs %s" % (u, name, ref, a[:4], b[:4]))
if bad: sys.exit("%s: %s" % (name, "; ".join(bad)))
PY
}

# the premise: without the training interactions in the model, a fresh
# process recommends the heavy user's training items again
run none 0 --in "$T/live.rec" --flush-interval 0
check none 1 || fail "premise"

# streamed, one list per event: the model's interactions are the seen set
# and the scoring history; the same as when the training events came live
# (to a process whose model carries none: else they would count twice)
run stream 10000 --in "$T/live.rec" --flush-interval 0
run stream-ref 0 --in "$T/mine-live.rec" --flush-interval 0
python3 - "$T" <<'PY' || fail "the reference run: one list per event"
import json, sys
t = sys.argv[1]
# keep only the lists made after the live events (the last three)
recs = open(t + "/stream-ref.jsonl").read().splitlines()
open(t + "/stream-ref.jsonl", "w").write("\n".join(recs[-3:]) + "\n")
PY
check stream 0 stream-ref || fail "streamed lists"
grep -q '"model_history_users":2,' "$T/stream.log" || fail "two users started from the model: $(grep done "$T/stream.log")"
u=$(python3 -c 'import json,sys; print([json.loads(l)["user_id"] for l in open(sys.argv[1])][2])' "$T/stream.jsonl")
expect_eq "the third list" "$u" "stranger"

# a replay: the training events come again (a restart reading old input)
# before the live ones; they are in the model's interactions already, so
# they do not count twice: the same lists
run replay 10000 --in "$T/mine-live.rec" --flush-interval 0
python3 - "$T" <<'PY' || fail "the replay run: one list per event"
import sys
t = sys.argv[1]
recs = open(t + "/replay.jsonl").read().splitlines()
open(t + "/replay.jsonl", "w").write("\n".join(recs[-3:]) + "\n")
PY
check replay 0 stream-ref || fail "replayed training events counted twice"
grep -q '"model_known_events":415,' "$T/replay.log" || fail "415 replayed events known: $(grep done "$T/replay.log")"

# the users batch without --in: the same lists as with the training events
run batch 10000 --users "$T/users.txt"
run batch-ref 0 --in "$T/mine.rec" --users "$T/users.txt"
check batch 0 batch-ref || fail "--users lists"

# --user-history 100 keeps the heavy user's newest 100: those are excluded
run bound 100 --users "$T/users.txt"
check bound 0 - 100 || fail "--user-history 100"
finish
