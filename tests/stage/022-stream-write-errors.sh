#!/usr/bin/env bash
# 022-stream-write-errors — output that cannot be written is an error (exit
# 1 with the reason), never a silent exit 0: a full disk, an unwritable
# path, a dead letter that cannot be written. A reader that goes away ends
# the stage quietly with 141, as SIGPIPE would (051 covers every stage).
source "$(dirname "$0")/../lib.sh"
F=$BIN/fbcat

python3 -c '
import json
for i in range(20000):
    print(json.dumps({"ts": i, "name": "cpu_usage", "value": i / 7.0}))
' | "$F" --encode Sample >"$T/a.rec" || die "encode failed"

"$F" --records <"$T/a.rec" >/dev/full 2>"$T/full.err"
expect_eq "/dev/full: exit 1" $? 1
check "/dev/full: says why" grep -q "No space left on device" "$T/full.err"
"$F" --format json <"$T/a.rec" >/dev/full 2>/dev/null
expect_eq "/dev/full (json): exit 1" $? 1
"$F" --records --out /dev/full <"$T/a.rec" 2>/dev/null
expect_eq "--out /dev/full: exit 1" $? 1
# even a tiny output (one buffered record) fails at close
head -c "$(python3 -c "import struct;print(4+struct.unpack('<I',open('$T/a.rec','rb').read(4))[0])")" "$T/a.rec" \
  | "$F" --records >/dev/full 2>/dev/null
expect_eq "/dev/full, one record: exit 1" $? 1

# a reader that goes away: EPIPE (SIGPIPE is ignored by the stage), 141, quietly
"$F" <"$T/a.rec" 2>"$T/pipe.err" | head -c 100 >/dev/null
expect_eq "closed pipe: exit 141" "${PIPESTATUS[0]}" 141
check "closed pipe: nothing on stderr" test ! -s "$T/pipe.err"

"$F" --records --out "$T/no/such/dir/x.rec" <"$T/a.rec" 2>"$T/path.err"
expect_eq "unwritable --out: exit 1" $? 1
check "unwritable --out: names the path" grep -q "no/such/dir/x.rec" "$T/path.err"
"$F" --records --in "$T/missing.rec" >/dev/null 2>"$T/in.err"
expect_eq "missing --in: exit 2 (a usage mistake)" $? 2
check "missing --in: names the path" grep -q "missing.rec: No such file" "$T/in.err"

# a dead letter on a full disk: the stage must not pretend it kept the record
python3 - "$T/a.rec" "$T/bad.rec" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read()); d[8:12] = b"QQQQ"; open(sys.argv[2], "wb").write(d)
EOF
"$F" --records --dead-letter /dev/full <"$T/bad.rec" >/dev/null 2>"$T/dl.err"
expect_eq "dead letter on /dev/full: exit 1" $? 1
check "dead letter on /dev/full: says why" grep -q "dead letter" "$T/dl.err"
finish
