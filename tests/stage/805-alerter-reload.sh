#!/usr/bin/env bash
# 805-alerter-reload — SIGHUP re-reads the rules file: a changed threshold
# applies to the records after it, a firing alert of a rule that is gone is
# dropped, a new rule works; a broken file on SIGHUP keeps the rules in use.
. "$(dirname "$0")/../lib.sh"

rec() { # name minute value
  printf '{"name":"%s","labels":[{"key":"host","value":"h"}],"window_end":%d,"value":%s}\n' "$1" $(($2 * 60000000)) "$3" \
    | "$BIN/fbcat" --encode Metric
}
cat > "$T/rules.yaml" <<'Y'
rules:
  - { name: cpu, metric: cpu, condition: gt, threshold: 90 }
  - { name: mem, metric: mem, condition: gt, threshold: 90 }
Y
mkfifo "$T/in"
"$BIN/alerter" --rules "$T/rules.yaml" --format json < "$T/in" > "$T/out.json" 2>"$T/err" &
apid=$!
at_exit "kill $apid"
exec 7>"$T/in"
{ rec cpu 1 70; rec mem 1 95; } >&7
wait_until 20 'grep -q "\"rule\":\"mem\"" "$T/out.json"' || fail "mem did not fire before the reload"

printf 'rules:\n  - { name: cpu, metric: cpu, condition: gt, threshold: }}\n' > "$T/rules.yaml"
kill -HUP "$apid"
wait_until 20 'grep -q "keeping the rules in use" "$T/err"' || fail "a broken file on SIGHUP was not refused"

cat > "$T/rules.yaml" <<'Y'
rules:
  - { name: cpu, metric: cpu, condition: gt, threshold: 50 }
  - { name: disk, metric: disk, condition: gt, threshold: 90 }
Y
kill -HUP "$apid"
wait_until 20 'grep -q "\"msg\":\"rules reloaded\",\"rules\":2,\"alerts_dropped\":1" "$T/err"' || fail "no reload: $(tail -2 "$T/err")"
{ rec cpu 2 70; rec mem 2 95; rec disk 2 95; rec mem 3 10; } >&7
exec 7>&-
wait "$apid"; rc=$?
expect_eq "exit" "$rc" 0
expect_eq "alerts" "$(python3 -c 'import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l); print(a["rule"], a.get("status", "firing"), a["starts_at"] // 60000000)' "$T/out.json" | sort | tr '\n' ';')" \
  "cpu firing 2;disk firing 2;mem firing 1;"
finish
