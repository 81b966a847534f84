#!/usr/bin/python3
"""One CSG training step in PyTorch, written to match csg's own step (src/train/csg_step.cpp,
network.cpp, csg_parts.cpp, optim/sgd.cpp) operation for operation, for the step benchmark
(tools/bench/step_bench.py) and the step-parity test (tests/test_step_bench_parity.cpp).

  f_e (torchvision ResNet, or dilated ResNet + a DeepLab head: csg's aspp-csg, the reference's
  ASPP, or aspp-v2, DeepLabv2's summed dilated convs) on the query view -> task CE
  f_eo (frozen copy) on the key view; A-pool attention for the keys from f_e on the key view
  per layer l: q = normalize(h_l(pool(f_e))), k = normalize(h~_l(pool(f_eo))), InfoNCE vs queue_l
  loss = task + lambda * sum_l NCE_l; backward; SGD (the reference's variant); h~ <- EMA(h);
  queue_l <- k

Parameter names are csg's CsgNetwork state_dict names ("encoder_q.layer1.0.conv1.weight",
"fc_new.0.weight", "heads_q.layer3.0.weight", ...), so weights travel between the two sides.

Benchmark:  python3 csg_step_torch.py --task visda --device cuda --precision tf32 [--compile]
Parity:     python3 csg_step_torch.py --task visda --arch resnet18 --image-size 64 --batch 4 \
              --write-init init.safetensors --write-inputs inputs.safetensors --dump result.safetensors
            (--init/--inputs read such files instead of making fresh ones; with --precision bf16
            the steps run under autocast, the BF16 parity test's fixture; with --precision fp64
            in float64 throughout, its second reference; the dump's metadata names the precision)
aspp-csg's dropout (p = 0.5, train mode) draws csg's own counter-based mask (csg/random.h:
element i of a call is kept iff counter_uniform(seed, offset + i) >= p, offset advancing by the
element count each call), here in numpy, from --dropout-seed; the parity test puts csg's
default generator at (that seed, offset 0), so both sides drop the same elements.
GTA5's projection heads are frozen unless --train-seg-heads, as csg's default and the reference.
Prints one `step-bench ...` line of key=value fields per figure (or `unavailable="why"`).
Runs under torch 1.13 (CPU) and torch 2.x (CUDA; --compile needs torch.compile).
"""
import argparse
import copy
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from resnet_stages import randomise_bn, resnet_stages
from safetensors_io import load_safetensors as load_arrays
from safetensors_io import save_safetensors as save_arrays

# Written into --dump's metadata; tests/test_step_bench_parity.cpp refuses older fixtures.
FIXTURE_VERSION = "2"

# ---- configuration: csg's default_config (src/train/trainer.cpp, include/csg/train.h) ----------

TASK_DEFAULTS = {
    "visda": dict(arch="resnet101", num_classes=12, lam=0.1, chunks=1, lr=1e-4, batch=32, image_size=224),
    "gta5": dict(arch="deeplab101", num_classes=19, lam=75.0, chunks=8, lr=1e-3, batch=6, image_size=512),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=["visda", "gta5"], default="visda")
    p.add_argument("--arch", help="resnet18/34/50/101 (visda) or deeplab18/34/50/101 (gta5)")
    p.add_argument("--batch", type=int)
    p.add_argument("--image-size", type=int)
    p.add_argument("--steps", type=int, default=20, help="timed steps")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--precision", choices=["fp32", "tf32", "bf16", "fp64"], default="fp32",
                   help="fp32: no TF32 anywhere; tf32: TF32 in convolutions and matmuls; "
                        "bf16: autocast mixed precision, fp32 master weights (TF32 off); "
                        "fp64: float64 throughout (CPU, with --dump: the parity test's second reference)")
    p.add_argument("--compile", action="store_true", help="torch.compile the forward (loss) function")
    p.add_argument("--queue-size", type=int, default=65536)
    p.add_argument("--layers", default="3,4")
    p.add_argument("--lr", type=float, help="heads' base LR (backbone: lr * 0.1); task default otherwise")
    p.add_argument("--lambda", dest="lam", type=float)
    p.add_argument("--threads", type=int, help="CPU threads (default: OMP_NUM_THREADS or torch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seg-head", choices=["aspp-csg", "aspp-v2"], default="aspp-v2",
                   help="gta5 head: the reference's ASPP (csg's default) or DeepLabv2's (the benchmark's)")
    p.add_argument("--train-seg-heads", action="store_true", help="gta5: optimise the projection heads")
    p.add_argument("--dropout-seed", type=int, default=0, help="seed of aspp-csg's dropout masks (csg/random.h)")
    p.add_argument("--init", help="initial weights and queues (safetensors: net.<name>, queue.<l>)")
    p.add_argument("--inputs", help="input batches (safetensors: x_q.<i>, x_k.<i>, labels.<i>)")
    p.add_argument("--write-init", help="write the initial weights and queues here")
    p.add_argument("--write-inputs", help="write the input batches here")
    p.add_argument("--key-noise", type=float, default=0.0,
                   help="scale f_eo's and h~'s fresh weights by 1 + this * N(0,1), so that the parity runs "
                        "tell the key side from the query side (they start equal otherwise)")
    p.add_argument("--dump", help="write per-step losses and the final state here; runs --steps "
                                  "steps on the inputs in order (no warm-up)")
    a = p.parse_args(argv)
    d = TASK_DEFAULTS[a.task]
    a.arch = a.arch or d["arch"]
    a.batch = a.batch or d["batch"]
    a.image_size = a.image_size or d["image_size"]
    a.num_classes = d["num_classes"]
    a.lam = d["lam"] if a.lam is None else a.lam
    a.lr = d["lr"] if a.lr is None else a.lr
    a.chunks = d["chunks"]
    a.layers = [int(s) for s in a.layers.split(",")]
    a.factor, a.momentum, a.weight_decay = 0.1, 0.9, 5e-4
    a.temperature, a.embed_dim, a.ema = 0.07, 128, 0.999
    return a


# ---- safetensors (F32, F64, I64), written and read by hand: no extra package -------------------

_KEPT_DTYPES = (torch.float32, torch.float64, torch.int64)


def save_safetensors(path, tensors, metadata=None):
    arrays = {}
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        arrays[name] = (t if t.dtype in _KEPT_DTYPES else t.to(torch.float32)).numpy()
    save_arrays(path, arrays, metadata)


def load_safetensors(path):
    arrays, meta = load_arrays(path)
    return {k: torch.from_numpy(a) for k, a in arrays.items()}, meta


class DeepLabV2Head(nn.Module):
    """DeepLabv2's classifier: four 3x3 convs, dilations 6/12/18/24, summed (csg's aspp-v2)."""

    def __init__(self, cin, classes):
        super().__init__()
        self.conv2d_list = nn.ModuleList(nn.Conv2d(cin, classes, 3, 1, r, r, bias=True) for r in (6, 12, 18, 24))

    def forward(self, x):
        out = self.conv2d_list[0](x)
        for conv in self.conv2d_list[1:]:
            out = out + conv(x)
        return out


_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix64(z):  # csg::mix64 (splitmix64's finaliser), on uint64 arrays (wrapping arithmetic)
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def counter_keep(seed, offset, n, p):
    """csg's dropout mask: keep i iff counter_uniform(seed, offset + i) >= p (24-bit uniforms)."""
    with np.errstate(over="ignore"):
        counters = np.uint64(offset) + np.arange(n, dtype=np.uint64)
        h = _mix64(np.uint64(seed) ^ _mix64(counters))
    u = (h >> np.uint64(40)).astype(np.float64) / 16777216.0
    return u >= p


class CounterDropout(nn.Module):
    """Inverted dropout with csg's counter-based mask (csg/src/ops/dropout.cpp)."""

    def __init__(self, p, seed):
        super().__init__()
        self.p, self.seed, self.offset = p, seed, 0

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = counter_keep(self.seed, self.offset, x.numel(), self.p)
        self.offset += x.numel()
        mask = torch.from_numpy(keep.reshape(tuple(x.shape))).to(device=x.device, dtype=x.dtype)
        return x * mask * torch.tensor(1.0 / (1.0 - self.p), dtype=torch.float32).to(x.dtype)


class AsppCsgHead(nn.Module):
    """The reference's head (csg's aspp-csg): torchvision's DeepLabv3 head (ASPP 12/24/36 with
    image pooling, project + dropout 0.5, 3x3 conv, 1x1 classifier) under csg's names
    fc_new.conv2d_list.0.*, its dropout drawing csg's masks."""

    def __init__(self, cin, classes, dropout_seed):
        super().__init__()
        from torchvision.models.segmentation.deeplabv3 import DeepLabHead
        head = DeepLabHead(cin, classes)
        head[0].project[3] = CounterDropout(0.5, dropout_seed)
        self.conv2d_list = nn.ModuleList([head])

    def forward(self, x):
        return self.conv2d_list[0](x)


def depth_of(arch, family):
    if not arch.startswith(family):
        raise SystemExit(f"--arch {arch}: expected {family}<depth>")
    return int(arch[len(family):])


def dilate_basic_blocks(enc):
    """Output stride 8 for ResNet-18/34, which torchvision refuses to dilate: layer3 and layer4
    trade their stride for dilation as torchvision does for bottlenecks (the first block keeps the
    previous dilation), and a basic block dilates both of its 3x3 convs, as csg's BasicBlock."""
    dilation = 1
    for layer in (enc.layer3, enc.layer4):
        previous, dilation = dilation, dilation * 2
        for i, block in enumerate(layer):
            d = previous if i == 0 else dilation
            for conv in (block.conv1, block.conv2):
                conv.stride, conv.dilation, conv.padding = (1, 1), (d, d), (d, d)
            if block.downsample is not None:
                block.downsample[0].stride = (1, 1)
    return enc


def make_encoder(cfg):
    if cfg.task == "visda":
        enc = getattr(torchvision.models, f"resnet{depth_of(cfg.arch, 'resnet')}")()
    else:
        depth = depth_of(cfg.arch, "deeplab")
        if depth >= 50:
            enc = getattr(torchvision.models, f"resnet{depth}")(replace_stride_with_dilation=[False, True, True])
        else:
            enc = dilate_basic_blocks(getattr(torchvision.models, f"resnet{depth}")())
        if cfg.seg_head == "aspp-csg":
            enc.fc_new = AsppCsgHead(enc.fc.in_features, cfg.num_classes, cfg.dropout_seed)
        else:
            enc.fc_new = DeepLabV2Head(enc.fc.in_features, cfg.num_classes)
    enc.feature_channels = enc.fc.in_features
    enc.fc = None  # csg builds no ImageNet fc (num_classes = 0)
    return enc


def stage_channels(enc, l):
    return enc.feature_channels // 2 ** (4 - l)


def projection_head(c, dim):  # FC-ReLU-FC, names "0" and "2"
    return nn.Sequential(nn.Linear(c, c), nn.ReLU(inplace=False), nn.Linear(c, dim))


class CsgNetwork(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        torch.manual_seed(cfg.seed)
        self.segmentation = cfg.task == "gta5"
        self.encoder_q = make_encoder(cfg)
        randomise_bn(self.encoder_q, torch.Generator().manual_seed(cfg.seed + 1))
        self.encoder_k = copy.deepcopy(self.encoder_q)  # f_eo starts equal to f_e, frozen
        self.encoder_k.requires_grad_(False)
        if self.segmentation:  # backbone BN affine frozen (DeepLab); the head's BN trains
            for name, m in self.encoder_q.named_modules():
                if isinstance(m, nn.BatchNorm2d) and not name.startswith("fc_new."):
                    m.requires_grad_(False)
        else:
            c = self.encoder_q.feature_channels
            self.fc_new = nn.Sequential(nn.Linear(c, 512), nn.ReLU(inplace=False), nn.Linear(512, cfg.num_classes))
        self.heads_q = nn.ModuleDict()
        self.heads_k = nn.ModuleDict()
        for l in cfg.layers:
            c = stage_channels(self.encoder_q, l)
            self.heads_q[f"layer{l}"] = projection_head(c, cfg.embed_dim)
            self.heads_k[f"layer{l}"] = copy.deepcopy(self.heads_q[f"layer{l}"]).requires_grad_(False)
            if self.segmentation and not cfg.train_seg_heads:  # never optimised; still the EMA's source
                self.heads_q[f"layer{l}"].requires_grad_(False)
        gen = torch.Generator().manual_seed(cfg.seed + 100)
        self.queues = {l: F.normalize(torch.randn(cfg.embed_dim, cfg.queue_size, generator=gen), dim=0)
                       for l in cfg.layers}
        self.queue_ptr = {l: 0 for l in cfg.layers}
        if cfg.key_noise > 0:
            gen = torch.Generator().manual_seed(cfg.seed + 200)
            with torch.no_grad():
                for p in list(self.encoder_k.parameters()) + list(self.heads_k.parameters()):
                    p.mul_(1 + cfg.key_noise * torch.randn(p.shape, generator=gen))

    def set_training_modes(self):
        self.eval()  # every BN on running statistics, as the reference's model.eval()
        if self.segmentation:
            self.encoder_q.fc_new.train()

    def parameter_groups(self, cfg):
        backbone, task_head = [], []
        for name, p in self.encoder_q.named_parameters():
            if p.requires_grad:
                (task_head if name.startswith("fc_new.") else backbone).append(p)
        if not self.segmentation:
            task_head += list(self.fc_new.parameters())
        projection = [p for h in self.heads_q.values() for p in h.parameters() if p.requires_grad]
        return [(backbone, cfg.lr * cfg.factor), (task_head, cfg.lr), (projection, cfg.lr)]

    def to_device(self, dev):
        self.to(dev)
        self.queues = {l: q.to(dev) for l, q in self.queues.items()}

    def state_for_files(self):
        sd = {"net." + k: v for k, v in self.state_dict().items()}
        sd.update({f"queue.{l}": q for l, q in self.queues.items()})
        return sd

    def load_from_files(self, tensors, meta):
        sd = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
        own = self.state_dict()
        missing = sorted(set(own) - set(sd))
        if missing:
            raise SystemExit(f"--init: {len(missing)} tensors missing (first: {missing[0]})")
        self.load_state_dict({k: sd[k].to(own[k].dtype) for k in own})
        for l in self.queues:
            self.queues[l] = tensors[f"queue.{l}"].to(torch.get_default_dtype()).clone()
            self.queue_ptr[l] = int(meta.get(f"queue_pointer.{l}", 0))


# ---- the step (src/train/csg_step.cpp) -----------------------------------------------------------

class RefSGD:
    """The CSG reference's SGD (csg's SgdVariant::Reference): g = grad + wd*p;
    v = mu*v + lr*g (first step v = lr*g); p -= v."""

    def __init__(self, groups, momentum, weight_decay):
        self.groups, self.mu, self.wd = groups, momentum, weight_decay
        self.buffers = [[None] * len(params) for params, _ in groups]

    def zero_grad(self):
        for params, _ in self.groups:
            for p in params:
                p.grad = None

    @torch.no_grad()
    def step(self, lr_scale):
        for (params, base_lr), bufs in zip(self.groups, self.buffers):
            lr = base_lr * lr_scale
            idx = [i for i, p in enumerate(params) if p.grad is not None]
            if not idx:
                continue
            ps = [params[i] for i in idx]
            gs = torch._foreach_add([p.grad for p in ps], ps, alpha=self.wd)
            first = [j for j, i in enumerate(idx) if bufs[i] is None]
            later = [j for j, i in enumerate(idx) if bufs[i] is not None]
            if first:
                for j, v in zip(first, torch._foreach_mul([gs[j] for j in first], lr)):
                    bufs[idx[j]] = v
            if later:
                vs = [bufs[idx[j]] for j in later]
                torch._foreach_mul_(vs, self.mu)
                torch._foreach_add_(vs, [gs[j] for j in later], alpha=lr)
            torch._foreach_sub_(ps, [bufs[i] for i in idx])


def attentional_pool(values, attention):  # csg::method::attentional_pool
    gap = attention.mean(dim=(2, 3), keepdim=True)
    raw = (attention * gap).sum(dim=1, keepdim=True)
    a = raw / raw.sum(dim=(2, 3), keepdim=True)
    return (values * a).sum(dim=(2, 3))


def pool(values, attention, apool=True):
    return attentional_pool(values, attention) if apool else values.mean(dim=(2, 3))


def chunk_patches(x, c):  # 8x8 patches stacked on the batch axis, patch-major
    if c == 1:
        return x
    H, W = x.shape[2], x.shape[3]
    if H % c or W % c:
        raise SystemExit(f"dense NCE: a {H}x{W} map does not split into {c}x{c} equal patches")
    return torch.cat([p for rows in x.chunk(c, dim=2) for p in rows.chunk(c, dim=3)], dim=0)


class FlopCounter:
    """Model FLOPs of one step from the forward pass: 2 per multiply-add of every convolution,
    linear layer and InfoNCE matmul, plus what backward will spend on them (the input gradient
    where the input needs one, the weight gradient where the weight is trained)."""

    def __init__(self):
        self.flops = 0.0

    def add(self, macs, input_grad, weight_grad):
        self.flops += 2.0 * macs * (1 + int(input_grad) + int(weight_grad))

    def hook(self, module, inputs, output):
        if not torch.is_grad_enabled():
            grad_x = grad_w = False
        else:
            grad_x = inputs[0].requires_grad
            grad_w = module.weight.requires_grad
        if isinstance(module, nn.Conv2d):
            macs = output.numel() * module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        else:
            macs = output.numel() * module.in_features
        self.add(macs, grad_x, grad_w)


def wide(x):
    """float32 at least: autocast's bf16 outputs are widened for the losses; float64 stays."""
    return x if x.dtype == torch.float64 else x.float()


def forward_losses(net, cfg, xq, xk, labels, queues, counter=None):
    """Everything up to the loss (the part torch.compile may take): returns the total loss,
    the task loss, the per-layer InfoNCE losses and the new keys."""
    f_q = resnet_stages(net.encoder_q, xq)
    if net.segmentation:
        low = net.encoder_q.fc_new(f_q[3])
        logits = F.interpolate(low, size=xq.shape[2:], mode="bilinear", align_corners=True)
        task = F.cross_entropy(wide(logits), labels, ignore_index=255)
    else:
        logits = net.fc_new(f_q[3].mean(dim=(2, 3)))
        task = F.cross_entropy(wide(logits), labels)
    loss = task
    with torch.no_grad():
        f_k = resnet_stages(net.encoder_k, xk)
        f_att = resnet_stages(net.encoder_q, xk)
    nces, keys = [], []
    for i, l in enumerate(cfg.layers):
        fq = chunk_patches(f_q[l - 1], cfg.chunks)
        q = F.normalize(wide(net.heads_q[f"layer{l}"](pool(fq, fq))), dim=1)
        with torch.no_grad():
            fk = chunk_patches(f_k[l - 1], cfg.chunks)
            fa = chunk_patches(f_att[l - 1], cfg.chunks)
            k = F.normalize(wide(net.heads_k[f"layer{l}"](pool(fk, fa))), dim=1)
        queue = queues[i]
        pos = (q * k).sum(dim=1, keepdim=True)
        neg = q @ queue  # autocast: a bf16 matmul under bf16, as PyTorch would run it
        if counter is not None:
            counter.add(q.shape[0] * q.shape[1] * queue.shape[1], True, False)
        nce_logits = torch.cat([pos, wide(neg)], dim=1) / cfg.temperature
        nce = F.cross_entropy(nce_logits, torch.zeros(q.shape[0], dtype=torch.long, device=q.device))
        loss = loss + nce * cfg.lam
        nces.append(nce)
        keys.append(k)
    return loss, task, nces, keys


def enqueue(net, l, k):
    q, ptr = net.queues[l], net.queue_ptr[l]
    n, K = k.shape[0], q.shape[1]
    cols = k.detach().t().to(q.dtype)
    first = min(n, K - ptr)
    q[:, ptr:ptr + first] = cols[:, :first]
    if first < n:
        q[:, :n - first] = cols[:, first:]
    net.queue_ptr[l] = (ptr + n) % K


class Step:
    def __init__(self, net, cfg, compile_forward):
        self.net, self.cfg = net, cfg
        self.sgd = RefSGD(net.parameter_groups(cfg), cfg.momentum, cfg.weight_decay)
        self.ema_t = [p for l in cfg.layers for p in net.heads_k[f"layer{l}"].parameters()]
        self.ema_s = [p for l in cfg.layers for p in net.heads_q[f"layer{l}"].parameters()]
        self.forward = torch.compile(forward_losses) if compile_forward else forward_losses
        self.autocast = cfg.precision == "bf16"

    def __call__(self, xq, xk, labels, lr_scale=1.0):
        net, cfg = self.net, self.cfg
        with torch.no_grad():  # h~ <- m h~ + (1-m) h
            torch._foreach_mul_(self.ema_t, cfg.ema)
            torch._foreach_add_(self.ema_t, self.ema_s, alpha=1 - cfg.ema)
        queues = [net.queues[l] for l in cfg.layers]
        with torch.autocast(device_type=xq.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            loss, task, nces, keys = self.forward(net, cfg, xq, xk, labels, queues)
        self.sgd.zero_grad()
        loss.backward()
        self.sgd.step(lr_scale)
        for l, k in zip(cfg.layers, keys):
            enqueue(net, l, k)
        # Plain numbers, as csg's step returns them (and a training loop logs them): the host
        # waits for each step on both sides.
        return loss.item(), task.item(), [v.item() for v in nces]


def count_step_flops(net, cfg, xq, xk, labels):
    counter = FlopCounter()
    handles = [m.register_forward_hook(counter.hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        queues = [net.queues[l] for l in cfg.layers]
        forward_losses(net, cfg, xq, xk, labels, queues, counter)
    finally:
        for h in handles:
            h.remove()
    return counter.flops


# ---- inputs, precision, the run ------------------------------------------------------------------

def make_inputs(cfg, count):
    gen = torch.Generator().manual_seed(cfg.seed + 7)
    shape = (cfg.batch, 3, cfg.image_size, cfg.image_size)
    batches = []
    for _ in range(count):
        xq = torch.rand(shape, generator=gen) * 2 - 1
        xk = (xq + 0.1 * torch.randn(shape, generator=gen)).clamp(-1, 1)  # a jittered key view
        if cfg.task == "visda":
            labels = torch.randint(0, cfg.num_classes, (cfg.batch,), generator=gen)
        else:
            labels = torch.randint(0, cfg.num_classes, (cfg.batch, cfg.image_size, cfg.image_size), generator=gen)
            labels[torch.rand(labels.shape, generator=gen) < 0.1] = 255  # some ignored pixels
        batches.append((xq, xk, labels))
    return batches


def set_precision(cfg):
    if cfg.precision == "fp64":
        torch.set_default_dtype(torch.float64)  # before the network is built: its parameters follow
    tf32 = cfg.precision == "tf32"
    if cfg.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cudnn.benchmark = True  # csg searches its cuDNN algorithms too


def precision_text(cfg):
    return {"fp32": "fp32 (no TF32)", "tf32": "fp32 with TF32 convolutions and matmuls",
            "bf16": "bf16 autocast, fp32 master weights", "fp64": "fp64 throughout"}[cfg.precision]


def fields(cfg, side):
    return (f"side={side} task={cfg.task} arch={cfg.arch} batch={cfg.batch} size={cfg.image_size} "
            f"precision={cfg.precision} device={cfg.device}")


def unavailable(cfg, side, why):
    print(f"step-bench {fields(cfg, side)} unavailable=\"{why}\"", flush=True)


def sync(cfg):
    if cfg.device == "cuda":
        torch.cuda.synchronize()


def main(argv=None):
    cfg = parse_args(argv)
    side = "torch-compile" if cfg.compile else "torch-eager"
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    elif os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    if cfg.device == "cuda" and not torch.cuda.is_available():
        unavailable(cfg, side, f"torch {torch.__version__} sees no CUDA device")
        return 2
    if cfg.compile and not hasattr(torch, "compile"):
        unavailable(cfg, side, f"torch.compile needs torch >= 2.0 (this is {torch.__version__})")
        return 0
    if cfg.precision == "tf32" and cfg.device == "cpu":
        unavailable(cfg, side, "TF32 is a CUDA tensor-core mode")
        return 0
    set_precision(cfg)
    dev = torch.device(cfg.device)

    net = CsgNetwork(cfg)
    if cfg.init:
        net.load_from_files(*load_safetensors(cfg.init))
    if cfg.write_init:
        save_safetensors(cfg.write_init, net.state_for_files(), {f"queue_pointer.{l}": "0" for l in cfg.layers})
    dumping = cfg.dump is not None
    if cfg.inputs:
        t, _ = load_safetensors(cfg.inputs)
        n = len([k for k in t if k.startswith("x_q.")])
        real = torch.get_default_dtype()  # float32, or float64 under --precision fp64
        batches = [(t[f"x_q.{i}"].to(real), t[f"x_k.{i}"].to(real), t[f"labels.{i}"].long()) for i in range(n)]
    else:
        batches = make_inputs(cfg, cfg.steps if dumping else 2)
    if cfg.write_inputs:
        tensors = {}
        for i, (xq, xk, lab) in enumerate(batches):
            tensors.update({f"x_q.{i}": xq, f"x_k.{i}": xk, f"labels.{i}": lab})
        save_safetensors(cfg.write_inputs, tensors)
    net.to_device(dev)
    net.set_training_modes()
    batches = [tuple(x.to(dev) for x in b) for b in batches]
    step = Step(net, cfg, cfg.compile)

    if dumping:
        if len(batches) < cfg.steps:
            raise SystemExit(f"--dump: {cfg.steps} steps need {cfg.steps} input batches, have {len(batches)}")
        rows = {"loss.total": [], "loss.task": []}
        rows.update({f"loss.nce{l}": [] for l in cfg.layers})
        for i in range(cfg.steps):
            loss, task, nces = step(*batches[i])
            rows["loss.total"].append(loss)
            rows["loss.task"].append(task)
            for l, v in zip(cfg.layers, nces):
                rows[f"loss.nce{l}"].append(v)
        out = {k: torch.tensor(v, dtype=torch.float64) for k, v in rows.items()}
        # f_eo is frozen: the trained state is everything else
        out.update({"final." + k: v for k, v in net.state_for_files().items() if not k.startswith("net.encoder_k.")})
        meta = {f"queue_pointer.{l}": str(p) for l, p in net.queue_ptr.items()}
        meta.update(task=cfg.task, arch=cfg.arch, batch=str(cfg.batch), image_size=str(cfg.image_size),
                    queue_size=str(cfg.queue_size), layers=",".join(map(str, cfg.layers)), lr=repr(cfg.lr),
                    **{"lambda": repr(cfg.lam)}, steps=str(cfg.steps), torch=torch.__version__,
                    seg_head=cfg.seg_head, train_seg_heads="true" if cfg.train_seg_heads else "false",
                    dropout_seed=str(cfg.dropout_seed), precision=cfg.precision,
                    fixture_version=FIXTURE_VERSION)
        save_safetensors(cfg.dump, out, meta)
        print(f"step-bench {fields(cfg, side)} dumped={cfg.dump} steps={cfg.steps} "
              f"first_loss={rows['loss.total'][0]:.6f} last_loss={rows['loss.total'][-1]:.6f}", flush=True)
        return 0

    flops = count_step_flops(net, cfg, *batches[0])
    if cfg.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for i in range(cfg.warmup):
        step(*batches[i % len(batches)])
    sync(cfg)
    t0 = time.perf_counter()
    for i in range(cfg.steps):
        loss, _, _ = step(*batches[i % len(batches)])
    sync(cfg)
    seconds = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() / 2**20 if cfg.device == "cuda" else float("nan")
    print(f"step-bench {fields(cfg, side)} steps={cfg.steps} images_per_s={cfg.batch * cfg.steps / seconds:.3f} "
          f"step_ms={1e3 * seconds / cfg.steps:.3f} peak_mem_mib={peak:.1f} flops_per_step={flops:.6e} "
          f"loss={loss:.5f} torch={torch.__version__} precision_text=\"{precision_text(cfg)}\"", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
