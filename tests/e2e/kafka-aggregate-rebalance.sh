#!/usr/bin/env bash
# kafka-aggregate-rebalance — two aggregate instances with --state in one
# group on an 8-partition topic, through a join, a kill -9 and a restart,
# and a SIGTERM of both at once. Every event is counted once over the two
# states: the restarted instance resumes where the other one read on, not
# from the offsets in its own (stale) state; both exit 0 after SIGTERM
# together (a rebalance served while closing segfaulted after "done").
#
# Membership changes here happen while the members have saved and committed
# everything they read (a quiet input saves once due): librdkafka's mock
# broker refuses every commit while a group rebalances, so what a member
# read after its last commit is read again by the next owner and counted
# twice (a real broker accepts the commit made when partitions are revoked,
# so there nothing is read twice).
source "$(dirname "$0")/../lib.sh"
start_kafka events:8
X=(-X session.timeout.ms=4000 -X heartbeat.interval.ms=300 -X topic.metadata.refresh.interval.ms=1000)

"$GEN_EVENTS" --count 24000 --kind interactions --seed 11 --rate 200 --users 2000 --items 300 \
  | "$BIN/ingest" 2>/dev/null | "$BIN/fbcat" --type Event >"$T/ev.json" || die "prepare events"
N=$(wc -l <"$T/ev.json")
produce() {   # produce FROM TO: lines FROM..TO (1-based) into the topic, keyed by user
  sed -n "$1,$2p" "$T/ev.json" | "$BIN/fbcat" --encode Event --out "kafka://$KAFKA/events" 2>>"$T/prod.err" ||
    die "produce $1..$2"
}
agg() {   # agg NAME STATE: an instance in group g, stderr in $T/NAME.err; pid in $PID
  "$BIN/aggregate" --in "kafka://$KAFKA/events?group=g" "${X[@]}" --window 60s --features none \
    --state "$T/$2.db" --checkpoint-interval 300ms --metrics-file "$T/$2.prom" --format json \
    >"$T/$1.json" 2>"$T/$1.err" &
  PID=$!
  at_exit "kill -9 $PID"
}
# offsets saved in the states: per partition the furthest of a.db and b.db, summed
saved() {
  { sqlite3 "$T/a.db" 'SELECT partition, next FROM streamrec_offsets' 2>/dev/null
    sqlite3 "$T/b.db" 'SELECT partition, next FROM streamrec_offsets' 2>/dev/null; } |
    awk -F'|' '$2 > m[$1] {m[$1] = $2} END {for (p in m) s += m[p]; print s + 0}'
}
assigned() { grep -c '"kafka partition assigned"' "$T/$1.err"; }

third=$((N / 3))
produce 1 "$third"
agg a a; A=$PID
wait_until 60 '[ "$(saved)" -eq "$third" ]' || fail "A did not save the first third ($(saved) of $third)"
agg b b; B=$PID
wait_until 60 '[ "$(assigned b)" -ge 1 ] && [ "$(assigned a)" -gt 8 ]' || fail "B did not join"
produce $((third + 1)) $((2 * third))
wait_until 60 '[ "$(saved)" -eq $((2 * third)) ]' || fail "A and B did not save two thirds ($(saved))"
kill -9 $A; wait $A 2>/dev/null
wait_until 60 '[ "$(assigned b)" -ge 9 ]' || fail "B did not take A's partitions"
produce $((2 * third + 1)) "$N"
# B reads on through the partitions A had: A's saved offsets for them are now stale
wait_until 60 '[ "$(saved)" -eq "$N" ]' || fail "B did not save the rest ($(saved) of $N)"
before=$(assigned b)
agg a2 a; A=$PID
wait_until 60 '[ "$(assigned a2)" -ge 1 ] && [ "$(assigned b)" -gt "$before" ]' || fail "A did not rejoin"
grep -q '"msg":"resumed from' "$T/a2.err" || fail "the restarted A did not resume from its state"
# caught up: both report a consumer lag of 0 in a metrics file written after the rejoin
touch "$T/rejoined"
caught_up() {
  local f
  for f in a b; do
    # one gauge per partition held: some, and all of them 0
    [ "$T/$f.prom" -nt "$T/rejoined" ] && grep -q '^streamrec_kafka_consumer_lag{[^}]*} 0$' "$T/$f.prom" &&
      ! grep '^streamrec_kafka_consumer_lag{' "$T/$f.prom" | grep -qv ' 0$' || return 1
  done
}
wait_until 60 caught_up || fail "A and B did not catch up"
kill -TERM $A $B
wait $A; expect_eq "A: exit after SIGTERM together" $? 0
wait $B; expect_eq "B: exit after SIGTERM together" $? 0

# the topic holds every event (kcat, not our code)
expect_eq "the topic holds every event" \
  "$(timeout 60 kcat -C -b "$KAFKA" -t events -e -q -f '%p\n' 2>/dev/null | wc -l)" "$N"
# what the two states counted: the counters each final run reports (restored
# from its checkpoint, so A's includes what its first run saved)
sum() { grep -h '"msg":"done"' "$T/a2.err" "$T/b.err" | sed "s/.*\"$1\":\([0-9]*\).*/\1/" | awk '{s += $1} END {print s + 0}'; }
events=$(sum events) late=$(sum late)
echo "events: $N produced; counted $events, late $late" >&2
expect_eq "every event counted once" "$events" "$N"
expect_eq "none refused as late" "$late" 0
grep -q 'read on by another member: resuming from the committed offset' "$T/a2.err" ||
  fail "the restarted A was given no partition B had read on: the stale-offset case was not exercised"
finish
