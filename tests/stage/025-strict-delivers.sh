#!/usr/bin/env bash
# 025-strict-delivers — with --strict a stage stops at the first bad record
# (exit 1), but the good records it read before that are delivered, not lost
# in an unflushed buffer.
source "$(dirname "$0")/../lib.sh"
for i in $(seq 1 500); do
  printf '{"event_id":"e%d","ts":1795000000000000,"user_id":"u%d","type":"click"}\n' "$i" "$i"
done | "$BIN/fbcat" --encode Event >"$T/good.rec" || die "encode failed"
# a frame with a plausible length whose content is no FlatBuffer, then more records
{ cat "$T/good.rec"; printf '\x10\x00\x00\x00AAAAAAAAAAAAAAAA'; cat "$T/good.rec"; } >"$T/mixed.rec"
for fmt in records json; do
  "$BIN/fbcat" --strict --format "$fmt" <"$T/mixed.rec" >"$T/out.$fmt" 2>"$T/err.$fmt"; rc=$?
  expect_eq "fbcat --strict --format $fmt exit" "$rc" 1
  grep -q 'strict' "$T/err.$fmt" || fail "$fmt: stderr does not say why it stopped"
done
expect_eq "records delivered before the bad frame" "$("$BIN/fbcat" --count <"$T/out.records" | tr -d ' \n')" \
  "$("$BIN/fbcat" --count <"$T/good.rec" | tr -d ' \n')"
expect_eq "JSON lines delivered before the bad frame" "$(wc -l <"$T/out.json")" 500
# ingest: the lines before the bad one arrive too
{ for i in $(seq 1 300); do printf '{"user_id":"u%d","event_type":"click","item_id":"b1","ts":1795000000}\n' "$i"; done
  echo '{"user_id":'; echo '{"user_id":"x","event_type":"click"}'; } >"$T/lines.jsonl"
"$BIN/ingest" --strict <"$T/lines.jsonl" >"$T/ing.rec" 2>"$T/ing.err"; rc=$?
expect_eq "ingest --strict exit" "$rc" 1
expect_eq "ingest records before the bad line" "$("$BIN/fbcat" <"$T/ing.rec" | wc -l)" 300
finish
