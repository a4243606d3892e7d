#!/usr/bin/env bash
# 135-ingest-csv — CSV through the binary: every CSV refusal with the line it
# starts on (a quoted field may span lines), quoted fields (commas, doubled
# quotes, newlines) kept exactly, unmapped columns as attrs, sample rows,
# a --map column missing from the header (exit 2 naming --map), and a record
# held open past --max-line (line_too_long, then the next record is read),
# and one quoted field over 2,000 lines kept exactly.
source "$(dirname "$0")/../lib.sh"
MAP=(--in-format csv --event-type rating --map user_id=userId,item_id=movieId,value=rating,ts=timestamp)
{
  echo 'userId,movieId,rating,timestamp,comment'       # 1 header
  echo '1,10,4.0,964982703,fine'                       # 2 ok
  echo '1,11,x,964982703,'                             # 3 wrong_type
  echo '2,12,3.5,964982703'                            # 4 bad_csv: 4 fields
  echo '2,1"3,3.5,964982703,'                          # 5 bad_csv: stray quote
  echo '3,14,5,964982704,"multi'                       # 6 ok, one record on lines 6-7
  echo 'line, with comma"'                             # 7
  echo ',15,5,964982703,'                              # 8 missing_field
  echo '4,16,5,yesterday,'                             # 9 bad_timestamp
  printf '5,17,3,964982703,caf\xe9\n'                  # 10 bad_utf8 (latin-1)
  echo '6,18,2,964982705,"a ""quoted"" word"'          # 11 ok
  echo '7,19,1,964982706,"never closed'                # 12 bad_csv at the end: lines 12-13
  echo '8,20,1,964982707,'                             # 13
} > "$T/r.csv"
"$BIN/ingest" --in "$T/r.csv" "${MAP[@]}" --out "$T/r.rec" --dead-letter "$T/r.dl" 2>"$T/err"
expect_eq "exit status" "$?" 0
expect_eq "dead letters: line and reason" "$(jq -r '"\(.line) \(.reason)"' "$T/r.dl" | tr '\n' ';')" \
  "3 wrong_type;4 bad_csv;5 bad_csv;8 missing_field;9 bad_timestamp;10 bad_utf8;12 bad_csv;"
for pair in "3:value (column rating) 'x' is not a number" "4:the row has 4 fields, the header has 5" \
            "5:stray quote" "8:user_id (column userId) is missing" "9:ts (column timestamp)" \
            "12:ends inside a quoted field"; do
  l=${pair%%:*} w=${pair#*:}
  jq -r "select(.line==$l) | .detail" "$T/r.dl" | grep -qF -- "$w" || fail "line $l: detail lacks '$w'"
done
expect_eq "raw of the open record (both lines)" "$(jq -r 'select(.line==12) | .raw' "$T/r.dl")" \
  "$(printf '7,19,1,964982706,"never closed\n8,20,1,964982707,')"
"$BIN/fbcat" < "$T/r.rec" > "$T/r.jsonl"
expect_eq "records" "$(wc -l < "$T/r.jsonl")" 3
expect_eq "users, items, values, ts" "$(jq -r '"\(.user_id) \(.item_id) \(.value) \(.ts) \(.type)"' "$T/r.jsonl" | tr '\n' ';')" \
  "1 10 4 964982703000000 rating;3 14 5 964982704000000 rating;6 18 2 964982705000000 rating;"
expect_eq "comment attrs, exactly" "$(jq -c '[.attrs.comment // empty]' "$T/r.jsonl" | tr '\n' ';')" \
  '["fine"];["multi\nline, with comma"];["a \"quoted\" word"];'
# every line accounted for: header + records (by first line) + dead letters
grep -q '"lines":13,"ok":3,"refused":7' "$T/err" || fail "summary: $(tail -n1 "$T/err")"

# sample rows: a metric_name column; the others are labels (sorted)
printf 'metric_name,value,ts,host,dc\ncpu_usage,75.5,1795392000,h1,eu\nmemory_usage,,1795392000,h1,eu\n' > "$T/s.csv"
"$BIN/ingest" --in "$T/s.csv" --in-format csv --format json --dead-letter "$T/s.dl" > "$T/s.jsonl" 2>/dev/null
expect_eq "sample row" "$(jq -c 'del(.sample_id)' "$T/s.jsonl")" \
  '{"ts":1795392000000000,"ts_iso":"2026-11-23T00:00:00.000Z","name":"cpu_usage","value":75.5,"labels":{"dc":"eu","host":"h1"}}'
# its id: FNV-1a of (partition 0, line 2, the record's text, index 0), as the ingest README says
want_id=$(python3 -c '
h = 0xcbf29ce484222325
for c in (0).to_bytes(4, "little") + (2).to_bytes(8, "little") + b"cpu_usage,75.5,1795392000,h1,eu" + (0).to_bytes(4, "little"):
    h = ((h ^ c) * 0x100000001b3) % 2**64
print("s%016x" % h)')
expect_eq "sample row: sample_id from line 2 and its text" "$(jq -r .sample_id "$T/s.jsonl")" "$want_id"
expect_eq "sample without value" "$(jq -r '"\(.line) \(.reason) \(.detail)"' "$T/s.dl")" "3 missing_field value is missing"

# a --map column the header lacks: exit 2, naming --map and the columns there are
"$BIN/ingest" --in "$T/r.csv" --in-format csv --map user_id=uid --event-type rating > /dev/null 2>"$T/merr"
expect_eq "--map missing column: exit" "$?" 2
grep -q -- "--map user_id=uid: the CSV header has no column 'uid' (columns: userId movieId" "$T/merr" \
  || fail "--map message: $(cat "$T/merr")"

# a quoted field still open after --max-line bytes: refused, and the next record is read
{
  echo 'userId,movieId,rating,timestamp,comment'
  echo '1,10,4,964982703,"open'
  for i in $(seq 20); do echo "more text that goes on and on $i"; done
  echo 'end"'
  echo '2,11,3,964982703,ok'
} > "$T/long.csv"
"$BIN/ingest" --in "$T/long.csv" "${MAP[@]}" --max-line 256 --format json --dead-letter "$T/long.dl" > "$T/long.jsonl" 2>/dev/null
expect_eq "open field over --max-line: first dead letter" "$(jq -r '"\(.line) \(.reason)"' "$T/long.dl" | head -n1)" "2 line_too_long"
expect_eq "the record after is read" "$(jq -r 'select(.user_id=="2") | .item_id' "$T/long.jsonl")" 11
# a quoted field over many lines, with commas, doubled quotes and a field that
# closes and a new one that opens on a continuation line: kept exactly (the
# reader scans each continuation line once, from where the last one stopped)
python3 - "$T/many.csv" "$T/many.want" <<'PY'
import sys, json
n = 2000
body = "".join('line %d, with ""quotes""\n' % i for i in range(n))
with open(sys.argv[1], "w") as f:
    f.write('userId,movieId,rating,timestamp,comment,more\n')
    f.write('1,10,4,964982703,"' + body + 'end","x\ny"\n')
    f.write('2,11,3,964982703,ok,\n')
want = body.replace('""', '"') + "end"
with open(sys.argv[2], "w") as f:
    f.write(json.dumps([want, "x\ny"], separators=(",", ":")) + "\n")
PY
"$BIN/ingest" --in "$T/many.csv" "${MAP[@]}" --max-string 1M --format json --dead-letter "$T/many.dl" > "$T/many.jsonl" 2>"$T/many.err"
expect_eq "many-line record: exit" "$?" 0
jq -c 'select(.user_id=="1") | [.attrs.comment, .attrs.more]' \
  "$T/many.jsonl" > "$T/many.got"
cmp -s "$T/many.got" "$T/many.want" || fail "many-line record: the two quoted fields differ ($(wc -c < "$T/many.got") bytes, $(wc -c < "$T/many.want") expected)"
expect_eq "many-line record: the next record is read" "$(jq -r 'select(.user_id=="2") | .item_id' "$T/many.jsonl")" 11
grep -q '"lines":2004,"ok":2,"refused":0' "$T/many.err" || fail "many-line summary: $(tail -n1 "$T/many.err")"
finish
