#!/usr/bin/python3
"""Reference values for csg's metrics (data/fixtures/metrics/metrics.safetensors).

Each metric is written the way the code behind the paper's numbers computes it, step by step
(docs/paper-notes.md#visda-evaluation, docs/paper-notes.md#cityscapes-evaluation and
docs/paper-notes.md#hyperspherical-energy), in float64 unless the reference itself works in float32:

* Hyperspherical energy, MHE `_add_thomson_constraint` (wy1iu/MHE code/architecture.py) in numpy:
  vectors are the columns of a [D,N] matrix, norms sqrt(sum x^2 + 1e-4), cosine matrix,
  cross = 2 - 2 cos (+ identity), -log / ^-0.5 / ^-1, minus the lower band incl. diagonal
  (np.tril == tf.matrix_band_part(x, -1, 0)), summed and divided by N(N-1)/2.
  Two feature sets: "random" (standard normal, N=50, D=16) and "small" (the same x 0.01, so
  |x|^2 ~ 1.6e-3 and the 1e-4 inside the root changes the value by a few percent).
* VisDA per-class accuracy: per batch, 100 * #(top-1 = c and gt = c) / #(gt = c) in float32
  (0 for a class without labels), averaged over batches weighted by the per-class label
  counts, then the arithmetic mean over classes (the reference's accuracy + AverageMeter).
* Cityscapes confusion: hist[gt, pred] over pixels with 0 <= gt < C summed over images, IoU
  with NaN for classes absent from both, np.nanmean, pixel accuracy = correct / labelled.

Run: /usr/bin/python3 tools/reference/make_metric_fixtures.py data/fixtures/metrics
"""
import os
import sys

import numpy as np
import torch

from safetensors_io import save_safetensors as save_arrays


def save_safetensors(path, tensors):
    save_arrays(path, tensors, {"version": "1", "numpy": np.__version__})


def mhe_energy(features_rows, power):
    filt = features_rows.T  # [D, N]: MHE's vectors are columns
    n_filt = filt.shape[1]
    filt_norm = np.sqrt(np.sum(filt * filt, axis=0, keepdims=True) + 1e-4)
    norm_mat = filt_norm.T @ filt_norm
    inner_pro = (filt.T @ filt) / norm_mat
    eye = np.diag([1.0] * n_filt)
    if power == 0:
        cross_terms = 2.0 - 2.0 * inner_pro
        final = -np.log(cross_terms + eye)
    elif power == 1:
        cross_terms = 2.0 - 2.0 * inner_pro + eye
        final = np.power(cross_terms, np.ones_like(cross_terms) * (-0.5))
    else:
        cross_terms = 2.0 - 2.0 * inner_pro + eye
        final = np.power(cross_terms, np.ones_like(cross_terms) * (-1))
    final = final - np.tril(final)
    cnt = n_filt * (n_filt - 1) / 2.0
    return np.sum(final) / cnt


# ---- VisDA accuracy (the reference's per-batch accuracy + AverageMeter) ---------------------------
# docs/paper-notes.md#visda-evaluation
def batch_class_accuracy(logits, labels, num_class):
    """Per-class top-1 accuracy of one batch in percent (float32, as the reference) and the
    per-class label counts; a class without labels gets 0 (its 0 * inf NaN is overwritten)."""
    top1 = logits.topk(1, dim=1).indices[:, 0]
    hits = (top1 == labels).float()
    counts = torch.stack([(labels == c).sum() for c in range(num_class)]).float()
    hits_per_class = torch.stack([hits[top1 == c].sum() for c in range(num_class)]).float()
    acc = hits_per_class * (100.0 / counts)
    acc[counts == 0] = 0
    return acc, counts


class CountWeightedMean:
    """Running mean of per-class values weighted by per-class counts; classes never seen -> 0."""

    def __init__(self):
        self.weighted, self.count = 0, 0

    def update(self, values, counts):
        self.weighted = self.weighted + values * counts
        self.count = self.count + counts
        avg = self.weighted / self.count
        avg[self.count == 0] = 0
        self.avg, self.mean_over_classes = avg, avg.sum() / len(avg)


# ---- Cityscapes confusion (the reference's confusion matrix and scores) --------------------------
# docs/paper-notes.md#cityscapes-evaluation
def confusion(n_cl, pred, gt):
    """hist[gt, pred] over the pixels with 0 <= gt < n_cl, the labelled and the correct count."""
    keep = (gt >= 0) & (gt < n_cl)
    g, p = gt[keep].astype(np.int64), pred[keep].astype(np.int64)
    hist = np.zeros((n_cl, n_cl), np.int64)
    np.add.at(hist, (g, p), 1)
    return hist, int(keep.sum()), int((g == p).sum())


def scores(hist, correct, labeled):
    """Per-class IoU (NaN for 0/0), its NaN-mean, pixel accuracy — all as fractions."""
    inter = np.diag(hist).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / (hist.sum(1) + hist.sum(0) - inter)
    return iou, np.nanmean(iou), correct / labeled


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "data/fixtures/metrics"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20210701)
    t = {}

    random_features = rng.standard_normal((50, 16))
    for name, x in (("random", random_features), ("small", 0.01 * random_features)):
        t["hse_" + name + "_features"] = x
        t["hse_" + name + "_energy"] = np.array([mhe_energy(x, s) for s in (0, 1, 2)])

    # 40 samples, 5 classes, class 3 never in the labels; three batches of unequal size.
    num_class = 5
    logits = rng.standard_normal((40, num_class))
    labels = rng.choice([0, 1, 2, 4], size=40, p=[0.5, 0.2, 0.2, 0.1])
    logits[np.arange(40) % 3 == 0, :] = 0
    logits[np.arange(40) % 3 == 0, labels[np.arange(40) % 3 == 0]] = 1  # some sure hits
    meter = CountWeightedMean()
    for lo, hi in ((0, 17), (17, 30), (30, 40)):
        acc, n = batch_class_accuracy(torch.from_numpy(logits[lo:hi]), torch.from_numpy(labels[lo:hi]), num_class)
        meter.update(acc, n)
    t["cls_logits"] = logits
    t["cls_labels"] = labels.astype(np.int64)
    t["cls_class_acc"] = meter.avg.double().numpy()
    t["cls_mean_acc"] = np.array([float(meter.mean_over_classes)])

    # 2 images 12 x 16, 6 classes; class 5 never labelled or predicted (NaN), ignore 255 pixels.
    C = 6
    gt = rng.integers(0, 5, size=(2, 12, 16))
    pred = np.where(rng.random((2, 12, 16)) < 0.6, gt, rng.integers(0, 5, size=(2, 12, 16)))
    gt[rng.random((2, 12, 16)) < 0.15] = 255
    hist, labeled, correct = np.zeros((C, C), np.int64), 0, 0
    for i in range(2):
        h, l, c = confusion(C, pred[i], gt[i])
        hist += h
        labeled += l
        correct += c
    iu, miou, pixel_acc = scores(hist, correct, labeled)
    t["seg_pred"] = pred.astype(np.int64)
    t["seg_labels"] = gt.astype(np.int64)
    t["seg_hist"] = hist
    t["seg_iou"] = iu
    t["seg_miou_pixel_acc"] = np.array([miou, pixel_acc])

    save_safetensors(os.path.join(out, "metrics.safetensors"), t)
    print("wrote", os.path.join(out, "metrics.safetensors"))


if __name__ == "__main__":
    main()
