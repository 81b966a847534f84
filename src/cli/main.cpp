// src/cli/main.cpp — the `csg` command line.
#include <cstdio>
#include <cstring>
#include <string>

#include "csg/csg.h"

namespace csg::cli {
int run_predict(int argc, char** argv);
int run_train(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_hse(int argc, char** argv);
int run_make_tiny(int argc, char** argv);
int run_pretrain(int argc, char** argv);
}

namespace {

void usage() {
  std::printf(
      "usage: csg <command> [options]\n"
      "  info     build features, the CUDA device, and a forward/backward self-check on each device\n"
      "  train    csg train visda --data VISDA_ROOT --weights resnet101.pth [--layers 3,4] [--pool apool|gap]\n"
      "                     [--lambda 0.1] [--randaug-m 6] [--no-csg] [--device cuda] [--out DIR] [--resume C.ckpt]\n"
      "           csg train gta5 --data GTA5_ROOT --val-data CITYSCAPES_ROOT --weights resnet101.pth\n"
      "                     [--arch deeplab101] [--seg-head aspp-csg|aspp-v2] [--lambda 75] [--chunks 8]\n"
      "           (all flags: see README)\n"
      "  eval     csg eval visda|gta5 --data DIR --checkpoint C.ckpt [--weights W.pth]: the per-class table\n"
      "  hse      csg hse --data VISDA_ROOT [--checkpoint C.ckpt] [--weights W.pth]: hyperspherical energy s=0,1,2\n"
      "  pretrain csg pretrain fashion [--epochs N] [--width 16]: the digits benchmark's real-image prior,\n"
      "           a small ResNet trained on Fashion-MNIST, cached under data/generated/\n"
      "  make-tiny  csg make-tiny visda|gta5 DIR: a few dozen generated images in the published layout\n"
      "  predict  classify images with a torchvision ResNet checkpoint:\n"
      "           csg predict --arch resnet101 --weights W.pth [--num-classes N] [--resize 256] [--crop 224]\n"
      "                       [--mean R,G,B] [--std R,G,B] [--device cpu|cuda] [--all] [--out logits.npy] IMAGE...\n");
}

// A tiny graph through the engine on one device: y = sum(relu(a*b + a)), with known gradients.
bool self_check(csg::Device dev) {
  using namespace csg;
  Tensor a = from_vector(std::vector<float>{1, -2, 3, -4}, {2, 2}, {DType::F32, dev}).requires_grad_();
  Tensor b = from_vector(std::vector<float>{0.5f, 1, 2, 1}, {2, 2}, {DType::F32, dev});
  Tensor y = sum(relu(a * b + a));
  y.backward();
  std::vector<double> g = a.grad().to_vector();
  // relu active where a*b + a > 0: elements 0 (1.5) and 2 (9); d/da = b + 1 there.
  bool ok = y.item() == 10.5 && g[0] == 1.5 && g[1] == 0 && g[2] == 3 && g[3] == 0;
  std::printf("  %s self-check: %s\n", device_name(dev), ok ? "ok" : "FAILED");
  return ok;
}

int info() {
  std::printf("csg build: CUDA backend %s\n", csg::cuda::built_with_cuda() ? "compiled" : "not compiled");
  std::printf("  %s\n", csg::cuda::status().c_str());
  bool ok = self_check(csg::Device::CPU);
  if (csg::cuda::available()) ok = self_check(csg::Device::CUDA) && ok;
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  std::string cmd = argv[1];
  try {
    if (cmd == "info") return info();
    if (cmd == "predict") return csg::cli::run_predict(argc - 2, argv + 2);
    if (cmd == "train") return csg::cli::run_train(argc - 2, argv + 2);
    if (cmd == "eval") return csg::cli::run_eval(argc - 2, argv + 2);
    if (cmd == "hse") return csg::cli::run_hse(argc - 2, argv + 2);
    if (cmd == "pretrain") return csg::cli::run_pretrain(argc - 2, argv + 2);
    if (cmd == "make-tiny") return csg::cli::run_make_tiny(argc - 2, argv + 2);
    std::fprintf(stderr, "csg: unknown command '%s'\n", cmd.c_str());
    usage();
    return 2;
  } catch (const csg::Error& e) {
    std::fprintf(stderr, "csg: error: %s\n", e.what());
    return 1;
  }
}
