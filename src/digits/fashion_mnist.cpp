// src/digits/fashion_mnist.cpp — idx files (plain or gzipped) and the Fashion-MNIST data set.
#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "src/io/zip_reader.h"  // io::crc32: the same CRC-32 as PNG chunks and gzip members
#include "csg/digits/data.h"

#include <stb/stb_image.h>  // stbi_zlib_decode_noheader_malloc (implementation in image.cpp)

namespace fs = std::filesystem;

namespace csg::data {

namespace {

std::vector<uint8_t> read_file(const std::string& path) {
  std::error_code ec;
  CSG_CHECK(fs::is_regular_file(path, ec), path, ": no such file");
  std::ifstream f(path, std::ios::binary);
  CSG_CHECK(f.good(), path, ": cannot open (no permission?)");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CSG_CHECK(!f.bad(), path, ": read error");
  return bytes;
}


uint32_t le32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }
uint32_t be32(const uint8_t* p) { return (static_cast<uint32_t>(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }

// One gzip member (RFC 1952): header, raw deflate data, CRC32, ISIZE.
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& gz, const std::string& path) {
  CSG_CHECK(gz.size() >= 18, path, ": gzip file truncated (", gz.size(), " bytes)");
  CSG_CHECK(gz[2] == 8, path, ": gzip compression method ", int(gz[2]), " is not deflate");
  const uint8_t flags = gz[3];
  size_t pos = 10;
  auto need = [&](size_t n) { CSG_CHECK(pos + n <= gz.size(), path, ": gzip header truncated"); };
  if (flags & 4) {  // FEXTRA
    need(2);
    const size_t xlen = gz[pos] | (gz[pos + 1] << 8);
    pos += 2;
    need(xlen);
    pos += xlen;
  }
  for (int bit : {8, 16}) {  // FNAME, FCOMMENT: zero-terminated
    if (!(flags & bit)) continue;
    while (pos < gz.size() && gz[pos] != 0) ++pos;
    need(1);
    ++pos;
  }
  if (flags & 2) pos += 2;  // FHCRC
  CSG_CHECK(pos + 8 <= gz.size(), path, ": gzip file truncated after its header");
  const uint32_t want_crc = le32(&gz[gz.size() - 8]);
  const uint32_t want_size = le32(&gz[gz.size() - 4]);
  // The trailer stays in the input: stb's inflater reads ahead up to 2 bytes past the last
  // deflate block and reports a "bad huffman code" when the buffer ends exactly there.
  const size_t input_len = gz.size() - pos;
  CSG_CHECK(input_len < static_cast<size_t>(INT32_MAX), path, ": gzip member too large");
  int out_len = 0;
  char* out = stbi_zlib_decode_noheader_malloc(reinterpret_cast<const char*>(&gz[pos]), static_cast<int>(input_len),
                                               &out_len);
  CSG_CHECK(out != nullptr, path, ": gzip data does not inflate (", stbi_failure_reason(),
            "); the file is corrupt or truncated");
  std::vector<uint8_t> bytes(reinterpret_cast<uint8_t*>(out), reinterpret_cast<uint8_t*>(out) + out_len);
  std::free(out);
  CSG_CHECK(static_cast<uint32_t>(bytes.size()) == want_size && io::crc32(bytes.data(), bytes.size()) == want_crc, path,
            ": gzip CRC/length check failed (", bytes.size(), " bytes inflated, trailer says ", want_size,
            "); the file is corrupt or truncated");
  return bytes;
}

}  // namespace

std::vector<uint8_t> read_maybe_gzip(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return gunzip(bytes, path);
  return bytes;
}

GreyImages read_idx_images(const std::string& path) {
  const std::vector<uint8_t> b = read_maybe_gzip(path);
  CSG_CHECK(b.size() >= 16, path, ": not an idx3-ubyte image file (", b.size(), " bytes, the header alone is 16)");
  const uint32_t magic = be32(&b[0]);
  CSG_CHECK(magic == 0x803, path, ": idx magic 0x", std::hex, magic, std::dec,
            " is not 0x00000803 (unsigned bytes, 3 dimensions) of an idx3-ubyte image file");
  GreyImages set;
  set.count = be32(&b[4]);
  const uint32_t rows = be32(&b[8]), cols = be32(&b[12]);
  CSG_CHECK(rows > 0 && cols > 0 && rows <= 4096 && cols <= 4096, path, ": implausible image size ", rows, "x", cols);
  set.rows = static_cast<int>(rows);
  set.cols = static_cast<int>(cols);
  const uint64_t expected = 16 + static_cast<uint64_t>(set.count) * rows * cols;
  CSG_CHECK(b.size() == expected, path, ": header says ", set.count, " images of ", rows, "x", cols, " (", expected,
            " bytes) but the file has ", b.size(), " bytes", b.size() < expected ? " (truncated)" : "");
  set.pixels.assign(b.begin() + 16, b.end());
  return set;
}

std::vector<uint8_t> read_idx_labels(const std::string& path) {
  const std::vector<uint8_t> b = read_maybe_gzip(path);
  CSG_CHECK(b.size() >= 8, path, ": not an idx1-ubyte label file (", b.size(), " bytes, the header alone is 8)");
  const uint32_t magic = be32(&b[0]);
  CSG_CHECK(magic == 0x801, path, ": idx magic 0x", std::hex, magic, std::dec,
            " is not 0x00000801 (unsigned bytes, 1 dimension) of an idx1-ubyte label file");
  const uint64_t count = be32(&b[4]);
  CSG_CHECK(b.size() == 8 + count, path, ": header says ", count, " labels but the file has ", b.size() - 8,
            b.size() < 8 + count ? " (truncated)" : "");
  return std::vector<uint8_t>(b.begin() + 8, b.end());
}

image::Image grey_to_rgb(const GreyImages& set, int64_t index, int out_size) {
  CSG_CHECK(index >= 0 && index < set.count, "grey_to_rgb: index ", index, " out of range [0,", set.count, ")");
  const int w = std::max(set.cols, out_size), h = std::max(set.rows, out_size);
  const int x0 = (w - set.cols) / 2, y0 = (h - set.rows) / 2;
  image::Image im;
  im.width = w;
  im.height = h;
  im.rgb.assign(static_cast<size_t>(w) * h * 3, 0);
  const uint8_t* src = set.image(index);
  for (int y = 0; y < set.rows; ++y)
    for (int x = 0; x < set.cols; ++x) {
      uint8_t* p = im.at(x0 + x, y0 + y);
      p[0] = p[1] = p[2] = src[y * set.cols + x];
    }
  return im;
}

std::vector<std::string> fashion_mnist_search_dirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("CSG_FASHION_MNIST"); env && *env) dirs.push_back(env);
  dirs.push_back("/usr/share/datasets/fashion-mnist");
  return dirs;
}

std::string fashion_mnist_file(const std::string& dir, const std::string& stem) {
  const std::string plain = (fs::path(dir) / stem).string();
  std::error_code ec;
  if (fs::is_regular_file(plain, ec)) return plain;
  if (fs::is_regular_file(plain + ".gz", ec)) return plain + ".gz";
  CSG_FAIL(dir, ": Fashion-MNIST file ", stem, " not found (neither ", plain, " nor ", plain, ".gz)");
}

std::string find_fashion_mnist(const std::string& dir) {
  const std::vector<std::string> dirs = dir.empty() ? fashion_mnist_search_dirs() : std::vector<std::string>{dir};
  std::string tried;
  for (const std::string& d : dirs) {
    std::error_code ec;
    if (fs::exists(fs::path(d) / "train-images-idx3-ubyte.gz", ec) ||
        fs::exists(fs::path(d) / "train-images-idx3-ubyte", ec))
      return d;
    tried += (tried.empty() ? "" : ", ") + d;
  }
  CSG_FAIL("Fashion-MNIST not found (looked in ", tried,
           " for train-images-idx3-ubyte[.gz]); install it with `apt-get install dataset-fashion-mnist` "
           "or set CSG_FASHION_MNIST to a directory holding the idx files");
}

const std::array<const char*, 10>& fashion_mnist_class_names() {
  static const std::array<const char*, 10> names = {"t-shirt/top", "trouser", "pullover", "dress", "coat",
                                                    "sandal",      "shirt",   "sneaker",  "bag",   "ankle boot"};
  return names;
}

GreyImageDataset::GreyImageDataset(std::string name, GreyImages set, int num_classes, int out_size)
    : name_(std::move(name)), set_(std::move(set)), num_classes_(num_classes), out_size_(out_size) {
  CSG_CHECK(static_cast<int64_t>(set_.labels.size()) == set_.count, name_, ": ", set_.count, " images but ",
            set_.labels.size(), " labels");
  for (int64_t i = 0; i < set_.count; ++i)
    CSG_CHECK(set_.labels[i] < num_classes_, name_, ": label ", int(set_.labels[i]), " of image ", i,
              " is outside [0,", num_classes_, ")");
}

Sample GreyImageDataset::get(int64_t index) const {
  CSG_CHECK(index >= 0 && index < size(), name_, ": index ", index, " out of range [0,", size(), ")");
  Sample s;
  s.image = grey_to_rgb(set_, index, out_size_);
  s.label = set_.labels[index];
  s.path = path(index);
  s.index = index;
  return s;
}

std::string GreyImageDataset::path(int64_t index) const { return name_ + "#" + std::to_string(index); }

std::unique_ptr<GreyImageDataset> open_fashion_mnist(const std::string& dir, const std::string& split, int out_size) {
  CSG_CHECK(split == "train" || split == "test", "open_fashion_mnist: split must be \"train\" or \"test\", got \"",
            split, "\"");
  const std::string root = find_fashion_mnist(dir);
  const std::string prefix = split == "train" ? "train" : "t10k";
  const std::string images_file = fashion_mnist_file(root, prefix + "-images-idx3-ubyte");
  const std::string labels_file = fashion_mnist_file(root, prefix + "-labels-idx1-ubyte");
  GreyImages set = read_idx_images(images_file);
  set.labels = read_idx_labels(labels_file);
  CSG_CHECK(static_cast<int64_t>(set.labels.size()) == set.count, labels_file, ": ", set.labels.size(),
            " labels for the ", set.count, " images of ", images_file);
  return std::make_unique<GreyImageDataset>("Fashion-MNIST " + split + " (" + images_file + ")", std::move(set), 10,
                                            out_size);
}

}  // namespace csg::data
