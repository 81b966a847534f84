#!/usr/bin/python3
"""PyTorch reference for csg's InfoNCE (data/fixtures/method/info_nce.safetensors).

The CSG reference's per-layer loss (docs/paper-notes.md#the-training-step): z_q, z_k l2-normalised, negatives
from a [D,K] queue of unit columns, logits = [q.k, q.Queue] / 0.07, cross-entropy against 0.
Records q (before normalisation), k, the queue, the logits, the loss and d loss / d q_raw.
Run: /usr/bin/python3 tools/reference/make_method_fixtures.py data/fixtures/method
"""
import os
import sys

import torch
import torch.nn.functional as F

from safetensors_io import save_safetensors as save_arrays


def save_safetensors(path, tensors):
    save_arrays(path, {k: t.detach().to(torch.float64).contiguous().numpy() for k, t in tensors.items()},
                {"version": "1", "torch": torch.__version__})


out = sys.argv[1] if len(sys.argv) > 1 else "data/fixtures/method"
os.makedirs(out, exist_ok=True)
g = torch.Generator().manual_seed(0)
N, D, K, T = 4, 8, 16, 0.07
q_raw = torch.randn(N, D, generator=g, dtype=torch.float64, requires_grad=True)
k = F.normalize(torch.randn(N, D, generator=g, dtype=torch.float64), dim=1)
queue = F.normalize(torch.randn(D, K, generator=g, dtype=torch.float64), dim=0)
q = F.normalize(q_raw, dim=1)
logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue], 1) / T
loss = F.cross_entropy(logits, torch.zeros(N, dtype=torch.long))
loss.backward()
save_safetensors(os.path.join(out, "info_nce.safetensors"),
                 {"q_raw": q_raw, "k": k, "queue": queue, "logits": logits, "loss": loss.reshape(1),
                  "grad_q_raw": q_raw.grad})
print("loss", loss.item())
