// src/io/tensorboard.cpp — tensorflow.Event messages in TFRecord files: the writer the trainer
// logs through and the reader the tests check it with.
#include "csg/io/tensorboard.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "csg/error.h"
#include "src/io/binary_file.h"
#include "src/io/protobuf_wire.h"
#include "src/io/tfrecord.h"

namespace csg {

namespace pb = io::protobuf;

namespace {

// Field numbers of tensorboard/compat/proto/event.proto and summary.proto.
enum EventField { kEventWallTime = 1, kEventStep = 2, kEventFileVersion = 3, kEventSummary = 5 };
enum SummaryField { kSummaryValue = 1 };
enum ValueField { kValueTag = 1, kValueSimpleValue = 2 };

const char* const kFileVersion = "brain.Event:2";
const char* const kFilePrefix = "events.out.tfevents.";

double wall_clock_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Fields in field-number order and a zero step left out, as protobuf itself serializes (proto3
// omits default values); simple_value sits in a oneof, so 0.0 is written.
std::string event_header(double wall_time, int64_t step) {
  std::string event;
  pb::put_double(event, kEventWallTime, wall_time);
  if (step != 0) pb::put_int64(event, kEventStep, step);
  return event;
}

std::string file_version_event(double wall_time) {
  std::string event = event_header(wall_time, 0);
  pb::put_bytes(event, kEventFileVersion, kFileVersion);
  return event;
}

std::string scalars_event(double wall_time, int64_t step, const std::map<std::string, double>& values) {
  std::string summary;
  for (const auto& [tag, value] : values) {
    CSG_CHECK(!tag.empty(), "TensorBoardWriter: a scalar at step ", step, " has an empty tag; give it a name");
    CSG_CHECK(pb::is_valid_utf8(tag), "TensorBoardWriter: tag '", tag,
              "' is not valid UTF-8, which TensorBoard cannot read; use an ASCII or UTF-8 name");
    std::string entry;
    pb::put_bytes(entry, kValueTag, tag);
    pb::put_float(entry, kValueSimpleValue, static_cast<float>(value));
    pb::put_bytes(summary, kSummaryValue, entry);
  }
  std::string event = event_header(wall_time, step);
  pb::put_bytes(event, kEventSummary, summary);
  return event;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  std::string host(name);
  std::replace(host.begin(), host.end(), '/', '_');  // a file name, whatever the host is called
  return host;
}

// Opens a new file, never an existing one: two writers started in the same second by the same
// process (or a reused pid) take the next free number.
int create_events_file(const std::string& dir, std::string& path) {
  static std::atomic<int> writers_started{0};
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%010lld", static_cast<long long>(wall_clock_seconds()));
  const std::string stem = dir + "/" + kFilePrefix + stamp + "." + host_name() + "." + std::to_string(getpid()) + ".";
  for (int attempt = 0; attempt < 1000; ++attempt) {
    path = stem + std::to_string(writers_started++);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    const int err = errno;
    CSG_CHECK(err == EEXIST, path, ": cannot create the TensorBoard events file (", std::strerror(err),
              "); make the folder writable or log elsewhere");
  }
  CSG_FAIL(stem, "*: 1000 events files of this process already exist; remove old ones from ", dir);
}

}  // namespace

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  CSG_CHECK(!ec && std::filesystem::is_directory(dir), dir, ": cannot create the TensorBoard log folder (",
            ec ? ec.message() : "a file of that name exists", "); choose another output folder");
  fd_ = create_events_file(dir, path_);
  queued_ = io::tfrecord_frame(file_version_event(wall_clock_seconds()));
  try {
    flush();
  } catch (...) {
    ::close(fd_);
    ::unlink(path_.c_str());  // an events file without its file_version record is not one
    throw;
  }
}

TensorBoardWriter::~TensorBoardWriter() {
  try {
    flush();
  } catch (const Error&) {
    // Nothing to report to from a destructor; the file holds complete records only.
  }
  ::close(fd_);
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  add_scalars(step, {{tag, value}});
}

void TensorBoardWriter::add_scalars(int64_t step, const std::map<std::string, double>& values) {
  CSG_CHECK(!values.empty(), "TensorBoardWriter::add_scalars: no values given for step ", step);
  queued_ += io::tfrecord_frame(scalars_event(wall_clock_seconds(), step, values));
}

void TensorBoardWriter::flush() {
  size_t done = 0;
  while (done < queued_.size()) {
    const ssize_t n = ::write(fd_, queued_.data() + done, queued_.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    const int err = n < 0 ? errno : ENOSPC;
    // Cut a partly written record off, so that TensorBoard and our reader see whole records only.
    const bool restored = ::ftruncate(fd_, static_cast<off_t>(written_bytes_)) == 0 &&
                          ::lseek(fd_, static_cast<off_t>(written_bytes_), SEEK_SET) >= 0;
    CSG_FAIL(path_, ": cannot write TensorBoard events (", std::strerror(err), "); ",
             restored ? "the file keeps its complete records and the rest stays queued; free disk space and flush again"
                      : "the file may end in a partial record");
  }
  written_bytes_ += queued_.size();
  queued_.clear();
}

// ---- reading ---------------------------------------------------------------------------------

namespace {

struct DecodedEvent {
  double wall_time = 0;
  int64_t step = 0;
  bool has_file_version = false;
  std::string file_version;
  std::vector<std::pair<std::string, float>> scalars;
};

void expect_type(const pb::Field& f, pb::WireType type, const char* name, const std::string& where) {
  CSG_CHECK(f.type == type, where, ": field ", f.number, " (", name, ") has wire type ", static_cast<int>(f.type),
            ", expected ", static_cast<int>(type));
}

// A Summary.Value; a value without simple_value (image, histogram, tensor) is not a scalar.
void decode_value(std::string_view bytes, const std::string& where, DecodedEvent& event) {
  pb::WireReader reader(bytes, where + " Summary.Value");
  pb::Field f;
  std::string tag;
  bool has_simple_value = false;
  float simple_value = 0;
  while (reader.next(f)) {
    if (f.number == kValueTag) {
      expect_type(f, pb::WireType::LengthDelimited, "tag", where);
      tag.assign(f.bytes);
    } else if (f.number == kValueSimpleValue) {
      expect_type(f, pb::WireType::Fixed32, "simple_value", where);
      simple_value = f.as_float();
      has_simple_value = true;
    }
  }
  if (has_simple_value) event.scalars.emplace_back(tag, simple_value);
}

DecodedEvent decode_event(std::string_view bytes, const std::string& where) {
  DecodedEvent event;
  pb::WireReader reader(bytes, where + " Event");
  pb::Field f;
  while (reader.next(f)) {
    switch (f.number) {
      case kEventWallTime:
        expect_type(f, pb::WireType::Fixed64, "wall_time", where);
        event.wall_time = f.as_double();
        break;
      case kEventStep:
        expect_type(f, pb::WireType::Varint, "step", where);
        event.step = static_cast<int64_t>(f.varint);
        break;
      case kEventFileVersion:
        expect_type(f, pb::WireType::LengthDelimited, "file_version", where);
        event.has_file_version = true;
        event.file_version.assign(f.bytes);
        break;
      case kEventSummary: {
        expect_type(f, pb::WireType::LengthDelimited, "summary", where);
        pb::WireReader summary(f.bytes, where + " Summary");
        pb::Field v;
        while (summary.next(v))
          if (v.number == kSummaryValue) {
            expect_type(v, pb::WireType::LengthDelimited, "value", where);
            decode_value(v.bytes, where, event);
          }
        break;
      }
      default:
        break;  // graphs, session logs, run metadata: not scalars
    }
  }
  return event;
}

}  // namespace

std::vector<TensorBoardScalar> read_tensorboard_scalars(const std::string& path) {
  io::BinaryFile file(path);
  const std::vector<uint8_t> bytes = file.read_vector(0, file.size(), "the events file");
  const std::string_view contents(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const std::vector<io::TfRecord> records = io::split_tfrecords(contents, path);
  CSG_CHECK(!records.empty(), path, ": empty file, not a TensorBoard events file");
  std::vector<TensorBoardScalar> scalars;
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string where = path + ": record at byte " + std::to_string(records[i].offset);
    const DecodedEvent event = decode_event(records[i].data, where);
    if (i == 0)
      CSG_CHECK(event.has_file_version && event.file_version.rfind("brain.Event:", 0) == 0, where,
                ": the first Event has no file_version \"brain.Event:N\"; not a TensorBoard events file");
    for (const auto& [tag, value] : event.scalars) scalars.push_back({tag, event.step, value, event.wall_time});
  }
  return scalars;
}

std::vector<std::string> tensorboard_event_files(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  CSG_CHECK(!ec, dir, ": cannot list the TensorBoard log folder (", ec.message(), ")");
  std::vector<std::string> files;
  for (const auto& entry : it)
    if (entry.is_regular_file() && entry.path().filename().string().rfind(kFilePrefix, 0) == 0)
      files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace csg
