#!/usr/bin/env bash
# 380-experiment-analyzer-report — the HTML report's structure, read back
# with python3's HTML parser: every table row has as many cells as its
# header; every chart has axes with ticks, tick labels and a title (the
# lift charts saying "absolute" and the unit: pp for a rate, s for a
# duration); a legend per metric names the always-valid and the ordinary
# interval; no two text labels of one SVG overlap by their boxes estimated
# from the SVG coordinates; the lift over time has one point per report (by
# event time, left to right) and ends at the last report's lift, read back
# through the axis ticks; the arms and lift charts put each estimate where
# the axis says. With more reports than EA_REPORT_HISTORY (240) the history
# is thinned, never over the bound (plus the current report, always drawn).
. "$(dirname "$0")/../lib.sh"
EA=$BIN/experiment-analyzer

cp "$DATA/experiments.yaml" "$T/exp.yaml"
"$GEN_EVENTS" --count 40000 --kind interactions --users 4000 --seed 8 --experiment rec_algo_v1:0.30 \
  --start 1795000000 | "$BIN/ingest" > "$T/ev.rec" 2>/dev/null || die "events"
check "analyzer with an HTML report" "$EA" --config "$T/exp.yaml" --in "$T/ev.rec" --report-every 2000 \
  --report html --report-file "$T/r.html" --format json > "$T/r.json" 2>"$T/r.err"

cat > "$T/check.py" <<'PY'
import json, re, sys
from html.parser import HTMLParser

class Page(HTMLParser):
    """tables (rows of cell counts), SVGs (texts, ticks, axis titles, shapes), legends, per metric section"""
    def __init__(self):
        super().__init__()
        self.stack, self.sections, self.cur, self.svg, self.text = [], [], None, None, None
        self.g = []
        # the whole page too, whatever its markup: every table, every SVG's texts
        self.tables, self.svgtexts, self.any_svg, self.any_text = [], [], None, None
    def handle_starttag(self, tag, a):
        a = dict(a)
        cls = a.get("class", "").split()
        if tag == "table": self.tables.append([])
        if tag == "tr" and self.tables: self.tables[-1].append(0)
        if tag in ("td", "th") and self.tables: self.tables[-1][-1] += 1
        if tag == "svg" and self.any_svg is None:
            self.any_svg = {"texts": [], "font": float(a.get("font-size", 12))}; self.svgtexts.append(self.any_svg)
        if tag == "text" and self.any_svg is not None:
            self.any_text = {"x": float(a.get("x", 0)), "y": float(a.get("y", 0)), "anchor": a.get("text-anchor", "start"), "s": ""}
        if tag == "section" and "metric" in cls:
            self.cur = {"h3": "", "tables": [], "svgs": [], "legend": "", "in_h3": False, "in_legend": 0}
            self.sections.append(self.cur)
        if self.cur is None: return
        if tag == "h3": self.cur["in_h3"] = True
        if tag == "div" and "legend" in cls: self.cur["in_legend"] = 1
        elif tag == "div" and self.cur["in_legend"]: self.cur["in_legend"] += 1
        if tag == "table": self.cur["tables"].append([])
        if tag == "tr": self.cur["tables"][-1].append(0)
        if tag in ("td", "th"): self.cur["tables"][-1][-1] += 1
        if tag == "svg" and "chart" in cls:
            self.svg = {"kind": cls[1], "texts": [], "ticks": [], "titles": [], "lines": [], "circles": [],
                        "polylines": [], "font": float(a.get("font-size", 12)), "viewBox": a.get("viewbox")}
            self.cur["svgs"].append(self.svg)
            self.g = []
        if self.svg is None: return
        if tag == "g":
            self.g.append(cls)
            if "tick" in cls: self.svg["ticks"].append({"axis": [c for g in self.g for c in g if c in ("x", "y")]})
        if tag == "text":
            self.text = {"x": float(a["x"]), "y": float(a["y"]), "anchor": a.get("text-anchor", "start"),
                         "s": "", "title": "axis-title" in cls, "in_tick": any("tick" in g for g in self.g),
                         "axis": [c for g in self.g for c in g if c in ("x", "y")]}
        if tag == "line": self.svg["lines"].append({k: a.get(k) for k in ("x1", "x2", "y1", "y2", "class")})
        if tag == "circle": self.svg["circles"].append((float(a["cx"]), float(a["cy"])))
        if tag == "polyline": self.svg["polylines"].append([tuple(map(float, p.split(","))) for p in a["points"].split()])
    def handle_endtag(self, tag):
        if tag == "text" and self.any_text is not None: self.any_svg["texts"].append(self.any_text); self.any_text = None
        if tag == "svg": self.any_svg = None
        if self.cur is None: return
        if tag == "h3": self.cur["in_h3"] = False
        if tag == "div" and self.cur["in_legend"]: self.cur["in_legend"] -= 1
        if tag == "g" and self.g: self.g.pop()
        if tag == "text" and self.text is not None:
            self.svg["texts"].append(self.text)
            if self.text["title"]: self.svg["titles"].append(self.text)
            if self.text["in_tick"]: self.svg["ticks"][-1]["label"] = self.text
            self.text = None
        if tag == "svg" and self.svg is not None: self.svg = None
    def handle_data(self, d):
        if self.any_text is not None: self.any_text["s"] += d
        if self.cur is None: return
        if self.cur["in_h3"]: self.cur["h3"] += d
        if self.cur["in_legend"]: self.cur["legend"] += d
        if self.text is not None: self.text["s"] += d

def box(t, fs):
    w = len(t["s"]) * 0.6 * fs
    x0 = t["x"] - (w / 2 if t["anchor"] == "middle" else w if t["anchor"] == "end" else 0)
    return (x0, t["y"] - 0.8 * fs, x0 + w, t["y"] + 0.2 * fs)

def overlap(a, b):
    return min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and min(a[3], b[3]) - max(a[1], b[1]) > 0.5

def axis_value(svg, axis, px):
    """read a pixel position back to a value through the axis' tick labels (a linear fit)"""
    pts = []
    for t in svg["ticks"]:
        if axis not in t["axis"] or "label" not in t: continue
        lab = t["label"]
        try: v = float(lab["s"].replace("−", "-"))
        except ValueError: return None
        pts.append((lab["x"] if axis == "x" else lab["y"] - 4, v))
    (p0, v0), (p1, v1) = pts[0], pts[-1]
    return v0 + (px - p0) * (v1 - v0) / (p1 - p0)

page = Page()
page.feed(open(sys.argv[1]).read())
rows = [json.loads(l) for l in open(sys.argv[2])]
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 0
bad = []
def need(cond, what):
    if not cond: bad.append(what)
# the page as a whole: tables with rows as wide as their header, no SVG
# whose labels overlap
need(page.tables, "no table")
for t in page.tables:
    need(len(set(t)) == 1, "a table with rows of %s cells" % t)
for s in page.svgtexts:
    boxes = [(t, box(t, s["font"])) for t in s["texts"] if t["s"].strip()]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            if overlap(boxes[i][1], boxes[j][1]):
                bad.append("labels overlap: %r at (%g,%g) and %r at (%g,%g)" % (boxes[i][0]["s"],
                           boxes[i][0]["x"], boxes[i][0]["y"], boxes[j][0]["s"], boxes[j][0]["x"], boxes[j][0]["y"]))
need(len(page.sections) == 4, "one section per metric: %d" % len(page.sections))
for sec in page.sections:
    name = sec["h3"].strip()
    mrows = [r for r in rows if r["metric"] == name]
    treat = [r for r in mrows if r["variant"] == "treatment"]
    last = treat[-1]
    unit = {"purchase_rate": "pp", "time_to_click": "s"}.get(name)
    k = 100 if name == "purchase_rate" else 1
    # tables: every row as wide as the header
    for t in sec["tables"]:
        need(len(set(t)) == 1, "%s: rows of %s cells" % (name, t))
    # legend: both intervals named
    lg = sec["legend"]
    need("always-valid interval" in lg and "confidence interval" in lg, "%s: legend: %r" % (name, lg))
    kinds = [s["kind"] for s in sec["svgs"]]
    need(kinds == ["arms", "lift", "history"], "%s: charts %s" % (name, kinds))
    for s in sec["svgs"]:
        where = "%s/%s" % (name, s["kind"])
        need(s["viewBox"] is not None, where + ": no viewBox (does not scale with the page)")
        axes = {a for t in s["ticks"] for a in t["axis"]}
        need(axes == ({"x", "y"} if s["kind"] == "history" else {"x"}), "%s: axes %s" % (where, axes))
        for ax in axes:
            lab = [t for t in s["ticks"] if ax in t["axis"] and t.get("label", {}).get("s")]
            need(len(lab) >= 3, "%s: %s axis has %d labelled ticks" % (where, ax, len(lab)))
        need(len(s["titles"]) == len(axes) and all(t["s"].strip() for t in s["titles"]), "%s: axis titles %s" % (where, s["titles"]))
        if s["kind"] in ("lift", "history"):
            yt = [t["s"] for t in s["titles"] if "lift" in t["s"]]
            need(yt and "absolute" in yt[0], "%s: the lift axis does not say its scale: %s" % (where, yt))
            if unit: need(yt and yt[0].endswith("(%s)" % unit), "%s: the lift axis has no unit %s: %s" % (where, unit, yt))
        if s["kind"] == "arms" and unit == "s":
            need(s["titles"][0]["s"].endswith("(s)"), "%s: no unit: %s" % (where, s["titles"][0]["s"]))
        # every label inside the drawing, no two overlapping
        vw, vh = map(float, s["viewBox"].split()[2:])
        boxes = [(t, box(t, s["font"])) for t in s["texts"] if t["s"].strip()]
        for t, b in boxes:
            need(b[0] >= -0.5 and b[2] <= vw + 0.5 and b[1] >= -0.5 and b[3] <= vh + 0.5,
                 "%s: label %r at (%g,%g) leaves the %gx%g drawing" % (where, t["s"], t["x"], t["y"], vw, vh))
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                if overlap(boxes[i][1], boxes[j][1]):
                    bad.append("%s: labels overlap: %r at (%g,%g) and %r at (%g,%g)" % (where, boxes[i][0]["s"],
                               boxes[i][0]["x"], boxes[i][0]["y"], boxes[j][0]["s"], boxes[j][0]["x"], boxes[j][0]["y"]))
        # estimates where the axis says: the lift chart's treatment dot, the arms' dots
        if s["kind"] == "lift":
            x = s["circles"][-1][0]
            v = axis_value(s, "x", x)
            need(v is not None and abs(v - last.get("lift", 0) * k) < 0.02 * (abs(last.get("lift", 0) * k) + 0.05),
                 "%s: lift dot reads %s, the record says %s" % (where, v, last.get("lift", 0) * k))
        if s["kind"] == "arms":
            for (x, _), r in zip(s["circles"], [m for m in mrows[-2:]]):
                v = axis_value(s, "x", x)
                need(v is not None and abs(v - r["mean"] * k) < 0.01 * abs(r["mean"] * k) + 1e-9,
                     "%s: %s dot reads %s, the record says %s" % (where, r["variant"], v, r["mean"] * k))
        if s["kind"] == "history":
            pl = s["polylines"]
            need(len(pl) == 1, "%s: %d lift lines" % (where, len(pl)))
            pts = pl[0]
            xs = [p[0] for p in pts]
            need(xs == sorted(xs), where + ": points not in event-time order")
            if limit:
                need(limit // 2 <= len(pts) <= limit + 1, "%s: %d points, bound %d + the current report" % (where, len(pts), limit))
            else:
                need(len(pts) == len(treat), "%s: %d points for %d reports" % (where, len(pts), len(treat)))
            v = axis_value(s, "y", pts[-1][1])
            need(v is not None and abs(v - last.get("lift", 0) * k) < 0.02 * (abs(last.get("lift", 0) * k) + 0.05),
                 "%s: last point reads %s, the last report's lift is %s" % (where, v, last.get("lift", 0) * k))
for b in bad[:20]: print(b)
print(len(page.sections), "metrics,", sum(len(s["svgs"]) for s in page.sections), "charts,",
      sum(len(t) for s in page.sections for t in s["tables"]), "table rows checked")
sys.exit(1 if bad else 0)
PY
python3 "$T/check.py" "$T/r.html" "$T/r.json" || fail "report structure"

# the markdown report: every table row as wide as its header
check "analyzer with a markdown report" "$EA" --config "$T/exp.yaml" --in "$T/ev.rec" --report-every 0 \
  --report markdown --report-file "$T/r.md" --format json > /dev/null 2>&1
python3 - "$T/r.md" <<'PY' || fail "markdown report: rows of different widths"
import re, sys
tables, cur = [], None
for line in open(sys.argv[1]):
    if line.startswith("|"):
        cells = len(re.findall(r'(?<!\\)\|', line.rstrip("\n"))) - 1
        if cur is None: cur = []; tables.append(cur)
        cur.append(cells)
    else: cur = None
bad = [t for t in tables if len(set(t)) != 1]
print(len(tables), "markdown tables", bad)
sys.exit(1 if bad or len(tables) != 4 else 0)
PY

# more reports than the history holds: thinned within the bound, ending at the last report
"$GEN_EVENTS" --count 3000 --kind interactions --users 1500 --seed 9 --experiment rec_algo_v1:0.30 \
  --start 1795000000 | "$BIN/ingest" > "$T/ev2.rec" 2>/dev/null || die "events 2"
check "analyzer, a report every 5 events" "$EA" --config "$T/exp.yaml" --in "$T/ev2.rec" --report-every 5 \
  --report html --report-file "$T/r2.html" --format json > "$T/r2.json" 2>/dev/null
n=$(jq -r 'select(.variant=="treatment" and .metric=="revenue") | .ts' "$T/r2.json" | wc -l)
[ "$n" -gt 480 ] || fail "only $n reports: the bound is not reached twice"
python3 "$T/check.py" "$T/r2.html" "$T/r2.json" 240 || fail "report structure past the history bound"
finish
