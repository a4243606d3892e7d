#!/usr/bin/env bash
# 023-stream-signals — a stage reading a quiet pipe: what it has read is
# already flushed downstream while it waits (no records stuck in a buffer),
# and SIGTERM / SIGINT end it promptly with exit 0 and complete output.
source "$(dirname "$0")/../lib.sh"
F=$BIN/fbcat

python3 -c '
import json
for i in range(1000):
    print(json.dumps({"user_id": "u%d" % i, "ts": i, "type": "view"}))
' >"$T/ev.jsonl"
"$F" --encode Event <"$T/ev.jsonl" >"$T/a.rec" || die "encode failed"

# wait_for COND-COMMAND: up to 5 s
wait_for() { local i; for i in $(seq 50); do eval "$1" && return 0; sleep 0.1; done; return 1; }

for sig in TERM INT; do
  mkfifo "$T/fifo.$sig"
  "$F" --records <"$T/fifo.$sig" >"$T/out.$sig" 2>"$T/err.$sig" &
  pid=$!
  exec 7>"$T/fifo.$sig"          # keep the writer side open: the input never ends
  cat "$T/a.rec" >&7
  check "$sig: records flushed while the input is idle" \
    wait_for "cmp -s '$T/out.$sig' '$T/a.rec'"
  start=$(date +%s%N)
  kill -"$sig" "$pid"
  wait "$pid"; rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  exec 7>&-
  expect_eq "$sig: exit status" "$rc" 0
  [ "$ms" -lt 2000 ] || fail "$sig: took ${ms} ms to stop"
  check "$sig: output complete" cmp -s "$T/out.$sig" "$T/a.rec"
done

# line mode (--encode) too, with zstd output ended properly on stop
mkfifo "$T/fifo.lines"
"$F" --encode Event --out "$T/lines.rec.zst" <"$T/fifo.lines" 2>"$T/err.lines" &
pid=$!
exec 7>"$T/fifo.lines"
head -n 300 "$T/ev.jsonl" >&7
head -n 300 "$T/ev.jsonl" | "$F" --encode Event >"$T/lines.want"
# idle flush ends a zstd block: what was read is decodable before the end
check "line mode: zstd output flushed while idle" \
  wait_for "zstd -q -dc '$T/lines.rec.zst' 2>/dev/null | cmp -s - '$T/lines.want'"
kill -TERM "$pid"; wait "$pid"; rc=$?
exec 7>&-
expect_eq "line mode: exit status" "$rc" 0
check "line mode: a complete zstd stream" zstd -q -t "$T/lines.rec.zst"
check "line mode: every line read before the stop was written" \
  bash -c "zstd -q -dc '$T/lines.rec.zst' | cmp -s - '$T/lines.want'"
finish
