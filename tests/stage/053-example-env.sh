#!/usr/bin/env bash
# 053-example-env — every *_ARGS line of systemd/example.env, commented out
# or not, is accepted by the stage it is for: the stage runs with those
# arguments on empty input and exits 0 (uncommenting an example must not
# make a unit refuse to start, as `--dedup-window 10m` did). Files under
# /etc/streamrec/ are replaced by test fixtures of the same kind. Also what
# `--dedup-window DURATION` means: ids are forgotten after that much event
# time, with one thread or two.
source "$(dirname "$0")/../lib.sh"
ENV=$ROOT/systemd/example.env
[ -f "$ENV" ] || die "no $ENV"
cat >"$T/experiments.yaml" <<'YAML'
experiments:
  - name: e
    control: a
    variants:
      - {name: a, allocation: 0.5}
      - {name: b, allocation: 0.5}
    metrics:
      - {name: m, type: conversion, event: purchase}
YAML
fixture() { # an /etc/streamrec path -> a file of the same kind
  case $1 in
    *experiments.yaml) echo "$T/experiments.yaml" ;;
    *alert-rules.yaml|*rules.yaml) echo "$ROOT/stages/alerter/rules.default.yaml" ;;
    *) echo "$1" ;;
  esac
}

# a value given as @NAME is a systemd credential (LoadCredential=): give each
# one the unit would load, as systemd does, in $CREDENTIALS_DIRECTORY
mkdir -p "$T/credentials"
for name in $(grep -o '=@[A-Za-z0-9_.-]*' "$ENV" | cut -c3- | sort -u); do
  (umask 077; echo "not-a-real-secret" > "$T/credentials/$name")
done
export CREDENTIALS_DIRECTORY=$T/credentials

checked=0
while IFS= read -r line; do
  [[ $line =~ ^#?([A-Z_]+)_ARGS=(.*)$ ]] || continue
  key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
  [ -n "$value" ] || continue
  case $key in
    KAFKA) cmd=(ingest) ;;                         # -X settings every stage takes
    RECOMMENDER_TRAIN) cmd=(recommender train) ;;
    AGGREGATE_PARTIALS) cmd=(aggregate --emit partials) ;;   # streamrec-aggregate-partials@
    *) s=${key,,}; cmd=("${s//_/-}") ;;
  esac
  [ -x "$BIN/${cmd[0]}" ] || { fail "$key: no stage ${cmd[0]}"; continue; }
  args=()
  # shellcheck disable=SC2086
  for a in $value; do args+=("$(fixture "$a")"); done   # EnvironmentFile= values split on spaces
  if [[ $value == *--changelog* ]]; then
    # a changelog follows the partitions of a Kafka input (the unit gives
    # --in from KAFKA_*): a mock broker stands in for kafka-1:9092
    [ -n "${KAFKA:-}" ] || start_kafka in:2 alerter-state:2 drift-state:2
    args=("${args[@]//kafka-1:9092/$KAFKA}" --in "kafka://$KAFKA/in?group=g053$checked&eof=1")
  fi
  "$BIN/${cmd[0]}" "${cmd[@]:1}" "${args[@]}" </dev/null >/dev/null 2>"$T/err"
  rc=$?
  expect_eq "example.env: ${line} -> ${cmd[*]} ${args[*]}: exit ($(head -c 300 "$T/err"))" "$rc" 0
  checked=$((checked + 1))
done <"$ENV"
[ "$checked" -ge 5 ] || fail "only $checked example lines checked"

# --dedup-window DURATION: an event_id seen again within that much event
# time is a duplicate, later it is not; one event per second, ids repeat
# every 100 seconds: 300 duplicates of 400 events with 10m, none with 50s
python3 -c '
import json
for i in range(400):
    print(json.dumps({"event_id": "e%d" % (i % 100), "user_id": "u", "event_type": "view",
                      "ts": 1795000000000000 + i * 1000000}))' >"$T/d.jsonl"
for th in 1 2; do
  for w in 10m:300 50s:0 100:300 99:0; do
    "$BIN/ingest" --threads $th --dedup-window "${w%%:*}" --in "$T/d.jsonl" --metrics-file "$T/m.prom" >/dev/null 2>/dev/null
    expect_eq "--threads $th --dedup-window ${w%%:*}: duplicates" \
      "$(awk '$1 == "streamrec_ingest_duplicates_total{stage=\"ingest\"}" { print $2 }' "$T/m.prom")" "${w##*:}"
  done
done
# bounded by --dedup-max: a window of 10m holding at most 50 ids forgets early
"$BIN/ingest" --dedup-window 10m --dedup-max 50 --in "$T/d.jsonl" --metrics-file "$T/m.prom" >/dev/null 2>"$T/err"
expect_eq "--dedup-max 50: duplicates" "$(awk '$1 == "streamrec_ingest_duplicates_total{stage=\"ingest\"}" { print $2 }' "$T/m.prom")" 0
check "--dedup-max 50: ids that left early are counted" grep -q '"dedup_left_early":350' "$T/err"
finish
