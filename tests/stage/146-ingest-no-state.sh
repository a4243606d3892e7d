#!/usr/bin/env bash
# 146-ingest-no-state — ingest keeps no state and says so: --state is a
# usage error (exit 2, naming the flag and why, nothing read or created),
# and the shipped unit does not pass it (RestartPreventExitStatus=2 would
# leave the unit failed at its first start).
source "$(dirname "$0")/../lib.sh"
echo '{"user_id":"u1","event_type":"click"}' | "$BIN/ingest" --state "$T/ingest.db" > "$T/out" 2> "$T/err"
expect_eq "ingest --state: exit status" "$?" 2
grep -q -- '--state: ingest keeps no state' "$T/err" || fail "message: $(cat "$T/err")"
check "nothing written" [ ! -s "$T/out" ]
check "no database created" [ ! -e "$T/ingest.db" ]
unit=$ROOT/systemd/streamrec-ingest@.service
grep -q '^ExecStart=.*bin/streamrec-ingest ' "$unit" || fail "no ingest ExecStart in $unit"
# the ExecStart with its continuation lines
sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | grep -q -- '--state' && fail "$unit passes --state to ingest"
# and without it ingest runs
echo '{"user_id":"u1","event_type":"click"}' | "$BIN/ingest" > "$T/out" 2> "$T/err"
expect_eq "ingest without --state" "$?" 0
finish
