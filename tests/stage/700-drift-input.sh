#!/usr/bin/env bash
# drift: bad input is dead-lettered with a reason and counted, never dropped
# silently (wrong record type, NaN observation, missing quantile, window_end
# going backwards, corrupt frame); --max-series bounds the series tracked and
# counts the records past it; --pass-through forwards every input record;
# flags are checked (exit 2 naming the flag). window_end beyond +-2^61 µs is
# refused (bad_record), so no time arithmetic can overflow.
source "$(dirname "$0")/../lib.sh"
PY=python3; /usr/bin/python3 -c 'import numpy' 2>/dev/null && PY=/usr/bin/python3

# 3 series x 60 windows, then bad records at known places
$PY - > "$T/in.json" <<'EOF2'
import json
def m(name, i, v, host="a", **kw):
    r = {"name": name, "labels": [{"key": "host", "value": host}], "window_start": i * 60000000,
         "window_end": (i + 1) * 60000000, "count": 10, "value": v, "mean": v}
    r.update(kw); return r
for i in range(60):
    for h in "abc":
        print(json.dumps(m("cpu_usage", i, 10 + (i * 7 % 5), h)))
print(json.dumps(m("cpu_usage", 10, 5.0, "a")))                        # window_end goes back
print(json.dumps(m("latency", 1, 1.0, "a", quantiles=[{"q": 0.5, "value": 2.0}])))
print(json.dumps(m("cpu_usage", 100, 5.0, "d", window_end=9000000000000000000)))  # beyond +-2^61 us
EOF2
"$BIN/fbcat" --encode Metric < "$T/in.json" > "$T/in.rec" || die "encode"
# a NaN value (JSON cannot carry it: patch the double in a record), an Event, a corrupt frame
$PY - "$T/in.rec" "$T/nan.rec" <<'EOF2'
import struct, sys
d = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", d, 0)[0]
rec = bytearray(d[0:4 + n])
i = rec.find(struct.pack("<d", 10.0))     # first record: value 10.0 (and mean)
assert i > 0
while i >= 0:
    rec[i:i + 8] = struct.pack("<d", float("nan")); i = rec.find(struct.pack("<d", 10.0))
open(sys.argv[2], "wb").write(bytes(rec))
EOF2
echo '{"ts":1,"user_id":"u","event_type":"click","item_id":"i"}' | "$BIN/ingest" > "$T/ev.rec" 2>/dev/null || die "ingest"
printf '\x08\x00\x00\x00\xff\x00\x00\x00METR' > "$T/bad.rec"   # root offset past the end
cat "$T/in.rec" "$T/nan.rec" "$T/ev.rec" "$T/bad.rec" > "$T/all.rec"

"$BIN/drift" --in "$T/all.rec" --field p50 --horizons none --dead-letter "$T/dl.jsonl" \
  --metrics-file "$T/m.prom" --format json > "$T/out.json" 2>"$T/err"
expect_eq "exit with bad records (not --strict)" "$?" 0
reasons=$(jq -r .reason "$T/dl.jsonl" | sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' ')
# --field p50: every cpu_usage record lacks quantile 0.5 (missing_field), latency has it
expect_eq "dead-letter reasons" "$reasons" "bad_record=1 missing_field=183 wrong_type=1 "
grep -q '"error":"missing_field: Metric cpu_usage: no quantile 0.5 in the Metric (--field)"' "$T/dl.jsonl" \
  || fail "missing_field error text: $(head -c 300 "$T/dl.jsonl")"

"$BIN/drift" --in "$T/all.rec" --horizons none --dead-letter "$T/dl2.jsonl" --max-series 2 \
  --metrics-file "$T/m2.prom" --format json > "$T/out2.json" 2>"$T/err2"
expect_eq "exit" "$?" 0
reasons=$(jq -r .reason "$T/dl2.jsonl" | sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' ')
expect_eq "dead-letter reasons" "$reasons" "bad_record=2 bad_value=1 out_of_order=1 wrong_type=1 "
grep -q 'window_end 9000000000000000000 is out of range' "$T/dl2.jsonl" || fail "out of range detail"
grep -q 'window_end 660000000 is not after the series' "$T/dl2.jsonl" || fail "out_of_order detail"
grep -q '"detail":"Metric cpu_usage: the observed value is NaN or infinite"' "$T/dl2.jsonl" || fail "bad_value detail"
grep -q 'a Event record; drift reads Metric records' "$T/dl2.jsonl" || fail "wrong_type detail"
# 2 series tracked: host=c (60) and latency (1) are untracked = 61 records
grep -q '^streamrec_drift_series{stage="drift"} 2$' "$T/m2.prom" || fail "series gauge: $(grep series "$T/m2.prom")"
grep -q '^streamrec_drift_untracked_total{stage="drift"} 61$' "$T/m2.prom" || fail "untracked: $(grep untracked "$T/m2.prom")"
grep -q '"untracked":61' "$T/err2" || fail "done line lacks untracked"
grep -q 'streamrec_records_invalid_total{stage="drift",reason="out_of_order"} 1' "$T/m2.prom" || fail "invalid counter"

# a value whose square would overflow the running variances: bad_value, named
printf '%s\n' '{"name":"huge","labels":[],"window_start":0,"window_end":60000000,"count":1,"value":1e200}' \
  '{"name":"huge","labels":[],"window_start":60000000,"window_end":120000000,"count":1,"value":1e100}' \
  | "$BIN/fbcat" --encode Metric > "$T/huge.rec"
"$BIN/drift" --in "$T/huge.rec" --horizons none --dead-letter "$T/dl4.jsonl" > /dev/null 2>&1
expect_eq "huge value: only the one beyond 1e150 refused" "$(jq -r .reason "$T/dl4.jsonl" | tr '\n' ' ')" "bad_value "
grep -q 'the observed value 1e+200 is beyond' "$T/dl4.jsonl" || fail "huge value detail: $(cat "$T/dl4.jsonl")"

# --strict: the first bad record is fatal
"$BIN/drift" --in "$T/all.rec" --horizons none --strict > /dev/null 2>"$T/err3"
expect_eq "--strict exit" "$?" 1

# --pass-through: every record that verified comes out, plus the Drift records
"$BIN/drift" --in "$T/all.rec" --horizons none --pass-through --dead-letter "$T/dl4.jsonl" > "$T/pt.rec" 2>/dev/null
expect_eq "pass-through exit" "$?" 0
counts=$("$BIN/fbcat" --count < "$T/pt.rec" 2>&1 | tr '\n' ' ')
case $counts in *"Metric"*"185"*) ;; *) fail "pass-through counts: $counts" ;; esac
case $counts in *"Event"*"1"*) ;; *) fail "pass-through lost the Event: $counts" ;; esac

# a series that carries a "horizon" label itself: its forecasts hold one
# horizon label (the forecast's), not two of one name
python3 - > "$T/hz.json" <<'EOF2'
import json
for i in range(80):                    # past the 50-window warm-up
    print(json.dumps({"name": "q", "labels": [{"key": "horizon", "value": "theirs"}, {"key": "host", "value": "a"}],
                      "window_start": i * 60000000, "window_end": (i + 1) * 60000000, "count": 10,
                      "value": 5.0 + i % 3, "mean": 5.0 + i % 3}))
EOF2
"$BIN/fbcat" --encode Metric < "$T/hz.json" | "$BIN/drift" --horizons 15m --format json > "$T/hz.out" 2>"$T/hz.err" ||
  fail "drift on a series with a horizon label: $(tail -n 2 "$T/hz.err")"
python3 - "$T/hz.out" <<'EOF2' || fail "forecast labels of a series with its own horizon label"
import json, sys
fc = [r for r in map(json.loads, open(sys.argv[1])) if r.get("name") == "forecast.q"]
assert fc, "no forecasts"
# a repeated key would collapse in a dict: count it in the text
assert all(l.count('"horizon":') == 1 for l in open(sys.argv[1]) if '"forecast.q"' in l)
for r in fc:
    assert r["labels"] == {"horizon": "15m", "host": "a"}, r["labels"]
EOF2

# usage errors name the flag
for args in "--detectors foo" "--field p200" "--horizons 0s" "--horizons none,15m" "--window 3" "--psi-bins 50 --window 20" "--adwin-min 40 --adwin-max 64"; do
  "$BIN/drift" $args < /dev/null > /dev/null 2>"$T/u.err"
  rc=$?
  expect_eq "drift $args exit" "$rc" 2
  flag=${args%% *}
  case $args in "--psi-bins"*) flag=--psi-bins ;; "--adwin-min"*) flag=--adwin-min ;; esac
  grep -q -- "drift: $flag" "$T/u.err" || fail "drift $args: $(cat "$T/u.err")"
done
"$BIN/drift" --detectors cusm < /dev/null 2>&1 >/dev/null | grep -q "did you mean cusum" || fail "no suggestion for cusm"
finish
