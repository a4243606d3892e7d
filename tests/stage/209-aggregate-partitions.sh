#!/usr/bin/env bash
# aggregate on an 8-partition topic holding a backlog: the watermark is the
# minimum over the partitions of each one's event time, so a partition read
# ahead of the others never closes their windows. One instance reading the
# topic refuses no record as late where the file run refuses none, and its
# output is the file run's, record for record. (With the watermark taken
# from the largest time over all partitions, thousands were refused as
# late_event: the partitions are read in bursts, not in time order.)
. "$(dirname "$0")/../lib.sh"
command -v kcat >/dev/null || { echo "SKIP: no kcat"; exit 0; }

start_kafka events:8
"$GEN_EVENTS" --count 20000 --kind mixed --seed 7 --rate 50 | "$BIN/ingest" >"$T/ev.rec" 2>/dev/null || die "prepare events"
# keyed produce (user_id, series name): every partition gets its share
"$BIN/fbcat" --records --out "kafka://$KAFKA/events" <"$T/ev.rec" 2>"$T/prod.err" || die "produce to kafka"
nrec=$("$BIN/fbcat" --count <"$T/ev.rec" 2>/dev/null | sed -n 's/^total //p')
# count what the topic holds (kcat, not our code) before trusting a result
timeout 60 kcat -C -b "$KAFKA" -t events -e -q -f '%p\n' 2>/dev/null | sort | uniq -c >"$T/parts"
expect_eq "the topic holds every record" "$(awk '{s += $1} END {print s}' "$T/parts")" "$nrec"
expect_eq "all 8 partitions hold records" "$(wc -l <"$T/parts")" 8

"$BIN/aggregate" --in "$T/ev.rec" --window 60s --format json >"$T/file.json" 2>"$T/file.err" || fail "file run"
grep -q '"late":0,' "$T/file.err" || fail "the file run refuses records as late: $(tail -1 "$T/file.err")"

X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
timeout 120 "$BIN/aggregate" --in "kafka://$KAFKA/events?group=agg&eof=1" "${X[@]}" --window 60s \
  --format json >"$T/kafka.json" 2>"$T/kafka.err" || fail "kafka run: exit $?"
done_line=$(grep '"msg":"done"' "$T/kafka.err")
grep -q '"late":0,' <<<"$done_line" || fail "kafka run refused records as late: $done_line"
check "kafka run counted every record" grep -q "\"events\":[0-9]*,\"samples\":[0-9]*," <<<"$done_line"
expect_eq "kafka run: events + samples" \
  "$(sed 's/.*"events":\([0-9]*\),"samples":\([0-9]*\),.*/\1 \2/' <<<"$done_line" | awk '{print $1 + $2}')" "$nrec"
# same metrics; only the order in which windows' series come out may differ
sort "$T/file.json" >"$T/file.sorted"
sort "$T/kafka.json" >"$T/kafka.sorted"
check "kafka output equals the file run's ($(wc -l <"$T/file.sorted") metrics)" cmp -s "$T/file.sorted" "$T/kafka.sorted"
finish
