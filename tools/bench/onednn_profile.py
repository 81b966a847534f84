#!/usr/bin/env python3
"""Where oneDNN's time goes in one run: sums the `exec` lines of ONEDNN_VERBOSE=1 output by primitive kind
and implementation (and, with --shapes, by problem), and prints the reorders apart.

    ONEDNN_VERBOSE=1 OMP_NUM_THREADS=1 build/bench/infer_bench --model build/bench-infer/resnet50.pth \\
        --batch 1 --warmup 1 --iters 1 > verbose.txt
    /usr/bin/python3 tools/bench/onednn_profile.py verbose.txt --last 1 [--shapes 15]

--last N keeps the exec lines of the last N runs only (a run ends where the same first primitive comes
again), so that a warm-up's weight reorders and JIT compilation are left out. Times are oneDNN's own
(wall time per primitive): with more threads than free cores they include waiting at its barriers, so
one thread gives the cleanest split of the work.
"""
import argparse
import collections
import re
import sys


def parse(path):
    rows = []
    with open(path, errors="replace") as f:
        for line in f:
            if not line.startswith(("onednn_verbose,exec,", "dnnl_verbose,exec,")):
                continue
            p = line.rstrip("\n").split(",")
            # onednn_verbose,exec,cpu,<primitive>,<impl>,<prop>,<mds>,<attrs>,<aux>,<problem>,<ms>
            rows.append({"kind": p[3], "impl": p[4], "prop": p[5], "mds": p[6], "attrs": p[7], "problem": p[-2],
                         "ms": float(p[-1])})
    return rows


def split_runs(rows):
    """Runs start where the first convolution of the first run (the stem) comes again."""
    first = next((i for i, r in enumerate(rows) if r["kind"] == "convolution"), None)
    if first is None:
        return [rows]
    key = (rows[first]["problem"], rows[first]["impl"])
    starts = [i for i, r in enumerate(rows) if r["kind"] == "convolution" and (r["problem"], r["impl"]) == key]
    # a run's reorders of the input come just before its stem
    bounds = starts + [len(rows)]
    return [rows[bounds[i]:bounds[i + 1]] for i in range(len(starts))]


def flops(r):
    """2 x multiply-adds of a convolution problem string (oneDNN's mb.._ic..oc.._ih..oh..kh.. form), else 0."""
    if r["kind"] != "convolution":
        return 0.0
    v = {k: int(n) for k, n in re.findall(r"([a-z]+)(\d+)", r["problem"])}
    g = v.get("g", 1)
    return 2.0 * v.get("mb", 1) * v["oc"] * v["ic"] / g * v.get("oh", 1) * v.get("ow", 1) * v.get("kh", 1) * v.get("kw", 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("verbose")
    ap.add_argument("--last", type=int, default=0, help="only the last N runs")
    ap.add_argument("--shapes", type=int, default=10, help="the N slowest problems")
    a = ap.parse_args()
    rows = parse(a.verbose)
    if not rows:
        sys.exit(f"{a.verbose}: no exec lines (run with ONEDNN_VERBOSE=1)")
    if a.last:
        rows = [r for run in split_runs(rows)[-a.last:] for r in run]
    total = sum(r["ms"] for r in rows)
    print(f"{len(rows)} primitive executions, {total:.1f} ms in oneDNN")
    by = collections.defaultdict(lambda: [0, 0.0, 0.0])
    for r in rows:
        k = (r["kind"], r["impl"], r["prop"])
        by[k][0] += 1
        by[k][1] += r["ms"]
        by[k][2] += flops(r)
    print(f"{'primitive':12} {'implementation':28} {'pass':20} {'count':>6} {'ms':>9} {'share':>6} {'GFLOP/s':>8}")
    for (kind, impl, prop), (n, ms, fl) in sorted(by.items(), key=lambda kv: -kv[1][1]):
        rate = f"{fl / ms / 1e6:8.1f}" if fl and ms else ""
        print(f"{kind:12} {impl:28} {prop:20} {n:6d} {ms:9.2f} {100 * ms / total:5.1f}% {rate}")
    reorders = [r for r in rows if r["kind"] == "reorder"]
    if reorders:
        print(f"reorders: {len(reorders)}, {sum(r['ms'] for r in reorders):.1f} ms")
        kinds = collections.Counter()
        for r in reorders:
            tags = re.findall(r"blocked:([A-Za-z0-9]+)", r["mds"])
            kinds[" -> ".join(tags)] += r["ms"]
        for k, ms in kinds.most_common(6):
            print(f"  {k:36} {ms:9.2f} ms")
    shapes = collections.defaultdict(lambda: [0, 0.0, 0.0, ""])
    for r in rows:
        s = shapes[(r["kind"], r["problem"])]
        s[0] += 1
        s[1] += r["ms"]
        s[2] += flops(r)
        s[3] = r["impl"]
    print(f"the {a.shapes} slowest problems:")
    for (kind, problem), (n, ms, fl, impl) in sorted(shapes.items(), key=lambda kv: -kv[1][1])[:a.shapes]:
        rate = f", {fl / ms / 1e6:.1f} GFLOP/s" if fl and ms else ""
        print(f"  {ms:9.2f} ms  {n:3d}x {kind} {impl} {problem}{rate}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
