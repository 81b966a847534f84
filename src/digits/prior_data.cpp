// src/digits/prior_data.cpp — the training and test sets of the digits benchmark's real-image
// priors: Fashion-MNIST alone, or Fashion-MNIST plus the UCI handwritten digits. The paper's
// prior (ImageNet) is real images from another source that already covers the target's kind
// of content; fashion+uci is the stand-in for that, decided before any run and never tuned on
// the real MNIST digits.
#include <algorithm>
#include <cmath>

#include "csg/digits/data.h"

namespace csg::data {

namespace {

constexpr int kFashionSide = 28;
// Every 5th UCI digit (index % 5 == 0: 360 of 1,797) is held out to score the prior on
// handwriting it has not seen; the other 1,437 are trained on.
constexpr int64_t kUciTestEvery = 5;
// One UCI draw per kFashionPerUci Fashion-MNIST images: 60,000 / 6 = 10,000 digit draws per
// epoch, one seventh of it (about 1,000 per digit class against 6,000 per product class).
// Why not class balance (50% digits)? That would repeat each of the 1,437 digits about 42
// times per epoch, and a prior that memorises 1,437 images learns little about handwriting.
// One seventh repeats each digit about 7 times per epoch (21 over the default 3 epochs)
// while still giving the digit classes enough weight that the features must separate them.
constexpr int64_t kFashionPerUci = 6;

GreyImages take(const GreyImages& set, bool held_out) {
  GreyImages out;
  out.rows = set.rows;
  out.cols = set.cols;
  const int64_t px = static_cast<int64_t>(set.rows) * set.cols;
  for (int64_t i = 0; i < set.count; ++i) {
    if ((i % kUciTestEvery == 0) != held_out) continue;
    out.pixels.insert(out.pixels.end(), set.image(i), set.image(i) + px);
    out.labels.push_back(set.labels[i]);
    ++out.count;
  }
  return out;
}

// `extra` appended to `base` `copies` times, its labels shifted by `label_offset`.
void append(GreyImages& base, const GreyImages& extra, int label_offset, int64_t copies) {
  CSG_CHECK(base.rows == extra.rows && base.cols == extra.cols, "prior data: ", extra.rows, "x", extra.cols,
            " images cannot join ", base.rows, "x", base.cols, " ones");
  for (int64_t c = 0; c < copies; ++c) {
    base.pixels.insert(base.pixels.end(), extra.pixels.begin(), extra.pixels.end());
    for (uint8_t l : extra.labels) base.labels.push_back(static_cast<uint8_t>(l + label_offset));
    base.count += extra.count;
  }
}

}  // namespace

const std::vector<std::string>& prior_kinds() {
  static const std::vector<std::string> kinds = {"fashion", "fashion+uci"};
  return kinds;
}

PriorSets open_prior_sets(const std::string& kind, const std::string& fashion_dir, const std::string& uci_path,
                          int out_size) {
  const std::vector<std::string>& kinds = prior_kinds();
  CSG_CHECK(std::find(kinds.begin(), kinds.end(), kind) != kinds.end(), "unknown prior \"", kind,
            "\"; the priors are fashion and fashion+uci");
  PriorSets sets;
  auto fashion_train = open_fashion_mnist(fashion_dir, "train");
  auto fashion_test = open_fashion_mnist(fashion_dir, "test", out_size);
  sets.tests.push_back({"Fashion-MNIST test", std::shared_ptr<const Dataset>(std::move(fashion_test))});
  if (kind == "fashion") {
    sets.train = std::make_shared<GreyImageDataset>(fashion_train->name(), fashion_train->images(), 10, out_size);
    return sets;
  }
  // The 8x8 digits fill their frame as Fashion-MNIST's products fill theirs: both are brought
  // to 28x28 and padded to out_size the same way.
  const std::string path = find_uci_digits(uci_path);
  const GreyImages uci = upsample_grey(read_uci_digits(path), kFashionSide);
  const GreyImages uci_train = take(uci, false), uci_test = take(uci, true);
  CSG_CHECK(uci_train.count > 0 && uci_test.count > 0, path, ": ", uci.count,
            " digits are too few to hold every 5th out for testing (need at least 2)");
  GreyImages train = fashion_train->images();
  CSG_CHECK(train.rows == kFashionSide && train.cols == kFashionSide, "prior data: Fashion-MNIST images are ",
            train.rows, "x", train.cols, ", expected 28x28");
  const double draws = static_cast<double>(train.count) / kFashionPerUci;
  sets.uci_copies = std::max<int64_t>(1, std::llround(draws / uci_train.count));
  sets.uci_train = uci_train.count;
  append(train, uci_train, 10, sets.uci_copies);
  GreyImages test_digits;
  test_digits.rows = test_digits.cols = kFashionSide;
  append(test_digits, uci_test, 10, 1);
  sets.num_classes = 20;
  sets.train = std::make_shared<GreyImageDataset>("Fashion-MNIST train + UCI digits (" + path + ")", std::move(train), 20,
                                                  out_size);
  sets.tests.push_back({"UCI digits held out",
                        std::make_shared<GreyImageDataset>("UCI digits held out (" + path + ")", std::move(test_digits),
                                                           20, out_size)});
  return sets;
}

}  // namespace csg::data
