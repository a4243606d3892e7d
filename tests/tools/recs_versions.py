"""Two versions of a recommendation list per user, for the cache-writer
Kafka tests (502, 506): `gen N` prints them as JSON lines (the newer right
after the older); `check PORT N` exits 1 unless every rec:uK in the Redis at
PORT holds version v1 (none missing, none stale)."""
import json, sys

def gen(n):
    for u in range(n):
        for v in range(2):
            print(json.dumps({"user_id": "u%d" % u, "ts": 1795000000000000 + u * 10 + v,
                              "items": [{"item_id": "b%d" % (u % 977), "score": 0.5 + v}],
                              "algorithm": "pop", "model_version": "v%d" % v}))

def check(port, n):
    import resp
    r = resp.Redis(port)
    users = ["u%d" % u for u in range(n)]
    vals = r.pipeline([("GET", "rec:" + u) for u in users])
    missing = [u for u, v in zip(users, vals) if v is None]
    stale = [u for u, v in zip(users, vals) if v is not None and json.loads(v)["model_version"] != "v1"]
    print("missing", len(missing), missing[:5], "stale", len(stale), stale[:5])
    return 0 if not missing and not stale else 1

if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(int(sys.argv[2]))
    else:
        sys.exit(check(int(sys.argv[2]), int(sys.argv[3])))
