// tests/test_fuzz_regressions.cpp — inputs the fuzzers found (data/fixtures/fuzz/, see its
// README), each now refused with a csg::Error instead of misbehaving.
#include <fstream>
#include <iterator>

#include "csg/image.h"
#include "src/io/pickle.h"
#include "tests/testing.h"

using namespace csg;

namespace {
std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(FuzzRegressions, SelfAppendingPickleListIsRefused) {
  // PROTO 2, EMPTY_LIST, BINPUT 0, MARK, DUP, APPENDS: a list appended to itself leaked
  // (a shared_ptr cycle).
  const std::string path = "data/fixtures/fuzz/pickle_self_appending_list.pkl";
  std::vector<uint8_t> bytes = read_all(path);
  ASSERT_FALSE(bytes.empty()) << path;
  std::string e = error_of([&] { io::pickle::unpickle(bytes.data(), bytes.size(), path); });
  EXPECT_NE(e.find("cycle"), std::string::npos) << e;
}

TEST(FuzzRegressions, JpegWithOversizedHuffmanTableIsRefused) {
  // 9 bytes (FFD8 FFC4 ...): code counts over 256 made stb_image write past its tables.
  std::string e = error_of([] { image::load("data/fixtures/fuzz/stb_jpeg_dht_over_256_codes.jpg"); });
  EXPECT_NE(e.find("corrupt JPEG"), std::string::npos) << e;
  // The same kind of table behind a run of 0xFF fill bytes, which stb skips before the SOI marker.
  e = error_of([] { image::load("data/fixtures/fuzz/stb_jpeg_dht_after_fill_bytes.jpg"); });
  EXPECT_NE(e.find("corrupt JPEG"), std::string::npos) << e;
}
