#!/usr/bin/env bash
# 105-ingest-signals — ingest reading a quiet pipe: records and dead letters
# are out while it waits, and SIGTERM / SIGINT end it with exit 0, the output
# complete, the dead letter and the metrics file written, and the summary
# logged.
source "$(dirname "$0")/../lib.sh"
wait_for() { local i; for i in $(seq 100); do eval "$1" && return 0; sleep 0.1; done; return 1; }
"$GEN_EVENTS" --count 500 --kind mixed --seed 11 > "$T/in.jsonl"
echo '{"user_id":"u1","event_type":' >> "$T/in.jsonl"
"$BIN/ingest" --in "$T/in.jsonl" --out "$T/want.rec" 2>/dev/null
for sig in TERM INT; do
  mkfifo "$T/fifo.$sig"
  "$BIN/ingest" --in "$T/fifo.$sig" --out "$T/out.$sig" --dead-letter "$T/dl.$sig" \
    --metrics-file "$T/m.$sig" 2>"$T/err.$sig" &
  pid=$!
  exec 7>"$T/fifo.$sig"
  cat "$T/in.jsonl" >&7
  check "$sig: records out while the input is idle" wait_for "cmp -s '$T/out.$sig' '$T/want.rec'"
  check "$sig: dead letter out while the input is idle" wait_for "[ -s '$T/dl.$sig' ]"
  kill -"$sig" "$pid"
  wait "$pid"; rc=$?
  exec 7>&-
  expect_eq "$sig: exit status" "$rc" 0
  check "$sig: output complete" cmp -s "$T/out.$sig" "$T/want.rec"
  expect_eq "$sig: dead letter" "$(jq -r '"\(.line) \(.reason)"' "$T/dl.$sig")" "501 bad_json"
  grep -q '^streamrec_records_invalid_total{[^}]*reason="bad_json"} 1$' "$T/m.$sig" || fail "$sig: metrics file"
  grep -q '"msg":"done","lines":501,"ok":500,"refused":1' "$T/err.$sig" || fail "$sig: summary: $(tail -n1 "$T/err.$sig")"
done
finish
