# aggregate-merge-idle.bash — shared by 212 and 213 (sourced; not a test):
# two `aggregate --emit partials` instances in one consumer group on a
# 2-partition topic, one partition each, and `aggregate --merge` of their
# partials, all live; events placed on a chosen partition by their key.
. "$(dirname "$0")/../lib.sh"
start_kafka events:2 partials:1
X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
A=(--window 60s --features none)
T0=1700000040   # a minute boundary, s
# produce PARTITION FROM TO: one event a second at T0+FROM .. T0+TO s on that
# partition (users whose key hashes there: librdkafka's crc32 partitioner),
# kept as "TS JSON" lines for the file run
produce() {
  python3 -c '
import json, sys, zlib
p, t0, a, b = (int(x) for x in sys.argv[1:5])
users = [u for u in ("u%d" % i for i in range(100)) if zlib.crc32(u.encode()) % 2 == p][:7]
for s in range(a, b):
    ts = (t0 + s) * 1000000
    print(ts, json.dumps({"event_id": "p%d-%d" % (p, s), "ts": ts, "user_id": users[s % 7],
                          "item_id": "i%d" % (s % 3), "type": "click" if s % 2 else "view"}))' "$1" "$T0" "$2" "$3" \
    >"$T/new.txt"
  cat "$T/new.txt" >>"$T/all.txt"
  cut -d' ' -f2- "$T/new.txt" | "$BIN/fbcat" --encode Event --out "kafka://$KAFKA/events" 2>>"$T/prod.err" ||
    die "produce $*"
}
held() {   # held P: events on partition P (kcat, not our code)
  timeout 30 kcat -C -b "$KAFKA" -t events -p "$1" -e -q -f '%p\n' 2>/dev/null | wc -l
}
emitter() {   # emitter NAME: an --emit partials instance in group g
  "$BIN/aggregate" --in "kafka://$KAFKA/events?group=g" "${X[@]}" "${A[@]}" --emit partials --idle-timeout 1s \
    --metrics-file "$T/$1.prom" --out "kafka://$KAFKA/partials" >/dev/null 2>"$T/$1.err" &
  at_exit "kill -9 $!"
}
assigned() { grep -c '"kafka partition assigned"' "$T/$1.err" 2>/dev/null; }
records_in() { local n; n=$(sed -n 's/^streamrec_records_in_total{[^}]*} //p' "$T/$1.prom" 2>/dev/null); echo "${n:-0}"; }
# two emitters, one partition each, and the merge (pid M)
start_all() {
  emitter e1
  wait_until 120 '[ "$(assigned e1)" -ge 2 ]' || die "e1 got no partitions"
  emitter e2
  wait_until 120 '[ "$(assigned e2)" -ge 1 ] && [ "$(assigned e1)" -ge 3 ]' || die "e2 did not join"
  "$BIN/aggregate" --merge --in "kafka://$KAFKA/partials?group=m" "${X[@]}" "${A[@]}" --format json \
    >"$T/merged.json" 2>"$T/merge.err" &
  M=$!
  at_exit "kill -9 $M"
}
# merged_upto START: the merge has emitted the window starting at T0+START s
merged_upto() { grep -q "\"window_start\":$(((T0 + $1) * 1000000))," "$T/merged.json" 2>/dev/null; }
# same UPTO WHAT: the merged metrics of windows starting at or before
# T0+UPTO s equal those of one process reading every event so far from a file
same() {
  local lim=$(((T0 + $1) * 1000000))
  sort -s -n -k1,1 "$T/all.txt" | cut -d' ' -f2- | "$BIN/fbcat" --encode Event >"$T/all.rec" || die "encode"
  "$BIN/aggregate" --in "$T/all.rec" "${A[@]}" --format json >"$T/file.json" 2>"$T/file.err" || die "file run"
  grep -q '"late":0,' "$T/file.err" || fail "the file run refuses records as late"
  local f
  for f in file merged; do
    python3 -c '
import re, sys
for l in open(sys.argv[1]):
    m = re.search(r"\"window_start\":(-?\d+),", l)
    if m and int(m.group(1)) <= int(sys.argv[2]): sys.stdout.write(l)' "$T/$f.json" "$lim" | sort >"$T/$f.upto"
  done
  [ -s "$T/file.upto" ] || die "no windows to compare"
  check "$2: merged == file run, windows up to +$1 s ($(wc -l <"$T/file.upto") metrics)" \
    cmp -s "$T/file.upto" "$T/merged.upto"
}
