#!/usr/bin/env bash
# --ttl adaptive:MIN:MAX against a real redis-server: every rec: key's PTTL
# is MIN*MAX / (its user's average gap between records, event time; newest
# gap weighted 1/4), within [MIN, MAX], MIN for a user seen once; the same
# in every layout and on both json paths (SET NX for a first write, the
# checked transaction after). An active user's key outlives an idle one's.
# The TTL goes with newer-wins: an older record changes neither the stored
# list nor its expiry (json, zset).
# No wall-clock tolerance: each key's absolute expiry (PEXPIRETIME) must lie
# between Redis's clock read just before the writing run plus the TTL and
# the same clock read just after it plus the TTL, however slowly the run
# went; MIN is 10 minutes, so no key expires while the test runs.
source "$(dirname "$0")/../lib.sh"
start_redis
export PYTHONPATH=$ROOT/tests/tools

# users and the event-time gaps (seconds) between their records, in input
# order; the expected TTL (seconds) with MIN 10m, MAX 10h: MIN*MAX = 21600000 s^2
python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
users = {                       # gaps -> expected TTL
    "once":     [],             # 600 (MIN: no gap known)
    "active":   [1800] * 5,     # 21600000/1800 = 12000
    "busy":     [1, 1, 1],      # 21600000 -> MAX 36000
    "idle":     [432000],       # 50 -> MIN 600
    "hourly":   [3600],         # 6000
    "slowing":  [3600, 1200],   # average 0.75*3600 + 0.25*1200 = 3000 -> 7200
    "replayed": [6000, 0, -3000],  # a repeat and an older record change nothing: 3600
}
exp = {"once": 600, "active": 12000, "busy": 36000, "idle": 600, "hourly": 6000, "slowing": 7200, "replayed": 3600}
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

# Redis's clock in microseconds (TIME), and a run of a command between two
# readings of it: "$T/when" holds both, bounding when its writes happened
redis_us() { redis-cli -p "$REDIS_PORT" TIME | { read -r s; read -r u; echo $((s * 1000000 + u)); }; }
between_clock_reads() { local a rc; a=$(redis_us); "$@"; rc=$?; echo "$a $(redis_us)" > "$T/when"; return $rc; }
# expires_as_written KEY TTL_MS: KEY's expiry is TTL_MS after a moment of
# the last between_clock_reads run (PX truncates to the millisecond: -1)
expires_as_written() {
  local at a b; at=$(redis-cli -p "$REDIS_PORT" PEXPIRETIME "$1")
  read -r a b < "$T/when"
  [ "$at" -ge $((a / 1000 + $2 - 1)) ] && [ "$at" -le $(((b + 999) / 1000 + $2)) ] && return 0
  echo "$1: expires at $at ms, expected $2 ms after a moment in [$((a / 1000)), $(((b + 999) / 1000))]" >&2; return 1
}

check_ttls() {   # PREFIX LAYOUT: after a run under between_clock_reads
  python3 - "$T" "$REDIS_PORT" "$1" "$2" <<'PY'
import json, sys, resp
t, port, prefix, layout = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
r = resp.Redis(port)
e = json.load(open(t + "/exp.json"))
before_us, after_us = map(int, open(t + "/when").read().split())
exp = e["ttl"]
bad = 0
for u, want in sorted(exp.items()):
    keys = [prefix + "rec:" + u] + ([] if layout == "json" else [prefix + "rec:" + u + ":ts"])
    for k in keys:
        at = r.pipeline([("PEXPIRETIME", k)])[0]
        # set by a command Redis ran between the two clock readings; PX
        # truncates the computed TTL to the millisecond
        lo, hi = before_us // 1000 + want * 1000 - 1, -(-after_us // 1000) + want * 1000
        if not (lo <= at <= hi):
            bad += 1
            print("%s %s: expires at %s ms, expected %d s after the run's start (%d..%d)" % (layout, k, at, want, lo, hi))
    if layout == "json":
        v = json.loads(r.pipeline([("GET", keys[0])])[0])
        if v["model_version"] != e["version"][u]:
            bad += 1; print("value", u, v, "expected", e["version"][u])
print("checked", len(exp), "users")
sys.exit(1 if bad else 0)
PY
}

TTL=adaptive:10m:10h
check "cache-writer json --ttl adaptive" between_clock_reads "$BIN/cache-writer" --redis "$REDIS_URI" --ttl $TTL --in "$T/recs.rec"
check "json: each key's expiry follows its user's activity" check_ttls "" json
# a small pipeline: groups of one, NX answers read while queueing
check "cache-writer json --pipeline 2" between_clock_reads "$BIN/cache-writer" --redis "$REDIS_URI" --ttl $TTL \
  --pipeline 2 --prefix p: --in "$T/recs.rec"
check "json --pipeline 2: expiry follows activity" check_ttls p: json
for layout in zset fb; do
  check "cache-writer $layout --ttl adaptive" between_clock_reads "$BIN/cache-writer" --redis "$REDIS_URI" --ttl $TTL \
    --layout $layout --prefix $layout: --in "$T/recs.rec"
  check "$layout: expiry of the list and its :ts follow activity" check_ttls $layout: $layout
done

# newer-wins and the TTL are decided together: a new process (it knows no
# activity: its TTL would be MIN) given an older record for "busy" leaves
# the stored list and its MAX expiry alone; a newer one writes both
printf '%s\n' '{"user_id":"busy","ts":1794999999000000,"items":[{"item_id":"b9","score":1}],"algorithm":"hybrid","model_version":"old"}' |
  "$BIN/fbcat" --encode Recommendation > "$T/older.rec"
printf '%s\n' '{"user_id":"busy","ts":1795000010000000,"items":[{"item_id":"b9","score":1}],"algorithm":"hybrid","model_version":"new"}' |
  "$BIN/fbcat" --encode Recommendation > "$T/newer.rec"
for layout in json zset; do
  p=; [ $layout = zset ] && p=zset:
  was=$(redis-cli -p "$REDIS_PORT" PEXPIRETIME "${p}rec:busy")
  check "$layout: an older record" "$BIN/cache-writer" --redis "$REDIS_URI" --ttl $TTL --layout $layout \
    --prefix "$p" --in "$T/older.rec"
  expect_eq "$layout: the older record left the newer list's expiry alone (ms)" \
    "$(redis-cli -p "$REDIS_PORT" PEXPIRETIME "${p}rec:busy")" "$was"
  if [ $layout = json ]; then
    v=$(redis-cli -p "$REDIS_PORT" GET rec:busy | jq -r .model_version)
    expect_eq "json: the older record left the newer list" "$v" v3
  fi
  check "$layout: a newer record" between_clock_reads "$BIN/cache-writer" --redis "$REDIS_URI" --ttl $TTL --layout $layout \
    --prefix "$p" --in "$T/newer.rec"
  check "$layout: the newer record, from a process that knows no activity, has MIN" \
    expires_as_written "${p}rec:busy" 600000
done

# an active user's key outlives an idle one's, as redis-cli sees it
active=$(redis-cli -p "$REDIS_PORT" PTTL rec:active) idle=$(redis-cli -p "$REDIS_PORT" PTTL rec:idle)
check "active user's key ($active ms) lives longer than an idle user's ($idle ms)" test "$idle" -gt 0 -a "$active" -gt $((idle * 10))

# bad bounds are refused, naming the flag
for bad in adaptive adaptive:10s adaptive:1h:10s adaptive:x:1h adaptive:0:1h; do
  out=$("$BIN/cache-writer" --redis "$REDIS_URI" --ttl "$bad" --in /dev/null 2>&1); rc=$?
  expect_eq "--ttl $bad: exit status" "$rc" 2
  case "$out" in *--ttl*) ;; *) fail "--ttl $bad: the message names --ttl: $out" ;; esac
done
finish
