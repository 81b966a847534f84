// tools/bench/jpeg_decode_bench.cpp — JPEG decoding speed, stb_image against libjpeg-turbo, and
// what it does to the VisDA data loader, on the same generated files in the same run.
//
//   build/bench/jpeg_decode_bench [--images N] [--workers W] [--passes P]
// Writes N (default 500) JPEGs of 500x375 (VisDA's typical size; quality 90, 4:2:0, written by
// stb_image_write) with photo-like content — gradients, filled shapes, noise — in the VisDA
// layout (train/<class>/<name>.jpg + train/image_list.txt) in a temporary folder, then prints:
//  (a) decode throughput of each decoder on one thread, files already in memory (best of P
//      passes, default 3): images/s and MB/s of JPEG input;
//  (b) images/s of csg::data::DataLoader over the folder (open_visda, the VisDA train transform
//      at 224 with RandAugment N=1 M=6, query and key views, batch 32, W workers, default 2),
//      one epoch after a warm-up epoch, with each decoder.
// The folder is removed at exit.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>

#include "csg/augment.h"
#include "csg/data/datasets.h"
#include "csg/data/loader.h"
#include "csg/image.h"
#include "tests/internals.h"

using namespace csg;
namespace fs = std::filesystem;

namespace {

constexpr int kWidth = 500, kHeight = 375;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A photo-like picture: a two-colour diagonal gradient, a dozen filled discs and rectangles,
// and Gaussian noise of sigma 6 (sensor grain: it is what makes real JPEGs expensive to decode).
image::Image make_picture(std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255), px(0, kWidth - 1), py(0, kHeight - 1), size(15, 120);
  std::normal_distribution<float> grain(0.f, 6.f);
  image::Image im;
  im.width = kWidth;
  im.height = kHeight;
  im.rgb.resize(static_cast<size_t>(kWidth) * kHeight * 3);
  int from[3], to[3];
  for (int c = 0; c < 3; ++c) from[c] = byte(rng), to[c] = byte(rng);
  for (int y = 0; y < kHeight; ++y)
    for (int x = 0; x < kWidth; ++x) {
      const float t = float(x + y) / float(kWidth + kHeight - 2);
      for (int c = 0; c < 3; ++c) im.at(x, y)[c] = static_cast<uint8_t>(from[c] + t * (to[c] - from[c]));
    }
  for (int s = 0; s < 12; ++s) {
    const int cx = px(rng), cy = py(rng), r = size(rng), kind = s % 2;
    const uint8_t col[3] = {uint8_t(byte(rng)), uint8_t(byte(rng)), uint8_t(byte(rng))};
    for (int y = std::max(0, cy - r); y < std::min(kHeight, cy + r); ++y)
      for (int x = std::max(0, cx - r); x < std::min(kWidth, cx + r); ++x)
        if (kind == 1 || (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) std::memcpy(im.at(x, y), col, 3);
  }
  for (uint8_t& v : im.rgb) v = static_cast<uint8_t>(std::clamp(int(std::lround(v + grain(rng))), 0, 255));
  return im;
}

// Writes `n` pictures as <root>/train/<class>/img_<i>.jpg with image_list.txt; returns the paths.
std::vector<std::string> write_visda_folder(const fs::path& root, int n) {
  std::mt19937 rng(0);
  const auto& classes = data::visda_class_names();
  std::ofstream list(root / "train" / "image_list.txt");
  std::vector<std::string> paths;
  for (int i = 0; i < n; ++i) {
    const int label = i % data::kVisdaNumClasses;
    const std::string rel = std::string(classes[label]) + "/img_" + std::to_string(i) + ".jpg";
    fs::create_directories(root / "train" / classes[label]);
    const std::string path = (root / "train" / rel).string();
    image::Image im = make_picture(rng);
    if (!stbi_write_jpg(path.c_str(), im.width, im.height, 3, im.rgb.data(), 90)) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      std::exit(1);
    }
    list << rel << " " << label << "\n";
    paths.push_back(path);
  }
  return paths;
}

using DecodeFn = image::Image (*)(const uint8_t*, size_t, const std::string&, int64_t);

// Best of `passes` timings of decoding every file once on this thread.
double best_decode_seconds(DecodeFn decode, const std::vector<std::string>& files, int passes) {
  double best = 1e30;
  for (int p = 0; p < passes; ++p) {
    auto t0 = std::chrono::steady_clock::now();
    for (const std::string& f : files) {
      image::Image im = decode(reinterpret_cast<const uint8_t*>(f.data()), f.size(), "bench.jpg", image::kDefaultMaxPixels);
      if (im.width != kWidth) std::abort();
    }
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

// Images per second of one loader epoch (after one warm-up epoch) with the current JPEG decoder.
double loader_images_per_second(const fs::path& root, int workers) {
  std::shared_ptr<const data::Dataset> train = data::open_visda(root.string(), "train");
  augment::ClassificationTransform t;  // csg train visda's defaults: 224, RandAugment N=1 M=6
  data::LoaderOptions opt;
  opt.batch_size = 32;
  opt.shuffle = true;
  opt.num_workers = workers;
  opt.seed = 1;
  data::DataLoader loader(train, augment::classification_train_transform(t), opt);
  double secs = 0;
  int64_t images = 0;
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    auto t0 = std::chrono::steady_clock::now();
    loader.start_epoch(epoch);
    int64_t seen = 0;
    while (auto b = loader.next()) seen += b->size();
    if (epoch == 1) secs = seconds_since(t0), images = seen;
  }
  return images / secs;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 500, workers = 2, passes = 3;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--images") && i + 1 < argc) {
      n = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--workers") && i + 1 < argc) {
      workers = std::max(0, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--passes") && i + 1 < argc) {
      passes = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--images N] [--workers W] [--passes P]\n", argv[0]);
      return 2;
    }
  }
  if (!image::have_libjpeg_turbo()) {
    std::printf("jpeg decode benchmark skipped: built without libjpeg-turbo (make JPEG=0, or jpeglib.h missing)\n");
    return 0;
  }
  char tmpl[] = "/tmp/csg-jpeg-bench-XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    return 1;
  }
  const fs::path root = tmpl;
  fs::create_directories(root / "train");
  const std::vector<std::string> paths = write_visda_folder(root, n);
  std::vector<std::string> files;
  double megabytes = 0;
  for (const std::string& p : paths) {
    std::ifstream f(p, std::ios::binary);
    files.emplace_back((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    megabytes += files.back().size() / 1e6;
  }
  std::printf("jpeg decode benchmark: %d JPEGs %dx%d, quality 90 4:2:0, %.1f kB each on average, in %s\n", n, kWidth,
              kHeight, megabytes * 1000 / n, root.c_str());

  struct Decoder {
    const char* name;
    DecodeFn fn;
    image::JpegDecoder choice;
  };
  const Decoder decoders[] = {{"stb_image", image::decode_with_stb, image::JpegDecoder::Stb},
                              {"libjpeg-turbo", image::decode_with_libjpeg, image::JpegDecoder::LibjpegTurbo}};
  for (const Decoder& d : decoders) {
    const double s = best_decode_seconds(d.fn, files, passes);
    std::printf("decode 1 thread %-14s %7.1f images/s  %6.1f MB/s (best of %d passes)\n", d.name, n / s,
                megabytes / s, passes);
    std::fflush(stdout);
  }
  const image::JpegDecoder saved = image::jpeg_decoder();
  for (const Decoder& d : decoders) {
    image::set_jpeg_decoder(d.choice);
    std::printf("loader %d workers %-14s %7.1f images/s (VisDA train transform 224, batch 32, 2 views)\n", workers,
                d.name, loader_images_per_second(root, workers));
    std::fflush(stdout);
  }
  image::set_jpeg_decoder(saved);
  fs::remove_all(root);
  return 0;
}
