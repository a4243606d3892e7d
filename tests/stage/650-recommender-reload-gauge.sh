#!/usr/bin/env bash
# 650-recommender-reload-gauge — streamrec_recommender_model_items names the
# model serving now, also after a SIGHUP reload that came while no user was
# pending (the reload without a flush). The stream pauses after its first
# part until that part's lists are out; then the model file is replaced by
# one with fewer items, SIGHUP sent, and the rest follows. The gauge must
# give the new model's items, as --check counts them.
source "$(dirname "$0")/../lib.sh"

python3 - "$T" <<'PY'
import json, random, sys
t = sys.argv[1]
r = random.Random(650)
ts = 1795000000 * 10**6
def ev(u, i):
    global ts
    ts += 1000
    return json.dumps({"event_id": "e%d" % ts, "ts": ts, "user_id": u, "item_id": i, "type": "click"}) + "\n"
def write(name, users, items, n):
    with open("%s/%s.jsonl" % (t, name), "w") as f:
        for _ in range(n): f.write(ev("u%d" % r.randrange(users), "i%d" % r.randrange(items)))
write("big", 60, 50, 600)      # the first model: 50 items
write("small", 60, 20, 300)    # the second: 20
write("s1", 30, 50, 40)
write("s2", 30, 50, 40)
PY
for n in big small s1 s2; do "$BIN/fbcat" --encode Event <"$T/$n.jsonl" >"$T/$n.rec" || die "encode $n"; done
for n in big small; do
  "$BIN/recommender" train --in "$T/$n.rec" --model "$T/$n.db" --log-level warn 2>>"$T/train.err" || { cat "$T/train.err" >&2; die "train $n"; }
done
items() { "$BIN/recommender" --model "$1" --check | sed -n 's/^model .*, \([0-9]*\) items$/\1/p'; }
small=$(items "$T/small.db")
check "the two models differ in items" [ -n "$small" ] && [ "$small" != "$(items "$T/big.db")" ]
cp "$T/big.db" "$T/serving.db"

mkfifo "$T/in"
# the second part only once the test says so
( cat "$T/s1.rec"; while [ ! -e "$T/go" ]; do sleep 0.1; done; cat "$T/s2.rec" ) >"$T/in" &
writer=$!
at_exit "kill $writer"
"$BIN/recommender" --model "$T/serving.db" --in "$T/in" --flush-interval 100ms --format json \
  --metrics-file "$T/m.prom" >"$T/out.json" 2>"$T/err" &
pid=$!
at_exit "kill $pid"
# the first part's lists are out (one per user), so no user is pending
want=$(python3 -c "import json; print(len({json.loads(l)['user_id'] for l in open('$T/s1.jsonl')}))")
wait_until 60 '[ "$(wc -l <"$T/out.json")" -ge "$want" ]' || die "the first part's lists did not come: $(cat "$T/err")"
cp "$T/small.db" "$T/serving.tmp" && mv "$T/serving.tmp" "$T/serving.db"
kill -HUP $pid
wait_until 60 'grep -q "\"model reloaded\"" "$T/err"' || fail "no reload logged"
touch "$T/go"
wait $pid || fail "recommender exit $?: $(tail -3 "$T/err")"
expect_eq "reloads counted" "$(sed -n 's/^streamrec_recommender_model_reloads_total{[^}]*} //p' "$T/m.prom")" 1
expect_eq "model_items after the SIGHUP reload" \
  "$(sed -n 's/^streamrec_recommender_model_items{[^}]*} //p' "$T/m.prom")" "$small"
finish
