#!/usr/bin/env python3
"""`make bench-infer`: csg's compiled inference (tools/bench/infer_bench.cpp) against ONNX Runtime's CPU
library (tools/onnx/ort_run.js) and PyTorch eager (tools/bench/infer_torch.py) on the same weights, one
process per figure, the same thread count.

    /usr/bin/python3 tools/bench/infer_compare.py --bench build/bench/infer_bench --csg ./csg \\
        --weights build/bench-infer --threads 2 [--rounds 3] [--only resnet50] [--precisions f32,bf16]

Set-up: writes the random weights once (infer_torch.py --write-weights), exports each model to ONNX with
`csg export --format onnx` (the file ORT runs) and with torch.onnx.export, and checks that ORT gives the
same logits on both files. Then for ResNet-50 and ResNet-101 at 224 px (batch 1 and 16) and
DeepLabv2-ResNet-101 at 512x1024 (batch 1), each round runs every side once, in an order that rotates
from round to round: csg f32, ONNX Runtime f32 (its default CPU path has no BF16), PyTorch f32, and on a
CPU with AVX512_BF16 or AMX csg bf16 and PyTorch under torch.autocast(bfloat16). A side's figure is its
median round; each ratio is the median over rounds of the per-round speed ratio (their time / csg's
time: above 1, csg is faster), printed as `ours/ort` and `ours/torch`.

--wait passive: the engines' worker threads sleep as soon as they wait for work instead of spinning first
(OMP_WAIT_POLICY=PASSIVE for csg's and PyTorch's OpenMP, session.intra_op.allow_spinning=0 for ONNX
Runtime). On a machine whose cores are shared with other work a spinning thread burns the time slice its
partner needs (docs/onnx.md, "Where the time goes"); on an idle machine spinning answers sooner.
"""
import argparse
import array
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
ORT_RUN = os.path.join(ROOT, "tools", "onnx", "ort_run.js")
# (arch, batch, height, width, warmup, iters): few iterations where one run takes seconds.
CASES = [
    ("resnet50", 1, 224, 224, 1, 5),
    ("resnet50", 16, 224, 224, 1, 2),
    ("resnet101", 1, 224, 224, 1, 5),
    ("resnet101", 16, 224, 224, 1, 2),
    ("deeplab101", 1, 512, 1024, 1, 1),
]
SIZES = {"resnet50": (224, 224), "resnet101": (224, 224), "deeplab101": (512, 1024)}


def run(cmd, env=None):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}{out.stderr}")
    lines = out.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def median_ms(line):
    return float(re.search(r": ([0-9.]+) ms", line).group(1))


def median(values):
    v = sorted(values)
    return v[(len(v) - 1) // 2]


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def stale(target, source):
    return not os.path.exists(target) or os.path.getmtime(target) < os.path.getmtime(source)


def export_onnx(args, arch):
    """Our export (the file the bench times) and PyTorch's (the cross-check), made once per weights file."""
    pth = os.path.join(args.weights, arch + ".pth")
    ours, theirs = os.path.join(args.weights, arch + ".onnx"), os.path.join(args.weights, arch + ".torch.onnx")
    if stale(ours, pth):
        print(run([args.csg, "export", "--format", "onnx", "--checkpoint", pth, "--out", ours]))
    if stale(theirs, pth):
        h, w = SIZES[arch]
        print(run([args.python, os.path.join(HERE, "infer_torch.py"), "--model", pth, "--arch", arch,
                   "--export-onnx", theirs, "--height", str(h), "--width", str(w)]))
    return ours, theirs


def ort_logits(args, model, x_path, shape, out_path):
    run(["node", ORT_RUN, "--ort", args.ort_dir, "--model", model, "--input", x_path, "--shape",
         ",".join(map(str, shape)), "--output", out_path, "--threads", str(args.threads)])
    a = array.array("f")
    with open(out_path, "rb") as f:
        a.frombytes(f.read())
    return a


def check_exports_agree(args, arch, ours, theirs):
    """ONNX Runtime on csg's file and on torch.onnx.export's, one random batch-1 input: max |diff| / max |y|."""
    h, w = SIZES[arch]
    shape = (1, 3, h, w)
    x = array.array("f", ((((i * 2654435761) % 4294967296) / 4294967296.0) * 2 - 1 for i in range(3 * h * w)))
    x_path = os.path.join(args.weights, "check_input.f32")
    with open(x_path, "wb") as f:
        x.tofile(f)
    a = ort_logits(args, ours, x_path, shape, os.path.join(args.weights, "check_ours.f32"))
    b = ort_logits(args, theirs, x_path, shape, os.path.join(args.weights, "check_torch.f32"))
    rel = max(abs(p - q) for p, q in zip(a, b)) / max(abs(q) for q in b)
    ok = len(a) == len(b) and rel <= 1e-4
    print(f"onnx check {arch}: ORT on csg export vs torch.onnx.export: {len(a)} logits, max |diff| / max |y| "
          f"{rel:.1e} ({'agree' if ok else 'DIFFER'}, tolerance 1e-4)", flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--csg", required=True, help="the csg binary (csg export --format onnx)")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--ort-dir", default=os.environ.get("CSG_ORT_DIR", os.path.join(ROOT, "data", "generated",
                                                                                     "onnxruntime")))
    ap.add_argument("--rounds", type=int, default=3, help="rounds of every side, alternated")
    ap.add_argument("--only", help="comma-separated arch names to run")
    ap.add_argument("--precisions", help="comma-separated: f32, bf16 (default: f32, and bf16 where the CPU has it)")
    ap.add_argument("--wait", choices=["default", "passive"], default="default",
                    help="passive: waiting worker threads sleep at once (every engine)")
    args = ap.parse_args()
    omp_env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE") if args.wait == "passive" else None
    ort_wait = ["--spin", "0"] if args.wait == "passive" else []
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    bf16_cpu = " avx512_bf16" in flags or " amx_bf16" in flags
    precisions = args.precisions.split(",") if args.precisions else (["f32", "bf16"] if bf16_cpu else ["f32"])
    torch_py = os.path.join(HERE, "infer_torch.py")
    first = run([args.python, torch_py, "--write-weights", args.weights])
    if first.startswith("skipped"):
        print(first)
        return 0
    if not os.path.exists(os.path.join(args.ort_dir, "node_modules", "onnxruntime-node", "package.json")):
        sys.exit(f"ONNX Runtime is not installed in {args.ort_dir}: bash tools/onnx/install-ort.sh (make ort)")
    archs = [a for a in dict.fromkeys(c[0] for c in CASES) if not args.only or a in args.only.split(",")]
    agree = all([check_exports_agree(args, arch, *export_onnx(args, arch)) for arch in archs])
    print(f"{cpu_name()}, {os.cpu_count()} CPUs; threads {args.threads}, OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; waiting threads: {args.wait}; "
          f"{args.rounds} rounds, sides alternated; "
          f"load average before: {load_average()}", flush=True)
    summary = []
    for arch, batch, h, w, warmup, iters in CASES:
        if arch not in archs:
            continue
        model = os.path.join(args.weights, arch + ".pth")
        common = ["--batch", str(batch), "--height", str(h), "--width", str(w), "--threads", str(args.threads),
                  "--warmup", str(warmup), "--iters", str(iters)]
        sides = {"csg": [args.bench, "--model", model] + common + ["--precision", "f32"],
                 "ort": ["node", ORT_RUN, "--ort", args.ort_dir, "--model", os.path.join(args.weights, arch + ".onnx"),
                         "--name", arch] + common + ort_wait,
                 "torch": [args.python, torch_py, "--model", model, "--arch", arch] + common + ["--precision", "f32"]}
        if "bf16" in precisions:
            sides["csg bf16"] = [args.bench, "--model", model] + common + ["--precision", "bf16"]
            sides["torch bf16"] = [args.python, torch_py, "--model", model, "--arch", arch] + common + \
                ["--precision", "bf16"]
        names = list(sides)
        lines = {n: [] for n in names}
        for r in range(args.rounds):
            for n in names[r % len(names):] + names[:r % len(names)]:
                lines[n].append(run(sides[n], None if n == "ort" else omp_env))
        ms = {n: [median_ms(line) for line in lines[n]] for n in names}
        for n in names:  # each side's median round
            print(lines[n][ms[n].index(median(ms[n]))])

        def ratio(theirs, ours):
            per_round = [t / o for t, o in zip(ms[theirs], ms[ours])]
            return median(per_round), min(per_round), max(per_round)

        row = {"case": f"{arch} b{batch} {h}x{w}", "ort": ratio("ort", "csg"), "torch": ratio("torch", "csg"),
               "ms": {n: median(ms[n]) for n in names}}
        text = (f"ratio {row['case']}: ours/ort {row['ort'][0]:.2f}x ({row['ort'][1]:.2f}-{row['ort'][2]:.2f}), "
                f"ours/torch {row['torch'][0]:.2f}x")
        if "csg bf16" in sides:
            row["ort bf16"] = ratio("ort", "csg bf16")
            row["torch bf16"] = ratio("torch bf16", "csg bf16")
            text += (f"; bf16: ours/ort {row['ort bf16'][0]:.2f}x ({row['ort bf16'][1]:.2f}-{row['ort bf16'][2]:.2f}), "
                     f"ours/torch {row['torch bf16'][0]:.2f}x (torch under autocast bf16)")
        print(text + f"  [median of {args.rounds} rounds]", flush=True)
        summary.append(row)
    print(f"load average after: {load_average()}")
    print(f"\nsummary ({cpu_name()}, {args.threads} threads; median ms; ours/X = X's time / csg's, median of rounds)")
    bf16 = "bf16" in precisions
    print("| model, input | csg f32 ms | ORT f32 ms | PyTorch f32 ms | ours/ort f32 | ours/torch f32 |"
          + (" csg bf16 ms | ours bf16/ort f32 | ours/torch bf16 |" if bf16 else ""))
    print("|---|---|---|---|---|---|" + ("---|---|---|" if bf16 else ""))
    for row in summary:
        m = row["ms"]
        line = (f"| {row['case']} | {m['csg']:.1f} | {m['ort']:.1f} | {m['torch']:.1f} | {row['ort'][0]:.2f} | "
                f"{row['torch'][0]:.2f} |")
        if bf16:
            line += f" {m['csg bf16']:.1f} | {row['ort bf16'][0]:.2f} | {row['torch bf16'][0]:.2f} |"
        print(line)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
