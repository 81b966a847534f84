// tools/bench/checksum_bench.cpp — what verifying a checkpoint's CRC-32C checksums costs on a
// ResNet-101 training checkpoint, against the load it is part of.
//
//   build/bench/checksum_bench [--checkpoint PATH] [--passes P]
// Without --checkpoint, writes the checkpoint `csg train visda` writes at its defaults (ResNet-101
// f_e, the classifier and projection heads of layers 3 and 4, SGD momentum for every trained
// parameter, two 65,536 x 128 negatives queues) to a temporary folder (removed at exit). Prints,
// best of P passes (default 5), the file already in the page cache:
//  (a) CRC-32C over the file's bytes in memory: the CPU's crc32 instruction and the tables;
//  (b) verify_safetensors (read every byte, check every checksum) and load_checkpoint (read,
//      check, build the tensors), whose difference from a read is the check's share.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "csg/io/checkpoint.h"
#include "csg/io/safetensors.h"
#include "csg/train.h"
#include "tests/internals.h"

using namespace csg;
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <class F>
double best_of(int passes, F&& f) {
  double best = 1e30;
  for (int i = 0; i < passes; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

// csg train visda's checkpoint at its defaults, momentum included (as after the first step).
void write_resnet101_checkpoint(const std::string& path) {
  train::Config cfg = train::default_config(train::Task::Visda);
  train::CsgNetwork net(cfg);
  train::CsgNetwork::Groups g = net.parameter_groups();
  optim::SGD sgd({{"backbone", g.backbone, cfg.lr * cfg.factor}, {"task_head", g.task_head, cfg.lr},
                  {"projection", g.projection, cfg.lr}},
                 cfg.momentum, cfg.weight_decay);
  size_t k = 0;
  for (const optim::ParamGroup& group : sgd.groups())
    for (const Tensor& p : group.params) sgd.momentum_buffers()[k++] = p.detach().clone();
  save_checkpoint(path, train::training_checkpoint(cfg, net, sgd, 1, "bench"));
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  int passes = 5;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--checkpoint") && i + 1 < argc) path = argv[++i];
    else if (!std::strcmp(argv[i], "--passes") && i + 1 < argc) passes = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: %s [--checkpoint PATH] [--passes P]\n", argv[0]);
      return 2;
    }
  }
  fs::path tmp;
  if (path.empty()) {
    tmp = fs::temp_directory_path() / ("csg_checksum_bench_" + std::to_string(::getpid()));
    fs::create_directories(tmp);
    path = (tmp / "resnet101.ckpt").string();
    const auto t0 = std::chrono::steady_clock::now();
    write_resnet101_checkpoint(path);
    std::printf("wrote %s (ResNet-101, csg train visda's defaults) in %.2f s, checksums included\n", path.c_str(),
                seconds_since(t0));
  }
  std::ifstream f(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const double gb = bytes.size() / 1e9;
  size_t tensors = 0;
  const double load = best_of(passes, [&] { tensors = load_checkpoint(path).tensors.size(); });
  const double verify = best_of(passes, [&] { verify_safetensors(path); });
  uint32_t sink = 0;
  const double crc_hw = best_of(passes, [&] { sink ^= io::crc32c(bytes.data(), bytes.size()); });
  const double crc_sw = best_of(passes, [&] { sink ^= io::crc32c_portable(0, bytes.data(), bytes.size()); });
  std::printf("%s: %.1f MB, %zu tensors; best of %d passes, file in the page cache\n", path.c_str(),
              bytes.size() / 1e6, tensors, passes);
  std::printf("  CRC-32C of every byte in memory: %.1f ms = %.2f GB/s (%s)\n", crc_hw * 1e3, gb / crc_hw,
              io::crc32c_hardware() ? "the CPU's crc32 instruction" : "tables: this CPU has no SSE4.2");
  std::printf("  CRC-32C of every byte in memory: %.1f ms = %.2f GB/s (slicing-by-8 tables)\n", crc_sw * 1e3,
              gb / crc_sw);
  std::printf("  verify_safetensors (csg verify): %.1f ms = %.2f GB/s\n", verify * 1e3, gb / verify);
  std::printf("  load_checkpoint (read, verify, build tensors): %.1f ms; the checksums are %.0f%% of it\n",
              load * 1e3, 100 * crc_hw / load);
  if (sink == 0x12345678u) std::printf(" ");  // keeps the CRC loops from being optimised away
  if (!tmp.empty()) fs::remove_all(tmp);
  return 0;
}
