#!/usr/bin/env bash
# 057-readme-flags — each stage README's flag table agrees with the stage's
# --help, which the flag table in main.c prints (libstream/cli.h): every
# flag a README table names exists (with the same short letter), every
# stage flag --help lists has a row, and a row's default column says what
# --help says. Reads READMEs and runs --help only: a second or two.
source "$(dirname "$0")/../lib.sh"
stages=(ingest aggregate drift experiment-analyzer recommender cache-writer alerter fbcat)

for s in "${stages[@]}"; do
  "$BIN/$s" --help >"$T/$s.help" 2>&1 || { fail "$s --help: exit $?"; continue; }
  # subcommands the usage names (recommender train, alerter ack, ...) have flags of their own
  subs=$(sed -n '/^usage:/,/^$/p' "$T/$s.help" | sed 's/^usage://' |
         awk -v s="$s" '$1 == s && $2 ~ /^[a-z]+$/ { print $2 }' | sort -u)
  for c in $subs; do
    "$BIN/$s" "$c" --help >"$T/$s.sub.$c.help" 2>&1 || fail "$s $c --help: exit $?"
  done
done

python3 - "$ROOT" "$T" "${stages[@]}" <<'PY' || fail "README flag tables disagree with --help (above)"
import glob, os, re, sys
root, tmp, stages = sys.argv[1], sys.argv[2], sys.argv[3:]
bad = 0

def complain(msg):
    global bad
    bad += 1
    print("  " + msg, file=sys.stderr)

def parse_help(path):
    """{name: (short or '', default or None, section)} from a --help text."""
    flags, section, cur = {}, None, None
    for line in open(path, encoding="utf-8").read().split("\n"):
        if line.endswith(":") and not line.startswith(" "):
            section, cur = line[:-1], None
            continue
        m = re.match(r"^  (?:-(\w), )?--([a-z0-9-]+)\b", line) or re.match(r"^      --([a-z0-9-]+)\b", line)
        if m and section in ("flags", "shared flags (every stage)"):
            short, name = (m.group(1) or "", m.group(2)) if m.lastindex == 2 else ("", m.group(1))
            cur = name
            flags[name] = [short, line[32:].strip() if len(line) > 32 else "", section]
        elif cur and line.startswith(" " * 32):
            flags[cur][1] += " " + line.strip()
        else:
            cur = None
    out = {}
    for name, (short, text, section) in flags.items():
        m = re.search(r"default: ([^ ()]*)\)$", text)   # cli prints defaults without spaces
        d = re.sub(r", ", ",", m.group(1)) if m else None
        out[name] = (short, d, section)
    return out

def norm(v):
    """The README's default: its first `code span` if it has one ("`16M` (16 MiB)")."""
    m = re.search(r"`([^`]*)`", v)
    v = (m.group(1) if m else v).strip()
    if re.fullmatch(r"\d{1,3}(,\d{3})+", v):
        v = v.replace(",", "")
    return v

for s in stages:
    helps = {}
    for p in [os.path.join(tmp, s + ".help")] + sorted(glob.glob(os.path.join(tmp, s + ".sub.*.help"))):
        if os.path.exists(p):
            for k, v in parse_help(p).items():
                helps.setdefault(k, v)
    own = {k for k, v in parse_help(os.path.join(tmp, s + ".help")).items() if v[2] == "flags"}
    readme = os.path.join(root, "stages", s, "README.md")
    lines = open(readme, encoding="utf-8").read().split("\n")
    rows, header = [], None
    for i, line in enumerate(lines):
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if header[0] != "flag" or set(line) <= set("|- :"):
            continue
        rows.append((i + 1, cells, header))
    named = set()
    for ln, cells, header in rows:
        where = "stages/%s/README.md:%d" % (s, ln)
        first = " ".join(re.findall(r"`([^`]*)`", cells[0]))
        longs = re.findall(r"(?:^|[ ,])--([a-z0-9-]+)", first)
        for m in re.finditer(r"(?:^|[ ,])-(\w), --([a-z0-9-]+)", first):
            if m.group(2) in helps and helps[m.group(2)][0] != m.group(1):
                complain("%s: -%s, --%s: --help says %s" % (where, m.group(1), m.group(2),
                         "-" + helps[m.group(2)][0] if helps[m.group(2)][0] else "no short flag"))
        for n in longs:
            named.add(n)
            if n not in helps:
                complain("%s: --%s is not in '%s --help'" % (where, n, s))
        if "default" in header and len(longs) == 1 and longs[0] in helps:
            rd = norm(cells[header.index("default")])
            hd = helps[longs[0]][1]
            if hd is not None and rd != hd:
                complain("%s: --%s: default '%s', --help says '%s'" % (where, longs[0], rd, hd))
    if not rows:
        complain("stages/%s/README.md: no flag table (a table whose first column is 'flag')" % s)
    for n in sorted(own - named):
        complain("stages/%s/README.md: --%s (in '%s --help') has no row in a flag table" % (s, n, s))
sys.exit(1 if bad else 0)
PY
finish
