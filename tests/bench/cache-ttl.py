#!/usr/bin/env python3
"""cache-ttl.py — replays an access trace against several Redis servers, each
filled by its own cache-writer with a different --ttl, in real time.

  cache-ttl.py EVENTS.jsonl USERS SKEW PORT... > recommendations.jsonl

The trace is gen-events' interaction traffic: each session's first event is a
visit by its user, who asks for their recommendations (a read: EXISTS rec:U
on every server, a hit if the key is there) and then gets a fresh list (a
Recommendation with the event's time as ts, written to stdout, which the
caller feeds to one cache-writer per server). gen-events draws sessions'
users uniformly; real user activity is long-tailed, so each session's user
is drawn again here from a Zipf law (exponent SKEW over USERS users) by its
session id (40 random bits): deterministic, the same trace every run.
Event time is replayed 1:1 against the wall clock (a Redis TTL runs on the
clock, cache-writer's adaptive TTL on event times: they must agree), so the
replay takes as long as the trace spans.

Every 0.5 s each server's used_memory and key count are sampled. At the
end a JSON report goes to stderr's last line: per server, reads and hits
(second half of the trace: the caches warm), the mean used_memory over
the empty server's and the mean key count (second half), and how late the
replay ran behind the trace (p99, max: on a loaded machine the
1:1 replay slips, and the figures with it)."""
import bisect, json, sys, time
import resp

events, nusers, skew = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ports = [int(p) for p in sys.argv[4:]]

cdf, total = [], 0.0
for k in range(1, nusers + 1):
    total += k ** -skew
    cdf.append(total)
cdf = [c / total for c in cdf]

def iso_us(s):
    # 2026-11-23T10:00:00.001Z -> microseconds (UTC); the date part only
    # matters through differences, so a day count from the epoch will do
    import calendar
    base = calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S"))
    return base * 1000000 + int(s[20:23]) * 1000

visits, seen = [], set()
with open(events) as f:
    for line in f:
        e = json.loads(line)
        sid = e["session_id"]
        if sid in seen:
            continue
        seen.add(sid)
        u = bisect.bisect_left(cdf, int(sid[1:], 16) / float(1 << 40))
        visits.append((iso_us(e["ts"]), "u%d" % (min(u, nusers - 1) + 1)))
seen = None

items = ",".join('{"item_id":"b%d","score":%.3f}' % (i * 37 % 10000 + 1, 1 - i / 40.0) for i in range(20))
conns = [resp.Redis(p) for p in ports]
def used_memory(c):
    info = c.cmd("INFO", "memory").decode()
    return int(info.split("used_memory:")[1].split("\r\n")[0])

base_mem = [used_memory(c) for c in conns]    # the empty server's
t0, half = visits[0][0], visits[0][0] + (visits[-1][0] - visits[0][0]) // 2
reads = [0] * len(ports); hits = [0] * len(ports)
mem = [[] for _ in ports]; keys = [[] for _ in ports]
lags = []
out = sys.stdout
w0 = time.monotonic()
next_sample = 0.0
i = 0
while i < len(visits):
    now = time.monotonic() - w0
    due = (visits[i][0] - t0) / 1e6
    if due > now:
        time.sleep(min(due - now, 0.005))
        continue
    # every visit due by now, in one pipeline per server (a user twice in
    # one batch is read before either write: rare at this rate)
    j = i
    while j < len(visits) and (visits[j][0] - t0) / 1e6 <= now:
        j += 1
    batch = visits[i:j]
    lags.append(now - (batch[0][0] - t0) / 1e6)
    warm = batch[0][0] >= half
    for s, c in enumerate(conns):
        got = c.pipeline([("EXISTS", "rec:" + u) for _, u in batch])
        if warm:
            reads[s] += len(batch)
            hits[s] += sum(got)
    out.write("".join('{"user_id":"%s","ts":%d,"items":[%s],"algorithm":"hybrid","model_version":"m1"}\n'
                      % (u, ts, items) for ts, u in batch))
    out.flush()
    i = j
    if now >= next_sample:
        next_sample = now + 0.5
        if warm:
            for s, c in enumerate(conns):
                mem[s].append(used_memory(c) - base_mem[s])
                keys[s].append(c.cmd("DBSIZE"))
lags.sort()
report = {"visits": len(visits), "users": len({u for _, u in visits}),
          "span_s": (visits[-1][0] - t0) / 1e6,
          "lag_p99_s": lags[int(len(lags) * 0.99)], "lag_max_s": lags[-1],
          "servers": [{"port": p, "reads": reads[s], "hits": hits[s],
                       "mem_mean": sum(mem[s]) / max(len(mem[s]), 1),
                       "keys_mean": sum(keys[s]) / max(len(keys[s]), 1)} for s, p in enumerate(ports)]}
sys.stderr.write(json.dumps(report) + "\n")
