// tests/testing.h — the two checks every op gets, shared by all test files.
//
//  * expect_gradients_match: central finite differences in double precision on the CPU
//    against the tape's gradients, for every input that requires grad.
//  * expect_cuda_parity: the same function on float CPU tensors and on CUDA copies; the
//    outputs and the input gradients must agree. Skips (with the reason) without a GPU.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "csg/csg.h"
#include "tests/internals.h"

namespace csg::testing {

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Uniform values in [lo, hi), deterministic in `seed`.
Tensor uniform(const Shape& shape, uint64_t seed, DType dt = DType::F64, double lo = -1.0, double hi = 1.0);

// For each input that requires grad (must be F64 CPU leaves): compares the gradient of
// sum(w * f(inputs)) (w fixed random weights) from backward() with central differences
// (step eps). Passes when |analytic - numeric| <= atol + rtol * |numeric| elementwise.
void expect_gradients_match(const OpFn& f, const std::vector<Tensor>& inputs, double eps = 1e-6,
                            double atol = 1e-7, double rtol = 1e-5);

// How two tensors are compared: ScaledByMax passes when max|a-b| <= atol + rtol*max|b| (one
// bound for every element); PerElement when |a_i-b_i| <= atol + rtol*|b_i| for each element,
// which also catches a wrong small entry (the zero gradient of an ignored pixel) next to
// large ones.
enum class Tolerance { ScaledByMax, PerElement };

// Runs f on F32 CPU copies and on CUDA copies of `inputs` (requires_grad carried over),
// backpropagates the same random weights, and compares outputs and input grads (`mode`).
// Call after CSG_REQUIRE_CUDA().
void expect_cuda_parity(const OpFn& f, const std::vector<Tensor>& inputs, double atol = 1e-4, double rtol = 1e-4,
                        Tolerance mode = Tolerance::ScaledByMax);

// got vs want (any devices, same shape) under `mode`; a failure names `what`, the number of
// elements out of tolerance and the worst ones with their flat indices.
void expect_close(const Tensor& got, const Tensor& want, double atol, double rtol, Tolerance mode,
                  const std::string& what);

// A fresh directory named after the running test and this process (test binaries running at
// once never share one), removed at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& rel) const;  // a path inside it
  std::string subdir(const std::string& rel) const;     // an empty folder inside it (made now)
  std::string str() const;

 private:
  std::string path_;
};

// |got[i] - want[i]| <= tol for every element, sizes equal; a failure names the element.
void expect_values_near(const std::vector<double>& got, const std::vector<double>& want, double tol);
void expect_values_near(const Tensor& got, const std::vector<double>& want, double tol);

// A naive reference for ops that work lane by lane (softmax, l2_normalize): for a 3-D tensor,
// passes every lane along `dim` (x[.., i, ..] for i = 0..size(dim)-1, in order) to `lane_fn`
// and puts the lane it returns in its place. The result is in x's contiguous order.
using LaneFn = std::function<std::vector<double>(const std::vector<double>&)>;
std::vector<double> map_lanes(const Tensor& x, int dim, const LaneFn& lane_fn);

// Max |a - b| over all elements (any devices/dtypes, same shape).
double max_abs_diff(const Tensor& a, const Tensor& b);
// Max |t| over all elements.
double max_abs(const Tensor& t);

// A PyTorch reference fixture written by `make test` (tools/reference/*.py with python3-torch):
// `rel` under $CSG_FIXTURES, by default build/fixtures.
std::string torch_fixture(const std::string& rel);
bool file_exists(const std::string& path);

// Sets the process-wide JPEG decoder for one scope, and restores the previous one on exit
// (also when the test throws), so no other test runs with it.
class JpegDecoderScope {
 public:
  explicit JpegDecoderScope(image::JpegDecoder d) : saved_(image::jpeg_decoder()) { image::set_jpeg_decoder(d); }
  ~JpegDecoderScope() { image::set_jpeg_decoder(saved_); }
  JpegDecoderScope(const JpegDecoderScope&) = delete;
  JpegDecoderScope& operator=(const JpegDecoderScope&) = delete;

 private:
  image::JpegDecoder saved_;
};

// True when the environment says CSG_REQUIRE_GPU=1: CUDA tests must run, not skip.
bool gpu_required();

// `csg args...` run in this process (cli::run_cli), with its exit status and what it printed.
struct CliResult {
  int status;
  std::string out, err;
};
CliResult run_cli_captured(std::vector<std::string> args);

// `command` run by the shell, its stdout and stderr written to `log`: its exit status (-1 when it did
// not exit normally) and what it printed.
struct ShellResult {
  int status = -1;
  std::string output;
};
ShellResult run_shell(const std::string& command, const std::string& log);
// This test binary run again in a child process, with the assignments `env` before it (such as
// "ONEDNN_MAX_CPU_ISA=AVX2", which oneDNN reads before its first kernel) and --gtest_filter=`filter`.
ShellResult run_self(const std::string& env, const std::string& filter);

// The message of the csg::Error that f() throws ("" when it throws none), and whether `s` holds `part`.
std::string error_of(const std::function<void()>& f);
inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The bytes of a file (a test failure when it cannot be opened); read_text: the same, "" when the file
// is missing (a log not written yet, a /proc entry of a process that has ended); and a copy of `from`
// at `to` with byte `offset` XOR-ed with `mask`.
std::string read_file_bytes(const std::string& path);
std::string read_text(const std::string& path);
void write_with_flipped_byte(const std::string& from, const std::string& to, size_t offset, uint8_t mask = 0x10);

// Small training configurations and a model file the training, run-folder and command tests
// share: seconds per run on the tiny data sets of csg/data/tiny.h.
// VisDA on data::write_tiny_visda's images: ResNet-18 at width 8, 32 px, batch 8, layer 4 only,
// no workers, a log row per step, no evaluation, quiet. Set max_steps.
train::Config tiny_visda_config(const std::string& data, const std::string& out = "");
// GTA5 on data::write_tiny_gta5_cityscapes's <root>/gta5: dilated ResNet-18 at width 8, crop 32,
// batch 2, 2x2 dense-NCE chunks, no workers, no evaluation, quiet. Set max_steps.
train::Config tiny_gta5_config(const std::string& root, const std::string& out = "");
// A DeepLab-18 model file (aspp-v2 head, Cityscapes' 19 classes, random weights) at `path`; returns
// what it holds.
infer::ModelWeights write_tiny_segmentation_model(const std::string& path);

}  // namespace csg::testing

// Skips the current test (returns from the calling function) when a fixture file is missing,
// saying how to make it.
#define CSG_REQUIRE_FIXTURE(path)                                                                        \
  do {                                                                                                   \
    if (!::csg::testing::file_exists(path))                                                              \
      GTEST_SKIP() << "fixture " << (path) << " missing: `make test` generates it with python3-torch "   \
                   << "(bash tools/install-deps.sh --torch)";                                           \
  } while (0)

// Skips the current test, saying why, when the build decodes JPEG with stb_image only.
#define CSG_REQUIRE_LIBJPEG()                                                                            \
  do {                                                                                                   \
    if (!::csg::image::have_libjpeg_turbo())                                                             \
      GTEST_SKIP() << "built without libjpeg-turbo (make JPEG=0, or jpeglib.h missing): JPEG pixels are " \
                      "stb_image's, not PIL's; install libjpeg62-turbo-dev and rebuild";                 \
  } while (0)

// Skips the current test, saying why, when no CUDA device can be used. With CSG_REQUIRE_GPU=1
// in the environment (the run on a GPU machine) the skip is a failure instead, so a broken
// driver cannot turn every GPU test into a green skip.
#define CSG_REQUIRE_CUDA()                                                                          \
  do {                                                                                              \
    if (!::csg::cuda::available()) {                                                                \
      if (::csg::testing::gpu_required())                                                           \
        FAIL() << "CSG_REQUIRE_GPU=1 but no usable CUDA device: " << ::csg::cuda::status();         \
      GTEST_SKIP() << "CUDA parity skipped: " << ::csg::cuda::status();                             \
    }                                                                                               \
  } while (0)
