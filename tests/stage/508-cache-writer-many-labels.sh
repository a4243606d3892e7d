#!/usr/bin/env bash
# cache-writer: a Metric's Redis key holds every label, however many (the
# size rule, schemas/SIZES.md: up to 4,160). The key once kept the first 64
# labels only, so two series differing in a later label wrote one hash, the
# second over the first, without a word.
source "$(dirname "$0")/../lib.sh"
start_redis
python3 -c 'import json
for last in ("a", "b"):
    labels = [{"key": "k%04d" % i, "value": "v"} for i in range(4159)] + [{"key": "z", "value": last}]
    print(json.dumps({"name": "cpu", "window_start": 0, "window_end": 60000000, "count": 1, "value": 1 if last == "a" else 2,
                      "labels": labels}))' | "$BIN/fbcat" --encode Metric > "$T/m.rec" || die "fbcat --encode"
check "cache-writer" "$BIN/cache-writer" --redis "$REDIS_URI" --in "$T/m.rec" --dead-letter "$T/dl"
[ -s "$T/dl" ] && fail "cache-writer refused: $(head -c 300 "$T/dl")"
expect_eq "metric hashes (one per series)" "$(redis-cli -p "$REDIS_PORT" --scan --pattern 'metric:cpu:*' | wc -l)" 2
for last in a b; do
  key=$(redis-cli -p "$REDIS_PORT" --scan --pattern "metric:cpu:*,z=$last")
  expect_eq "the key of z=$last holds every label" "$(printf '%s\n' "${key#metric:cpu:}" | awk -F, '{ print NF }')" 4160
done
finish
