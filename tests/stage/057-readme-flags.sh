#!/usr/bin/env bash
# 057-readme-flags — each stage README's flag tables agree with the --help
# of the eight binaries and of their subcommands (recommender train and
# eval, alerter ack and silence, experiment-analyzer assign), which their
# flag tables print (libstream/cli.h): every flag a README table names
# exists (with the same short letter), every flag of a command's --help has
# a row, and a row's default column says what that command's --help says.
# A table documents the subcommands its paragraph starts by naming
# ("`alerter silence` stores ..."), else the stage. Reads READMEs and runs
# --help only: a second or two.
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
        if line == "":
            # a blank line ends a section (assign's --help lists -h, --version after one)
            section, cur = None, None
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

def tables(lines):
    """[(owners, [(line number, cells, header)])]: each flag table with the
    commands it documents. A table belongs to the subcommands named as
    `STAGE SUB` in the paragraph or heading just above it when that text
    starts with one ("`alerter silence` stores ..."), else to the stage."""
    out, header, para = [], None, []
    for i, line in enumerate(lines):
        if not line.startswith("|"):
            if header is not None:
                header = None
                para = []
            if line.strip() == "":
                continue
            if line.startswith("#") or not para or lines[i - 1].strip() == "":
                para = []
            para.append(line)
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if header is None:
            header = [c.lower() for c in cells]
            text = " ".join(para).lstrip("# ")
            owners = []
            if re.match(r"[^`]*`%s [a-z]+" % re.escape(s), text) and not re.match(r"[^`]*`%s \[" % re.escape(s), text):
                owners = [m for m in re.findall(r"`%s ([a-z]+)" % re.escape(s), text) if m in subs]
            out.append((owners or [""], []))
            continue
        if header[0] != "flag" or set(line) <= set("|- :"):
            continue
        out[-1][1].append((i + 1, cells, header))
    return [t for t in out if t[1]]

for s in stages:
    subs = {os.path.basename(p)[len(s) + 5:-5]: p for p in glob.glob(os.path.join(tmp, s + ".sub.*.help"))}
    helps = {"": parse_help(os.path.join(tmp, s + ".help"))}
    for c, p in subs.items():
        helps[c] = parse_help(p)
    own = {o: {k for k, v in h.items() if v[2] == "flags"} for o, h in helps.items()}
    readme = os.path.join(root, "stages", s, "README.md")
    lines = open(readme, encoding="utf-8").read().split("\n")
    named = {o: set() for o in helps}
    tabs = tables(lines)
    for owners, rows in tabs:
        for ln, cells, header in rows:
            where = "stages/%s/README.md:%d" % (s, ln)
            first = " ".join(re.findall(r"`([^`]*)`", cells[0]))
            longs = re.findall(r"(?:^|[ ,])--([a-z0-9-]+)", first)
            for n in longs:
                # the help that documents it: the table's commands; a stage's
                # table may also describe a subcommand's flag ("`assign`: ...")
                cands = [o for o in owners if n in helps[o]]
                if not cands and owners == [""]:
                    cands = sorted(o for o in subs if n in helps[o])
                if not cands:
                    complain("%s: --%s is not in '%s --help'" % (where, n, " ".join([s] + [o for o in owners if o]) ))
                    continue
                for o in owners + cands:
                    if n in helps[o]: named[o].add(n)
                h = helps[cands[0]][n]
                for m in re.finditer(r"(?:^|[ ,])-(\w), --([a-z0-9-]+)", first):
                    if m.group(2) == n and h[0] != m.group(1):
                        complain("%s: -%s, --%s: --help says %s" % (where, m.group(1), n,
                                 "-" + h[0] if h[0] else "no short flag"))
                if "default" in header and len(longs) == 1:
                    rd = norm(cells[header.index("default")])
                    if h[1] is not None and rd != h[1]:
                        complain("%s: --%s: default '%s', --help says '%s'" % (where, n, rd, h[1]))
    if not tabs:
        complain("stages/%s/README.md: no flag table (a table whose first column is 'flag')" % s)
    for o in sorted(helps):
        cmd = " ".join(x for x in (s, o) if x)
        for n in sorted(own[o] - named[o]):
            complain("stages/%s/README.md: --%s (in '%s --help') has no row in a flag table%s" %
                     (s, n, cmd, " of `%s`" % cmd if o else ""))
sys.exit(1 if bad else 0)
PY
finish
