#!/usr/bin/env bash
# 211-aggregate-merge — partials and the merge, without Kafka: one input
# split by its records' Kafka key (Event: user_id; Sample: name{labels})
# into 4 partition files, one `aggregate --emit partials` per file, their
# outputs into `aggregate --merge`: the merged metrics (counts, CTR,
# distinct users, quantiles, top-K, the feature store) are the single
# process's, byte for byte, on tumbling windows and on two hopping window
# sets, whatever order the partitions' partials interleave in and when every
# partial arrives twice (a re-emission after a crash: counted as repeats).
# The same 4 processes' plain metrics, concatenated, are not (the reason
# for the merge); a partial written with other --window settings is
# refused (bad_partial); MetricPartial goes through fbcat's JSON and back;
# a merge stopped halfway with --state and started again gives the same.
. "$(dirname "$0")/../lib.sh"

"$GEN_EVENTS" --count 20000 --kind mixed --seed 7 --rate 50 | "$BIN/ingest" >"$T/ev.rec" 2>/dev/null || die "prepare events"
"$BIN/fbcat" --format json <"$T/ev.rec" >"$T/ev.json" || die "fbcat"
P=4
python3 - "$T/ev.rec" "$T/ev.json" $P "$T/part" <<'PY' || die "split"
import json, struct, sys, zlib
rec, js, P, pre = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
outs = [open("%s%d.rec" % (pre, i), "wb") for i in range(P)]
data, pos = open(rec, "rb").read(), 0
for line in open(js):
    r = json.loads(line)
    if "event_id" in r: key = r.get("user_id", "")
    else:   # record_key of a Sample: name{k=v,...}, labels sorted
        labs = r.get("labels") or []    # JSON form: [{key, value}] or (jq form) {key: value}
        labs = sorted(labs.items() if isinstance(labs, dict) else ((l["key"], l["value"]) for l in labs))
        key = r.get("name", "") + ("{" + ",".join("%s=%s" % kv for kv in labs) + "}" if labs else "")
    n = struct.unpack_from("<I", data, pos)[0]
    outs[zlib.crc32(key.encode()) % P].write(data[pos:pos + 4 + n])
    pos += 4 + n
assert pos == len(data)
PY
for i in $(seq 0 $((P - 1))); do
  [ "$("$BIN/fbcat" --count <"$T/part$i.rec" | sed -n 's/^total //p')" -gt 1000 ] || fail "partition $i holds few records"
done

# run NAME FLAGS...: the single run, P emitters, the merge of their partials
run() {
  local name=$1 i; shift
  "$BIN/aggregate" --in "$T/ev.rec" "$@" --format json >"$T/$name.single" 2>"$T/$name.single.err" || fail "$name: single run"
  grep -q '"late":0,' "$T/$name.single.err" || fail "$name: the single run refuses records as late"
  for i in $(seq 0 $((P - 1))); do
    "$BIN/aggregate" --in "$T/part$i.rec" "$@" --emit partials --input-partition $i/$P \
      >"$T/$name.p$i" 2>"$T/$name.p$i.err" || fail "$name: emitter $i"
  done
  cat "$T/$name".p[0-9] | "$BIN/aggregate" --merge "$@" --format json >"$T/$name.merged" 2>"$T/$name.merge.err" ||
    fail "$name: merge"
  grep -q '"repeats":0,"late_partials":0}' "$T/$name.merge.err" || fail "$name: $(tail -1 "$T/$name.merge.err")"
  check "$name: merged == single run ($(wc -l <"$T/$name.single") metrics)" cmp -s "$T/$name.single" "$T/$name.merged"
}
run tumbling --window 60s
run hopping --window 60s,5m --hop 30s,1m --features none --by endpoint

# every partial twice, the partitions' streams interleaved at random (each in its own order)
python3 - "$T/tumbling" $P >"$T/shuffled.rec" <<'PY'
import random, struct, sys
pre, P = sys.argv[1], int(sys.argv[2])
def frames(p):
    d, pos, out = open(p, "rb").read(), 0, []
    while pos < len(d):
        n = struct.unpack_from("<I", d, pos)[0]; out.append(d[pos:pos + 4 + n]); pos += 4 + n
    return out
streams = [frames("%s.p%d" % (pre, i)) for i in range(P)]
streams = [s + s for s in streams]          # re-emitted whole, as after a crash
random.seed(5); idx = [0] * P
while any(idx[i] < len(streams[i]) for i in range(P)):
    i = random.choice([k for k in range(P) if idx[k] < len(streams[k])])
    sys.stdout.buffer.write(streams[i][idx[i]]); idx[i] += 1
PY
"$BIN/aggregate" --merge --window 60s --format json <"$T/shuffled.rec" >"$T/shuffled.json" 2>"$T/shuffled.err" ||
  fail "merge of the shuffled partials"
check "interleaved and repeated partials: merged == single run" cmp -s "$T/tumbling.single" "$T/shuffled.json"
npart=$(cat "$T"/tumbling.p[0-9] | "$BIN/fbcat" --count | sed -n 's/^MetricPartial //p')
nwm=$(cat "$T"/tumbling.p[0-9] | "$BIN/fbcat" --format json | jq -c 'select((.kind // "watermark") == "watermark")' | wc -l)
repeats=$(sed -n 's/.*"repeats":\([0-9]*\),.*/\1/p' "$T/shuffled.err")
late=$(sed -n 's/.*"late_partials":\([0-9]*\)}.*/\1/p' "$T/shuffled.err")
# a repeat is dropped as such while its window is open, as late once emitted
expect_eq "every repeated series partial dropped (repeats + late)" "$((repeats + late))" "$((npart - nwm))"

# the merge with --state, stopped by SIGTERM halfway through its input (its
# open windows, sources and partials kept in the checkpoint) and started
# again on the rest: the same metrics as one run
python3 - "$T/shuffled.rec" "$T/half" <<'PY'
import struct, sys
d, pos, fr = open(sys.argv[1], "rb").read(), 0, []
while pos < len(d):
    n = struct.unpack_from("<I", d, pos)[0]; fr.append(d[pos:pos + 4 + n]); pos += 4 + n
h = len(fr) // 2
open(sys.argv[2] + "1", "wb").write(b"".join(fr[:h])); open(sys.argv[2] + "2", "wb").write(b"".join(fr[h:]))
PY
echo '{"ts":1,"name":"zz.stop.marker"}' | "$BIN/fbcat" --encode Event >"$T/marker.rec"
mkfifo "$T/fifo"
"$BIN/aggregate" --merge --window 60s --state "$T/merge.db" --pass-through --format json --in "$T/fifo" \
  >"$T/r1.json" 2>"$T/r1.err" &
pid=$!
exec 3>"$T/fifo"
cat "$T/half1" "$T/marker.rec" >&3
wait_until 60 'grep -q zz.stop.marker "$T/r1.json"' || fail "the marker did not come through"
kill -TERM $pid; wait $pid; expect_eq "merge: exit after SIGTERM" $? 0
exec 3>&-
"$BIN/aggregate" --merge --window 60s --state "$T/merge.db" --format json <"$T/half2" >"$T/r2.json" 2>"$T/r2.err" ||
  fail "merge: second run"
grep -q '"msg":"resumed from' "$T/r2.err" || fail "the second merge run did not resume from its state"
[ "$(grep -vc zz.stop.marker "$T/r1.json")" -gt 0 ] || fail "the first merge run emitted no window before the stop"
grep -hv zz.stop.marker "$T/r1.json" "$T/r2.json" >"$T/r12.json"
check "merge stopped and resumed with --state == single run" cmp -s "$T/tumbling.single" "$T/r12.json"

# JSON form and back
"$BIN/fbcat" --format json <"$T/tumbling.p0" >"$T/p0.json"
grep -q '"kind":"sample"' "$T/p0.json" && grep -q '"users":\[' "$T/p0.json" || fail "partials JSON lacks samples or HLLs"
"$BIN/fbcat" --encode MetricPartial <"$T/p0.json" >"$T/p0.again" || fail "fbcat --encode MetricPartial"
# (the same fields; the bytes may differ: a JSON form that prints defaults stores them again)
"$BIN/fbcat" --format json <"$T/p0.again" >"$T/p0.again.json"
check "MetricPartial JSON round trip" cmp -s "$T/p0.json" "$T/p0.again.json"

# without the merge: each process's own metrics, concatenated, are not the single run's
for i in $(seq 0 $((P - 1))); do "$BIN/aggregate" --in "$T/part$i.rec" --window 60s --format json 2>/dev/null; done >"$T/plain.json"
sort "$T/plain.json" >"$T/plain.sorted"; sort "$T/tumbling.single" >"$T/single.sorted"
differ=$(comm -13 "$T/single.sorted" "$T/plain.sorted" | wc -l)
echo "plain per-partition metrics not in the single run: $differ of $(wc -l <"$T/plain.json")" >&2
[ "$differ" -gt 1000 ] || fail "plain per-partition metrics should differ from the single run ($differ)"

# partials of other settings are refused, named, counted
"$BIN/aggregate" --merge --window 5m --format json <"$T/tumbling.p0" >"$T/other.json" 2>"$T/other.err"
expect_eq "other settings: no metrics" "$(wc -l <"$T/other.json")" 0
grep -q 'bad_partial: written with other --window' "$T/other.err" || fail "other settings not named"
# usage
"$BIN/aggregate" --emit partials --state "$T/x.db" </dev/null >/dev/null 2>"$T/u.err"
expect_eq "--emit partials --state: usage error" "$?" 2
"$BIN/aggregate" --emit partials --input-partition 4/4 </dev/null >/dev/null 2>"$T/u.err"
expect_eq "--input-partition 4/4: usage error" "$?" 2
finish
