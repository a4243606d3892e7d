#!/usr/bin/env bash
# 051-kafka-secret-files — `-X KEY=@FILE` (or @NAME, a systemd credential)
# takes a librdkafka value from a file, so `-X sasl.password=…` need not put
# the password in argv (issue 12, item 3): the value in the file is used
# (a valid number is accepted where "@FILE" itself would not be), a value
# librdkafka refuses is reported without echoing it, a missing file or
# credential is a usage error (exit 2) that names it.
source "$(dirname "$0")/../lib.sh"
umask 077
printf '{"user_id":"u","event_type":"view","ts":1}\n' >"$T/one.jsonl"
printf '2500\n' >"$T/timeout"
check "-X socket.timeout.ms=@FILE holding 2500 is accepted" \
  "$BIN/ingest" -X "socket.timeout.ms=@$T/timeout" --in "$T/one.jsonl" --out /dev/null
printf 'sEcReT-notanumber\n' >"$T/bad"
"$BIN/ingest" -X "socket.timeout.ms=@$T/bad" --in "$T/one.jsonl" --out /dev/null 2>"$T/bad.err"
expect_eq "refused value: exit" $? 2
grep -q "socket.timeout.ms=@$T/bad" "$T/bad.err" || fail "refusal does not name the file: $(cat "$T/bad.err")"
if grep -q sEcReT "$T/bad.err"; then fail "the refused value is echoed: $(cat "$T/bad.err")"; fi
"$BIN/ingest" -X "sasl.password=@$T/missing" --in "$T/one.jsonl" --out /dev/null 2>"$T/miss.err"
expect_eq "missing file: exit" $? 2
grep -q "$T/missing: No such file" "$T/miss.err" || fail "missing file not named: $(cat "$T/miss.err")"
# a bare name is a systemd credential
mkdir -p "$T/creds"; printf '3000' >"$T/creds/kafka-timeout"
CREDENTIALS_DIRECTORY=$T/creds check "-X KEY=@NAME from \$CREDENTIALS_DIRECTORY" \
  "$BIN/ingest" -X "socket.timeout.ms=@kafka-timeout" --in "$T/one.jsonl" --out /dev/null
"$BIN/ingest" -X "socket.timeout.ms=@kafka-timeout" --in "$T/one.jsonl" --out /dev/null 2>"$T/nocred.err"
expect_eq "credential without \$CREDENTIALS_DIRECTORY: exit" $? 2
finish
