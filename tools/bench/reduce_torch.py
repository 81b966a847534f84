#!/usr/bin/env python3
"""PyTorch's GPU time for the reductions benchmarked by tools/bench/reduce_bench.cpp.

Prints one line per figure, "reduce <name> torch <median ms>", or one "skipped: <reason>"
line (and exits 0) when torch or a CUDA device is missing.
"""
import argparse
import statistics
import sys
import time


def median_ms(fn, iters, torch):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=20)
    args = ap.parse_args()
    try:
        import torch
    except ImportError as e:
        print(f"skipped: cannot import torch ({e})")
        return 0
    if not torch.cuda.is_available():
        print("skipped: torch sees no CUDA device")
        return 0
    torch.backends.cuda.matmul.allow_tf32 = False
    g = torch.Generator(device="cuda").manual_seed(3)
    logits = torch.randn(32, 65537, device="cuda", generator=g)
    seg = torch.randn(6, 19, 512, 512, device="cuda", generator=g)
    target = torch.zeros(32, dtype=torch.long, device="cuda")
    with torch.no_grad():
        figures = {
            "sum_rows_32x65537": lambda: logits.sum(1),
            "argmax_6x19x512x512_dim1": lambda: seg.argmax(1),
            "cross_entropy_32x65537": lambda: torch.nn.functional.cross_entropy(logits, target),
        }
        for name, fn in figures.items():
            print(f"reduce {name} torch {median_ms(fn, args.iters, torch):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
