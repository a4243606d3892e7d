#!/usr/bin/env bash
# kafka-experiment-ingest — issue 11: experiment-analyzer scaled out (three
# `--emit partials` instances in one group, one `--merge`) fed as
# production feeds it: JSON lines on an 8-partition raw topic (keyed by
# line number), two ingest instances in one group writing the 8-partition
# events topic with watermark marks in every partition.
# Phase 1: ingest A and B own 4 raw partitions each; A's half of the lines
# is produced and written first, then B's: in every events partition B's
# records follow A's, up to a minute of event time older. EA instances a
# and b read it. Phase 2: EA c joins, lines stream in, ingest B and EA b
# are killed -9 and restarted, more lines, and the last 300 once ingest's
# group has settled; then a and the restarted b get SIGTERM at once and c
# reads their partitions again from the start.
# Counted as they came (main's code), A's records crossed every report
# boundary of phase 1 before B's older ones came, which landed in later
# reports. With the marks, a partition's records wait until the marks pass
# them and reach the engine in event-time order: every merged report equals
# one process reading the file run's events (`--mergeable`), byte for byte,
# up to the last boundary the marks have passed everywhere (Kafka has no
# end; the tail of event time stays open). Main's code before: all 184 rows
# (23 reports) differed. ~55-70 s (release build), ~95 s (ASan), at load ~25.
source "$(dirname "$0")/../lib.sh"
N=${N:-12000}
start_kafka raw:8 events:8 keys:8 partials:1
[ -n "${KEEP_LOGS:-}" ] && at_exit "rm -rf $KEEP_LOGS; cp -r $T $KEEP_LOGS"
X=(-X session.timeout.ms=4000 -X heartbeat.interval.ms=300 -X topic.metadata.refresh.interval.ms=1000)
EA=$BIN/experiment-analyzer
EVERY=5s
cp "$DATA/experiments.yaml" "$T/e.yaml"

# two phases of lines, phase 2 continuing phase 1's event time (100 lines/s:
# phase 1 is 60 s of event time, 12 report boundaries)
"$GEN_EVENTS" --count "$N" --kind interactions --users 2000 --seed 8 --experiment rec_algo_v1:0.30 \
  --start 1795000000 --rate 100 >"$T/all.jsonl" || die "gen-events"
H=$((N / 2))
# records TOPIC: the Events it holds (keyed by user; watermark marks have
# no key), marks TOPIC: its marks (kcat, not our code: cheap in wait loops)
keys() { timeout 60 kcat -C -b "$KAFKA" -t "$1" -e -q -f '%K\n' 2>/dev/null; }
records() { keys "$1" | awk '$1 > 0 { n++ } END { print n + 0 }'; }
marks() { keys "$1" | awk '$1 == -1 { n++ } END { print n + 0 }'; }
count() { timeout 60 "$BIN/fbcat" --in "kafka://$KAFKA/$1" -e --count 2>/dev/null; }
assigned() { local n; n=$(grep -c '"kafka partition assigned"' "$T/$1.err" 2>/dev/null); echo "${n:-0}"; }

# the truth: one process over the file run's events, a report at every
# boundary (--mergeable: what the merge reproduces)
"$BIN/ingest" <"$T/all.jsonl" 2>/dev/null >"$T/ev.rec" || die "ingest (file)"
E=$("$BIN/fbcat" --count <"$T/ev.rec" | awk '$1 == "total" { print $2 }')
events_of() { head -n "$1" "$T/all.jsonl" | "$BIN/ingest" 2>/dev/null | "$BIN/fbcat" --count | awk '$1 == "total" { print $2 }'; }
TAIL=300
E1=$(events_of "$H")
E2=$(events_of $((N - TAIL)))
"$EA" --config "$T/e.yaml" --report-every $EVERY --mergeable --in "$T/ev.rec" --format json >"$T/one.json" \
  2>/dev/null || die "file run"

# which raw partition each line goes to: the same keys through the same
# partitioner (kcat's librdkafka) into a scratch topic of 8 partitions
awk '{ print NR "\t" NR }' "$T/all.jsonl" | kcat -P -b "$KAFKA" -t keys -K '\t' || die "produce keys"
timeout 60 kcat -C -b "$KAFKA" -t keys -e -q -f '%k %p\n' 2>/dev/null | sort -n >"$T/keys.map"
expect_eq "every line's partition known" "$(wc -l <"$T/keys.map")" "$N"
lines() {   # lines FROM TO PARTITIONS...: the keyed lines FROM..TO on those partitions
  awk -v a="$1" -v b="$2" -v ps=" ${*:3} " 'NR == FNR { p[$1] = $2; next }
    FNR >= a && FNR <= b && index(ps, " " p[FNR] " ") { print FNR "\t" $0 }' "$T/keys.map" "$T/all.jsonl"
}
produce() { lines "$@" | kcat -P -b "$KAFKA" -t raw -K '\t' || die "produce lines $1..$2"; }
owned() { kafka_owned "$T/$1.err"; }
split_ok() {   # split_ok X Y: ingest X and Y own 4 raw partitions each, and nothing moved for 2 s
  local a b; a=$(owned "ing-$1"); b=$(owned "ing-$2")
  [ "$(echo $a | wc -w)" = 4 ] && [ "$(echo $b | wc -w)" = 4 ] &&
    [ "$(echo $a $b | tr ' ' '\n' | sort -u | wc -l)" = 8 ] &&
    [ $(( $(date +%s) - $(stat -c %Y "$T/ing-$1.err" "$T/ing-$2.err" | sort -n | tail -n1) )) -ge 2 ]
}
settled() {   # settled TOPIC: it holds records, and no more came in the last second
  local a; a=$(records "$1"); sleep 1
  [ "$a" -gt 0 ] && [ "$(records "$1")" = "$a" ]
}
declare -A PID
# No raw partition goes idle in this test (--idle-timeout 5m): an idle one
# holds nothing back, so B's lines, coming after A's, would be late by
# design. No events partition either (2m): before the first record each
# would send an idle snapshot the merge may use while its records are on
# their way (README "Idle partitions"). Neither depends on how long a step
# takes on a loaded machine.
ingest() {   # ingest NAME: one ingest in group ing (raw -> events, with marks)
  "$BIN/ingest" --in "kafka://$KAFKA/raw?group=ing" "${X[@]}" --idle-timeout 5m \
    --out "kafka://$KAFKA/events" 2>"$T/ing-$1.err" &
  PID[ing-$1]=$!
  at_exit "kill -9 ${PID[ing-$1]}"
}
inst() {   # inst NAME: an --emit partials instance in group g
  "$EA" --config "$T/e.yaml" --report-every $EVERY --emit partials --idle-timeout 2m \
    --in "kafka://$KAFKA/events?group=g" "${X[@]}" \
    --out "kafka://$KAFKA/partials" >/dev/null 2>"$T/$1.err" &
  PID[$1]=$!
  at_exit "kill -9 ${PID[$1]}"
}
merge() {   # merge NAME: the merge over every partial so far, results in $T/NAME.json
  timeout 60 "$EA" --config "$T/e.yaml" --report-every $EVERY --merge --in "kafka://$KAFKA/partials?group=m$1&eof=1" \
    --format json >"$T/$1.json" 2>"$T/$1.err"
}

# -- phase 1: EA a and b wait on events; ingest A's half of the lines is
# written first, then B's
inst a; inst b
ingest A; ingest B
wait_until 40 'split_ok A B' || die "ingest A and B did not share the raw partitions: A $(owned ing-A), B $(owned ing-B)"
wait_until 40 '[ "$(assigned a)" -ge 1 ] && [ "$(assigned b)" -ge 1 ]' || die "EA a and b did not start"
PB=$(owned ing-B)
PA=$(for p in 0 1 2 3 4 5 6 7; do case " $PB " in *" $p "*) ;; *) echo "$p";; esac; done | xargs)
echo "[$SECONDS s] ingest A owns $PA, B owns $PB" >&2
produce 1 "$H" $PA
wait_until 30 'settled events' || fail "phase 1: ingest A wrote nothing"
n_a=$(records events)
produce 1 "$H" $PB
wait_until 30 '[ "$(records events)" -ge "$E1" ]' || fail "phase 1: events holds $(records events) of $E1 records"
echo "[$SECONDS s] phase 1: A wrote $n_a records, then B $(( $(records events) - n_a )); $(marks events) marks" >&2

# -- phase 2: EA c joins; a third of the rest streams in; ingest B and EA b
# are killed -9 and restarted; then the rest
inst c
wait_until 40 '[ "$(assigned c)" -ge 1 ]' || fail "EA c did not join"
produce $((H + 1)) $((H + H / 3)) 0 1 2 3 4 5 6 7
kill -9 "${PID[ing-B]}" "${PID[b]}"; wait "${PID[ing-B]}" "${PID[b]}" 2>/dev/null
ingest B2; inst b2
produce $((H + H / 3 + 1)) $((N - TAIL)) 0 1 2 3 4 5 6 7
wait_until 40 '[ "$(assigned b2)" -ge 1 ]' || fail "EA b did not rejoin"
# the last lines once ingest's group has settled: a raw partition handed
# back to a member that reads nothing new on it is marked with no time
# (the largest event time before the committed offset is not known to its
# new owner), so without new lines after the last rebalance the marks
# would keep the time of before it
wait_until 40 'split_ok A B2' || fail "ingest A and B2 did not share the raw partitions: A $(owned ing-A), B2 $(owned ing-B2)"
wait_until 40 '[ "$(records events)" -ge "$E2" ]' || fail "phase 2: events holds $(records events) of $E2 records"
produce $((N - TAIL + 1)) "$N" 0 1 2 3 4 5 6 7
wait_until 40 '[ "$(records events)" -ge "$E" ] && settled events' ||
  fail "phase 2: events holds $(records events) of $E records"
echo "[$SECONDS s] phase 2: events holds $(records events) records for $E ($(marks events) marks)" >&2

# what is compared: every report of the file run at a boundary the marks
# have passed in every events partition with a record to spare. At the
# end the marks stand at the slowest raw partition's last event (ingest
# commits everything), so boundaries up to one report interval below that
# are crossed by released records in every events partition (100 lines/s:
# ~60 per partition in 5 s); the boundaries after stay open, as Kafka has
# no end. A report's rows carry its last event time (below its boundary).
last=$(for p in 0 1 2 3 4 5 6 7; do awk -v p="$p" '$2 == p { n = $1 } END { print n }' "$T/keys.map"; done |
  sort -n | head -n1)
t_marks=$(sed -n "${last}p" "$T/all.jsonl" | sed 's/.*"ts":"\([^"]*\)".*/\1/')
every_us=5000000
cut=$(( ($(date -u -d "$t_marks" +%s) * 1000000 / every_us - 1) * every_us ))
awk -v cut="$cut" -F'[:,]' '$2 + 0 < cut' "$T/one.json" >"$T/want.json"
rows=$(wc -l <"$T/want.json")
[ "$rows" -ge 150 ] || die "only $rows rows of boundary reports to compare"

# SIGTERM of two at once: c takes every partition and reads them again
# from the start (the input is the changelog); its partials are copies
before=$(assigned c)
kill -TERM "${PID[a]}" "${PID[b2]}"
wait "${PID[a]}"; expect_eq "EA a: exit after SIGTERM together" $? 0
wait "${PID[b2]}"; expect_eq "EA b (restarted): exit after SIGTERM together" $? 0
wait_until 40 '[ "$(owned c | wc -w)" = 8 ] && [ "$(assigned c)" -gt "$before" ]' ||
  fail "EA c did not take every partition: $(owned c)"
# c has read everything again once the partials topic stops growing
psize() { timeout 60 kcat -C -b "$KAFKA" -t partials -e -q -f '%S\n' 2>/dev/null | awk '{ n++; s += $1 } END { print n + 0, s + 0 }'; }
quiet() { local a; a=$(psize); sleep 1; [ "$(psize)" = "$a" ]; }
wait_until 40 quiet || fail "c's partials did not settle"
kill -TERM "${PID[c]}"; wait "${PID[c]}"; expect_eq "EA c: exit after SIGTERM" $? 0

# the topics hold what they should (counted before trusting the result)
expect_eq "the raw topic holds every line" \
  "$(timeout 60 kcat -C -b "$KAFKA" -t raw -e -q -f '%p\n' 2>/dev/null | wc -l)" "$N"
check "the events topic holds every event ($(records events) for $E, copies of a kill -9 included)" \
  [ "$(records events)" -ge "$E" ]
p=$(psize)
echo "partials topic: $p (records, bytes); events: $(count events | tr '\n' ' ')" >&2
[ "${p#* }" -lt 3000000 ] || fail "partials topic over 3 MB: the mock may have dropped some"
for t in raw events; do
  big=$(timeout 60 kcat -C -b "$KAFKA" -t $t -e -q -f '%p %S\n' 2>/dev/null |
    awk '{ s[$1] += $2 } END { m = 0; for (p in s) if (s[p] > m) m = s[p]; print m }')
  [ "$big" -lt 3000000 ] || fail "$t: a partition holds $big bytes (the mock keeps ~5 MiB)"
done

merge final
echo "[$SECONDS s] merged $(wc -l <"$T/final.json") rows (compared: $rows, marks at $t_marks)" >&2
[ "$(wc -l <"$T/final.json")" -ge "$rows" ] || fail "the merge wrote $(wc -l <"$T/final.json") of $rows rows"
head -n "$rows" "$T/final.json" >"$T/got.json"
check "merged over Kafka = one process from the file ($rows rows; $(cmp "$T/want.json" "$T/got.json" 2>&1 | head -c 80))" \
  cmp -s "$T/want.json" "$T/got.json"
grep -h '"msg":"done"' "$T/final.err" >&2
for f in a b b2 c; do grep -h '"msg":"done"' "$T/$f.err" >&2; done
grep -q '"held_for_marks":[1-9]' "$T"/{a,b2,c}.err || fail "no record waited for the marks: the case was not exercised"
grep -q '"partials_ignored":[1-9]' "$T/final.err" || fail "no partial was re-emitted: the replay was not exercised"
finish
