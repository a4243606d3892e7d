#!/usr/bin/env bash
# recommender model swap under load: events flow through a FIFO while the
# model file is replaced atomically (file-change reload), SIGHUP forces a
# reload, a corrupt file is dropped in (refused: the old model keeps serving)
# and a good one replaces it. Afterwards: every record was read and every
# interaction recorded (metrics = what was sent), every user's last list
# excludes everything they touched — including an item only the later model
# knows, touched while the earlier one served — every list is valid, model
# versions appear in swap order, and the reloads and the failure are counted.
source "$(dirname "$0")/../lib.sh"

python3 - "$T" <<'PY'
import json, random, sys
t = sys.argv[1]
rnd = random.Random(612)
items = ["i%d" % i for i in range(80)]
ts = 1795000000 * 10**6
def ev(u, i):
    global ts
    ts += 1000
    return {"event_id": "e%d" % ts, "ts": ts, "user_id": u, "item_id": i, "type": rnd.choice(["view", "click", "purchase"])}
base = [ev("u%d" % rnd.randrange(300), rnd.choice(items[: 20 + rnd.randrange(60)])) for _ in range(6000)]
# the later model also knows "fresh", popular among its training users
later = base + [ev("u%d" % u, "fresh") for u in range(0, 300, 2)]
stream = [ev("s%d" % rnd.randrange(400), rnd.choice(items)) for _ in range(12000)]
# early in the stream (before any swap) these users touch "fresh"
for k in range(40):
    stream.insert(100 + k * 20, ev("s%d" % k, "fresh"))
for name, evs in (("base", base), ("later", later), ("stream", stream)):
    open("%s/%s.jsonl" % (t, name), "w").write("".join(json.dumps(e) + "\n" for e in evs))
PY
for n in base later stream; do "$BIN/fbcat" --encode Event < "$T/$n.jsonl" > "$T/$n.rec" || die "encode $n"; done
train() { "$BIN/recommender" train "$@" 2>>"$T/train.log" || { cat "$T/train.log" >&2; die "train $*"; }; }
mkdir -p "$T/models" "$T/serving"
train --in "$T/base.rec" --model "$T/models/a.db" --model-version vA
train --in "$T/base.rec" --model "$T/models/b.db" --model-version vB --algorithm knn
train --in "$T/later.rec" --model "$T/models/c.db" --model-version vC
head -c 20000 /dev/urandom > "$T/models/corrupt.db"
cp "$T/models/a.db" "$T/serving/model.db"
# atomic replace, as `recommender train` does: same directory, then rename
swap() { cp "$T/models/$1" "$T/serving/.tmp.db" && mv "$T/serving/.tmp.db" "$T/serving/model.db"; }

mkfifo "$T/in.fifo"
"$BIN/recommender" --model "$T/serving/model.db" --in "$T/in.fifo" --flush-interval 100ms --top 10 \
  --format json --metrics-file "$T/m.prom" > "$T/recs.jsonl" 2>"$T/serve.log" &
pid=$!
at_exit "kill $pid"

# feed the records in 24 chunks, ~0.15 s apart; swap the model between chunks
python3 - "$T" "$pid" <<'PY' || fail "feeder"
import os, signal, struct, subprocess, sys, time
t, pid = sys.argv[1], int(sys.argv[2])
data = open(t + "/stream.rec", "rb").read()
frames, off = [], 0
while off < len(data):
    n = struct.unpack_from("<I", data, off)[0]
    frames.append(data[off: off + 4 + n]); off += 4 + n
def swap(name):
    subprocess.run(["bash", "-c", 'cp "$0/models/$1" "$0/serving/.tmp.db" && mv "$0/serving/.tmp.db" "$0/serving/model.db"', t, name], check=True)
actions = {6: lambda: swap("b.db"), 10: lambda: os.kill(pid, signal.SIGHUP),
           14: lambda: swap("corrupt.db"), 18: lambda: swap("c.db")}
with open(t + "/in.fifo", "wb") as f:
    chunk = (len(frames) + 23) // 24
    for k in range(24):
        if k in actions: actions[k]()
        f.write(b"".join(frames[k * chunk: (k + 1) * chunk])); f.flush()
        time.sleep(0.15 if k not in actions else 0.4)
PY
wait $pid; expect_eq "serve exit" $? 0

sent=$(wc -l < "$T/stream.jsonl")
prom() { awk -v k="$1" '$1 == k {print $2}' "$T/m.prom"; }
expect_eq "records read" "$(prom 'streamrec_records_in_total{stage="recommender"}')" "$sent"
expect_eq "interactions recorded" "$(prom 'streamrec_recommender_events_total{stage="recommender"}')" "$sent"
expect_eq "reload failures" "$(prom 'streamrec_recommender_model_reload_failures_total{stage="recommender"}')" 1
reloads=$(prom 'streamrec_recommender_model_reloads_total{stage="recommender"}')
[ "${reloads:-0}" -ge 3 ] || fail "reloads: $reloads, expected at least 3 (file change, SIGHUP, file change)"
grep -q '"msg":"reload failed' "$T/serve.log" || fail "the refused model file is logged"

python3 - "$T" <<'PY' || fail "lists across swaps"
import json, sys
t = sys.argv[1]
events = [json.loads(l) for l in open(t + "/stream.jsonl")]
recs = [json.loads(l) for l in open(t + "/recs.jsonl")]
touched, last, bad = {}, {}, []
for e in events: touched.setdefault(e["user_id"], set()).add(e["item_id"])
order = {"vA": 0, "vB": 1, "vC": 2}
prev = 0
for r in recs:
    items = [x["item_id"] for x in r.get("items", [])]
    if not 0 < len(items) <= 10 or len(set(items)) != len(items): bad.append("bad list %s" % r)
    v = order.get(r.get("model_version"), -1)
    if v < prev: bad.append("model_version went back: %s after %d" % (r.get("model_version"), prev))
    prev = max(prev, v)
    if r.get("model_version") == "vB" and r.get("algorithm") != "knn": bad.append("vB is the knn model: %s" % r.get("algorithm"))
    last[r["user_id"]] = items
for v in order:
    if not any(r.get("model_version") == v for r in recs): bad.append("no list from model %s" % v)
if set(last) != set(touched): bad.append("users without a list: %s" % sorted(set(touched) - set(last))[:5])
for u, items in last.items():
    if touched.get(u, set()) & set(items): bad.append("%s: last list shows touched %s" % (u, touched[u] & set(items)))
fresh_users = [u for u in touched if "fresh" in touched[u]]
if len(fresh_users) < 40: bad.append("only %d users touched fresh" % len(fresh_users))
if not any("fresh" in l for u, l in last.items() if u not in fresh_users):
    bad.append("model C never recommends fresh, so the check above proves nothing")
for b in bad[:10]: print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
finish
