#!/usr/bin/env bash
# 145-ingest-threads — --threads 2 (and 3) against --threads 1 on the same
# input and flags, byte for byte: the records, the dead letters (all but
# their wall-clock ts), the metrics file (all but bytes and times; with
# --strict the lines read, as the threads read ahead), the
# summary line and the exit status. Input: gen-events mixed lines with
# malformed ones, a block of repeated lines (duplicates: by event_id, and by
# content where a line has none), lines over --max-line; flags: defaults,
# rate limiting (event and arrival clock with a rate no arrival time can
# refill), a small dedup window, --format json, --strict; from a file, a
# pipe and a .zst file; CSV stays
# sequential and must say so. Enough lines for many blocks in flight.
source "$(dirname "$0")/../lib.sh"
"$GEN_EVENTS" --count 30000 --kind mixed --seed 21 --users 200 --bad-fraction 0.05 > "$T/a.jsonl"
{
  head -n 12000 "$T/a.jsonl"
  sed -n '2000,6000p' "$T/a.jsonl"                          # duplicates, by event_id
  for i in $(seq 50); do echo '{"user_id":"u1","event_type":"view","ts":"2026-01-01T00:00:00Z"}'; done
  printf '{"user_id":"u2","event_type":"view","ts":"2026-01-01T00:00:01Z","pad":"%05000d"}\n' 7   # too long
  printf '{"user_id":"u3","event_type":"click","ts":1767225600}\r\n'                         # CRLF
  tail -n +12001 "$T/a.jsonl"
  printf '{"user_id":"u4","event_type":"view","ts":"2026-01-01T00:00:02Z"}'                 # no newline
} > "$T/in.jsonl"
lines=$(($(wc -l < "$T/in.jsonl") + 1))

# run NAME THREADS ARGS...: out, dead letter, metrics, summary of one run
run() {
  local name=$1 th=$2; shift 2
  "$BIN/ingest" --threads "$th" --out "$T/$name.$th.out" --dead-letter "$T/$name.$th.dl" \
    --metrics-file "$T/$name.$th.prom" "$@" 2>"$T/$name.$th.err"
  echo $? > "$T/$name.$th.rc"
  grep '"msg":"done"' "$T/$name.$th.err" | sed 's/^{"ts":"[^"]*",//; s/,"threads":[0-9]*}$//' > "$T/$name.$th.sum"
  jq -c 'del(.ts)' "$T/$name.$th.dl" > "$T/$name.$th.dlx" 2>/dev/null || fail "$name $th: dead letter is not JSON lines"
  grep -v -e '^#' -e bytes_ -e _seconds -e _timestamp "$T/$name.$th.prom" > "$T/$name.$th.m" 2>/dev/null ||
    fail "$name $th: no metrics file"   # else two missing files would compare equal
  # --strict stops early: records_in counts the lines read, and the threads read ahead
  [ "$name" = strict ] && sed -i '/records_in_total/d' "$T/$name.$th.m"
}
# same NAME THREADS: compares a run with the --threads 1 run
same() {
  local name=$1 th=$2 f
  for f in out dlx m sum rc; do
    cmp -s "$T/$name.1.$f" "$T/$name.$th.$f" || fail "$name: --threads $th differs from --threads 1 in $f"
  done
}
# threads NAME THREADS: the parser threads the summary reports
threads() { grep '"msg":"done"' "$T/$1.$2.err" | sed 's/.*"threads":\([0-9]*\)}$/\1/'; }

cases=(
  "plain|--in $T/in.jsonl --max-line 4k"
  "rate|--in $T/in.jsonl --max-line 4k --rate-limit 2/s --rate-burst 3 --dedup-window 500"
  "arrival|--in $T/in.jsonl --max-line 4k --rate-limit 1/h --rate-burst 5 --rate-clock arrival"
  "json|--in $T/in.jsonl --max-line 4k --format json --rate-limit 5/s"
  "strict|--in $T/in.jsonl --max-line 4k --strict --dedup-window 10"
)
for c in "${cases[@]}"; do
  name=${c%%|*}; read -ra args <<< "${c#*|}"
  for th in 1 2 3; do run "$name" "$th" "${args[@]}"; done
  same "$name" 2; same "$name" 3
  [ "$name" = strict ] || expect_eq "$name: parser threads used" "$(threads "$name" 2) $(threads "$name" 3)" "2 3"
done

# the cases exercise what they claim (on the --threads 1 run)
n_out=$("$BIN/fbcat" --count < "$T/plain.1.out" | awk '{ n += $2 } END { print n }')
[ "${n_out:-0}" -gt 20000 ] || fail "plain: only ${n_out:-0} records"
sum() { sed 's/^/{/; s/$/}/' "$T/$1.1.sum" | jq -r "$2"; }
expect_eq "plain: every line out, refused or a duplicate" "$(sum plain '.ok + .refused + .duplicates')" "$lines"
dups=$(sum plain .duplicates)
[ "$dups" -ge 2500 ] || fail "plain: $dups duplicates, expected the repeated block"
for r in bad_json line_too_long; do
  grep -q "\"reason\":\"$r\"" "$T/plain.1.dlx" || fail "plain: no $r dead letter"
done
rl=$(grep -c '"reason":"rate_limited"' "$T/rate.1.dlx")
[ "$rl" -ge 100 ] || fail "rate: $rl rate_limited, expected many"
grep -q '"reason":"rate_limited"' "$T/arrival.1.dlx" || fail "arrival: nothing rate limited"
head -c 1 "$T/json.1.out" | grep -q '{' || fail "json: output is not JSON lines"
expect_eq "strict: exit status" "$(cat "$T/strict.1.rc")" 1
expect_eq "strict: one dead letter" "$(wc -l < "$T/strict.1.dlx")" 1
[ -s "$T/strict.1.out" ] || fail "strict: nothing delivered before the first refusal"

# model lines whose samples repeat many labels: a block's records outgrow
# the parsers' budget (4 MiB) and the main thread takes the rest of the block
python3 - > "$T/big.jsonl" <<'PY'
import json
labels = {"l%02d" % i: "v" * 100 for i in range(30)}
for k in range(12):
    print(json.dumps({"user_id": "u%d" % k, "event_type": "view", "ts": 1767225600 + k}))
    if k % 3 == 0:
        print(json.dumps({"model_id": "m%d" % k, "ts": 1767225600, "labels": labels,
                          "metrics": [{"type": "t%d" % i, "value": i} for i in range(1000)]}))
    print('{"user_id":"u1","event_type":"view","ts":1767225600}')
PY
for th in 1 2; do run big "$th" --in "$T/big.jsonl"; done
same big 2
expect_eq "big: samples" "$(sum big .samples)" 4000

# from a pipe too (the reader waits on it; blocks are handed over as they fill)
cat "$T/in.jsonl" | "$BIN/ingest" --threads 2 --max-line 4k > "$T/pipe.out" 2>/dev/null
cmp -s "$T/pipe.out" "$T/plain.1.out" || fail "pipe: --threads 2 output differs"

# and from a .zst file
zstd -q -c "$T/in.jsonl" > "$T/in.jsonl.zst"
"$BIN/ingest" --threads 2 --max-line 4k --in "$T/in.jsonl.zst" > "$T/zst.out" 2>"$T/zst.err"
cmp -s "$T/zst.out" "$T/plain.1.out" || fail "zst: --threads 2 output differs"
grep -q '"threads":2}' "$T/zst.err" || fail "zst: not on parser threads"

# CSV stays sequential (a record may span lines), with the same results
{
  echo 'userId,movieId,rating,timestamp,comment'
  for i in $(seq 3000); do
    echo "$((i % 50)),$i,$((i % 5 + 1)),$((964982703 + i)),\"two
lines, $i\""
    [ $((i % 97)) = 0 ] && echo "x,1,bad,964982703,"
  done
} > "$T/r.csv"
for th in 1 2; do run csv "$th" --in "$T/r.csv" --in-format csv --event-type rating \
  --map user_id=userId,item_id=movieId,value=rating,ts=timestamp --rate-limit 20/s; done
same csv 2
expect_eq "csv: parser threads" "$(threads csv 2)" 1
finish
