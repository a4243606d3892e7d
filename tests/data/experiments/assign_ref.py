#!/usr/bin/env python3
"""The assignment hash of experiment-analyzer, re-implemented from its
specification (stages/experiment-analyzer/assign.h, README) so that tests can
check the C code against it, and apps can copy it:

    bucket = mix64(fnv1a64(KEY + ":" + user_id)) % 10000

Usage: assign_ref.py KEY ALLOC1,ALLOC2,... < user_ids   -> variant index per line
       assign_ref.py --bucket KEY USER                  -> bucket"""
import sys

M = (1 << 64) - 1

def fnv1a64(data: bytes) -> int:
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & M
    return h

def mix64(x: int) -> int:
    x ^= x >> 30; x = (x * 0xbf58476d1ce4e5b9) & M
    x ^= x >> 27; x = (x * 0x94d049bb133111eb) & M
    x ^= x >> 31
    return x

def bucket(key: str, user: str) -> int:
    return mix64(fnv1a64(f"{key}:{user}".encode())) % 10000

def bounds(allocs):
    out, cum = [], 0.0
    for a in allocs:
        cum += a
        out.append(min(10000, int(cum * 10000 + 0.5)))
    out[-1] = 10000
    return out

if __name__ == "__main__":
    if sys.argv[1] == "--bucket":
        print(bucket(sys.argv[2], sys.argv[3]))
        sys.exit(0)
    key, b = sys.argv[1], bounds([float(a) for a in sys.argv[2].split(",")])
    out = []
    for line in sys.stdin:
        u = line.rstrip("\r\n")
        k = bucket(key, u)
        out.append(str(next(i for i, x in enumerate(b) if k < x)))
    print("\n".join(out))
