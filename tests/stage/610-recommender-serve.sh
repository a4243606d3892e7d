#!/usr/bin/env bash
# recommender serving: with --flush-interval 0 every interaction yields its
# user's list at once, so each list can be checked against the history up to
# that event: seen items never appear, no list has more than N items or a
# repeated item, every event gives exactly one list (none lost), and a probe
# user's next interactions change their list (3 clicks in cluster A give an
# A-list; two clicks in cluster B bring B items in, five make it mostly B).
# Plus cold start for unknown users and items, the --users batch, the user
# bound (LRU evictions counted), --state across a restart, and usage errors.
# Records are read back through fbcat.
source "$(dirname "$0")/../lib.sh"

# --- two clusters of 30 items; 200 users each clicking 8 items of one cluster
python3 - "$T" <<'PY'
import json, random, sys
t = sys.argv[1]
rnd = random.Random(610)
A = ["a%d" % i for i in range(30)]
B = ["b%d" % i for i in range(30)]
ts = 1795000000 * 10**6
train, serve = [], []
def ev(u, i, kind="click"):
    global ts
    ts += 1000
    return {"event_id": "e%d" % ts, "ts": ts, "user_id": u, "item_id": i, "type": kind}
for u in range(200):
    pool = A if u % 2 == 0 else B
    for i in rnd.sample(pool, 8):
        train.append(ev("u%d" % u, i, rnd.choice(["click", "view", "purchase"])))
# serving: the same users again (their histories build up), then the probe
for u in range(0, 200, 5):
    pool = A if u % 2 == 0 else B
    for i in rnd.sample(pool, 3):
        serve.append(ev("u%d" % u, i))
for i in ["a1", "a2", "a3"]:
    serve.append(ev("probe", i))
for i in ["b1", "b2", "b3", "b4", "b5"]:
    serve.append(ev("probe", i))
serve.append(ev("cold", "zz-unknown"))          # an item the model never saw
open(t + "/train.jsonl", "w").write("".join(json.dumps(e) + "\n" for e in train))
open(t + "/serve.jsonl", "w").write("".join(json.dumps(e) + "\n" for e in serve))
open(t + "/items.csv", "w").write("item,genres\n" + "".join("%s,%s\n" % (i, i[0].upper()) for i in A + B))
PY
"$BIN/fbcat" --encode Event < "$T/train.jsonl" > "$T/train.rec" || die "encode train"
"$BIN/fbcat" --encode Event < "$T/serve.jsonl" > "$T/serve.rec" || die "encode serve"
# --user-history 0: the model carries no training interactions, so the histories below are
# only the events each process reads (615 tests the model's interactions)
"$BIN/recommender" train --in "$T/train.rec" --model "$T/model.db" --items "$T/items.csv" \
  --item-map id=item,categories=genres --user-history 0 2>"$T/train.log" || { cat "$T/train.log" >&2; die "train"; }
version=$("$BIN/recommender" --model "$T/model.db" --check | sed -n 's/^model .*: version \([^,]*\),.*/\1/p')
[ -n "$version" ] || fail "--check prints the model version"

# --- streaming, one list per interaction
cat "$T/train.rec" "$T/serve.rec" > "$T/all.rec"
"$BIN/recommender" --model "$T/model.db" --in "$T/all.rec" --flush-interval 0 --top 10 \
  --metrics-file "$T/serve.prom" > "$T/recs.rec" 2>"$T/serve.log" || { cat "$T/serve.log" >&2; fail "serve exit"; }
"$BIN/fbcat" < "$T/recs.rec" > "$T/recs.jsonl" || fail "fbcat decodes the output"
expect_eq "record types" "$("$BIN/fbcat" --count < "$T/recs.rec" | head -n1)" \
  "Recommendation $(( $(wc -l < "$T/train.jsonl") + $(wc -l < "$T/serve.jsonl") ))"

python3 - "$T" "$version" <<'PY' || fail "list checks"
import json, sys
t, version = sys.argv[1], sys.argv[2]
events = [json.loads(l) for f in ("train.jsonl", "serve.jsonl") for l in open(t + "/" + f)]
recs = [json.loads(l) for l in open(t + "/recs.jsonl")]
catalogue = {"a%d" % i for i in range(30)} | {"b%d" % i for i in range(30)}
bad = []
if len(recs) != len(events):
    bad.append("%d lists for %d events" % (len(recs), len(events)))
seen = {}
probe = []
for e, r in zip(events, recs):
    seen.setdefault(e["user_id"], set()).add(e["item_id"])
    items = [x["item_id"] for x in r.get("items", [])]
    if r["user_id"] != e["user_id"]:
        bad.append("list for %s after an event of %s" % (r["user_id"], e["user_id"]))
    if not 0 < len(items) <= 10: bad.append("%s: %d items" % (r["user_id"], len(items)))
    if len(set(items)) != len(items): bad.append("%s: repeated item %s" % (r["user_id"], items))
    if seen[e["user_id"]] & set(items):
        bad.append("%s: seen items %s recommended" % (r["user_id"], seen[e["user_id"]] & set(items)))
    if not set(items) <= catalogue: bad.append("%s: items outside the catalogue %s" % (r["user_id"], items))
    scores = [x.get("score", 0) for x in r.get("items", [])]
    if scores != sorted(scores, reverse=True): bad.append("%s: scores not descending" % r["user_id"])
    if r.get("model_version") != version or not r.get("algorithm"):
        bad.append("%s: model_version %r algorithm %r" % (r["user_id"], r.get("model_version"), r.get("algorithm")))
    if r["user_id"] == "probe": probe.append(items)
if len(probe) != 8:
    bad.append("probe got %d lists, expected 8" % len(probe))
else:
    a_list = probe[2]                     # after a1 a2 a3
    n_a = sum(i.startswith("a") for i in a_list)
    if n_a < 8: bad.append("after 3 A clicks only %d of 10 are A items: %s" % (n_a, a_list))
    if sum(i.startswith("b") for i in probe[4]) < 1:
        bad.append("two B clicks brought no B item in: %s" % probe[4])
    n_b = sum(i.startswith("b") for i in probe[7])
    if n_b <= sum(i.startswith("b") for i in a_list) or n_b < 3:
        bad.append("after 5 B clicks only %d B items: %s" % (n_b, probe[7]))
cold = [r for r in recs if r["user_id"] == "cold"]
if len(cold) != 1 or len(cold[0].get("items", [])) != 10:
    bad.append("the cold user (unknown item) gets a full popularity list: %s" % cold)
for b in bad[:10]: print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
prom() { awk -v k="$1" '$1 == k {print $2}' "$T/serve.prom"; }
expect_eq "unknown items counted" "$(prom 'streamrec_recommender_unknown_items_total{stage="recommender"}')" 1
expect_eq "lists counted" "$(prom 'streamrec_recommender_lists_total{stage="recommender"}')" "$(wc -l < "$T/recs.jsonl")"
grep -q 'streamrec_recommender_list_seconds{stage="recommender",quantile="0.99"}' "$T/serve.prom" \
  || fail "p99 list latency in the metrics file"

# --- micro-batching: the default interval gives one list per user at the end
"$BIN/recommender" --model "$T/model.db" --in "$T/all.rec" --format json > "$T/batch.jsonl" 2>/dev/null \
  || fail "serve (default flush)"
expect_eq "one list per distinct user" "$(wc -l < "$T/batch.jsonl")" \
  "$(jq -r .user_id "$T/train.jsonl" "$T/serve.jsonl" | sort -u | wc -l)"
# the last list of each user in the per-event run equals the batched one
python3 - "$T" <<'PY' || fail "batched lists equal the last per-event lists"
import json, sys
t = sys.argv[1]
last = {}
for l in open(t + "/recs.jsonl"):
    r = json.loads(l); last[r["user_id"]] = [x["item_id"] for x in r["items"]]
for l in open(t + "/batch.jsonl"):
    r = json.loads(l)
    if [x["item_id"] for x in r["items"]] != last[r["user_id"]]:
        sys.exit("%s: %s vs %s" % (r["user_id"], r["items"], last[r["user_id"]]))
PY

# --- the users batch: history from --in, unknown users get the cold-start list
printf 'u0\n# a comment\n\n  nobody  \nnobody2\n' > "$T/users.txt"
"$BIN/recommender" --model "$T/model.db" --in "$T/train.rec" --users "$T/users.txt" --format json \
  > "$T/users.jsonl" 2>"$T/users.log" || { cat "$T/users.log" >&2; fail "users batch exit"; }
expect_eq "users batch: one list per listed user" "$(jq -r .user_id "$T/users.jsonl" | tr '\n' ' ')" "u0 nobody nobody2 "
python3 - "$T" <<'PY' || fail "users batch lists"
import json, sys
t = sys.argv[1]
r = {json.loads(l)["user_id"]: [x["item_id"] for x in json.loads(l)["items"]] for l in open(t + "/users.jsonl")}
seen = {json.loads(l)["item_id"] for l in open(t + "/train.jsonl") if json.loads(l)["user_id"] == "u0"}
if seen & set(r["u0"]): sys.exit("u0's seen items in the batch list")
if r["nobody"] != r["nobody2"] or len(r["nobody"]) != 10: sys.exit("cold-start lists differ")
if r["u0"] == r["nobody"]: sys.exit("u0's history was not used")
PY
# the done line's scoring figures, by the wall clock and the threads' CPU
# clock (what the serving bench divides by): present, and the CPU clock read
expect_eq "users batch: done line's lists and CPU figures" \
  "$(grep '"msg":"done"' "$T/users.log" | jq -c '[.lists, (.score_cpu_seconds >= 0), (.lists_per_cpu_second > 0), (.lists_per_thread_second > 0)]')" \
  "[3,true,true,true]"
# users from stdin, no events
printf 'u0\n' | "$BIN/recommender" --model "$T/model.db" --users - --format json > "$T/users2.jsonl" 2>/dev/null
expect_eq "users from stdin without history: the cold list" \
  "$(jq -c '[.items[].item_id]' "$T/users2.jsonl")" "$(jq -c 'select(.user_id=="nobody") | [.items[].item_id]' "$T/users.jsonl")"

# --- bounds: 5 users held at most, evictions counted
"$BIN/recommender" --model "$T/model.db" --in "$T/train.rec" --max-users 5 --max-batch 1 \
  --metrics-file "$T/b.prom" > /dev/null 2>&1 || fail "bounded run"
users=$(jq -r .user_id "$T/train.jsonl" | awk '$0 != p {n++} {p = $0} END {print n}')
expect_eq "evictions" "$(awk '$1 ~ /^streamrec_recommender_user_evictions_total/ {print $2}' "$T/b.prom")" "$((users - 5))"
expect_eq "users held" "$(awk '$1 ~ /^streamrec_recommender_users\{/ {print $2}' "$T/b.prom")" 5

# --- --state: a restart keeps the histories (and so do evicted users).
# Run 1 reads the training events, run 2 (a new process) the serving ones:
# the last lists must exclude what users touched in run 1 too. Without
# --state some do show such items, so the check is not vacuous.
state_run() {
  "$BIN/recommender" --model "$T/model.db" --format json "$@" 2>>"$T/state.log"
}
state_run --in "$T/train.rec" --state "$T/s.db" > /dev/null || fail "state run 1"
state_run --in "$T/serve.rec" --state "$T/s.db" > "$T/state2.jsonl" || fail "state run 2"
state_run --in "$T/serve.rec" > "$T/nostate2.jsonl" || fail "no-state run 2"
state_run --in "$T/train.rec" --state "$T/s5.db" --max-users 5 --max-batch 1 > /dev/null || fail "state run 1, 5 users"
state_run --in "$T/serve.rec" --state "$T/s5.db" --max-users 5 --max-batch 1 > "$T/state5.jsonl" || fail "state run 2, 5 users"
python3 - "$T" <<'PY' || fail "--state keeps histories across a restart"
import json, sys
t = sys.argv[1]
touched = {}
for f in ("train.jsonl", "serve.jsonl"):
    for l in open(t + "/" + f):
        e = json.loads(l); touched.setdefault(e["user_id"], set()).add(e["item_id"])
def last(f):
    r = {}
    for l in open(t + "/" + f):
        x = json.loads(l); r[x["user_id"]] = {i["item_id"] for i in x["items"]}
    return r
for f in ("state2.jsonl", "state5.jsonl"):
    for u, items in last(f).items():
        if items & touched[u]: sys.exit("%s: %s shows touched items %s" % (f, u, items & touched[u]))
if not any(items & touched[u] for u, items in last("nostate2.jsonl").items()):
    sys.exit("without --state no list shows an item from run 1: the check proves nothing")
PY
grep -q '"restored_users":[1-9]' "$T/state.log" || fail "restored users are logged"

# --- --state-max-age: users inactive that long lose their saved row (the
# file stays bounded); the users of the later run keep theirs
state_run --in "$T/train.rec" --state "$T/p.db" > /dev/null || fail "prune run 1"
expect_eq "prune: one row per user after run 1" "$(sqlite3 "$T/p.db" 'SELECT count(*) FROM rec_history')" \
  "$(jq -r .user_id "$T/train.jsonl" | sort -u | wc -l)"
sleep 1.2   # every row of run 1 is now older than 1 s
state_run --in "$T/serve.rec" --state "$T/p.db" --state-max-age 1s > /dev/null || fail "prune run 2"
expect_eq "prune: only the users active in run 2 keep a row" \
  "$(sqlite3 "$T/p.db" 'SELECT user_id FROM rec_history ORDER BY 1' | tr '\n' ' ')" \
  "$(jq -r .user_id "$T/serve.jsonl" | sort -u | tr '\n' ' ')"
tail -n1 "$T/state.log" | grep -q '"pruned_users":[1-9]' || fail "pruned users are counted: $(tail -n1 "$T/state.log")"
state_run --in "$T/train.rec" --state "$T/p.db" --state-max-age 0 > /dev/null || fail "prune run 3"
sleep 1.2
state_run --in "$T/serve.rec" --state "$T/p.db" --state-max-age 0 > /dev/null || fail "prune run 4"
expect_eq "--state-max-age 0 keeps every user" "$(sqlite3 "$T/p.db" 'SELECT count(*) FROM rec_history')" \
  "$(cat "$T/train.jsonl" "$T/serve.jsonl" | jq -r .user_id | sort -u | wc -l)"

# --- Kafka in and out, resumed with --state: the second run reads only the
# new events (offsets kept), writes lists only for their users (keyed by
# user_id), and those lists exclude what the users touched in the first run.
if command -v kcat >/dev/null; then
  start_kafka events:2 recs:2
  kafka_run() {
    timeout 60 "$BIN/recommender" --model "$T/model.db" --in "kafka://$KAFKA/events?group=rec&eof=1" \
      --out "kafka://$KAFKA/recs" --state "$T/k.db" -X session.timeout.ms=6000 2>>"$T/kafka.log"
  }
  "$BIN/fbcat" --records --in "$T/train.rec" --out "kafka://$KAFKA/events" 2>/dev/null || fail "produce train"
  kafka_run || fail "kafka run 1"
  "$BIN/fbcat" --records --in "$T/serve.rec" --out "kafka://$KAFKA/events" 2>/dev/null || fail "produce serve"
  kafka_run || fail "kafka run 2"
  timeout 60 "$BIN/fbcat" --in "kafka://$KAFKA/recs?group=check&eof=1" -X session.timeout.ms=6000 > "$T/krecs.jsonl" 2>/dev/null
  timeout 60 kcat -C -b "$KAFKA" -t recs -e -q -f '%k\n' > "$T/kkeys.txt" 2>/dev/null
  expect_eq "kafka: keys are the user ids" "$(sort "$T/kkeys.txt" | md5sum)" "$(jq -r .user_id "$T/krecs.jsonl" | sort | md5sum)"
  expect_eq "kafka: one list per user per run" "$(wc -l < "$T/krecs.jsonl")" \
    "$(( $(jq -r .user_id "$T/train.jsonl" | sort -u | wc -l) + $(jq -r .user_id "$T/serve.jsonl" | sort -u | wc -l) ))"
  python3 - "$T" <<'PY' || fail "kafka: resumed run"
import json, sys
t = sys.argv[1]
touched = {}
for f in ("train.jsonl", "serve.jsonl"):
    for l in open(t + "/" + f):
        e = json.loads(l); touched.setdefault(e["user_id"], set()).add(e["item_id"])
second = {json.loads(l)["user_id"] for l in open(t + "/serve.jsonl")}
last = {}
for l in open(t + "/krecs.jsonl"):
    r = json.loads(l); last.setdefault(r["user_id"], []).append({i["item_id"] for i in r["items"]})
for u in second:
    if len(last.get(u, [])) < 1: sys.exit("%s: no list" % u)
    if last[u][-1] & touched[u]: sys.exit("%s: touched items %s in the resumed run's list" % (u, last[u][-1] & touched[u]))
PY
  grep '"msg":"done"' "$T/kafka.log" | tail -1 | grep -q "\"events\":$(wc -l < "$T/serve.jsonl")," \
    || fail "kafka: the second run read only the new events: $(grep '"msg":"done"' "$T/kafka.log" | tail -1)"
else
  echo "kcat not installed: Kafka part skipped" >&2
fi

# --- a quiet input still gets its lists at the flush interval
mkfifo "$T/idle.fifo"
"$BIN/recommender" --model "$T/model.db" --in "$T/idle.fifo" --flush-interval 200ms --format json \
  > "$T/idle.jsonl" 2>/dev/null &
ipid=$!
exec 7>"$T/idle.fifo"
head -c "$(stat -c %s "$T/serve.rec")" "$T/serve.rec" >&7
wait_until 30 '[ -s "$T/idle.jsonl" ]' || fail "no list within 30 s while the input stays open and quiet"
exec 7>&-
wait $ipid || fail "idle run exit"

# --- errors
"$BIN/recommender" --in "$T/train.rec" > /dev/null 2>"$T/e1"; expect_eq "no --model: usage" $? 2
grep -q -- "--model" "$T/e1" || fail "the usage error names --model"
"$BIN/recommender" --model "$T/nope.db" < /dev/null > /dev/null 2>"$T/e2"; expect_eq "missing model file" $? 1
grep -q "nope.db" "$T/e2" || fail "the error names the model file"
finish
