#!/usr/bin/env bash
# 806-alerter-kafka-state — Kafka input with --state: the input offsets are
# saved with the alerts, so a second run reads only the new records and
# resolves the alert the first run fired (original starts_at, no re-fire);
# a run under another consumer group with the same state resumes from the
# saved offsets, not from the group's (none): it reads nothing again.
# Alerts go to a Kafka topic keyed by fingerprint.
. "$(dirname "$0")/../lib.sh"

start_kafka metrics:1 alerts:1
cat > "$T/rules.yaml" <<'Y'
rules:
  - { name: cpu, metric: cpu, condition: gt, threshold: 90, for: 1m }
Y
mk() { # first-minute value...
  python3 -c '
import json, sys
a = int(sys.argv[1])
for i, v in enumerate(sys.argv[2:]):
    print(json.dumps({"name": "cpu", "labels": [{"key": "host", "value": "h"}], "window_end": (a + i) * 60_000_000, "value": float(v)}))' "$@"
}
X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
src() { echo "kafka://$KAFKA/metrics?group=$1&eof=1"; }
run() { # group out
  timeout 60 "$BIN/alerter" --rules "$T/rules.yaml" --in "$(src "$1")" "${X[@]}" --state "$T/st.db" \
    --out "kafka://$KAFKA/alerts" 2>"$T/$2.err"
}
mk 1 95 95 95 | "$BIN/fbcat" --encode Metric --out "kafka://$KAFKA/metrics" || die "produce part 1"
check "run 1" run a r1
mk 4 95 50 | "$BIN/fbcat" --encode Metric --out "kafka://$KAFKA/metrics" || die "produce part 2"
check "run 2" run a r2
grep -q '"matched":2,' "$T/r2.err" || fail "run 2 read other than the 2 new records: $(grep done "$T/r2.err")"
check "run 3 (another group, same state)" run b r3
grep -q '"matched":0,' "$T/r3.err" || fail "run 3 read records again: $(grep done "$T/r3.err")"

timeout 60 "$BIN/fbcat" --in "kafka://$KAFKA/alerts?group=check&eof=1" "${X[@]}" > "$T/alerts.json" 2>"$T/fb.err" || fail "read alerts"
expect_eq "alerts on the topic" "$(python3 -c 'import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l); print(a.get("status", "firing"), a["starts_at"] // 60000000, a.get("ends_at", 0) // 60000000)' "$T/alerts.json" | tr '\n' ';')" \
  "firing 1 0;resolved 1 5;"
fp=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["fingerprint"])' "$T/alerts.json")
timeout 60 kcat -C -b "$KAFKA" -t alerts -e -q -f '%k\n' > "$T/keys.txt" 2>/dev/null
expect_eq "Kafka keys are the fingerprint" "$(sort -u "$T/keys.txt")" "$fp"
expect_eq "no alert left in the state" "$(sqlite3 "$T/st.db" "SELECT count(*) FROM alerts")" 0
expect_eq "saved offset: after the 5 records" "$(sqlite3 "$T/st.db" "SELECT next FROM streamrec_offsets WHERE topic = 'metrics'")" 5
finish
