#!/usr/bin/python3
"""torchvision's logits for `csg predict`'s pipeline on JPEG and PNG files (tests/test_predict_parity.cpp).

A ResNet-18 (10 classes, random weights, BN statistics from resnet_stages.randomise_bn) is saved
with torch.save as predict_resnet18.pth; every image below goes through what torchvision users
run: PIL's decode (Image.open(f).convert("RGB"), libjpeg-turbo for JPEG), Resize(256),
CenterCrop(224), ToTensor, Normalize(ImageNet mean/std), then the model in eval mode. The
logits are written as "logits.<name>" ([1, 10] each) to predict_ref.safetensors.

Run with Debian's python3-torch:  /usr/bin/python3 tools/reference/make_predict_fixtures.py OUT_DIR
"""
import os
import sys

import PIL
import torch
import torchvision
import torchvision.transforms as T
from PIL import Image, features

from resnet_stages import randomise_bn
from safetensors_io import save_safetensors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# name -> file under the repository root (committed fixtures)
IMAGES = {
    "jpeg_ycc420": "data/fixtures/jpeg/ycc420.jpg",
    "jpeg_progressive": "data/fixtures/jpeg/progressive.jpg",
    "jpeg_cmyk": "data/fixtures/jpeg/cmyk.jpg",
    "png_source": "data/fixtures/image/source.png",
}


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "build/fixtures/predict"
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None, num_classes=10)
    randomise_bn(model, torch.Generator().manual_seed(1))
    model.eval()
    torch.save(model.state_dict(), os.path.join(out_dir, "predict_resnet18.pth"))
    preprocess = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                            T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    logits = {}
    with torch.no_grad():
        for name, rel in IMAGES.items():
            x = preprocess(Image.open(os.path.join(ROOT, rel)).convert("RGB")).unsqueeze(0)
            logits["logits." + name] = model(x).numpy()
    save_safetensors(os.path.join(out_dir, "predict_ref.safetensors"), logits,
                     {"torch": torch.__version__, "torchvision": torchvision.__version__, "pil": PIL.__version__,
                      "libjpeg": str(features.version("jpg"))})
    print("wrote", out_dir, sorted(logits))


if __name__ == "__main__":
    main()
