# experiment-merge-idle.bash — shared by 352 and 353 (sourced; not a test):
# one `experiment-analyzer --emit partials` instance on a live 2-partition
# topic and one `--merge` of its partials; the events keyed by user, so a
# chosen set of users lands on a chosen partition (librdkafka's crc32).
. "$(dirname "$0")/../lib.sh"
start_kafka events:2 partials:1
X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
EA=$BIN/experiment-analyzer
cp "$DATA/experiments.yaml" "$T/e.yaml"
"$GEN_EVENTS" --count 12000 --rate 100 --kind interactions --users 1500 --seed 8 --experiment rec_algo_v1:0.30 \
  --start 1795000000 | "$BIN/ingest" 2>/dev/null | "$BIN/fbcat" --type Event >"$T/gen.json" || die "prepare events"
# keep FILTER: the events a python expression on (partition p of its user,
# its time ts in µs, the first event's time t0) keeps, into $T/ev.json
keep() {
  python3 - "$T/gen.json" "$1" >"$T/ev.json" <<'PY' || die "filter"
import json, sys, zlib
lines = open(sys.argv[1]).read().splitlines()
t0 = json.loads(lines[0])["ts"]
for l in lines:
    r = json.loads(l)
    p, ts = zlib.crc32(r["user_id"].encode()) % 2, r["ts"]
    if eval(sys.argv[2]): print(l)
PY
}
held() {   # held P: events on partition P (kcat, not our code)
  timeout 30 kcat -C -b "$KAFKA" -t events -p "$1" -e -q -f '%p\n' 2>/dev/null | wc -l
}
# run: the file run's boundary reports ($T/want.json, $rows rows); the
# emitter and the merge (live) started; the events produced in two steps,
# in time order: those before T0 + 30 s, then (once the emitter has read
# them) the rest. (An idle partition is passed: one whose events are still
# on their way when it has been at its end for --idle-timeout gets them
# late, as in one process; the producer fills partitions unevenly, so the
# emitter's --idle-timeout is 3 s.)
run() {
  "$BIN/fbcat" --encode Event <"$T/ev.json" >"$T/ev.rec" || die "encode"
  "$EA" --config "$T/e.yaml" --report-every 5s --mergeable --in "$T/ev.rec" --format json >"$T/one.json" 2>/dev/null ||
    die "file run"
  rows=$(($(wc -l <"$T/one.json") - 8))   # Kafka has no end: not the last report
  [ "$rows" -ge 40 ] || die "only $rows rows of boundary reports"
  head -n "$rows" "$T/one.json" >"$T/want.json"
  "$EA" --config "$T/e.yaml" --report-every 5s --emit partials --idle-timeout 3s --metrics-file "$T/emit.prom" \
    --in "kafka://$KAFKA/events?group=g" "${X[@]}" --out "kafka://$KAFKA/partials" >/dev/null 2>"$T/emit.err" &
  at_exit "kill -9 $!"
  "$EA" --config "$T/e.yaml" --report-every 5s --merge --in "kafka://$KAFKA/partials?group=m" "${X[@]}" \
    --format json >"$T/merged.json" 2>"$T/merge.err" &
  M=$!
  at_exit "kill -9 $M"
  python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
t0 = json.loads(lines[0])["ts"]
with open(sys.argv[2], "w") as a, open(sys.argv[3], "w") as b:
    for l in lines: (a if json.loads(l)["ts"] < t0 + 30000000 else b).write(l + "\n")' "$T/ev.json" "$T/first.json" "$T/rest.json"
  # (from JSON: fbcat keys what it encodes; a .rec goes out without keys)
  "$BIN/fbcat" --encode Event --out "kafka://$KAFKA/events" <"$T/first.json" 2>"$T/prod.err" || die "produce"
  local n1; n1=$(wc -l <"$T/first.json")
  wait_until 60 '[ "$(sed -n "s/^streamrec_records_in_total{[^}]*} //p" "$T/emit.prom" 2>/dev/null)" = "$n1" ]' ||
    die "the first events were not read"
  "$BIN/fbcat" --encode Event --out "kafka://$KAFKA/events" <"$T/rest.json" 2>>"$T/prod.err" || die "produce"
}
# reports: the merge, live, has written every boundary report one process
# writes, and they are the same, byte for byte
reports() {
  wait_until 120 '[ "$(wc -l <"$T/merged.json")" -ge "$rows" ]' ||
    fail "$1: the merge wrote $(wc -l <"$T/merged.json") of $rows rows while the emitter ran"
  head -n "$rows" "$T/merged.json" >"$T/got.json"
  check "$1: merged over Kafka == one process from the file ($rows rows)" cmp -s "$T/want.json" "$T/got.json"
  kill -TERM $M; wait $M; expect_eq "merge: exit after SIGTERM" $? 0
}
