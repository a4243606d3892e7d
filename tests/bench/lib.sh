# tests/bench/lib.sh — measuring helpers for benchmarks.
# measure NAME RECORDS BYTES -- command...   runs it (stdin/stdout as given by
# the caller via bash -c), prints one row: seconds, records/s, MB/s, peak RSS.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${STREAMREC_BIN:-$ROOT/build/bin}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
# the event generator (tests/tools/gen-events.c) and the sample data
GEN_EVENTS=$BIN/gen-events
DATA=$ROOT/pipelines/data
BT=${BENCH_TMP:-$ROOT/build/bench}; mkdir -p "$BT"
declare -A BENCH_SECS BENCH_CPU BENCH_RSS
# measure NAME RECORDS SHELL-COMMAND
measure() {
  local name=$1 recs=$2 cmd=$3 out rss secs
  /usr/bin/time -o "$BT/time.$$" -f '%x %e %M' bash -c "set -o pipefail; $cmd" >/dev/null 2>"$BT/err.$$"
  out=$(tail -n1 "$BT/time.$$")
  local rc=${out%% *}; out=${out#* }
  secs=${out% *}; rss=${out#* }
  if [ "$rc" != 0 ]; then
    printf '  %-34s FAILED (exit %s): %s\n' "$name" "$rc" "$(tail -n 2 "$BT/err.$$" | tr '\n' ' ')"
    BENCH_SECS[$name]=nan; return 1
  fi
  [ "$secs" = "0.00" ] && secs=0.01
  BENCH_SECS[$name]=$secs
  awk -v n="$name" -v s="$secs" -v r="$recs" -v m="$rss" \
    'BEGIN { printf "  %-34s %8.2fs %12.0f rec/s %9.1f MiB peak\n", n, s, r/s, m/1024 }'
}
# best NAME RECORDS SHELL-COMMAND [RUNS]: runs it RUNS times (default
# $REPEAT, else once) and prints one row with the best wall time (and that
# run's peak RSS) and the least CPU time (user+sys) of the runs: CPU time is
# what "per core" means and moves far less with the machine's load.
best() {
  local name=$1 recs=$2 cmd=$3 runs=${4:-${REPEAT:-1}} i rc secs usr sys rss cpu bs="" bc="" brss=""
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -o "$BT/time.$$" -f '%x %e %U %S %M' bash -c "set -o pipefail; $cmd" >/dev/null 2>"$BT/err.$$"
    read -r rc secs usr sys rss < <(tail -n1 "$BT/time.$$")
    if [ "$rc" != 0 ]; then
      printf '  %-34s FAILED (exit %s): %s\n' "$name" "$rc" "$(tail -n 2 "$BT/err.$$" | tr '\n' ' ')"
      BENCH_SECS[$name]=nan; BENCH_CPU[$name]=nan; return 1
    fi
    [ "$secs" = "0.00" ] && secs=0.01
    cpu=$(awk -v u="$usr" -v s="$sys" 'BEGIN { c = u + s; if (c <= 0) c = 0.01; printf "%.2f", c }')
    if [ -z "$bs" ] || awk -v a="$secs" -v b="$bs" 'BEGIN { exit !(a < b) }'; then bs=$secs; brss=$rss; fi
    if [ -z "$bc" ] || awk -v a="$cpu" -v b="$bc" 'BEGIN { exit !(a < b) }'; then bc=$cpu; fi
  done
  BENCH_SECS[$name]=$bs; BENCH_CPU[$name]=$bc; BENCH_RSS[$name]=$brss
  awk -v n="$name" -v s="$bs" -v c="$bc" -v r="$recs" -v m="$brss" -v runs="$runs" 'BEGIN {
    note = runs > 1 ? sprintf("  (best of %d)", runs) : ""
    printf "  %-34s %8.2fs %10.0f rec/s %6.2fs cpu %10.0f rec/cpu-s %7.1f MiB peak%s\n", n, s, r / s, c, r / c, m / 1024, note }'
}
# cratio A B: B's CPU time / A's CPU time (tests/bench/guard.py knows the line)
cratio() { awk -v a="${BENCH_CPU[$1]}" -v b="${BENCH_CPU[$2]}" -v n1="$1" -v n2="$2" \
  'BEGIN { printf "  cpu ratio: %s uses %.2fx the CPU time of %s\n", n2, b/a, n1 }'; }
# ratio A B: how many times faster A is than B (B's time / A's time)
ratio() { awk -v a="${BENCH_SECS[$1]}" -v b="${BENCH_SECS[$2]}" -v n1="$1" -v n2="$2" \
  'BEGIN { printf "  ratio: %s is %.2fx the speed of %s\n", n1, b/a, n2 }'; }
# instr_per NAME N_SMALL N_BIG CMD_SMALL CMD_BIG: instructions per item by
# callgrind ("I refs", every thread), (big - small) / (N_BIG - N_SMALL) so
# start-up is left out. Exact and the same on a loaded machine, unlike
# times; opt-in (INSTR=1) as callgrind runs ~50x slower. One line:
#   instructions: NAME: 5414
instr_per() {
  local name=$1 ns=$2 nb=$3 a b
  command -v valgrind >/dev/null || { echo "  instructions: $name: valgrind not installed"; return 0; }
  a=$(bash -c "valgrind --tool=callgrind --callgrind-out-file=/dev/null $4" 2>&1 >/dev/null | awk '/I *refs:/ { gsub(",", "", $NF); print $NF }')
  b=$(bash -c "valgrind --tool=callgrind --callgrind-out-file=/dev/null $5" 2>&1 >/dev/null | awk '/I *refs:/ { gsub(",", "", $NF); print $NF }')
  awk -v n="$name" -v a="${a:-0}" -v b="${b:-0}" -v ns="$ns" -v nb="$nb" 'BEGIN {
    if (a <= 0 || b <= 0) { printf "  instructions: %s: callgrind failed\n", n; exit }
    printf "  instructions: %s: %d\n", n, (b - a) / (nb - ns) }'
}
