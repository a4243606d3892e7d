#!/usr/bin/env bash
# 808-alerter-webhook-secret — a webhook URL that holds a token is kept out
# of the rules file, the logs, the dead letters and the payloads (issue 12,
# item 3): `webhook:@FILE` reads the URL from FILE and `webhook:@NAME` from
# the systemd credential NAME ($CREDENTIALS_DIRECTORY/NAME). The POST goes to
# the URL in the file; everything else names the channel as written. A
# missing file is refused at start (exit 2, rules FILE:LINE).
. "$(dirname "$0")/../lib.sh"
TOKEN=tok-93b1f0e2-SECRET
PORT=$(free_port)
python3 - "$PORT" "$T" > "$T/server.log" 2>&1 <<'PY' &
import http.server, sys
port, T = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(T + "/posts.log", "ab") as f:
            f.write(self.path.encode() + b" " + body + b"\n")
        self.send_response(500 if "dead" in self.path else 200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
spid=$!
at_exit "kill $spid"
wait_until 10 "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $PORT))' 2>/dev/null" || die "test server did not start"

umask 077
printf 'http://127.0.0.1:%s/hook/%s\n' "$PORT" "$TOKEN" > "$T/hook-url"
mkdir -p "$T/creds"; printf 'http://127.0.0.1:%s/dead/%s' "$PORT" "$TOKEN" > "$T/creds/dead-hook"
cat > "$T/rules.yaml" <<Y
rules:
  - { name: cpu, metric: cpu, condition: gt, threshold: 90, channels: ["webhook:@$T/hook-url"] }
  - { name: mem, metric: mem, condition: gt, threshold: 90, channels: ["webhook:@dead-hook", out] }
Y
printf '{"name":"%s","labels":[],"window_start":0,"window_end":60000000,"value":95}\n' cpu mem |
  "$BIN/fbcat" --encode Metric > "$T/in.rec" || die "encode"
CREDENTIALS_DIRECTORY=$T/creds "$BIN/alerter" --rules "$T/rules.yaml" --in "$T/in.rec" --format json \
  --notify-retries 0 --dead-letter "$T/dead.jsonl" > "$T/out.json" 2>"$T/err"
rc=$?; expect_eq "alerter exit ($(tail -c 300 "$T/err"))" "$rc" 0
grep -q "^/hook/$TOKEN .*\"rule\":\"cpu\"" "$T/posts.log" || fail "cpu was not POSTed to the URL in the file: $(cat "$T/posts.log")"
grep -q "^/dead/$TOKEN " "$T/posts.log" || fail "mem was not POSTed to the URL in the credential"
grep -q '"channel":"webhook:@dead-hook"' "$T/err" || fail "the failure does not name the channel as written"
[ -s "$T/dead.jsonl" ] || fail "the failed payload was not dead-lettered"
for f in err out.json dead.jsonl; do
  if grep -qF "$TOKEN" "$T/$f"; then fail "the token is in $f"; fi
done
if sed 's|^[^ ]* ||' "$T/posts.log" | grep -qF "$TOKEN"; then fail "the token is in a payload"; fi

# refused at start: the file is missing, or holds no URL
sed -i "s|@$T/hook-url|@$T/missing|" "$T/rules.yaml"
CREDENTIALS_DIRECTORY=$T/creds "$BIN/alerter" --rules "$T/rules.yaml" --in "$T/in.rec" >/dev/null 2>"$T/err2"
expect_eq "missing URL file: exit" $? 2
grep -q "rules.yaml:2:.*$T/missing: No such file" "$T/err2" || fail "missing URL file not named: $(cat "$T/err2")"
"$BIN/alerter" --rules "$T/rules.yaml" --in "$T/in.rec" >/dev/null 2>"$T/err3"
expect_eq "credential without \$CREDENTIALS_DIRECTORY: exit" $? 2
finish
