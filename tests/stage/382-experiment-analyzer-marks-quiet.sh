#!/usr/bin/env bash
# 382-experiment-analyzer-marks-quiet — a quiet events partition that
# carries watermark marks does not hold the merge back: ingest (Kafka to
# Kafka, marks on) writes a 2-partition events topic from JSON lines on a
# 2-partition raw topic; the users of events partition 1 stop after the
# first 30 s of event time (of 120), partition 0's go on, so the raw
# partitions stay busy and partition 1 is never idle (--idle-timeout 2m).
# Its marks pass the later boundaries with no record of it crossing them:
# its snapshot goes out as it stands for them (done line passed_by_marks),
# and the merge, live, writes every boundary report one process writes
# from the file's events, byte for byte, up to the marks' time. (Without:
# the merge waited for partition 1's next event, which never comes.)
# ~20 s (ASan, loaded machine: more).
source "$(dirname "$0")/../lib.sh"
start_kafka raw:2 events:2 partials:1
X=(-X session.timeout.ms=4000 -X heartbeat.interval.ms=300 -X topic.metadata.refresh.interval.ms=1000)
EA=$BIN/experiment-analyzer
cp "$DATA/experiments.yaml" "$T/e.yaml"
"$GEN_EVENTS" --count 12000 --rate 100 --kind interactions --users 1500 --seed 8 --experiment rec_algo_v1:0.30 \
  --start 1795000000 >"$T/gen.jsonl" || die "gen-events"
# events partition of a user: librdkafka's default partitioner (crc32 of the key, ingest's key the user id)
python3 - "$T/gen.jsonl" >"$T/all.jsonl" <<'PY' || die "filter"
import json, sys, zlib
for i, l in enumerate(open(sys.argv[1]).read().splitlines()):
    if zlib.crc32(json.loads(l)["user_id"].encode()) % 2 == 0 or i < 3000: print(l)
PY
"$BIN/ingest" <"$T/all.jsonl" 2>/dev/null >"$T/ev.rec" || die "ingest (file)"
E=$("$BIN/fbcat" --count <"$T/ev.rec" | awk '$1 == "total" { print $2 }')
"$EA" --config "$T/e.yaml" --report-every 5s --mergeable --in "$T/ev.rec" --format json >"$T/one.json" \
  2>/dev/null || die "file run"
# compared: the reports at boundaries at least one interval below the last
# event (the marks stand at the slowest raw partition's last event); a
# report's rows carry its last event time
last=$(tail -n1 "$T/all.jsonl" | sed 's/.*"ts":"\([^"]*\)".*/\1/')
cut=$(( ($(date -u -d "$last" +%s) / 5 - 1) * 5000000 ))
awk -v cut="$cut" -F'[:,]' '$2 + 0 < cut' "$T/one.json" >"$T/want.json"
rows=$(wc -l <"$T/want.json")
[ "$rows" -ge 150 ] || die "only $rows rows of boundary reports to compare"
q1=$(awk -F'[:,]' '{ print $2 }' "$T/one.json" | sort -u | wc -l)

"$BIN/ingest" --in "kafka://$KAFKA/raw?group=ing" "${X[@]}" --idle-timeout 5m \
  --out "kafka://$KAFKA/events" 2>"$T/ing.err" &
ING=$!
at_exit "kill -9 $ING"
"$EA" --config "$T/e.yaml" --report-every 5s --emit partials --idle-timeout 2m \
  --in "kafka://$KAFKA/events?group=g" "${X[@]}" --out "kafka://$KAFKA/partials" >/dev/null 2>"$T/emit.err" &
EM=$!
at_exit "kill -9 $EM"
"$EA" --config "$T/e.yaml" --report-every 5s --merge --in "kafka://$KAFKA/partials?group=m" "${X[@]}" \
  --format json >"$T/merged.json" 2>"$T/merge.err" &
M=$!
at_exit "kill -9 $M"
# the lines keyed by line number, once ingest has its partitions
wait_until 60 'grep -q "kafka partition assigned" "$T/ing.err"' || die "ingest got no partition"
awk '{ print NR "\t" $0 }' "$T/all.jsonl" | kcat -P -b "$KAFKA" -t raw -K '\t' || die "produce"
events() { timeout 60 "$BIN/fbcat" --in "kafka://$KAFKA/events" -e --count 2>/dev/null | awk '$1 == "Event" { print $2 }'; }
p1() { timeout 30 kcat -C -b "$KAFKA" -t events -p 1 -e -q -f '%k\n' 2>/dev/null | grep -c .; }   # keyed: Events
wait_until 60 '[ "$(events)" = "$E" ]' || fail "events holds $(events) of $E"
[ "$(p1)" -ge 100 ] || fail "partition 1 holds only $(p1) events"

wait_until 60 '[ "$(wc -l <"$T/merged.json")" -ge "$rows" ]' ||
  fail "the merge wrote $(wc -l <"$T/merged.json") of $rows rows while partition 1 was quiet"
head -n "$rows" "$T/merged.json" >"$T/got.json"
check "merged over Kafka == one process from the file ($rows rows of $q1 reports' worth)" cmp -s "$T/want.json" "$T/got.json"
kill -TERM $EM; wait $EM; expect_eq "emitter: exit after SIGTERM" $? 0
kill -TERM $M; wait $M; expect_eq "merge: exit after SIGTERM" $? 0
grep -h '"msg":"done"' "$T/emit.err" "$T/merge.err" >&2
grep -q '"passed_by_marks":[1-9]' "$T/emit.err" || fail "no boundary was passed by the marks alone"
grep -q '"held_for_marks":[1-9]' "$T/emit.err" || fail "no record waited for the marks"
finish
