#!/usr/bin/python3
"""PyTorch's Grad-CAM of a torchvision ResNet-18 for `csg gradcam` (tests/test_gradcam.cpp).

A ResNet-18 (10 classes, random weights from a fixed seed, BN statistics from
resnet_stages.randomise_bn) is saved with torch.save as gradcam_resnet18.pth. Two normalised
inputs x [2, 3, 96, 128] go through it in eval mode with a hook that keeps layer4's output A;
the logit of class 3 is summed over the batch and back-propagated, then, per image,
  w_c = mean over (h, w) of dlogit/dA_c,   cam = ReLU(sum_c w_c A_c)   ([2, 3, 4] at layer4),
  up  = F.interpolate(cam, (96, 128), bilinear, align_corners=False), min-max normalised per image.
Written to gradcam_ref.safetensors: x, logits, cam (raw, layer4 size) and cam_up (normalised).

Run with Debian's python3-torch:  /usr/bin/python3 tools/reference/make_gradcam_fixtures.py OUT_DIR
"""
import os
import sys

import torch
import torch.nn.functional as F
import torchvision

from resnet_stages import randomise_bn
from safetensors_io import save_safetensors

CLASS = 3


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "build/fixtures/gradcam"
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None, num_classes=10)
    randomise_bn(model, torch.Generator().manual_seed(1))
    model.eval()
    torch.save(model.state_dict(), os.path.join(out_dir, "gradcam_resnet18.pth"))
    x = torch.randn(2, 3, 96, 128, generator=torch.Generator().manual_seed(2))
    kept = {}
    model.layer4.register_forward_hook(lambda m, i, o: kept.update(a=o))
    logits = model(x)
    a = kept["a"]
    (grad,) = torch.autograd.grad(logits[:, CLASS].sum(), a)
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * a).sum(dim=1))
    up = F.interpolate(cam.unsqueeze(1), size=x.shape[2:], mode="bilinear", align_corners=False).squeeze(1)
    lo = up.amin(dim=(1, 2), keepdim=True)
    hi = up.amax(dim=(1, 2), keepdim=True)
    up = (up - lo) / (hi - lo)
    save_safetensors(os.path.join(out_dir, "gradcam_ref.safetensors"),
                     {"x": x.numpy(), "logits": logits.detach().numpy(), "cam": cam.detach().numpy(),
                      "cam_up": up.detach().numpy()},
                     {"torch": torch.__version__, "torchvision": torchvision.__version__, "class": str(CLASS)})
    print("wrote", out_dir, "cam", tuple(cam.shape), "max", float(cam.max()))


if __name__ == "__main__":
    main()
