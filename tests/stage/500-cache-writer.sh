#!/usr/bin/env bash
# cache-writer against a real redis-server: every layout, TTLs, metric
# hashes, features, leaderboards trimmed, newer-wins with shuffled input, and
# a Redis error reply dead-lettered without stopping the rest.
source "$(dirname "$0")/../lib.sh"
start_redis
export PYTHONPATH=$ROOT/tests/tools
R="redis-cli -p $REDIS_PORT"

# --- input: 300 users x 4 versions of their list, shuffled; metrics likewise
python3 - "$T" <<'PY'
import json, random, sys
t = sys.argv[1]
rnd = random.Random(1234)
recs, newest = [], {}
for u in range(300):
    for v in range(4):
        ts = 1795000000000000 + rnd.randrange(10**9) * 1000 + v   # distinct per version
        items = [{"item_id": "b%d" % rnd.randrange(10000), "score": round(rnd.random() * 10, 6)} for _ in range(10)]
        rec = {"user_id": "u%d" % u, "items": items, "algorithm": "hybrid", "model_version": "v%d" % v, "ts": ts}
        recs.append(rec)
        if ts > newest.get("u%d" % u, {"ts": -1})["ts"]:
            newest["u%d" % u] = rec
rnd.shuffle(recs)
open(t + "/recs.jsonl", "w").write("".join(json.dumps(r) + "\n" for r in recs))
json.dump(newest, open(t + "/recs.newest.json", "w"))

mets, exp = [], {"hash": {}, "feat": {}, "lb": {}}
W = 60 * 10**6
for w in range(5):
    ws = 1795000000 * 10**6 + w * W
    for et in ("click", "view"):
        m = {"name": "events", "labels": [{"key": "event_type", "value": et}], "window_start": ws,
             "window_end": ws + W, "count": 100 * w + len(et), "sum": 1.5 * w, "min": 0.5, "max": 9.0,
             "mean": 1.25 + w, "stddev": 0.5, "quantiles": [{"q": 0.5, "value": 1.0 + w}, {"q": 0.999, "value": 8.0 + w}]}
        mets.append(m)
        exp["hash"]["metric:events:event_type=" + et] = m          # last window is the newest
    for i in range(30):                                               # 30 items, board keeps 5
        m = {"name": "item.events", "labels": [{"key": "item_id", "value": "b%d" % i}, {"key": "event_type", "value": "click"}],
             "window_start": ws, "window_end": ws + W, "count": (i * 7 + w * 3) % 31 + 1}
        mets.append(m)
        if w == 4:
            exp["lb"]["b%d" % i] = m["count"]
    for u in range(20):
        m = {"name": "user.interactions", "labels": [{"key": "user_id", "value": "u%d" % u}],
             "window_start": ws, "window_end": ws + W, "value": float(w * 100 + u)}
        mets.append(m)
        exp["feat"]["u%d" % u] = w * 100 + u
rnd.shuffle(mets)
open(t + "/metrics.jsonl", "w").write("".join(json.dumps(m) + "\n" for m in mets))
json.dump(exp, open(t + "/metrics.exp.json", "w"))
PY
"$BIN/fbcat" --encode Recommendation < "$T/recs.jsonl" > "$T/recs.rec" || die "fbcat --encode Recommendation"
"$BIN/fbcat" --encode Metric < "$T/metrics.jsonl" > "$T/metrics.rec" || die "fbcat --encode Metric"

# --- json layout with TTL; small pipeline to exercise the sliding window
check "cache-writer json" "$BIN/cache-writer" --redis "$REDIS_URI" --ttl 1h --pipeline 7 --in "$T/recs.rec"
python3 - "$T" "$REDIS_PORT" <<'PY' || fail "json layout holds the newest list of every user"
import json, sys, resp
t, port = sys.argv[1], int(sys.argv[2])
r = resp.Redis(port)
newest = json.load(open(t + "/recs.newest.json"))
users = sorted(newest)
vals = r.pipeline([("GET", "rec:" + u) for u in users])
ttls = r.pipeline([("TTL", "rec:" + u) for u in users])
bad = 0
for u, v, ttl in zip(users, vals, ttls):
    got = json.loads(v)
    want = newest[u]
    if got["ts"] != want["ts"] or got["model_version"] != want["model_version"] or got["items"] != want["items"] \
       or got["user_id"] != u or got["algorithm"] != "hybrid":
        bad += 1; print("mismatch", u, got, want)
    if not (3500 <= ttl <= 3600):
        bad += 1; print("ttl", u, ttl)
assert bad == 0, bad
assert len(r.scan("rec:*")) == 300
PY

# --- zset layout, prefixed
check "cache-writer zset" "$BIN/cache-writer" --redis "$REDIS_URI" --layout zset --prefix z: --in "$T/recs.rec"
python3 - "$T" "$REDIS_PORT" <<'PY' || fail "zset layout: newest items and scores, version key"
import json, sys, resp
t, port = sys.argv[1], int(sys.argv[2])
r = resp.Redis(port)
newest = json.load(open(t + "/recs.newest.json"))
for u, want in newest.items():
    z = r.cmd("ZRANGE", "z:rec:" + u, 0, -1, "WITHSCORES")
    got = {z[i].decode(): float(z[i + 1]) for i in range(0, len(z), 2)}
    exp = {}
    for it in want["items"]:
        exp[it["item_id"]] = it["score"]      # a repeated item keeps its last score
    assert got == exp, (u, got, exp)
    assert int(r.cmd("GET", "z:rec:%s:ts" % u)) == want["ts"]
    assert r.cmd("TTL", "z:rec:" + u) == -1   # no --ttl: no expiry
PY

# --- fb layout: zstd-compressed FlatBuffer, decoded back through fbcat
check "cache-writer fb" "$BIN/cache-writer" --redis "$REDIS_URI" --layout fb --prefix f: --ttl 30m --in "$T/recs.rec"
python3 - "$T" "$REDIS_PORT" "$BIN/fbcat" <<'PY' || fail "fb layout decodes to the newest record"
import json, struct, subprocess, sys, resp
t, port, fbcat = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = resp.Redis(port)
newest = json.load(open(t + "/recs.newest.json"))
users = sorted(newest)[:40]
stream = b""
for u in users:
    blob = r.cmd("GET", "f:rec:" + u)
    raw = subprocess.run(["zstd", "-dc"], input=blob, capture_output=True, check=True).stdout
    stream += struct.pack("<I", len(raw)) + raw
out = subprocess.run([fbcat], input=stream, capture_output=True, check=True).stdout.decode().splitlines()
for u, line in zip(users, out):
    got = json.loads(line)
    assert got["user_id"] == u and got["ts"] == newest[u]["ts"], (got, newest[u])
    assert [i["item_id"] for i in got["items"]] == [i["item_id"] for i in newest[u]["items"]]
    assert int(r.cmd("GET", "f:rec:%s:ts" % u)) == newest[u]["ts"]
    for k in ("f:rec:" + u, "f:rec:%s:ts" % u):     # --ttl 30m on the value and its version
        assert 1700 <= r.cmd("TTL", k) <= 1800, (k, r.cmd("TTL", k))
PY

# --- metrics: hashes, features, leaderboards (size 5), newer wins
check "cache-writer metrics" "$BIN/cache-writer" --redis "$REDIS_URI" --leaderboard-size 5 --metric-ttl 10m --in "$T/metrics.rec"
python3 - "$T" "$REDIS_PORT" <<'PY' || fail "metric hashes, features and leaderboards"
import json, sys, resp
t, port = sys.argv[1], int(sys.argv[2])
r = resp.Redis(port)
exp = json.load(open(t + "/metrics.exp.json"))
for key, m in exp["hash"].items():
    h = r.cmd("HGETALL", key)
    h = {h[i].decode(): h[i + 1].decode() for i in range(0, len(h), 2)}
    assert int(h["count"]) == m["count"] and float(h["mean"]) == m["mean"], (key, h, m)
    assert int(h["window_end"]) == m["window_end"]
    assert float(h["p50"]) == m["quantiles"][0]["value"] and float(h["p999"]) == m["quantiles"][1]["value"], h
    assert 0 < r.cmd("TTL", key) <= 600
for u, v in exp["feat"].items():
    assert float(r.cmd("HGET", "features:user:" + u, "interactions")) == v, u
    assert 0 < r.cmd("TTL", "features:user:" + u) <= 600
for k in ("leaderboard:item.events:event_type=click:1m", "leaderboard:item.events:event_type=click:1m:window"):
    assert 0 < r.cmd("TTL", k) <= 600, k
lb = r.cmd("ZREVRANGE", "leaderboard:item.events:event_type=click:1m", 0, -1, "WITHSCORES")
got = [(lb[i].decode(), float(lb[i + 1])) for i in range(0, len(lb), 2)]
want = sorted(exp["lb"].items(), key=lambda kv: (-kv[1], kv[0]))
assert len(got) == 5, got
assert [s for _, s in got] == [float(s) for _, s in want[:5]], (got, want[:5])
PY

# --- a Redis error reply (wrong type at a key) is dead-lettered; the rest is written
$R del rec:u1 rec:u2 >/dev/null; $R lpush rec:u1 not-a-string >/dev/null
"$BIN/cache-writer" --redis "$REDIS_URI" --in "$T/recs.rec" --dead-letter "$T/dl.jsonl" 2>"$T/err.log"
expect_eq "exit status with an error reply" "$?" 0
expect_eq "dead-lettered records (4 versions of u1)" "$(wc -l < "$T/dl.jsonl")" 4
check "dead letter names key and reason" grep -q 'rec:u1.*WRONGTYPE' "$T/dl.jsonl"
check "u2 still written" sh -c "$R get rec:u2 | grep -q '\"user_id\":\"u2\"'"
# the group's transaction moved the list aside and back: it is untouched
expect_eq "the wrong-type key keeps its value" "$($R lrange rec:u1 0 -1)" "not-a-string"
expect_eq "no set-aside key is left" "$($R --scan --pattern '*cache-writer:held*' | wc -l)" 0

# --- usage errors exit 2 and name the flag
"$BIN/cache-writer" --layout xml </dev/null 2>"$T/usage.err"; expect_eq "bad --layout exit" "$?" 2
check "bad --layout is named" grep -q -- '--layout' "$T/usage.err"
"$BIN/cache-writer" --redis http://x </dev/null 2>"$T/usage.err"; expect_eq "bad --redis exit" "$?" 2
"$BIN/cache-writer" --leaderboard 'item.ctr@many' </dev/null 2>"$T/usage.err"; expect_eq "bad --leaderboard exit" "$?" 2
check "bad --leaderboard is named with the entry" grep -q -- "--leaderboard: 'item.ctr@many'" "$T/usage.err"
finish
