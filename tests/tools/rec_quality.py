"""Recommender quality measured from outside (issue 14's protocol), for
tests/stage/616 and tests/bench/recommender-quality.sh:
`split RATINGS.csv.zst SEED DIR` splits each user's ratings 80/20 by
Python's random.Random(SEED) (not the project's generator, so nothing of the
project chooses the split) into DIR/train.csv (with the header), held.tsv
(user, item) and users.txt; `bench DIR LISTS.jsonl SEED LABEL` prints
NDCG@10, P@10, HR@10 with the README's definitions, popularity's NDCG@10
beside them and the number of recommended items the user had already rated;
`check DIR LISTS.jsonl` prints NDCG@10, popularity's and that number, and
exits 1 unless all 610 users got 10 items, none already rated, and NDCG@10
is at least 0.390 and popularity's + 0.15 (616's thresholds)."""
import json, math, random, subprocess, sys


def split(ratings, seed, t):
    lines = subprocess.run(["zstd", "-dc", ratings], capture_output=True, text=True, check=True).stdout.splitlines()
    by = {}
    for l in lines[1:]:
        by.setdefault(l.split(",", 1)[0], []).append(l)
    rng = random.Random(seed)
    train, held = [lines[0]], []
    for u in sorted(by, key=int):
        rs = by[u]
        h = set(rng.sample(range(len(rs)), round(0.2 * len(rs))))
        for k, l in enumerate(rs):
            (held if k in h else train).append(l)
    open(t + "/train.csv", "w").write("\n".join(train) + "\n")
    open(t + "/held.tsv", "w").write("".join("%s\t%s\n" % tuple(l.split(",")[:2]) for l in held))
    open(t + "/users.txt", "w").write("".join(u + "\n" for u in sorted(by, key=int)))


def metrics(ranked, hs):
    """NDCG@10, P@10, HR@10 of one list against the held-out items"""
    hits = [k for k, i in enumerate(ranked[:10]) if i in hs]
    dcg = sum(1 / math.log2(k + 2) for k in hits)
    return (dcg / sum(1 / math.log2(k + 2) for k in range(min(10, len(hs)))), len(hits) / 10, 1.0 if hits else 0.0)


def score(t, lists):
    """means over users of metrics() for the lists and for popularity, the
    already rated items recommended, the users and the users whose list is
    not 10 long (user, length)"""
    held, train, pop = {}, {}, {}
    for l in open(t + "/held.tsv"):
        u, i = l.split()
        held.setdefault(u, set()).add(i)
    for l in list(open(t + "/train.csv"))[1:]:
        u, i = l.split(",")[:2]
        train.setdefault(u, set()).add(i)
        pop[i] = pop.get(i, 0) + 1
    by_pop = sorted(pop, key=lambda i: (-pop[i], int(i)))
    s, p, seen, n, short = [0.0] * 3, [0.0] * 3, 0, 0, []
    for l in open(lists):
        r = json.loads(l)
        u, ranked = r["user_id"], [x["item_id"] for x in r["items"]]
        if len(ranked) != 10: short.append((u, len(ranked)))
        seen += sum(1 for i in ranked if i in train[u])
        for q, v in enumerate(metrics(ranked, held[u])): s[q] += v
        for q, v in enumerate(metrics([i for i in by_pop if i not in train[u]][:10], held[u])): p[q] += v
        n += 1
    return [v / n for v in s], [v / n for v in p], seen, n, short


def main(argv):
    if argv[1] == "split":
        split(argv[2], int(argv[3]), argv[4])
        return 0
    got, base, seen, n, short = score(argv[2], argv[3])
    if argv[1] == "bench":
        print("  seed %s, %-25s NDCG@10 %.4f  P@10 %.4f  HR@10 %.4f  (popularity %.4f)  rated items recommended: %d" %
              (argv[4], argv[5], got[0], got[1], got[2], base[0], seen))
        return 0
    for u, k in short: print("user %s: %d items" % (u, k))
    print("users %d, NDCG@10 %.4f, popularity %.4f, already rated items recommended %d" % (n, got[0], base[0], seen))
    ok = not short and n == 610 and seen == 0 and got[0] >= 0.390 and got[0] >= base[0] + 0.15
    if not ok: print("want 610 users of 10 items, 0 rated items, NDCG@10 >= 0.390 and >= popularity + 0.15")
    return 0 if ok else 1


sys.exit(main(sys.argv))
