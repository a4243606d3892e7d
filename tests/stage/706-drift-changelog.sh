#!/usr/bin/env bash
# drift --changelog on one instance at a time (the group case:
# e2e/kafka-drift-changelog): a run reads half the input and checkpoints at
# its end; a second run is killed -9 in the middle of the rest; a restart
# with nothing but the changelog finishes it. Each later run restores the
# series and starts at the first run's markers (not at the start, not past
# what the state covers), and the runs' lines together equal a file run's
# (lines written again identical, none missing, none different); a last
# run finds everything covered and writes nothing. A changelog record that
# is not a drift series is counted and logged, its series starts again; a
# changelog written with other settings is refused (exit 2), one with fewer
# partitions than the input too (exit 1); the flag's misuses are usage
# errors.
source "$(dirname "$0")/../lib.sh"
PY=python3; /usr/bin/python3 -c 'import json' 2>/dev/null && PY=/usr/bin/python3
start_kafka metrics:2 dstate:2 dstate2:2 small:1
ARGS=(--window 40 --every 5 --warmup 20 --horizons 15m --format json)

$PY - >"$T/in.json" <<'EOF2'
import json, random
r = random.Random(7)
for i in range(240):
    for s in range(8):
        v = r.gauss(10 + s, 1) + (4 if i >= 120 + s else 0)
        print(json.dumps({"name": "cpu_usage", "labels": [{"key": "host", "value": "h%d" % s}],
                          "window_start": i * 60000000, "window_end": (i + 1) * 60000000, "value": v}))
EOF2
N=$(wc -l <"$T/in.json")
"$BIN/fbcat" --encode Metric <"$T/in.json" >"$T/in.rec" || die "encode"
check "file run" "$BIN/drift" --in "$T/in.rec" "${ARGS[@]}" --out "$T/file.json" 2>"$T/file.err"
grep -q '"drifts":[1-9]' "$T/file.err" || fail "no drift found at all: $(tail -1 "$T/file.err")"

# each run in a group of its own: a killed member would hold its
# partitions for the group's session timeout (where to start comes from
# the changelog, not from the group's offsets)
kin() { echo "kafka://$KAFKA/metrics?group=$1&eof=1"; }
CL="kafka://$KAFKA/dstate"
produce() { sed -n "$1p" "$T/in.json" | "$BIN/fbcat" --encode Metric --out "kafka://$KAFKA/metrics" 2>>"$T/prod.err" ||
  die "produce $1"; }
# the first half, read to its end: its checkpoint at exit covers it all
produce 1,$((N / 2))
check "first run" "$BIN/drift" --in "$(kin r0)" --changelog "$CL" "${ARGS[@]}" --out "$T/c1.json" 2>"$T/c1.err"
# the second half: killed after 500 of its records, none of them checkpointed
produce $((N / 2 + 1)),$N
"$BIN/drift" --in "$(kin r1)" --changelog "$CL" "${ARGS[@]}" --crash-after 500 --out "$T/c2.json" 2>"$T/c2.err"
expect_eq "second run killed by SIGKILL" "$?" 137
check "restart" "$BIN/drift" --in "$(kin r2)" --changelog "$CL" "${ARGS[@]}" --out "$T/c3.json" 2>"$T/c3.err"
for f in c2 c3; do
  expect_eq "$f: partitions restored with series" \
    "$(grep -c '"partition restored from the changelog".*"series_applied":[1-9]' "$T/$f.err")" 2
  # both start at the first run's markers, not at the start nor past what it read
  expect_eq "$f: partitions resumed at the first run's end" \
    "$(grep '"kafka partition assigned"' "$T/$f.err" | sed 's/.*"start":\([0-9-]*\).*/\1/' | awk '{s += $1} END {print s}')" \
    $((N / 2))
done

$PY - "$T/file.json" "$T/c1.json" "$T/c2.json" "$T/c3.json" <<'EOF2' || fail "the runs together differ from the file run"
import sys
want = open(sys.argv[1]).read().splitlines()
c2 = open(sys.argv[3]).read()
if c2 and not c2.endswith("\n"): c2 = c2[: c2.rfind("\n") + 1]     # a line cut by the kill
runs = [open(sys.argv[2]).read().splitlines(), c2.splitlines(), open(sys.argv[4]).read().splitlines()]
got = sum(runs, [])
w, g = set(want), set(got)
print("drift changelog: file run %d lines; runs %s; %d re-emitted, %d extra, %d missing"
      % (len(want), "/".join(str(len(r)) for r in runs), len(got) - len(g), len(g - w), len(w - g)), file=sys.stderr)
for l in list(g - w)[:3]: print("extra:", l[:200], file=sys.stderr)
for l in list(w - g)[:3]: print("missing:", l[:200], file=sys.stderr)
sys.exit(1 if g != w or len(want) != len(w) else 0)
EOF2

# everything is covered: another run restores and reads nothing
check "last run" "$BIN/drift" --in "$(kin r3)" --changelog "$CL" "${ARGS[@]}" --out "$T/c9.json" 2>"$T/c9.err"
expect_eq "last run: lines written" "$(wc -l <"$T/c9.json")" 0

# a revoke checkpoints: A reads everything with no checkpoint due (1h);
# B joins the group: A's revoke writes the series and markers, and B,
# given a partition, restores its series and starts at its end: it reads
# nothing and writes nothing (without the revoke's checkpoint it would read
# the partition from the start: nothing was committed)
"$BIN/drift" --in "kafka://$KAFKA/metrics?group=rv" -X session.timeout.ms=4000 -X heartbeat.interval.ms=300 \
  --changelog "kafka://$KAFKA/dstate2" "${ARGS[@]}" --checkpoint-interval 1h --metrics-file "$T/ra.prom" \
  --out "$T/ra.json" 2>"$T/ra.err" &
RA=$!
at_exit "kill -9 $RA"
wait_until 60 "grep -q '^streamrec_records_in_total{[^}]*} $N\$' '$T/ra.prom' 2>/dev/null" || fail "A did not read the input"
check "B joins, reads to the end" timeout 60 "$BIN/drift" --in "kafka://$KAFKA/metrics?group=rv&eof=1" \
  -X session.timeout.ms=4000 -X heartbeat.interval.ms=300 --changelog "kafka://$KAFKA/dstate2" "${ARGS[@]}" \
  --out "$T/rb.json" 2>"$T/rb.err"
kill -TERM $RA; wait $RA; expect_eq "A: exit after SIGTERM" $? 0
expect_eq "B: partitions restored with series" \
  "$(grep -c '"partition restored from the changelog".*"series_applied":[1-9]' "$T/rb.err")" 1
p=$(sed -n 's/.*"partition restored from the changelog","partition":\([0-9]\).*/\1/p' "$T/rb.err")
expect_eq "B: started at the end of partition ${p:-?}" \
  "$(sed -n 's/.*"partition restored from the changelog".*"start":\([0-9-]*\).*/\1/p' "$T/rb.err")" \
  "$(kcat -Q -b "$KAFKA" -t "metrics:${p:-0}:-1" 2>/dev/null | awk '{print $NF}')"
expect_eq "B: lines written" "$(wc -l <"$T/rb.json")" 0
expect_eq "A wrote the file run's lines" "$(sort "$T/ra.json" | cmp - <(sort "$T/file.json") && echo same)" same

# a record in the changelog that is not a drift series, in a checkpoint
# (a marker after it): counted, logged, its series starts again
end0=$(kcat -Q -b "$KAFKA" -t "metrics:0:-1" 2>/dev/null | awk '{print $NF}')
$PY - "$KAFKA" "$end0" <<'EOF2' || die "bad changelog record"
import struct, subprocess, sys
state = b"cpu_usage\0host\0h0\0" + b"\x1f" + b"\x01\x01" + struct.pack("<qq", -1, -2**63) + b"garbage"
mark = b"\0streamrec.checkpoint" + b"\x1f" + b"\x01\x02" + struct.pack("<qq", int(sys.argv[2]), -2**63)
# key and value may hold any byte but the delimiters
subprocess.run(["kcat", "-P", "-b", sys.argv[1], "-t", "dstate", "-p", "0", "-K", "\x1f", "-D", "\x1e"],
               input=state + b"\x1e" + mark + b"\x1e", check=True)
EOF2
check "run over a bad changelog record" "$BIN/drift" --in "$(kin r4)" --changelog "$CL" "${ARGS[@]}" --out /dev/null \
  --metrics-file "$T/c4.prom" 2>"$T/c4.err"
grep -q 'a series'"'"' state is unreadable: it starts again.*not a drift series' "$T/c4.err" ||
  fail "the bad changelog record was not reported: $(grep -m2 changelog "$T/c4.err")"
grep -q '^streamrec_drift_changelog_bad_total{[^}]*} 1$' "$T/c4.prom" || fail "the bad changelog record was not counted"

# other settings (--warmup 30 instead of 20; --cooldown is not one that
# shapes the state): refused, exit 2
"$BIN/drift" --in "$(kin r5)" --changelog "$CL" "${ARGS[@]/--warmup/--cooldown}" --warmup 30 --out /dev/null 2>"$T/c5.err"
expect_eq "other settings: exit" "$?" 2
grep -q 'other settings' "$T/c5.err" || fail "other settings: no message: $(tail -1 "$T/c5.err")"

# a changelog with fewer partitions than the input
"$BIN/drift" --in "$(kin r6)" --changelog "kafka://$KAFKA/small" "${ARGS[@]}" --out /dev/null 2>"$T/c6.err"
expect_eq "small changelog: exit" "$?" 1
grep -q 'fewer than the input' "$T/c6.err" || fail "small changelog: no message: $(tail -1 "$T/c6.err")"

# usage errors
"$BIN/drift" --in "$T/in.rec" --changelog "$CL" >/dev/null 2>"$T/u1.err"
expect_eq "--changelog with a file --in: exit" "$?" 2
"$BIN/drift" --in "$(kin r7)" --changelog "$CL" --state "$T/s.db" >/dev/null 2>"$T/u2.err"
expect_eq "--changelog with --state: exit" "$?" 2
"$BIN/drift" --in "$(kin r8)" --changelog "$T/x" >/dev/null 2>"$T/u3.err"
expect_eq "--changelog not kafka://: exit" "$?" 2
finish
