#!/usr/bin/env bash
# 140-ingest-kafka — Kafka in and out through the test broker: kcat produces
# JSON lines into events.raw (2 partitions), ingest turns them into records
# on events (keyed by user_id), bad lines are dead-lettered with their
# topic/partition@offset; fbcat and kcat read the results back.
source "$(dirname "$0")/../lib.sh"
command -v kcat >/dev/null || die "kcat not installed (make deps)"
start_kafka events.raw:2 events:2

"$GEN_EVENTS" --count 2000 --kind interactions --seed 9 --users 200 > "$T/in.jsonl"
{ cat "$T/in.jsonl"; echo '{"user_id":"u1","event_type":'; echo '{"user_id":7,"event_type":"click"}'; } > "$T/all.jsonl"
kcat -P -b "$KAFKA" -t events.raw -z none -l "$T/all.jsonl" 2>"$T/kcat.err" || die "kcat produce failed: $(cat "$T/kcat.err")"

timeout 60 "$BIN/ingest" --in "kafka://$KAFKA/events.raw?group=ingest&eof=1" --out "kafka://$KAFKA/events" \
  --dead-letter "$T/dl.jsonl" -X session.timeout.ms=6000 2>"$T/err"
expect_eq "ingest exit status" "$?" 0
expect_eq "dead letters" "$(wc -l < "$T/dl.jsonl")" 2
jq -r .pos "$T/dl.jsonl" | grep -Eq '^events\.raw/[01]@[0-9]+$' || fail "dead-letter pos: $(jq -r .pos "$T/dl.jsonl")"
expect_eq "dead-letter reasons" "$(jq -r .reason "$T/dl.jsonl" | sort | tr '\n' ' ')" "bad_json wrong_type "

timeout 60 "$BIN/fbcat" --in "kafka://$KAFKA/events?group=check&eof=1" -X session.timeout.ms=6000 > "$T/out.jsonl" 2>"$T/ferr"
expect_eq "events read back" "$(wc -l < "$T/out.jsonl")" 2000
# same set of event ids as the input (order differs across partitions)
expect_eq "event ids" "$(jq -r .event_id "$T/out.jsonl" | sort | md5sum)" "$(jq -r .event_id "$T/in.jsonl" | sort | md5sum)"
# message key = user_id of the record in the message (watermark marks,
# written into every partition, have no key: %K is -1)
timeout 60 kcat -C -b "$KAFKA" -t events -e -q -f '%K\t%k\n' 2>/dev/null | awk -F'\t' '$1 >= 0 { print $2 }' > "$T/keys.txt"
expect_eq "keys are the user ids" "$(sort "$T/keys.txt" | md5sum)" "$(jq -r .user_id "$T/in.jsonl" | sort | md5sum)"
finish
