#!/usr/bin/env python3
"""tests/bench/guard.py — the regression guard of `make bench`.

  guard.py extract BENCH < OUTPUT        the ratios in one bench's output, as TSV
  guard.py compare BASELINE RUN.tsv      the ratios that fell by more than the noise
  guard.py save BASELINE RUN.tsv         BASELINE updated with this run's rows

Every bench prints its comparisons as ratio lines (lib.sh's `ratio`, and the
CPU-time variants some benches define). Those lines are the figures that
matter, because the machines are shared and absolute times move with load; so
the guard keys each ratio by bench and by the line's text with the number
taken out, and compares it with the same key in tests/bench/baseline.tsv.
Whether higher or lower is better comes from the line's own wording.
"""
import re
import sys

# (pattern, which way is better). Group "v" is the figure; the rest of the
# line, with the figure replaced by "X", is the key.
PATTERNS = [
    # lib.sh ratio A B: "ratio: A is 2.10x the speed of B"
    (re.compile(r"ratio: .* is (?P<v>[0-9.]+)x the speed of "), "higher"),
    # ingest.sh cratio: "cpu ratio: B uses 3.2x the CPU time of A"
    (re.compile(r"cpu ratio: .* uses (?P<v>[0-9.]+)x the CPU time of "), "higher"),
    # drift.sh cratio: "ratio: A takes 0.04x the CPU of B"
    (re.compile(r"ratio: .* takes (?P<v>[0-9.]+)x the CPU of "), "lower"),
    # cache-writer.sh: "... CPU per record, fresh: cache-writer 1.2 us, SET 1.0 us (ratio 0.83)"
    (re.compile(r"^(?P<k>.*CPU per record, [^:]+):.*\(ratio (?P<v>[0-9.]+)\)"), "higher"),
]


def extract(bench, lines):
    rows = []
    for line in lines:
        line = line.strip()
        for pat, better in PATTERNS:
            m = pat.search(line)
            if not m:
                continue
            value = float(m.group("v"))
            if "k" in m.groupdict() and m.group("k"):
                key = m.group("k")
            else:
                key = line[:m.start("v")] + "X" + line[m.end("v"):]
            rows.append((bench, key, value, better))
            break
    return rows


def read_tsv(path):
    rows = {}
    try:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 4:
                    sys.exit("%s:%d: expected 4 tab-separated fields (bench, ratio, value, better), got %d"
                             % (path, n, len(parts)))
                bench, key, value, better = parts
                rows[(bench, key)] = (float(value), better)
    except FileNotFoundError:
        pass
    return rows


def compare(baseline_path, run_path, noise):
    base = read_tsv(baseline_path)
    run = read_tsv(run_path)
    fell, held, new = [], 0, []
    for (bench, key), (value, better) in run.items():
        if (bench, key) not in base:
            new.append((bench, key, value))
            continue
        was = base[(bench, key)][0]
        if was <= 0 or value <= 0:
            continue
        # change > 0 means worse, as a fraction of the baseline figure
        change = (was - value) / was if better == "higher" else (value - was) / was
        if change > noise:
            fell.append((change, bench, key, value, was))
        else:
            held += 1
    fell.sort(reverse=True)
    for change, bench, key, value, was in fell:
        print("  WORSE by %3.0f%%  %s: %s   now %.2f, baseline %.2f   (tests/bench/run %s)"
              % (change * 100, bench, key, value, was, bench))
    for bench, key, value in new:
        print("  new (no baseline)  %s: %s = %.2f" % (bench, key, value))
    print("  %d ratios within %.0f%% of the baseline or better, %d worse, %d new"
          % (held, noise * 100, len(fell), len(new)))
    return len(fell)


def save(baseline_path, run_path):
    base = read_tsv(baseline_path)
    base.update(read_tsv(run_path))
    with open(run_path) as f:
        conditions = [line for line in f if line.startswith("# run:")]
    with open(baseline_path, "w") as f:
        f.write("# bench\tratio (X is the figure)\tvalue\tbetter\n")
        f.write("# written by `tests/bench/run --save` (meant for a quiet machine); "
                "`make bench` compares every run with it\n")
        f.writelines(conditions)
        for (bench, key), (value, better) in sorted(base.items()):
            f.write("%s\t%s\t%.2f\t%s\n" % (bench, key, value, better))


def main(argv):
    if len(argv) == 3 and argv[1] == "extract":
        for bench, key, value, better in extract(argv[2], sys.stdin):
            print("%s\t%s\t%.2f\t%s" % (bench, key, value, better))
        return 0
    if len(argv) == 4 and argv[1] == "compare":
        noise = float(__import__("os").environ.get("BENCH_NOISE", "0.25"))
        compare(argv[2], argv[3], noise)
        return 0
    if len(argv) == 4 and argv[1] == "save":
        save(argv[2], argv[3])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
