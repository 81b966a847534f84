// tools/fuzz/fuzz_tfevents.cpp — libFuzzer target: read_tensorboard_scalars (TFRecord framing,
// both CRCs, the Event / Summary / Value protobuf decoding) on arbitrary bytes.
//
// A mutated byte almost never keeps a record's CRC valid, so the decoder behind the checksums
// would hardly be reached: an input starting with "EV" is instead an Event payload, framed here
// (valid CRCs) after a file_version record. Any other input is read as a whole file.
#include <cstring>

#include "csg/io/tensorboard.h"
#include "tests/internals.h"
#include "tools/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string header = [] {
    std::string file_version_event = std::string("\x09", 1) + std::string(8, '\0') + "\x1a\x0d" "brain.Event:2";
    return csg::io::tfrecord_frame(file_version_event);
  }();
  std::string file(reinterpret_cast<const char*>(data), size);
  if (size >= 2 && std::memcmp(data, "EV", 2) == 0) file = header + csg::io::tfrecord_frame(file.substr(2));
  const std::string& path = csg_fuzz::mem_file().write(reinterpret_cast<const uint8_t*>(file.data()), file.size());
  return csg_fuzz::guarded([&] {
    size_t tag_bytes = 0;
    for (const csg::TensorBoardScalar& s : csg::read_tensorboard_scalars(path)) tag_bytes += s.tag.size();
    return tag_bytes;
  });
}
