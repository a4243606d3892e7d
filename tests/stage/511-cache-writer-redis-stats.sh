#!/usr/bin/env bash
# cache-writer --redis-stats: Redis's own figures as Metric records. On a
# server nobody else touches, the last sample equals what INFO says right
# after (hits, misses, expired and evicted keys, keys; used_memory within
# what our own connections change), the keys and MEMORY USAGE per key
# prefix equal a full SCAN's (the sample covers all keys), the hit rate of
# later windows counts exactly the lookups made between samples, the
# sampling itself counts no hit or miss; with --redis-stats-keys below the
# key count, at most that many keys are examined per sample and the
# estimates add up to INFO's key count; at most that many are asked about
# when MEMORY USAGE is refused (ACL).
source "$(dirname "$0")/../lib.sh"
REDIS_ARGS="--maxmemory 3mb --maxmemory-policy allkeys-lru" start_redis
export PYTHONPATH=$ROOT/tests/tools
P=$REDIS_PORT

# evictions: 10 KB junk values beyond maxmemory, then no limit (nothing more is evicted)
python3 - "$P" <<'PY' || die "filling Redis"
import sys, resp
r = resp.Redis(int(sys.argv[1]))
r.pipeline([("SET", "junk:%d" % i, "x" * 10000) for i in range(500)])
assert int(r.cmd("INFO", "stats").decode().split("evicted_keys:")[1].split()[0]) > 0, "nothing evicted"
r.cmd("CONFIG", "SET", "maxmemory", "0")
PY
# every kind of key cache-writer writes: rec (json), metric, features, leaderboard
python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
recs = [{"user_id": "u%d" % u, "ts": 1795000000000000 + u, "items": [{"item_id": "b1", "score": 1.0}],
         "algorithm": "hybrid", "model_version": "v"} for u in range(40)]
open(t + "/recs.jsonl", "w").write("".join(json.dumps(r) + "\n" for r in recs))
W = 60 * 10**6; ws = 1795000000 * 10**6
mets = [{"name": "events", "labels": [{"key": "event_type", "value": e}], "window_start": ws, "window_end": ws + W,
         "count": 3} for e in ("click", "view")]
mets += [{"name": "user.clicks", "labels": [{"key": "user_id", "value": "u%d" % u}], "window_start": ws,
          "window_end": ws + W, "value": 2.0} for u in range(3)]
mets += [{"name": "item.events", "labels": [{"key": "item_id", "value": "b%d" % i}, {"key": "event_type", "value": "click"}],
          "window_start": ws, "window_end": ws + W, "count": i + 1} for i in range(4)]
open(t + "/metrics.jsonl", "w").write("".join(json.dumps(m) + "\n" for m in mets))
PY
cat "$T/recs.jsonl" | "$BIN/fbcat" --encode Recommendation > "$T/in.rec"
"$BIN/fbcat" --encode Metric < "$T/metrics.jsonl" >> "$T/in.rec"
check "cache-writer fills Redis" "$BIN/cache-writer" --redis "$REDIS_URI" --in "$T/in.rec" --log-level warn
# expired keys (expired on access: 5 misses too), 30 hits, 10 misses
hm=$(python3 - "$P" <<'PY'

import sys, time, resp
r = resp.Redis(int(sys.argv[1]))
r.pipeline([("SET", "tmp:%d" % i, "v", "PX", "1") for i in range(5)])
time.sleep(0.05)
assert r.pipeline([("GET", "tmp:%d" % i) for i in range(5)]) == [None] * 5
assert all(r.pipeline([("GET", "rec:u%d" % u) for u in range(30)]))
assert r.pipeline([("GET", "rec:none%d" % u) for u in range(10)]) == [None] * 10
# cache-writer's own checks (the scripts' GETRANGE, HGET) count too
st = r.cmd("INFO", "stats").decode()
print(st.split("keyspace_hits:")[1].split()[0], st.split("keyspace_misses:")[1].split()[0])
PY
) || die "lookups"

samples() { grep -c '"redis.used_memory"' "$T/stats.jsonl" 2>/dev/null; }
"$BIN/cache-writer" --redis "$REDIS_URI" --redis-stats 300ms --format json --out "$T/stats.jsonl" 2>"$T/stats.err" &
pid=$!
at_exit "kill $pid"
wait_until 20 '[ "$(samples)" -ge 1 ]' || fail "no sample within 20 s"
# lookups while it samples: 8 hits, 2 misses, in whichever windows they fall
python3 -c "
import sys, resp
r = resp.Redis($P)
assert all(r.pipeline([('GET', 'rec:u%d' % u) for u in range(8)]))
assert r.pipeline([('GET', 'nope:1'), ('GET', 'nope:2')]) == [None, None]
"
n0=$(samples)
wait_until 20 '[ "$(samples)" -ge $((n0 + 2)) ]' || fail "no two more samples within 20 s"
kill -TERM $pid; wait $pid; rc=$?
expect_eq "--redis-stats: exit status after SIGTERM" "$rc" 0
"$BIN/fbcat" --encode Metric < "$T/stats.jsonl" > "$T/stats.rec" || fail "the samples are well-formed Metric records"

python3 - "$T/stats.jsonl" "$P" $hm <<'PY' || fail "the samples match INFO and a full SCAN"
import json, sys, resp
recs = [json.loads(l) for l in open(sys.argv[1])]
r = resp.Redis(int(sys.argv[2]))
info = {}
for line in r.cmd("INFO").decode().split("\r\n"):
    if ":" in line and not line.startswith("#"):
        k, v = line.split(":", 1); info[k] = v
lab = lambda m: m.get("labels") or {}   # the jq JSON form: labels as an object
last = {}
for m in recs:
    last[(m["name"], lab(m).get("prefix"))] = m
val = lambda name, prefix=None: last[(name, prefix)].get("value", 0)
bad = []
def want(what, got, exp):
    if got != exp: bad.append("%s: %s, INFO/SCAN says %s" % (what, got, exp))
for name, field in (("keyspace_hits", "keyspace_hits"), ("keyspace_misses", "keyspace_misses"),
                    ("expired_keys", "expired_keys"), ("evicted_keys", "evicted_keys")):
    want("redis." + name, val("redis." + name), int(info[field]))
db0 = dict(kv.split("=") for kv in info["db0"].split(","))
want("redis.keys", val("redis.keys"), int(db0["keys"]))
want("redis.keys_with_expiry", val("redis.keys_with_expiry"), int(db0.get("expires", 0)))
um = val("redis.used_memory")
if abs(um - int(info["used_memory"])) > 256 * 1024:   # client buffers come and go between the two reads
    bad.append("used_memory %d vs INFO %s" % (um, info["used_memory"]))
want("redis.scan.exact", val("redis.scan.exact"), 1)
# per kind: a full SCAN and MEMORY USAGE of every key, classified here
kinds = {}
for k in r.scan("*"):
    k = k.decode()
    kind = k.split(":")[0] if k.split(":")[0] in ("rec", "metric", "features", "leaderboard", "cache-writer") else "other"
    n, b = kinds.get(kind, (0, 0))
    kinds[kind] = (n + 1, b + r.cmd("MEMORY", "USAGE", k))
for kind in ("rec", "metric", "features", "leaderboard", "cache-writer", "other"):
    n, b = kinds.get(kind, (0, 0))
    want("redis.prefix.keys{%s}" % kind, val("redis.prefix.keys", kind), n)
    want("redis.prefix.memory_bytes{%s}" % kind, val("redis.prefix.memory_bytes", kind), b)
for kind, n in (("rec", 40), ("features", 6), ("leaderboard", 2)):
    want("keys of kind %s" % kind, kinds.get(kind, (0, 0))[0], n)
# the hit rate: the first window since Redis started (what INFO said before
# sampling: our 30 hits and 15 misses and cache-writer's own lookups);
# after it, exactly the 8 hits and 2 misses made meanwhile
hr = [m for m in recs if m["name"] == "redis.hit_rate"]
first_end = recs[0]["window_end"]
before = [m for m in hr if m["window_end"] == first_end]
after = [m for m in hr if m["window_end"] > first_end]
h0, m0 = int(sys.argv[3]), int(sys.argv[4])
if h0 < 30 or m0 < 15: bad.append("INFO before sampling: %d hits, %d misses" % (h0, m0))
want("first window's hit rate", [(m.get("sum"), m.get("count")) for m in before], [(h0, h0 + m0)])
want("hits and lookups after the first sample", (sum(m.get("sum", 0) for m in after), sum(m.get("count", 0) for m in after)), (8, 10))
for m in hr:
    if abs(m["value"] - m.get("sum", 0) / m["count"]) > 1e-12: bad.append("hit_rate value %s" % m)
# the counters' increases add up to the counter
inc = sum(m.get("count", 0) for m in recs if m["name"] == "redis.keyspace_hits")
want("keyspace_hits increases", inc, int(info["keyspace_hits"]))
# windows follow each other
ends = sorted({m["window_end"] for m in recs})
starts = sorted({m["window_start"] for m in recs})
want("windows chain", starts[1:], ends[:-1])
print("\n".join(bad)); print(len(recs), "records,", len(ends), "samples")
sys.exit(1 if bad else 0)
PY

# the shipped cache-health rules (the block at the end of the default rules),
# without their for: durations, fire on these samples: redis_evicting (the
# junk evicted before the first window) and nothing else (no maxmemory now,
# no cache-writer:* keys left, hit rate above 0.5)
{ echo "rules:"; sed -n '/---- cache health/,/---- end of cache health/p' "$ROOT/stages/alerter/rules.default.alerter.yaml" |
  sed 's/^    for: .*/    for: 0s/'; } > "$T/cache-rules.yaml"
"$BIN/alerter" --rules "$T/cache-rules.yaml" --in "$T/stats.rec" --format json > "$T/alerts.jsonl" 2>"$T/alerter.err" ||
  fail "alerter on the samples: $(tail -n 3 "$T/alerter.err")"
fired=$(jq -r 'select((.status // "firing") == "firing") | .rule' "$T/alerts.jsonl" | sort -u | tr '\n' ' ')
expect_eq "cache-health rules that fire" "$fired" "redis_evicting "

# to Kafka, as the unit streamrec-cache-writer-stats@ runs it: whole samples on the topic
start_kafka metrics:1
X=(-X topic.metadata.refresh.interval.ms=1000)
"$BIN/cache-writer" --redis "$REDIS_URI" --redis-stats 200ms --out "kafka://$KAFKA/metrics" "${X[@]}" 2>"$T/kafka.err" &
pid3=$!
at_exit "kill $pid3"
# a sample begins with INFO: two INFOs of its own mean the first sample was
# handed to the producer (each probe here is one INFO too: the i-th sees i)
info_calls() { redis-cli -p "$P" INFO commandstats | awk -F'[:=,]' '$1 == "cmdstat_info" { n = $3 } END { print n + 0 }'; }
base=$(info_calls) probes=0
wait_until 120 'probes=$((probes + 1)); [ $(($(info_calls) - base - probes)) -ge 2 ] || ! kill -0 $pid3 2>/dev/null' ||
  fail "--redis-stats to Kafka: no two samples begun in 120 s"
kill -TERM $pid3; wait $pid3; rc=$?
expect_eq "--redis-stats to Kafka: exit status after SIGTERM" "$rc" 0
timeout 60 "$BIN/fbcat" --in "kafka://$KAFKA/metrics?group=check&eof=1" "${X[@]}" --format json > "$T/kafka.jsonl" 2>"$T/fbcat.err" ||
  fail "reading the metrics topic: $(tail -n 2 "$T/fbcat.err")"
n=$(grep -c '"redis.used_memory"' "$T/kafka.jsonl"); m=$(grep -c '"redis.keyspace_hits"' "$T/kafka.jsonl")
check "samples on the metrics topic ($n)" test "$n" -ge 1
expect_eq "every sample whole on the topic" "$m" "$n"

# bounded: 20 keys a sample of ~250
"$BIN/cache-writer" --redis "$REDIS_URI" --redis-stats 200ms --redis-stats-keys 20 --format json \
  > "$T/small.jsonl" 2>"$T/small.err" &
pid2=$!
at_exit "kill $pid2"
wait_until 20 '[ "$(grep -c "\"redis.used_memory\"" "$T/small.jsonl")" -ge 3 ]' || fail "bounded: no 3 samples in 20 s"
kill -TERM $pid2; wait $pid2
python3 - "$T/small.jsonl" <<'PY' || fail "bounded sampling"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
bad = []
for end in sorted({m["window_end"] for m in recs}):
    s = [m for m in recs if m["window_end"] == end]
    get = lambda n: [m.get("value", 0) for m in s if m["name"] == n]
    if not s or not get("redis.scan.sampled_keys"): continue
    if not 0 < get("redis.scan.sampled_keys")[0] <= 20: bad.append("sampled %s" % get("redis.scan.sampled_keys"))
    if get("redis.scan.exact")[0] != 0: bad.append("exact with 20 of %s keys" % get("redis.keys"))
    total = sum(get("redis.prefix.keys"))
    if abs(total - get("redis.keys")[0]) > 1e-6 * total: bad.append("estimates add to %s, not %s" % (total, get("redis.keys")))
    if sum(m.get("count", 0) for m in s if m["name"] == "redis.prefix.keys") != get("redis.scan.sampled_keys")[0]:
        bad.append("per-prefix counts do not add up to the keys examined")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
# still bounded when MEMORY USAGE is refused (a user without it): 20 keys
# asked about a sample, not the whole database walked for 20 answers
redis-cli -p "$P" ACL SETUSER nomem on '>pw' '~*' '&*' +@all -memory >/dev/null || die "ACL SETUSER"
redis-cli -p "$P" CONFIG RESETSTAT >/dev/null
"$BIN/cache-writer" --redis "redis://nomem:pw@127.0.0.1:$P" --redis-stats 200ms --redis-stats-keys 20 \
  --format json > "$T/nomem.jsonl" 2>"$T/nomem.err" &
pid4=$!
at_exit "kill $pid4"
wait_until 20 '[ "$(grep -c "\"redis.used_memory\"" "$T/nomem.jsonl")" -ge 2 ]' || fail "MEMORY refused: no 2 samples in 20 s"
kill -TERM $pid4; wait $pid4
n=$(grep -c '"redis.used_memory"' "$T/nomem.jsonl")
asked=$(redis-cli -p "$P" INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_memory|usage:.*rejected_calls=\([0-9]*\).*/\1/p')
check "MEMORY USAGE refused: its warning logged" grep -q "MEMORY USAGE" "$T/nomem.err"
check "MEMORY USAGE refused: ${asked:-no} keys asked about in $n samples (at most 20 a sample, one more sample may have begun)" \
  test "${asked:-0}" -ge 1 -a "${asked:-0}" -le $((20 * (n + 1)))
finish
