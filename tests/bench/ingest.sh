#!/usr/bin/env bash
# ingest: 1,000,000 gen-events interaction lines (JSON) to Event records,
# beside `jq -c .` on the same file (goal: ingest >= 10x faster) and `cat`
# through the same pipe (goal: ingest within 4x). Also peak RSS at 100k and
# 1M lines: flat, the dedup window (24-40 bytes per id, 100,000 ids by
# default: ~4 MB) being the only state; and the cost of a 1,000,000-id window.
#   N=1000000 tests/bench/ingest.sh
source "$(dirname "$0")/lib.sh"
# lib.sh's measure sends /usr/bin/time's own report into the command's stderr
# file (so it reads nothing); until that is fixed there, measure with -o.
measure() {
  local name=$1 recs=$2 cmd=$3 secs rss
  /usr/bin/time -o "$BT/time.$$" -f '%e %M' bash -c "$cmd" >/dev/null 2>"$BT/err.$$"
  read -r secs rss < <(tail -n1 "$BT/time.$$")
  [ "$secs" = "0.00" ] && secs=0.01
  BENCH_SECS[$name]=$secs
  awk -v n="$name" -v s="$secs" -v r="$recs" -v m="$rss" \
    'BEGIN { printf "  %-34s %8.2fs %12.0f rec/s %9.1f MiB peak\n", n, s, r/s, m/1024 }'
}
N=${N:-1000000}
f=$BT/ingest-events-$N.jsonl
[ -s "$f" ] || "$GEN_EVENTS" --count "$N" --kind interactions --seed 1 > "$f"
small=$BT/ingest-events-100000.jsonl
[ -s "$small" ] || head -n 100000 "$f" > "$small"
mb=$(awk -v b="$(wc -c < "$f")" 'BEGIN { printf "%.1f", b / 1e6 }')
echo "  $N lines, $mb MB ($f)"
mbs() { awk -v s="${BENCH_SECS[$1]}" -v m="$mb" -v n="$1" 'BEGIN { printf "  %-34s %8.1f MB/s\n", n, m / s }'; }
measure "cat | cat" "$N" "cat $f | cat"
measure "cat | ingest" "$N" "cat $f | $BIN/ingest 2>/dev/null"
measure "cat | ingest --dedup-window 0" "$N" "cat $f | $BIN/ingest --dedup-window 0 2>/dev/null"
measure "cat | ingest --dedup-window 1000000" "$N" "cat $f | $BIN/ingest --dedup-window 1000000 2>/dev/null"
measure "cat | jq -c ." "$N" "cat $f | jq -c ."
measure "ingest, 100k lines (RSS)" 100000 "$BIN/ingest --in $small 2>/dev/null"
mbs "cat | cat"; mbs "cat | ingest"; mbs "cat | jq -c ."
ratio "cat | ingest" "cat | jq -c ."
ratio "cat | ingest" "cat | cat"
echo "  (goals: ingest >= 10x jq -c . ; ingest >= 0.25x cat, i.e. within 4x)"
echo "  reproduce: N=$N STREAMREC_BIN=$BIN tests/bench/ingest.sh"
