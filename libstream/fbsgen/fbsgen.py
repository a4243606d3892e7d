#!/usr/bin/env python3
"""fbsgen — generate C record types and descriptors from FlatBuffers schemas.

    fbsgen.py -o OUTDIR schema.fbs...

writes OUTDIR/records.h and OUTDIR/records.c (see libstream/fbrec.h for what
they hold and libstream/fbsgen/fbdesc.h for the descriptor layout).

The schema subset: namespace, include, attribute (ignored), enum with an
explicit integer type, struct of scalars/enums/structs, table of scalars,
enums, strings, tables, and vectors of scalars, enums, structs, tables or
strings; field defaults; root_type and file_identifier (one per file);
// and /* */ comments. Anything else (unions, fixed arrays, field attributes
such as id or deprecated, struct fields in tables) is an error naming
file:line, so a schema never silently means something we do not implement.
Python 3 standard library only.
"""
import argparse
import os
import re
import sys

SCALARS = {
    # name: (FB_ code, C type, size, signed?, float?)
    "bool": ("FB_BOOL", "uint8_t", 1, False, False),
    "byte": ("FB_I8", "int8_t", 1, True, False),
    "ubyte": ("FB_U8", "uint8_t", 1, False, False),
    "short": ("FB_I16", "int16_t", 2, True, False),
    "ushort": ("FB_U16", "uint16_t", 2, False, False),
    "int": ("FB_I32", "int32_t", 4, True, False),
    "uint": ("FB_U32", "uint32_t", 4, False, False),
    "long": ("FB_I64", "int64_t", 8, True, False),
    "ulong": ("FB_U64", "uint64_t", 8, False, False),
    "float": ("FB_F32", "float", 4, True, True),
    "double": ("FB_F64", "double", 8, True, True),
}
ALIASES = {"int8": "byte", "uint8": "ubyte", "int16": "short", "uint16": "ushort",
           "int32": "int", "uint32": "uint", "int64": "long", "uint64": "ulong",
           "float32": "float", "float64": "double"}
C_KEYWORDS = set("""auto break case char const continue default do double else enum
extern float for goto if inline int long register restrict return short signed sizeof
static struct switch typedef union unsigned void volatile while _Bool bool true false
NULL""".split())


class SchemaError(Exception):
    pass


TOKEN_RE = re.compile(r"""
    (?P<ws>\s+) | (?P<lc>//[^\n]*) | (?P<bc>/\*.*?\*/) |
    (?P<str>"(?:[^"\\\n]|\\.)*") |
    (?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)) |
    (?P<id>[A-Za-z_][A-Za-z0-9_.]*) |
    (?P<punct>[{}()\[\]:;,=])
""", re.S | re.X)


def tokenize(path, text):
    toks, pos, line = [], 0, 1
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m:
            raise SchemaError("%s:%d: unexpected character %r" % (path, line, text[pos]))
        kind = m.lastgroup
        val = m.group(kind)
        if kind not in ("ws", "lc", "bc"):
            toks.append((kind, val, line))
        line += val.count("\n")
        pos = m.end()
    toks.append(("eof", "", line))
    return toks


class Enum:
    def __init__(self, name, base, vals, where):
        self.name, self.base, self.vals, self.where = name, base, vals, where


class Field:
    def __init__(self, name, type_, default, line):
        self.name, self.type, self.default, self.line = name, type_, default, line


class Compound:
    def __init__(self, name, is_struct, fields, where, ns):
        self.name, self.is_struct, self.fields, self.where, self.ns = name, is_struct, fields, where, ns
        self.ident = None


class Parser:
    def __init__(self):
        self.types = {}      # short name -> Enum or Compound
        self.order = []      # declaration order
        self.roots = []      # (Compound, ident)
        self.seen_files = set()

    def parse_file(self, path):
        real = os.path.realpath(path)
        if real in self.seen_files:
            return
        self.seen_files.add(real)
        with open(path, encoding="utf-8") as f:
            toks = tokenize(path, f.read())
        self.path, self.toks, self.i = path, toks, 0
        ns = ""
        root = ident = None
        root_line = 0
        while self.peek()[0] != "eof":
            kind, val, line = self.next()
            if val == "include":
                inc = self.expect_str()
                self.expect(";")
                saved = (self.path, self.toks, self.i)
                cand = os.path.join(os.path.dirname(path), inc)
                self.parse_file(cand if os.path.exists(cand) else inc)
                self.path, self.toks, self.i = saved
            elif val == "namespace":
                ns = self.expect_id()
                self.expect(";")
            elif val == "attribute":
                self.next()
                self.expect(";")
            elif val == "enum":
                self.parse_enum(line)
            elif val in ("struct", "table"):
                self.parse_compound(val == "struct", line, ns)
            elif val == "root_type":
                root, root_line = self.expect_id(), line
                self.expect(";")
            elif val == "file_identifier":
                ident = self.expect_str()
                if len(ident.encode()) != 4:
                    self.err(line, "file_identifier must be 4 bytes")
                self.expect(";")
            elif val == "file_extension":
                self.expect_str()
                self.expect(";")
            else:
                self.err(line, "unsupported declaration %r" % val)
        if root:
            t = self.types.get(root)
            if not isinstance(t, Compound) or t.is_struct:
                self.err(root_line, "root_type %s is not a table" % root)
            if not ident:
                self.err(root_line, "root_type %s needs a file_identifier (records are told apart by it)" % root)
            if t.ident and t.ident != ident:
                self.err(root_line, "%s has two identifiers" % root)
            if not t.ident:
                t.ident = ident
                self.roots.append(t)
        elif ident:
            self.err(0, "file_identifier without root_type")

    # -- token helpers
    def peek(self):
        return self.toks[self.i]

    def next(self):
        t = self.toks[self.i]
        self.i += 1
        return t

    def err(self, line, msg):
        raise SchemaError("%s:%d: %s" % (self.path, line, msg))

    def expect(self, p):
        kind, val, line = self.next()
        if val != p or kind not in ("punct",):
            self.err(line, "expected %r, got %r" % (p, val))

    def expect_id(self):
        kind, val, line = self.next()
        if kind != "id":
            self.err(line, "expected a name, got %r" % val)
        return val

    def expect_str(self):
        kind, val, line = self.next()
        if kind != "str":
            self.err(line, "expected a string, got %r" % val)
        return val[1:-1]

    def check_name(self, name, line):
        if "." in name:
            self.err(line, "qualified names are not supported here: %s" % name)
        if name in C_KEYWORDS:
            self.err(line, "%r is a C keyword; choose another name" % name)

    def declare(self, name, obj, line):
        self.check_name(name, line)
        if name in self.types:
            self.err(line, "%s declared twice" % name)
        self.types[name] = obj
        self.order.append(obj)

    def parse_enum(self, line):
        name = self.expect_id()
        self.expect(":")
        base = self.expect_id()
        base = ALIASES.get(base, base)
        if base not in SCALARS or SCALARS[base][4] or base == "bool":
            self.err(line, "enum %s: underlying type must be an integer type" % name)
        if self.peek()[1] == "(":
            self.err(line, "enum %s: attributes (bit_flags) are not supported" % name)
        self.expect("{")
        vals, nextv = [], 0
        while self.peek()[1] != "}":
            vname = self.expect_id()
            vline = self.toks[self.i - 1][2]
            self.check_name(vname, vline)
            if self.peek()[1] == "=":
                self.next()
                kind, v, vl = self.next()
                if kind != "num":
                    self.err(vl, "enum value must be a number")
                nextv = int(v, 0)
            if any(n == vname for n, _ in vals):
                self.err(vline, "enum %s: %s twice" % (name, vname))
            if vals and nextv <= vals[-1][1]:
                self.err(vline, "enum %s: values must ascend" % name)
            size, signed = SCALARS[base][2], SCALARS[base][3]
            lo, hi = (-(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1) if signed else (0, (1 << (8 * size)) - 1)
            if not lo <= nextv <= hi:
                self.err(vline, "enum %s: %s out of range for %s" % (name, vname, base))
            vals.append((vname, nextv))
            nextv += 1
            if self.peek()[1] == ",":
                self.next()
            elif self.peek()[1] != "}":
                self.err(self.peek()[2], "expected ',' or '}'")
        self.next()
        if not vals:
            self.err(line, "enum %s is empty" % name)
        self.declare(name, Enum(name, base, vals, "%s:%d" % (self.path, line)), line)

    def parse_compound(self, is_struct, line, ns):
        name = self.expect_id()
        if self.peek()[1] == "(":
            self.err(line, "%s: attributes are not supported" % name)
        self.expect("{")
        fields = []
        while self.peek()[1] != "}":
            fname = self.expect_id()
            fline = self.toks[self.i - 1][2]
            self.check_name(fname, fline)
            self.expect(":")
            if self.peek()[1] == "[":
                self.next()
                elem = self.expect_id()
                if self.peek()[1] == ":":
                    self.err(fline, "fixed-size arrays are not supported")
                self.expect("]")
                type_ = ("vector", ALIASES.get(elem, elem))
            else:
                t = self.expect_id()
                type_ = ("one", ALIASES.get(t, t))
            default = None
            if self.peek()[1] == "=":
                self.next()
                kind, v, vl = self.next()
                if kind not in ("num", "id"):
                    self.err(vl, "bad default %r" % v)
                default = v
            if self.peek()[1] == "(":
                self.err(fline, "field attributes are not supported (%s.%s)" % (name, fname))
            self.expect(";")
            if any(f.name == fname for f in fields):
                self.err(fline, "%s.%s declared twice" % (name, fname))
            if fname.endswith("_count") and any(f.name + "_count" == fname for f in fields):
                self.err(fline, "%s.%s clashes with a vector's count" % (name, fname))
            fields.append(Field(fname, type_, default, fline))
        self.next()
        if len(fields) > 255:
            self.err(line, "%s: more than 255 fields" % name)
        self.declare(name, Compound(name, is_struct, fields, "%s:%d" % (self.path, line), ns), line)


def c_double(v):
    if v != v:
        return "(0.0/0.0)"
    if v in (float("inf"), float("-inf")):
        return "(%s1.0/0.0)" % ("-" if v < 0 else "")
    return repr(float(v))


class Gen:
    def __init__(self, p):
        self.p = p
        self.check()

    def err(self, c, f, msg):
        raise SchemaError("%s: %s.%s: %s" % (c.where.rsplit(":", 1)[0] + ":" + str(f.line), c.name, f.name, msg))

    def resolve(self, c, f):
        """(kind, target) where kind in scalar/enum/string/struct/table."""
        name = f.type[1]
        if name in SCALARS:
            return "scalar", name
        if name == "string":
            return "string", None
        t = self.p.types.get(name)
        if t is None:
            self.err(c, f, "unknown type %s" % name)
        if isinstance(t, Enum):
            return "enum", t
        return ("struct" if t.is_struct else "table"), t

    def check(self):
        for c in self.p.order:
            if not isinstance(c, Compound):
                continue
            for f in c.fields:
                kind, t = self.resolve(c, f)
                if c.is_struct:
                    if f.type[0] == "vector" or kind in ("string", "table"):
                        self.err(c, f, "structs hold scalars, enums and structs only")
                    if f.default is not None:
                        self.err(c, f, "struct fields have no defaults")
                elif kind == "struct" and f.type[0] == "one":
                    self.err(c, f, "struct fields in tables are not supported (use a vector)")
                if f.default is not None and (f.type[0] == "vector" or kind in ("string", "struct", "table")):
                    self.err(c, f, "only scalar fields have defaults")
                f.kind, f.target = kind, t
                f.defval = self.default_value(c, f)
        # struct layout
        self.layout = {}
        for c in self.p.order:
            if isinstance(c, Compound) and c.is_struct:
                self.struct_layout(c, [])

    def default_value(self, c, f):
        if f.type[0] == "vector" or f.kind in ("string", "struct", "table"):
            return None
        base = f.target.base if f.kind == "enum" else f.target
        d = f.default
        if d is None:
            return 0
        if f.kind == "enum" and not re.match(r"^[-+0-9]", d):
            for n, v in f.target.vals:
                if n == d:
                    return v
            self.err(c, f, "default %s is not a %s" % (d, f.target.name))
        if base == "bool":
            if d in ("true", "false"):
                return 1 if d == "true" else 0
            try:
                return 1 if int(d, 0) else 0
            except ValueError:
                self.err(c, f, "bad bool default %s" % d)
        if SCALARS[base][4]:
            if d in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
                return float(d)
            try:
                return float(d)
            except ValueError:
                self.err(c, f, "bad default %s" % d)
        try:
            v = int(d, 0)
        except ValueError:
            self.err(c, f, "bad integer default %s" % d)
        size, signed = SCALARS[base][2], SCALARS[base][3]
        lo, hi = (-(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1) if signed else (0, (1 << (8 * size)) - 1)
        if not lo <= v <= hi:
            self.err(c, f, "default %s out of range" % d)
        return v

    def struct_layout(self, c, stack):
        """(size, align, [offsets]) with flatc's rule: each field aligned to
        its own alignment, the struct padded to its largest alignment."""
        if c.name in self.layout:
            return self.layout[c.name]
        if c.name in stack:
            raise SchemaError("%s: struct %s contains itself" % (c.where, c.name))
        off, align, offs = 0, 1, []
        for f in c.fields:
            if f.kind == "struct":
                fs, fa, _ = self.struct_layout(f.target, stack + [c.name])
            else:
                base = f.target.base if f.kind == "enum" else f.target
                fs = fa = SCALARS[base][2]
            off = (off + fa - 1) // fa * fa
            offs.append(off)
            off += fs
            align = max(align, fa)
        size = (off + align - 1) // align * align
        self.layout[c.name] = (size, align, offs)
        return self.layout[c.name]

    # -- C output
    def ctype(self, f):
        if f.kind == "scalar":
            return SCALARS[f.target][1]
        if f.kind in ("enum", "struct", "table"):
            return f.target.name
        return "fb_str"

    def fb_code(self, f):
        if f.kind == "scalar":
            return SCALARS[f.target][0]
        if f.kind == "enum":
            return SCALARS[f.target.base][0]
        return {"string": "FB_STRING", "struct": "FB_STRUCT", "table": "FB_TABLE"}[f.kind]

    def header(self, srcs):
        o = []
        w = o.append
        w("/* records.h — GENERATED by libstream/fbsgen/fbsgen.py from %s. Do not edit. */" % ", ".join(srcs))
        w("#ifndef STREAMREC_RECORDS_H\n#define STREAMREC_RECORDS_H")
        w("#include <stddef.h>\n#include <stdint.h>")
        w("/* Included from fbrec.h (fb_str, fbrec_desc). */\n")
        comps = [c for c in self.p.order if isinstance(c, Compound)]
        for c in comps:
            w("typedef struct %s %s;" % (c.name, c.name))
        w("")
        for e in [t for t in self.p.order if isinstance(t, Enum)]:
            w("/* enum %s (%s) */" % (e.name, e.where))
            w("typedef %s %s;" % (SCALARS[e.base][1], e.name))
            for n, v in e.vals:
                w("#define %s_%s ((%s)%d)" % (e.name, n, e.name, v))
            w("#define %s_MIN %d\n#define %s_MAX %d" % (e.name, e.vals[0][1], e.name, e.vals[-1][1]))
            w("/* Name of a value, \"\" if the value has none. */")
            w("const char *%s_name(int v);" % e.name)
            w("/* Value of a name, -1 if unknown. */")
            w("int %s_parse(const char *s, size_t len);\n" % e.name)
        # structs in dependency order, then tables (only pointers between tables)
        done = set()

        def emit_struct(c):
            if c.name in done:
                return
            for f in c.fields:
                if f.kind == "struct":
                    emit_struct(f.target)
            done.add(c.name)
            w("/* struct %s (%s): the same layout as on the wire */" % (c.name, c.where))
            w("struct %s {" % c.name)
            for f in c.fields:
                w("    %s %s;" % (self.ctype(f), f.name))
            w("};")
            size, align, offs = self.layout[c.name]
            w("_Static_assert(sizeof(struct %s) == %d, \"%s: C layout differs from the wire\");" % (c.name, size, c.name))
            for f, off in zip(c.fields, offs):
                w("_Static_assert(offsetof(struct %s, %s) == %d, \"%s.%s offset\");" % (c.name, f.name, off, c.name, f.name))
            w("")

        for c in comps:
            if c.is_struct:
                emit_struct(c)
        for c in comps:
            if c.is_struct:
                continue
            w("/* table %s (%s)%s */" % (c.name, c.where, ", root type, identifier \"%s\"" % c.ident if c.ident else ""))
            w("struct %s {" % c.name)
            for f in c.fields:
                if f.type[0] == "vector":
                    w("    const %s *%s; uint32_t %s_count;" % (self.ctype(f), f.name, f.name))
                elif f.kind == "table":
                    w("    const %s *%s;   /* NULL: absent */" % (self.ctype(f), f.name))
                else:
                    d = ""
                    if f.kind != "string" and f.defval:
                        d = "   /* default %s */" % (f.default,)
                    w("    %s %s;%s" % (self.ctype(f), f.name, d))
            w("};")
            w("void %s_init(%s *t);\n" % (c.name, c.name))
        for c in comps:
            w("extern const fbrec_desc %s_desc;" % c.name)
        w("")
        w("/* Every root type, for a decoded record of any of them. */")
        w("typedef union AnyRecord {")
        for c in self.p.roots:
            w("    %s %s;" % (c.name, snake(c.name)))
        w("} AnyRecord;")
        w("#define FB_NUM_ROOTS %d" % len(self.p.roots))
        w("\n#endif")
        return "\n".join(o) + "\n"

    def source(self, srcs):
        o = []
        w = o.append
        w("/* records.c — GENERATED by libstream/fbsgen/fbsgen.py from %s. Do not edit. */" % ", ".join(srcs))
        w('#include <string.h>\n#include "fbrec.h"\n#include "fbsgen/fbdesc.h"\n')
        w("_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, \"records are memcpy'd: little-endian hosts only\");\n")
        for e in [t for t in self.p.order if isinstance(t, Enum)]:
            w("static const fbrec_enum_val %s_vals[] = {" % e.name)
            for n, v in e.vals:
                w("    { %d, \"%s\" }," % (v, n))
            w("};")
            w("static const fbrec_enum_desc %s_enum = { \"%s\", %s, %d, %s_vals };" % (e.name, e.name, SCALARS[e.base][0], len(e.vals), e.name))
            w("const char *%s_name(int v)\n{" % e.name)
            w("    switch (v) {")
            for n, v in e.vals:
                w("    case %d: return \"%s\";" % (v, n))
            w("    default: return \"\";\n    }\n}")
            w("int %s_parse(const char *s, size_t len)\n{" % e.name)
            for n, v in e.vals:
                w("    if (len == %d && memcmp(s, \"%s\", %d) == 0) return %d;" % (len(n), n, len(n), v))
            w("    return -1;\n}\n")
        comps = [c for c in self.p.order if isinstance(c, Compound)]
        for c in comps:
            w("static const fbrec_field_desc %s_fields[] = {" % c.name)
            for slot, f in enumerate(c.fields):
                vec = f.type[0] == "vector"
                cnt = "offsetof(%s, %s_count)" % (c.name, f.name) if vec else "0"
                di, du, df = "0", "0", "0.0"
                if f.defval is not None:
                    base = f.target.base if f.kind == "enum" else f.target
                    if SCALARS[base][4]:
                        df = c_double(f.defval)
                    elif SCALARS[base][3] or base == "bool":
                        di = c_int(f.defval, False)
                    else:
                        du = c_int(f.defval, True)
                enm = "&%s_enum" % f.target.name if f.kind == "enum" else "NULL"
                sub = "&%s_desc" % f.target.name if f.kind in ("struct", "table") else "NULL"
                w("    { \"%s\", %s, %d, %d, offsetof(%s, %s), %s, %s, %s, %s, %s, %s }," % (
                    f.name, self.fb_code(f), 1 if vec else 0, slot, c.name, f.name, cnt, di, du, df, enm, sub))
            w("};")
            w("const fbrec_desc %s_desc = { \"%s\", \"%s\", %s, sizeof(%s), _Alignof(%s), %d, %d, %s_fields };" % (
                c.name, c.name, (c.ns + "." if c.ns else "") + c.name,
                '"%s"' % c.ident if c.ident else "NULL", c.name, c.name, 1 if c.is_struct else 0,
                len(c.fields), c.name))
            if not c.is_struct:
                w("void %s_init(%s *t)\n{\n    memset(t, 0, sizeof *t);" % (c.name, c.name))
                for f in c.fields:
                    if f.defval:
                        base = f.target.base if f.kind == "enum" else f.target
                        v = c_double(f.defval) if SCALARS[base][4] else \
                            c_int(f.defval, not SCALARS[base][3] and base != "bool")
                        w("    t->%s = %s;" % (f.name, v))
                w("}")
            w("")
        w("const fbrec_desc *const fbrec_gen_roots[] = {")
        for c in self.p.roots:
            w("    &%s_desc," % c.name)
        w("};")
        w("const int fb_gen_nroots = %d;" % len(self.p.roots))
        w("const fbrec_desc *const fbrec_gen_all[] = {")
        for c in comps:
            w("    &%s_desc," % c.name)
        w("};")
        w("const int fb_gen_nall = %d;" % len(comps))
        return "\n".join(o) + "\n"


def c_int(v, unsigned):
    """A C literal for v that is valid at the type's extremes."""
    if unsigned:
        return "UINT64_C(%d)" % v
    if v == -(1 << 63):
        return "(-INT64_C(9223372036854775807) - 1)"
    return "INT64_C(%d)" % v


def snake(name):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                os.utime(path)   # make sees it as new, no rebuild of dependents' content
                return
    except OSError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv):
    ap = argparse.ArgumentParser(description="Generate C records from FlatBuffers schemas.")
    ap.add_argument("-o", dest="outdir", required=True)
    ap.add_argument("schemas", nargs="+")
    a = ap.parse_args(argv)
    p = Parser()
    try:
        for s in sorted(a.schemas):
            p.parse_file(s)
        if not p.roots:
            raise SchemaError("no root_type in any schema")
        g = Gen(p)
    except (SchemaError, OSError) as e:
        print("fbsgen: %s" % e, file=sys.stderr)
        return 1
    srcs = [os.path.basename(s) for s in sorted(a.schemas)]
    os.makedirs(a.outdir, exist_ok=True)
    write_if_changed(os.path.join(a.outdir, "records.h"), g.header(srcs))
    write_if_changed(os.path.join(a.outdir, "records.c"), g.source(srcs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
