#!/usr/bin/env bash
# 631-recommender-train-stop — SIGTERM (systemctl stop of the training
# timer's job) while `recommender train` is still reading its input must not
# replace the model with one trained on what was read so far: no model is
# written, the old file stays byte for byte, exit 1 with a message; no temp
# file or journal is left. Before, the stop ended the input quietly, a model
# of 2,000 of 100,836 MovieLens ratings replaced the good one and the run
# exited 0.
# A run killed -9 while saving leaves model.db.tmp.PID and its -journal
# (reproduced by hand: nothing of the dead process can remove them); the
# next training removes those of processes that are gone, and leaves a
# live one's (another training saving now) alone. Before, they stayed.
source "$(dirname "$0")/../lib.sh"
"$BIN/ingest" --in-format csv --map user_id=userId,item_id=movieId,value=rating,ts=timestamp --event-type rating \
  --in "$DATA/movielens-latest-small/ratings.csv.zst" > "$T/ratings.rec" 2>/dev/null || die "ingest"
"$BIN/recommender" train --algorithm pop --in "$T/ratings.rec" --model "$T/model.db" 2>"$T/train.err" \
  || die "train: $(tail -1 "$T/train.err")"
good=$(md5sum < "$T/model.db")
# the first 2,000 records, then the input stays open (a slow producer) until the stop
python3 - "$T/ratings.rec" "$T/part.rec" <<'PY'
import struct, sys
b, o = open(sys.argv[1], "rb").read(), 0
for _ in range(2000):
    o += 4 + struct.unpack("<I", b[o:o + 4])[0]
open(sys.argv[2], "wb").write(b[:o])
PY
mkfifo "$T/in.fifo"
"$BIN/recommender" train --algorithm pop --in "$T/in.fifo" --model "$T/model.db" 2>"$T/stop.err" &
P=$!
exec 3>"$T/in.fifo"
cat "$T/part.rec" >&3
size=$(stat -c %s "$T/part.rec")
# stopped once it has read the 2,000 records (what a stop mid-read looks like)
wait_until 60 "[ \"\$(sed -n 's/^rchar: //p' /proc/$P/io 2>/dev/null || echo 0)\" -ge $size ]" || fail "train did not read its input"
kill -TERM "$P"
wait "$P"
rc=$?
exec 3>&-
expect_eq "stopped mid-read: exit status" "$rc" 1
expect_eq "the model is the old one, byte for byte" "$(md5sum < "$T/model.db")" "$good"
grep -q '"level":"error".*stopped before the end of the input (2000 interactions read): no model written' "$T/stop.err" \
  || fail "the stop is not reported: $(tail -2 "$T/stop.err")"
expect_eq "no temp file or journal left" "$(ls "$T" | grep -c 'model\.db\.')" 0

# what a kill -9 while saving leaves: a dead process's temp file and journal, and a live one's
sh -c 'exit 0' & dead=$!
wait "$dead"
sleep 30 & live=$!
at_exit "kill $live"
for f in "model.db.tmp.$dead" "model.db.tmp.$dead-journal" "model.db.tmp.$live" "model.db.tmp.$live-journal" "other.db.tmp.$dead"; do
  echo partial > "$T/$f"
done
"$BIN/recommender" train --algorithm pop --in "$T/ratings.rec" --model "$T/model.db" 2>"$T/again.err" \
  || fail "train after a kill: $(tail -1 "$T/again.err")"
expect_eq "a dead training's temp files removed, a live one's and another model's kept" \
  "$(cd "$T" && ls | grep '\.db\.tmp\.' | sed "s/$dead/DEAD/; s/$live/LIVE/" | sort | tr '\n' ' ')" \
  "model.db.tmp.LIVE model.db.tmp.LIVE-journal other.db.tmp.DEAD "
expect_eq "the removals logged" "$(grep -c 'left by a training that was killed' "$T/again.err")" 2
finish
