#!/usr/bin/env bash
# cache-writer writes to Redis only: it opens no record stream on stdout,
# so the shared flags that shape one (--compress zstd, --format json) leave
# stdout empty, even at the end (a zstd stream would end with a frame). The
# records reach Redis all the same. (--state is a usage error: test 071.)
source "$(dirname "$0")/../lib.sh"
start_redis
printf '{"user_id":"s%d","ts":1795000000000000,"items":[{"item_id":"b1","score":1}],"algorithm":"pop","model_version":"m"}\n' 1 2 3 \
  | "$BIN/fbcat" --encode Recommendation >"$T/in.rec" || die "encode"
"$BIN/cache-writer" --redis "$REDIS_URI" --compress zstd --format json \
  --in "$T/in.rec" >"$T/out" 2>"$T/cw.err"
expect_eq "exit ($(tail -c 300 "$T/cw.err"))" "$?" 0
expect_eq "bytes on stdout" "$(stat -c %s "$T/out")" 0
expect_eq "keys in Redis" "$(redis-cli -p "$REDIS_PORT" dbsize)" 3
finish
