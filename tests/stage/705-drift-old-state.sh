#!/usr/bin/env bash
# drift refuses a --state written by an older drift (issue 18 changed the
# ph/cusum state: self-starting baselines, blob format 2): exit 2, a message
# that says the state is from an older drift and what to do, no output and
# the state file left as it was; with a new --state the same input runs.
# The old state is made from a real one: its blob's format mark turned back
# to format 1 ("DRF1"), as a drift before issue 18 wrote it. A state with
# more series than --max-series is refused the same way, naming the flag.
source "$(dirname "$0")/../lib.sh"

python3 -c '
import json
for i in range(120):
    print(json.dumps({"name": "cpu_usage", "labels": [{"key": "host", "value": "a"}],
                      "window_start": i * 60000000, "window_end": (i + 1) * 60000000,
                      "value": 10 + (i % 5) * 0.3 + (4 if i >= 80 else 0)}))
' | "$BIN/fbcat" --encode Metric > "$T/in.rec" || die "encode"

"$BIN/drift" --in "$T/in.rec" --detectors cusum --horizons none --state "$T/s.db" --format json \
  > "$T/first.json" 2>"$T/first.err" || die "first run: $(tail -2 "$T/first.err")"
[ -s "$T/first.json" ] || fail "the first run found no drift (the input has a +4 step at 80)"
[ "$(sqlite3 "$T/s.db" "SELECT hex(substr(data, 1, 4)) FROM streamrec_blobs WHERE key = 'drift.engine'")" = 44524632 ] \
  || fail "the saved blob is not format 2 (DRF2)"

sqlite3 "$T/s.db" "UPDATE streamrec_blobs SET data = X'44524631' || substr(data, 5) WHERE key = 'drift.engine'" \
  || die "sqlite3"
cp "$T/s.db" "$T/old.db"
"$BIN/drift" --in "$T/in.rec" --detectors cusum --horizons none --state "$T/s.db" --format json \
  > "$T/second.json" 2>"$T/second.err"
expect_eq "exit status on an old state" "$?" 2
grep -q 'written by an older drift' "$T/second.err" || fail "no clear message: $(tail -2 "$T/second.err")"
grep -q 'new --state file' "$T/second.err" || fail "the message does not say what to do: $(tail -2 "$T/second.err")"
[ -s "$T/second.json" ] && fail "output written from an old state: $(head -2 "$T/second.json")"
cmp -s "$T/s.db" "$T/old.db" || fail "the old state file was changed"

"$BIN/drift" --in "$T/in.rec" --detectors cusum --horizons none --state "$T/new.db" --format json \
  > "$T/third.json" 2>"$T/third.err" || fail "a new --state: $(tail -2 "$T/third.err")"
cmp -s "$T/first.json" "$T/third.json" || fail "a new --state gives other output than the first run"
# a state holding more series than --max-series allows: refused as other
# settings (exit 2), saying which flag to raise, the state file unchanged
python3 -c '
import json
for i in range(30):
    for h in "abc":
        print(json.dumps({"name": "cpu_usage", "labels": [{"key": "host", "value": h}],
                          "window_start": i * 60000000, "window_end": (i + 1) * 60000000, "value": 10}))
' | "$BIN/fbcat" --encode Metric > "$T/three.rec" || die "encode"
"$BIN/drift" --in "$T/three.rec" --detectors cusum --horizons none --state "$T/m.db" >/dev/null 2>"$T/m1.err" \
  || die "three series: $(tail -2 "$T/m1.err")"
cp "$T/m.db" "$T/m0.db"
"$BIN/drift" --in "$T/three.rec" --detectors cusum --horizons none --max-series 2 --state "$T/m.db" \
  >/dev/null 2>"$T/m2.err"
expect_eq "exit status on a state over --max-series" "$?" 2
grep -q 'raise --max-series to at least 3' "$T/m2.err" || fail "the message does not name --max-series: $(tail -2 "$T/m2.err")"
cmp -s "$T/m.db" "$T/m0.db" || fail "the state file was changed"
finish
