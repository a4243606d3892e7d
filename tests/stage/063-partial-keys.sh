#!/usr/bin/env bash
# 063-partial-keys — the Kafka key of every record a stage writes comes from
# record_key (reckey.h), MetricPartial included: `aggregate --emit partials`
# keys each partial topic/partition of its source, so one input partition's
# partials (its series, then the watermark that passes them) stay in order
# on one partition of the partials topic; fbcat re-producing those partials
# from a file keys them the same.
source "$(dirname "$0")/../lib.sh"
F=$BIN/fbcat
start_kafka ev:3 parts:4 again:4

"$BIN/gen-events" --count 600 --kind mixed --users 40 --items 30 --seed 3 --start 1795000000 \
  | "$BIN/ingest" 2>/dev/null >"$T/ev.rec" || die "ingest"
"$F" --records --out "kafka://$KAFKA/ev" <"$T/ev.rec" 2>"$T/prod.err" || die "produce: $(cat "$T/prod.err")"

timeout 60 "$BIN/aggregate" --in "kafka://$KAFKA/ev?group=g&eof=1" --window 60s --emit partials \
  --out "kafka://$KAFKA/parts" 2>"$T/agg.err" || die "aggregate: $(tail -3 "$T/agg.err")"
timeout 60 "$F" --in "kafka://$KAFKA/parts" -e -m >"$T/parts.json" 2>"$T/peek.err" || die "peek: $(cat "$T/peek.err")"
n=$(wc -l <"$T/parts.json")
check "partials written ($n)" test "$n" -gt 10
expect_eq "every partial keyed topic/partition of its source" \
  "$(jq -r 'select(._kafka.key != "\(.topic)/\(.partition)")' "$T/parts.json" | wc -l)" 0
expect_eq "every source partition present" "$(jq -r ._kafka.key "$T/parts.json" | sort -u | tr '\n' ' ')" "ev/0 ev/1 ev/2 "
expect_eq "one source partition's partials on one partials partition" \
  "$(jq -r '"\(._kafka.key) \(._kafka.partition)"' "$T/parts.json" | sort -u | cut -d' ' -f1 | uniq -d | wc -l)" 0

# the same partials from a file, re-produced: the same keys
# (python, not jq: watermarks of +-2^63 must stay integers)
python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l); r.pop("_kafka"); print(json.dumps(r))' <"$T/parts.json" | "$F" --encode MetricPartial >"$T/parts.rec" || die "encode"
"$F" --records --out "kafka://$KAFKA/again" <"$T/parts.rec" 2>"$T/again.err" || die "re-produce: $(cat "$T/again.err")"
expect_eq "fbcat keys them the same" \
  "$(timeout 60 "$F" --in "kafka://$KAFKA/again" -e -m | jq -r ._kafka.key | sort | uniq -c | tr -s ' ' | tr '\n' ';')" \
  "$(jq -r ._kafka.key "$T/parts.json" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
finish
