#!/usr/bin/env bash
# 051-cli-manners — how stages behave towards a person at a terminal:
# --help of every binary (and of every subcommand its usage names) fits in
# 80 columns; records are not poured onto a terminal (JSON lines instead,
# unless --format records is asked for); a reader that goes away (`| head`)
# ends the stage quietly with 141, as for `yes | head`; an --in file that is
# not there is a plain usage error (exit 2, "STAGE: FILE: reason").
source "$(dirname "$0")/../lib.sh"
stages=(ingest aggregate drift experiment-analyzer recommender cache-writer alerter fbcat)

# ---- --help within 80 columns ----------------------------------------------
helps=0
for b in "$BIN"/*; do
  [ -x "$b" ] && [ -f "$b" ] || continue
  s=$(basename "$b")
  "$b" --help >"$T/help" 2>&1 || { fail "$s --help: exit $?"; continue; }
  # subcommands: "STAGE word ..." in the usage lines (recommender train, alerter ack, ...)
  subs=$(sed -n '/^usage:/,/^$/p' "$T/help" | sed 's/^usage://' |
         awk -v s="$s" '$1 == s && $2 ~ /^[a-z]+$/ { print $2 }' | sort -u)
  for cmd in "" $subs; do
    # shellcheck disable=SC2086
    "$b" $cmd --help >"$T/help.$s${cmd:+.$cmd}" 2>&1 || { fail "$s $cmd --help: exit $?"; continue; }
    helps=$((helps + 1))
  done
done
# characters, not bytes (the help has an em dash): one python for every text
python3 - "$T"/help.* <<'EOF' || fail "--help wider than 80 columns"
import os, sys
bad = 0
for f in sys.argv[1:]:
    for l in open(f, encoding="utf-8").read().split("\n"):
        if len(l) > 80:
            bad += 1
            print("  %s: %d: %s" % (os.path.basename(f)[5:], len(l), l), file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
[ "$helps" -ge 13 ] || fail "only $helps --help texts checked (stages and subcommands)"

# ---- a terminal on stdout gets JSON lines, not records ----------------------
echo '{"user_id":"u1","event_type":"view","item_id":"b1","ts":1795000000000000}' >"$T/ev.jsonl"
on_tty() { # command line run with a pseudo-terminal as stdout; output in $T/tty.out
  script -qec "$1" /dev/null </dev/null >"$T/tty.out" 2>/dev/null
}
on_tty "$BIN/ingest --in $T/ev.jsonl 2>/dev/null"
expect_eq "ingest on a terminal: exit" "$?" 0
check "ingest on a terminal writes a JSON line ($(head -c 200 "$T/tty.out" | od -c | head -3))" \
  grep -q '"user_id":"u1"' "$T/tty.out"
check "ingest on a terminal writes no record bytes" sh -c "! grep -qa 'EVNT' '$T/tty.out'"
"$BIN/ingest" --in "$T/ev.jsonl" >"$T/ev.rec" 2>/dev/null
check "ingest into a file still writes records" grep -qa 'EVNT' "$T/ev.rec"
echo '{"ts":1,"name":"cpu_usage","value":0.5}' >"$T/s.jsonl"
on_tty "$BIN/fbcat --encode Sample --in $T/s.jsonl 2>/dev/null"
check "fbcat --encode on a terminal writes JSON" grep -q '"name":"cpu_usage"' "$T/tty.out"
on_tty "$BIN/ingest --format records --in $T/ev.jsonl 2>/dev/null"
check "an explicit --format records is obeyed on a terminal" grep -qa 'EVNT' "$T/tty.out"

# ---- a reader that goes away: quiet, 141 -------------------------------------
python3 - >"$T/m.jsonl" <<'EOF'
import json
for i in range(30000):
    print(json.dumps({"name": "lat", "window_start": 1795000000000000 + i * 60000000,
                      "window_end": 1795000000000000 + (i + 1) * 60000000,
                      "labels": [{"key": "host", "value": "h%d" % (i % 3)}], "value": 10.0 + (i % 7),
                      "count": 1}))
EOF
"$BIN/fbcat" --encode Metric <"$T/m.jsonl" >"$T/m.rec" || die "encode Metric"
python3 -c '
import json
for i in range(60000):
    print(json.dumps({"user_id": "u%d" % i, "event_type": "view", "item_id": "b%d" % (i % 97),
                      "ts": 1795000000000000 + i * 1000000}))' >"$T/many.jsonl"
"$BIN/ingest" --in "$T/many.jsonl" >"$T/many.rec" 2>/dev/null || die "ingest many"
closed_pipe() { # name command...: its stdout read by `head -c 100`
  local name=$1; shift
  "$@" 2>"$T/pipe.err" | head -c 100 >/dev/null
  local rc=${PIPESTATUS[0]}
  expect_eq "$name | head: exit" "$rc" 141
  if grep -q '"level":"error"' "$T/pipe.err"; then fail "$name | head: error logged: $(grep '"level":"error"' "$T/pipe.err" | head -2)"; fi
  if grep -qi 'broken pipe' "$T/pipe.err"; then fail "$name | head: says Broken pipe"; fi
}
closed_pipe "fbcat" "$BIN/fbcat" --in "$T/m.rec"
closed_pipe "fbcat --records" "$BIN/fbcat" --records --in "$T/m.rec"
closed_pipe "drift --format json" "$BIN/drift" --format json --detectors zscore --horizons 1m --in "$T/m.rec"
closed_pipe "ingest" "$BIN/ingest" --in "$T/many.jsonl"
closed_pipe "ingest --threads 2" "$BIN/ingest" --threads 2 --in "$T/many.jsonl"
closed_pipe "ingest --format json (stdin)" sh -c "\"$BIN/ingest\" --format json <\"$T/many.jsonl\""
closed_pipe "aggregate" "$BIN/aggregate" --window 1m --features none --format json --in "$T/many.rec"
# a full disk is still an error (only a reader going away is quiet)
"$BIN/fbcat" --records --in "$T/m.rec" >/dev/full 2>"$T/full.err"
expect_eq "/dev/full: exit" "$?" 1
check "/dev/full: says why" grep -q "No space left on device" "$T/full.err"

# ---- an --in file that is not there: plain, exit 2 ---------------------------
for s in "${stages[@]}"; do
  "$BIN/$s" --in "$T/no-such.rec" </dev/null >"$T/u.out" 2>"$T/u.err"
  expect_eq "$s --in missing: exit" "$?" 2
  expect_eq "$s --in missing: message" "$(cat "$T/u.err")" "$s: $T/no-such.rec: No such file or directory"
  [ -s "$T/u.out" ] && fail "$s --in missing: wrote to stdout"
done
"$BIN/aggregate" --in "$T" </dev/null >/dev/null 2>"$T/u.err"
expect_eq "--in DIRECTORY: exit" "$?" 2
expect_eq "--in DIRECTORY: message" "$(cat "$T/u.err")" "aggregate: $T: Is a directory"
for s in train eval; do
  "$BIN/recommender" $s --in "$T/no-such.rec" </dev/null >/dev/null 2>"$T/u.err"
  expect_eq "recommender $s --in missing: exit" "$?" 2
  expect_eq "recommender $s --in missing: message" "$(cat "$T/u.err")" "recommender $s: $T/no-such.rec: No such file or directory"
done
finish
