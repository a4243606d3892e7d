#!/usr/bin/env bash
# --ttl adaptive:MIN:MAX against a real redis-server: every rec: key's PTTL
# is MIN*MAX / (its user's average gap between records, event time; newest
# gap weighted 1/4), within [MIN, MAX], MIN for a user seen once; the same
# in every layout and on both json paths (SET NX for a first write, the
# checked transaction after). An active user's key outlives an idle one's.
# The TTL goes with newer-wins: an older record changes neither the stored
# list nor its expiry (json, zset).
source "$(dirname "$0")/../lib.sh"
start_redis
export PYTHONPATH=$ROOT/tests/tools

# users and the event-time gaps (seconds) between their records, in input
# order; the expected TTL (seconds) with MIN 10s, MAX 1h: MIN*MAX = 36000 s^2
python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
users = {                       # gaps -> expected TTL
    "once":     [],             # 10 (MIN: no gap known)
    "active":   [30] * 5,       # 36000/30 = 1200
    "busy":     [1, 1, 1],      # 36000 -> MAX 3600
    "idle":     [7200],         # 5 -> MIN 10
    "hourly":   [360],          # 100
    "slowing":  [60, 20],       # average 0.75*60 + 0.25*20 = 50 -> 720
    "replayed": [100, 0, -50],  # a repeat and an older record change nothing: 360
}
exp = {"once": 10, "active": 1200, "busy": 3600, "idle": 10, "hourly": 100, "slowing": 720, "replayed": 360}
t0 = 1795000000 * 10**6
recs, newest = [], {}
for u, gaps in users.items():
    ts = [t0]
    for g in gaps:
        ts.append(ts[-1] + g * 10**6)
    for i, x in enumerate(ts):
        if x >= max(ts[:i + 1]):
            newest[u] = "v%d" % i      # equal versions overwrite: the later one stays
        recs.append((i, {"user_id": u, "ts": x, "items": [{"item_id": "b%d" % i, "score": 1.0}],
                         "algorithm": "hybrid", "model_version": "v%d" % i}))
# users interleaved, each user's records in order: the first of each is an
# NX attempt, the rest go through the checked group
recs.sort(key=lambda r: r[0])
open(t + "/recs.jsonl", "w").write("".join(json.dumps(r) + "\n" for _, r in recs))
json.dump({"ttl": exp, "version": newest}, open(t + "/exp.json", "w"))
PY
"$BIN/fbcat" --encode Recommendation < "$T/recs.jsonl" > "$T/recs.rec" || die "fbcat --encode Recommendation"

check_ttls() {   # PREFIX LAYOUT
  python3 - "$T" "$REDIS_PORT" "$1" "$2" <<'PY'
import json, sys, resp
t, port, prefix, layout = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
r = resp.Redis(port)
e = json.load(open(t + "/exp.json"))
exp = e["ttl"]
bad = 0
for u, want in sorted(exp.items()):
    keys = [prefix + "rec:" + u] + ([] if layout == "json" else [prefix + "rec:" + u + ":ts"])
    for k in keys:
        pttl = r.pipeline([("PTTL", k)])[0]
        # written a moment ago: at most a few seconds gone, never more than set
        if not (want * 1000 - 5000 <= pttl <= want * 1000):
            bad += 1
            print("%s %s: PTTL %s ms, expected %d s" % (layout, k, pttl, want))
    if layout == "json":
        v = json.loads(r.pipeline([("GET", keys[0])])[0])
        if v["model_version"] != e["version"][u]:
            bad += 1; print("value", u, v, "expected", e["version"][u])
print("checked", len(exp), "users")
sys.exit(1 if bad else 0)
PY
}

check "cache-writer json --ttl adaptive" "$BIN/cache-writer" --redis "$REDIS_URI" --ttl adaptive:10s:1h --in "$T/recs.rec"
check "json: each key's PTTL follows its user's activity" check_ttls "" json
# a small pipeline: groups of one, NX answers read while queueing
check "cache-writer json --pipeline 2" "$BIN/cache-writer" --redis "$REDIS_URI" --ttl adaptive:10s:1h \
  --pipeline 2 --prefix p: --in "$T/recs.rec"
check "json --pipeline 2: PTTL follows activity" check_ttls p: json
for layout in zset fb; do
  check "cache-writer $layout --ttl adaptive" "$BIN/cache-writer" --redis "$REDIS_URI" --ttl adaptive:10s:1h \
    --layout $layout --prefix $layout: --in "$T/recs.rec"
  check "$layout: PTTL of the list and its :ts follow activity" check_ttls $layout: $layout
done

# newer-wins and the TTL are decided together: a new process (it knows no
# activity: its TTL would be MIN) given an older record for "busy" leaves
# the stored list and its 1 h expiry alone; a newer one writes both
printf '%s\n' '{"user_id":"busy","ts":1794999999000000,"items":[{"item_id":"b9","score":1}],"algorithm":"hybrid","model_version":"old"}' |
  "$BIN/fbcat" --encode Recommendation > "$T/older.rec"
printf '%s\n' '{"user_id":"busy","ts":1795000010000000,"items":[{"item_id":"b9","score":1}],"algorithm":"hybrid","model_version":"new"}' |
  "$BIN/fbcat" --encode Recommendation > "$T/newer.rec"
for layout in json zset; do
  p=; [ $layout = zset ] && p=zset:
  check "$layout: an older record" "$BIN/cache-writer" --redis "$REDIS_URI" --ttl adaptive:10s:1h --layout $layout \
    --prefix "$p" --in "$T/older.rec"
  pttl=$(redis-cli -p "$REDIS_PORT" PTTL "${p}rec:busy")
  check "$layout: the older record left the newer list's expiry alone (PTTL $pttl ms)" test "$pttl" -gt 3500000
  if [ $layout = json ]; then
    v=$(redis-cli -p "$REDIS_PORT" GET rec:busy | jq -r .model_version)
    expect_eq "json: the older record left the newer list" "$v" v3
  fi
  check "$layout: a newer record" "$BIN/cache-writer" --redis "$REDIS_URI" --ttl adaptive:10s:1h --layout $layout \
    --prefix "$p" --in "$T/newer.rec"
  pttl=$(redis-cli -p "$REDIS_PORT" PTTL "${p}rec:busy")
  check "$layout: the newer record, from a process that knows no activity, has MIN (PTTL $pttl ms)" \
    test "$pttl" -gt 5000 -a "$pttl" -le 10000
done

# an active user's key outlives an idle one's, as redis-cli sees it
active=$(redis-cli -p "$REDIS_PORT" PTTL rec:active) idle=$(redis-cli -p "$REDIS_PORT" PTTL rec:idle)
check "active user's key ($active ms) lives longer than an idle user's ($idle ms)" test "$active" -gt $((idle * 10))

# bad bounds are refused, naming the flag
for bad in adaptive adaptive:10s adaptive:1h:10s adaptive:x:1h adaptive:0:1h; do
  out=$("$BIN/cache-writer" --redis "$REDIS_URI" --ttl "$bad" --in /dev/null 2>&1); rc=$?
  expect_eq "--ttl $bad: exit status" "$rc" 2
  case "$out" in *--ttl*) ;; *) fail "--ttl $bad: the message names --ttl: $out" ;; esac
done
finish
