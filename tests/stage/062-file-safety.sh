#!/usr/bin/env bash
# 062-file-safety — files a service writes into shared or unattended
# directories (issue 12, item 5): the metrics file and the experiment report
# are replaced through a temporary file whose name cannot be guessed, so a
# symlink planted under the old predictable name (.NAME.tmp.PID, PATH.tmp)
# does not make the stage overwrite the file it points to; the metrics file
# is 0644 whatever the umask (node_exporter reads it as another user); dead
# letters are created 0640 and never through a symlink, nor is the --state
# database; a dead letter on a full disk is reported once.
source "$(dirname "$0")/../lib.sh"
D=$T/shared; mkdir -p "$D"
victim=$T/victim; echo "precious" >"$victim"
intact() { expect_eq "$1: the symlink's target is untouched" "$(cat "$victim")" precious; }
printf '{"user_id":"u1","event_type":"view","item_id":"i1","ts":1700000000000000}\n' >"$T/one.jsonl"

# ---- metrics: the old temporary name of the next process is a planted link.
# exec keeps the PID, so the link names exactly the file it would write.
bash -c 'ln -s "$1" "$2/.m.prom.tmp.$$"; umask 077; exec "$3" --metrics-file "$2/m.prom" --in "$4" --out /dev/null' \
  _ "$victim" "$D" "$BIN/ingest" "$T/one.jsonl" 2>"$T/m.err" || fail "ingest with --metrics-file: $(tail -2 "$T/m.err")"
intact "metrics temporary file"
[ -f "$D/m.prom" ] && [ ! -L "$D/m.prom" ] || fail "metrics file is not a regular file"
grep -q '^streamrec_records_in_total' "$D/m.prom" || fail "metrics file has no records_in counter"
expect_eq "metrics file mode under umask 077" "$(stat -c %a "$D/m.prom")" 644
expect_eq "no temporary metrics file left" "$(ls -A "$D" | grep -c '\.tmp\.[A-Za-z0-9]*$' | tr -d ' ')" 1  # the planted link only
rm -f "$D"/.m.prom.tmp.*

# ---- experiment report: PATH.tmp was fixed
echo precious >"$victim"   # each check on its own
cat >"$T/e.yaml" <<'YAML'
experiments:
  - name: e
    control: a
    variants:
      - {name: a, allocation: 0.5}
      - {name: b, allocation: 0.5}
    metrics:
      - {name: m, type: conversion, event: purchase}
YAML
"$BIN/ingest" --in "$T/one.jsonl" --out "$T/one.rec" 2>/dev/null || die "ingest one event"
ln -s "$victim" "$D/r.md.tmp"
"$BIN/experiment-analyzer" --config "$T/e.yaml" --in "$T/one.rec" --report markdown --report-file "$D/r.md" \
  >/dev/null 2>"$T/r.err" || fail "experiment-analyzer --report: $(tail -2 "$T/r.err")"
intact "report temporary file"
grep -q '^# Experiments' "$D/r.md" || fail "the report was not written"

# ---- dead letters: 0640, and not through a symlink
echo precious >"$victim"   # each check on its own
printf 'not json\n' >"$T/bad.jsonl"
(umask 022; "$BIN/ingest" --in "$T/bad.jsonl" --dead-letter "$D/dl.jsonl" --out /dev/null 2>/dev/null)
[ -s "$D/dl.jsonl" ] || fail "no dead letter written"
expect_eq "dead letter mode under umask 022" "$(stat -c %a "$D/dl.jsonl")" 640
ln -s "$victim" "$D/dl-link.jsonl"
"$BIN/ingest" --in "$T/bad.jsonl" --dead-letter "$D/dl-link.jsonl" --out /dev/null 2>"$T/dl.err"
[ $? -ne 0 ] || fail "a dead letter that is a symlink was accepted"
grep -q "symbolic link" "$T/dl.err" || fail "the refusal does not say why: $(cat "$T/dl.err")"
intact "dead letter"

# ---- --state: not through a symlink (to an empty file, which SQLite would
# otherwise take for a new database and fill)
: >"$T/empty-victim"
ln -s "$T/empty-victim" "$D/state.db"
"$BIN/aggregate" --in "$T/one.rec" --state "$D/state.db" --out /dev/null 2>"$T/st.err"
[ $? -ne 0 ] || fail "a --state that is a symlink was accepted"
expect_eq "state database: the symlink's target is untouched" "$(stat -c %s "$T/empty-victim")" 0

# ---- a dead letter on a full disk is reported once, not at every sync and again at exit
printf 'bad 1\n{"user_id":"u","event_type":"view","ts":1}\nbad 2\n' |
  "$BIN/ingest" --dead-letter /dev/full >/dev/null 2>"$T/full.err"
expect_eq "full-disk dead letter: exit" $? 1
expect_eq "full-disk dead letter: logged once" "$(grep -c '"level":"error".*dead letter' "$T/full.err")" 1
finish
