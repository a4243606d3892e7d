#!/usr/bin/env bash
# alerter: rules over a stream of Metric records (SERIES series x WINDOWS
# one-minute windows, values a random walk so alerts go pending, fire and
# resolve all the time), against what a user would otherwise write: a
# Python script over the same records as JSON lines (fbcat's output, decoded
# for it beforehand, which favours Python) keeping the same per-series
# state (for-duration, firing, resolve) in dicts; and `cat` through the
# same pipe. The alert counts of both are compared, so the two do the same
# work. Then peak RSS with a quarter of the series and with all of them:
# memory follows live alerts (bounded by --max-alerts), not the input.
# INSTR=1 adds instructions per record (callgrind; the same on a loaded machine).
#   SERIES=20000 WINDOWS=50 REPEAT=3 tests/bench/alerter.sh
source "$(dirname "$0")/lib.sh"
SERIES=${SERIES:-20000}
WINDOWS=${WINDOWS:-50}
PY=${PYTHON:-/usr/bin/python3}
n=$((SERIES * WINDOWS))
# The machine is shared and noisy: the rule runs and their references run
# REPEAT times (default 3), both sides alike. Each row gives the best wall
# time and the least CPU time (user+sys) of its runs: CPU time is what "per
# core" means and moves far less with the load, so the ratio to Python is
# given both ways.
REPEAT=${REPEAT:-3}
gen() { # series -> JSON lines
  "$PY" - "$1" "$WINDOWS" <<'PY'
import json, random, sys
S, W = int(sys.argv[1]), int(sys.argv[2])
random.seed(7)
val = [random.uniform(0, 100) for _ in range(S)]
out = sys.stdout
for w in range(W):
    for s in range(S):
        val[s] = min(100.0, max(0.0, val[s] + random.uniform(-8, 8)))
        v = round(val[s], 3)
        out.write(json.dumps({"name": "cpu_usage", "labels": [{"key": "host", "value": "h%d" % s}],
                              "window_start": w * 60_000_000, "window_end": (w + 1) * 60_000_000, "count": 10,
                              "mean": v, "max": v, "quantiles": [{"q": 0.99, "value": v * 1.1}]}) + "\n")
PY
}
js=$BT/alerter-$SERIES-$WINDOWS.jsonl
recs=$BT/alerter-$SERIES-$WINDOWS.rec
if [ ! -s "$recs" ]; then
  echo "  generating $n Metric records (cached in $recs)..."
  gen "$SERIES" > "$js"
  "$BIN/fbcat" --encode Metric < "$js" > "$recs"
fi
q=$BT/alerter-$((SERIES / 4))-$WINDOWS.rec
[ -s "$q" ] || gen $((SERIES / 4)) | "$BIN/fbcat" --encode Metric > "$q"
echo "  input: $n records ($(du -m "$recs" | cut -f1) MB; as JSON lines $(du -m "$js" | cut -f1) MB)"

cat > "$BT/alerter-rules.yaml" <<'Y'
inhibit: []
rules:
  - { name: cpu_high, metric: cpu_usage, field: mean, condition: gt, threshold: 85, for: 3m }
  - { name: cpu_p99, metric: cpu_usage, field: p99, condition: gt, threshold: 100, for: 2m }
  - { name: cpu_idle, metric: cpu_usage, field: max, condition: lt, threshold: 5 }
Y
cat > "$BT/alerter-plain.py" <<'PY'
# the same rules, per series state in a dict; prints firing and resolved counts
import json, sys
rules = [("cpu_high", lambda r: r["mean"], lambda x: x > 85, 180_000_000),
         ("cpu_p99", lambda r: [q["value"] for q in r["quantiles"] if q["q"] == 0.99][0], lambda x: x > 100, 120_000_000),
         ("cpu_idle", lambda r: r["max"], lambda x: x < 5, 0)]
state, fired, resolved = {}, 0, 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["name"] != "cpu_usage": continue
    labels = tuple(sorted((l["key"], l["value"]) for l in r["labels"]))
    t = r["window_end"]
    for name, get, cond, for_us in rules:
        k = (name, labels)
        a = state.get(k)
        if cond(get(r)):
            if a is None: a = state[k] = [t, False]
            if not a[1] and t - a[0] >= for_us: a[1] = True; fired += 1
        elif a is not None:
            if a[1]: resolved += 1
            del state[k]
print(fired, resolved)
PY

A="$BIN/alerter --rules $BT/alerter-rules.yaml"
echo "  -- the same alerts from both?"
ours=$($A < "$recs" 2>&1 >/dev/null | grep '"msg":"done"' | sed 's/.*"fired":\([0-9]*\),"resolved":\([0-9]*\).*/\1 \2/')
theirs=$("$PY" "$BT/alerter-plain.py" "$js")
echo "  alerter fired/resolved: $ours; python: $theirs"
[ "$ours" = "$theirs" ] || { echo "  MISMATCH: the two do not compute the same alerts"; exit 1; }
echo "  (best of $REPEAT runs each: wall time and CPU time)"
best "cat (records)" "$n" "cat $recs"
best "alerter" "$n" "$A < $recs"
best "alerter --format json" "$n" "$A --format json < $recs"
best "python json + dicts (JSON in)" "$n" "$PY $BT/alerter-plain.py $js"
ratio "alerter" "python json + dicts (JSON in)"
cratio "alerter" "python json + dicts (JSON in)"
ratio "alerter" "cat (records)"
echo "  (goals: 1,000,000 records per CPU-second, 15x Python)"
if [ "${INSTR:-0}" = 1 ]; then   # load-independent: instructions per record, start-up left out
  python3 - "$recs" "$BT" <<'PY2'
import struct, sys
data = open(sys.argv[1], "rb").read()
off = n = 0
for want in (20000, 100000):
    while n < want and off < len(data):
        off += 4 + struct.unpack_from("<I", data, off)[0]; n += 1
    open("%s/alerter-%dk.rec" % (sys.argv[2], want // 1000), "wb").write(data[:off])
PY2
  instr_per "alerter, per record" 20000 100000 "$A <$BT/alerter-20k.rec" "$A <$BT/alerter-100k.rec"
fi
echo "  reproduce: $A < $recs  vs  $PY $BT/alerter-plain.py $js (INSTR=1: instructions per record too)"
echo "  -- memory: a quarter of the series vs all of them"
for f in "$q:$((SERIES / 4))" "$recs:$SERIES"; do
  IFS=: read -r file s <<< "$f"
  /usr/bin/time -o "$BT/time.$$" -f '%M' $A --metrics-file "$BT/alerter-mem.prom" < "$file" > /dev/null 2>/dev/null
  printf '  %6d series: peak RSS %7.1f MiB, alerts held at the end %s\n' "$s" "$(awk '{ print $1 / 1024 }' "$BT/time.$$")" \
    "$(grep -h '^streamrec_alerter_alerts{' "$BT/alerter-mem.prom" | sed 's/.*} //')"
done
echo "  -- 100,000 alerts firing at once (one window, every series over the threshold), without and with --state"
burst=$BT/alerter-burst-100000.rec
[ -s "$burst" ] || "$PY" -c '
import json
for s in range(100000):
    print(json.dumps({"name": "cpu_usage", "labels": [{"key": "host", "value": "h%d" % s}],
                      "window_start": 0, "window_end": 60000000, "count": 1, "mean": 99.0, "max": 99.0}))' \
  | "$BIN/fbcat" --encode Metric > "$burst"
printf 'inhibit: []\nrules:\n  - { name: cpu_high, metric: cpu_usage, field: mean, condition: gt, threshold: 85 }\n' \
  > "$BT/alerter-burst.yaml"
B="$BIN/alerter --rules $BT/alerter-burst.yaml --max-alerts 100000"
measure "100,000 alerts fire" 100000 "$B < $burst"
rm -f "$BT/alerter-burst.db"*
measure "100,000 alerts fire, --state" 100000 "$B --state $BT/alerter-burst.db < $burst"
rm -f "$BT/alerter-burst.db"* "$BT/time.$$" "$BT/err.$$"
