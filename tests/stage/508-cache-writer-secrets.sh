#!/usr/bin/env bash
# 508-cache-writer-secrets — the Redis password never stays in argv (issue
# 12, item 3): a running cache-writer that authenticates against a real
# redis-server with requirepass does not show the password in
# /proc/PID/cmdline, whether it came from --redis-password-file, from a
# systemd credential ($CREDENTIALS_DIRECTORY/redis-password) or, the unsafe
# way, from the URI (scrubbed from argv, with a warning). A missing or wrong
# password file is refused with its name. An ACL user named in the URI,
# redis://USER@host or redis://USER:@host, authenticates as that user with
# the password from $REDISCLI_AUTH or the file; a user with no password
# anywhere is refused at start (exit 2), never connected as the default user.
source "$(dirname "$0")/../lib.sh"
PW='pw-7f3a9c-S3cret'
REDIS_ARGS="--requirepass $PW" start_redis
R() { REDISCLI_AUTH=$PW redis-cli -p "$REDIS_PORT" --no-auth-warning "$@"; }
printf '{"user_id":"u%d","ts":1795000000000000,"items":[{"item_id":"b1","score":1.5}],"algorithm":"pop","model_version":"m1"}\n' 1 2 3 |
  "$BIN/fbcat" --encode Recommendation >"$T/in.rec" || die "encode"
umask 077
printf '%s\n' "$PW" >"$T/pw"
mkdir -p "$T/creds"; printf '%s' "$PW" >"$T/creds/redis-password"

# run_held NAME ARGS...: cache-writer reading a pipe held open, so it is
# still running while its cmdline is read; then the input ends
run_held() {
  local name=$1; shift
  rm -f "$T/fifo"; mkfifo "$T/fifo"
  "$@" --in - <"$T/fifo" 2>"$T/$name.err" &
  local pid=$!
  exec 7>"$T/fifo"
  cat "$T/in.rec" >&7
  # it has authenticated once the records are in Redis
  wait_until 120 "[ \"\$(R exists rec:u1 rec:u2 rec:u3)\" = 3 ]" || fail "$name: records not written: $(tail -c 300 "$T/$name.err")"
  if tr '\0' ' ' </proc/$pid/cmdline | grep -qF -- "$PW"; then
    fail "$name: the password is in /proc/$pid/cmdline: $(tr '\0' ' ' </proc/$pid/cmdline)"
  fi
  tr '\0' ' ' </proc/$pid/cmdline | grep -q -- "--redis" || fail "$name: cmdline not read"
  # WANT_USER: the connection is that ACL user's (Redis names it in CLIENT LIST)
  if [ -n "${WANT_USER:-}" ] && ! R client list | grep -q " user=$WANT_USER "; then
    fail "$name: no connection as user $WANT_USER: $(R client list)"
  fi
  exec 7>&-
  wait $pid; local rc=$?; expect_eq "$name: exit ($(tail -c 300 "$T/$name.err"))" $rc 0
  R del rec:u1 rec:u2 rec:u3 >/dev/null
}
run_held password-file "$BIN/cache-writer" --redis "$REDIS_URI" --redis-password-file "$T/pw"
run_held credential env CREDENTIALS_DIRECTORY="$T/creds" "$BIN/cache-writer" --redis "$REDIS_URI"
run_held credential-by-name env CREDENTIALS_DIRECTORY="$T/creds" "$BIN/cache-writer" --redis "$REDIS_URI" \
  --redis-password-file redis-password
run_held uri "$BIN/cache-writer" --redis "redis://:$PW@127.0.0.1:$REDIS_PORT"
grep -q 'redis-password-file' "$T/uri.err" || fail "a password in the URI is not warned about"

# refusals name the file (exit 2: configuration), and never print the secret
"$BIN/cache-writer" --redis "$REDIS_URI" --redis-password-file "$T/nope" --in "$T/in.rec" 2>"$T/nope.err"
expect_eq "missing password file: exit" $? 2
grep -q "$T/nope: No such file" "$T/nope.err" || fail "missing password file not named: $(cat "$T/nope.err")"
printf 'wrong\n' >"$T/wrong"
timeout 20 "$BIN/cache-writer" --redis "$REDIS_URI" --redis-password-file "$T/wrong" --in "$T/in.rec" 2>"$T/wrong.err"
expect_eq "wrong password: exit" $? 1
grep -qi "WRONGPASS\|invalid" "$T/wrong.err" || fail "wrong password not reported: $(tail -c 300 "$T/wrong.err")"

# ACL user cw, whose password is not the default user's: AUTH PASSWORD
# alone (or no AUTH) fails, so a run that writes proves AUTH cw PASSWORD
UPW='cw-41b8-Passw0rd'
R acl setuser cw on ">$UPW" '~*' '+@all' >/dev/null
printf '%s\n' "$UPW" >"$T/upw"
WANT_USER=cw run_held user-at env REDISCLI_AUTH="$UPW" "$BIN/cache-writer" --redis "redis://cw@127.0.0.1:$REDIS_PORT"
WANT_USER=cw run_held user-colon-env env REDISCLI_AUTH="$UPW" "$BIN/cache-writer" --redis "redis://cw:@127.0.0.1:$REDIS_PORT"
WANT_USER=cw run_held user-colon-file env -u REDISCLI_AUTH "$BIN/cache-writer" --redis "redis://cw:@127.0.0.1:$REDIS_PORT" \
  --redis-password-file "$T/upw"
# the file wins over $REDISCLI_AUTH, and an empty URI password over neither
WANT_USER=cw run_held user-file-over-env env REDISCLI_AUTH=wrong "$BIN/cache-writer" \
  --redis "redis://cw:@127.0.0.1:$REDIS_PORT" --redis-password-file "$T/upw"
for form in cw@ cw:@; do
  timeout 20 env -u REDISCLI_AUTH -u CREDENTIALS_DIRECTORY "$BIN/cache-writer" \
    --redis "redis://${form}127.0.0.1:$REDIS_PORT" --in "$T/in.rec" 2>"$T/nopw.err"
  rc=$?; expect_eq "$form without a password: exit ($(tail -c 300 "$T/nopw.err"))" $rc 2
  grep -q "user 'cw' has no password.*--redis-password-file.*REDISCLI_AUTH" "$T/nopw.err" ||
    fail "$form without a password: not explained: $(tail -c 300 "$T/nopw.err")"
done
expect_eq "nothing written without a password" "$(R dbsize)" 0

# a user the probe finds short of a command is told every command it needs
R acl setuser nowatch on ">$UPW" '~*' '+@all' '-watch' >/dev/null
timeout 20 "$BIN/cache-writer" --redis "redis://nowatch:@127.0.0.1:$REDIS_PORT" --redis-password-file "$T/upw" \
  --in "$T/in.rec" 2>"$T/nowatch.err"
rc=$?; expect_eq "user without WATCH: exit ($(tail -c 300 "$T/nowatch.err"))" $rc 1
for cmd in PING WATCH MGET MULTI EXEC SET MSET EVAL EVALSHA 'SCRIPT LOAD' PEXPIRE SELECT GETRANGE RENAME RPUSH LRANGE; do
  grep -q "user needs.*[ ,]$cmd[ ,]" "$T/nowatch.err" || fail "user without WATCH: $cmd not among the needed commands: $(grep needs "$T/nowatch.err" | head -c 500)"
done
if grep -qF -- "$PW" "$T"/*.err; then fail "the password appears in a log"; fi
if grep -qF -- "$UPW" "$T"/*.err; then fail "the ACL user's password appears in a log"; fi
finish
