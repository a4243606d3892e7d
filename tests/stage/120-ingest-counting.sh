#!/usr/bin/env bash
# 120-ingest-counting — nothing is lost: on gen-events --bad-fraction 0.05,
# good lines out + dead-lettered lines = lines in, exactly. Independently
# (python, from the same generator run without corruption): the corrupted
# lines are exactly the dead-lettered ones (by line number), and the records
# out are what the clean lines imply (interaction 1, sample 1, model one per
# metric, request 2).
source "$(dirname "$0")/../lib.sh"
N=20000
args=(--count $N --kind mixed --seed 5 --users 3000)
"$GEN_EVENTS" "${args[@]}" --bad-fraction 0.05 > "$T/bad.jsonl"
"$GEN_EVENTS" "${args[@]}" > "$T/clean.jsonl"

"$BIN/ingest" --in "$T/bad.jsonl" --out "$T/out.rec" --dead-letter "$T/dl.jsonl" 2>"$T/err"
expect_eq "exit status" "$?" 0
lines=$(wc -l < "$T/bad.jsonl")
ok=$(jq -r 'select(.msg=="done") | .ok' "$T/err")
dead=$(wc -l < "$T/dl.jsonl")
dups=$(jq -r 'select(.msg=="done") | .duplicates' "$T/err")
expect_eq "lines in" "$lines" "$N"
expect_eq "good out + dead-lettered = lines in" "$((ok + dead))" "$lines"
expect_eq "duplicates" "$dups" 0

jq -r .line "$T/dl.jsonl" > "$T/dl.lines"
"$BIN/fbcat" --count < "$T/out.rec" > "$T/count.txt"
python3 - "$T/bad.jsonl" "$T/clean.jsonl" "$T/dl.lines" "$T/count.txt" <<'PY' || fail "independent count differs"
import json, sys
bad = open(sys.argv[1], 'rb').read().split(b'\n')[:-1]
clean = open(sys.argv[2], 'rb').read().split(b'\n')[:-1]
dl = [int(x) for x in open(sys.argv[3])]
counts = dict(l.split() for l in open(sys.argv[4]))
assert len(bad) == len(clean)
changed = [i + 1 for i, (a, b) in enumerate(zip(bad, clean)) if a != b]
ev = sm = 0
for a, b in zip(bad, clean):
    if a != b: continue
    d = json.loads(b)
    if 'user_id' in d: ev += 1
    elif 'metric_name' in d: sm += 1
    elif 'model_id' in d: sm += len(d['metrics'])
    else: sm += 2
ok = True
if changed != dl:
    print("corrupted lines %d, dead-lettered %d; first differences: %s" % (len(changed), len(dl),
          sorted(set(changed) ^ set(dl))[:10])); ok = False
if int(counts.get('Event', 0)) != ev or int(counts.get('Sample', 0)) != sm:
    print("records: got %s, expected Event %d Sample %d" % (counts, ev, sm)); ok = False
print("corrupted %d, events %d, samples %d" % (len(changed), ev, sm))
sys.exit(0 if ok else 1)
PY
finish
