#!/usr/bin/env bash
# experiment-analyzer settings that issue 12 left:
# - the definition fingerprint covers the whole definition: an experiment
#   whose definition is longer than 4 KiB (16 metrics with long names),
#   changed only in its last metric (past the first 4 KiB), is refused
#   against its --state (exit 2), as a change at its start is; unchanged,
#   the state is accepted. (Before, only the first 4 KiB were hashed and the
#   change went through.)
# - --dedup-window takes a duration of event time: a copy within it is
#   dropped, a copy older than it is counted; with --state the window keeps
#   each id's time across a restart (a copy after the restart is dropped
#   exactly when one run drops it). A count still works as before.
# About 2 s.
source "$(dirname "$0")/../lib.sh"
EA=$BIN/experiment-analyzer
long=$(printf 'x%.0s' $(seq 1 300))   # 16 metrics of ~330 bytes each in the hashed text
metrics() {   # metrics LAST_WINDOW
  local i
  for i in $(seq 1 15); do
    echo "      - {name: m${i}_$long, type: conversion, event: purchase, tau: 0.05}"
  done
  echo "      - {name: last_$long, type: conversion, event: purchase, window: $1, tau: 0.05}"
}
conf() {   # conf FILE LAST_WINDOW
  { cat <<'YAML'
experiments:
  - name: big
    control: control
    variants:
      - {name: control, allocation: 0.5}
      - {name: treatment, allocation: 0.5}
    metrics:
YAML
    metrics "$2"; } > "$1"
}
conf "$T/a.yaml" 7d
conf "$T/b.yaml" 8d
[ "$(grep -c name: "$T/a.yaml")" -eq 19 ] || die "config"
[ "$(wc -c < "$T/a.yaml")" -gt 4096 ] || die "the config is not past 4 KiB"
cmp -s "$T/a.yaml" "$T/b.yaml" && die "configs equal"
# the change is in the last metric, past the first 4 KiB of the definition
# (cmp -l: the first differing byte's offset as a number, whatever the locale's wording)
[ "$(cmp -l "$T/a.yaml" "$T/b.yaml" | awk 'NR == 1 { print $1 }')" -gt 4096 ] || die "change not past 4 KiB"
printf '%s\n' '{"ts":1795000000000000,"user_id":"u1","type":"exposure","experiment":"big"}' \
  '{"ts":1795000001000000,"user_id":"u1","type":"purchase"}' | "$BIN/fbcat" --encode Event > "$T/ev.rec" || die "encode"
"$EA" --config "$T/a.yaml" --report-every 0 --in "$T/ev.rec" --state "$T/s.db" > /dev/null 2> "$T/1.err"
expect_eq "first run" "$?" 0
"$EA" --config "$T/a.yaml" --report-every 0 --in /dev/null --state "$T/s.db" > /dev/null 2> "$T/2.err"
expect_eq "same definition against its state" "$?" 0
"$EA" --config "$T/b.yaml" --report-every 0 --in /dev/null --state "$T/s.db" > /dev/null 2> "$T/3.err"
expect_eq "definition changed past 4 KiB against the state" "$?" 2
grep -q 'different definition' "$T/3.err" || fail "no reason given: $(cat "$T/3.err")"

# ---- --dedup-window DURATION ------------------------------------------------
cat > "$T/d.yaml" <<'YAML'
experiments:
  - name: e
    control: control
    variants:
      - {name: control, allocation: 0.5}
      - {name: treatment, allocation: 0.5}
    metrics:
      - {name: revenue, type: numeric, event: purchase, aggregate: sum, tau: 2}
YAML
H=3600000000   # an hour in µs
T0=1795000000000000
ev() {   # ev ID HOURS TYPE [VALUE]
  local ts=$((T0 + $2 * H))
  if [ "$3" = exposure ]; then
    echo "{\"event_id\":\"$1\",\"ts\":$ts,\"user_id\":\"u\",\"type\":\"exposure\",\"experiment\":\"e\",\"variant\":\"control\"}"
  else
    echo "{\"event_id\":\"$1\",\"ts\":$ts,\"user_id\":\"u\",\"type\":\"purchase\",\"value\":$4}"
  fi
}
# p1 at 0 h and its copy at 1 h (inside 2 h); p2 at 1 h and its copy at 5 h (outside)
{ ev x 0 exposure; ev p1 0 purchase 10; ev p1 1 purchase 10; ev p2 1 purchase 1; ev q 4 purchase 100
  ev p2 5 purchase 1; } | "$BIN/fbcat" --encode Event > "$T/d.rec" || die "encode"
revenue() { "$BIN/fbcat" --type ExperimentResult < "$1" | jq -r 'select(.variant == "control") | .mean' | tail -1; }
"$EA" --config "$T/d.yaml" --report-every 0 --dedup-window 2h --in "$T/d.rec" > "$T/d.out" 2> "$T/d.err" || fail "dedup run"
expect_eq "2h window: the copy 1 h later dropped, the one 4 h later counted" "$(revenue "$T/d.out")" 112
grep -q '"duplicates":1' "$T/d.err" || fail "duplicates not 1: $(tail -1 "$T/d.err")"
"$EA" --config "$T/d.yaml" --report-every 0 --dedup-window 10h --in "$T/d.rec" > "$T/d10.out" 2>/dev/null
expect_eq "10h window: both copies dropped" "$(revenue "$T/d10.out")" 111
"$EA" --config "$T/d.yaml" --report-every 0 --dedup-window 100 --in "$T/d.rec" > "$T/dn.out" 2>/dev/null
expect_eq "a count of 100: both copies dropped" "$(revenue "$T/dn.out")" 111
# across a restart with --state: the first three events, then the rest
head -c 0 /dev/null
{ ev x 0 exposure; ev p1 0 purchase 10; ev p2 1 purchase 1; } | "$BIN/fbcat" --encode Event > "$T/d1.rec"
{ ev p1 1 purchase 10; ev q 4 purchase 100; ev p2 5 purchase 1; } | "$BIN/fbcat" --encode Event > "$T/d2.rec"
"$EA" --config "$T/d.yaml" --report-every 0 --dedup-window 2h --in "$T/d1.rec" --state "$T/d.db" > /dev/null 2>&1 ||
  fail "first half"
"$EA" --config "$T/d.yaml" --report-every 0 --dedup-window 2h --in "$T/d2.rec" --state "$T/d.db" > "$T/d2.out" 2>/dev/null ||
  fail "second half"
expect_eq "2h window across a restart = one run" "$(revenue "$T/d2.out")" 112
"$EA" --config "$T/d.yaml" --dedup-window 2x --in "$T/d.rec" > /dev/null 2>&1
expect_eq "--dedup-window 2x" "$?" 2
finish
