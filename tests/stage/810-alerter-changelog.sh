#!/usr/bin/env bash
# alerter --changelog on one instance at a time (the group case:
# e2e/kafka-alerter-changelog): a run reads half the input and checkpoints
# at its end, with alerts pending and firing; a second run is killed -9 in
# the middle of the rest; a restart with nothing but the changelog (and
# its own new --state) finishes it. Each later run restores the alerts and
# starts at the first run's markers, and the runs' lines together equal a
# file run's (lines written again identical, none missing, none
# different); a last run finds everything covered and writes nothing. A
# changelog record that is not an alert is counted and logged, the rest is
# restored; a checkpoint cut short stays left out after the next owner's
# marker; a changelog with fewer partitions than the input is refused
# (exit 1); the flag's misuses are usage errors.
source "$(dirname "$0")/../lib.sh"
PY=python3; /usr/bin/python3 -c 'import json' 2>/dev/null && PY=/usr/bin/python3
start_kafka metrics:2 astate:2 small:1
cat >"$T/rules.yaml" <<'Y'
rules:
  - { name: cpu_high, metric: cpu_usage, condition: gt, threshold: 80, for: 3m, severity: warning }
  - { name: cpu_critical, metric: cpu_usage, condition: gt, threshold: 95, for: 2m, severity: critical }
Y
ARGS=(--rules "$T/rules.yaml" --format json)

# 8 series of 240 points: hot stretches (some critical first) throughout,
# several across the middle, where the first run stops, some to the end
$PY - >"$T/in.json" <<'EOF2'
import json, random
r = random.Random(3)
for i in range(240):
    for s in range(8):
        v = 50
        for b in (40, 120, 200):
            lo = b - 10 + 3 * s
            if lo <= i < lo + 15 + s: v = 88
            if s % 2 == 0 and lo <= i < lo + 6: v = 97
        if s % 3 == 0 and i >= 230: v = 88      # still firing at the end
        print(json.dumps({"name": "cpu_usage", "labels": [{"key": "host", "value": "h%d" % s}],
                          "window_end": (i + 1) * 60000000, "value": v + r.random()}))
EOF2
N=$(wc -l <"$T/in.json")
"$BIN/fbcat" --encode Metric <"$T/in.json" >"$T/in.rec" || die "encode"
check "file run" "$BIN/alerter" --in "$T/in.rec" "${ARGS[@]}" --out "$T/file.json" 2>"$T/file.err"

# each run in a group of its own: a killed member would hold its
# partitions for the group's session timeout (where to start comes from
# the changelog, not from the group's offsets)
kin() { echo "kafka://$KAFKA/metrics?group=$1&eof=1"; }
CL="kafka://$KAFKA/astate"
produce() { sed -n "$1p" "$T/in.json" | "$BIN/fbcat" --encode Metric --out "kafka://$KAFKA/metrics" 2>>"$T/prod.err" ||
  die "produce $1"; }
produce 1,$((N / 2))
check "first run" "$BIN/alerter" --in "$(kin r0)" --changelog "$CL" --state "$T/s0.db" "${ARGS[@]}" \
  --out "$T/c1.json" 2>"$T/c1.err"
# the second half: killed after 500 of its records (a quiet moment may
# checkpoint some of them first: an idle tick syncs, and under load a
# partition read to its end waits long enough)
produce $((N / 2 + 1)),$N
"$BIN/alerter" --in "$(kin r1)" --changelog "$CL" --state "$T/s1.db" "${ARGS[@]}" --crash-after 500 \
  --out "$T/c2.json" 2>"$T/c2.err"
expect_eq "second run killed by SIGKILL" "$?" 137
check "restart" "$BIN/alerter" --in "$(kin r2)" --changelog "$CL" --state "$T/s2.db" "${ARGS[@]}" \
  --out "$T/c3.json" --metrics-file "$T/c3.prom" 2>"$T/c3.err"
starts() { grep '"kafka partition assigned"' "$T/$1.err" | sed 's/.*"start":\([0-9-]*\).*/\1/' | awk '{s += $1} END {print s}'; }
for f in c2 c3; do
  expect_eq "$f: partitions restored with alerts" \
    "$(grep -c '"partition restored from the changelog".*"alerts_applied":[1-9]' "$T/$f.err")" 2
done
expect_eq "c2: partitions resumed at the first run's end" "$(starts c2)" $((N / 2))
# the restart: at the killed run's markers, so at the first run's end or up
# to the 500 records the killed run read past it (none read again twice:
# the line counts below)
s3=$(starts c3)
[ "$s3" -ge $((N / 2)) ] && [ "$s3" -le $((N / 2 + 500)) ] ||
  fail "c3: partitions resumed at $s3, not between the first run's end $((N / 2)) and 500 past it"
grep -q '^streamrec_alerter_partitions_restored_total{[^}]*} 2$' "$T/c3.prom" || fail "restored partitions not counted"
# the restart's --state holds the alerts it holds (for `alerter ack`)
check "the restart's --state lists the alerts held" \
  [ "$(sqlite3 "$T/s2.db" 'SELECT count(*) FROM alerts')" -eq "$(sed -n 's/^streamrec_alerter_alerts{[^}]*} //p' "$T/c3.prom")" ]
check "the restart ended holding alerts" grep -q '^streamrec_alerter_alerts{[^}]*} [1-9]' "$T/c3.prom"

$PY - "$T/file.json" "$T/c1.json" "$T/c2.json" "$T/c3.json" <<'EOF2' || fail "the runs together differ from the file run"
import sys
want = open(sys.argv[1]).read().splitlines()
c2 = open(sys.argv[3]).read()
if c2 and not c2.endswith("\n"): c2 = c2[: c2.rfind("\n") + 1]      # a line cut by the kill
got = open(sys.argv[2]).read().splitlines() + c2.splitlines() + open(sys.argv[4]).read().splitlines()
w, g = set(want), set(got)
print("alerter changelog restart: file run %d lines, the runs %d (%d written twice), %d extra, %d missing"
      % (len(want), len(got), len(got) - len(g), len(g - w), len(w - g)), file=sys.stderr)
for l in sorted(g - w)[:3]: print("extra:", l[:240], file=sys.stderr)
for l in sorted(w - g)[:3]: print("missing:", l[:240], file=sys.stderr)
sys.exit(1 if g != w or len(w) != len(want) or not want else 0)
EOF2
check "a last run writes nothing" "$BIN/alerter" --in "$(kin r3)" --changelog "$CL" "${ARGS[@]}" --out "$T/c4.json" 2>"$T/c4.err"
expect_eq "a last run: lines" "$(wc -l <"$T/c4.json")" 0

# a record in the changelog that is not an alert, in a checkpoint (a
# marker after it): counted, logged, the partition's other alerts restored
end0=$(kcat -Q -b "$KAFKA" -t "metrics:0:-1" 2>/dev/null | awk '{print $NF}')
$PY - "$KAFKA" "$end0" <<'EOF2' || die "bad changelog record"
import struct, subprocess, sys
state = b"00000000000000ab" + b"\x1f" + b"\x01\x01" + struct.pack("<qq", -1, -2**63) + b"garbage"
mark = b"\0streamrec.checkpoint" + b"\x1f" + b"\x01\x02" + struct.pack("<qq", int(sys.argv[2]), -2**63)
subprocess.run(["kcat", "-P", "-b", sys.argv[1], "-t", "astate", "-p", "0", "-K", "\x1f", "-D", "\x1e"],
               input=state + b"\x1e" + mark + b"\x1e", check=True)
EOF2
check "run over a bad changelog record" "$BIN/alerter" --in "$(kin r4)" --changelog "$CL" "${ARGS[@]}" --out /dev/null \
  --metrics-file "$T/c5.prom" 2>"$T/c5.err"
grep -q 'a record is not an alert: left out.*"shorter than an alert"' "$T/c5.err" ||
  fail "the bad changelog record was not reported: $(grep -m2 changelog "$T/c5.err")"
grep -q '^streamrec_alerter_changelog_bad_total{[^}]*} 1$' "$T/c5.prom" || fail "the bad changelog record was not counted"

# a checkpoint cut short (a state record after the last marker, not an
# alert) is left out by the restore that finds it, and voided there: the
# next marker, written by that run after new input, must not make a later
# restore apply it (before the void record it did: bad_total 2 there)
$PY - "$KAFKA" <<'EOF2' || die "cut checkpoint"
import struct, subprocess, sys
state = b"00000000000000cd" + b"\x1f" + b"\x01\x01" + struct.pack("<qq", -1, -2**63) + b"cut short"
subprocess.run(["kcat", "-P", "-b", sys.argv[1], "-t", "astate", "-p", "0", "-K", "\x1f", "-D", "\x1e"],
               input=state + b"\x1e", check=True)
EOF2
before0=$(kcat -Q -b "$KAFKA" -t "metrics:0:-1" 2>/dev/null | awk '{print $NF}')
sed -n "$((N - 7)),${N}p" "$T/in.json" | sed 's/"window_end": [0-9]*/"window_end": 99000000000/' |
  "$BIN/fbcat" --encode Metric --out "kafka://$KAFKA/metrics" 2>>"$T/prod.err" || die "produce more"
after0=$(kcat -Q -b "$KAFKA" -t "metrics:0:-1" 2>/dev/null | awk '{print $NF}')
[ "$after0" -gt "$before0" ] || die "no new record on metrics partition 0"
for r in r9 r10; do
  check "run $r after a cut checkpoint" "$BIN/alerter" --in "$(kin $r)" --changelog "$CL" "${ARGS[@]}" --out /dev/null \
    --metrics-file "$T/$r.prom" 2>"$T/$r.err"
  # (the record above, in a checkpoint, is counted each time: 1)
  grep -q '^streamrec_alerter_changelog_bad_total{[^}]*} 1$' "$T/$r.prom" && ! grep -q 00000000000000cd "$T/$r.err" ||
    fail "$r: the cut checkpoint's record was applied: $(grep -m1 00000000000000cd "$T/$r.err")"
done
grep -q '"partition restored from the changelog".*"partition":0,.*"left_out":1' "$T/r9.err" ||
  fail "r9 did not leave the cut checkpoint out: $(grep -m2 'partition restored' "$T/r9.err")"

# a changelog with fewer partitions than the input
"$BIN/alerter" --in "$(kin r6)" --changelog "kafka://$KAFKA/small" "${ARGS[@]}" --out /dev/null 2>"$T/c6.err"
expect_eq "small changelog: exit" "$?" 1
grep -q 'fewer than the input' "$T/c6.err" || fail "small changelog: no message: $(tail -1 "$T/c6.err")"

# usage errors
"$BIN/alerter" --in "$T/in.rec" --changelog "$CL" "${ARGS[@]}" >/dev/null 2>"$T/u1.err"
expect_eq "--changelog with a file --in: exit" "$?" 2
"$BIN/alerter" --in "$(kin r8)" --changelog "$T/x" "${ARGS[@]}" >/dev/null 2>"$T/u3.err"
expect_eq "--changelog not kafka://: exit" "$?" 2
finish
