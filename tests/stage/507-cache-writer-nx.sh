#!/usr/bin/env bash
# cache-writer's two write paths for json recommendations: SET NX for keys it
# has not written, the newer-wins script for keys it has (and for keys an NX
# attempt found). Newer wins across both, whatever the order:
#  1. shuffled versions of users, half of whose keys another writer holds
#     already (some newer than all of ours, some older), at two pipeline depths;
#  2. equal ts in a row (a replay): the later one stays, whether the NX
#     attempt of the first wrote or found the key; one key several times,
#     out of order, within one script call;
#  3. another writer creating or replacing a key between two of our records;
#  4. a second process over existing keys stops trying NX (it would only pay
#     twice) but still writes everything.
source "$(dirname "$0")/../lib.sh"
start_redis
export PYTHONPATH=$ROOT/tests/tools
R="redis-cli -p $REDIS_PORT"
# done line of the log: "set_nx":N,"set_nx_found_key":M,"scripted":K
counter() { grep '"done"' "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
# cache-writer fed step by step through a fifo, so Redis can be changed
# between two of its inputs: fed_start NAME FLAGS... ; fed FILE ; fed_end
# (its exit status; the log in $T/NAME.log)
fed_start() {
  local name=$1; shift
  mkfifo "$T/$name.fifo"
  "$BIN/cache-writer" --redis "$REDIS_URI" "$@" < "$T/$name.fifo" 2>"$T/$name.log" &
  cw=$!
  exec 7>"$T/$name.fifo"
}
fed() { cat "$1" >&7; }
fed_end() { exec 7>&-; wait "$cw"; }

# --- 1. shuffled input over fresh and existing keys
python3 - "$T" <<'PY'
import json, random, sys
t = sys.argv[1]
rnd = random.Random(77)
B = 1795000000000000
recs, newest, other = [], {}, {}
for u in range(2000):
    user = "n%d" % u
    vs = rnd.randrange(1, 6)
    for v in range(vs):
        ts = B + rnd.randrange(10**6) * 100 + v
        rec = {"user_id": user, "items": [{"item_id": "b%d" % rnd.randrange(1000), "score": v + 0.5}],
               "algorithm": "hybrid", "model_version": "ours-%d" % v, "ts": ts}
        recs.append(rec)
        if ts >= newest.get(user, {"ts": -1})["ts"]:
            newest[user] = rec
    if u % 5 == 0:   # another writer holds this key already: newer than ours (u % 10 == 0) or older
        ts = B + 10**9 if u % 10 == 0 else B - 1000
        other[user] = {"ts": ts, "user_id": user, "items": [], "algorithm": "other", "model_version": "theirs"}
rnd.shuffle(recs)
counts = {}
for r in recs: counts[r["user_id"]] = counts.get(r["user_id"], 0) + 1
# a user written once, by its NX attempt only
open(t + "/single", "w").write(next(u for u, n in sorted(counts.items()) if n == 1 and u not in other))
open(t + "/shuf.jsonl", "w").write("".join(json.dumps(r) + "\n" for r in recs))
want = {u: (other[u] if u in other and other[u]["ts"] > r["ts"] else r) for u, r in newest.items()}
json.dump({"other": other, "want": want}, open(t + "/shuf.json", "w"))
PY
"$BIN/fbcat" --encode Recommendation < "$T/shuf.jsonl" > "$T/shuf.rec" || die "fbcat --encode"
preload() {   # the other writer's values, in our json layout
  $R flushall >/dev/null
  python3 - "$T" "$REDIS_PORT" <<'PY'
import json, sys, resp
t, port = sys.argv[1], int(sys.argv[2])
other = json.load(open(t + "/shuf.json"))["other"]
r = resp.Redis(port)
def enc(v):   # ts first, as cache-writer writes it
    return json.dumps({"ts": v["ts"], **{k: x for k, x in v.items() if k != "ts"}}, separators=(",", ":"))
r.pipeline([("SET", "rec:" + u, enc(v)) for u, v in other.items()])
PY
}
check_newest() {
  python3 - "$T" "$REDIS_PORT" <<'PY'
import json, sys, resp
t, port = sys.argv[1], int(sys.argv[2])
want = json.load(open(t + "/shuf.json"))["want"]
r = resp.Redis(port)
users = sorted(want)
vals = r.pipeline([("GET", "rec:" + u) for u in users])
bad = [(u, v) for u, v in zip(users, vals)
       if v is None or json.loads(v)["ts"] != want[u]["ts"] or json.loads(v)["model_version"] != want[u]["model_version"]]
print("keys", len(users), "wrong", len(bad), bad[:3])
sys.exit(1 if bad else 0)
PY
}
for depth in 8 256; do
  preload
  check "shuffled input, pipeline $depth" "$BIN/cache-writer" --redis "$REDIS_URI" --pipeline "$depth" --ttl 1h \
    --in "$T/shuf.rec" 2>"$T/shuf-$depth.log"
  check "every key holds the newest of ours and the other writer's (pipeline $depth)" check_newest
  check "both paths taken, and NX found keys (pipeline $depth): $(grep -o '"set_nx.*' "$T/shuf-$depth.log")" \
    test "$(counter "$T/shuf-$depth.log" set_nx)" -ge 1500 -a "$(counter "$T/shuf-$depth.log" set_nx_found_key)" -ge 200 \
    -a "$(counter "$T/shuf-$depth.log" checked)" -ge 1000
  expect_eq "one acknowledged write per record, fallbacks not counted twice (pipeline $depth)" \
    "$(counter "$T/shuf-$depth.log" writes)" "$(wc -l < "$T/shuf.jsonl")"
  ttl=$($R ttl "rec:$(cat "$T/single")")
  check "an NX write sets the TTL ($ttl)" test "$ttl" -gt 3500 -a "$ttl" -le 3600
done

# --- 2. equal ts in a row: the later record stays, by either path
python3 - > "$T/eq.jsonl" <<'PY'
import json
for user in ("e-fresh", "e-held"):
    for mv in ("first", "second"):
        print(json.dumps({"user_id": user, "ts": 1795000000000007, "items": [{"item_id": "b1", "score": 1}],
                          "algorithm": "pop", "model_version": mv}))
PY
"$BIN/fbcat" --encode Recommendation < "$T/eq.jsonl" > "$T/eq.rec" || die "encode"
$R flushall >/dev/null
$R set rec:e-held '{"ts":1795000000000001,"model_version":"old"}' >/dev/null
check "equal ts" "$BIN/cache-writer" --redis "$REDIS_URI" --in "$T/eq.rec"
for user in e-fresh e-held; do
  check "$user: the later of two equal-ts records stays" sh -c "$R get rec:$user | grep -q '\"model_version\":\"second\"'"
done

# --- 2b. one key several times in one script call, out of order: each record
# is checked against what the ones before it in the call left
python3 - > "$T/dup.jsonl" <<'PY'
import json
for ts in (1, 5, 3, 7, 6):
    print(json.dumps({"user_id": "d", "ts": 1795000000000000 + ts, "items": [{"item_id": "b1", "score": 1}],
                      "algorithm": "pop", "model_version": "v%d" % ts}))
PY
"$BIN/fbcat" --encode Recommendation < "$T/dup.jsonl" > "$T/dup.rec" || die "encode"
$R flushall >/dev/null
check "one key in one call" "$BIN/cache-writer" --redis "$REDIS_URI" --pipeline 64 --in "$T/dup.rec"
check "the newest of one key's records in one call stays ($($R get rec:d | head -c 60))" \
  sh -c "$R get rec:d | grep -q '\"model_version\":\"v7\"'"

# --- 2c. a group mixing keys ours replaces and keys holding newer values
# (with --ttl, a prefix): what is newer stays with its own TTL, the rest is
# written with ours, and nothing set aside is left behind
python3 - > "$T/mix.jsonl" <<'PY'
import json
for i in range(40):
    print(json.dumps({"user_id": "mx%d" % i, "ts": 1795000000000100, "items": [{"item_id": "b1", "score": 1}],
                      "algorithm": "pop", "model_version": "ours"}))
PY
"$BIN/fbcat" --encode Recommendation < "$T/mix.jsonl" > "$T/mix.rec" || die "encode"
$R flushall >/dev/null
for i in $(seq 0 39); do
  if [ $((i % 3)) = 0 ]; then $R set "p:rec:mx$i" '{"ts":1795000000000200,"model_version":"theirs-newer"}' EX 1000 >/dev/null
  else $R set "p:rec:mx$i" '{"ts":1795000000000050,"model_version":"theirs-older"}' EX 1000 >/dev/null; fi
done
check "mixed group" "$BIN/cache-writer" --redis "$REDIS_URI" --prefix p: --ttl 1h --pipeline 64 --in "$T/mix.rec" 2>"$T/mix.log"
check "mixed group: every key went through the checked path" test "$(counter "$T/mix.log" checked)" -ge 30
check "mixed group: newer values and their TTL stay, older ones replaced with our TTL" python3 - "$REDIS_PORT" <<'PY'
import sys, resp
r = resp.Redis(int(sys.argv[1]))
for i in range(40):
    v, ttl = r.cmd("GET", "p:rec:mx%d" % i), r.cmd("TTL", "p:rec:mx%d" % i)
    if i % 3 == 0:
        assert b"theirs-newer" in v and 0 < ttl <= 1000, (i, v, ttl)
    else:
        assert b'"model_version":"ours"' in v and 1000 < ttl <= 3600, (i, v, ttl)
PY
expect_eq "mixed group: no set-aside key is left" "$($R --scan --pattern '*held*' | wc -l)" 0

# --- 3. another writer between two of our records (a pipe, fed step by step)
python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
def rec(user, ts, mv):
    return json.dumps({"user_id": user, "ts": ts, "items": [{"item_id": "b1", "score": 1}],
                       "algorithm": "pop", "model_version": mv}) + "\n"
B = 1795000000000000
open(t + "/s1.jsonl", "w").write(rec("x", B + 10, "ours-10"))
open(t + "/s2.jsonl", "w").write(rec("x", B + 20, "ours-20") + rec("y", B + 40, "ours-40") + rec("z", B + 40, "ours-40"))
PY
for s in s1 s2; do "$BIN/fbcat" --encode Recommendation < "$T/$s.jsonl" > "$T/$s.rec" || die "encode"; done
$R flushall >/dev/null
fed_start between
fed "$T/s1.rec"
check "our first record for x is in Redis" wait_until 120 "$R get rec:x | grep -q ours-10"
# the other writer: x replaced by a newer list (after we wrote it: we know x),
# y created newer than ours, z created older than ours (neither known to us)
$R set rec:x '{"ts":1795000000000030,"model_version":"theirs-30"}' >/dev/null
$R set rec:y '{"ts":1795000000000050,"model_version":"theirs-50"}' >/dev/null
$R set rec:z '{"ts":1795000000000005,"model_version":"theirs-5"}' >/dev/null
fed "$T/s2.rec"
fed_end; expect_eq "cache-writer exit" "$?" 0
check "x: their newer value stays (ours came after it, older)" sh -c "$R get rec:x | grep -q theirs-30"
check "y: their newer value stays (our NX found it)" sh -c "$R get rec:y | grep -q theirs-50"
check "z: ours replaces their older value (NX found it, the script wrote)" sh -c "$R get rec:z | grep -q ours-40"

# --- 4. a new process over keys that all exist: NX is given up after a window
python3 - > "$T/many.jsonl" <<'PY'
import json
for gen in range(2):
    for u in range(20000):
        print(json.dumps({"user_id": "m%d" % u, "ts": 1795000000000000 + gen * 10**6 + u,
                          "items": [{"item_id": "b1", "score": 1}], "algorithm": "pop", "model_version": "g%d" % gen}))
PY
head -n 20000 "$T/many.jsonl" | "$BIN/fbcat" --encode Recommendation > "$T/gen0.rec"
tail -n 20000 "$T/many.jsonl" | "$BIN/fbcat" --encode Recommendation > "$T/gen1.rec"
$R flushall >/dev/null
check "first process" "$BIN/cache-writer" --redis "$REDIS_URI" --pipeline 64 --in "$T/gen0.rec" 2>"$T/gen0.log"
expect_eq "first process: every key fresh, all NX" "$(counter "$T/gen0.log" set_nx)" 20000
check "second process" "$BIN/cache-writer" --redis "$REDIS_URI" --pipeline 64 --in "$T/gen1.rec" 2>"$T/gen1.log"
nx=$(counter "$T/gen1.log" set_nx)
check "second process: NX tried on a few keys only ($nx of 20000)" test "$nx" -ge 1 -a "$nx" -le 1500
check "second process: every key holds generation 1" python3 - "$REDIS_PORT" <<'PY'
import json, sys, resp
r = resp.Redis(int(sys.argv[1]))
vals = r.pipeline([("GET", "rec:m%d" % u) for u in range(20000)])
assert all(v is not None and json.loads(v)["model_version"] == "g1" for v in vals)
PY

# --- 5. a group refused as a whole (Redis over maxmemory refuses the MSET
# while queueing, and EXEC then aborts): each record is dead-lettered with
# the reason Redis gave, not just EXECABORT, and nothing is written
python3 - "$T" <<'PY'
import json, sys
def rec(ts, mv):
    return json.dumps({"user_id": "oom", "ts": ts, "items": [{"item_id": "b1", "score": 1}],
                       "algorithm": "pop", "model_version": mv}) + "\n"
open(sys.argv[1] + "/o1.jsonl", "w").write(rec(1795000000000001, "first"))
open(sys.argv[1] + "/o2.jsonl", "w").write(rec(1795000000000002, "second"))
PY
for s in o1 o2; do "$BIN/fbcat" --encode Recommendation < "$T/$s.jsonl" > "$T/$s.rec" || die "encode"; done
$R flushall >/dev/null
fed_start oom --dead-letter "$T/oom.dl"
fed "$T/o1.rec"
check "first record written" wait_until 120 "$R get rec:oom | grep -q first"
$R config set maxmemory-policy noeviction >/dev/null; $R config set maxmemory 1 >/dev/null
fed "$T/o2.rec"              # a key it wrote: the group transaction
fed_end; rc=$?
$R config set maxmemory 0 >/dev/null
expect_eq "over maxmemory: exit (errors are dead-lettered)" "$rc" 0
expect_eq "over maxmemory: one dead letter" "$(wc -l < "$T/oom.dl" 2>/dev/null)" 1
check "over maxmemory: the dead letter gives Redis's reason ($(head -c 300 "$T/oom.dl"))" grep -q 'rec:oom.*OOM' "$T/oom.dl"
check "over maxmemory: the stored value is untouched" sh -c "$R get rec:oom | grep -q first"
expect_eq "over maxmemory: no set-aside key is left" "$($R --scan --pattern '*held*' | wc -l)" 0

# --- 6. tiny windows (1-3 records in flight, groups of 1): a second process
# overwrites through the NX fallback and the groups; every key ends newest
python3 - > "$T/tiny.jsonl" <<'PY'
import json
for gen in range(2):
    for u in range(300):
        print(json.dumps({"user_id": "t%d" % (u % 150), "ts": 1795000000000000 + gen * 10**6 + u,
                          "items": [{"item_id": "b1", "score": 1}], "algorithm": "pop", "model_version": "g%d-%d" % (gen, u)}))
PY
head -n 300 "$T/tiny.jsonl" | "$BIN/fbcat" --encode Recommendation > "$T/tiny0.rec"
tail -n 300 "$T/tiny.jsonl" | "$BIN/fbcat" --encode Recommendation > "$T/tiny1.rec"
for depth in 1 2 3; do
  $R flushall >/dev/null
  check "tiny window $depth: first run" "$BIN/cache-writer" --redis "$REDIS_URI" --pipeline "$depth" --in "$T/tiny0.rec"
  check "tiny window $depth: second run" "$BIN/cache-writer" --redis "$REDIS_URI" --pipeline "$depth" --in "$T/tiny1.rec"
  check "tiny window $depth: every key holds its newest record" python3 - "$REDIS_PORT" <<'PY'
import json, sys, resp
r = resp.Redis(int(sys.argv[1]))
for u in range(150):
    v = json.loads(r.cmd("GET", "rec:t%d" % u))
    assert v["model_version"] == "g1-%d" % (u + 150), (u, v)
PY
done

# --- 7. a stale set-aside list (left by a failed restore, or written by
# someone else) does not make later groups fail; the next script group
# removes it (checked groups do not touch it: here, the next connect's probe)
$R flushall >/dev/null
fed_start stale --dead-letter "$T/stale.dl"
fed "$T/tiny0.rec"
check "stale list: first records written" wait_until 120 "$R get rec:t149 | grep -q g0-299"
$R rpush cache-writer:held rec:gone >/dev/null      # names a set-aside key that is not there
fed "$T/tiny1.rec"                                  # keys it knows: groups
fed_end; expect_eq "stale list: exit" "$?" 0
expect_eq "stale list: nothing dead-lettered" "$(cat "$T/stale.dl" 2>/dev/null | wc -l)" 0
check "stale list: the newest records are written" sh -c "$R get rec:t149 | grep -q g1-299"
"$BIN/cache-writer" --redis "$REDIS_URI" --in /dev/null 2>/dev/null
expect_eq "stale list: removed" "$($R exists cache-writer:held)" 0

# --- 8. a Redis user that may not run the transaction: refused at start,
# naming why, and nothing is written unchecked
$R flushall >/dev/null
$R acl setuser nomulti on '>pw' '~*' '+@all' '-multi' >/dev/null
$R set rec:t1 '{"ts":1795000099999999,"model_version":"newest"}' >/dev/null
"$BIN/cache-writer" --redis "redis://nomulti:pw@127.0.0.1:$REDIS_PORT" --in "$T/tiny1.rec" 2>"$T/acl.log"
expect_eq "no MULTI allowed: exit" "$?" 1
check "no MULTI allowed: the log names the transaction ($(tail -n 1 "$T/acl.log" | head -c 300))" \
  grep -q 'newer-wins transaction does not work.*MULTI' "$T/acl.log"
check "no MULTI allowed: the newer value is untouched" sh -c "$R get rec:t1 | grep -q newest"
expect_eq "no MULTI allowed: nothing written" "$($R dbsize)" 1
$R acl deluser nomulti >/dev/null
finish
