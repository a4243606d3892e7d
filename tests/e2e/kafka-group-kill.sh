#!/usr/bin/env bash
# kafka-group-kill — at least once across processes, through kafka-mock:
# 100,000 records go into a 4-partition topic while two fbcat consumers in
# one group read it; one is killed with SIGKILL mid-stream and restarted.
# Every record arrives at least once (distinct ids counted independently of
# our code, from the generator's ids), the records the killed member had
# already written out are not read again (it committed them: the group
# resumed from its offsets, not from the start), and after both stop on
# SIGTERM a new member of the group finds nothing left to read.
source "$(dirname "$0")/../lib.sh"
F=$BIN/fbcat
N=100000
start_kafka ev:4
# short session so the killed member's partitions move on within seconds
# (not under 4 s: the mock's first join takes 3 s, a session as short expires
# the joining member, whose JoinGroup then hangs for max.poll.interval.ms)
X=(-X session.timeout.ms=4000 -X heartbeat.interval.ms=300 -X topic.metadata.refresh.interval.ms=1000)

python3 - "$N" >"$T/ev.jsonl" <<'EOF'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"event_id": "e%d" % i, "ts": 1700000000000 + i, "user_id": "u%d" % (i % 997), "type": "click"}))
EOF
"$F" --encode Event <"$T/ev.jsonl" >"$T/ev.rec" || die "encode failed"

export LC_ALL=C   # one sort order for sort and comm
ids() { grep -ho '"event_id": *"e[0-9]*"' "$@" | cut -d'"' -f4; }
distinct() { cat "$@" 2>/dev/null | ids /dev/stdin | sort -u | wc -l; }
lines() { cat "$@" 2>/dev/null | wc -l; }

consume() {   # consume NAME: fbcat in group g, JSON lines to $T/NAME.json; pid in $PID
  "$F" --in "kafka://$KAFKA/ev?group=g" "${X[@]}" >"$T/$1.json" 2>"$T/$1.err" &
  PID=$!
  at_exit "kill -9 $PID"
}
consume a; A=$PID
consume b1; B=$PID

# the producer is fed at a steady pace (~10 s) so the kill lands mid-stream
python3 - "$T/ev.rec" <<'EOF' | "$F" --records --out "kafka://$KAFKA/ev" 2>"$T/prod.err" &
import sys, time
d = open(sys.argv[1], "rb").read(); k = 50; step = len(d) // k + 1
for i in range(k):
    sys.stdout.buffer.write(d[i * step:(i + 1) * step]); sys.stdout.flush(); time.sleep(0.2)
EOF
P=$!
at_exit "kill -9 $P"

# kill b1 once it has written at least three batches (three commits)
flushes=0 prev=0
for i in $(seq 300); do
  n=$(lines "$T/b1.json"); [ "$n" != "$prev" ] && { flushes=$((flushes + 1)); prev=$n; }
  [ "$flushes" -ge 3 ] && break; sleep 0.1
done
kill -0 $P 2>/dev/null; expect_eq "producer still running when b1 is killed (mid-stream)" $? 0
kill -9 $B; wait $B 2>/dev/null
b1=$(lines "$T/b1.json")
check "b1 consumed before the kill" [ "$b1" -gt 0 ]
sleep 1
consume b2; B2=$PID

wait $P; expect_eq "producer exit" $? 0
got=0
for i in $(seq 120); do
  got=$(distinct "$T/a.json" "$T/b1.json" "$T/b2.json"); [ "$got" -ge "$N" ] && break; sleep 0.5
done
# stop one member, let the group settle on the other (b2 owns all four
# partitions again), then stop that one: each commits on its way out. (Not
# both at once: the mock broker refuses commits while a group rebalances.)
assigned() { grep -c '"kafka partition assigned"' "$T/b2.err"; }
before=$(assigned)
kill -TERM $A; wait $A; expect_eq "a: exit on SIGTERM" $? 0
wait_until 60 '[ "$(assigned)" -ge $((before + 4)) ]' || fail "b2 did not take all four partitions within 60 s of a's exit"
sleep 1.5   # b2 reads what a had not committed, and syncs
kill -TERM $B2; wait $B2; expect_eq "b2: exit on SIGTERM" $? 0

# the ids the generator wrote, against what came out, independently of fbcat
ids "$T/ev.jsonl" | sort -u >"$T/want"
cat "$T/a.json" "$T/b1.json" "$T/b2.json" | ids /dev/stdin | sort >"$T/got.all"
sort -u "$T/got.all" >"$T/got"
expect_eq "every record arrives (distinct ids)" "$(wc -l <"$T/got")" "$N"
expect_eq "no id missing" "$(comm -23 "$T/want" "$T/got" | wc -l)" 0
expect_eq "no unknown id" "$(comm -13 "$T/want" "$T/got" | wc -l)" 0
check "b2 (restarted) took partitions and read" [ "$(lines "$T/b2.json")" -gt 0 ]
# what b1 wrote out was committed before it died (flush, then commit): at
# most its last batch may come again, never everything it had read
ids "$T/b1.json" | sort -u >"$T/b1.ids"
cat "$T/a.json" "$T/b2.json" | ids /dev/stdin | sort -u >"$T/rest.ids"
again=$(comm -12 "$T/b1.ids" "$T/rest.ids" | wc -l)
check "b1's committed records not read again ($again of $b1)" [ "$again" -lt "$b1" ]
dups=$(( $(wc -l <"$T/got.all") - N ))
echo "records: $N distinct of $(wc -l <"$T/got.all") delivered ($dups duplicates); b1 wrote $b1 before SIGKILL, $again of them read again" >&2

# everything was committed on SIGTERM: a new member finds nothing to read
timeout 60 "$F" --in "kafka://$KAFKA/ev?group=g&eof=1" "${X[@]}" >"$T/after.json" 2>"$T/after.err"
expect_eq "after: exit" $? 0
expect_eq "after: nothing left uncommitted" "$(lines "$T/after.json")" 0
finish
