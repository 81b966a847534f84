// csg/io/tensorboard.h — training scalars as TensorBoard event files, written by our own code
// (no TensorFlow, no protobuf library): `tensorboard --logdir runs/` plots them.
//
// An events file is a sequence of TFRecord records (length, masked CRC-32C of the length, a
// serialized tensorflow.Event, masked CRC-32C of the Event). The first Event carries
// file_version "brain.Event:2"; each later one a wall time (seconds since the Unix epoch), a
// step and a Summary of (tag, simple_value) pairs, simple_value being a float32.
//
// One writer writes one new file, "events.out.tfevents.<unix seconds, 10 digits>.<hostname>.
// <pid>.<n>" (TensorBoard's own naming: n counts the writers of this process), never an
// existing one. Resuming a run therefore opens a second file in the same folder: TensorBoard
// reads every events file of a folder as one run. Steps logged after the last checkpoint of
// an interrupted run and logged again by the resumed run appear twice in the plots.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace csg {

class TensorBoardWriter {
 public:
  // Creates `dir` (and its parents) if missing, creates a new events file in it and writes the
  // file_version record to disk. csg::Error naming the folder or file if either cannot be made.
  explicit TensorBoardWriter(const std::string& dir);
  // Flushes what is queued; a failure here is ignored (destructors do not throw): call flush()
  // to see it.
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  const std::string& path() const { return path_; }  // the events file

  // Queues one Event at `step` with one value, stamped with the system clock. The value is
  // stored as float32 (NaN and infinities included, as TensorBoard accepts them). The tag must
  // be non-empty UTF-8 ("train/loss"; slashes group the plots).
  void add_scalar(const std::string& tag, double value, int64_t step);
  // Queues one Event at `step` carrying every (tag, value) of `values` (one wall time for all).
  void add_scalars(int64_t step, const std::map<std::string, double>& values);

  // Writes every queued Event to the file as whole records. On a write error (disk full, file
  // size limit) the file is cut back to its last complete record, the Events stay queued for the
  // next flush(), and csg::Error names the file and the reason. Not fsync'ed: the data is in the
  // operating system's hands, which is what a live TensorBoard reads.
  void flush();

 private:
  std::string path_;
  int fd_ = -1;
  std::string queued_;          // framed records not yet written
  uint64_t written_bytes_ = 0;  // the file's size: complete records only
};

// One scalar read back from an events file.
struct TensorBoardScalar {
  std::string tag;
  int64_t step = 0;
  float value = 0;
  double wall_time = 0;  // seconds since the Unix epoch
};

// Every scalar (Summary value holding a simple_value) of one events file, in file order; other
// Events and values (graphs, images, tensor-plugin scalars) are skipped. Checks both CRCs of
// every record and that the first Event holds a "brain.Event:" file_version. csg::Error names
// the file and the byte offset of the offending record: truncated, corrupted, malformed Event.
std::vector<TensorBoardScalar> read_tensorboard_scalars(const std::string& path);

// The events files ("events.out.tfevents.*") directly inside `dir`, sorted by name (names start
// with the creation time); empty if there are none. csg::Error if `dir` cannot be listed.
std::vector<std::string> tensorboard_event_files(const std::string& dir);

}  // namespace csg
