#!/usr/bin/env bash
# 807-alerter-state-silence — `alerter silence` stores a silence in the state
# database (matchers + event-time range); the alerter holds back matching
# alerts while it is active and notifies them when it ends; other alerts
# are not affected. Usage errors exit 2.
. "$(dirname "$0")/../lib.sh"

cat > "$T/rules.yaml" <<'Y'
rules:
  - { name: cpu, metric: cpu, condition: gt, threshold: 90 }
Y
python3 - > "$T/in.json" <<'PY'
import json
for m, v in enumerate([95, 95, 95, 95, 95, 95, 50], start=1):
    for h in ("a", "b"):
        print(json.dumps({"name": "cpu", "labels": [{"key": "host", "value": h}], "window_end": m * 60_000_000, "value": v}))
PY
"$BIN/fbcat" --encode Metric < "$T/in.json" > "$T/in.rec" || die "encode"
S=(--state "$T/st.db")
"$BIN/alerter" silence "${S[@]}" --label host=a --starts 1970-01-01T00:00:00Z --ends 1970-01-01T00:05:00Z \
  --comment "maintenance of a" 2>"$T/s.err" || fail "silence: $(cat "$T/s.err")"
grep -q '"msg":"silence added","id":1' "$T/s.err" || fail "silence: $(cat "$T/s.err")"
for bad in "--label host=a --starts 1970-01-01T00:05:00Z --ends 1970-01-01T00:01:00Z" \
           "--starts 1970-01-01T00:00:00Z --ends 1970-01-01T00:01:00Z" \
           "--label host --starts 1970-01-01T00:00:00Z --ends 1970-01-01T00:01:00Z" \
           "--label host=a --starts yesterday --ends 1970-01-01T00:01:00Z"; do
  # shellcheck disable=SC2086
  "$BIN/alerter" silence "${S[@]}" $bad 2>/dev/null; rc=$?
  expect_eq "silence $bad" "$rc" 2
done
"$BIN/alerter" silence --label host=a --starts 1970-01-01T00:00:00Z --ends 1970-01-01T00:01:00Z 2>/dev/null
expect_eq "silence without --state" "$?" 2

check "alerter" "$BIN/alerter" --rules "$T/rules.yaml" "${S[@]}" --in "$T/in.rec" --format json > "$T/out.json" 2>"$T/err"
# b: fires at 1; a: fires at 1 too (starts_at 1) but is held back until the
# silence ends at 5, then notified; both resolve at 7
expect_eq "alerts in order" "$(python3 -c 'import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l); print(a["labels"]["host"], a.get("status", "firing"), a["starts_at"] // 60000000, a.get("ends_at", 0) // 60000000)' "$T/out.json" | tr '\n' ';')" \
  "b firing 1 0;a firing 1 0;a resolved 1 7;b resolved 1 7;"
grep -q '"silenced":1,' "$T/err" || fail "silenced count: $(grep done "$T/err")"
finish
