#!/usr/bin/env bash
# aggregate's enum flags come from the flag table (cli.h), not from strcmp
# by hand: --emit and --features name what they accept and suggest the near
# name; "none" goes alone; each --features set gives exactly its metrics
# (user.interactions for user, item.interactions for item, neither for
# none). About 1 s.
. "$(dirname "$0")/../lib.sh"
AGG=$BIN/aggregate
usage() {   # usage NAME EXPECTED-STDERR-LINE ARGS...
  local name=$1 want=$2; shift 2
  "$AGG" "$@" < /dev/null > /dev/null 2> "$T/err"
  expect_eq "$name: exit" "$?" 2
  expect_eq "$name: message" "$(head -1 "$T/err")" "$want"
}
usage "--emit partial" "aggregate: --emit: 'partial' is not metrics or partials (did you mean partials?)" \
  --emit partial
usage "--emit bogus" "aggregate: --emit: 'bogus' is not metrics or partials" --emit bogus
usage "--features users" "aggregate: --features: 'users' is not user, item or none (did you mean user?)" \
  --features users
usage "--features none,user" "aggregate: --features: none goes alone, not with user or item" --features none,user
usage "--features ''" "aggregate: --features: give one or more of user, item or none" --features ''

"$GEN_EVENTS" --count 2000 --kind interactions --seed 3 --users 40 --items 20 | "$BIN/ingest" > "$T/in.rec" 2>/dev/null ||
  die "prepare"
prefixes() { "$AGG" --window 60s --features "$1" --format json < "$T/in.rec" 2> /dev/null |
  jq -r '.name | select(endswith(".interactions")) | split(".")[0]' | sort -u | tr '\n' ' '; }
expect_eq "--features user,item" "$(prefixes user,item)" "item user "
expect_eq "--features item,user" "$(prefixes item,user)" "item user "
expect_eq "--features user" "$(prefixes user)" "user "
expect_eq "--features item" "$(prefixes item)" "item "
expect_eq "--features none" "$(prefixes none)" ""
finish
