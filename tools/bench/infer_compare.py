#!/usr/bin/env python3
"""`make bench-infer`: csg's compiled inference (tools/bench/infer_bench.cpp) against PyTorch eager
(tools/bench/infer_torch.py) on the same weights, one process per figure, the same thread count.

    /usr/bin/python3 tools/bench/infer_compare.py --bench build/bench/infer_bench --weights build/bench-infer --threads 2

Writes the random weights once (infer_torch.py --write-weights), then for ResNet-50 and ResNet-101
at 224 px (batch 1 and 16) and DeepLabv2-ResNet-101 at 512x1024 (batch 1) prints both lines and
the speed ratio (PyTorch time / csg time: above 1, csg is faster). On a CPU with AVX512_BF16 or AMX
every case also runs in BF16: ours with --precision bf16, PyTorch under torch.autocast(bfloat16).
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# (arch, batch, height, width, warmup, iters): few iterations where one run takes seconds.
CASES = [
    ("resnet50", 1, 224, 224, 1, 5),
    ("resnet50", 16, 224, 224, 1, 2),
    ("resnet101", 1, 224, 224, 1, 5),
    ("resnet101", 16, 224, 224, 1, 2),
    ("deeplab101", 1, 512, 1024, 1, 1),
]


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}{out.stderr}")
    lines = out.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def median_ms(line):
    return float(re.search(r": ([0-9.]+) ms", line).group(1))


def cpu_ms(line):
    return float(re.search(r"CPU ([0-9.]+) ms/run", line).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--only", help="comma-separated arch names to run")
    ap.add_argument("--precisions", help="comma-separated: f32, bf16 (default: f32, and bf16 where the CPU has it)")
    args = ap.parse_args()
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    bf16_cpu = " avx512_bf16" in flags or " amx_bf16" in flags
    precisions = args.precisions.split(",") if args.precisions else (["f32", "bf16"] if bf16_cpu else ["f32"])
    torch_py = os.path.join(HERE, "infer_torch.py")
    first = run([args.python, torch_py, "--write-weights", args.weights])
    if first.startswith("skipped"):
        print(first)
        return 0
    with open("/proc/loadavg") as f:
        print(f"threads {args.threads}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; "
              f"load average before: {f.read().split()[0]}")
    for precision in precisions:
        tag = " bf16" if precision == "bf16" else ""
        for arch, batch, h, w, warmup, iters in CASES:
            if args.only and arch not in args.only.split(","):
                continue
            model = os.path.join(args.weights, arch + ".pth")
            common = ["--batch", str(batch), "--height", str(h), "--width", str(w), "--threads", str(args.threads),
                      "--warmup", str(warmup), "--iters", str(iters), "--precision", precision]
            ours = run([args.bench, "--model", model] + common)
            theirs = run([args.python, torch_py, "--model", model, "--arch", arch] + common)
            print(ours)
            print(theirs)
            print(f"ratio {arch}{tag} b{batch} {h}x{w}: csg is {median_ms(theirs) / median_ms(ours):.2f}x PyTorch's "
                  f"speed (wall), {cpu_ms(theirs) / cpu_ms(ours):.2f}x (CPU time)")
            sys.stdout.flush()
    with open("/proc/loadavg") as f:
        print(f"load average after: {f.read().split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
