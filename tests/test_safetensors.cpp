// tests/test_safetensors.cpp — safetensors read/write: a file written by Python (struct +
// json, as the reference library lays it out), round trips, atomic writes, and errors.
#include <dirent.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include "csg/io/pth.h"
#include "csg/io/safetensors.h"
#include "tests/expected_tensors.h"
#include "tests/testing.h"

using namespace csg;
using namespace csg::testing;

namespace {
const std::string kDir = "data/fixtures/pth/";

// A safetensors file from a header string and data bytes.
std::vector<char> make_file(const std::string& header, const std::vector<char>& data) {
  std::vector<char> out(8);
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.push_back(e->d_name);
    closedir(d);
  }
  return names;
}

void expect_bitwise_equal(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(a.shape(), b.shape());
  const Tensor ac = a.contiguous(), bc = b.contiguous();
  EXPECT_EQ(std::memcmp(ac.raw_data(), bc.raw_data(), static_cast<size_t>(a.numel()) * dtype_size(a.dtype())), 0);
}
}  // namespace

TEST(Safetensors, ReadsFileWrittenByPython) {
  std::map<std::string, std::string> meta;
  std::vector<NamedTensor> got = load_safetensors(kDir + "python.safetensors", &meta);
  expect_tensors_equal(got, read_expected(kDir + "python.safetensors.expected.txt"), "python.safetensors");
  EXPECT_EQ(meta.size(), 2u);
  EXPECT_EQ(meta["format"], "pt");
  EXPECT_EQ(meta["note"], "caf\xc3\xa9 \"quoted\"");  // JSON \u00e9 and \" decoded
}

TEST(Safetensors, RoundTripKeepsOrderValuesAndMetadata) {
  Tensor t32 = from_vector(std::vector<float>{1.5f, -0.f, 3e-39f, 7.f, -1e30f, 0.1f}, {2, 3});
  Tensor t64 = from_vector(std::vector<double>{3.141592653589793}, {});
  Tensor i64 = from_vector(std::vector<int64_t>{-(int64_t{1} << 62), 0, 42}, {3});
  Tensor none = zeros({0, 5});
  Tensor transposed = t32.transpose(0, 1);  // written contiguous
  std::vector<NamedTensor> in = {{"z.last_first", t32}, {"pi", t64}, {"ids", i64},
                                 {"empty", none},       {"t\"q\\\xc3\xa9", transposed}};
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"epoch", "3"}};
  const std::string path = temp_path("round.safetensors");
  save_safetensors(path, in, meta);

  std::map<std::string, std::string> meta_back;
  std::vector<NamedTensor> out = load_safetensors(path, &meta_back);
  EXPECT_EQ(meta_back, meta);
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    SCOPED_TRACE(in[i].name);
    EXPECT_EQ(out[i].name, in[i].name);
    expect_bitwise_equal(out[i].tensor, in[i].tensor);
  }
  // Header padded so the data starts 8-byte aligned.
  const std::vector<char> bytes = read_bytes(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
  std::remove(path.c_str());
}

TEST(Safetensors, CheckpointConvertsToSafetensorsExactly) {
  std::vector<NamedTensor> sd = load_pth(kDir + "plain.pth");
  const std::string path = temp_path("plain.safetensors");
  save_safetensors(path, sd);
  expect_tensors_equal(load_safetensors(path), read_expected(kDir + "plain.expected.txt"), "converted");
  std::remove(path.c_str());
}

TEST(Safetensors, WriteIsAtomicAndLeavesNoTemporaryFiles) {
  const std::string dir = temp_path("atomic_dir");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  const std::string path = dir + "/w.safetensors";
  save_safetensors(path, {{"a", ones({3})}});
  save_safetensors(path, {{"b", full({2}, 5.0)}});  // replaces the old file whole
  std::vector<NamedTensor> back = load_safetensors(path);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].name, "b");
  EXPECT_EQ(back[0].tensor.to_vector(), (std::vector<double>{5.0, 5.0}));
  EXPECT_EQ(list_dir(dir), (std::vector<std::string>{"w.safetensors"}));
  // A failed save (refused before writing) leaves the existing file intact.
  EXPECT_THROW(save_safetensors(path, {{"x", ones({1})}, {"x", ones({1})}}), Error);
  EXPECT_EQ(load_safetensors(path)[0].name, "b");
  EXPECT_EQ(list_dir(dir), (std::vector<std::string>{"w.safetensors"}));
  std::remove(path.c_str());
  rmdir(dir.c_str());
}

TEST(Safetensors, SaveRefusesBadNamesAndPaths) {
  const std::string path = temp_path("bad.safetensors");
  expect_error_with([&] { save_safetensors(path, {{"w", ones({1})}, {"w", ones({1})}}); }, {path, "'w'", "twice"});
  expect_error_with([&] { save_safetensors(path, {{"", ones({1})}}); }, {path, "empty name"});
  expect_error_with([&] { save_safetensors(path, {{"__metadata__", ones({1})}}); }, {path, "reserved"});
  expect_error_with([&] { save_safetensors(path, {{"u", Tensor()}}); }, {path, "'u'", "undefined"});
  const std::string nodir = temp_path("no_such_dir") + "/x.safetensors";
  expect_error_with([&] { save_safetensors(nodir, {{"w", ones({1})}}); }, {nodir, "cannot create"});
  struct stat st;
  EXPECT_NE(stat(path.c_str(), &st), 0);  // nothing was written
}

TEST(Safetensors, MalformedFilesGiveErrorsNamingFileAndTensor) {
  const std::string path = temp_path("broken.safetensors");
  auto expect_bad = [&](const std::vector<char>& bytes, std::vector<std::string> words) {
    write_bytes(path, bytes);
    words.insert(words.begin(), path);
    expect_error_with([&] { load_safetensors(path); }, words);
  };
  const std::vector<char> four_floats(16, 0);
  const std::string ok = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  write_bytes(path, make_file(ok, four_floats));
  EXPECT_EQ(load_safetensors(path).at(0).tensor.shape(), (Shape{2, 2}));  // the baseline loads

  expect_error_with([] { load_safetensors("no_such.safetensors"); }, {"no_such.safetensors", "cannot open"});
  expect_bad({'\x05', 0, 0}, {"truncated", "8-byte header length"});
  expect_bad(make_file(ok, {}), {"truncated", "'w'"});
  std::vector<char> cut = make_file(ok, four_floats);
  cut.resize(20);
  expect_bad(cut, {"truncated", "header needs"});
  expect_bad(make_file(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", four_floats),
             {"'w'", "span 12 bytes", "needs 16"});
  expect_bad(make_file(R"({"w":{"dtype":"F8_E4M3","shape":[16],"data_offsets":[0,16]}})", four_floats),
             {"'w'", "unsupported dtype", "F8_E4M3"});
  expect_bad(make_file(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})", four_floats),
             {"invalid JSON at byte 56", "unexpected end"});
  expect_bad(make_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,16]}})", four_floats),
             {"'w'", "non-negative"});
  expect_bad(make_file(R"([1,2])", {}), {"expected a JSON object"});
  expect_bad(make_file(R"({"w":{"dtype":"F32","shape":[4]}})", four_floats), {"'w'", "data_offsets"});
  std::remove(path.c_str());
}

TEST(SafetensorsJson, StringsNumbersAndErrors) {
  namespace json = csg::io::json;
  json::Value v = json::parse(R"( {"s":"a\"b\\c\n\u00e9\ud83d\ude00","i":9007199254740993,"f":-1.5e3,"l":[true,false,null]} )",
                              "test");
  ASSERT_EQ(v.kind, json::Value::Kind::Object);
  EXPECT_EQ(v.find("s")->text, "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_TRUE(v.find("i")->is_integer);
  EXPECT_EQ(v.find("i")->integer, 9007199254740993LL);  // beyond double precision, kept exact
  EXPECT_FALSE(v.find("f")->is_integer);
  EXPECT_EQ(v.find("f")->number, -1500.0);
  EXPECT_EQ(v.find("l")->items.size(), 3u);
  EXPECT_EQ(json::parse(json::quote("x\"\\\n\x01y"), "q").text, "x\"\\\n\x01y");
  expect_error_with([] { json::parse(R"({"a":1,"a":2})", "dup"); }, {"dup", "duplicate key"});
  expect_error_with([] { json::parse(R"({"a":1} x)", "tail"); }, {"tail", "byte 8", "after the JSON value"});
  expect_error_with([] { json::parse(R"("\ud800")", "sur"); }, {"surrogate"});
  expect_error_with([] { json::parse(std::string(100, '['), "deep"); }, {"deeper than 64"});
}
