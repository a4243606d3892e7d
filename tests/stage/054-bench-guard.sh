#!/usr/bin/env bash
# make bench's regression guard (tests/bench/guard.py): the ratios the benches
# print are found, keyed, compared with the baseline in the right direction,
# and only a fall beyond the noise is reported. No timing is measured here.
source "$(dirname "$0")/../lib.sh"
G="python3 $ROOT/tests/bench/guard.py"

# the real lib.sh `ratio` line, with made-up times
( source "$ROOT/tests/bench/lib.sh"
  BENCH_SECS[fast]=1.00; BENCH_SECS[slow]=4.00; ratio fast slow ) > "$T/lib.out"
grep -q 'ratio: fast is 4.00x the speed of slow' "$T/lib.out" || fail "lib.sh ratio line changed: $(cat "$T/lib.out")"

# the other forms, as drift.sh, ingest.sh and cache-writer.sh print them
cat "$T/lib.out" - > "$T/a.out" <<'OUT'
  ratio: drift zscore,cusum takes 0.04x the CPU of python zscore+cusum
  cpu ratio: cat | jq -c . uses 21.50x the CPU time of cat | ingest
  redis-server CPU per record, overwrite: cache-writer 6.91 us, SET 3.35 us (ratio 0.48)
  cat (records)                    0.05s  100000 rec/s   2.0 MiB peak
OUT
$G extract demo < "$T/a.out" > "$T/a.tsv"
[ "$(wc -l < "$T/a.tsv")" = 4 ] || fail "expected 4 ratios, got: $(cat "$T/a.tsv")"
grep -qP '^demo\tratio: fast is Xx the speed of slow\t4.00\thigher$' "$T/a.tsv" || fail "speed ratio row: $(cat "$T/a.tsv")"
grep -qP '\t0.04\tlower$' "$T/a.tsv" || fail "CPU-taken ratio must be lower-is-better"
grep -qP '^demo\tredis-server CPU per record, overwrite\t0.48\thigher$' "$T/a.tsv" || fail "cache-writer row: $(cat "$T/a.tsv")"

$G save "$T/base.tsv" "$T/a.tsv"
# same figures: nothing worse
$G compare "$T/base.tsv" "$T/a.tsv" > "$T/same.txt"
grep -q '4 ratios within 25% of the baseline or better, 0 worse, 0 new' "$T/same.txt" || fail "$(cat "$T/same.txt")"

# speed 4.00 -> 2.00 (worse), CPU taken 0.04 -> 0.08 (worse), cpu ratio 21.5 -> 19 (noise),
# cache-writer 0.48 -> 0.90 (better), one new ratio
sed -e 's/\t4.00\t/\t2.00\t/' -e 's/\t0.04\t/\t0.08\t/' -e 's/\t21.50\t/\t19.00\t/' -e 's/\t0.48\t/\t0.90\t/' \
  "$T/a.tsv" > "$T/b.tsv"
printf 'demo\tratio: new is Xx the speed of old\t1.00\thigher\n' >> "$T/b.tsv"
$G compare "$T/base.tsv" "$T/b.tsv" > "$T/b.txt"
cat "$T/b.txt"
grep -q 'WORSE by  50%  demo: ratio: fast is Xx the speed of slow   now 2.00, baseline 4.00   (tests/bench/run demo)' "$T/b.txt" || fail "speed fall not reported"
grep -q 'WORSE by 100%  demo: ratio: drift zscore,cusum takes Xx' "$T/b.txt" || fail "CPU-taken rise not reported as worse"
grep -q 'WORSE.*cpu ratio' "$T/b.txt" && fail "a 12% move is noise, not a regression"
grep -q 'WORSE.*redis-server' "$T/b.txt" && fail "a better figure reported as worse"
grep -q 'new (no baseline)  demo: ratio: new is Xx' "$T/b.txt" || fail "new ratio not listed"
grep -q '2 ratios within 25% of the baseline or better, 2 worse, 1 new' "$T/b.txt" || fail "summary"
BENCH_NOISE=0.10 $G compare "$T/base.tsv" "$T/b.tsv" > "$T/n.txt"
grep -q 'WORSE by  12%.*cpu ratio' "$T/n.txt" || fail "BENCH_NOISE not used"

# the committed baseline parses and names only benches that exist
if [ -f "$ROOT/tests/bench/baseline.tsv" ]; then
  $G compare "$ROOT/tests/bench/baseline.tsv" /dev/null >/dev/null || fail "baseline.tsv does not parse"
  for b in $(grep -v '^#' "$ROOT/tests/bench/baseline.tsv" | cut -f1 | sort -u); do
    [ -f "$ROOT/tests/bench/$b.sh" ] || fail "baseline.tsv names bench '$b' which has no tests/bench/$b.sh"
  done
fi
finish
