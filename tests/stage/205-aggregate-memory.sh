#!/usr/bin/env bash
# aggregate: memory follows the live series, not the number of events. The
# same population (300 users, 60 items, the request endpoints) over 5x the
# event time gives 5x the events and windows but the same series per
# window; peak RSS may differ by less than 4 MiB, where keeping even 24
# bytes per record would add about 5.5 MiB. Features on (no --state: the
# in-memory store, bounded by the distinct keys). The runs are real: every
# record is counted in the final log line.
source "$(dirname "$0")/../lib.sh"
command -v /usr/bin/time >/dev/null || die "/usr/bin/time not installed (make deps)"
# under ASan, freed blocks wait in a quarantine that grows with the churn of
# closed windows: keep it out of the measurement
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=0"

gen() {   # gen LINES_EACH OUT: interactions and requests, alternating, in time order
  "$GEN_EVENTS" --count "$1" --kind interactions --seed 5 --rate 200 --users 300 --items 60 > "$T/ev"
  "$GEN_EVENTS" --count "$1" --kind requests --seed 6 --rate 200 > "$T/rq"
  paste -d '\n' "$T/ev" "$T/rq" | "$BIN/ingest" > "$2" 2>/dev/null || die "ingest"
}
gen 20000 "$T/small.rec"
gen 100000 "$T/big.rec"

peak() {   # peak RSS in KiB of aggregate on $1; sets recs (records aggregated)
  /usr/bin/time -o "$T/time" -f '%x %M' "$BIN/aggregate" --window 60s --in "$1" --out /dev/null 2>"$T/err"
  read -r rc kib < "$T/time"
  [ "$rc" = 0 ] || fail "aggregate on $1 exited $rc"
  recs=$(jq -r 'select(.msg=="done") | .events + .samples' "$T/err")
  echo "$kib $recs $(jq -r 'select(.msg=="done") | .windows' "$T/err")"
}
read -r small nsmall wsmall < <(peak "$T/small.rec")
read -r big nbig wbig < <(peak "$T/big.rec")
echo "peak RSS: $small KiB for $nsmall records ($wsmall windows), $big KiB for $nbig records ($wbig windows)"
expect_eq "records in the big run" "$nbig" "$("$BIN/fbcat" --count < "$T/big.rec" | awk '$1 == "total" { print $2 }')"
[ "$nbig" -gt $((4 * nsmall)) ] && [ "$wbig" -ge $((4 * wsmall)) ] || fail "the big run is not 5x the small one"
[ $((big - small)) -lt 4096 ] || fail "peak RSS grows with the events: $small KiB -> $big KiB"
finish
