#!/usr/bin/env python3
"""PyTorch's CPU time for one conv2d benchmarked by tools/bench/conv2d_bench.cpp.

Run with Debian's interpreter, /usr/bin/python3 (python3-torch lives in its dist-packages).
Prints one line per figure in the format of the C++ bench, with "torch" in place of "csg":
    conv2d 3x3 64->64 56x56 b32 fwd cpu: torch 123.4 ms (min 120.1) 95 GFLOP/s
Exits with status 2 and one "skipped: <reason>" line if torch cannot be imported.
"""
import argparse
import statistics
import sys
import time


def time_ms(fn, warmup, iters):
    """(median, min) wall time of fn in ms over `iters` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--in-channels", type=int, default=64)
    ap.add_argument("--out-channels", type=int, default=64)
    ap.add_argument("--size", type=int, default=56)
    ap.add_argument("--kernel", type=int, default=3)
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--pad", type=int, default=1)
    ap.add_argument("--no-input-grad", action="store_true", help="backward computes the weight gradient only")
    ap.add_argument("--label", default=None)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--iters", type=int, default=7)
    args = ap.parse_args()
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:  # python3-torch not installed
        print(f"skipped: cannot import torch with {sys.executable} ({e}); install python3-torch "
              "(bash tools/install-deps.sh --torch)")
        return 2

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n, c, o, s, k = args.batch, args.in_channels, args.out_channels, args.size, args.kernel
    x = torch.rand(n, c, s, s) * 2 - 1
    w = (torch.rand(o, c, k, k) * 2 - 1) * 0.05
    out = (s + 2 * args.pad - k) // args.stride + 1
    dy = torch.rand(n, o, out, out)
    label = args.label or f"conv2d {k}x{k} {c}->{o} {s}x{s} b{n}"
    gflop = 2.0 * n * o * out * out * c * k * k * 1e-9
    passes = 2 if args.no_input_grad else 3

    def forward():
        with torch.no_grad():
            F.conv2d(x, w, None, stride=args.stride, padding=args.pad)

    xg = x if args.no_input_grad else x.clone().requires_grad_()
    wg = w.clone().requires_grad_()

    def forward_backward():
        xg.grad = None
        wg.grad = None
        F.conv2d(xg, wg, None, stride=args.stride, padding=args.pad).backward(dy)

    fwd, fwd_min = time_ms(forward, args.warmup, args.iters)
    both, both_min = time_ms(forward_backward, args.warmup, args.iters)
    print(f"{label} fwd cpu: torch {fwd:.1f} ms (min {fwd_min:.1f}) {gflop / (fwd * 1e-3):.0f} GFLOP/s", flush=True)
    print(f"{label} fwd+bwd cpu: torch {both:.1f} ms (min {both_min:.1f}) {passes * gflop / (both * 1e-3):.0f} GFLOP/s"
          f" ({torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"mkldnn {'on' if torch.backends.mkldnn.is_available() else 'off'})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
