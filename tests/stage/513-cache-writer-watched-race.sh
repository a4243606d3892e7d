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
#      are not sent again without their WATCH; theirs stays.
source "$(dirname "$0")/../lib.sh"
start_redis
R="redis-cli -p $REDIS_PORT"
B=1795000000000000
rec() { printf '{"user_id":"%s","ts":%d,"items":[{"item_id":"b1","score":1}],"algorithm":"pop","model_version":"%s"}\n' \
  "$1" $((B + $2)) "$3" | "$BIN/fbcat" --encode Recommendation; }
mkfifo "$T/in.fifo"
blocked() { $R info clients | sed -n 's/^blocked_clients:\([0-9]*\).*/\1/p' | tr -d '\r'; }

# race NAME KEY OURS THEIRS [gone|kill]: a cache-writer that knows KEY (its
# first record, ts 10, written by SET NX) gets a record with ts OURS while
# the other writer's SET of ts THEIRS is held by the pause; gone: KEY
# deleted before (expired, say); kill: our connection killed while our
# writes wait. The log in $T/NAME.log.
race() {
  local name=$1 key=$2 ours=$3 theirs=$4 how=${5:-} n id
  $R flushall >/dev/null
  "$BIN/cache-writer" --redis "$REDIS_URI" --pipeline 8 < "$T/in.fifo" 2>"$T/$name.log" &
  cw=$!
  exec 7>"$T/in.fifo"
  rec "$key" 10 ours-10 >&7
  check "$name: our first record is in Redis" wait_until 20 "$R get rec:$key | grep -q ours-10"
  [ "$how" = gone ] && $R del "rec:$key" >/dev/null
  $R client pause 60000 write >/dev/null
  n=$(blocked)
  $R set "rec:$key" "{\"ts\":$((B + theirs)),\"model_version\":\"theirs-$theirs\"}" >/dev/null &
  check "$name: their SET is held by the pause" wait_until 20 "[ \"\$(blocked)\" -gt $n ]"
  rec "$key" "$ours" "ours-$ours" >&7
  # our read is answered during the pause; our writes wait behind their SET
  check "$name: our writes wait behind theirs" wait_until 20 "[ \"\$(blocked)\" -gt $((n + 1)) ]"
  if [ "$how" = kill ]; then   # our connection is the one inside MULTI (flags x)
    id=$($R client list | grep -E 'flags=[a-zA-Z]*x' | sed -n 's/^id=\([0-9]*\) .*/\1/p' | head -n 1)
    check "$name: our connection found in CLIENT LIST" test -n "$id"
    $R client kill id "$id" >/dev/null
  fi
  $R client unpause >/dev/null
  exec 7>&-
  wait "$cw"; expect_eq "$name: cache-writer exit" "$?" 0
  expect_eq "$name: nothing dead-lettered or failed" "$(grep -o '"errors":[0-9]*' "$T/$name.log")" '"errors":0'
  check "$name: our group was aborted and went through the script ($(grep -o '"checked.*' "$T/$name.log"))" \
    grep -q '"aborted":1,"scripted":1' "$T/$name.log"
}
winner() { $R get "rec:$1" | sed -n 's/.*"model_version":"\([a-z0-9-]*\)".*/\1/p'; }

race older x 20 30;        expect_eq "x: their newer value stays" "$(winner x)" theirs-30
race newer w 40 30;        expect_eq "w: ours replaces their older value" "$(winner w)" ours-40
race gone v 40 30 gone;    expect_eq "v: ours replaces their older value, created after our read" "$(winner v)" ours-40
race kill k 20 30 kill;    expect_eq "k: their newer value stays after the reconnect" "$(winner k)" theirs-30
check "kill: reconnected ($(grep -o '"reconnects":[0-9]*' "$T/kill.log"))" grep -q '"reconnects":1' "$T/kill.log"
finish
