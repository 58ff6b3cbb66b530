#!/usr/bin/env python3
"""summarise_designs.py - the summary and ablation tables of bench/results.md
from bench_designs JSON files (issue 14).

usage: summarise_designs.py AFTER.json [AFTER2.json ...] [--before BEFORE.json ...]

Per case: genbo's mean true reward at its best target against the best other
method (variants excluded), genbo's best design against random search's best
of the same number of designs, and the ablation rows (genbo, its variants,
and genbo / conditional of the BEFORE files; for genbo rows the share of the
batch from the ascent, pool and local sources and the exploring share), then the
count of non-finite and unmarked designs over every batch. Numbers are means
over the seeds that ran (n = how many)."""
import json
import sys


def load(paths):
    """Cells of every file; a cell present in several files (the same case
    run for other seeds, --first-seed) gets the seeds of all of them."""
    merged = {}
    for p in paths:
        with open(p) as f:
            for c in json.load(f)["cells"]:
                key = (c["section"], c["config"], c["method"])
                if key not in merged:
                    merged[key] = {"section": c["section"], "config": c["config"],
                                   "method": c["method"], "seeds": {}}
                for name, m in c["metrics"].items():
                    merged[key]["seeds"].setdefault(name, []).extend(
                        v for v in m["seeds"] if v is not None)
    cells = []
    for c in merged.values():
        c["metrics"] = {}
        for name, v in c["seeds"].items():
            if not v:
                continue
            mean = sum(v) / len(v)
            sd = (sum((x - mean) ** 2 for x in v) / (len(v) - 1)) ** 0.5 if len(v) > 1 else 0.0
            c["metrics"][name] = {"mean": mean, "sd": sd, "seeds": v}
        cells.append(c)
    return cells


def metric(c, name):
    m = c["metrics"].get(name)
    if not m or m["mean"] is None:
        return None, None, 0
    return m["mean"], m["sd"], len(m["seeds"])


def best_cells(cells):
    """case -> method -> the cell of its best target (highest mean reward)."""
    out = {}
    for c in cells:
        if c["config"] == "models":
            continue
        r, _, _ = metric(c, "reward")
        if r is None:
            continue
        cur = out.setdefault(c["section"], {}).get(c["method"])
        if cur is None or r > metric(cur, "reward")[0]:
            out[c["section"]][c["method"]] = c
    return out


def models(cells):
    return {c["section"]: c for c in cells if c["config"] == "models"}


def fmt(c, name, d=3):
    m, s, n = metric(c, name)
    if m is None:
        return "-"
    return f"{m:.{d}f}" if n < 2 else f"{m:.{d}f} ± {s:.{d}f}"


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return
    after, before, cur = [], [], None
    for a in argv:
        if a == "--before":
            cur = before
        else:
            (cur if cur is not None else after).append(a)
    A, B = load(after), load(before)
    ba, bb, ma = best_cells(A), best_cells(B), models(A)
    print("| case | seeds | genbo mean (target) | best other method: mean | genbo - best other | "
          "genbo best design | random search best | genbo - random | genbo support | "
          "training s (steps) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case, ms in ba.items():
        g = ms.get("genbo")
        if g is None:
            continue
        others = {k: v for k, v in ms.items() if k != "genbo" and "[" not in k}
        o_name = max(others, key=lambda k: metric(others[k], "reward")[0])
        o = others[o_name]
        gm, om = metric(g, "reward")[0], metric(o, "reward")[0]
        gb = metric(g, "best")[0]
        rb = metric(ms["random"], "best")[0] if "random" in ms else None
        mc = ma.get(case)
        tr = f"{fmt(mc, 'train_s', 0)} ({fmt(mc, 'train_steps', 0)})" if mc else "-"
        n = metric(g, "reward")[2]
        print(f"| {case} | {n} | {fmt(g, 'reward')} ({g['config'][2:]}) | {o_name}: "
              f"{fmt(o, 'reward')} | **{gm - om:+.3f}** | {fmt(g, 'best')} | "
              f"{'-' if rb is None else f'{rb:.3f}'} | "
              f"**{'-' if rb is None else f'{gb - rb:+.3f}'}** | {fmt(g, 'support')} | {tr} |")
    print()
    print("Ablation (mean true reward at the best target / best design / support distance):")
    print()
    print("| case | row | mean | best design | support | diversity | batch from ascent / pool / local, exploring share |")
    print("|---|---|---|---|---|---|---|")
    for case, ms in ba.items():
        rows = []
        for k in sorted(bb.get(case, {})):
            if k in ("genbo", "conditional"):
                rows.append((f"before: {k}", bb[case][k]))
        for k in sorted(ms):
            if k.startswith("genbo") or k == "conditional":
                rows.append((k, ms[k]))
        for label, c in rows:
            comp = "-"
            if metric(c, "explore")[0] is not None:
                loc = metric(c, "from_local")[0]  # absent in runs before the local source
                comp = (f"{metric(c, 'from_ascent')[0]:.2f} / {metric(c, 'from_pool')[0]:.2f} / "
                        f"{'-' if loc is None else f'{loc:.2f}'}, {metric(c, 'explore')[0]:.2f}")
            print(f"| {case} | {label} ({c['config'][2:]}) | {fmt(c, 'reward')} | {fmt(c, 'best')} | "
                  f"{fmt(c, 'support')} | {fmt(c, 'diversity', 2)} | {comp} |")
    print()
    nb = nonfin = unmarked = 0
    for c in A:
        if c["config"] == "models":
            continue
        for name, m in c["metrics"].items():
            if name == "nonfinite":
                nonfin += sum(m["seeds"])
                nb += len(m["seeds"])
            elif name == "unmarked":
                unmarked += sum(m["seeds"])
    print(f"Batches: {nb}; non-finite designs: {nonfin:.0f}; designs outside the trust region "
          f"without a flag: {unmarked:.0f}.")


if __name__ == "__main__":
    main(sys.argv[1:])
