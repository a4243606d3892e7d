#!/usr/bin/env bash
# fbcat: (a) records -> records pass-through of 1,000,000 small records
# (every record verified, then written again; fbcat --records skips decoding) against `cat` through the same
# pipe — goal: at least half cat's speed; (b) records -> JSON lines against
# `jq -c .` on the same records already as JSON lines — goal: faster than jq.
# The input is a mix of Sample and Metric records from a small generator.
# INSTR=1 adds instructions per record (callgrind; the same on a loaded machine).
#   N=1000000 tests/bench/fbcat.sh
source "$(dirname "$0")/lib.sh"
N=${N:-1000000}
# The machine is shared and noisy: each command runs REPEAT times (default
# 3) and its best time is kept, for fbcat and for the tools alike.
REPEAT=${REPEAT:-3}
json=$BT/fbcat-$N.jsonl
recs=$BT/fbcat-$N.rec
if [ ! -s "$recs" ] || [ ! -s "$json" ]; then
  python3 - "$N" >"$json" <<'PY'
import random, sys
n = int(sys.argv[1]); rnd = random.Random(7); w = sys.stdout.write
hosts = ["web-%d" % i for i in range(20)]
for i in range(n):
    ts = 1795000000000000 + i * 1000
    if i % 4:
        w('{"ts":%d,"name":"cpu_usage","value":%.3f,"labels":[{"key":"host","value":"%s"}]}\n'
          % (ts, rnd.random() * 100, rnd.choice(hosts)))
    else:
        w('{"name":"request.duration_ms","labels":[{"key":"endpoint","value":"/api"}],"window_start":%d,'
          '"window_end":%d,"count":%d,"mean":%.2f,"quantiles":[{"q":0.5,"value":%.1f},{"q":0.99,"value":%.1f}]}\n'
          % (ts, ts + 60000000, rnd.randrange(1, 1000), rnd.random() * 50, rnd.random() * 40, rnd.random() * 400))
PY
  # the same records (grouped by type): one --encode per type
  awk -v d="$BT" '/"ts":/ && !/window_start/ { print > d "/fbcat-s.jsonl"; next } { print > d "/fbcat-m.jsonl" }' "$json"
  "$BIN/fbcat" --encode Sample <"$BT/fbcat-s.jsonl" >"$BT/fbcat-s.rec"
  "$BIN/fbcat" --encode Metric <"$BT/fbcat-m.jsonl" >"$BT/fbcat-m.rec"
  cat "$BT/fbcat-s.rec" "$BT/fbcat-m.rec" >"$recs"
  rm -f "$BT"/fbcat-m.jsonl "$BT"/fbcat-[sm].rec
fi
[ -s "$BT/fbcat-s.jsonl" ] || grep -v window_start "$json" >"$BT/fbcat-s.jsonl"
bytes=$(stat -c %s "$recs"); jbytes=$(stat -c %s "$json")
echo "  $N records: $((bytes / 1048576)) MiB as records, $((jbytes / 1048576)) MiB as JSON lines"
echo "  (a) pass-through, records -> records"
best "cat | cat" "$N" "cat $recs | cat"
best "fbcat --records | cat" "$N" "$BIN/fbcat --records <$recs | cat"
ratio "fbcat --records | cat" "cat | cat"
echo "  (goal: at least 0.5x cat)"
if [ "${INSTR:-0}" = 1 ]; then   # load-independent: instructions per record, start-up left out
  python3 - "$recs" "$BT" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
off = n = 0
for want in (20000, 100000):
    while n < want and off < len(data):
        off += 4 + struct.unpack_from("<I", data, off)[0]; n += 1
    open("%s/fbcat-%dk.rec" % (sys.argv[2], want // 1000), "wb").write(data[:off])
PY
  instr_per "fbcat --records, per record" 20000 100000 "$BIN/fbcat --records <$BT/fbcat-20k.rec" \
    "$BIN/fbcat --records <$BT/fbcat-100k.rec"
fi
echo "  reproduce: $BIN/fbcat --records <$recs | cat  vs  cat $recs | cat (INSTR=1: instructions per record too)"
echo "  (b) records -> JSON lines"
best "jq -c . (JSON lines in)" "$N" "jq -c . <$json | cat"
best "fbcat (records in)" "$N" "$BIN/fbcat <$recs | cat"
ratio "fbcat (records in)" "jq -c . (JSON lines in)"
echo "  (goal: faster than jq)"
echo "  reproduce: $BIN/fbcat <$recs | cat  vs  jq -c . <$json | cat"
echo "  (c) JSON lines -> records"
best "fbcat --encode Sample" "$(wc -l <"$BT/fbcat-s.jsonl")" "$BIN/fbcat --encode Sample <$BT/fbcat-s.jsonl | cat"
echo "  whole bench: N=$N STREAMREC_BIN=$BIN tests/bench/run fbcat"
