#!/usr/bin/env bash
# pipelines/demo.sh — the whole pipeline on generated sample data, one screen
# per stage. Run through `make demo` (which builds first). Needs nothing
# started: a stage that needs a server (Redis) starts its own on a free
# loopback port and stops it.
#
# Sections live in pipelines/demo.d/NN-*.sh, sourced in order with:
#   $BIN     the binaries          $DEMO    a scratch directory
#   $DATA    pipelines/data (sample data)   $DEMO/events.jsonl  generated input (mixed kinds)
#   $BIN/gen-events  the event generator (tests/tools/gen-events.c)
#   $DEMO/events.rec  ingest's output (Event and Sample records), once 10-ingest ran
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${STREAMREC_BIN:-$ROOT/build/bin}
DATA=$ROOT/pipelines/data
DEMO=${DEMO_DIR:-$ROOT/build/demo}
DEMO_EVENTS=${DEMO_EVENTS:-20000}
rm -rf "$DEMO"; mkdir -p "$DEMO"
export BIN DATA DEMO ROOT

section() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

section "input: $DEMO_EVENTS generated events (gen-events, mixed kinds, 1% malformed, an A/B test planted)"
# Interactions carry a planted experiment (rec_algo_v1, treatment +30% purchases);
# samples, request and model metrics are mixed in.
"$BIN/gen-events" --count "$DEMO_EVENTS" --kind mixed --users 2000 --items 500 \
  --seed 7 --bad-fraction 0.01 --experiment rec_algo_v1:0.30 --start 1795000000 > "$DEMO/events.jsonl"
printf '  %s lines, %s bytes; first line:\n  ' "$(wc -l < "$DEMO/events.jsonl")" "$(wc -c < "$DEMO/events.jsonl")"
head -c 200 "$DEMO/events.jsonl"; echo " …"

for part in "$ROOT"/pipelines/demo.d/*.sh; do
  [ -f "$part" ] || continue
  # shellcheck source=/dev/null
  ( source "$part" ) || echo "  (section $(basename "$part") failed: exit $?)"
done
section "done: files are in $DEMO"
