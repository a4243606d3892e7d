#!/usr/bin/env bash
# 125-ingest-memory — peak memory does not grow with the input: ingest keeps
# nothing per event beyond the dedup window (here 1,000 ids, ~40 KB). The
# same mixed input with 5% malformed lines (some 70 KB long) is ingested at
# 20,000 and at 200,000 lines; the peak RSS may differ by less than 4 MiB,
# where keeping even 24 bytes per line would add 4.1 MiB.
source "$(dirname "$0")/../lib.sh"
command -v /usr/bin/time >/dev/null || die "/usr/bin/time not installed (make deps)"
"$GEN_EVENTS" --count 200000 --kind mixed --seed 3 --bad-fraction 0.05 > "$T/big.jsonl"
head -n 20000 "$T/big.jsonl" > "$T/small.jsonl"
peak() {   # peak RSS in KiB of ingest on $1
  rm -f "$T/dl.jsonl"
  /usr/bin/time -o "$T/time" -f '%x %M' "$BIN/ingest" --in "$1" --dedup-window 1000 \
    --dead-letter "$T/dl.jsonl" --out "$T/out.rec" 2>"$T/err"
  read -r rc kib < "$T/time"
  [ "$rc" = 0 ] || fail "ingest on $1 exited $rc"
  echo "$kib"
}
small=$(peak "$T/small.jsonl")
big=$(peak "$T/big.jsonl")
echo "peak RSS: $small KiB at 20,000 lines, $big KiB at 200,000 lines"
[ $((big - small)) -lt 4096 ] || fail "peak RSS grows with the input: $small KiB -> $big KiB"
# and the big run was real: every line is out or dead-lettered
ok=$(jq -r 'select(.msg=="done") | .ok' "$T/err")
expect_eq "good out + dead-lettered = lines in" "$((ok + $(wc -l < "$T/dl.jsonl")))" 200000
finish
