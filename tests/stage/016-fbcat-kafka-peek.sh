#!/usr/bin/env bash
# 016-fbcat-kafka-peek — fbcat as the Kafka peek tool, against kafka-mock
# and the real kcat: --in kafka://HOST:PORT/TOPIC with no group reads every
# partition from the beginning, -e stops at the end (without it fbcat
# follows the topic until SIGTERM), -o end / -o -N / -o N and -p pick where
# and what, --meta shows partition, offset, key and timestamp as kcat's -f
# '%p %o %k %T' does for the same messages; messages kcat produced are read;
# `kcat -C -f '%R%s' | fbcat --kcat` (unaligned buffers behind big-endian
# lengths) prints what the peek prints; bad messages are dead-lettered with
# topic/partition@offset; --help says all of it.
source "$(dirname "$0")/../lib.sh"
F=$BIN/fbcat
command -v kcat >/dev/null || { echo "SKIP: no kcat"; exit 0; }
start_kafka pk:3 kc:1 kj:3 kr:3

python3 -c '
import json
for i in range(60):
    print(json.dumps({"event_id": "e%d" % i, "ts": 1795428000000000 + i * 1000, "user_id": "u%d" % (i % 7),
                      "type": "click", "value": i * 1.5, "attrs": {"n": str(i)}}))' >"$T/ev.jsonl"
"$F" --encode Event <"$T/ev.jsonl" >"$T/ev.rec" || die "encode"
"$F" --records --out "kafka://$KAFKA/pk" <"$T/ev.rec" 2>"$T/prod.err" || die "produce: $(cat "$T/prod.err")"
# what the topic holds, counted by kcat before anything is trusted
expect_eq "kcat counts 60 messages" "$(timeout 30 kcat -C -b "$KAFKA" -t pk -e -q -f 'x\n' | wc -l)" 60

# every message keyed by its record's key (the user), whatever the output
# form: JSON to Kafka was sent keyless, so per-user stages in a group would
# see a user's events on any partition
start_kafka_keys_check() {
  local topic=$1; shift
  "$F" "$@" --out "kafka://$KAFKA/$topic" <"$T/ev.rec" 2>"$T/$topic.err" || die "produce $topic: $(cat "$T/$topic.err")"
  expect_eq "$topic: every message keyed by its user_id" \
    "$(timeout 30 kcat -C -b "$KAFKA" -t "$topic" -e -q -f '%k\n' | sort | uniq -c | awk '{print $1, $2}' | tr '\n' ' ')" \
    "$(jq -r .user_id "$T/ev.jsonl" | sort | uniq -c | awk '{print $1, $2}' | tr '\n' ' ')"
}
start_kafka_keys_check kr "--records"
start_kafka_keys_check kj "--format" "json"

# the whole topic, no group, -e: every event once, exit 0
timeout 60 "$F" --in "kafka://$KAFKA/pk" -e >"$T/all.json" 2>"$T/all.err"
expect_eq "peek -e: exit" $? 0
expect_eq "peek -e: every event once" "$(jq -r .event_id "$T/all.json" | sort | tr '\n' ' ')" \
  "$(jq -r .event_id "$T/ev.jsonl" | sort | tr '\n' ' ')"
expect_eq "peek -e --count" "$(timeout 60 "$F" --in "kafka://$KAFKA/pk" --eof --count | tr '\n' ' ')" "Event 60 total 60 "
expect_eq "peek -o end -e: nothing" "$(timeout 60 "$F" --in "kafka://$KAFKA/pk" -o end -e | wc -l)" 0

# --meta: the same partition, offset, key and timestamp as kcat shows
timeout 30 kcat -C -b "$KAFKA" -t pk -e -q -f '%p %o %k %T\n' | sort >"$T/kcat.meta"
timeout 60 "$F" --in "kafka://$KAFKA/pk" -e -m >"$T/meta.json"
jq -r '"\(._kafka.partition) \(._kafka.offset) \(._kafka.key) \(._kafka.ts_ms)"' "$T/meta.json" | sort >"$T/fbcat.meta"
check "--meta: partition, offset, key, timestamp as kcat's" cmp -s "$T/kcat.meta" "$T/fbcat.meta"
expect_eq "--meta: the key is the user (Event's partition key)" "$(jq -r 'select(._kafka.key != .user_id)' "$T/meta.json" | wc -l)" 0
check "--meta: the rest of the line is the record (it encodes back)" \
  cmp -s <("$F" --encode Event <"$T/meta.json" | "$F" | sort) <(sort "$T/all.json")

# -p and -o: the last two of a partition, and from offset 5 on, against kcat
p=$(head -n1 "$T/kcat.meta" | cut -d' ' -f1)
expect_eq "-p $p -o -2: as kcat -p $p -o -2, two" \
  "$(timeout 60 "$F" --in "kafka://$KAFKA/pk" -p "$p" -o -2 -e -m | jq -r '"\(._kafka.partition) \(._kafka.offset) \(._kafka.key)"' | tr '\n' ';')" \
  "$(timeout 30 kcat -C -b "$KAFKA" -t pk -p "$p" -o -2 -e -q -f '%p %o %k\n' | tr '\n' ';')"
check "-p $p -o -2: two lines" [ "$(kcat -C -b "$KAFKA" -t pk -p "$p" -o -2 -e -q -f '%o\n' | wc -l)" = 2 ]
expect_eq "-o 5: offsets 5 and on of every partition, all of them" \
  "$(timeout 60 "$F" --in "kafka://$KAFKA/pk" -o 5 -e -m 2>/dev/null | jq -r '"\(._kafka.partition) \(._kafka.offset)"' | sort | tr '\n' ';')" \
  "$(awk '$2 >= 5 { print $1, $2 }' "$T/kcat.meta" | sort | tr '\n' ';')"

# kcat -C -f '%R%s' | fbcat --kcat: the peek's records, from unaligned bytes
timeout 30 kcat -C -b "$KAFKA" -t pk -e -q -f '%R%s' >"$T/kcat.bin"
check "kcat's output puts some buffer at an unaligned place" python3 - "$T/kcat.bin" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read(); o = 0; odd = 0
while o < len(d):
    n = struct.unpack_from(">I", d, o)[0]; odd += (o + 4) % 8 != 0; o += 4 + n
assert o == len(d) and odd, (o, len(d), odd)
EOF
"$F" --kcat <"$T/kcat.bin" >"$T/kcat.json" 2>"$T/kcat.err"
expect_eq "--kcat: exit" $? 0
check "--kcat prints what the peek prints" cmp -s <(sort "$T/kcat.json") <(sort "$T/all.json")
expect_eq "--kcat --records, then counted" "$("$F" --kcat --records <"$T/kcat.bin" | "$F" -c | tr '\n' ' ')" "Event 60 total 60 "
head -c 100 "$T/kcat.bin" | "$F" --kcat >/dev/null 2>"$T/cut.err"
expect_eq "--kcat: a cut stream is an error" $? 1
check "--kcat: the error says where" grep -q 'byte [0-9]*: the stream ends inside a message' "$T/cut.err"
"$F" --kcat <"$T/ev.rec" >/dev/null 2>"$T/le.err"
expect_eq "--kcat on our own framing: refused" $? 1
check "--kcat on our own framing: says what it expected" grep -q "not kcat -f '%R%s' output" "$T/le.err"
tmax=$(awk '{ print $4 }' "$T/kcat.meta" | sort -n | tail -n1)
expect_eq "-o s@MS: the messages at or after that time, as kcat -o s@MS" \
  "$(timeout 60 "$F" --in "kafka://$KAFKA/pk" -o "s@$tmax" -e -m | jq -r '"\(._kafka.partition) \(._kafka.offset)"' | sort | tr '\n' ';')" \
  "$(timeout 30 kcat -C -b "$KAFKA" -t pk -o "s@$tmax" -e -q -f '%p %o\n' | sort | tr '\n' ';')"

# without -e it follows the topic: a message produced later arrives, SIGTERM ends it with 0
"$F" --in "kafka://$KAFKA/pk" >"$T/follow.json" 2>"$T/follow.err" &
fp=$!
at_exit "kill $fp"
wait_until 60 '[ "$(wc -l <"$T/follow.json")" -ge 60 ]' || fail "follow: the 60 did not arrive: $(cat "$T/follow.err")"
echo '{"event_id":"late","user_id":"u1","type":"view"}' | "$F" --encode Event --out "kafka://$KAFKA/pk" 2>/dev/null
wait_until 60 'grep -q "\"late\"" "$T/follow.json"' || fail "follow: a message produced later was not printed"
kill -TERM "$fp"; wait "$fp"
expect_eq "follow: SIGTERM ends it, exit 0" $? 0
# with ?group= fbcat is a group member; -e is its &eof=1
expect_eq "?group=G -e: the group reads all 61" \
  "$(timeout 60 "$F" --in "kafka://$KAFKA/pk?group=peekers" -e -X session.timeout.ms=6000 -c 2>/dev/null | tail -n1)" "total 61"

# messages kcat produced: our frames cut out of a stream (as test 030 does), and a bad one
python3 - "$T/ev.rec" "$T/msgs" <<'EOF'
import struct, sys, os
d = open(sys.argv[1], "rb").read(); o = 0; os.makedirs(sys.argv[2])
for i in range(6):
    n = struct.unpack_from("<I", d, o)[0]
    open("%s/%d" % (sys.argv[2], i), "wb").write(d[o + 4:o + 4 + n] if i != 3 else b"not a flatbuffer"); o += 4 + n
EOF
kcat -P -b "$KAFKA" -t kc -p 0 "$T"/msgs/0 "$T"/msgs/1 "$T"/msgs/2 "$T"/msgs/3 "$T"/msgs/4 "$T"/msgs/5 2>/dev/null || fail "kcat -P"
timeout 60 "$F" --in "kafka://$KAFKA/kc" -e --dead-letter "$T/dl.jsonl" >"$T/kc.json" 2>"$T/kc.err"
expect_eq "kcat's messages: exit 0 with a bad one" $? 0
expect_eq "kcat's messages: the five good ones" "$(jq -r .event_id "$T/kc.json" | tr '\n' ' ')" "e0 e1 e2 e4 e5 "
expect_eq "kcat's messages: the bad one dead-lettered with its place" \
  "$(jq -r '"\(.pos) \(.reason)"' "$T/dl.jsonl")" "kc/0@3 unknown_type"
timeout 60 "$F" --in "kafka://$KAFKA/kc" -e --strict >/dev/null 2>&1
expect_eq "--strict: the bad message is fatal" $? 1

# usage and help
"$F" -o end </dev/null >/dev/null 2>&1; expect_eq "-o with a file input: usage error" $? 2
"$F" --in "kafka://$KAFKA/pk" -o sometime -e >/dev/null 2>&1; expect_eq "-o sometime: usage error" $? 2
"$F" --in "kafka://$KAFKA/pk?group=g" -m >/dev/null 2>&1; expect_eq "--meta with a group: usage error" $? 2
"$F" --help >"$T/help"
for w in 'kafka://HOST:PORT/TOPIC' '--eof' '--offset' '--partition' '--meta' '--kcat' "%R%s" 'no consumer group'; do
  tr -s ' \n' '  ' <"$T/help" | grep -qF -- "$w" || fail "--help does not mention $w"
done
finish
