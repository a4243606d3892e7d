#!/usr/bin/env bash
# kafka-ingest-group — issue 11: ingest instances in one consumer group,
# each reading some partitions of an 8-partition raw topic (JSON lines
# keyed by line number) into one 8-partition events topic, then one
# aggregate (--window 60s --allowed-lateness 2m) over all of it.
# Phase 1: A and B own 4 raw partitions each; A's lines are produced first
# and A writes them all (600 s of event time) before B's lines come: in
# every events partition B's records follow A's, minutes older (one
# instance far ahead of another, as when a backlog is read). Phase 2: C
# joins while lines are read (a rebalance), B is killed -9, C and A take
# its partitions from their committed offsets and write some records again.
# Without watermark marks aggregate took an events partition's time from
# its records and refused B's as late (main's binaries: 1,348 late in
# phase 1 alone). With them each ingest says in every events partition how
# far its raw partitions are committed, aggregate's partition time is the
# minimum over the raw partitions, and nothing is late: the metrics equal
# the file run's line for line. ~35-50 s (the group rebalances).
source "$(dirname "$0")/../lib.sh"
N=${N:-6000}
start_kafka raw:8 events:8 keys:8
[ -n "${KEEP_LOGS:-}" ] && at_exit "rm -rf $KEEP_LOGS; cp -r $T $KEEP_LOGS"
X=(-X session.timeout.ms=3000 -X heartbeat.interval.ms=300 -X topic.metadata.refresh.interval.ms=1000)
AGG=(--window 60s --allowed-lateness 2m --features none)

# two phases of lines: phase 2 continues phase 1's event time
"$GEN_EVENTS" --count $((2 * N)) --kind mixed --seed 7 --rate "${RATE:-20}" >"$T/all.jsonl" || die "gen-events"
# records TOPIC: the Events and Samples it holds; marks TOPIC: its watermark
# marks (fbcat reading without a group shows every message)
count() { timeout 60 "$BIN/fbcat" --in "kafka://$KAFKA/$1" -e --count 2>/dev/null; }
records() { count "$1" | awk '$1 == "Event" || $1 == "Sample" { n += $2 } END { print n + 0 }'; }
marks() { count "$1" | awk '$1 == "Watermark" { n += $2 } END { print n + 0 }'; }
late() { sed -n 's/.*"msg":"done".*"late":\([0-9]*\),.*/\1/p' "$1"; }
assigned() { local n; n=$(grep -c '"kafka partition assigned"' "$1" 2>/dev/null); echo "${n:-0}"; }

# the truth: the file run of both phases (and phase 1's record count)
"$BIN/ingest" <"$T/all.jsonl" 2>/dev/null >"$T/ev.rec" || die "ingest (file)"
E1=$(head -n "$N" "$T/all.jsonl" | "$BIN/ingest" 2>/dev/null | "$BIN/fbcat" --count | awk '$1 == "total" { print $2 }')
E=$("$BIN/fbcat" --count <"$T/ev.rec" | awk '$1 == "total" { print $2 }')
"$BIN/aggregate" "${AGG[@]}" --format json <"$T/ev.rec" 2>"$T/agg-file.err" | sort >"$T/file.sorted"
grep -q '"late":0,' "$T/agg-file.err" || die "the file run refuses records as late"

# aggregate NAME: the metrics of everything in events (to its end)
aggregate() {
  timeout 60 "$BIN/aggregate" --in "kafka://$KAFKA/events?group=agg-$1&eof=1" "${X[@]}" "${AGG[@]}" \
    --format json 2>"$T/agg-$1.err" | sort >"$T/$1.sorted" || fail "$1: aggregate exit $?"
}
differ() { comm -3 "$T/$1.sorted" "$T/$2.sorted" | wc -l; }

# which raw partition each line goes to: the same keys through the same
# partitioner (kcat's librdkafka) into a scratch topic of 8 partitions
awk '{ print NR "\t" NR }' "$T/all.jsonl" | kcat -P -b "$KAFKA" -t keys -K '\t' || die "produce keys"
timeout 60 kcat -C -b "$KAFKA" -t keys -e -q -f '%k %p\n' 2>/dev/null | sort -n >"$T/keys.map"
expect_eq "every line's partition known" "$(wc -l <"$T/keys.map")" "$((2 * N))"
# lines FROM TO PARTITIONS...: the keyed lines FROM..TO on those partitions
lines() {
  awk -v a="$1" -v b="$2" -v ps=" ${*:3} " 'NR == FNR { p[$1] = $2; next }
    FNR >= a && FNR <= b && index(ps, " " p[FNR] " ") { print FNR "\t" $0 }' "$T/keys.map" "$T/all.jsonl"
}
owned() { kafka_owned "$1"; }
# split_ok: A and B own 4 partitions each, all 8 between them, and neither
# was assigned anything in the last 2 s (the group has settled)
split_ok() {
  local a b; a=$(owned "$T/ing-A.err"); b=$(owned "$T/ing-B.err")
  [ "$(echo $a | wc -w)" = 4 ] && [ "$(echo $b | wc -w)" = 4 ] &&
    [ "$(echo $a $b | tr ' ' '\n' | sort -u | wc -l)" = 8 ] &&
    [ $(( $(date +%s) - $(stat -c %Y "$T/ing-A.err" "$T/ing-B.err" | sort -n | tail -n1) )) -ge 2 ]
}

ingest() {   # ingest NAME: one instance in group ing, in the background
  "$BIN/ingest" --in "kafka://$KAFKA/raw?group=ing" "${X[@]}" --idle-timeout 30s \
    --out "kafka://$KAFKA/events" 2>"$T/ing-$1.err" &
  PID[$1]=$!
  at_exit "kill -9 ${PID[$1]}"
}
declare -A PID
settled() {   # settled TOPIC: it holds records, and no more came in the last second
  local a; a=$(records "$1"); sleep 1
  [ "$a" -gt 0 ] && [ "$(records "$1")" = "$a" ]
}
# -- phase 1: A and B share the raw partitions (4 each); A's half of the
# lines is produced first and written, then B's: in every events partition
# B's records follow A's, minutes older
ingest A
ingest B
wait_until 30 split_ok || die "A and B did not share the partitions: A $(owned "$T/ing-A.err"), B $(owned "$T/ing-B.err")"
PB=$(owned "$T/ing-B.err")
PA=$(for p in 0 1 2 3 4 5 6 7; do case " $PB " in *" $p "*) ;; *) echo "$p";; esac; done | xargs)
echo "[$SECONDS s] A owns $PA, B owns $PB" >&2
lines 1 "$N" $PA | kcat -P -b "$KAFKA" -t raw -K '\t' || die "produce phase 1 (A)"
wait_until 30 'settled events' || fail "phase 1: A wrote nothing"
n_a=$(records events)
lines 1 "$N" $PB | kcat -P -b "$KAFKA" -t raw -K '\t' || die "produce phase 1 (B)"
wait_until 30 '[ "$(records events)" -ge "$E1" ]' || fail "phase 1: events holds $(records events) of $E1 records"
echo "[$SECONDS s] phase 1: A wrote $n_a records, then B $(( $(records events) - n_a )); $(marks events) watermark marks" >&2

# -- phase 2: C joins while a third of the lines is read (a rebalance), B
# is killed -9 once C has partitions, then the rest
ingest C
lines $((N + 1)) $((N + N / 3)) 0 1 2 3 4 5 6 7 | kcat -P -b "$KAFKA" -t raw -K '\t' || die "produce phase 2a"
wait_until 30 '[ "$(assigned "$T/ing-C.err")" -ge 1 ]' || fail "C got no partitions"
kill -9 "${PID[B]}"
lines $((N + N / 3 + 1)) $((2 * N)) 0 1 2 3 4 5 6 7 | kcat -P -b "$KAFKA" -t raw -K '\t' || die "produce phase 2b"
wait_until 40 '[ "$(records events)" -ge "$E" ] && settled events' ||
  fail "phase 2: events holds $(records events) of $E records"
echo "[$SECONDS s] phase 2: events holds $(records events) records for $E ($(marks events) marks)" >&2
# one aggregate over both phases (a group's start costs seconds)
aggregate all; echo "[$SECONDS s] aggregated" >&2
grep '"msg":"done"' "$T/agg-all.err" >&2
expect_eq "records late" "$(late "$T/agg-all.err")" 0
check "metrics == the file run's ($(wc -l <"$T/file.sorted") lines; $(differ file all) differ)" \
  cmp -s "$T/file.sorted" "$T/all.sorted"
finish
