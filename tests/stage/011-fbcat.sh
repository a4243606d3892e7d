#!/usr/bin/env bash
# 011-fbcat — the tool's behaviour: encode/decode round trip on a mixed
# stream, --count and --type against counts computed independently (Python
# reading the frames' identifiers), --records pass-through byte for byte,
# bad input (dead letter, --strict), usage errors, zstd input.
source "$(dirname "$0")/../lib.sh"
F=$BIN/fbcat

cat >"$T/ev.jsonl" <<'EOF'
{"event_id":"e1","ts":1700000000000000,"user_id":"u1","item_id":"i1","type":"click","position":2}
{"event_id":"e2","ts":1700000000000001,"user_id":"u2","type":"purchase","value":19.99,"attrs":[{"key":"k","value":"v"}]}

{"event_id":"e3","ts":1700000000000002,"user_id":"u1","type":"view","experiment":"x","variant":"b"}
EOF
cat >"$T/s.jsonl" <<'EOF'
{"ts":5,"name":"cpu_usage","value":0.25,"labels":[{"key":"host","value":"a"}]}
{"ts":6,"name":"latency_ms","value":12.5}
EOF
check "encode Event" bash -c "'$F' --encode Event <'$T/ev.jsonl' >'$T/ev.rec'"
check "encode Sample" bash -c "'$F' --encode Sample <'$T/s.jsonl' >'$T/s.rec'"
cat "$T/ev.rec" "$T/s.rec" "$T/ev.rec" >"$T/mixed.rec"

# independent view of the stream: identifiers of the frames
frames() { python3 - "$@" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read(); o = 0; out = []
while o < len(d):
    n = struct.unpack_from("<I", d, o)[0]; out.append(d[o + 8:o + 12].decode()); o += 4 + n
print(" ".join(out))
EOF
}
expect_eq "frames written" "$(frames "$T/mixed.rec")" "EVNT EVNT EVNT SMPL SMPL EVNT EVNT EVNT"

# decode: JSON lines, same values as the input lines (blank line skipped);
# the input is in the flatc form (test 013 checks the jq form)
"$F" --json-style flatc <"$T/mixed.rec" >"$T/mixed.json" || fail "fbcat decode exit $?"
check "decoded values equal the encoded JSON" python3 - "$T/ev.jsonl" "$T/s.jsonl" "$T/mixed.json" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
s = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
got = [json.loads(l) for l in open(sys.argv[3])]
want = ev + s + ev
assert got == want, (got, want)
EOF

expect_eq "--count" "$("$F" --count <"$T/mixed.rec")" "$(printf 'Event 6\nSample 2\ntotal 8')"
expect_eq "--count --format json" "$("$F" --count --format json <"$T/mixed.rec")" '{"Event":6,"Sample":2,"total":8}'
expect_eq "--type Sample --count" "$("$F" --type Sample --count <"$T/mixed.rec")" "$(printf 'Sample 2\ntotal 2')"
expect_eq "--type Metric (none) --count" "$("$F" -t Metric -c <"$T/mixed.rec")" "$(printf 'Metric 0\ntotal 0')"
# a stream ending in an error (an impossible frame length) still shows the counts before it, exit 1
{ cat "$T/mixed.rec"; printf '\xff\xff\xff\x7f'; } >"$T/cut.rec"
expect_eq "--count on a stream that ends in an error" "$("$F" --count <"$T/cut.rec" 2>"$T/cut.err")" "$(printf 'Event 6\nSample 2\ntotal 8')"
"$F" --count <"$T/cut.rec" >/dev/null 2>&1; expect_eq "--count on a broken stream: exit" $? 1
grep -q 'offset' "$T/cut.err" || fail "the error names the offset: $(cat "$T/cut.err")"
expect_eq "--type Sample JSON" "$("$F" --type Sample <"$T/mixed.rec" | wc -l)" 2

# pass-through: byte-identical, and the --type filter keeps exactly those frames
"$F" --records <"$T/mixed.rec" >"$T/pass.rec"
check "--records pass-through is byte-identical" cmp -s "$T/pass.rec" "$T/mixed.rec"
"$F" --format records <"$T/mixed.rec" >"$T/pass2.rec"
check "--format records too" cmp -s "$T/pass2.rec" "$T/mixed.rec"
"$F" --type Sample --records <"$T/mixed.rec" >"$T/only.rec"
check "--type Sample --records keeps the Sample frames" cmp -s "$T/only.rec" "$T/s.rec"
"$F" --type Event,Sample -r <"$T/mixed.rec" >"$T/both.rec"
check "--type Event,Sample keeps all" cmp -s "$T/both.rec" "$T/mixed.rec"

# --encode --format json normalises JSON (flatc form: default dropped, schema order)
expect_eq "--encode --format json" \
  "$(echo '{"value":1.5,"position":-1,"user_id":"u"}' | "$F" --encode Event --format json --json-style flatc)" \
  '{"user_id":"u","value":1.5}'

# bad JSON lines: reported with line numbers, dead-lettered, the rest written
printf '%s\n' '{"ts":1,"name":"a","value":1}' '{"ts":"x"}' 'not json' '{"ts":2,"name":"b","value":2}' >"$T/bad.jsonl"
"$F" --encode Sample --dead-letter "$T/dl.jsonl" <"$T/bad.jsonl" >"$T/bad.rec" 2>"$T/bad.err"
expect_eq "bad lines: exit 0" $? 0
expect_eq "bad lines: good ones written" "$(frames "$T/bad.rec")" "SMPL SMPL"
expect_eq "bad lines: two dead letters" "$(wc -l <"$T/dl.jsonl")" 2
check "bad lines: error names line and field" grep -q 'line 2: bad_record: field ts' "$T/bad.err"
check "bad lines: JSON error has a line" grep -q 'line 3: bad_json' "$T/bad.err"
"$F" --encode Sample --strict <"$T/bad.jsonl" >/dev/null 2>&1
expect_eq "--strict: exit 1 on the first bad line" $? 1

# a corrupt record in the middle: skipped with its byte offset, others printed
python3 - "$T/mixed.rec" "$T/corrupt.rec" <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
n0 = struct.unpack_from("<I", d, 0)[0]
o = 4 + n0                      # second frame: point its root offset far away
struct.pack_into("<I", d, o + 4, 0xfffff0)
open(sys.argv[2], "wb").write(d)
EOF
"$F" <"$T/corrupt.rec" >"$T/corrupt.json" 2>"$T/corrupt.err"
expect_eq "corrupt record: exit 0" $? 0
expect_eq "corrupt record: the others printed" "$(wc -l <"$T/corrupt.json")" 7
check "corrupt record: reported with its offset" grep -q 'byte [0-9]*: bad_record: Event: offset 0' "$T/corrupt.err"

# truncated stream: the last frame cannot be complete -> runtime error
head -c $(( $(stat -c %s "$T/mixed.rec") - 3 )) "$T/mixed.rec" >"$T/trunc.rec"
"$F" <"$T/trunc.rec" >"$T/trunc.json" 2>/dev/null
expect_eq "truncated stream: exit 1" $? 1
expect_eq "truncated stream: complete records still printed" "$(wc -l <"$T/trunc.json")" 7

# zstd input is detected
if command -v zstd >/dev/null; then
  zstd -q -c "$T/mixed.rec" >"$T/mixed.rec.zst"
  expect_eq "zstd input" "$("$F" -c <"$T/mixed.rec.zst" | tail -n1)" "total 8"
fi

# usage errors exit 2
"$F" --encode Bogus </dev/null >/dev/null 2>&1; expect_eq "--encode Bogus" $? 2
"$F" --encode KeyValue </dev/null >/dev/null 2>&1; expect_eq "--encode of a non-root table" $? 2
"$F" --type Bogus </dev/null >/dev/null 2>&1; expect_eq "--type Bogus" $? 2
"$F" --encode Event --count </dev/null >/dev/null 2>&1; expect_eq "--encode with --count" $? 2
"$F" --records --format json </dev/null >/dev/null 2>&1; expect_eq "--records with --format json" $? 2
"$F" stray </dev/null >/dev/null 2>&1; expect_eq "stray argument" $? 2
"$F" --help >"$T/help" 2>&1; expect_eq "--help exit" $? 0
check "--help shows --encode" grep -q -- '--encode' "$T/help"
finish
