#!/usr/bin/env bash
# experiment-analyzer --state keeps the settings its fingerprint leaves out
# (how the statistics are tested and decided: alpha, sequential, correction,
# min_sample_size, exposure, start, end, control, primary; per metric goal,
# min_effect, tau) and refuses a run with another value: exit 2, a message
# naming the experiment, the setting and both values, and the state left as
# it was. The same config is accepted; a state written before the settings
# were kept takes the run's and holds them from then on. About 1 s.
source "$(dirname "$0")/../lib.sh"
EA=$BIN/experiment-analyzer
python3 "$ROOT/tests/data/experiments/sim_events.py" --experiments 2 --users 300 --lift 0.2 --seed 9 \
  --config "$T/c.yaml" > "$T/all.jsonl"
"$BIN/fbcat" --encode Event < "$T/all.jsonl" > "$T/all.rec" || die "fbcat"
run() { "$EA" --report-every 0 --in "$T/all.rec" --state "$T/s.db" --config "$@" > /dev/null 2> "$T/err"; }
tables() { for t in ea_exp ea_user ea_setting streamrec_offsets; do sqlite3 "$T/s.db" "SELECT * FROM $t ORDER BY 1, 2"; done | md5sum; }

run "$T/c.yaml" || fail "first run: $(cat "$T/err")"
expect_eq "settings kept per experiment (9 + 3 per metric)" \
  "$(sqlite3 "$T/s.db" "SELECT count(*) FROM ea_setting WHERE experiment = 'exp001'")" 15
before=$(tables)

# refused: EDIT (sed, applied to exp001 only) NAME NOW WAS
refused() {
  sed "/name: exp001/,\$ { $1 }" "$T/c.yaml" > "$T/c2.yaml"
  cmp -s "$T/c.yaml" "$T/c2.yaml" && die "edit '$1' changed nothing"
  run "$T/c2.yaml"
  expect_eq "$2 changed: exit" "$?" 2
  grep -q "experiment \\\\\"exp001\\\\\": $2 is $3 in the config but was $4 when the state was written" "$T/err" ||
    fail "$2 changed: message names the setting and both values: $(cat "$T/err")"
  expect_eq "$2 changed: state untouched" "$(tables)" "$before"
}
refused 's/    sequential: msprt/    sequential: msprt\n    alpha: 0.01/' alpha 0.01 0.05
refused 's/sequential: msprt/sequential: "off"/' sequential off msprt
refused 's/    sequential: msprt/    sequential: msprt\n    correction: bonferroni/' correction bonferroni holm
refused 's/min_sample_size: 100/min_sample_size: 50/' min_sample_size 50 100
refused 's/    sequential: msprt/    sequential: msprt\n    start: 2020-01-01T00:00:00Z/' start \
  2020-01-01T00:00:00.000Z none
refused 's/primary: true, tau: 0.05}/primary: true, tau: 0.05, goal: minimize}/' "metric converted: goal" \
  minimize maximize
refused 's/tau: 1.0}/tau: 2}/' "metric revenue: tau" 2 1
refused 's/tau: 1.0}/tau: 1.0, min_effect: 0.5}/' "metric revenue: min_effect" 0.5 0
refused 's/primary: true, tau: 0.05}/tau: 0.05}/; s/aggregate: sum, tau: 1.0}/aggregate: sum, tau: 1.0, primary: true}/' \
  primary revenue converted

# the same settings are accepted (and another spelling of one is the same)
run "$T/c.yaml" || fail "same config refused: $(cat "$T/err")"
sed "/name: exp001/,\$ s/tau: 1.0}/tau: 1.000}/" "$T/c.yaml" > "$T/c3.yaml"
run "$T/c3.yaml" || fail "tau 1.000 for 1.0 refused: $(cat "$T/err")"

# a state without the settings (as written before they were kept) takes the
# run's, then holds them
sqlite3 "$T/s.db" "DELETE FROM ea_setting" || die "sqlite3"
sed "/name: exp001/,\$ s/min_sample_size: 100/min_sample_size: 50/" "$T/c.yaml" > "$T/c4.yaml"
run "$T/c4.yaml" || fail "a state without settings refused: $(cat "$T/err")"
run "$T/c.yaml"
expect_eq "settings taken from the run that found none, then held: exit" "$?" 2
grep -q "min_sample_size is 100 in the config but was 50" "$T/err" || fail "held setting: $(cat "$T/err")"
finish
