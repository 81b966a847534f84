#!/usr/bin/env python3
"""PyTorch eager inference latency, the reference for tools/bench/infer_bench.cpp.

    /usr/bin/python3 tools/bench/infer_torch.py --write-weights DIR
        writes resnet50.pth, resnet101.pth (torchvision, 1000 classes) and deeplab101.pth
        (DeepLabv2: dilated ResNet-101, output stride 8, the four summed 3x3 convs with
        dilations 6/12/18/24, 19 classes; csg's deeplab101 --seg-head aspp-v2), random
        weights with random BN statistics, seed 0; both benchmarks load these files.
    /usr/bin/python3 tools/bench/infer_torch.py --model DIR/resnet50.pth --arch resnet50 --batch 1 ...
        prints the line infer_bench prints, with "torch" in place of "csg".
    /usr/bin/python3 tools/bench/infer_torch.py --model DIR/resnet50.pth --arch resnet50 --export-onnx F.onnx \
        --height 224 --width 224
        writes the model with torch.onnx.export (opset 13, dynamic batch), the cross-check of
        `csg export --format onnx` (tools/bench/infer_compare.py runs both files in ONNX Runtime).

Startup runs from the start of this script (before `import torch`) to a loaded model in eval
mode; the timed calls run under torch.no_grad() with torch.set_num_threads(--threads).
"""
import time

START = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))


def cpu_ms():
    """User + system CPU time of this process so far (as infer_bench reports it)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return (ru.ru_utime + ru.ru_stime) * 1e3


def build(arch):
    import torch
    import torch.nn.functional as F
    import torchvision

    if arch.startswith("resnet"):
        return getattr(torchvision.models, arch)()

    class DeepLabV2(torch.nn.Module):
        def __init__(self):
            super().__init__()
            enc = torchvision.models.resnet101(replace_stride_with_dilation=[False, True, True])
            enc.fc = torch.nn.Identity()
            self.enc = enc
            self.fc_new = torch.nn.Module()
            self.fc_new.conv2d_list = torch.nn.ModuleList(
                torch.nn.Conv2d(2048, 19, 3, 1, r, r, bias=True) for r in (6, 12, 18, 24))

        def forward(self, x):
            e = self.enc
            h = e.maxpool(e.relu(e.bn1(e.conv1(x))))
            h = e.layer4(e.layer3(e.layer2(e.layer1(h))))
            out = self.fc_new.conv2d_list[0](h)
            for conv in self.fc_new.conv2d_list[1:]:
                out = out + conv(h)
            return F.interpolate(out, size=x.shape[2:], mode="bilinear", align_corners=True)

        def state_dict_flat(self):  # csg's names: the backbone at the top level, then fc_new
            sd = {k[4:]: v for k, v in self.state_dict().items() if k.startswith("enc.")}
            sd.update({k: v for k, v in self.state_dict().items() if k.startswith("fc_new.")})
            return sd

        def load_flat(self, sd):
            mapped = {("enc." + k if not k.startswith("fc_new.") else k): v for k, v in sd.items()}
            self.load_state_dict(mapped)

    return DeepLabV2()


def write_weights(out_dir):
    import torch
    from resnet_stages import randomise_bn

    os.makedirs(out_dir, exist_ok=True)
    for arch in ("resnet50", "resnet101", "deeplab101"):
        path = os.path.join(out_dir, arch + ".pth")
        if os.path.exists(path):
            continue
        torch.manual_seed(0)
        model = build(arch)
        randomise_bn(model, torch.Generator().manual_seed(1))
        sd = model.state_dict_flat() if arch == "deeplab101" else model.state_dict()
        torch.save(sd, path + ".tmp")
        os.replace(path + ".tmp", path)
        print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--write-weights")
    ap.add_argument("--model")
    ap.add_argument("--arch")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--height", type=int, default=224)
    ap.add_argument("--width", type=int, default=224)
    ap.add_argument("--threads", type=int, required=False, default=0)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--export-onnx", help="write the model as ONNX (torch.onnx.export, opset 13) and exit")
    ap.add_argument("--precision", default="f32", choices=["f32", "bf16"],
                    help="bf16: the timed calls also run under torch.autocast('cpu', dtype=torch.bfloat16)")
    args = ap.parse_args()
    try:
        import torch
    except ImportError as e:
        print(f"skipped: cannot import torch with {sys.executable} ({e}); install python3-torch "
              f"(bash tools/install-deps.sh --torch)")
        return 2
    if args.write_weights:
        write_weights(args.write_weights)
        return 0
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    model = build(args.arch)
    sd = torch.load(args.model, map_location="cpu")
    if args.arch == "deeplab101":
        model.load_flat(sd)
    else:
        model.load_state_dict(sd)
    model.eval()
    if args.export_onnx:
        x = torch.zeros(1, 3, args.height, args.width)
        torch.onnx.export(model, x, args.export_onnx + ".tmp", opset_version=13, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          do_constant_folding=True)
        os.replace(args.export_onnx + ".tmp", args.export_onnx)
        print(f"wrote {args.export_onnx}")
        return 0
    startup = (time.perf_counter() - START) * 1e3
    x = torch.randn(args.batch, 3, args.height, args.width, generator=torch.Generator().manual_seed(0))
    times = []
    import contextlib
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if args.precision == "bf16"
                else contextlib.nullcontext())
    with torch.no_grad(), autocast:
        for _ in range(args.warmup):
            model(x)
        cpu0 = cpu_ms()
        for _ in range(args.iters):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    cpu_per_run = (cpu_ms() - cpu0) / args.iters
    median = sorted(times)[len(times) // 2]  # the upper median, as infer_bench
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    tag = " bf16" if args.precision == "bf16" else ""
    print(f"torch {args.arch}{tag} b{args.batch} {args.height}x{args.width}: {median:.1f} ms (min {min(times):.1f}), "
          f"{args.batch * 1000.0 / median:.2f} images/s, CPU {cpu_per_run:.0f} ms/run, startup {startup:.0f} ms, "
          f"peak RSS {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
