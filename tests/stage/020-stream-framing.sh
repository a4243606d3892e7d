#!/usr/bin/env bash
# 020-stream-framing — size-prefixed frames through pipes, files and zstd:
# frames checked by an independent Python walker; zstd made and undone by the
# zstd CLI (not our code); concatenated .zst streams; multi-stage pipes.
source "$(dirname "$0")/../lib.sh"
F=$BIN/fbcat

# 5,000 events, varied sizes (attrs up to 2 KiB), generated independently
python3 - >"$T/ev.jsonl" <<'EOF'
import json, random
r = random.Random(7)
for i in range(5000):
    e = {"event_id": "e%d" % i, "ts": 1700000000000000 + i, "user_id": "u%d" % r.randrange(500),
         "item_id": "i%d" % r.randrange(3000), "type": r.choice(["view", "click", "purchase"])}
    if i % 97 == 0:
        e["attrs"] = [{"key": "blob", "value": "x" * r.randrange(2048)}]
    print(json.dumps(e))
EOF
"$F" --encode Event <"$T/ev.jsonl" >"$T/a.rec" || die "encode failed"

frames() { python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read(); o = 0; n = 0; ids = set()
while o < len(d):
    ln = struct.unpack_from("<I", d, o)[0]
    assert o + 4 + ln <= len(d), "frame past the end at %d" % o
    ids.add(d[o + 8:o + 12]); o += 4 + ln; n += 1
assert o == len(d)
print(n, b",".join(sorted(ids)).decode())
EOF
}
expect_eq "frames in the encoded stream" "$(frames "$T/a.rec")" "5000 EVNT"

# pass-through over a chain of pipes is byte-identical
cat "$T/a.rec" | "$F" --records | "$F" --records | "$F" --records >"$T/chain.rec"
check "3-stage pipe is byte-identical" cmp -s "$T/chain.rec" "$T/a.rec"

# zstd input made by the zstd CLI, output undone by it
zstd -q -c "$T/a.rec" >"$T/a.rec.zst"
"$F" --records <"$T/a.rec.zst" >"$T/unz.rec"
check "zstd CLI stream decodes to the same frames" cmp -s "$T/unz.rec" "$T/a.rec"
"$F" --records --in "$T/a.rec.zst" >"$T/unz2.rec"
check "--in FILE.zst" cmp -s "$T/unz2.rec" "$T/a.rec"
cat "$T/a.rec.zst" "$T/a.rec.zst" | "$F" --records >"$T/twice.rec"
cat "$T/a.rec" "$T/a.rec" >"$T/twice.want"
check "concatenated zstd frames read as one stream" cmp -s "$T/twice.rec" "$T/twice.want"
"$F" --records --out "$T/b.rec.zst" <"$T/a.rec"
check ".zst output is zstd" bash -c "zstd -q -t '$T/b.rec.zst'"
check ".zst output decompresses (zstd CLI) to the frames" bash -c "zstd -q -dc '$T/b.rec.zst' | cmp -s - '$T/a.rec'"
"$F" --records --compress zstd:19 <"$T/a.rec" >"$T/c.zst"
check "--compress zstd:19 to stdout" bash -c "zstd -q -dc '$T/c.zst' | cmp -s - '$T/a.rec'"
test "$(stat -c %s "$T/c.zst")" -lt "$(stat -c %s "$T/a.rec")" || fail "--compress did not compress"
"$F" --records --compress zstd:99 <"$T/a.rec" >/dev/null 2>&1
expect_eq "--compress zstd:99 is refused" $? 2

# JSON of the compressed stream equals JSON of the plain one, and the input
"$F" --json-style flatc <"$T/b.rec.zst" >"$T/b.json"   # compared with flatc-form input
check "JSON values equal the generated events" python3 - "$T/ev.jsonl" "$T/b.json" <<'EOF'
import json, sys
want = [json.loads(l) for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2])]
assert len(got) == len(want), (len(got), len(want))
for w, g in zip(want, got):
    if w.get("type") == "impression": del w["type"]
    assert w == g, (w, g)
EOF

# empty input: no output, exit 0
"$F" --records </dev/null >"$T/empty.out"; expect_eq "empty input exit" $? 0
expect_eq "empty input output" "$(stat -c %s "$T/empty.out")" 0
finish
