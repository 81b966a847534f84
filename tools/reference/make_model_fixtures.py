#!/usr/bin/python3
"""Reference outputs of torchvision models for csg's parity tests.

For each architecture: build the torchvision model with random weights and randomised BN
statistics, torch.save its state_dict (<arch>.pth, read back by csg's own .pth reader), run
one forward in eval mode on a fixed input and write the input, target, logits, loss and
layer1..4 outputs to <arch>_ref.safetensors (written by hand here; no safetensors package
needed).

The same forward then runs in float64 (the float32 weights and input, converted), with one
backward of the cross-entropy loss: the "f64.*" entries hold that loss and selected parameter
gradients. Gradients are compared in float64 because in float32 the two sides round
differently and, among millions of ReLU inputs, one may lie within that rounding of zero: its
sign flips and the gradient through that unit jumps (measured: one input of 2.5e-7 in
deeplab50's layer4.2 moved layer4.2.conv2's gradient by 1.2% of its largest entry).

Run with Debian's python3-torch:  /usr/bin/python3 tools/reference/make_model_fixtures.py OUT_DIR
Fixture version 2.
"""
import copy
import os
import sys

import torch
import torchvision

from resnet_stages import randomise_bn, resnet_stages
from safetensors_io import save_safetensors as save_arrays

VERSION = 2


def save_safetensors(path, tensors, metadata):
    """float32 for every entry but the float64 ones ("f64.*")."""
    def array(k, t):
        return t.detach().to(torch.float64 if k.startswith("f64.") else torch.float32).contiguous().cpu().numpy()
    save_arrays(path, {k: array(k, t) for k, t in tensors.items()}, metadata)


def float64_pass(model, x, loss_of, grads):
    """The loss and the named gradients of a float64 copy of `model` at input x (float64)."""
    model64 = copy.deepcopy(model).double()
    model64.zero_grad(set_to_none=True)
    loss = loss_of(model64, x.double())
    loss.backward()
    params = dict(model64.named_parameters())
    out = {"f64.loss": loss.reshape(1)}
    for g in grads:
        out["f64.grad." + g] = params[g].grad
    return out


def make(arch, out_dir, num_classes, dilate, size, grads):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    kwargs = {"num_classes": num_classes}
    if dilate:
        kwargs["replace_stride_with_dilation"] = [False, True, True]
    model = getattr(torchvision.models, arch.split("_")[0])(weights=None, **kwargs)
    randomise_bn(model, gen)
    model.eval()
    name = arch
    torch.save(model.state_dict(), os.path.join(out_dir, name + ".pth"))
    x = torch.rand(2, 3, size, size, generator=gen) * 2 - 1
    target = torch.tensor([1, num_classes - 1])
    feats = resnet_stages(model, x)
    logits = model.fc(torch.flatten(model.avgpool(feats[3]), 1))
    loss = torch.nn.functional.cross_entropy(logits, target)
    out = {"input": x, "target": target.float(), "logits": logits, "loss": loss.reshape(1)}
    for i, f in enumerate(feats):
        out["layer%d" % (i + 1)] = f

    def loss_of(m, inp):
        return torch.nn.functional.cross_entropy(m.fc(torch.flatten(m.avgpool(resnet_stages(m, inp)[3]), 1)), target)
    out.update(float64_pass(model, x, loss_of, grads))
    save_safetensors(os.path.join(out_dir, name + "_ref.safetensors"), out,
                     {"version": str(VERSION), "arch": arch, "torch": torch.__version__})
    print("wrote %s: logits %s, loss %.6f" % (name, tuple(logits.shape), loss.item()))


class AsppBranch(torch.nn.Sequential):
    def __init__(self, cin, k, dilation):
        super().__init__(torch.nn.Conv2d(cin, 256, k, padding=dilation if k == 3 else 0, dilation=dilation, bias=False),
                         torch.nn.BatchNorm2d(256), torch.nn.ReLU())


class AsppPool(torch.nn.Sequential):
    def __init__(self, cin):
        super().__init__(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Conv2d(cin, 256, 1, bias=False),
                         torch.nn.BatchNorm2d(256), torch.nn.ReLU())

    def forward(self, x):
        y = super().forward(x)
        return torch.nn.functional.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)


class Aspp(torch.nn.Module):
    """The CSG reference's ASPP (docs/paper-notes.md#the-segmentation-network), with its parameter names."""

    def __init__(self, cin):
        super().__init__()
        self.convs = torch.nn.ModuleList([AsppBranch(cin, 1, 1)] + [AsppBranch(cin, 3, r) for r in (12, 24, 36)] +
                                         [AsppPool(cin)])
        self.project = torch.nn.Sequential(torch.nn.Conv2d(5 * 256, 256, 1, bias=False), torch.nn.BatchNorm2d(256),
                                           torch.nn.ReLU(), torch.nn.Dropout(0.5))

    def forward(self, x):
        return self.project(torch.cat([c(x) for c in self.convs], 1))


class Head(torch.nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.conv2d_list = torch.nn.ModuleList([torch.nn.Sequential(
            Aspp(2048), torch.nn.Conv2d(256, 256, 3, padding=1, bias=False), torch.nn.BatchNorm2d(256),
            torch.nn.ReLU(), torch.nn.Conv2d(256, num_classes, 1))])

    def forward(self, x):
        return self.conv2d_list[0](x)


def make_deeplab(out_dir, size):
    """Dilated ResNet-50 (output stride 8) + the reference ASPP head, as csg's DeepLab."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(2)
    backbone = torchvision.models.resnet50(weights=None, replace_stride_with_dilation=[False, True, True])
    model = torch.nn.Module()
    for n in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"):
        setattr(model, n, getattr(backbone, n))
    model.fc_new = Head(19)
    randomise_bn(model, gen)
    model.eval()
    torch.save(model.state_dict(), os.path.join(out_dir, "deeplab50.pth"))
    x = torch.rand(2, 3, size, size, generator=gen) * 2 - 1
    feats = resnet_stages(model, x)
    low = model.fc_new(feats[3])
    logits = torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=True)
    target = torch.randint(0, 19, (2, size, size), generator=gen)
    target[0, :5, :] = 255
    loss = torch.nn.functional.cross_entropy(logits, target, ignore_index=255)
    out = {"input": x, "target": target.float(), "logits": logits, "loss": loss.reshape(1), "layer4": feats[3]}
    grads = ["fc_new.conv2d_list.0.4.weight", "fc_new.conv2d_list.0.0.convs.1.0.weight",
             "fc_new.conv2d_list.0.0.convs.4.1.weight", "fc_new.conv2d_list.0.0.project.1.weight",
             "layer4.2.conv2.weight", "conv1.weight"]

    def loss_of(m, inp):
        up = torch.nn.functional.interpolate(m.fc_new(resnet_stages(m, inp)[3]), size=(size, size), mode="bilinear",
                                             align_corners=True)
        return torch.nn.functional.cross_entropy(up, target, ignore_index=255)
    out.update(float64_pass(model, x, loss_of, grads))
    save_safetensors(os.path.join(out_dir, "deeplab50_ref.safetensors"), out,
                     {"version": str(VERSION), "arch": "deeplab50", "torch": torch.__version__})
    print("wrote deeplab50: logits %s, loss %.6f" % (tuple(logits.shape), loss.item()))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "build/fixtures"
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    common = ["conv1.weight", "bn1.weight", "bn1.bias", "layer1.0.conv1.weight", "layer4.0.downsample.0.weight",
              "fc.weight", "fc.bias"]
    make("resnet18", out_dir, 10, False, 64, common + ["layer2.1.conv2.weight", "layer3.0.bn2.weight"])
    make("resnet50", out_dir, 12, False, 64, common + ["layer2.3.conv3.weight", "layer3.5.bn3.bias"])
    make("resnet101", out_dir, 12, False, 64, common + ["layer3.22.conv2.weight", "layer3.22.bn2.weight"])
    make("resnet50_dilated", out_dir, 19, True, 64, common + ["layer4.2.conv2.weight", "layer3.1.conv2.weight"])
    make_deeplab(out_dir, 65)
    with open(os.path.join(out_dir, "VERSION"), "w") as f:
        f.write("%d\n" % VERSION)


if __name__ == "__main__":
    main()
