#!/usr/bin/env python3
# tools/digits/summarize.py — the digits experiments' results.csv files (tools/digits/run.sh) as
# one Markdown table: per experiment, mean +- std over its seeds of each model on the chosen
# split, and CSG - baseline paired by seed with its 95% interval (Student t) and the wins.
#
#   python3 tools/digits/summarize.py [--split fonts|val|real] EXP[=BASELINE_EXP] ...
#
# EXP=BASELINE_EXP pairs EXP's CSG with BASELINE_EXP's baseline (an experiment that changed a
# setting only CSG reads, such as --ema, trains CSG alone). --split real reads the scored real
# digits: only for the final table, never for a choice.
import argparse
import csv
import math
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runs", "digits-experiments")
COLUMNS = {"val": "val_synthetic", "fonts": "heldout_fonts", "real": "real"}
MODELS = ["prior-frozen", "random-init", "baseline", "csg"]
# 0.975 quantiles of Student's t, df 1..10.
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228]


def read(exp):
    path = os.path.join(ROOT, exp, "results.csv")
    if not os.path.exists(path):
        sys.exit(f"{path}: missing (run tools/digits/run.sh {exp} ... first)")
    runs = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            runs.setdefault(row["model"], {})[int(row["seed"])] = row
    return runs


def mean_std(values):
    if not values:
        return "-"
    m = sum(values) / len(values)
    if len(values) == 1:
        return f"{m:.2f}"
    s = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    return f"{m:.2f} +- {s:.2f}"


def paired(a, b):
    seeds = sorted(set(a) & set(b))
    d = [a[s] - b[s] for s in seeds]
    if not d:
        return "-", "-"
    m = sum(d) / len(d)
    wins = f"{sum(x > 0 for x in d)} of {len(d)}"
    if len(d) < 2:
        return f"{m:+.2f}", wins
    s = math.sqrt(sum((x - m) ** 2 for x in d) / (len(d) - 1))
    h = T975[len(d) - 2] * s / math.sqrt(len(d))
    return f"{m:+.2f} [{m - h:+.2f}, {m + h:+.2f}]", wins


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=sorted(COLUMNS), default="fonts")
    ap.add_argument("experiments", nargs="+")
    args = ap.parse_args()
    col = COLUMNS[args.split]
    print(f"| experiment | seeds | " + " | ".join(MODELS) + " | CSG - baseline [95% CI] | CSG wins |")
    print("|---|---|" + "---|" * len(MODELS) + "---|---|")
    for spec in args.experiments:
        exp, _, base_exp = spec.partition("=")
        runs = read(exp)
        base_runs = read(base_exp) if base_exp else runs

        def values(r, model):
            return {s: float(row[col]) for s, row in r.get(model, {}).items() if row[col] != ""}

        cells = [mean_std(list(values(runs, m).values())) for m in MODELS]
        ci, wins = paired(values(runs, "csg"), values(base_runs, "baseline"))
        seeds = sorted({s for m in runs.values() for s in m})
        name = exp + (f" (baseline of {base_exp})" if base_exp else "")
        print(f"| {name} | {','.join(map(str, seeds))} | " + " | ".join(cells) + f" | {ci} | {wins} |")


if __name__ == "__main__":
    main()
