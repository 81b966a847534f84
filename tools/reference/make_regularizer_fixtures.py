#!/usr/bin/python3
"""PyTorch reference for csg's Table 1 regularizers (src/method/, tests/test_regularizers.cpp).

All in float64. Writes OUT_DIR/regularizers.safetensors with, per regularizer, its inputs, its
value and the gradient of that value with respect to what the trained network owns:
  weight-l2   sum_i ||w_i - w0_i||^2 (no 1/2)                       -> wl2.*
  feature-l2  mean_n sum_c (f - f0)^2                                -> fl2.*
  asg-kl      nn.KLDivLoss(reduction='batchmean')(log_softmax(new), softmax(old)), as NVlabs/ASG
              train.py writes it                                     -> kl.*
  synaptic intelligence, online: three SGD steps (lr 0.05) on task(w) = sum(a * (w - c)^2) +
              lam * sum(Omega * (w - w0)^2), Omega = relu(omega) / ((w - w0)^2 + xi) detached,
              omega += -dtask/dw * (w_new - w_old) with the task loss's own gradient (a separate
              autograd pass here; csg subtracts the penalty's gradient instead)  -> si.*
Run with Debian's python3-torch:
  /usr/bin/python3 tools/reference/make_regularizer_fixtures.py OUT_DIR
Fixture version 1 (in the file's metadata and in OUT_DIR/VERSION).
"""
import os
import sys

import torch
import torch.nn.functional as F

from safetensors_io import save_safetensors as save_arrays

VERSION = 1


def main(out):
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    d = torch.float64
    t = {}

    # weight-l2
    w0 = [torch.randn(3, 4, generator=g, dtype=d), torch.randn(5, generator=g, dtype=d)]
    w = [(x + 0.1 * torch.randn(x.shape, generator=g, dtype=d)).requires_grad_() for x in w0]
    loss = sum(((a - b) ** 2).sum() for a, b in zip(w, w0))
    loss.backward()
    t.update({"wl2.w0_a": w0[0], "wl2.w0_b": w0[1], "wl2.w_a": w[0], "wl2.w_b": w[1], "wl2.value": loss.reshape(1),
              "wl2.grad_a": w[0].grad, "wl2.grad_b": w[1].grad})

    # feature-l2
    f0 = torch.randn(4, 6, generator=g, dtype=d)
    f = torch.randn(4, 6, generator=g, dtype=d, requires_grad=True)
    loss = ((f - f0) ** 2).sum(1).mean()
    loss.backward()
    t.update({"fl2.f": f, "fl2.f0": f0, "fl2.value": loss.reshape(1), "fl2.grad_f": f.grad})

    # asg-kl (NVlabs/ASG train.py: KLDivLoss(reduction='batchmean'), log_softmax(new), softmax(old))
    old = 2 * torch.randn(4, 7, generator=g, dtype=d)
    new = (old + torch.randn(4, 7, generator=g, dtype=d)).requires_grad_()
    loss = torch.nn.KLDivLoss(reduction="batchmean")(F.log_softmax(new, dim=1), F.softmax(old, dim=1))
    loss.backward()
    t.update({"kl.new": new, "kl.old": old, "kl.value": loss.reshape(1), "kl.grad_new": new.grad})

    # synaptic intelligence, online
    lam, xi, lr, steps = 0.5, 1e-3, 0.05, 3
    w0 = torch.randn(6, generator=g, dtype=d)
    a = torch.rand(6, generator=g, dtype=d) + 0.5
    c = torch.randn(6, generator=g, dtype=d)
    w = w0.clone()
    omega = torch.zeros(6, dtype=d)
    penalties = []
    for _ in range(steps):
        wv = w.clone().requires_grad_()
        big_omega = F.relu(omega) / ((w - w0) ** 2 + xi)
        task = (a * (wv - c) ** 2).sum()
        penalty = (big_omega * (wv - w0) ** 2).sum()
        penalties.append(penalty.detach())
        g_task, = torch.autograd.grad(task, wv, retain_graph=True)
        g_total, = torch.autograd.grad(task + lam * penalty, wv)
        w_new = w - lr * g_total
        omega = omega - g_task * (w_new - w)
        w = w_new
    big_omega = F.relu(omega) / ((w - w0) ** 2 + xi)
    final_penalty = (big_omega * (w - w0) ** 2).sum()
    t.update({"si.w0": w0, "si.a": a, "si.c": c, "si.params": torch.tensor([lam, xi, lr, steps], dtype=d),
              "si.omega": omega, "si.w": w, "si.penalties": torch.stack(penalties),
              "si.final_penalty": final_penalty.reshape(1)})

    save_arrays(os.path.join(out, "regularizers.safetensors"),
                {k: v.detach().to(d).contiguous().numpy() for k, v in t.items()},
                {"version": str(VERSION), "torch": torch.__version__})
    with open(os.path.join(out, "VERSION"), "w") as fh:
        fh.write("%d\n" % VERSION)
    print("regularizer fixtures (version %d) in %s" % (VERSION, out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/fixtures/regularizers")
