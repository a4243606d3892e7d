#!/usr/bin/env bash
# 115-ingest-bounds — every bound flag moves the line it claims to move:
# --max-string and --max-attrs at their edge, --max-skew against the clock,
# --dedup-window (an id outside the window is new again; 0 is off),
# --rate-limit with --rate-burst and the N/m form, and the timestamp rules
# (a date-time without a zone, the epoch 0). Expected counts are worked out
# from the inputs written here, each named in the dead letter by line.
source "$(dirname "$0")/../lib.sh"
ing() { "$BIN/ingest" "$@" 2>>"$T/err"; }
# count of records in a record stream
nrec() { "$BIN/fbcat" < "$1" | wc -l; }
reasons() { jq -r '"\(.line) \(.reason)"' "$1" | tr '\n' ';'; }

# --max-string: 16 bytes pass, 17 do not (user_id, and an attr value)
s16=abcdefghijklmnop s17=abcdefghijklmnopq
cat > "$T/str.jsonl" <<IN
{"user_id":"$s16","event_type":"click","ts":1795392000}
{"user_id":"$s17","event_type":"click","ts":1795392000}
{"user_id":"u","event_type":"click","ts":1795392000,"metadata":{"note":"$s16"}}
{"user_id":"u","event_type":"click","ts":1795392001,"metadata":{"note":"$s17"}}
IN
ing --in "$T/str.jsonl" --out "$T/str.rec" --dead-letter "$T/str.dl" --max-string 16
expect_eq "--max-string 16: refused" "$(reasons "$T/str.dl")" "2 too_long;4 too_long;"
expect_eq "--max-string 16: records" "$(nrec "$T/str.rec")" 2
ing --in "$T/str.jsonl" --out "$T/str2.rec" --max-string 17
expect_eq "--max-string 17: records" "$(nrec "$T/str2.rec")" 4

# --max-attrs 3: three extras pass, four do not
cat > "$T/attrs.jsonl" <<'IN'
{"user_id":"u","event_type":"click","ts":1795392000,"metadata":{"a":1,"b":2,"c":3}}
{"user_id":"u","event_type":"click","ts":1795392001,"metadata":{"a":1,"b":2,"c":3,"d":4}}
{"user_id":"u","event_type":"click","ts":1795392002,"metadata":{"a":{"x":1,"y":2}},"z":[1]}
{"user_id":"u","event_type":"click","ts":1795392003,"metadata":{"a":{"x":1,"y":2}},"z":[1],"w":true}
IN
ing --in "$T/attrs.jsonl" --out "$T/attrs.rec" --dead-letter "$T/attrs.dl" --max-attrs 3
expect_eq "--max-attrs 3: refused" "$(reasons "$T/attrs.dl")" "2 too_long;4 too_long;"
grep -q -- '--max-attrs' "$T/attrs.dl" || fail "--max-attrs detail: $(cat "$T/attrs.dl")"
expect_eq "--max-attrs 3: flattened attrs of line 3" \
  "$("$BIN/fbcat" < "$T/attrs.rec" | sed -n 2p | jq -c '[.attrs | to_entries[] | .key + "=" + .value]')" '["a.x=1","a.y=2","z=[1]"]'

# --max-attrs is the bound, also above 64 unknown top-level members
python3 -c '
import json
for n in (70, 101):
    d = {"user_id": "u", "event_type": "click", "ts": 1795392000 + n}
    d.update(("k%03d" % i, i) for i in range(n))
    print(json.dumps(d))' > "$T/many.jsonl"
ing --in "$T/many.jsonl" --out "$T/many.rec" --dead-letter "$T/many.dl" --max-attrs 100
expect_eq "--max-attrs 100: refused" "$(reasons "$T/many.dl")" "2 too_long;"
expect_eq "--max-attrs 100: 70 attrs kept" "$("$BIN/fbcat" < "$T/many.rec" | jq '.attrs | length')" 70

# --max-skew: against the clock, seconds from now
now=$(date +%s)
cat > "$T/skew.jsonl" <<IN
{"user_id":"u","event_type":"click","event_id":"s1","ts":$((now + 1800))}
{"user_id":"u","event_type":"click","event_id":"s2","ts":$((now + 7200))}
{"user_id":"u","event_type":"click","event_id":"s3","ts":$((now + 172800))}
{"user_id":"u","event_type":"click","event_id":"s4","ts":828124615}
IN
ing --in "$T/skew.jsonl" --out "$T/skew1.rec" --dead-letter "$T/skew1.dl" --max-skew 1h
expect_eq "--max-skew 1h: refused" "$(reasons "$T/skew1.dl")" "2 implausible_timestamp;3 implausible_timestamp;"
ing --in "$T/skew.jsonl" --out "$T/skew2.rec" --dead-letter "$T/skew2.dl"
expect_eq "default --max-skew (1d): refused" "$(reasons "$T/skew2.dl")" "3 implausible_timestamp;"
expect_eq "default: the 1996 event is accepted" "$("$BIN/fbcat" < "$T/skew2.rec" | jq -r 'select(.event_id=="s4") | .ts')" \
  828124615000000

# timestamps: a date-time needs a zone; the epoch 0 is an unset clock
cat > "$T/ts.jsonl" <<'IN'
{"user_id":"u","event_type":"click","event_id":"t1","ts":"2026-11-23T10:00:00"}
{"user_id":"u","event_type":"click","event_id":"t2","ts":"2026-11-23T10:00:00-05:00"}
{"user_id":"u","event_type":"click","event_id":"t3","ts":0}
{"user_id":"u","event_type":"click","event_id":"t4","timestamp":"1795392000500"}
IN
ing --in "$T/ts.jsonl" --out "$T/ts.rec" --dead-letter "$T/ts.dl"
expect_eq "timestamps: refused" "$(reasons "$T/ts.dl")" "1 bad_timestamp;3 implausible_timestamp;"
grep -q 'has no zone' "$T/ts.dl" || fail "zone-less detail: $(cat "$T/ts.dl")"
expect_eq "timestamps: values" "$("$BIN/fbcat" < "$T/ts.rec" | jq -r .ts | tr '\n' ' ')" "1795446000000000 1795392000500000 "

# --dedup-window N: the last N ids. a b c d a: with 4 the second a is a
# duplicate; with 3 it was forgotten (new again); with 0 nothing is dropped
for id in a b c d a b; do echo "{\"user_id\":\"u$id\",\"event_type\":\"view\",\"event_id\":\"$id\",\"ts\":1795392000}"; done > "$T/dup.jsonl"
ing --in "$T/dup.jsonl" --out "$T/dup4.rec" --dedup-window 4 --metrics-file "$T/dup4.prom"
expect_eq "--dedup-window 4: ids out" "$("$BIN/fbcat" < "$T/dup4.rec" | jq -r .event_id | tr '\n' ' ')" "a b c d "
grep -q '^streamrec_ingest_duplicates_total{[^}]*} 2$' "$T/dup4.prom" || fail "dedup metric: $(grep duplicates "$T/dup4.prom")"
ing --in "$T/dup.jsonl" --out "$T/dup3.rec" --dedup-window 3
expect_eq "--dedup-window 3: ids out" "$("$BIN/fbcat" < "$T/dup3.rec" | jq -r .event_id | tr '\n' ' ')" "a b c d a b "
ing --in "$T/dup.jsonl" --out "$T/dup0.rec" --dedup-window 0
expect_eq "--dedup-window 0: ids out" "$(nrec "$T/dup0.rec")" 6
# without event_id a resent line (same bytes) is a duplicate, a changed one is not
printf '%s\n' '{"user_id":"u","event_type":"view","ts":1795392000}' '{"user_id":"u","event_type":"view","ts":1795392000}' \
  '{"user_id":"u","event_type":"view","ts":1795392001}' > "$T/noid.jsonl"
ing --in "$T/noid.jsonl" --out "$T/noid.rec"
expect_eq "no event_id: resend dropped" "$(nrec "$T/noid.rec")" 2

# --rate-limit 2/s --rate-burst 4: user x sends 6 at one instant (4 pass),
# then 3 one second later (2 tokens: 2 pass); y is not affected
{
  for i in 1 2 3 4 5 6; do echo "{\"user_id\":\"x\",\"event_type\":\"click\",\"event_id\":\"x$i\",\"ts\":1795392000}"; done
  echo '{"user_id":"y","event_type":"click","event_id":"y1","ts":1795392000}'
  for i in 7 8 9; do echo "{\"user_id\":\"x\",\"event_type\":\"click\",\"event_id\":\"x$i\",\"ts\":1795392001}"; done
} > "$T/rate.jsonl"
ing --in "$T/rate.jsonl" --out "$T/rate.rec" --dead-letter "$T/rate.dl" --rate-limit 2/s --rate-burst 4
expect_eq "--rate-limit 2/s burst 4: refused" "$(reasons "$T/rate.dl")" "5 rate_limited;6 rate_limited;10 rate_limited;"
expect_eq "--rate-limit 2/s burst 4: ids out" "$("$BIN/fbcat" < "$T/rate.rec" | jq -r .event_id | tr '\n' ' ')" \
  "x1 x2 x3 x4 y1 x7 x8 "
# 120/m is 2/s: same decisions (burst 4)
ing --in "$T/rate.jsonl" --out "$T/rate2.rec" --rate-limit 120/m --rate-burst 4
check "--rate-limit 120/m = 2/s" cmp -s "$T/rate.rec" "$T/rate2.rec"
# default burst: one second's worth (2)
ing --in "$T/rate.jsonl" --out "$T/rate3.rec" --dead-letter "$T/rate3.dl" --rate-limit 2/s
expect_eq "--rate-limit 2/s default burst: ids out" "$("$BIN/fbcat" < "$T/rate3.rec" | jq -r .event_id | tr '\n' ' ')" \
  "x1 x2 y1 x7 x8 "

# --rate-clock: x sends 4 events an hour apart in event time, all at once in
# arrival time; at 1/h (burst 1) the event clock passes them all, the arrival
# clock only the first
for i in 0 1 2 3; do echo "{\"user_id\":\"x\",\"event_type\":\"click\",\"event_id\":\"h$i\",\"ts\":$((1795392000 + i * 3600))}"; done > "$T/clock.jsonl"
ing --in "$T/clock.jsonl" --out "$T/clock1.rec" --rate-limit 1/h --rate-burst 1
expect_eq "--rate-clock event (default): ids out" "$("$BIN/fbcat" < "$T/clock1.rec" | jq -r .event_id | tr '\n' ' ')" "h0 h1 h2 h3 "
ing --in "$T/clock.jsonl" --out "$T/clock2.rec" --dead-letter "$T/clock2.dl" --rate-limit 1/h --rate-burst 1 --rate-clock arrival
expect_eq "--rate-clock arrival: ids out" "$("$BIN/fbcat" < "$T/clock2.rec" | jq -r .event_id | tr '\n' ' ')" "h0 "
expect_eq "--rate-clock arrival: refused" "$(reasons "$T/clock2.dl")" "2 rate_limited;3 rate_limited;4 rate_limited;"

# usage errors name the flag, exit 2
for bad in "--max-attrs 0" "--max-skew soon" "--dedup-window -1" "--in-format xml" "--rate-limit 5/fortnight" \
           "--rate-limit nan/s" "--rate-burst 5" "--rate-clock wall"; do
  "$BIN/ingest" $bad < /dev/null 2>"$T/uerr" >/dev/null
  rc=$?
  expect_eq "'$bad' exit" "$rc" 2
  grep -q -- "${bad%% *}" "$T/uerr" || fail "'$bad': message does not name the flag: $(cat "$T/uerr")"
done
finish
