#!/usr/bin/env bash
# 030-stream-kafka — the stream layer on Kafka (kafka-mock): records to a
# 3-partition topic and back (every record once, per-key order kept: the key
# decides the partition), JSON lines and line mode from a topic, a bad
# message dead-lettered as topic/partition@offset, committed offsets (a
# second run of the group reads nothing), SIGTERM while waiting.
source "$(dirname "$0")/../lib.sh"
F=$BIN/fbcat
command -v kcat >/dev/null || { echo "SKIP: no kcat"; exit 0; }
start_kafka ev:3 raw:1 dl:1
X=(-X session.timeout.ms=6000 -X topic.metadata.refresh.interval.ms=1000)

python3 -c '
import json
for i in range(3000):
    print(json.dumps({"event_id": "e%d" % i, "ts": i, "user_id": "u%d" % (i % 40), "type": "click"}))
' >"$T/ev.jsonl"
"$F" --encode Event <"$T/ev.jsonl" >"$T/ev.rec" || die "encode failed"

"$F" --records --out "kafka://$KAFKA/ev" "${X[@]}" <"$T/ev.rec" 2>"$T/prod.err"
expect_eq "produce: exit" $? 0
timeout 60 "$F" --in "kafka://$KAFKA/ev?group=g1&eof=1" "${X[@]}" >"$T/got.json" 2>"$T/cons.err"
expect_eq "consume: exit" $? 0
check "every record arrives once, and per user in order" python3 - "$T/ev.jsonl" "$T/got.json" <<'EOF'
import json, sys, collections
w = [json.loads(l) for l in open(sys.argv[1])]
g = [json.loads(l) for l in open(sys.argv[2])]
assert sorted(x["event_id"] for x in g) == sorted(x["event_id"] for x in w), (len(g), len(w))
per = collections.defaultdict(list)
for x in g: per[x["user_id"]].append(x.get("ts", 0))
assert all(v == sorted(v) for v in per.values())
EOF
# kcat's view: 3000 messages, keyed by user_id (the default key of an
# Event), and each user on exactly one partition
timeout 30 kcat -C -b "$KAFKA" -t ev -e -q -f '%k %p\n' 2>/dev/null | sort -u >"$T/keys"
expect_eq "kcat: 40 keys, each on one partition" "$(wc -l <"$T/keys") $(cut -d' ' -f1 "$T/keys" | sort -u | wc -l)" "40 40"
check "kcat: keys are the user ids" grep -q '^u17 [0-2]$' "$T/keys"

# the group committed: a second run reads nothing
timeout 60 "$F" --in "kafka://$KAFKA/ev?group=g1&eof=1" "${X[@]}" >"$T/again.json" 2>/dev/null
expect_eq "second run: exit" $? 0
expect_eq "second run: nothing new" "$(wc -l <"$T/again.json")" 0

# a garbage message among good ones: dead-lettered with topic/partition@offset
head -c 0 /dev/null >"$T/raw.txt"
python3 - "$T/ev.rec" "$T/msgs" <<'EOF'
import struct, sys, os
d = open(sys.argv[1], "rb").read(); o = 0; os.makedirs(sys.argv[2])
for i in range(5):
    n = struct.unpack_from("<I", d, o)[0]
    open("%s/%d" % (sys.argv[2], i * 2), "wb").write(d[o + 4:o + 4 + n]); o += 4 + n
    open("%s/%d" % (sys.argv[2], i * 2 + 1), "wb").write(b"not a flatbuffer %d" % i if i == 2 else d[o - n:o])
EOF
for i in $(seq 0 9); do kcat -P -b "$KAFKA" -t raw -p 0 "$T/msgs/$i" 2>/dev/null || fail "kcat produce $i"; done
# (the dead letter is itself a Kafka topic here; read back with kcat)
timeout 60 "$F" --in "kafka://$KAFKA/raw?group=g2&eof=1" --dead-letter "kafka://$KAFKA/dl" "${X[@]}" >"$T/raw.json" 2>"$T/raw.err"
expect_eq "bad message: exit" $? 0
expect_eq "bad message: the 9 others arrive" "$(wc -l <"$T/raw.json")" 9
timeout 30 kcat -C -b "$KAFKA" -t dl -e -q >"$T/dl.jsonl" 2>/dev/null
expect_eq "bad message: dead letter position" "$(jq -r '.pos + " " + (.partition|tostring) + " " + (.offset|tostring)' "$T/dl.jsonl")" "raw/0@5 0 5"
expect_eq "bad message: raw kept" "$(jq -r .raw "$T/dl.jsonl" | base64 -d)" "not a flatbuffer 2"
check "bad message: warning names the position" grep -q '"msg":"raw/0@5: unknown_type' "$T/raw.err"

# line mode from Kafka: each message value is one line
printf '{"user_id":"k1","ts":1}\n{"user_id":"k2","ts":2}\n' | kcat -P -b "$KAFKA" -t raw -p 0 2>/dev/null
timeout 60 "$F" --encode Event --format json --in "kafka://$KAFKA/raw?group=g5&eof=1" --dead-letter "$T/dl5.jsonl" "${X[@]}" >"$T/lines.json" 2>/dev/null
expect_eq "line mode: JSON messages encoded" "$(jq -r .user_id "$T/lines.json" | tr '\n' ' ')" "k1 k2 "
expect_eq "line mode: binary messages rejected with their position" "$(jq -r .pos "$T/dl5.jsonl" | head -n1)" "raw/0@0"

# stop while waiting on an idle topic (no eof): prompt exit 0
"$F" --in "kafka://$KAFKA/ev?group=g6" "${X[@]}" --metrics-file "$T/idle.prom" >"$T/idle.json" 2>"$T/idle.err" &
pid=$!
for i in $(seq 100); do [ "$(wc -l <"$T/idle.json")" -ge 3000 ] && break; sleep 0.2; done
expect_eq "idle consumer: records flushed while waiting" "$(wc -l <"$T/idle.json")" 3000
kill -TERM $pid; wait $pid
expect_eq "idle consumer: SIGTERM exit" $? 0
# metrics at exit: the consumer-lag gauge beside the record counters
expect_eq "idle consumer: records in" "$(awk '/^streamrec_records_in_total/ { print $2 }' "$T/idle.prom")" 3000
expect_eq "idle consumer: lag gauge per partition, all read" "$(awk '/^streamrec_kafka_consumer_lag{/ { n++; s += $2 } END { print (n > 0), s }' "$T/idle.prom")" "1 0"
finish
