#!/usr/bin/env bash
# 024-stream-lines — line input (what ingest and fbcat --encode read): CRLF,
# no final newline, blank lines, zstd-compressed input, lines over the bound
# (rejected with their line number, dead-lettered as text, the rest goes on),
# invalid UTF-8 dead-lettered as base64. Expected values come from Python.
source "$(dirname "$0")/../lib.sh"
F=$BIN/fbcat

# 5000 lines; CRLF on every third; line 777 and 4000 are 300 bytes of JSON
# (over --max-record 256); line 1500 has a raw 0xff byte; no final newline.
python3 - "$T/in.txt" "$T/want.jsonl" <<'EOF'
import json, sys
out = bytearray(); want = []
for i in range(1, 5001):
    if i in (777, 4000):
        line = json.dumps({"name": "x" * 300, "ts": i}).encode()
    elif i == 1500:
        line = b'{"name":"bad\xff","ts":1}'
    elif i == 2000:
        line = b""
    else:
        o = {"name": "n%d" % i, "ts": i, "value": i * 0.5}
        line = json.dumps(o).encode(); want.append(o)
    out += line
    if i < 5000: out += b"\r\n" if i % 3 == 0 else b"\n"
open(sys.argv[1], "wb").write(out)
open(sys.argv[2], "w").write("".join(json.dumps(o) + "\n" for o in want))
EOF

check_run() { # name input-file
  "$F" --encode Sample --max-record 256 --dead-letter "$T/dl.$1" --format json --json-style flatc <"$2" >"$T/out.$1" 2>"$T/err.$1"
  expect_eq "$1: exit" $? 0
  check "$1: every good line, values intact" python3 - "$T/want.jsonl" "$T/out.$1" <<'EOF'
import json, sys
w = [json.loads(l) for l in open(sys.argv[1])]
g = [json.loads(l) for l in open(sys.argv[2])]
assert len(w) == len(g), (len(w), len(g))
assert w == g, next((a, b) for a, b in zip(w, g) if a != b)
EOF
  expect_eq "$1: dead-lettered lines" "$(jq -r .line "$T/dl.$1" | tr '\n' ' ')" "777 1500 4000 "
  expect_eq "$1: too long ones as text prefixes of 256 bytes" \
    "$(jq -r 'select(.reason=="too_long") | .raw | length' "$T/dl.$1" | tr '\n' ' ')" "256 256 "
  expect_eq "$1: invalid UTF-8 as base64" \
    "$(jq -r 'select(.line==1500) | .raw_encoding + " " + .raw' "$T/dl.$1")" \
    "base64 $(printf '{"name":"bad\xff","ts":1}' | base64 -w0)"
  check "$1: warnings name the line" grep -q '"msg":"line 4000: too_long' "$T/err.$1"
}
check_run plain "$T/in.txt"
zstd -q -c "$T/in.txt" >"$T/in.txt.zst"
check_run zstd "$T/in.txt.zst"
cat "$T/in.txt" | check_run pipe /dev/stdin

# a single huge line (3 MiB, over a 1 MiB bound) between two good ones
python3 -c '
import sys
sys.stdout.write("{\"name\":\"a\",\"ts\":1}\n{\"name\":\"" + "y" * (3 << 20) + "\"}\n{\"name\":\"b\",\"ts\":2}\n")
' >"$T/huge.txt"
"$F" --encode Sample --max-record 1M --format json <"$T/huge.txt" >"$T/huge.out" 2>"$T/huge.err"
expect_eq "huge line: exit" $? 0
expect_eq "huge line: neighbours survive" "$(jq -c '[.name, .ts]' "$T/huge.out" | tr '\n' ' ')" '["a",1] ["b",2] '
check "huge line: rejected as line 2" grep -q '"msg":"line 2: too_long' "$T/huge.err"
finish
