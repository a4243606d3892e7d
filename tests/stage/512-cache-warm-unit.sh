#!/usr/bin/env bash
# The cache-warming unit (systemd/streamrec-cache-warm@.service) does what
# it says: its ExecStart, expanded as systemd does (%% and $$ to % and $,
# ${NAME} from Environment= and the env file), run against a recommender
# state in which some users were active within the last day and others
# not, writes a fresh list (the model's version, --top items, a TTL of
# CACHE_WARM_TTL) for exactly the active users to Redis, and none for the
# idle ones; CACHE_WARM_ACTIVE_SECONDS moves the cutoff.
source "$(dirname "$0")/../lib.sh"
command -v sqlite3 >/dev/null || die "sqlite3 (Debian package sqlite3, which 'make deps' installs) is needed"
start_redis
S=$T/state; mkdir -p "$S" "$T/metrics"

"$GEN_EVENTS" --count 4000 --users 120 --items 300 --seed 19 | "$BIN/ingest" > "$T/events.rec" 2>"$T/ingest.err" ||
  die "ingest: $(tail -n 2 "$T/ingest.err")"
"$BIN/recommender" train --in "$T/events.rec" --model "$S/model.db" --algorithm pop --model-version warm-test \
  2>"$T/train.err" || die "train: $(tail -n 2 "$T/train.err")"
# the serving instance's state: every user's history saved now
"$BIN/recommender" --model "$S/model.db" --state "$S/recommender.db" --in "$T/events.rec" > /dev/null 2>"$T/serve.err" ||
  die "serve: $(tail -n 2 "$T/serve.err")"
# a third of them last active 2 days ago, a third 12 hours ago
sqlite3 "$S/recommender.db" "UPDATE rec_history SET updated = updated - 2 * 86400000000 WHERE rowid % 3 = 0;
  UPDATE rec_history SET updated = updated - 12 * 3600000000 WHERE rowid % 3 = 1;" || die "ageing users"
sqlite3 "$S/recommender.db" "SELECT user_id FROM rec_history WHERE rowid % 3 <> 0 ORDER BY user_id" > "$T/active.txt"
sqlite3 "$S/recommender.db" "SELECT user_id FROM rec_history WHERE rowid % 3 = 1 ORDER BY user_id" > "$T/recent.txt"
sqlite3 "$S/recommender.db" "SELECT count(*) FROM rec_history" > "$T/n"
[ "$(cat "$T/n")" -ge 60 ] || die "only $(cat "$T/n") users in the state"

# run the unit's ExecStart as systemd would (instance "test", env file = $T/test.env)
warm() {   # extra env file lines...
  printf '%s\n' "REDIS=$REDIS_URI" "$@" > "$T/test.env"
  python3 - "$ROOT/systemd/streamrec-cache-warm@.service" "$T/test.env" "$BIN" "$S" "$T/metrics" <<'PY'
import os, re, shlex, subprocess, sys
unit, envfile, bindir, state, metrics = sys.argv[1:]
text = open(unit).read().replace("\\\n", " ")      # a line ending in \ goes on, as a space
env = {"PATH": os.environ["PATH"], "STATE_DIRECTORY": state}
exec_start = None
for line in text.splitlines():
    line = line.replace("%%", "\0").replace("%i", "test").replace("\0", "%")
    if line.startswith("Environment="):
        for kv in shlex.split(line[len("Environment="):]):
            k, v = kv.split("=", 1); env[k] = v
    elif line.startswith("EnvironmentFile="):
        for kv in open(envfile).read().splitlines():
            if kv and not kv.startswith("#"):
                k, v = kv.split("=", 1); env[k] = v
    elif line.startswith("ExecStart="):
        exec_start = line[len("ExecStart="):]
env["METRICS_DIR"] = metrics
def expand(arg):
    arg = arg.replace("$$", "\0")
    arg = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""), arg)
    return arg.replace("\0", "$").replace("/usr/local/bin/streamrec-", bindir + "/")
argv = [expand(a) for a in shlex.split(exec_start)]
sys.exit(subprocess.run(argv, env=env).returncode)
PY
}
R="redis-cli -p $REDIS_PORT"
check "the warming unit's command runs" warm
$R --scan --pattern 'rec:*' | sed 's/^rec://' | sort > "$T/warmed.txt"
sort -o "$T/active.txt" "$T/active.txt"
check "lists for exactly the users active in the last day ($(wc -l < "$T/active.txt") of $(cat "$T/n"))" \
  cmp -s "$T/warmed.txt" "$T/active.txt"
PYTHONPATH=$ROOT/tests/tools python3 - "$REDIS_PORT" "$T/active.txt" <<'PY' || fail "each warmed list: the model's version, 10 items, TTL 1d"
import json, sys, resp
r = resp.Redis(int(sys.argv[1]))
users = open(sys.argv[2]).read().split()
vals = r.pipeline([("GET", "rec:" + u) for u in users])
ttls = r.pipeline([("TTL", "rec:" + u) for u in users])
bad = 0
for u, v, ttl in zip(users, vals, ttls):
    v = json.loads(v)
    if v["user_id"] != u or v["model_version"] != "warm-test" or len(v["items"]) != 10 or not 86000 <= ttl <= 86400:
        bad += 1; print(u, v, ttl)
sys.exit(1 if bad else 0)
PY
# a 6 h window leaves out those last active 12 h ago
$R FLUSHALL > /dev/null
check "warming with CACHE_WARM_ACTIVE_SECONDS=21600, CACHE_WARM_TTL=2h" warm CACHE_WARM_ACTIVE_SECONDS=21600 CACHE_WARM_TTL=2h
$R --scan --pattern 'rec:*' | sed 's/^rec://' | sort > "$T/warmed6.txt"
comm -23 "$T/active.txt" "$T/recent.txt" > "$T/now.txt"
check "6 h: only the users saved just now ($(wc -l < "$T/now.txt"))" cmp -s "$T/warmed6.txt" "$T/now.txt"
ttl=$($R TTL "rec:$(head -n1 "$T/now.txt")")
check "CACHE_WARM_TTL=2h gives a TTL of 2 h ($ttl s)" test "$ttl" -gt 7000 -a "$ttl" -le 7200
# a failing stage fails the run (pipefail): a missing model
mv "$S/model.db" "$S/model.db.away"
warm > "$T/fail.out" 2>&1 && fail "warming without a model succeeded"
mv "$S/model.db.away" "$S/model.db"
finish
