#!/usr/bin/env bash
# cache-writer on what aggregate really emits (gen-events -> ingest ->
# aggregate), with the default --leaderboard selection: the boards the README
# promises exist and hold the newest window's entries, ranked as aggregate
# ranked them; ratio boards leave out items below their minimum count; item
# and user features land in features: hashes; ranked top-K entries make no
# per-rank metric hashes.
source "$(dirname "$0")/../lib.sh"
export PYTHONPATH=$ROOT/tests/tools
for b in ingest aggregate fbcat cache-writer; do [ -x "$BIN/$b" ] || die "no $BIN/$b"; done
start_redis

"$GEN_EVENTS" --count 12000 --kind interactions --users 800 --items 300 --seed 11 --start 1795000000 \
  >"$T/events.jsonl" || die "gen-events"
"$BIN/ingest" <"$T/events.jsonl" 2>/dev/null | "$BIN/aggregate" --window 60s 2>"$T/agg.err" >"$T/metrics.rec" \
  || die "ingest | aggregate: $(tail -c 300 "$T/agg.err")"
"$BIN/fbcat" <"$T/metrics.rec" >"$T/metrics.jsonl" || die "fbcat"
timeout 60 "$BIN/cache-writer" --redis "$REDIS_URI" --leaderboard-size 25 --in "$T/metrics.rec" 2>"$T/cw.err"
rc=$?; expect_eq "cache-writer exit ($(tail -c 300 "$T/cw.err"))" "$rc" 0

python3 - "$T/metrics.jsonl" "$REDIS_PORT" <<'PY' || fail "leaderboards and features from aggregate's output"
import collections, json, sys, resp
r = resp.Redis(int(sys.argv[2]))
ms = [json.loads(l) for l in open(sys.argv[1])]
lab = lambda m: m["labels"]
def board(key):
    z = r.cmd("ZREVRANGE", key, 0, -1, "WITHSCORES")
    return [(z[i].decode(), float(z[i + 1])) for i in range(0, len(z), 2)]
def newest(name, pred=lambda m: True):
    sel = [m for m in ms if m["name"] == name and pred(m)]
    assert sel, "aggregate emitted no %s" % name
    ws = max(m["window_start"] for m in sel)
    return [m for m in sel if m["window_start"] == ws]

# aggregate's own top-K: one board per name and window length, no rank in the key
for name in ("top.clicks", "top.purchases"):
    last = newest(name)
    want = sorted(last, key=lambda m: int(lab(m)["rank"]))
    got = board("leaderboard:%s:1m" % name)
    assert sorted(i for i, _ in got) == sorted(lab(m)["item_id"] for m in want), (name, got, want[:3])
    assert [s for _, s in got] == sorted((float(m["value"]) for m in want), reverse=True), (name, got)
    assert int(r.cmd("GET", "leaderboard:%s:1m:window" % name)) == last[0]["window_start"]
    assert not r.scan("metric:%s*" % name), "per-rank hashes for " + name

# item.events per event type, by count, trimmed to --leaderboard-size
last = newest("item.events", lambda m: lab(m)["event_type"] == "click")
got = board("leaderboard:item.events:event_type=click:1m")
counts = sorted((m["count"] for m in last), reverse=True)
assert len(got) == min(25, len(last)), (len(got), len(last))
assert [s for _, s in got] == [float(c) for c in counts[:25]], (got[:5], counts[:5])

# ratio boards: by value, only items with at least 20 impressions (ctr) or clicks (conversion)
for name in ("item.ctr", "item.conversion"):
    last = newest(name)
    ok = [m for m in last if m["count"] >= 20]
    got = board("leaderboard:%s:1m" % name)
    assert len(got) == min(25, len(ok)), (name, len(got), len(ok))
    assert [s for _, s in got] == sorted((m.get("value", 0.0) for m in ok), reverse=True)[:25], (name, got[:3])
    assert all(dict((lab(m)["item_id"], m["count"]) for m in last)[i] >= 20 for i, _ in got)

# the feature store: every user.* / item.* feature of the newest window of its key
feats = collections.defaultdict(dict)
for m in ms:
    l = lab(m)
    if len(l) == 1 and m["name"].split(".")[0] + "_id" in l:
        kind, f = m["name"].split(".", 1)
        key = "features:%s:%s" % (kind, l[kind + "_id"])
        old = feats[key].get(f)
        if old is None or m["window_end"] >= old[0]:
            feats[key][f] = (m["window_end"], m.get("value", 0.0))
assert any(k.startswith("features:user:") for k in feats) and any(k.startswith("features:item:") for k in feats)
assert any("ctr" in v for k, v in feats.items() if k.startswith("features:item:"))
bad = 0
for key, fs in feats.items():
    h = r.cmd("HGETALL", key)
    h = {h[i].decode(): float(h[i + 1]) for i in range(0, len(h), 2)}
    for f, (_, v) in fs.items():
        if abs(h.get(f, float("nan")) - v) > 1e-9 * max(1.0, abs(v)):
            bad += 1
            if bad < 5: print("feature", key, f, h.get(f), v)
assert bad == 0, bad
print("boards ok; %d feature hashes checked" % len(feats))
PY
finish
