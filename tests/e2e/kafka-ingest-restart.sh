#!/usr/bin/env bash
# kafka-ingest-restart — issue 11: an `aggregate --emit partials` instance
# that restarts mid-topic, from its group's committed offsets, behind two
# ingest instances that are minutes of event time apart.
# (--idle-timeout 10m for ingest: B must not say its partitions idle while
# it waits for its lines, under any load; idle, it would let windows close
# that its records come to later, late as for one process.)
# A and B share an 8-partition raw topic (4 partitions each); A's half of
# the lines is written first (the whole 100 min of event time: --rate 0.5)
# and read by emitter 1: B has named its partitions busy with no time yet,
# so no window closes, and it commits only the first record its open
# windows need (A's first, right after the marks before it); it is killed
# -9. Then B's half is written (in every events partition after A's, older)
# and emitter 2 runs from those offsets, to the end: the first messages it
# reads are A's records, up to ~200 per partition before a mark. Without
# the commit tag (`streamrec:wmark`) it took their time, closed the windows
# up to A's, and refused B's records as late (1,292 late, 3,290 of 5,126
# merged metric lines wrong); with it the partition waits for marks, and
# the merged partials equal the file run's metrics with nothing late.
# ~45-60 s under ASan at load 15-20 (four group starts).
source "$(dirname "$0")/../lib.sh"
N=${N:-3000}
start_kafka raw:8 events:8 partials:4 keys:8
[ -n "${KEEP_LOGS:-}" ] && at_exit "rm -rf $KEEP_LOGS; cp -r $T $KEEP_LOGS"
X=(-X session.timeout.ms=4000 -X heartbeat.interval.ms=300 -X topic.metadata.refresh.interval.ms=1000)
AGG=(--window 60s --allowed-lateness 2m --features none)

"$GEN_EVENTS" --count "$N" --kind mixed --seed 7 --rate "${RATE:-0.5}" >"$T/all.jsonl" || die "gen-events"
count() { timeout 60 "$BIN/fbcat" --in "kafka://$KAFKA/$1" -e --count 2>/dev/null; }
records() { count "$1" | awk '$1 == "Event" || $1 == "Sample" { n += $2 } END { print n + 0 }'; }
late() { sed -n 's/.*"msg":"done".*"late":\([0-9]*\),.*/\1/p' "$1"; }

# the truth: the file run
"$BIN/ingest" <"$T/all.jsonl" 2>/dev/null >"$T/ev.rec" || die "ingest (file)"
E=$("$BIN/fbcat" --count <"$T/ev.rec" | awk '$1 == "total" { print $2 }')
"$BIN/aggregate" "${AGG[@]}" --format json <"$T/ev.rec" 2>"$T/agg-file.err" | sort >"$T/file.sorted"
grep -q '"late":0,' "$T/agg-file.err" || die "the file run refuses records as late"

# which raw partition each line goes to (kcat's partitioner, as for the lines)
awk '{ print NR "\t" NR }' "$T/all.jsonl" | kcat -P -b "$KAFKA" -t keys -K '\t' || die "produce keys"
timeout 60 kcat -C -b "$KAFKA" -t keys -e -q -f '%k %p\n' 2>/dev/null | sort -n >"$T/keys.map"
expect_eq "every line's partition known" "$(wc -l <"$T/keys.map")" "$N"
lines() {   # lines PARTITIONS...: the keyed lines on those raw partitions
  awk -v ps=" $* " 'NR == FNR { p[$1] = $2; next }
    index(ps, " " p[FNR] " ") { print FNR "\t" $0 }' "$T/keys.map" "$T/all.jsonl"
}
owned() { kafka_owned "$1"; }
split_ok() {   # A and B own 4 raw partitions each, and the group settled 2 s ago
  local a b; a=$(owned "$T/ing-A.err"); b=$(owned "$T/ing-B.err")
  [ "$(echo $a | wc -w)" = 4 ] && [ "$(echo $b | wc -w)" = 4 ] &&
    [ "$(echo $a $b | tr ' ' '\n' | sort -u | wc -l)" = 8 ] &&
    [ $(( $(date +%s) - $(stat -c %Y "$T/ing-A.err" "$T/ing-B.err" | sort -n | tail -n1) )) -ge 2 ]
}
declare -A PID
ingest() {
  "$BIN/ingest" --in "kafka://$KAFKA/raw?group=ing" "${X[@]}" --idle-timeout 10m \
    --out "kafka://$KAFKA/events" 2>"$T/ing-$1.err" &
  PID[$1]=$!
  at_exit "kill -9 ${PID[$1]}"
}
settled() { local a; a=$(records events); sleep 1; [ "$a" -gt 0 ] && [ "$(records events)" = "$a" ]; }
emitter() {   # emitter RUN [?eof=1]: aggregate --emit partials in group p, in the background
  "$BIN/aggregate" --in "kafka://$KAFKA/events?group=p${2:-}" "${X[@]}" "${AGG[@]}" --emit partials \
    --checkpoint-interval 300ms --metrics-file "$T/emit-$1.prom" --out "kafka://$KAFKA/partials" \
    >/dev/null 2>"$T/emit-$1.err" &
  PID[e$1]=$!
  at_exit "kill -9 ${PID[e$1]}"
}
# caught_up RUN: a metrics file written after $T/mark, lag 0 on all 8 partitions
caught_up() {
  [ "$T/emit-$1.prom" -nt "$T/mark" ] &&
    [ "$(grep -c '^streamrec_kafka_consumer_lag{.*} 0$' "$T/emit-$1.prom")" = 8 ]
}

ingest A
ingest B
wait_until 30 split_ok || die "A and B did not share the partitions: A $(owned "$T/ing-A.err"), B $(owned "$T/ing-B.err")"
PB=$(owned "$T/ing-B.err")
PA=$(for p in 0 1 2 3 4 5 6 7; do case " $PB " in *" $p "*) ;; *) echo "$p";; esac; done | xargs)
lines $PA | kcat -P -b "$KAFKA" -t raw -K '\t' || die "produce A's lines"
wait_until 30 settled || fail "A wrote nothing"
n_a=$(records events)
# the emitter reads A's records, none of its windows can close (B's time is
# unknown), so it commits the first record its windows need, and it is
# killed: the committed offsets are mid-topic, followed by A's records
touch "$T/mark"
emitter 1
wait_until 40 'caught_up 1' || fail "emitter 1 did not read A's records"
touch "$T/mark"; wait_until 10 '[ "$T/emit-1.prom" -nt "$T/mark" ]'   # a checkpoint (300 ms) or more later
kill -9 "${PID[e1]}"; wait "${PID[e1]}" 2>/dev/null
echo "[$SECONDS s] A wrote $n_a records; emitter 1 read them and was killed" >&2
lines $PB | kcat -P -b "$KAFKA" -t raw -K '\t' || die "produce B's lines"
wait_until 30 '[ "$(records events)" -ge "$E" ] && settled' || fail "events holds $(records events) of $E records"
emitter 2 '&eof=1'
wait "${PID[e2]}" || fail "emitter 2: exit $?"
done2=$(grep '"msg":"done"' "$T/emit-2.err")
echo "[$SECONDS s] restarted: $done2" >&2
# it started mid-topic: past the marks before A's first record (emitter 1
# committed there), so it read fewer marks than the topic holds
marks=$(count events | awk '$1 == "Watermark" { print $2 }')
read2=$(sed -n 's/^streamrec_watermark_marks_read_total{[^}]*} //p' "$T/emit-2.prom")
[ "${read2:-0}" -gt 0 ] && [ "${read2:-0}" -lt "${marks:-0}" ] ||
  fail "the restart read ${read2:-?} of the ${marks:-?} marks: it did not start mid-topic"
expect_eq "emitter 2 (restarted mid-topic): records late" "$(late "$T/emit-2.err")" 0
timeout 60 "$BIN/aggregate" --merge --in "kafka://$KAFKA/partials?group=m&eof=1" "${X[@]}" "${AGG[@]}" \
  --format json 2>"$T/merge.err" | sort >"$T/merged.sorted" || fail "merge: exit $?"
check "merged metrics == the file run's ($(wc -l <"$T/file.sorted") lines; $(comm -3 "$T/file.sorted" "$T/merged.sorted" | wc -l) differ)" \
  cmp -s "$T/file.sorted" "$T/merged.sorted"
finish
