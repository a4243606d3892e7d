#!/usr/bin/env bash
# cache-writer's checked path for keys that exist (WATCH + MGET, then
# MULTI … EXEC): another writer's newer value that lands between our read
# and our writes is never overwritten. The race is made certain, not left
# to timing: CLIENT PAUSE WRITE holds every write while reads go on, so the
# other writer's SET waits first, our read sees the old value, our writes
# wait behind the other writer's, and CLIENT UNPAUSE lets them run in that
# order. Without the WATCH (or with our writes resent unwatched after a
# reconnect) the older record would win. Cases:
#   x  our older record read x before their newer SET: theirs stays;
#   w  our newer record read w before their older SET: ours replaces it;
#   v  gone when we read it, created older by them meanwhile: ours (newer)
#      is written all the same (SET NX alone would give up);
#   k  as x, and our connection killed while our writes wait: the writes
#      are not sent again without their WATCH; theirs stays;
#   t  as x, with a second group (key t2) read behind our writes: x's
#      aborted record goes to the script group only after t2's writes, as
#      a script group's MULTI … EXEC sent between t2's WATCH and its writes
#      would end that WATCH (t2's writes unchecked); seen in MONITOR.
source "$(dirname "$0")/../lib.sh"
start_redis
R="redis-cli -p $REDIS_PORT"
B=1795000000000000
rec() { printf '{"user_id":"%s","ts":%d,"items":[{"item_id":"b1","score":1}],"algorithm":"pop","model_version":"%s"}\n' \
  "$1" $((B + $2)) "$3" | "$BIN/fbcat" --encode Recommendation; }
mkfifo "$T/in.fifo"
blocked() { $R info clients | sed -n 's/^blocked_clients:\([0-9]*\).*/\1/p' | tr -d '\r'; }

# race NAME KEY OURS THEIRS [gone|kill|two]: a cache-writer that knows KEY
# (its first record, ts 10, written by SET NX) gets a record with ts OURS
# while the other writer's SET of ts THEIRS is held by the pause; gone: KEY
# deleted before (expired, say); kill: our connection killed while our
# writes wait; two: a record for KEY2 too, and the input's end (so no
# send in between: both groups go out in the end's drain). The log in
# $T/NAME.log.
race() {
  local name=$1 key=$2 ours=$3 theirs=$4 how=${5:-} n id
  $R flushall >/dev/null
  "$BIN/cache-writer" --redis "$REDIS_URI" --pipeline 8 < "$T/in.fifo" 2>"$T/$name.log" &
  cw=$!
  exec 7>"$T/in.fifo"
  rec "$key" 10 ours-10 >&7
  check "$name: our first record is in Redis" wait_until 120 "$R get rec:$key | grep -q ours-10"
  if [ "$how" = two ]; then
    rec "${key}2" 10 ours-10 >&7
    check "$name: our first record for ${key}2 is in Redis" wait_until 120 "$R get rec:${key}2 | grep -q ours-10"
    redis-cli -p "$REDIS_PORT" monitor >"$T/$name.monitor" 7>&- &   # not holding our input open
    mon=$!
    check "$name: MONITOR is on" wait_until 120 "[ -s '$T/$name.monitor' ]"
  fi
  [ "$how" = gone ] && $R del "rec:$key" >/dev/null
  $R client pause 60000 write >/dev/null
  n=$(blocked)
  $R set "rec:$key" "{\"ts\":$((B + theirs)),\"model_version\":\"theirs-$theirs\"}" >/dev/null 7>&- &
  check "$name: their SET is held by the pause" wait_until 120 "[ \"\$(blocked)\" -gt $n ]"
  if [ "$how" = two ]; then
    # both records and the end of input before it reads on (stopped meanwhile)
    { rec "$key" "$ours" "ours-$ours"; rec "${key}2" "$ours" "ours-$ours"; } >"$T/two.rec"
    kill -STOP "$cw"; cat "$T/two.rec" >&7; exec 7>&-; kill -CONT "$cw"
  else
    rec "$key" "$ours" "ours-$ours" >&7
  fi
  # our read is answered during the pause; our writes wait behind their SET
  check "$name: our writes wait behind theirs" wait_until 120 "[ \"\$(blocked)\" -gt $((n + 1)) ]"
  if [ "$how" = kill ]; then   # our connection is the one inside MULTI (flags x)
    id=$($R client list | grep -E 'flags=[a-zA-Z]*x' | sed -n 's/^id=\([0-9]*\) .*/\1/p' | head -n 1)
    check "$name: our connection found in CLIENT LIST" test -n "$id"
    $R client kill id "$id" >/dev/null
  fi
  $R client unpause >/dev/null
  exec 7>&-
  wait "$cw"; expect_eq "$name: cache-writer exit" "$?" 0
  if [ "$how" = two ]; then
    $R ping >/dev/null; kill "$mon"; wait "$mon" 2>/dev/null
    # per connection: from a WATCH to its EXEC, no script (EVALSHA/EVAL)
    check "$name: nothing but the watched group's writes between its WATCH and EXEC" awk '
      { c = $3; cmd = tolower($4); gsub(/"/, "", cmd) }
      cmd == "watch" { w[c] = 1 }
      w[c] && (cmd == "evalsha" || cmd == "eval") { print "script inside a WATCH on " c ": " $0; bad = 1 }
      cmd == "exec" { w[c] = 0 }
      END { exit bad }' "$T/$name.monitor"
    check "$name: the second group was checked and written ($(grep -o '"checked.*' "$T/$name.log"))" \
      grep -q '"checked":2,' "$T/$name.log"
  fi
  expect_eq "$name: nothing dead-lettered or failed" "$(grep -o '"errors":[0-9]*' "$T/$name.log")" '"errors":0'
  check "$name: our group was aborted and went through the script ($(grep -o '"checked.*' "$T/$name.log"))" \
    grep -q '"aborted":1,"scripted":1' "$T/$name.log"
}
winner() { $R get "rec:$1" | sed -n 's/.*"model_version":"\([a-z0-9-]*\)".*/\1/p'; }

race older x 20 30;        expect_eq "x: their newer value stays" "$(winner x)" theirs-30
race newer w 40 30;        expect_eq "w: ours replaces their older value" "$(winner w)" ours-40
race gone v 40 30 gone;    expect_eq "v: ours replaces their older value, created after our read" "$(winner v)" ours-40
race kill k 20 30 kill;    expect_eq "k: their newer value stays after the reconnect" "$(winner k)" theirs-30
race two t 20 30 two;     expect_eq "t: their newer value stays" "$(winner t)" theirs-30
expect_eq "t2: ours, checked in the group read behind t's writes" "$(winner t2)" ours-20
check "kill: reconnected ($(grep -o '"reconnects":[0-9]*' "$T/kill.log"))" grep -q '"reconnects":1' "$T/kill.log"
finish
