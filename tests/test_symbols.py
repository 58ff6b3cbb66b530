#!/usr/bin/env python3
"""libgenbo.so exports exactly the API of include/genbo.h.

The library is compiled with -fvisibility=hidden and genbo.h marks each
public function GENBO_API (visibility "default"), so the shared library's
dynamic symbol table should hold the header's declarations and nothing
else. This test reads the table with `nm -D --defined-only` and the
declarations from the header itself (not from the GENBO_API marks, so a
declaration that forgot the mark is caught too) and fails on:
  - an exported name that genbo.h does not declare (an internal function
    leaking into the ABI: genbo__*, dk_*, gd_*, ... or a stray genbo_*),
  - a declared function or variable that the library does not export,
  - a declaration in genbo.h without GENBO_API.

usage: test_symbols.py [--nm NM] LIBGENBO.so GENBO.h
"""
import argparse
import re
import subprocess
import sys

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def mask(text):
    """The header with comments, string literals and preprocessor lines
    (and the extern "C" wrapper of the __cplusplus blocks) blanked out,
    offsets preserved so statements can be located in the original."""
    out = list(text)
    i, n = 0, len(text)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    at_line_start = True
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            blank(i, j)
            i = j
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
            continue
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            blank(i, j + 1)
            i = j + 1
            continue
        if at_line_start and c == "#":
            j = i
            while True:  # a directive ends at a newline not escaped by '\'
                e = text.find("\n", j)
                if e < 0:
                    e = n
                    break
                if text[e - 1] != "\\":
                    break
                j = e + 1
            blank(i, e)
            i = e
            continue
        if c == "\n":
            at_line_start = True
        elif not c.isspace():
            at_line_start = False
        i += 1
    masked = "".join(out)
    # #ifdef __cplusplus ... #endif blocks hold only the extern "C" { } wrapper.
    for m in re.finditer(r"#\s*ifdef\s+__cplusplus\b(.*?)#\s*endif", text, re.S):
        masked = masked[:m.start()] + re.sub(r"[^\n]", " ", m.group(0)) + masked[m.end():]
    return masked


def statements(masked):
    """Top-level statements: (start offset, text) split at ';' outside braces."""
    depth, start = 0, 0
    for i, c in enumerate(masked):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == ";" and depth == 0:
            body = masked[start:i]
            lead = len(body) - len(body.lstrip())
            if body.strip():
                yield start + lead, body.strip()
            start = i + 1


def declarations(text):
    """[(name, kind 'function'|'variable', marked with GENBO_API, line)]"""
    masked = mask(text)
    out = []
    for off, st in statements(masked):
        flat = " ".join(st.split())
        words = IDENT.findall(flat)
        if not words or words[0] == "typedef":
            continue
        line = text.count("\n", 0, off) + 1
        outer = re.sub(r"\{.*\}", "{}", flat)  # struct/enum bodies aside
        p = outer.find("(")
        if p >= 0:
            head = outer[:p].rstrip()
            if head.endswith("(") or outer[p + 1:].lstrip().startswith("*"):
                m = IDENT.search(outer[p + 1:])  # int (*name)(...): a pointer variable
                kind, name = "variable", m.group(0)
            else:
                kind, name = "function", IDENT.findall(head)[-1]
        elif words[0] == "extern":
            name = IDENT.findall(re.split(r"[\[=]", outer)[0])[-1]
            kind = "variable"
        else:
            continue  # struct / enum definition or forward declaration
        out.append((name, kind, "GENBO_API" in words, line))
    return out


def exported(nm, lib):
    res = subprocess.run([nm, "-D", "--defined-only", lib], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"test_symbols: {nm} -D --defined-only {lib} failed: {res.stderr.strip()}")
    names = {}
    for ln in res.stdout.splitlines():
        parts = ln.split()
        if len(parts) >= 2:
            names[parts[-1].split("@")[0]] = parts[-2]
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nm", default="nm")
    ap.add_argument("library")
    ap.add_argument("header")
    a = ap.parse_args()
    with open(a.header, encoding="utf-8") as f:
        decls = declarations(f.read())
    syms = exported(a.nm, a.library)
    declared = {d[0]: d for d in decls}
    bad = []
    for name, kind, marked, line in decls:
        if not marked:
            bad.append(f"{a.header}:{line}: {kind} {name} is declared without GENBO_API "
                       "(put GENBO_API before its return type)")
    for name, kind, marked, line in decls:
        if name not in syms:
            bad.append(f"{a.header}:{line}: {kind} {name} is declared but {a.library} "
                       "does not export it (not defined, or defined without genbo.h in scope)")
    extra = sorted(s for s in syms if s not in declared)
    for s in extra:
        bad.append(f"{a.library}: exports {s} ({syms[s]}), which {a.header} does not declare "
                   "(internal: should be hidden)")
    print(f"test_symbols: {len(syms)} exported symbols, {len(decls)} declarations in "
          f"{a.header}, {len(extra)} exported but undeclared, "
          f"{sum(1 for d in decls if d[0] not in syms)} declared but not exported")
    for b in bad:
        print(b)
    if len(decls) < 50:  # the parser itself broke: genbo.h declares 79+ functions
        print(f"test_symbols: only {len(decls)} declarations parsed from {a.header}")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
