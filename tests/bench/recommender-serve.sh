#!/usr/bin/env bash
# recommender serving: lists per second and p99 time per list for a 10,000-item
# catalogue (the default hybrid model trained on gen-events interactions),
# beside a Python/numpy script doing the same scoring on the same model file
# (item-kNN neighbour sums, EASE rows, ALS fold-in solve + dot products, each
# normalised by its max and blended with the model's weights, seen items
# masked, argpartition for the top 10). The stage's own per-list times come
# from its done log line (also in --metrics-file as
# streamrec_recommender_list_seconds{quantile=...}). Goal of the issue:
# at least 20,000 lists per second per core.
#   USERS=20000 EVENTS=600000 tests/bench/recommender-serve.sh
source "$(dirname "$0")/lib.sh"
USERS=${USERS:-20000}; EVENTS=${EVENTS:-600000}; PYUSERS=${PYUSERS:-3000}
ev=$BT/rec-serve-events-$EVENTS.rec
model=$BT/rec-serve-model-$EVENTS.db
if [ ! -s "$ev" ]; then
  "$GEN_EVENTS" --count "$EVENTS" --users 50000 --items 10000 --seed 7 | "$BIN/ingest" --out "$ev" 2>/dev/null \
    || { echo "  gen-events | ingest failed"; exit 1; }
fi
# always retrained: the model code changes what scoring costs
"$BIN/recommender" train --in "$ev" --model "$model" --log-level warn || { echo "  train failed"; exit 1; }
seq 0 $((USERS - 1)) | sed 's/^/u/' > "$BT/rec-serve-users.txt"
: > "$BT/rec-serve-none.txt"
items=$("$BIN/recommender" --model "$model" --check | sed -n 's/.*, \([0-9]*\) items$/\1/p')
echo "  model: $items items (hybrid, trained on $EVENTS gen-events lines); $USERS users, top 10"

stage_line() {   # the stage's own scoring figures, from the done log line
  jq -r 'select(.msg=="done") | "  \(.lists) lists scored in \(.score_seconds)s of thread time: \(.lists_per_thread_second) lists/s per core, p50 \(.p50_us) us, p99 \(.p99_us) us, max \(.max_us) us"' "$1"
}
measure "history only (--users empty)" "$EVENTS" \
  "$BIN/recommender --model $model --in $ev --users $BT/rec-serve-none.txt > /dev/null"
measure "recommender --users ($USERS lists)" "$USERS" \
  "$BIN/recommender --model $model --in $ev --users $BT/rec-serve-users.txt > /dev/null"
stage_line "$BT/err.$$"
measure "recommender --users --threads 2" "$USERS" \
  "$BIN/recommender --model $model --in $ev --users $BT/rec-serve-users.txt --threads 2 > /dev/null"
stage_line "$BT/err.$$"
measure "streaming: events in, lists out" "$EVENTS" \
  "$BIN/recommender --model $model --in $ev --metrics-file $BT/rec-serve.prom > /dev/null"
jq -r 'select(.msg=="done") | "  \(.events) interactions -> \(.lists) lists (flush every 1s), p99 \(.p99_us) us per list"' "$BT/err.$$"
awk -v a="${BENCH_SECS[history only (--users empty)]}" -v b="${BENCH_SECS[recommender --users ($USERS lists)]}" \
    -v c="${BENCH_SECS[recommender --users --threads 2]}" -v n="$USERS" \
  'BEGIN { if (b > a) printf "  end to end, history load subtracted: %.0f lists/s (1 thread), %.0f lists/s (2 threads)\n", n/(b-a), (c > a ? n/(c-a) : 0) }'

# the same scoring in numpy, on the same model file and histories
"$BIN/fbcat" < "$ev" > "$BT/rec-serve-events.jsonl"
NUMPY_PY=
for py in ${PYTHON:-} python3 /usr/bin/python3; do
  "$py" -c 'import numpy' 2>/dev/null && { NUMPY_PY=$py; break; }
done
[ -n "$NUMPY_PY" ] || { echo "  numpy reference: skipped (no python3 with numpy)"; exit 0; }
"$NUMPY_PY" - "$model" "$BT/rec-serve-events.jsonl" "$PYUSERS" <<'PY'
import json, sqlite3, sys, time
import numpy as np
path, evpath, nusers = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = sqlite3.connect(path)
meta = dict(db.execute("select key, value from meta"))
blob = dict(db.execute("select name, data from blobs"))
ids = [r[0] for r in db.execute("select item_id from items order by idx")]
index = {s: i for i, s in enumerate(ids)}
n = len(ids)
pop = np.array([r[0] or 0 for r in db.execute("select pop from items order by idx")], dtype=np.float32)
w = np.frombuffer(blob["w"], dtype=np.float32) if "w" in blob else np.zeros(6, np.float32)
W = {"pop": w[0], "knn": w[1], "als": w[2], "ease": w[3], "content": w[4] if len(w) > 4 else 0}
def csr(p):
    if p + ".off" not in blob: return None
    return (np.frombuffer(blob[p + ".off"], np.uint32), np.frombuffer(blob[p + ".nbr"], np.uint32),
            np.frombuffer(blob[p + ".sim"], np.float32))
knn, cnt = csr("knn"), csr("cnt")
f = int(float(meta.get("als_f", 0)))
Y = np.frombuffer(blob["als.Y"], np.float32).reshape(n, f) if f and "als.Y" in blob else None
YtY = (Y.T.astype(np.float64) @ Y.astype(np.float64)) if Y is not None else None
reg, alpha = float(meta.get("als_reg", 0.1)), float(meta.get("als_alpha", 1))
if "ease.idx" in blob:
    eidx = np.frombuffer(blob["ease.idx"], np.uint32)
    B = np.frombuffer(blob["ease.B"], np.float32).reshape(len(eidx), len(eidx))
    epos = np.full(n, -1, np.int64); epos[eidx] = np.arange(len(eidx))
else:
    eidx = None
WEIGHT = {"view": 1, "click": 2, "add_to_cart": 3, "purchase": 4, "custom": 1}
want = {"u%d" % i for i in range(nusers)}
hist = {}
for line in open(evpath):
    e = json.loads(line)
    u = e.get("user_id")
    if u not in want or e.get("item_id") not in index: continue
    t = e.get("type", "impression")
    wt = min(max(e.get("value", 1), 0.5), 5) if t == "rating" else WEIGHT.get(t, 0)
    if wt <= 0: continue
    h = hist.setdefault(u, {}); i = index[e["item_id"]]; h[i] = h.get(i, 0) + wt
def nbr_score(c, items, wts, out):
    off, nbr, sim = c
    for i, wt in zip(items, wts):
        a, b = off[i], off[i + 1]
        out[nbr[a:b]] += wt * sim[a:b]
def score(h):
    if not h: return pop.copy()
    items = np.fromiter(h.keys(), np.int64); wts = np.fromiter(h.values(), np.float32)
    total = np.zeros(n, np.float32)
    parts = []
    if knn is not None and W["knn"] > 0:
        s = np.zeros(n, np.float32); nbr_score(knn, items, wts, s); parts.append((W["knn"], s))
    if cnt is not None and W["content"] > 0:
        s = np.zeros(n, np.float32); nbr_score(cnt, items, wts, s); parts.append((W["content"], s))
    if eidx is not None and W["ease"] > 0:
        s = np.zeros(n, np.float32); p = epos[items]; p = p[p >= 0]
        if len(p): s[eidx] += B[p].sum(axis=0)
        parts.append((W["ease"], s))
    if Y is not None and W["als"] > 0:
        Yh = Y[items].astype(np.float64); c = 1 + alpha * wts.astype(np.float64)
        A = YtY + (Yh.T * (c - 1)) @ Yh + reg * np.eye(f)
        x = np.linalg.solve(A, Yh.T @ c)
        parts.append((W["als"], Y @ x.astype(np.float32)))
    if W["pop"] > 0: parts.append((W["pop"], pop))
    for wt, s in parts:
        m = s.max()
        if m > 0: total += wt * s / m
    return total
users = ["u%d" % i for i in range(nusers)]
lat = []
t0 = time.perf_counter()
for u in users:
    a = time.perf_counter()
    h = hist.get(u, {})
    s = score(h)
    if h: s[np.fromiter(h.keys(), np.int64)] = -np.inf
    top = np.argpartition(-s, 10)[:10]
    top = top[np.argsort(-s[top])]
    lat.append(time.perf_counter() - a)
total = time.perf_counter() - t0
lat.sort()
print("  numpy reference: %d lists in %.2fs: %.0f lists/s, p50 %.1f us, p99 %.1f us" %
      (len(users), total, len(users) / total, lat[len(lat) // 2] * 1e6, lat[int(len(lat) * 0.99)] * 1e6))
PY
echo "  (goal: at least 20,000 lists/s per core; the ratio to numpy is the stable figure on a shared machine)"
