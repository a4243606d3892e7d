# group-phases.bash — the scenario kafka-drift-group.sh and
# kafka-alerter-group.sh share (sourced; not a test of its own): four phases
# of Metrics, keyed by series, into the 4-partition topic `metrics`; A
# reads phase 1 alone, B joins for phase 2, B is killed -9, A takes phase 3
# over (B's saved offsets go stale), B restarts on its own state for phase
# 4, then both stop on SIGTERM; the lines they wrote, put together, must
# equal a file run's.
# The caller has started Kafka with `metrics:4`, written $T/p1..p4.json
# (Metric JSON lines) and defined `start NAME STATE`: one instance in group
# g with --state $T/STATE.db, output $T/NAME.json, stderr $T/NAME.err, its
# pid in PID.
cat "$T"/p[1-4].json | "$BIN/fbcat" --encode Metric >"$T/all.rec" || die "encode"
N=$(cat "$T"/p[1-4].json | wc -l)
sent=0
produce() {   # produce P: phase P's records into the topic (keyed by series)
  "$BIN/fbcat" --encode Metric --out "kafka://$KAFKA/metrics" <"$T/p$1.json" 2>>"$T/prod.err" || die "produce phase $1"
  sent=$((sent + $(wc -l <"$T/p$1.json")))
}
# offsets saved in the states: per partition the furthest of a.db and b.db, summed
saved() {
  { sqlite3 "$T/a.db" 'SELECT partition, next FROM streamrec_offsets' 2>/dev/null
    sqlite3 "$T/b.db" 'SELECT partition, next FROM streamrec_offsets' 2>/dev/null; } |
    awk -F'|' '$2 > m[$1] {m[$1] = $2} END {for (p in m) s += m[p]; print s + 0}'
}
assigned() { grep -c '"kafka partition assigned"' "$T/$1.err"; }

# group_phases: the four phases, the join, the kill -9, the restart and the
# SIGTERMs, with the checks that each happened as meant
group_phases() {
  local A B before
  produce 1
  start a a; A=$PID
  wait_until 60 '[ "$(saved)" -eq "$sent" ]' || fail "A did not save phase 1 ($(saved) of $sent)"
  start b b; B=$PID
  wait_until 60 '[ "$(assigned b)" -ge 1 ] && [ "$(assigned a)" -gt 4 ]' || fail "B did not join"
  produce 2
  wait_until 60 '[ "$(saved)" -eq "$sent" ]' || fail "A and B did not save phase 2 ($(saved) of $sent)"
  check "B read some of phase 2" [ -s "$T/b.json" ]
  before=$(assigned a)
  kill -9 $B; wait $B 2>/dev/null
  wait_until 60 '[ "$(assigned a)" -ge $((before + 4)) ]' || fail "A did not take all four partitions"
  produce 3
  # A reads on through the partitions B had: B's saved offsets for them go stale
  wait_until 60 '[ "$(saved)" -eq "$sent" ]' || fail "A did not save phase 3 ($(saved) of $sent)"
  check "B's state holds offsets" [ "$(sqlite3 "$T/b.db" 'SELECT count(*) FROM streamrec_offsets')" -gt 0 ]
  before=$(assigned a)
  start b2 b; B=$PID
  wait_until 60 '[ "$(assigned b2)" -ge 1 ] && [ "$(assigned a)" -gt "$before" ]' || fail "B did not rejoin"
  produce 4
  wait_until 60 '[ "$(saved)" -eq "$sent" ]' || fail "A and B did not save phase 4 ($(saved) of $sent)"
  # one at a time: the mock refuses the commits of a group that rebalances
  kill -TERM $B; wait $B; expect_eq "B: exit after SIGTERM" $? 0
  kill -TERM $A; wait $A; expect_eq "A: exit after SIGTERM" $? 0
  expect_eq "the topic holds every record" \
    "$(timeout 60 kcat -C -b "$KAFKA" -t metrics -e -q -f '%p\n' 2>/dev/null | wc -l)" "$N"
  grep -q 'read on by another member: resuming from the committed offset' "$T/b2.err" ||
    fail "the restarted B was given no partition A had read on: the stale-offset case was not exercised"
}

# group_compare WHAT: the group's lines against the file run's $T/file.json
group_compare() {
  export LC_ALL=C
  sort "$T/file.json" >"$T/want"
  cat "$T/a.json" "$T/b.json" "$T/b2.json" | sort >"$T/got"
  echo "$1 group: $N records, file run $(wc -l <"$T/want") lines; A $(wc -l <"$T/a.json"), B $(wc -l <"$T/b.json"), B again $(wc -l <"$T/b2.json")" >&2
  check "B wrote some after its restart" [ -s "$T/b2.json" ]
  expect_eq "lines the group wrote that the file run did not" "$(comm -13 "$T/want" "$T/got" | wc -l)" 0
  expect_eq "lines the file run wrote that the group did not" "$(comm -23 "$T/want" "$T/got" | wc -l)" 0
}
