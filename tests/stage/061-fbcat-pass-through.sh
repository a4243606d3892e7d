#!/usr/bin/env bash
# 061-fbcat-pass-through — `fbcat --records` between byte streams (pass.c:
# frames verified in the read buffer, good ones written in runs) refuses
# exactly the records the general path refuses, with the same messages,
# counts and exit status, and writes every good record unchanged and in
# order; the expected output is computed here by Python, independently.
# The stream crosses the 1 MiB read buffer many times, holds a record
# bigger than the buffer, bad frames first, last and back to back, and is
# read from a file, a pipe and zstd. STREAMREC_FBCAT_GENERIC=1 forces the
# general path (stream.c) for the comparison.
source "$(dirname "$0")/../lib.sh"
F=$BIN/fbcat

python3 -c '
import json
for i in range(20000):
    print(json.dumps({"ts": i, "name": "cpu_usage", "value": i * 0.5, "labels": [{"key": "host", "value": "h%d" % (i % 97)}]}))
print(json.dumps({"ts": 1, "name": "big", "value": 1, "labels": [{"key": "blob", "value": "x" * 1500000}]}))
for i in range(3000):
    print(json.dumps({"ts": i, "name": "after_big", "value": i}))
' >"$T/s.jsonl"
"$F" --encode Sample <"$T/s.jsonl" >"$T/a.rec" || die "encode failed"

# Damage: the first frame, frames 700-702 (back to back: identifier, root
# offset, vtable), 20000 (the big one's neighbour), the last; short frames
# (3 bytes, 0 bytes) before 5000 and 21000.
python3 - "$T/a.rec" "$T/bad.rec" "$T/want.rec" "$T/nbad" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
frames = []; o = 0
while o < len(d):
    n = struct.unpack_from("<I", d, o)[0]; frames.append(bytearray(d[o + 4:o + 4 + n])); o += 4 + n
last = len(frames) - 1
def bad_ident(f): f[4:8] = b"ZZZZ"
def bad_root(f): struct.pack_into("<I", f, 0, 0x00fffff0)
def bad_vtable(f): struct.pack_into("<i", f, struct.unpack_from("<I", f, 0)[0], -0x100000)
damage = {0: bad_root, 700: bad_ident, 701: bad_root, 702: bad_vtable, 19999: bad_vtable, last: bad_ident}
for i, fn in damage.items(): fn(frames[i])
out = bytearray(); good = bytearray(); nbad = 0
for i, f in enumerate(frames):
    for at, junk in ((5000, b"abc"), (21000, b"")):
        if i == at:
            out += struct.pack("<I", len(junk)) + junk; nbad += 1
    out += struct.pack("<I", len(f)) + f
    if i in damage: nbad += 1
    else: good += struct.pack("<I", len(f)) + f
open(sys.argv[2], "wb").write(out)
open(sys.argv[3], "wb").write(good)
open(sys.argv[4], "w").write("%d\n" % nbad)
EOF
nbad=$(cat "$T/nbad")

# one run: exit status, output, stderr without times, the metrics file's counters
run() {   # NAME ENV=VALUE [FLAG...]; input from $IN (a file) or $PIPE (through cat)
  local name=$1 envv=$2; shift 2
  if [ -n "${PIPE:-}" ]; then cat "$PIPE" | env "$envv" "$F" --records --metrics-file "$T/$name.prom" "$@" >"$T/$name.out" 2>"$T/$name.err"
  else env "$envv" "$F" --records --metrics-file "$T/$name.prom" "$@" <"$IN" >"$T/$name.out" 2>"$T/$name.err"; fi
  echo $? >"$T/$name.rc"
  sed 's/"ts":"[^"]*",//' "$T/$name.err" >"$T/$name.msgs"
  grep -E '^streamrec_(records_(in|out|invalid)_total|bytes_(in|out)_total)' "$T/$name.prom" | sort >"$T/$name.counts"
}
same_as_generic() {   # NAME: the fast run NAME against NAME-g, the general path's
  expect_eq "$1: exit status as the general path's" "$(cat "$T/$1.rc")" "$(cat "$T/$1-g.rc")"
  check "$1: output as the general path's" cmp -s "$T/$1.out" "$T/$1-g.out"
  check "$1: messages as the general path's" cmp -s "$T/$1.msgs" "$T/$1-g.msgs"
  check "$1: counters as the general path's" cmp -s "$T/$1.counts" "$T/$1-g.counts"
}

IN=$T/bad.rec run file X=1
"$F" --records --log-level debug <"$T/a.rec" 2>&1 >/dev/null | grep -q '"msg":"pass-through: ' || fail "the fast path is not the one taken"
STREAMREC_FBCAT_GENERIC=1 "$F" --records --log-level debug <"$T/a.rec" 2>&1 >/dev/null | grep -q '"msg":"pass-through: ' &&
  fail "STREAMREC_FBCAT_GENERIC=1 still takes the fast path"
IN=$T/bad.rec run file-g STREAMREC_FBCAT_GENERIC=1
expect_eq "bad records skipped: exit 0" "$(cat "$T/file.rc")" 0
check "every good record arrives, in order, unchanged" cmp -s "$T/file.out" "$T/want.rec"
expect_eq "one warning per bad record" "$(grep -c '"level":"warn"' "$T/file.err")" "$nbad"
check "the first bad record is named by its byte offset" grep -q '"msg":"byte 0: bad_record: Sample: offset 0: root offset' "$T/file.err"
check "records in counted (the good ones)" grep -q "^streamrec_records_in_total.* $(( $(wc -l <"$T/s.jsonl") + 2 - nbad ))\$" "$T/file.counts"
same_as_generic file

PIPE=$T/bad.rec run pipe X=1
PIPE=$T/bad.rec run pipe-g STREAMREC_FBCAT_GENERIC=1
check "from a pipe: every good record arrives" cmp -s "$T/pipe.out" "$T/want.rec"
same_as_generic pipe

zstd -q -c "$T/bad.rec" >"$T/bad.rec.zst"
IN=$T/bad.rec.zst run zst X=1
check "zstd in: every good record arrives" cmp -s "$T/zst.out" "$T/want.rec"
"$F" --records --compress zstd <"$T/bad.rec" 2>/dev/null | zstd -q -d -c >"$T/zout.rec"
check "zstd out: every good record arrives" cmp -s "$T/zout.rec" "$T/want.rec"

# the stream cut inside a frame's body and inside a prefix, a length over
# the limit: the records before it, then exit 1 naming the offset
off=$(python3 - "$T/bad.rec" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read(); o = 0
for i in range(12345): o += 4 + struct.unpack_from("<I", d, o)[0]
print(o)
EOF
)
head -c $((off + 9)) "$T/bad.rec" >"$T/cut.rec"
head -c $((off + 2)) "$T/bad.rec" >"$T/cut2.rec"
python3 - "$T/bad.rec" "$T/long.rec" "$off" <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read()); struct.pack_into("<I", d, int(sys.argv[3]), 0x7fffffff)
open(sys.argv[2], "wb").write(d)
EOF
for c in cut cut2 long; do
  IN=$T/$c.rec run $c X=1
  IN=$T/$c.rec run $c-g STREAMREC_FBCAT_GENERIC=1
  expect_eq "$c: exit 1" "$(cat "$T/$c.rc")" 1
  same_as_generic $c
done
check "cut: error names the offset" grep -q "offset $off: truncated stream: record length [0-9]* but only 5 byte(s) follow" "$T/cut.err"
check "long: error names the offset" grep -q "offset $off: record length 2147483647 exceeds the maximum" "$T/long.err"
IN=$T/cut.rec run cut-max X=1 --max-record 64
IN=$T/cut.rec run cut-max-g STREAMREC_FBCAT_GENERIC=1 --max-record 64
same_as_generic cut-max

# a slow writer: what came is delivered while the input waits
mkfifo "$T/fifo"
python3 - "$T/a.rec" "$T/part1.rec" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read(); o = 0
for i in range(12345): o += 4 + struct.unpack_from("<I", d, o)[0]
open(sys.argv[2], "wb").write(d[:o])
EOF
( cat "$T/part1.rec"; sleep 3; ) >"$T/fifo" &
"$F" --records <"$T/fifo" >"$T/slow.out" 2>/dev/null &
check "input waiting: the records so far are written" wait_until 2 '[ "$(stat -c %s "$T/slow.out")" = "$(stat -c %s "$T/part1.rec")" ]'
wait
check "input waiting: then the rest" cmp -s "$T/slow.out" "$T/part1.rec"
finish
