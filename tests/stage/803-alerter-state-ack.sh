#!/usr/bin/env bash
# 803-alerter-state-ack — with --state a restart neither re-fires nor
# forgets: replaying the same input emits nothing, and the next part of the
# stream resolves the alert with its original starts_at. `alerter ack`
# stops the repeats of a firing alert; the ack ends when the alert resolves.
. "$(dirname "$0")/../lib.sh"

cat > "$T/rules.yaml" <<'Y'
rules:
  - { name: cpu, metric: cpu, condition: gt, threshold: 90, repeat_interval: 2m }
Y
mk() { # first-window last-window value...
  python3 -c '
import json, sys
a, vals = int(sys.argv[1]), [float(v) for v in sys.argv[2:]]
for i, v in enumerate(vals):
    w = a + i
    print(json.dumps({"name": "cpu", "labels": [{"key": "host", "value": "h"}], "window_start": (w - 1) * 60_000_000,
                      "window_end": w * 60_000_000, "value": v}))' "$@" | "$BIN/fbcat" --encode Metric
}
mk 1 95 95 95 > "$T/p1.rec"
mk 4 95 95 95 50 > "$T/p2.rec"
ev() { python3 -c 'import json,sys
for l in open(sys.argv[1]):
    a = json.loads(l); print(a.get("status", "firing"), a["starts_at"] // 60_000_000, a.get("ends_at", 0) // 60_000_000)' "$1" | tr '\n' ';'; }
A=("$BIN/alerter" --rules "$T/rules.yaml" --state "$T/st.db" --format json)

check "part 1" "${A[@]}" --in "$T/p1.rec" > "$T/o1.json" 2>"$T/e1"
expect_eq "part 1: fires at 1, repeats at 3" "$(ev "$T/o1.json")" "firing 1 0;firing 1 0;"
check "replay of part 1" "${A[@]}" --in "$T/p1.rec" > "$T/o1b.json" 2>"$T/e1b"
expect_eq "replay re-fires nothing" "$(cat "$T/o1b.json")" ""
grep -q '"msg":"resumed from .*1 alerts, 1 firing' "$T/e1b" || fail "restart did not load the firing alert: $(head -3 "$T/e1b")"

fp=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["fingerprint"])' "$T/o1.json")
"$BIN/alerter" ack 0123456789abcdef --state "$T/st.db" 2>"$T/ack0.err"; rc=$?
expect_eq "ack of an unknown fingerprint fails" "$rc" 1
grep -q 'no firing alert with this fingerprint' "$T/ack0.err" || fail "ack error: $(cat "$T/ack0.err")"
"$BIN/alerter" ack nothex --state "$T/st.db" 2>"$T/ack1.err"; rc=$?
expect_eq "ack of a malformed fingerprint is a usage error" "$rc" 2
"$BIN/alerter" ack "$fp" 2>/dev/null; rc=$?
expect_eq "ack without --state is a usage error" "$rc" 2
check "ack" "$BIN/alerter" ack "$fp" --state "$T/st.db" 2>"$T/ack.err"
expect_eq "ack stored" "$(sqlite3 "$T/st.db" 'SELECT fp FROM acks')" "$fp"

# without the ack the repeats at 5 and 7 would go out; with it only the resolve, with the first starts_at
check "part 2" "${A[@]}" --in "$T/p2.rec" > "$T/o2.json" 2>"$T/e2"
expect_eq "acked: no repeat; resolved at 7 with starts_at 1" "$(ev "$T/o2.json")" "resolved 1 7;"
expect_eq "ack gone with the alert" "$(sqlite3 "$T/st.db" 'SELECT count(*) FROM acks')" 0
expect_eq "no alert left" "$(sqlite3 "$T/st.db" 'SELECT count(*) FROM alerts')" 0

# the same parts without the ack: the repeats go out (so the ack above is what stopped them)
rm -f "$T/st.db"*
"${A[@]}" --in "$T/p1.rec" > /dev/null 2>&1
check "part 2 unacked" "${A[@]}" --in "$T/p2.rec" > "$T/o3.json" 2>/dev/null
expect_eq "unacked: repeats at 5 and 7, then resolved" "$(ev "$T/o3.json")" "firing 1 0;firing 1 0;resolved 1 7;"
finish
