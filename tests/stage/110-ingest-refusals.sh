#!/usr/bin/env bash
# 110-ingest-refusals — every refusal reason, each with its dead-letter line
# (position and reason), counted by reason in the metrics file; processing
# goes on; duplicates are dropped and counted, not dead-lettered; --strict
# stops at the first bad line with exit 1.
source "$(dirname "$0")/../lib.sh"

long=$(head -c 300 /dev/zero | tr '\0' 'x')
huge=$(head -c 5000 /dev/zero | tr '\0' 'y')
{
  echo '{"user_id":"u1","event_type":"click","event_id":"ok1","ts":1795392000}'            # 1 ok
  echo '{"user_id":"u1","event_type":"click","ts":'                                         # 2 bad_json
  echo '[{"user_id":"u1","event_type":"click"}]'                                           # 3 not_an_object
  printf '{"user_id":"\xff\xfeu1","event_type":"click"}\n'                                  # 4 bad_utf8
  echo '{"user_id":42,"event_type":"click"}'                                               # 5 wrong_type
  echo '{"event_type":"click","item_id":"b1"}'                                             # 6 missing_field
  echo "{\"user_id\":\"u1\",\"event_type\":\"click\",\"session_id\":\"$long\"}"            # 7 too_long
  echo '{"user_id":"u1","event_type":"click","ts":"last tuesday"}'                         # 8 bad_timestamp
  echo '{"user_id":"u1","event_type":"click","ts":"2099-01-01T00:00:00Z"}'                 # 9 implausible_timestamp
  echo "{\"user_id\":\"u1\",\"event_type\":\"click\",\"note\":\"$huge\"}"                  # 10 line_too_long
  echo '{"user_id":"u1","event_type":"click","event_id":"ok1","ts":1795392000}'            # 11 duplicate (dropped)
  echo '{"user_id":"f","event_type":"click","event_id":"f1","ts":1795392000}'              # 12 ok
  echo '{"user_id":"f","event_type":"click","event_id":"f2","ts":1795392000}'              # 13 ok (burst 2)
  echo '{"user_id":"f","event_type":"click","event_id":"f3","ts":1795392000}'              # 14 rate_limited
  echo ''                                                                                  # 15 bad_json (empty)
  echo '{"metric_name":"cpu","value":"seventy"}'                                           # 16 wrong_type
  echo '{"metric_name":"cpu","value":70}'                                                  # 17 ok
} > "$T/in.jsonl"

"$BIN/ingest" --in "$T/in.jsonl" --out "$T/out.rec" --dead-letter "$T/dl.jsonl" --max-line 4096 \
  --max-string 256 --rate-limit 2/s --metrics-file "$T/m.prom" 2>"$T/err"
expect_eq "exit status" "$?" 0
expect_eq "dead-letter lines" "$(wc -l < "$T/dl.jsonl")" 12
got=$(jq -r '"\(.line) \(.reason)"' "$T/dl.jsonl" | tr '\n' ';')
expect_eq "dead letters: line and reason" "$got" \
  "2 bad_json;3 not_an_object;4 bad_utf8;5 wrong_type;6 missing_field;7 too_long;8 bad_timestamp;9 implausible_timestamp;10 line_too_long;14 rate_limited;15 bad_json;16 wrong_type;"
# each detail names the field or the problem
for pair in "5:user_id is a number" "6:user_id is missing" "7:session_id is 300 bytes" "8:last tuesday" \
            "9:--max-skew" "10:--max-line" "14:user_id f" "16:value is a string" "4:byte 12" "2:at byte 42"; do
  l=${pair%%:*} w=${pair#*:}
  jq -r "select(.line==$l) | .detail" "$T/dl.jsonl" | grep -qF -- "$w" || fail "line $l: detail lacks '$w': $(jq -r "select(.line==$l) | .detail" "$T/dl.jsonl")"
done
# raw text is kept (the invalid UTF-8 line as base64 or escaped: either way not empty)
expect_eq "raw of line 8" "$(jq -r 'select(.line==8) | .raw' "$T/dl.jsonl")" '{"user_id":"u1","event_type":"click","ts":"last tuesday"}'
expect_eq "records out" "$("$BIN/fbcat" --count < "$T/out.rec" | tr '\n' ' ')" "Event 3 Sample 1 total 4 "
expect_eq "event ids out" "$("$BIN/fbcat" < "$T/out.rec" | jq -r 'select(.event_id) | .event_id' | tr '\n' ' ')" "ok1 f1 f2 "
# metrics by reason, and duplicates
for r in bad_json:2 not_an_object:1 bad_utf8:1 wrong_type:2 missing_field:1 too_long:1 bad_timestamp:1 \
         implausible_timestamp:1 line_too_long:1 rate_limited:1; do
  grep -q "reason=\"${r%%:*}\".* ${r#*:}\$" "$T/m.prom" || fail "metrics: ${r%%:*} should be ${r#*:}: $(grep "${r%%:*}" "$T/m.prom")"
done
# reasons that did not occur are there too, at zero
grep -q '^streamrec_records_invalid_total{[^}]*reason="bad_csv"} 0$' "$T/m.prom" || fail "metrics: bad_csv at 0 missing"
grep -q '^streamrec_ingest_duplicates_total{[^}]*} 1$' "$T/m.prom" || fail "duplicates metric: $(grep duplicates "$T/m.prom")"
grep -q '"lines":17,"ok":4,"refused":12,"duplicates":1' "$T/err" || fail "summary: $(tail -n1 "$T/err")"

# --strict: the first bad line ends the run with exit 1, naming line and
# reason, after the good line before it is written
"$BIN/ingest" --in "$T/in.jsonl" --out "$T/strict.rec" --strict 2>"$T/serr"
expect_eq "--strict exit status" "$?" 1
grep -q 'line 2: bad_json' "$T/serr" || fail "--strict message: $(cat "$T/serr")"
expect_eq "--strict: the good line before it is delivered" "$("$BIN/fbcat" < "$T/strict.rec" | jq -r .event_id)" ok1

# a usage error names the flag: exit 2
"$BIN/ingest" --rate-limit lots < /dev/null 2>"$T/uerr"; expect_eq "bad --rate-limit exit" "$?" 2
grep -q -- '--rate-limit' "$T/uerr" || fail "usage message: $(cat "$T/uerr")"
"$BIN/ingest" --map user_id=x < /dev/null 2>/dev/null; expect_eq "--map without csv exit" "$?" 2
finish
