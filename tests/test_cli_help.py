#!/usr/bin/env python3
"""test_cli_help.py GENBO SOURCE_DIR - every command's help is complete and
true: `genbo help CMD` and `genbo CMD --help` print the same text, which
lists every flag the command's source accepts (its getopt table or its
strcmp'd "--flag" literals) with a meaning, an example for each flag that
takes a value, fits 100 columns, and the README's row for the command
names every flag. Exit 0 on success, 1 with the failures listed."""
import re
import subprocess
import sys

genbo, src = sys.argv[1], sys.argv[2]
failures = []


def run(*args):
    p = subprocess.run([genbo, *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def source_flags():
    """{command: set of --flags} from cli/*.c: the body of each cmd_NAME."""
    import glob
    out = {}
    for path in sorted(glob.glob(f"{src}/cli/cmd_*.c")):
        text = open(path).read()
        starts = [(m.start(), m.group(1)) for m in re.finditer(r"^int cmd_(\w+)\(int argc", text, re.M)]
        for i, (pos, name) in enumerate(starts):
            body = text[pos:starts[i + 1][0] if i + 1 < len(starts) else len(text)]
            flags = {"--" + f for f in re.findall(r'\{"([a-z][a-z0-9-]*)",\s*(?:required|no|optional)_argument', body)}
            flags |= set(re.findall(r'"(--[a-z][a-z0-9-]*)"', body))
            out.setdefault(name, set()).update(flags)
    return out


rc, top, _ = run("--help")
commands = re.findall(r"^  (\w+)\s{2,}", top.split("commands:")[1], re.M) if "commands:" in top else []
if rc != 0 or len(commands) < 10:
    failures.append(f"genbo --help: exit {rc}, commands {commands}")
if "--version" not in top:
    failures.append("genbo --help does not list --version")
rc, ver, _ = run("--version")
if rc != 0 or not re.match(r"genbo \d+\.\d+\.\d+", ver):
    failures.append(f"genbo --version: exit {rc}: {ver!r}")
readme = open(f"{src}/README.md").read()
flags_in_source = source_flags()
for cmd in commands:
    rc1, h1, _ = run("help", cmd)
    rc2, h2, _ = run(cmd, "--help")
    if rc1 != 0 or rc2 != 0 or h1 != h2:
        failures.append(f"{cmd}: `genbo help {cmd}` (exit {rc1}) and `genbo {cmd} --help` (exit {rc2}) differ")
        continue
    for line in h1.splitlines():
        if len(line) > 100:
            failures.append(f"{cmd}: help line longer than 100 columns: {line!r}")
    listed = {}
    for m in re.finditer(r"^  (--[a-z][a-z0-9-]*)( [A-Z.|]+)?\s{2,}(.+)$", h1, re.M):
        listed[m.group(1)] = (m.group(2), m.group(3))
    if "examples:" not in h1:
        failures.append(f"{cmd}: help has no examples")
    for flag, (arg, meaning) in listed.items():
        if not meaning.strip():
            failures.append(f"{cmd} {flag}: no meaning")
        if arg and "e.g. " + flag not in h1.replace("\n", " ").replace("  ", " "):
            full = re.sub(r"\s+", " ", h1)
            if "e.g. " + flag not in full:
                failures.append(f"{cmd} {flag}: no example value (e.g. {flag} ...)")
    for flag in sorted(flags_in_source.get(cmd, set()) - {"-h"}):
        if flag not in listed:
            failures.append(f"{cmd}: the source accepts {flag} but the help does not list it")
    if cmd == "help":
        continue
    # README: the command's rows in the Commands table, or its own section.
    rows = [l for l in readme.splitlines() if l.startswith(f"| `genbo {cmd}")]
    sec = re.search(rf"^### `genbo {cmd}`\n(.*?)(?=^##)", readme, re.M | re.S)
    text = "\n".join(rows) + (sec.group(1) if sec else "")
    if not rows:
        failures.append(f"README: no row for `genbo {cmd}` in the Commands table")
    for flag in listed:
        if flag != "--help" and flag not in text:
            failures.append(f"README: `genbo {cmd}` does not mention {flag}")
rc, _, err = run("help", "nosuchcommand")
if rc != 2 or "unknown command" not in err:
    failures.append(f"genbo help nosuchcommand: exit {rc}, {err!r}")
if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"help of {len(commands)} commands: complete, within 100 columns, in the README")
