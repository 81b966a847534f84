// tests/test_tensorboard.cpp — TensorBoard event files: CRC-32C against published vectors, the
// protobuf wire encoding, files read back by our reader, every corrupted byte and every cut
// detected, a failed write leaving whole records, and an independent oracle: the protobuf
// library parsing our files (tools/reference/read_tfevents.py, Debian's python3-protobuf).
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "csg/error.h"
#include "csg/io/tensorboard.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The message of the csg::Error `fn` throws; fails the test if it throws none.
template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no csg::Error thrown";
  return "";
}

uint32_t float_bits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A small file of three scalar Events after the file_version record; returns its path.
std::string write_three_events(const std::string& dir) {
  TensorBoardWriter tb(dir);
  tb.add_scalar("train/loss", 2.5, 1);
  tb.add_scalars(10, {{"train/lr", 1e-3}, {"train/top1", 0.0}});
  tb.add_scalar("val/acc", -1.25, int64_t{1} << 40);
  tb.flush();
  return tb.path();
}

}  // namespace

// ---- checksums and wire format ------------------------------------------------------------------

TEST(TensorBoardCrc, Crc32cKnownVectors) {
  using io::crc32c;
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);  // the CRC catalogue's check value
  EXPECT_EQ(crc32c("", 0), 0u);
  // RFC 3720 (iSCSI), appendix B.4.
  std::vector<uint8_t> bytes(32, 0x00);
  EXPECT_EQ(crc32c(bytes.data(), 32), 0x8A9136AAu);
  std::fill(bytes.begin(), bytes.end(), 0xFF);
  EXPECT_EQ(crc32c(bytes.data(), 32), 0x62A8AB43u);
  for (int i = 0; i < 32; ++i) bytes[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(crc32c(bytes.data(), 32), 0x46DD794Eu);
  for (int i = 0; i < 32; ++i) bytes[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(crc32c(bytes.data(), 32), 0x113FDB5Cu);
}

TEST(TensorBoardCrc, MaskRotatesRightBy15AndAddsTheConstant) {
  // Worked by hand from ((crc >> 15) | (crc << 17)) + 0xA282EAD8 (mod 2^32).
  EXPECT_EQ(io::mask_crc32c(0x00000000u), 0xA282EAD8u);
  EXPECT_EQ(io::mask_crc32c(0x00008000u), 0xA282EAD9u);  // bit 15 rotates to bit 0
  EXPECT_EQ(io::mask_crc32c(0x00000001u), 0xA284EAD8u);  // bit 0 rotates to bit 17
  EXPECT_EQ(io::mask_crc32c(0xFFFFFFFFu), 0xA282EAD7u);  // the sum wraps
  EXPECT_EQ(io::masked_crc32c("123456789", 9), io::mask_crc32c(0xE3069283u));
}

TEST(TensorBoardWire, EncodesVarintsFloatsAndNestedBytes) {
  namespace pb = io::protobuf;
  std::string out;
  pb::put_int64(out, 2, 300);
  EXPECT_EQ(out, std::string("\x10\xAC\x02", 3));
  out.clear();
  pb::put_int64(out, 2, -1);  // ten bytes: the two's complement as an unsigned varint
  EXPECT_EQ(out, std::string("\x10\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x01", 11));
  out.clear();
  pb::put_float(out, 2, 1.0f);
  EXPECT_EQ(out, std::string("\x15\x00\x00\x80\x3F", 5));
  out.clear();
  pb::put_bytes(out, 1, "ab");
  EXPECT_EQ(out, std::string("\x0A\x02" "ab", 4));

  std::string message;
  pb::put_double(message, 1, 0.5);
  pb::put_int64(message, 2, -7);
  pb::put_bytes(message, 3, "brain.Event:2");
  pb::put_float(message, 9, -2.0f);
  pb::WireReader reader(message, "test");
  pb::Field f;
  ASSERT_TRUE(reader.next(f));
  EXPECT_EQ(f.number, 1);
  EXPECT_EQ(f.as_double(), 0.5);
  ASSERT_TRUE(reader.next(f));
  EXPECT_EQ(static_cast<int64_t>(f.varint), -7);
  ASSERT_TRUE(reader.next(f));
  EXPECT_EQ(f.bytes, "brain.Event:2");
  ASSERT_TRUE(reader.next(f));
  EXPECT_EQ(f.number, 9);
  EXPECT_EQ(f.as_float(), -2.0f);
  EXPECT_FALSE(reader.next(f));
}

TEST(TensorBoardWire, RefusesMalformedMessages) {
  namespace pb = io::protobuf;
  auto walk = [](const std::string& message) {
    pb::WireReader reader(message, "msg");
    pb::Field f;
    while (reader.next(f)) {
    }
  };
  EXPECT_NE(error_of([&] { walk(std::string("\x10\x80", 2)); }).find("truncated varint"), std::string::npos);
  EXPECT_NE(error_of([&] { walk(std::string("\x0A\x05" "ab", 4)); }).find("claims 5 bytes"), std::string::npos);
  EXPECT_NE(error_of([&] { walk(std::string("\x0B", 1)); }).find("wire type 3"), std::string::npos);
  EXPECT_NE(error_of([&] { walk(std::string("\x00\x00", 2)); }).find("field number 0"), std::string::npos);
  EXPECT_NE(error_of([&] { walk(std::string("\x09\x00\x00", 3)); }).find("truncated 64-bit"), std::string::npos);
  EXPECT_NE(error_of([&] { walk(std::string(11, '\xFF')); }).find("longer than 10 bytes"), std::string::npos);
}

TEST(TensorBoardWire, Utf8Validation) {
  using io::protobuf::is_valid_utf8;
  EXPECT_TRUE(is_valid_utf8("train/loss"));
  EXPECT_TRUE(is_valid_utf8("loss/\xCE\xBB"));           // λ
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x98\x80"));        // U+1F600
  EXPECT_FALSE(is_valid_utf8("\xC0\x80"));               // overlong NUL
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));           // a UTF-16 surrogate
  EXPECT_FALSE(is_valid_utf8("ab\xE2\x82"));             // cut sequence
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));       // beyond U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\x80"));                   // a continuation byte first
}

// ---- the writer and our reader ------------------------------------------------------------------

TEST(TensorBoard, WrittenFileReadsBack) {
  csg::testing::TempDir tmp;
  const double before = now_seconds();
  const std::string dir = tmp / "runs/visda";  // made by the writer, parents included
  const std::string path = write_three_events(dir);
  const double after = now_seconds();

  const std::string name = fs::path(path).filename().string();
  ASSERT_EQ(name.rfind("events.out.tfevents.", 0), 0u) << name;
  EXPECT_EQ(name.find_first_not_of("0123456789", 20), 30u) << "10 digits of Unix time: " << name;
  EXPECT_EQ(fs::path(path).parent_path(), fs::path(dir));

  const std::vector<TensorBoardScalar> s = read_tensorboard_scalars(path);
  ASSERT_EQ(s.size(), 4u);
  const std::vector<std::string> tags = {"train/loss", "train/lr", "train/top1", "val/acc"};
  const std::vector<int64_t> steps = {1, 10, 10, int64_t{1} << 40};
  const std::vector<float> values = {2.5f, static_cast<float>(1e-3), 0.0f, -1.25f};
  for (size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(s[i].tag, tags[i]);
    EXPECT_EQ(s[i].step, steps[i]);
    EXPECT_EQ(float_bits(s[i].value), float_bits(values[i])) << s[i].tag;
    EXPECT_GE(s[i].wall_time, std::floor(before));
    EXPECT_LE(s[i].wall_time, after + 1);
  }
  EXPECT_EQ(s[1].wall_time, s[2].wall_time) << "one Event, one wall time";
  EXPECT_LE(s[0].wall_time, s[1].wall_time);
}

TEST(TensorBoard, FlushWritesWholeRecordsAndOnlyThen) {
  csg::testing::TempDir tmp;
  TensorBoardWriter tb(tmp.str());
  const uintmax_t header_size = fs::file_size(tb.path());
  EXPECT_GT(header_size, 16u) << "the file_version record is on disk at once";
  EXPECT_TRUE(read_tensorboard_scalars(tb.path()).empty());
  tb.add_scalar("loss", 1.0, 1);
  EXPECT_EQ(fs::file_size(tb.path()), header_size) << "queued until flush()";
  tb.flush();
  ASSERT_EQ(read_tensorboard_scalars(tb.path()).size(), 1u);
  const uintmax_t one = fs::file_size(tb.path());
  tb.flush();  // nothing queued: nothing written
  EXPECT_EQ(fs::file_size(tb.path()), one);
  {
    TensorBoardWriter other(tmp.str());
    other.add_scalar("loss", 2.0, 2);
  }  // the destructor flushes
  const std::vector<std::string> files = tensorboard_event_files(tmp.str());
  ASSERT_EQ(files.size(), 2u);
  const std::string& other_path = files[0] == tb.path() ? files[1] : files[0];
  ASSERT_EQ(read_tensorboard_scalars(other_path).size(), 1u);
  EXPECT_EQ(read_tensorboard_scalars(other_path)[0].value, 2.0f);
}

TEST(TensorBoard, ResumeAddsASecondFileInTheSameFolder) {
  csg::testing::TempDir tmp;
  const std::string first = write_three_events(tmp.str());
  std::string second;
  {
    TensorBoardWriter resumed(tmp.str());
    resumed.add_scalar("train/loss", 1.5, 11);
    second = resumed.path();
  }
  EXPECT_NE(first, second);
  const std::vector<std::string> files = tensorboard_event_files(tmp.str());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_TRUE((files[0] == first && files[1] == second) || (files[0] == second && files[1] == first));
  EXPECT_EQ(read_tensorboard_scalars(first).size(), 4u) << "the first file is left as it was";
  const std::vector<TensorBoardScalar> s = read_tensorboard_scalars(second);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].step, 11);
  write_bytes(tmp / "log.csv", "step\n");
  EXPECT_EQ(tensorboard_event_files(tmp.str()).size(), 2u) << "other files are not events files";
}

TEST(TensorBoard, EveryCorruptedByteIsDetected) {
  csg::testing::TempDir tmp;
  const std::string path = write_three_events(tmp.str());
  const std::string good = read_bytes(path);
  const std::vector<io::TfRecord> records = io::split_tfrecords(good, path);
  ASSERT_EQ(records.size(), 4u);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    write_bytes(path, bad);
    size_t record = 0;
    while (record + 1 < records.size() && records[record + 1].offset <= i) ++record;
    const std::string e = error_of([&] { read_tensorboard_scalars(path); });
    EXPECT_NE(e.find(path), std::string::npos) << "byte " << i << ": " << e;
    EXPECT_NE(e.find("corrupted record at byte " + std::to_string(records[record].offset) + ":"), std::string::npos)
        << "byte " << i << ": " << e;
  }
}

TEST(TensorBoard, EveryCutIsDetected) {
  csg::testing::TempDir tmp;
  const std::string path = write_three_events(tmp.str());
  const std::string good = read_bytes(path);
  const std::vector<io::TfRecord> records = io::split_tfrecords(good, path);
  const std::vector<TensorBoardScalar> all = read_tensorboard_scalars(path);
  const std::vector<size_t> scalars_before_record = {0, 0, 1, 3};  // scalars in records [0, r)
  ASSERT_EQ(records.size(), scalars_before_record.size());
  EXPECT_NE(error_of([&] { write_bytes(path, ""); read_tensorboard_scalars(path); }).find("empty file"),
            std::string::npos);
  for (size_t cut = 1; cut < good.size(); ++cut) {
    write_bytes(path, good.substr(0, cut));
    size_t record = 0;
    while (record + 1 < records.size() && records[record + 1].offset <= cut) ++record;
    if (records[record].offset == cut) {  // a record boundary: a valid, shorter file
      EXPECT_EQ(read_tensorboard_scalars(path).size(), scalars_before_record[record]) << "cut " << cut;
      continue;
    }
    const std::string e = error_of([&] { read_tensorboard_scalars(path); });
    EXPECT_NE(e.find(path + ": truncated record at byte " + std::to_string(records[record].offset) + ":"),
              std::string::npos)
        << "cut " << cut << ": " << e;
  }
  write_bytes(path, good);
  EXPECT_EQ(read_tensorboard_scalars(path).size(), all.size());
}

TEST(TensorBoard, AFailedWriteLeavesWholeRecordsAndKeepsTheQueue) {
  csg::testing::TempDir tmp;
  TensorBoardWriter tb(tmp.str());
  tb.add_scalar("before", 1.0, 1);
  tb.flush();
  const uintmax_t size = fs::file_size(tb.path());

  // A file size limit just past the current end makes write() stop in the middle of the next
  // record (EFBIG once SIGXFSZ is ignored), as a full disk would.
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(size + 10);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tight), 0);
  tb.add_scalar(std::string(100, 'x'), 2.0, 2);
  const std::string e = error_of([&] { tb.flush(); });
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);

  EXPECT_NE(e.find(tb.path() + ": cannot write TensorBoard events"), std::string::npos) << e;
  EXPECT_NE(e.find("keeps its complete records"), std::string::npos) << e;
  EXPECT_EQ(fs::file_size(tb.path()), size) << "the partial record is cut off";
  ASSERT_EQ(read_tensorboard_scalars(tb.path()).size(), 1u);
  tb.flush();  // room again: the queued Event is written now
  const std::vector<TensorBoardScalar> s = read_tensorboard_scalars(tb.path());
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].tag, std::string(100, 'x'));
  EXPECT_EQ(s[1].step, 2);
}

TEST(TensorBoard, BadInputGivesErrorsNamingTheFile) {
  csg::testing::TempDir tmp;
  const std::string file = tmp / "a_file";
  write_bytes(file, "not a folder");
  std::string e = error_of([&] { TensorBoardWriter tb(file + "/runs"); });
  EXPECT_NE(e.find(file + "/runs: cannot create the TensorBoard log folder"), std::string::npos) << e;
  e = error_of([&] { TensorBoardWriter tb(file); });
  EXPECT_NE(e.find(file + ": cannot create the TensorBoard log folder"), std::string::npos) << e;

  TensorBoardWriter tb(tmp / "run");
  EXPECT_NE(error_of([&] { tb.add_scalar("", 1.0, 3); }).find("empty tag"), std::string::npos);
  EXPECT_NE(error_of([&] { tb.add_scalar("loss\xC0\x80", 1.0, 3); }).find("not valid UTF-8"), std::string::npos);
  EXPECT_NE(error_of([&] { tb.add_scalars(3, {}); }).find("no values"), std::string::npos);
  tb.flush();
  EXPECT_TRUE(read_tensorboard_scalars(tb.path()).empty()) << "a refused scalar queues nothing";

  e = error_of([&] { read_tensorboard_scalars(tmp / "missing"); });
  EXPECT_NE(e.find(tmp / "missing"), std::string::npos) << e;
  write_bytes(file, std::string(40, 'x'));
  e = error_of([&] { read_tensorboard_scalars(file); });
  EXPECT_NE(e.find(file + ": corrupted record at byte 0"), std::string::npos) << e;
  // Whole records whose first Event is not a file_version one (a TFRecord file of something else).
  std::string event;
  io::protobuf::put_double(event, 1, 1.0);
  write_bytes(file, io::tfrecord_frame(event));
  e = error_of([&] { read_tensorboard_scalars(file); });
  EXPECT_NE(e.find(file + ": record at byte 0: the first Event has no file_version"), std::string::npos) << e;
  // A record whose payload is not a protobuf message.
  const std::string header = read_bytes(tb.path());
  write_bytes(file, header + io::tfrecord_frame(std::string("\x2A\x09", 2)));
  e = error_of([&] { read_tensorboard_scalars(file); });
  EXPECT_NE(e.find(file + ": record at byte " + std::to_string(header.size()) + " Event"), std::string::npos) << e;
  EXPECT_NE(error_of([&] { tensorboard_event_files(tmp / "missing"); }).find(tmp / "missing"), std::string::npos);
}

// ---- the independent oracle: protobuf parses our files --------------------------------------------

namespace {

struct Oracle {
  int status = -1;
  std::string out, err;
};

Oracle run_oracle(const std::string& events_path, const std::string& err_path) {
  Oracle r;
  const std::string cmd =
      "/usr/bin/python3 tools/reference/read_tfevents.py '" + events_path + "' 2>'" + err_path + "'";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) r.out.append(buf, n);
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = read_bytes(err_path);
  return r;
}

const io::json::Value& member(const io::json::Value& v, const std::string& key) {
  const io::json::Value* m = v.find(key);
  if (!m) throw Error("oracle output has no \"" + key + "\"");
  return *m;
}

}  // namespace

TEST(TensorBoard, ProtobufParsesOurFilesExactly) {
  if (std::system("/usr/bin/python3 -c 'import google.protobuf' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "protobuf oracle skipped: /usr/bin/python3 cannot import google.protobuf "
                 << "(install python3-protobuf: bash tools/install-deps.sh --torch)";
  ASSERT_TRUE(csg::testing::file_exists("tools/reference/read_tfevents.py"))
      << "tools/reference/read_tfevents.py not found: run the tests from the repository root";

  csg::testing::TempDir tmp;
  const float inf = std::numeric_limits<float>::infinity();
  // (step, tag -> value) per Event; expected values are the float32 the writer must store.
  struct Written {
    int64_t step;
    std::map<std::string, double> values;
  };
  const std::vector<Written> written = {
      {0, {{"train/loss", 2.302585092994046}}},
      {1, {{"train/loss", 0.0}, {"train/lr", 1e-40}, {"nce/layer3", -0.0}}},  // zeros, a subnormal
      {int64_t{1} << 40, {{"loss/\xCE\xBB", 3.14159265358979}}},
      {-5, {{"nan", std::nan("")}, {"inf", 1e40}, {"-inf", -static_cast<double>(inf)}}},
  };
  std::string path;
  {
    TensorBoardWriter tb(tmp.str());
    for (const Written& w : written) {
      if (w.values.size() == 1)
        tb.add_scalar(w.values.begin()->first, w.values.begin()->second, w.step);
      else
        tb.add_scalars(w.step, w.values);
    }
    path = tb.path();
  }
  const std::vector<TensorBoardScalar> ours = read_tensorboard_scalars(path);
  const std::vector<io::TfRecord> records = io::split_tfrecords(read_bytes(path), path);

  const Oracle r = run_oracle(path, tmp / "oracle.err");
  ASSERT_EQ(r.status, 0) << r.err;
  const io::json::Value doc = io::json::parse(r.out, "read_tfevents.py output");
  const auto& recs = member(doc, "records").items;
  ASSERT_EQ(recs.size(), 1 + written.size());
  EXPECT_EQ(member(recs[0], "file_version").text, "brain.Event:2");
  size_t k = 0;  // index into `ours`
  for (size_t i = 0; i < recs.size(); ++i) {
    const io::json::Value& rec = recs[i];
    EXPECT_EQ(member(rec, "offset").integer, static_cast<int64_t>(records[i].offset));
    EXPECT_TRUE(member(rec, "canonical").boolean) << "record " << i << ": protobuf serializes it differently";
    if (i == 0) continue;
    const Written& w = written[i - 1];
    EXPECT_EQ(member(rec, "step").integer, w.step) << "record " << i;
    const auto& values = member(rec, "values").items;
    ASSERT_EQ(values.size(), w.values.size()) << "record " << i;
    auto expected = w.values.begin();  // the writer stores a map's values in tag order
    for (const io::json::Value& v : values) {
      const TensorBoardScalar& mine = ours[k++];
      EXPECT_EQ(member(v, "tag").text, expected->first);
      EXPECT_EQ(mine.tag, expected->first);
      const uint32_t want_bits = float_bits(static_cast<float>(expected->second));
      EXPECT_EQ(static_cast<uint32_t>(member(v, "simple_value_bits").integer), want_bits) << expected->first;
      EXPECT_EQ(float_bits(mine.value), want_bits) << expected->first;
      EXPECT_EQ(member(rec, "wall_time").number, mine.wall_time);
      EXPECT_EQ(member(rec, "step").integer, mine.step);
      ++expected;
    }
  }
  EXPECT_EQ(k, ours.size());

  // The oracle checks the CRCs itself: a flipped payload byte makes it fail.
  std::string bad = read_bytes(path);
  bad[records[2].offset + 14] ^= 0x01;
  write_bytes(path, bad);
  const Oracle broken = run_oracle(path, tmp / "oracle.err");
  EXPECT_EQ(broken.status, 1);
  EXPECT_NE(broken.err.find("bad data CRC in the record at byte " + std::to_string(records[2].offset)),
            std::string::npos)
      << broken.err;
}
