#!/usr/bin/env bash
# 071-usage-flags-out-of-place — a flag that means nothing in the mode a
# stage runs in is a usage error naming it (exit 2, reason and hint on
# stderr, nothing on stdout), not silently ignored: --state where a stage
# keeps no state file (cache-writer, fbcat), aggregate --input-partition and
# experiment-analyzer --partition/--partitions without --emit partials. And
# where they do mean something, they are still taken. Runs the binaries on
# empty input only: well under a second.
source "$(dirname "$0")/../lib.sh"
Y="$ROOT/pipelines/data/experiments.yaml"

usage_error() { # stage want args...
  local s=$1 want=$2; shift 2
  "$BIN/$s" "$@" </dev/null >"$T/u.out" 2>"$T/u.err"; local rc=$?
  expect_eq "$s $* exit" "$rc" 2
  grep -qF -- "$s: $want" "$T/u.err" || fail "$s $*: stderr lacks '$s: $want': $(head -c 300 "$T/u.err")"
  grep -qF -- "try '$s --help'" "$T/u.err" || fail "$s $*: no hint"
  [ -s "$T/u.out" ] && fail "$s $*: wrote to stdout on a usage error"
  [ -e "$T/x.db" ] && fail "$s $*: created the --state file"
}
accepted() { # stage args...
  local s=$1; shift
  "$BIN/$s" "$@" </dev/null >"$T/a.out" 2>"$T/a.err"; local rc=$?
  expect_eq "$s $* exit ($(tail -c 200 "$T/a.err"))" "$rc" 0
}

usage_error cache-writer "--state: cache-writer keeps no state file" --redis redis://127.0.0.1:1 --state "$T/x.db"
usage_error fbcat "--state: fbcat keeps no state" --state "$T/x.db"
usage_error fbcat "--state: fbcat keeps no state" --encode Event --state "$T/x.db"

usage_error aggregate "--input-partition: only with --emit partials" --input-partition 1/2
usage_error aggregate "--input-partition: only with --emit partials" --input-partition 0/1
usage_error aggregate "--input-partition: only with --emit partials" --merge --input-partition 1/2
accepted aggregate --emit partials --input-partition 1/2

usage_error experiment-analyzer "--partition: only with --emit partials" --config "$Y" --partition 1
usage_error experiment-analyzer "--partition: only with --emit partials" --config "$Y" --partition 0
usage_error experiment-analyzer "--partitions: only with --emit partials" --config "$Y" --partitions 2
usage_error experiment-analyzer "--partition: only with --emit partials" --config "$Y" --merge --partition 1
usage_error experiment-analyzer "--partition 1: without --partitions the source is one partition (0)" \
  --config "$Y" --emit partials --partition 1
usage_error experiment-analyzer "--partition 2: not below --partitions 2" \
  --config "$Y" --emit partials --partition 2 --partitions 2
accepted experiment-analyzer --config "$Y" --emit partials --partition 1 --partitions 2
finish
