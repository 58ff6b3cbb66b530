#!/usr/bin/env python3
"""No #include goes up the layers (issue 12).

genbo is built in layers, each using only the ones below it:

    include/genbo.h  (the public API, under everything)
    core/                         shared helpers
    datasets/   reward/           data and tasks; steps 1-2
    diffusion/                    steps 3-4 (not reward/: gradients are a callback)
    optimizer/                    methods, evaluators, the loop (storage via callbacks)
    studies/                      study files, storage, the run pipeline
    cli/                          the program: genbo.h only
    bench/                        benchmarks: genbo.h and tests/support/ only
                                  (whose headers include only genbo.h)

This test reads every #include of every C file in those folders and fails
on one that names a folder the file's folder may not use, printing
file:line and the rule. It also fails on SQL text outside studies/ and on
<sqlite3.h> or <libpq-fe.h> outside the two storage back ends. A quoted include without a folder ("core.h") is the
file's own folder. A folder with C files and no rule here fails too, so a
new folder gets a place in the layers.

usage: test_layers.py SOURCE_DIR
"""
import os
import re
import sys

# folder -> the folders its files may include (itself always)
BASE = {"include"}
ALLOWED = {
    "core": BASE,
    "datasets": BASE | {"core"},
    "reward": BASE | {"core"},
    "diffusion": BASE | {"core"},
    "optimizer": BASE | {"core", "datasets", "reward", "diffusion"},
    "studies": BASE | {"core", "datasets", "reward", "diffusion", "optimizer"},
    "cli": BASE,
    "bench": BASE | {"tests/support"},
}
# folders outside the layers: the support library of tests and benchmarks
# (built from internal sources, not part of libgenbo), the tests, fuzzers
# and the install check, which may look inside anything.
EXEMPT = ("tests", "python", "build", "cmake")
FOLDERS = ["include", "core", "datasets", "reward", "diffusion", "optimizer", "studies", "cli",
           "bench", "tests/support", "tests"]
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
# The database libraries are the storage back ends' alone (studies/db.h is
# the interface everything else uses), and no SQL is written outside
# studies/ (README: "no SQL outside studies/").
DB_HEADERS = {"sqlite3.h": "studies/db_sqlite.c", "libpq-fe.h": "studies/db_pg.c"}
SQL = re.compile(r'"[^"]*\b(SELECT\s+\S|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE|PRAGMA\s)')


def folder_of_include(name, quote, own):
    """The source folder an include names, or None for a system header."""
    if name == "genbo.h":
        return "include"
    for f in FOLDERS:
        if name.startswith(f + "/"):
            return f
    if quote == '"' and "/" not in name:
        return own  # "core.h" beside the file
    return None


def check(root):
    bad, seen = [], set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
        top = rel.split("/")[0]
        if rel == "." or top.startswith(".") or top in EXEMPT:
            if rel == ".":
                # and any other CMake build tree (build-prof/, ...): generated files
                dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in EXEMPT
                               and not os.path.exists(os.path.join(root, d, "CMakeCache.txt"))]
            continue
        srcs = [f for f in filenames if f.endswith((".c", ".h"))]
        if not srcs:
            continue
        own = top  # cli/dashboard/ is cli
        if own == "include":
            continue
        if own not in ALLOWED:
            bad.append(f"{rel}/: C files in a folder with no layer (add it to ALLOWED in {sys.argv[0]})")
            continue
        seen.add(own)
        for f in sorted(srcs):
            path = os.path.join(dirpath, f)
            with open(path, encoding="utf-8", errors="replace") as fh:
                for ln, line in enumerate(fh, 1):
                    if own != "studies" and SQL.search(line):
                        bad.append(f"{rel}/{f}:{ln}: SQL outside studies/ (use the read API of genbo.h)")
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    owner = DB_HEADERS.get(m.group(2))
                    if owner and f"{rel}/{f}" != owner:
                        bad.append(f"{rel}/{f}:{ln}: includes {m.group(2)} (only {owner} talks to "
                                   "that library; the rest goes through studies/db.h)")
                    target = folder_of_include(m.group(2), m.group(1), own)
                    if target is None or target == own or target in ALLOWED[own]:
                        continue
                    may = ", ".join(sorted(ALLOWED[own])) or "nothing"
                    bad.append(f"{rel}/{f}:{ln}: {own}/ includes {m.group(2)} "
                               f"({target}/ is not below it; {own}/ may include {may})")
    # what bench/ sees of the support library: its headers include only
    # genbo.h and each other (its .c files may use anything)
    sup = os.path.join(root, "tests", "support")
    for f in sorted(os.listdir(sup)) if os.path.isdir(sup) else []:
        if not f.endswith(".h"):
            continue
        with open(os.path.join(sup, f), encoding="utf-8", errors="replace") as fh:
            for ln, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = folder_of_include(m.group(2), m.group(1), "tests/support")
                if target not in (None, "include", "tests/support"):
                    bad.append(f"tests/support/{f}:{ln}: a support header includes {m.group(2)} "
                               "(bench/ sees these: genbo.h and tests/support/ only)")
    missing = sorted(set(ALLOWED) - seen)
    if missing:  # a rule for a folder that is gone (or a wrong source dir)
        bad.append("no C files found in: " + ", ".join(missing))
    return bad


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    bad = check(sys.argv[1])
    for b in bad:
        print(b)
    if bad:
        print(f"FAIL: {len(bad)} include(s) against the layers")
        return 1
    print("ok: every #include of " + ", ".join(ALLOWED) + " stays at or below its layer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
