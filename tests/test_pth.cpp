// tests/test_pth.cpp — torch.save checkpoints read without Python: exact values for every
// fixture of tools/reference/make_pth_fixtures.py, and precise errors for damaged and
// malicious files.
#include <cstdio>
#include <fstream>

#include "csg/io/pth.h"
#include "tests/expected_tensors.h"
#include "tests/testing.h"

using namespace csg;
using namespace csg::testing;

namespace {
const std::string kDir = "data/fixtures/pth/";

void expect_fixture(const std::string& pth, const std::string& expected) {
  expect_tensors_equal(load_pth(kDir + pth), read_expected(kDir + expected), pth);
}

std::vector<uint8_t> bytes_of(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

io::pickle::ValuePtr unpickle_string(const std::string& s) {
  std::vector<uint8_t> b = bytes_of(s);
  return io::pickle::unpickle(b.data(), b.size(), "test.pkl").value;
}
}  // namespace

// ---- good checkpoints ------------------------------------------------------------------------------

TEST(Pth, PlainStateDictOfConvBnLinear) {
  expect_fixture("plain.pth", "plain.expected.txt");
  std::vector<NamedTensor> sd = load_pth(kDir + "plain.pth");
  std::vector<std::string> names;
  for (const auto& t : sd) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean",
                                             "bn.running_var", "bn.num_batches_tracked", "fc.weight", "fc.bias"}));
  EXPECT_EQ(sd[0].tensor.shape(), (Shape{4, 3, 3, 3}));
  EXPECT_EQ(sd[0].tensor.name(), "conv.weight");
  EXPECT_EQ(sd[6].tensor.dtype(), DType::I64);
  EXPECT_EQ(sd[6].tensor.dim(), 0);
  EXPECT_EQ(sd[6].tensor.item(), 7.0);
}

TEST(Pth, SharedStorageTransposedSlicedAndOffsetViews) {
  expect_fixture("views.pth", "views.expected.txt");
  // Views of one storage come back as independent contiguous copies.
  std::vector<NamedTensor> sd = load_pth(kDir + "views.pth");
  ASSERT_GE(sd.size(), 2u);
  EXPECT_NE(&sd[0].tensor.storage(), &sd[1].tensor.storage());
  sd[0].tensor.fill_(0.0);
  EXPECT_EQ(sd[1].tensor.to_vector()[1], 0.5);  // transposed[0][1] = base[1][0]
}

TEST(Pth, HalfBFloat16DoubleAndIntegerTypesWidenExactly) {
  expect_fixture("dtypes.pth", "dtypes.expected.txt");
}

TEST(Pth, PickleProtocol4Opcodes) { expect_fixture("protocol4.pth", "plain.expected.txt"); }

TEST(Pth, TrainingCheckpointWithDataParallelPrefixAndOptimizerState) {
  // {'epoch': 3, 'arch': 'tiny', 'state_dict': {'module.conv.weight': ...}, 'best_prec1': 0.5,
  //  'optimizer': {...momentum buffers...}}: only the state dict, without "module.".
  expect_fixture("wrapped.pth", "wrapped.expected.txt");
}

TEST(Pth, ModelKeyAndNestedDictsFlattenWithDots) { expect_fixture("nested.pth", "nested.expected.txt"); }

TEST(Pth, LegacyNonZipFormat) {
  expect_fixture("legacy.pth", "legacy.expected.txt");
  expect_fixture("legacy_views.pth", "legacy_views.expected.txt");
}

TEST(Pth, Zip64EndRecordsAndExtraFields) { expect_fixture("zip64.pth", "zip64.expected.txt"); }

// ---- damaged and malicious checkpoints ------------------------------------------------------------

TEST(Pth, MalformedAndMaliciousFixturesAreRefusedPrecisely) {
  // errors.txt: <file>\t<word>\t<word>... ; every word must be in the error message.
  std::ifstream in(kDir + "errors.txt");
  ASSERT_TRUE(in.good());
  int cases = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    std::vector<std::string> words;
    std::istringstream fields(line);
    for (std::string w; std::getline(fields, w, '\t');) words.push_back(w);
    const std::string path = kDir + words[0];
    SCOPED_TRACE(words[0]);
    words[0] = path;  // the error names the file too
    expect_error_with([&] { load_pth(path); }, words);
    ++cases;
  }
  EXPECT_GE(cases, 10);
}

TEST(Pth, MissingFileIsNamed) {
  expect_error_with([] { load_pth(kDir + "no_such_checkpoint.pth"); }, {"no_such_checkpoint.pth", "cannot open"});
}

TEST(Pth, TruncatedZipHasNoEndOfCentralDirectory) {
  const std::vector<char> good = read_bytes(kDir + "plain.pth");
  for (size_t keep : {good.size() - 1, good.size() - 30, good.size() / 2, size_t{10}}) {
    const std::string path = temp_path("truncated.pth");
    write_bytes(path, std::vector<char>(good.begin(), good.begin() + keep));
    expect_error_with([&] { load_pth(path); }, {path, "end-of-central-directory", "truncated"});
    std::remove(path.c_str());
  }
}

TEST(Pth, WrongMagicIsReported) {
  std::vector<char> bytes = read_bytes(kDir + "plain.pth");
  bytes[0] = 'Q';
  const std::string path = temp_path("flipped.pth");
  write_bytes(path, bytes);
  expect_error_with([&] { load_pth(path); }, {path, "wrong magic", "51 4b 03 04"});
  write_bytes(path, {});
  expect_error_with([&] { load_pth(path); }, {path, "wrong magic", "empty file"});
  // A pickle that is not torch's legacy header.
  write_bytes(path, {'\x80', '\x02', 'K', '\x05', '.'});
  expect_error_with([&] { load_pth(path); }, {path, "wrong magic"});
  std::remove(path.c_str());
}

TEST(Pth, CorruptStorageBytesFailTheCrc) {
  const std::string src = kDir + "plain.pth";
  io::ZipReader zip(src);
  const io::ZipEntry* e = zip.find("plain/data/0");
  ASSERT_NE(e, nullptr);
  std::vector<char> bytes = read_bytes(src);
  // Local header: 30 bytes + name + extra (torch pads the extra to align the payload).
  const size_t lh = e->local_header_offset;
  const size_t payload = lh + 30 + io::load_le16(reinterpret_cast<uint8_t*>(&bytes[lh + 26])) +
                         io::load_le16(reinterpret_cast<uint8_t*>(&bytes[lh + 28]));
  bytes[payload + 5] ^= 0x40;
  const std::string path = temp_path("corrupt.pth");
  write_bytes(path, bytes);
  expect_error_with([&] { load_pth(path); }, {path, "plain/data/0", "CRC-32 mismatch"});
  std::remove(path.c_str());
}

TEST(Pth, TruncatedLegacyPickleIsReported) {
  const std::vector<char> good = read_bytes(kDir + "legacy.pth");
  const std::string path = temp_path("legacy_cut.pth");
  write_bytes(path, std::vector<char>(good.begin(), good.begin() + 200));
  expect_error_with([&] { load_pth(path); }, {path, "legacy format", "truncated pickle"});
  std::remove(path.c_str());
}

// ---- the pieces ------------------------------------------------------------------------------------

TEST(PthZip, Crc32CheckValueAndEntries) {
  const std::string check = "123456789";
  EXPECT_EQ(io::crc32(reinterpret_cast<const uint8_t*>(check.data()), check.size()), 0xCBF43926u);
  EXPECT_EQ(io::crc32(nullptr, 0), 0u);
  io::ZipReader zip(kDir + "zip64.pth");
  ASSERT_NE(zip.find("zip64/data.pkl"), nullptr);
  EXPECT_EQ(zip.find("zip64/nothing"), nullptr);
  EXPECT_EQ(zip.read("zip64/version"), bytes_of("3\n"));
  expect_error_with([&] { zip.read("zip64/nothing"); }, {"zip64.pth", "zip64/nothing", "missing"});
}

TEST(PthPickle, PlainDataOpcodes) {
  using K = io::pickle::Value::Kind;
  // {'a': [1, -2, 300, -70000, 2**40, -1.5, True, None, 'é'], 'b': (x, x)} with memo reuse.
  using namespace std::string_literals;
  const std::string p = "\x80\x02}q\x00(X\x01\x00\x00\x00" "a"  // {  'a':
                        "]q\x01(K\x01J\xfe\xff\xff\xffM\x2c\x01J\x90\xee\xfe\xff"s  // [1, -2, 300, -70000,
                        + "\x8a\x06\x00\x00\x00\x00\x00\x01"s  // 2**40 (LONG1),
                        + "G\xbf\xf8\x00\x00\x00\x00\x00\x00"s  // -1.5 (BINFLOAT, big-endian),
                        + "\x88N\x8c\x02\xc3\xa9" "e"  // True, None, 'é']  (APPENDS)
                        + "X\x01\x00\x00\x00" "b" "h\x01h\x01\x86" "u."s;  // 'b': (a, a)}
  io::pickle::ValuePtr v = unpickle_string(p);
  ASSERT_EQ(v->kind, K::Dict);
  io::pickle::ValuePtr a = v->get("a");
  ASSERT_TRUE(a && a->kind == K::List);
  ASSERT_EQ(a->items.size(), 9u);
  EXPECT_EQ(a->items[0]->integer, 1);
  EXPECT_EQ(a->items[1]->integer, -2);
  EXPECT_EQ(a->items[2]->integer, 300);
  EXPECT_EQ(a->items[3]->integer, -70000);
  EXPECT_EQ(a->items[4]->integer, int64_t{1} << 40);
  EXPECT_EQ(a->items[5]->real, -1.5);
  EXPECT_TRUE(a->items[6]->boolean);
  EXPECT_EQ(a->items[7]->kind, K::None);
  EXPECT_EQ(a->items[8]->text, "\xc3\xa9");
  io::pickle::ValuePtr b = v->get("b");
  ASSERT_TRUE(b && b->kind == K::Tuple && b->items.size() == 2);
  EXPECT_EQ(b->items[0].get(), a.get());  // BINGET returns the same (memoised) object
}

TEST(PthPickle, RefusesGlobalsAndOpcodesNamingTheOffset) {
  using namespace std::string_literals;  // the pickles hold NUL bytes
  expect_error_with([] { unpickle_string("\x80\x02" "cposix\nsystem\n" "X\x02\x00\x00\x00ls\x85R."s); },
                    {"test.pkl", "posix.system", "byte offset 2", "not allowed"});
  expect_error_with([] { unpickle_string("\x80\x02" "c__builtin__\neval\n."); }, {"__builtin__.eval"});
  expect_error_with([] { unpickle_string(std::string("\x80\x04\x8c\x08" "builtins\x8c\x04" "exec\x93.", 19)); },
                    {"builtins.exec", "byte offset 18"});
  expect_error_with([] { unpickle_string("\x80\x02" "]" "\x81."); }, {"0x81", "NEWOBJ", "byte offset 3"});
  // Allowed globals may only be called the way torch does.
  expect_error_with([] { unpickle_string("\x80\x02" "ctorch\nFloatStorage\n)R."); },
                    {"torch.FloatStorage", "cannot be called"});
  // Persistent ids other than torch's ('storage', ...) tuples.
  expect_error_with([] { unpickle_string("\x80\x02X\x06\x00\x00\x00module\x85Q."s); }, {"persistent id"});
  // Malformed streams.
  expect_error_with([] { unpickle_string("\x80\x02}"); }, {"no STOP"});
  expect_error_with([] { unpickle_string("\x80\x02X\xff\x00\x00\x00ab."s); }, {"truncated pickle"});
  expect_error_with([] { unpickle_string("\x80\x02h\x07."); }, {"memo", "never stored"});
  expect_error_with([] { unpickle_string("\x80\x02K\x00K\x01K\x02s."s); }, {"SETITEM on a int"});
}
