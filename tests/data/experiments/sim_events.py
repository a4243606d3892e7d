#!/usr/bin/env python3
"""Simulated experiment traffic for experiment-analyzer tests and benchmarks,
as Event JSON lines (the schema's field names, for `fbcat --encode Event`).

    sim_events.py --experiments E --users U [--seed S] [--p 0.1] [--lift 0]
                  [--revenue-lift 0] [--no-variant] [--config FILE]

Each experiment gets U users, each with one exposure event and, with
probability p (times 1+lift in the treatment), a purchase whose value is
exponential with mean 20 (times 1+revenue-lift in the treatment), plus a
view that no metric uses. Users are interleaved across experiments in time.
--no-variant leaves the variant out so that the analyzer assigns it by hash
(only meaningful with lift 0: the A/A case). --config writes a matching
experiments YAML. Deterministic for a given seed. Standard library only."""
import argparse
import random
import sys

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--experiments", type=int, default=1)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--p", type=float, default=0.1)
    ap.add_argument("--lift", type=float, default=0.0)
    ap.add_argument("--revenue-lift", type=float, default=0.0)
    ap.add_argument("--no-variant", action="store_true")
    ap.add_argument("--config")
    ap.add_argument("--min-sample-size", type=int, default=100)
    ap.add_argument("--sequential", default="msprt")
    ap.add_argument("--alloc", default="0.5,0.5", help="allocations; arms control, treatment (, t2, ...)")
    a = ap.parse_args()
    r = random.Random(a.seed)
    names = ["exp%03d" % i for i in range(a.experiments)]
    alloc = [float(x) for x in a.alloc.split(",")]
    arms = ["control", "treatment"] + ["t%d" % i for i in range(2, len(alloc))]
    if a.config:
        with open(a.config, "w") as f:
            f.write("experiments:\n")
            for n in names:
                f.write(f"""  - name: {n}
    control: control
    variants:
{"".join("      - {name: %s, allocation: %r}%s" % (arm, al, chr(10)) for arm, al in zip(arms, alloc))}    min_sample_size: {a.min_sample_size}
    sequential: {a.sequential}
    metrics:
      - {{name: converted, type: conversion, event: purchase, primary: true, tau: 0.05}}
      - {{name: revenue, type: numeric, event: purchase, aggregate: sum, tau: 1.0}}
""")
    ts = 1795000000 * 1000000
    out = sys.stdout
    w = out.write
    order = [(u, x) for u in range(a.users) for x in range(a.experiments)]
    for u, x in order:
        ts += r.randint(1, 2000)
        exp = names[x]
        user = "u%d_%d" % (x, u)
        k = r.choices(range(len(arms)), alloc)[0]
        treat = k == 1
        vpart = "" if a.no_variant else ', "variant": "%s"' % arms[k]
        w('{"ts": %d, "user_id": "%s", "type": "exposure", "experiment": "%s"%s}\n' % (ts, user, exp, vpart))
        w('{"ts": %d, "user_id": "%s", "type": "view", "item_id": "i%d"}\n' % (ts + 1, user, r.randint(1, 500)))
        p = a.p * ((1 + a.lift) if treat and not a.no_variant else 1)
        if r.random() < p:
            value = r.expovariate(1 / 20.0) * ((1 + a.revenue_lift) if treat and not a.no_variant else 1)
            w('{"ts": %d, "user_id": "%s", "type": "purchase", "value": %.2f}\n'
              % (ts + r.randint(1, 3000000), user, value))

main()
