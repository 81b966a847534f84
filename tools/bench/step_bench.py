#!/usr/bin/env python3
"""The CSG training-step benchmark: our engine (build/bench/csg_step_bench) next to the same step
in PyTorch (tools/reference/csg_step_torch.py, eager and torch.compile), in one run on one device,
one line per figure with images/s, peak device memory, the ratio ours/PyTorch and the model FLOP
utilisation. With --parity it first checks that both sides compute the same step (a few steps of
small models from the same weights and inputs; losses and final weights compared).

  make bench-gpu        # CUDA: VisDA ResNet-101 b32 224 and GTA5 DeepLabv2-ResNet-101 b6 512, tf32 + bf16
  make bench-step-cpu   # CPU: small models, fp32 (+ bf16, which says what is unavailable)
  make bench-step-cpu BENCH_STEP_SHAPES="small paper"   # also the paper's shapes on the CPU (--paper):
                        # VisDA ResNet-50 b8 224, GTA5 DeepLabv2-ResNet-101 b1 512x512

On the CPU, --peak-bench (build/bench/sgemm_peak) measures the machine's f32 peak before and after the
figures, in the same run: oneDNN's sgemm on a 4096^3 problem with the same threads; each figure's
achieved GFLOP/s is printed as a fraction of the higher of the two.

FLOPs of a step are counted by csg_step_torch.py (FlopCounter) on the PyTorch side's modules: 2 per
multiply-add of every convolution, linear layer and InfoNCE matmul in the three forward passes CSG runs
(f_e on the query images, the momentum encoder f_eo on the key images, f_e again on the key images for
the attention of the pooled features), plus backward's share where it runs: the input gradient where the
input needs one and the weight gradient where the weight is trained (so the stem's input gradient and the
frozen layers' weight gradients are not counted). Batch norm, ReLU, pooling and the losses are left out.

Standard library only (numpy for --parity); the PyTorch side runs under --python.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from safetensors_io import load_safetensors as load_arrays  # noqa: E402


def load_safetensors(path):
    arrays, meta = load_arrays(path)
    return {k: a.astype("float64") for k, a in arrays.items()}, meta

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_STEP = os.path.join(HERE, "..", "reference", "csg_step_torch.py")

# H100 SXM dense peaks (TFLOPS) for the model FLOP utilisation.
PEAK_TFLOPS = {"fp32": (67.0, "FP32"), "tf32": (495.0, "TF32"), "bf16": (989.0, "BF16")}

FULL = {"visda": ["--task", "visda"], "gta5": ["--task", "gta5"]}  # the sizes (task defaults)
SMALL = {
    "visda": ["--task", "visda", "--arch", "resnet18", "--image-size", "64", "--batch", "8", "--queue-size", "4096"],
    "gta5": ["--task", "gta5", "--arch", "deeplab18", "--image-size", "64", "--batch", "2", "--queue-size", "4096"],
}
PAPER = {  # the paper's input shapes, at batch sizes a CPU can time
    "visda": ["--task", "visda", "--arch", "resnet50", "--image-size", "224", "--batch", "8"],
    "gta5": ["--task", "gta5", "--arch", "deeplab101", "--image-size", "512", "--batch", "1"],
}
PARITY = {  # as the Makefile's step-parity fixtures
    "visda": ["--task", "visda", "--arch", "resnet18", "--image-size", "64", "--batch", "4", "--queue-size", "256",
              "--steps", "4", "--lr", "0.01", "--key-noise", "0.1"],
    "gta5": ["--task", "gta5", "--arch", "deeplab18", "--image-size", "64", "--batch", "2", "--queue-size", "512",
             "--steps", "3", "--key-noise", "0.1"],
}
SIDES = [("ours", None), ("torch-eager", []), ("torch-compile", ["--compile"])]


def parse_line(text):
    """The last `step-bench k=v k="text"` line of a run's output, as a dict."""
    lines = [l for l in text.splitlines() if l.startswith("step-bench ")]
    if not lines:
        return None
    return {k: (v[1:-1] if v.startswith('"') else v)
            for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', lines[-1][len("step-bench "):])}


def run(cmd, timeout, env=None):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, env=env)
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return 124, out + f"\n(timed out after {timeout} s)"


def side_command(a, side, extra, args):
    if side == "ours":
        return [a.bench] + args
    return shlex.split(a.python) + [TORCH_STEP] + args + extra


def preflight_cuda(a):
    """Fails in seconds, saying why, when either side cannot use a CUDA device."""
    rc, out = run([a.bench, "--device", "cuda", "--arch", "resnet18", "--image-size", "32", "--batch", "1",
                   "--queue-size", "64", "--steps", "1", "--warmup", "0"], 120)
    f = parse_line(out)
    if rc != 0 or f is None or "unavailable" in f:
        sys.exit(f"bench-gpu: our engine cannot use a GPU here: {f['unavailable'] if f and 'unavailable' in f else out.strip()}")
    probe = ("import torch; assert torch.cuda.is_available(), 'torch ' + torch.__version__ + ' sees no CUDA device'; "
             "print(torch.__version__, '|', torch.cuda.get_device_name(0), '|', hasattr(torch, 'compile'))")
    rc, out = run(shlex.split(a.python) + ["-c", probe], 120)
    if rc != 0:
        sys.exit(f"bench-gpu: the PyTorch side ({a.python}) cannot use a GPU: {out.strip().splitlines()[-1] if out.strip() else rc}")
    return out.strip().splitlines()[-1]


def describe(f):
    return f"{f['task']:5} {f['arch']:10} b{f['batch']:<3} {f['size']:>3}px {f['precision']:4}"


def median_run(fs):
    """The run with the median step time (the first if none has one)."""
    timed = sorted((f for f in fs if "step_ms" in f), key=lambda f: float(f["step_ms"]))
    return timed[(len(timed) - 1) // 2] if timed else fs[0]


def paired_ratio(ours, theirs):
    """Median and range over rounds of their step time / ours, or None without a timed pair."""
    r = sorted(float(t["step_ms"]) / float(o["step_ms"]) for o, t in zip(ours, theirs)
               if "step_ms" in o and "step_ms" in t)
    return (r[(len(r) - 1) // 2], r[0], r[-1], len(r)) if r else None


def measure_peak(a):
    """oneDNN sgemm's GFLOP/s on a large square problem with the benchmark's threads, or None."""
    if not a.peak_bench:
        return None
    rc, out = run([a.peak_bench], 600)
    lines = [l for l in out.splitlines() if l.startswith("sgemm-peak ")]
    m = re.search(r"best_gflops=([0-9.]+) median_gflops=([0-9.]+)", lines[-1]) if lines else None
    if rc != 0 or not m:
        print(f"machine peak: not measured ({out.strip()[-200:]})", flush=True)
        return None
    return float(m.group(1)), float(m.group(2)), lines[-1]


def figure_line(a, f, side, ours, flops, ratio=None, peak=None):
    head = f"{describe(f)}  {side:13}"
    if "unavailable" in f:
        return f"{head}  n/a: {f['unavailable']}"
    ips, ms = float(f["images_per_s"]), float(f["step_ms"])
    mem = float(f["peak_mem_mib"])
    text = f"{head}  {ips:9.2f} img/s  {ms:9.1f} ms/step"
    text += f"  peak {mem / 1024:6.2f} GiB" if mem == mem else "  peak    n/a (CPU)"
    if flops:
        achieved = flops / (ms / 1e3) / 1e12
        if a.device == "cuda":
            peak, name = PEAK_TFLOPS[f["precision"]]
            text += f"  MFU {100 * achieved / peak:5.1f}% ({achieved:.1f} of {peak:.0f} TFLOPS {name})"
        else:
            text += f"  {achieved * 1e3:7.1f} GFLOP/s"
            if peak:
                text += f" ({100 * achieved * 1e3 / peak:4.1f}% of the {peak:.0f} GFLOP/s sgemm peak)"
    if "kernels" in f:
        text += f"  ({f['kernels']})"
    if side != "ours":
        if ratio and ratio[3] > 1:
            text += f"  ours/{side.split('-')[1]} {ratio[0]:5.2f}x (median of {ratio[3]} rounds, {ratio[1]:.2f}-{ratio[2]:.2f})"
        elif ratio:
            text += f"  ours/{side.split('-')[1]} {ratio[0]:5.2f}x"
        else:
            text += f"  ours/{side.split('-')[1]}   n/a"
    return text


# ---- parity ----------------------------------------------------------------------------------

def parity(a, task, tmp):
    """Both sides from the same state on the same inputs; the tolerances of tests/test_step_bench_parity.cpp."""
    import numpy as np
    files = {k: os.path.join(tmp, f"{task}_{k}.safetensors") for k in ("init", "inputs", "torch", "ours")}
    common = PARITY[task] + ["--device", a.device, "--precision", "fp32"]
    rc, out = run(side_command(a, "torch-eager", [], common + ["--write-init", files["init"], "--write-inputs",
                                                               files["inputs"], "--dump", files["torch"]]), a.timeout)
    if rc != 0:
        return False, f"PyTorch side failed:\n{out}"
    i = common.index("--key-noise")  # only for making the initial state
    common = common[:i] + common[i + 2:]
    rc, out = run(side_command(a, "ours", None, common + ["--init", files["init"], "--inputs", files["inputs"],
                                                          "--dump", files["ours"]]), a.timeout)
    if rc != 0:
        return False, f"our side failed:\n{out}"
    theirs, meta_t = load_safetensors(files["torch"])
    ours, meta_o = load_safetensors(files["ours"])
    init, _ = load_safetensors(files["init"])
    loss_rel = max(float(np.max(np.abs(ours[k] - theirs[k]) / np.maximum(1.0, np.abs(theirs[k]))))
                   for k in theirs if k.startswith("loss."))
    worst, worst_name = 0.0, ""
    for k, t in theirs.items():
        if not k.startswith("final.net.") or k not in ours:
            continue
        diff = float(np.max(np.abs(ours[k] - t))) if t.size else 0.0
        update = float(np.max(np.abs(t - init[k[len("final."):]]))) if t.size else 0.0
        tol = 1e-2 * update + 1e-6 * (float(np.max(np.abs(t))) if t.size else 0.0)
        r = diff / tol if tol > 0 else (0.0 if diff == 0 else float("inf"))
        if r > worst:
            worst, worst_name = r, k[len("final.net."):]
    queue = max(float(np.max(np.abs(ours[k] - theirs[k]))) for k in theirs if k.startswith("final.queue."))
    missing = sorted(k for k in theirs if k.startswith("final.") and k not in ours)
    pointers = all(meta_o.get(k) == v for k, v in meta_t.items() if k.startswith("queue_pointer."))
    ok = loss_rel <= 1e-5 and worst <= 1.0 and queue <= 1e-5 and not missing and pointers
    steps = dict(zip(PARITY[task][::2], PARITY[task][1::2]))["--steps"]
    return ok, (f"{steps} steps: losses max rel diff {loss_rel:.1e} (tol 1e-5), weights worst diff/tol {worst:.2f} "
                f"({worst_name}; tol = 1e-2*update + 1e-6*max|w|), queues max diff {queue:.1e} (tol 1e-5)"
                + (f", {len(missing)} tensors missing" if missing else "") + ("" if pointers else ", queue pointers differ"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["cpu", "cuda"], required=True)
    p.add_argument("--bench", default="build/bench/csg_step_bench", help="our bench binary")
    p.add_argument("--python", default=sys.executable, help="interpreter with torch for the PyTorch side")
    p.add_argument("--tasks", nargs="+", default=["visda", "gta5"], choices=["visda", "gta5"])
    p.add_argument("--precisions", nargs="+", default=["tf32", "bf16"], choices=["fp32", "tf32", "bf16"])
    p.add_argument("--steps", type=int, help="timed steps (default 20; 5 with --small)")
    p.add_argument("--warmup", type=int, help="untimed steps first (default 5; 1 with --small)")
    p.add_argument("--small", action="store_true", help="small models at 64x64 (CPU-sized)")
    p.add_argument("--paper", action="store_true",
                   help="the paper's input shapes at CPU batch sizes: ResNet-50 b8 224, DeepLabv2-ResNet-101 b1 512")
    p.add_argument("--peak-bench", help="CPU: build/bench/sgemm_peak, timed before and after the figures")
    p.add_argument("--parity", action="store_true", help="check the step's parity first")
    p.add_argument("--no-compile", action="store_true", help="leave torch.compile out")
    p.add_argument("--timeout", type=int, default=1200, help="seconds per run")
    p.add_argument("--rounds", type=int, default=1, help="runs of each side, alternated (median reported)")
    a = p.parse_args()
    steps = a.steps or (5 if a.small else 20)
    warmup = a.warmup if a.warmup is not None else (1 if a.small else 5)
    if not os.access(a.bench, os.X_OK):
        sys.exit(f"{a.bench} not found: build it with `make {a.bench}`")

    where = preflight_cuda(a) if a.device == "cuda" else f"CPU, {os.environ.get('OMP_NUM_THREADS', os.cpu_count())} threads"
    print(f"CSG training step: ours vs PyTorch on {where}; {steps} timed steps after {warmup} warm-up, "
          "fixed synthetic batches on the device", flush=True)
    print("precisions: fp32 = no TF32; tf32 = fp32 with TF32 convolutions and matmuls; "
          "bf16 = autocast mixed precision, fp32 master weights", flush=True)
    if a.device == "cuda":
        print("MFU: model FLOPs per step (convolutions, linears, InfoNCE matmul; forward and the backward they need, "
              "counted by csg_step_torch.py) / step time / H100 SXM dense peak: 989 TFLOPS BF16, 495 TF32, 67 FP32",
              flush=True)
    failed = False

    if a.parity:
        with tempfile.TemporaryDirectory() as tmp:
            for task in a.tasks:
                ok, text = parity(a, task, tmp)
                print(f"parity {task:5} fp32: {'ok' if ok else 'MISMATCH'}: {text}", flush=True)
                failed |= not ok

    peak_before = measure_peak(a) if a.device == "cpu" else None
    if peak_before:
        print(f"machine peak before: {peak_before[2]}", flush=True)
    peak = peak_before[0] if peak_before else None
    lines = []
    sides = [s for s in SIDES if not (a.no_compile and s[0] == "torch-compile")]
    shape_sets = ([SMALL] if a.small else []) + ([PAPER] if a.paper else [])
    for task, shapes, prec in [(t, sh, p) for sh in (shape_sets or [FULL]) for t in a.tasks for p in a.precisions]:
        args = shapes[task] + ["--device", a.device, "--precision", prec,
                               "--steps", str(steps), "--warmup", str(warmup)]
        # Each round runs every side once, one after another; a side's figure is its median
        # round, and ours/theirs the median of the per-round ratios: on a shared VM the speed
        # moves between runs, and neighbouring runs see nearly the same machine.
        runs = {side: [] for side, _ in sides}
        flops = None
        for _ in range(a.rounds):
            for side, extra in sides:
                if runs[side] and "unavailable" in runs[side][-1]:
                    continue  # unavailable (no torch.compile, say): once is enough
                if side != "ours" and runs["ours"] and "unavailable" in runs["ours"][-1]:
                    # Nothing to compare with (BF16 on a CPU without it): minutes of emulated BF16 saved.
                    runs[side].append({**runs["ours"][-1], "unavailable": "not run: csg has no figure to compare"})
                    continue
                rc, out = run(side_command(a, side, extra, args), a.timeout)
                f = parse_line(out)
                if f is None or rc not in (0,):
                    tail = out.strip().splitlines()[-3:] if out.strip() else [f"exit status {rc}"]
                    f = {"task": task, "arch": "?", "batch": "?", "size": "?", "precision": prec,
                         "unavailable": f"failed (exit {rc}): " + " | ".join(tail)}
                    failed = True
                if "flops_per_step" in f:
                    flops = float(f["flops_per_step"])
                runs[side].append(f)
        ours = median_run(runs["ours"])
        for side, _ in sides:  # FLOPs come from the PyTorch side's count: print after all ran
            lines.append((median_run(runs[side]), side, ours, flops,
                          paired_ratio(runs["ours"], runs[side]) if side != "ours" else None))
            print(figure_line(a, *lines[-1], peak=peak), flush=True)
    peak_after = measure_peak(a) if a.device == "cpu" else None
    if peak_after:
        print(f"machine peak after: {peak_after[2]}", flush=True)
        if peak is None or peak_after[0] > peak:  # the fractions against the higher measurement
            peak = peak_after[0]
            print(f"the figures again, against the higher peak ({peak:.0f} GFLOP/s):")
            for line in lines:
                print(figure_line(a, *line, peak=peak), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
