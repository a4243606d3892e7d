#!/usr/bin/env bash
# 021-stream-bad-frames — bad records in the middle of a stream are skipped,
# counted and dead-lettered with their byte offsets (computed here by Python,
# independently) and the records after them still arrive; a length that
# cannot be right (truncated stream, over --max-record) ends the stream with
# exit 1 and an error naming the offset, after the good records before it.
source "$(dirname "$0")/../lib.sh"
F=$BIN/fbcat

python3 -c '
import json
for i in range(300):
    print(json.dumps({"event_id": "e%d" % i, "ts": i, "user_id": "u%d" % (i % 7), "type": "click"}))
' >"$T/ev.jsonl"
"$F" --encode Event <"$T/ev.jsonl" >"$T/a.rec" || die "encode failed"

# Damage frames 10 (identifier), 50 (root offset out of bounds), 51 (vtable
# offset out of bounds) and insert a 3-byte frame before 200. Python writes
# the expected dead letters (offset, base64 of the frame) and the frames
# that must survive.
python3 - "$T/a.rec" "$T/bad.rec" "$T/want-dl.txt" "$T/want.rec" <<'EOF'
import base64, struct, sys
d = open(sys.argv[1], "rb").read()
frames = []; o = 0
while o < len(d):
    n = struct.unpack_from("<I", d, o)[0]; frames.append(bytearray(d[o + 4:o + 4 + n])); o += 4 + n
frames[10][4:8] = b"ZZZZ"
struct.pack_into("<I", frames[50], 0, 0x00fffff0)
root = struct.unpack_from("<I", frames[51], 0)[0]
struct.pack_into("<i", frames[51], root, -0x100000)     # soffset to a vtable far outside
bad = {10, 50, 51}
out = bytearray(); dl = []; good = bytearray()
for i, f in enumerate(frames):
    if i == 200:
        dl.append("%d %s" % (len(out), base64.b64encode(b"abc").decode()))
        out += struct.pack("<I", 3) + b"abc"
    if i in bad:
        dl.append("%d %s" % (len(out), base64.b64encode(bytes(f)).decode()))
    else:
        good += struct.pack("<I", len(f)) + f
    out += struct.pack("<I", len(f)) + f
open(sys.argv[2], "wb").write(out)
open(sys.argv[3], "w").write("\n".join(sorted(dl, key=lambda s: int(s.split()[0]))) + "\n")
open(sys.argv[4], "wb").write(good)
EOF

"$F" --records --dead-letter "$T/dl.jsonl" --metrics-file "$T/m.prom" <"$T/bad.rec" >"$T/out.rec" 2>"$T/err"
expect_eq "bad records skipped: exit 0" $? 0
check "every good record arrives, in order, unchanged" cmp -s "$T/out.rec" "$T/want.rec"
jq -r '"\(.offset) \(.raw)"' "$T/dl.jsonl" >"$T/got-dl.txt" 2>/dev/null || fail "dead letter is not JSON lines"
check "dead letters: byte offsets and raw frames" cmp -s "$T/got-dl.txt" "$T/want-dl.txt"
expect_eq "dead letters: base64 marked" "$(jq -r .raw_encoding "$T/dl.jsonl" | sort -u)" "base64"
expect_eq "dead letters: pos form" "$(jq -r .pos "$T/dl.jsonl" | head -n1)" "byte $(head -n1 "$T/want-dl.txt" | cut -d' ' -f1)"
check "dead letter error names the identifier" grep -q 'unknown_type: unknown record identifier \\"ZZZZ\\"' "$T/dl.jsonl"
expect_eq "stderr: one warning per bad record" "$(grep -c '"level":"warn"' "$T/err")" 4
check "stderr: the position is in the message" grep -q "\"msg\":\"byte $(sed -n 2p "$T/want-dl.txt" | cut -d' ' -f1): bad_record" "$T/err"
check "metrics: unknown_type counted" grep -q 'streamrec_records_invalid_total{.*reason="unknown_type".*} 1' "$T/m.prom"
check "metrics: bad_record counted" grep -q 'streamrec_records_invalid_total{.*reason="bad_record".*} 3' "$T/m.prom"
check "metrics: records in" grep -q 'streamrec_records_in_total{.*} 297' "$T/m.prom"

# --strict: the first bad record is fatal
"$F" --records --strict <"$T/bad.rec" >/dev/null 2>"$T/strict.err"
expect_eq "--strict exit" $? 1
check "--strict names the offset" grep -q "byte $(head -n1 "$T/want-dl.txt" | cut -d' ' -f1): unknown_type" "$T/strict.err"

# truncated inside the body of frame 120: 120 records out, then exit 1
off=$(python3 - "$T/a.rec" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read(); o = 0
for i in range(120): o += 4 + struct.unpack_from("<I", d, o)[0]
print(o)
EOF
)
head -c $((off + 9)) "$T/a.rec" >"$T/trunc.rec"
"$F" <"$T/trunc.rec" >"$T/trunc.json" 2>"$T/trunc.err"
expect_eq "truncated: exit 1" $? 1
expect_eq "truncated: the complete records are delivered" "$(wc -l <"$T/trunc.json")" 120
check "truncated: error names the offset" grep -q "offset $off: truncated stream: record length [0-9]* but only 5 byte(s) follow" "$T/trunc.err"
head -c $((off + 2)) "$T/a.rec" | "$F" >/dev/null 2>"$T/trunc2.err"
expect_eq "truncated prefix: exit 1" $? 1
check "truncated prefix: error names the offset" grep -q "offset $off: truncated stream: 2 byte(s)" "$T/trunc2.err"
zstd -q -c "$T/trunc.rec" | "$F" >/dev/null 2>"$T/trunc3.err"
check "truncated (inside zstd) names the offset" grep -q "offset $off: truncated" "$T/trunc3.err"
zstd -q -c "$T/a.rec" | head -c 700 | "$F" >/dev/null 2>"$T/trunc4.err"
expect_eq "truncated zstd stream: exit 1" $? 1
check "truncated zstd stream: said so" grep -q "truncated zstd stream" "$T/trunc4.err"

# a length over the limit: corrupt length of frame 120, or a small --max-record
python3 - "$T/a.rec" "$T/big.rec" "$off" <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read()); struct.pack_into("<I", d, int(sys.argv[3]), 0x7fffffff)
open(sys.argv[2], "wb").write(d)
EOF
"$F" <"$T/big.rec" >"$T/big.json" 2>"$T/big.err"
expect_eq "oversize length: exit 1" $? 1
expect_eq "oversize length: records before it delivered" "$(wc -l <"$T/big.json")" 120
check "oversize length: error names offset and sizes" grep -q "offset $off: record length 2147483647 exceeds the maximum 16777216" "$T/big.err"
first=$(python3 - "$T/a.rec" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read(); o = 0
while struct.unpack_from("<I", d, o)[0] <= 64: o += 4 + struct.unpack_from("<I", d, o)[0]
print(o, struct.unpack_from("<I", d, o)[0])
EOF
)
"$F" --max-record 64 <"$T/a.rec" >/dev/null 2>"$T/max.err"
expect_eq "--max-record 64: exit 1" $? 1
check "--max-record 64: error at the first bigger frame" grep -q "offset ${first% *}: record length ${first#* } exceeds the maximum 64" "$T/max.err"
finish
