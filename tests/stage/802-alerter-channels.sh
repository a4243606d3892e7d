#!/usr/bin/env bash
# 802-alerter-channels — exec: gets the alert JSON on stdin (a script that
# appends it to a file); webhook: POSTs it to a python3 http.server started
# here: /flaky answers 500 once then 200 (one retry, delivered), /dead
# always 500, an exec: that exits 3 and one that outlives --exec-timeout
# (killed) fail after every retry: logged,
# counted, dead-lettered, and the stream goes on (the out channel's records
# all come out, exit 0). Payloads are grouped by rule (group_by).
. "$(dirname "$0")/../lib.sh"

PORT=$(free_port)
python3 - "$PORT" "$T" > "$T/server.log" 2>&1 <<'PY' &
import http.server, json, sys
port, T = int(sys.argv[1]), sys.argv[2]
seen = {}
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        n = seen[self.path] = seen.get(self.path, 0) + 1
        with open(T + "/hook" + self.path.replace("/", "_") + ".jsonl", "ab") as f:
            f.write(body + b"\n")
        code = 200
        if self.path == "/dead" or (self.path == "/flaky" and n == 1): code = 500
        if self.headers.get("Content-Type") != "application/json": code = 415
        self.send_response(code); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
spid=$!
at_exit "kill $spid"
wait_until 10 "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $PORT))' 2>/dev/null" || die "test server did not start"

printf '#!/bin/sh\ncat >> "%s/exec.jsonl"; echo >> "%s/exec.jsonl"\n' "$T" "$T" > "$T/hook.sh"
chmod +x "$T/hook.sh"
cat > "$T/rules.yaml" <<Y
group_by: [alertname]
rules:
  - { name: cpu, metric: cpu, condition: gt, threshold: 90, summary: "cpu {{ \$value }} on {{ \$labels.host }}",
      channels: ["exec:$T/hook.sh", "webhook:http://127.0.0.1:$PORT/flaky"] }
  - { name: mem, metric: mem, condition: gt, threshold: 90, channels: ["webhook:http://127.0.0.1:$PORT/dead", out] }
  - { name: disk, metric: disk, condition: gt, threshold: 90, channels: ["exec:exit 3", out] }
  - { name: slow, metric: slow, condition: gt, threshold: 90, channels: ["exec:sleep 30.802"] }
Y
python3 - > "$T/in.json" <<'PY'
import json
for w, v in enumerate([95, 96, 50]):
    for name in ("cpu", "mem", "disk", "slow"):
        print(json.dumps({"name": name, "labels": [{"key": "host", "value": "x"}], "window_start": w * 60_000_000,
                          "window_end": (w + 1) * 60_000_000, "value": v}))
PY
"$BIN/fbcat" --encode Metric < "$T/in.json" > "$T/in.rec" || die "encode"
check "alerter runs through failing channels" "$BIN/alerter" --rules "$T/rules.yaml" --in "$T/in.rec" --format json \
  --notify-retries 2 --retry-backoff 20ms --webhook-timeout 5s --exec-timeout 300ms --dead-letter "$T/dead.jsonl" \
  --metrics-file "$T/m.prom" > "$T/out.json" 2>"$T/err"

# the out channel: mem and disk, firing and resolved; cpu goes only to exec/webhook
expect_eq "records on --out" "$(python3 -c 'import json,sys; print(sorted((json.loads(l)["rule"], json.loads(l).get("status","firing")) for l in open(sys.argv[1])))' "$T/out.json")" \
  "[('disk', 'firing'), ('disk', 'resolved'), ('mem', 'firing'), ('mem', 'resolved')]"

# Payloads go out at each sync point (about once a second of wall time) and
# at the end, so the alerts may come in one payload or two: compare their
# concatenation, and the counters against the payloads actually seen.
python3 - "$T" "$T/m.prom" <<'PY' || fail "exec/webhook payloads"
import json, sys
T = sys.argv[1]
def payloads(f): return [json.loads(l) for l in open(f) if l.strip()]
ex = payloads(T + "/exec.jsonl")
for p in ex:
    assert p["channel"] == "exec:" + T + "/hook.sh" and p["group_labels"] == {"alertname": "cpu"}, p
    assert p["status"] == ("firing" if any(a["status"] == "firing" for a in p["alerts"]) else "resolved"), p
al = [a for p in ex for a in p["alerts"]]
assert [a["status"] for a in al] == ["firing", "resolved"], al
fp = al[0]["fingerprint"]
assert all(a["fingerprint"] == fp and len(fp) == 16 for a in al)
assert al[0] == {"fingerprint": fp, "rule": "cpu", "status": "firing", "severity": "warning", "summary": "cpu 95 on x",
                 "labels": {"host": "x", "metric": "cpu"}, "value": 95, "threshold": 90,
                 "starts_at": 60_000_000, "starts_at_iso": "1970-01-01T00:01:00.000Z", "ends_at": 0, "ends_at_iso": None}, al[0]
assert al[1] == dict(al[0], status="resolved", value=96, summary="cpu 96 on x", ends_at=180_000_000,
                     ends_at_iso="1970-01-01T00:03:00.000Z"), al[1]
fl = payloads(T + "/hook_flaky.jsonl")
assert fl[0] == fl[1], "flaky: the first payload is sent again after its 500"
assert [a for p in fl[1:] for a in p["alerts"]] == al, "flaky: delivered alerts differ from exec's"
dead = payloads(T + "/hook_dead.jsonl")
ndead = len({json.dumps(p) for p in dead})
assert len(dead) == 3 * ndead, f"dead: {len(dead)} attempts for {ndead} payloads, want 1 + 2 retries each"
dl = [json.loads(l) for l in open(T + "/dead.jsonl")]
assert {d["reason"] for d in dl} == {"notify_failed"}, dl
n500 = sum("HTTP 500" in d["detail"] and "/dead" in d["detail"] for d in dl)
nexit = sum("exit status 3" in d["detail"] for d in dl)
nslow = sum("exec:sleep 30.802: timed out after 300 ms (killed)" in d["detail"] for d in dl)
assert n500 == ndead and nexit >= 1 and nslow >= 1 and n500 + nexit + nslow == len(dl), dl
assert sorted(a["status"] for d in dl if "/dead" in d["detail"] for a in json.loads(d["raw"])["alerts"]) == ["firing", "resolved"]
m = {l.split("{")[0]: float(l.split()[-1]) for l in open(sys.argv[2]) if l.startswith("streamrec_alerter_payload")}
assert m["streamrec_alerter_payloads_failed_total"] == len(dl), m
assert m["streamrec_alerter_payloads_sent_total"] == len(ex) + len(fl) - 1, m
assert m["streamrec_alerter_payload_retries_total"] == 1 + 2 * len(dl), m
print("payloads ok:", len(ex), "exec,", len(fl), "flaky,", len(dead), "dead attempts,", len(dl), "dead-lettered")
PY
grep -q '"msg":"notification failed for good: dead-lettered"' "$T/err" || fail "failure not logged"
# --max-batch 1: a group is sent as soon as it holds one alert, so each
# payload carries exactly one (4 alerts: two hosts, firing and resolved)
cat > "$T/batch.yaml" <<Y
rules:
  - { name: cpu, metric: cpu, condition: gt, threshold: 90, channels: ["exec:cat >> $T/batch.jsonl; echo >> $T/batch.jsonl"] }
Y
python3 - > "$T/b.json" <<'PY'
import json
for w, v in enumerate([95, 50]):
    for h in ("x", "y"):
        print(json.dumps({"name": "cpu", "labels": [{"key": "host", "value": h}], "window_end": (w + 1) * 60_000_000, "value": v}))
PY
"$BIN/fbcat" --encode Metric < "$T/b.json" | "$BIN/alerter" --rules "$T/batch.yaml" --max-batch 1 2>"$T/b.err" >/dev/null ||
  fail "alerter --max-batch 1: $(tail -2 "$T/b.err")"
expect_eq "--max-batch 1: one alert per payload" "$(python3 -c 'import json, sys
print(" ".join("%s:%s" % (a["labels"]["host"], a["status"]) for l in open(sys.argv[1]) if l.strip()
               for p in [json.loads(l)] if len(p["alerts"]) == 1 for a in p["alerts"]))' "$T/batch.jsonl")" \
  "x:firing y:firing x:resolved y:resolved"
pgrep -f 'sleep 30[.]802' >/dev/null && fail "a timed-out exec: command's child is still running"
finish
