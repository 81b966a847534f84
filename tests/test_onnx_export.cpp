// tests/test_onnx_export.cpp — `csg export --format onnx`: the graph passes libonnx's checker and
// strict shape inference, declares a dynamic batch (and dynamic height/width where a segmentation
// model has no fixed size), keeps the folded weights bit for bit and the preprocessing and class
// names in its metadata; ONNX Runtime (tools/onnx/install-ort.sh) reproduces csg's logits within
// 1e-4 relative; Debian's python3-onnx checker accepts the file.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "csg/infer.h"
#include "csg/models/resnet.h"
#include "csg/predict.h"
#include "tests/infer_models.h"
#include "tests/testing.h"

#ifdef CSG_WITH_ONNX
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#endif

namespace csg {
namespace {

using testing::random_input;
using testing::randomise_batch_norm;
using testing::relative_error;
using testing::TempDir;

// ResNet-18 at width 8 with torchvision's fc head, 6 named classes, a 48 px crop.
infer::ModelWeights small_resnet() {
  models::ResNetOptions o;
  o.depth = 18, o.width = 8, o.num_classes = 6, o.seed = 21;
  models::ResNet net(o);
  randomise_batch_norm(net, 22);
  infer::ModelWeights m = testing::weights_of(net, testing::resnet_info(18, 8, 6));
  m.info.class_names = {"aeroplane", "bicycle", "bus", "car", "horse", "knife"};
  m.info.mean = {0.5f, 0.25f, 0.125f};
  m.info.resize = 56, m.info.crop = 48;
  return m;
}

TEST(OnnxExport, ExportNeedsTheLibrariesOrWritesAFile) {
  TempDir dir;
  const infer::ModelWeights m = small_resnet();
  infer::export_model(dir / "m.safetensors", m);
  if (!infer::onnx_export_available()) {
    try {
      infer::export_model_file(dir / "m.safetensors", dir / "m.onnx");
      FAIL() << "a build without ONNX export wrote an ONNX file";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("libonnx-dev libprotobuf-dev"), std::string::npos) << e.what();
    }
    return;
  }
  // --format defaults to onnx for a .onnx name, and a .onnx name with --format csg is refused.
  const std::string line = infer::export_model_file(dir / "m.safetensors", dir / "m.onnx");
  EXPECT_NE(line.find("ONNX opset 13"), std::string::npos) << line;
  std::ifstream f(dir / "m.onnx", std::ios::binary);
  char head[2] = {};
  f.read(head, 2);
  EXPECT_EQ(head[0], 0x08) << "an ONNX ModelProto starts with ir_version (field 1, varint)";
  EXPECT_THROW(infer::export_model_file(dir / "m.safetensors", dir / "n.onnx", "", "csg"), Error);
  EXPECT_THROW(infer::export_model_file(dir / "m.safetensors", dir / "n.bin", "", "tflite"), Error);
  EXPECT_THROW(infer::export_model_file(dir / "m.safetensors", dir / "n.onnx", "resnet50"), Error);
}

#ifdef CSG_WITH_ONNX

// ResNet-50 at width 8 with CSG's VisDA head (Linear 512, ReLU, Linear): 12 classes.
infer::ModelWeights small_mlp_resnet() {
  models::ResNetOptions o;
  o.depth = 50, o.width = 8, o.num_classes = 0, o.seed = 23;
  models::ResNet net(o);
  randomise_batch_norm(net, 24);
  infer::ModelInfo info = testing::resnet_info(50, 8, 12);
  info.head = "mlp";
  info.resize = info.crop = 40;
  infer::ModelWeights m = testing::weights_of(net, info);
  Generator gen(25);
  const int64_t features = net.feature_channels();
  m.tensors.push_back({"head.0.weight", mul(randn({512, features}, gen), 0.05)});
  m.tensors.push_back({"head.0.bias", mul(randn({512}, gen), 0.1)});
  m.tensors.push_back({"head.2.weight", mul(randn({12, 512}, gen), 0.05)});
  m.tensors.push_back({"head.2.bias", mul(randn({12}, gen), 0.1)});
  return m;
}

infer::ModelWeights small_deeplab(models::DeepLabHead head) {
  const auto net = testing::test_deeplab(head);
  return testing::weights_of(*net, testing::test_deeplab_info(head));
}

std::string run_command(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return "popen failed";
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = pclose(p);
  return out;
}

onnx::ModelProto read_onnx(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(ss.str())) << path << " is not an ONNX ModelProto";
  return m;
}

// The dims of a graph input or output: numbers, or the names of symbolic axes.
std::vector<std::string> dims_of(const onnx::ValueInfoProto& v) {
  std::vector<std::string> d;
  for (const auto& dim : v.type().tensor_type().shape().dim())
    d.push_back(dim.has_dim_param() ? dim.dim_param() : std::to_string(dim.dim_value()));
  return d;
}

std::map<std::string, std::string> metadata(const onnx::ModelProto& m) {
  std::map<std::string, std::string> out;
  for (const auto& e : m.metadata_props()) out[e.key()] = e.value();
  return out;
}

std::map<std::string, int> op_counts(const onnx::ModelProto& m) {
  std::map<std::string, int> n;
  for (const auto& node : m.graph().node()) n[node.op_type()]++;
  return n;
}

const onnx::TensorProto* initializer(const onnx::ModelProto& m, const std::string& name) {
  for (const auto& t : m.graph().initializer())
    if (t.name() == name) return &t;
  return nullptr;
}

bool same_floats(const onnx::TensorProto* p, const Tensor& t) {
  const Tensor c = t.contiguous();
  return p && p->raw_data().size() == size_t(c.numel()) * 4 &&
         std::memcmp(p->raw_data().data(), c.data<float>(), p->raw_data().size()) == 0;
}

// libonnx's checker and its strict shape inference (errors thrown, not skipped) over the file.
void expect_valid(const std::string& path) {
  onnx::ModelProto m = read_onnx(path);
  EXPECT_NO_THROW(onnx::checker::check_model(m));
  onnx::ShapeInferenceOptions strict{/*check_type=*/true, /*error_mode=*/1, /*enable_data_propagation=*/false};
  try {
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), strict);
  } catch (const std::exception& e) {
    ADD_FAILURE() << path << ": shape inference: " << e.what();
  }
}

TEST(OnnxExport, ResNetFilePassesTheCheckerAndKeepsFoldedWeightsAndMetadata) {
  TempDir dir;
  const infer::ModelWeights m = small_resnet();
  infer::export_onnx(dir / "r.onnx", m);
  expect_valid(dir / "r.onnx");
  const onnx::ModelProto p = read_onnx(dir / "r.onnx");
  ASSERT_EQ(p.opset_import_size(), 1);
  EXPECT_EQ(p.opset_import(0).version(), infer::kOnnxOpset);
  EXPECT_EQ(p.ir_version(), 7);
  ASSERT_EQ(p.graph().input_size(), 1);
  EXPECT_EQ(dims_of(p.graph().input(0)), (std::vector<std::string>{"batch", "3", "48", "48"}));
  EXPECT_EQ(p.graph().output(0).name(), "logits");
  EXPECT_EQ(dims_of(p.graph().output(0)), (std::vector<std::string>{"batch", "6"}));
  // 20 convolutions (stem, 16 in the blocks, 3 downsamples), BN folded away; one Gemm.
  const std::map<std::string, int> ops = op_counts(p);
  EXPECT_EQ(ops.at("Conv"), 20);
  EXPECT_EQ(ops.at("Gemm"), 1);
  EXPECT_EQ(ops.count("BatchNormalization"), 0u);
  const infer::CompiledNetwork net = infer::compile(*infer::build_network(m));
  EXPECT_TRUE(same_floats(initializer(p, "conv1.weight"), net.stem.weight));
  EXPECT_TRUE(same_floats(initializer(p, "layer3.0.downsample.bias"), net.blocks[4].down.bias));
  EXPECT_TRUE(same_floats(initializer(p, "fc.weight"), net.classifier[0].weight));
  const std::map<std::string, std::string> meta = metadata(p);
  EXPECT_EQ(meta.at("class_names"), "[\"aeroplane\",\"bicycle\",\"bus\",\"car\",\"horse\",\"knife\"]");
  EXPECT_EQ(meta.at("mean"), "[0.5,0.25,0.125]");
  EXPECT_EQ(meta.at("std"), "[0.229,0.224,0.225]");
  EXPECT_EQ(meta.at("input_layout"), "NCHW");
  EXPECT_EQ(meta.at("resize"), "56");
  EXPECT_EQ(meta.at("crop"), "48");
  EXPECT_EQ(meta.at("task"), "classification");
  const infer::ModelInfo back = infer::model_info_from_json(meta.at("csg.model"), "csg.model");
  EXPECT_EQ(back.arch, "resnet18");
  EXPECT_EQ(back.class_names, m.info.class_names);
  EXPECT_EQ(back.mean, m.info.mean);
}

TEST(OnnxExport, DeepLabFilesDeclareDynamicSpatialAxesAndPassTheChecker) {
  TempDir dir;
  for (models::DeepLabHead head : {models::DeepLabHead::AsppCsg, models::DeepLabHead::AsppV2}) {
    const infer::ModelWeights m = small_deeplab(head);
    infer::export_onnx(dir / "d.onnx", m);
    SCOPED_TRACE(m.info.head);
    expect_valid(dir / "d.onnx");
    const onnx::ModelProto p = read_onnx(dir / "d.onnx");
    EXPECT_EQ(dims_of(p.graph().input(0)), (std::vector<std::string>{"batch", "3", "height", "width"}));
    EXPECT_EQ(dims_of(p.graph().output(0)), (std::vector<std::string>{"batch", "5", "height", "width"}));
    const std::map<std::string, int> ops = op_counts(p);
    ASSERT_EQ(ops.count("Resize"), 1u);
    std::string resize_mode;
    for (const auto& node : p.graph().node())
      if (node.op_type() == "Resize")
        for (const auto& a : node.attribute())
          if (a.name() == "coordinate_transformation_mode") resize_mode = a.s();
    EXPECT_EQ(resize_mode, "align_corners");
    if (head == models::DeepLabHead::AsppCsg) {
      EXPECT_EQ(ops.at("Concat"), 3);  // the ASPP branches, and the sizes of the expand and the upsample
      EXPECT_EQ(ops.at("Expand"), 1);  // the image-pooling branch
    } else {
      EXPECT_EQ(ops.at("Add"), 8 + 3);  // 8 residual adds, the 4 branches summed
    }
    EXPECT_EQ(metadata(p).at("task"), "segmentation");
    EXPECT_EQ(metadata(p).at("input_width"), "0");
  }
  // A model with a fixed input size declares it.
  infer::ModelWeights fixed = small_deeplab(models::DeepLabHead::AsppCsg);
  fixed.info.input_width = 57, fixed.info.input_height = 41;
  infer::export_onnx(dir / "f.onnx", fixed);
  expect_valid(dir / "f.onnx");
  const onnx::ModelProto p = read_onnx(dir / "f.onnx");
  EXPECT_EQ(dims_of(p.graph().input(0)), (std::vector<std::string>{"batch", "3", "41", "57"}));
  EXPECT_EQ(metadata(p).at("input_width"), "57");
}

// ---- ONNX Runtime --------------------------------------------------------------------------

std::string ort_dir() {
  const char* env = std::getenv("CSG_ORT_DIR");
  return env ? env : "data/generated/onnxruntime";
}

// Why ONNX Runtime cannot run here, or "".
std::string ort_missing() {
  if (!testing::file_exists("tools/onnx/ort_run.js")) return "tools/onnx/ort_run.js not found (run from the repository root)";
  if (!testing::file_exists(ort_dir() + "/node_modules/onnxruntime-node/package.json"))
    return "ONNX Runtime is not installed in " + ort_dir() + ": bash tools/onnx/install-ort.sh (or make ort)";
  int status = 0;
  run_command("node --version", &status);
  if (status != 0) return "node is not installed (apt-get install npm)";
  return "";
}

// The first output of `model` for input x in ONNX Runtime (one intra-op thread).
Tensor ort_run(const std::string& model, const Tensor& x, const TempDir& dir) {
  const Tensor c = x.contiguous();
  {
    std::ofstream f(dir / "x.f32", std::ios::binary);
    f.write(reinterpret_cast<const char*>(c.data<float>()), std::streamsize(c.numel() * 4));
  }
  std::string shape;
  for (int64_t d : c.shape()) shape += (shape.empty() ? "" : ",") + std::to_string(d);
  int status = 0;
  const std::string out = run_command("node tools/onnx/ort_run.js --ort '" + ort_dir() + "' --model '" + model +
                                          "' --input '" + (dir / "x.f32") + "' --shape " + shape + " --output '" +
                                          (dir / "y.f32") + "' --threads 1",
                                      &status);
  const size_t at = out.find("dims=");
  if (status != 0 || at == std::string::npos) {
    ADD_FAILURE() << "ONNX Runtime failed on " << model << ":\n" << out;
    return Tensor();
  }
  Shape dims;
  std::istringstream ds(out.substr(at + 5, out.find(' ', at) - at - 5));
  for (std::string d; std::getline(ds, d, ',');) dims.push_back(std::stoll(d));
  Tensor y = empty(dims);
  std::ifstream f(dir / "y.f32", std::ios::binary);
  f.read(reinterpret_cast<char*>(y.data<float>()), std::streamsize(y.numel() * 4));
  EXPECT_EQ(f.gcount(), y.numel() * 4) << "y.f32 holds fewer floats than dims " << shape_str(dims);
  return y;
}

// csg's logits (the engine `csg predict` runs) against ONNX Runtime's on the exported file, at two
// batch sizes from one file (the batch axis is dynamic).
void expect_ort_matches(const infer::ModelWeights& m, const Shape& input) {
  TempDir dir;
  infer::export_onnx(dir / "m.onnx", m);
  infer::Engine engine(m);
  for (int64_t batch : {input[0], int64_t(1)}) {
    const Tensor x = random_input({batch, input[1], input[2], input[3]}, 31 + batch);
    const Tensor want = engine.run(x).clone();
    const Tensor got = ort_run(dir / "m.onnx", x, dir);
    if (!got.defined()) return;
    ASSERT_EQ(got.shape(), want.shape()) << m.info.arch << " " << m.info.head;
    EXPECT_LE(relative_error(got, want), 1e-4) << m.info.arch << " (" << m.info.head << " head) batch " << batch
                                               << ": max |diff| " << testing::max_abs_diff(got, want);
  }
}

#define CSG_REQUIRE_ORT()                  \
  do {                                     \
    const std::string why = ort_missing(); \
    if (!why.empty()) {                    \
      GTEST_SKIP() << why;                 \
    }                                      \
  } while (0)

TEST(OnnxRuntime, ResNetClassifiersReproduceCsgLogits) {
  CSG_REQUIRE_ORT();
  expect_ort_matches(small_resnet(), {3, 3, 48, 48});
  expect_ort_matches(small_mlp_resnet(), {2, 3, 40, 40});
}

TEST(OnnxRuntime, DeepLabHeadsReproduceCsgLogits) {
  CSG_REQUIRE_ORT();
  expect_ort_matches(small_deeplab(models::DeepLabHead::AsppCsg), testing::test_deeplab_input().shape());
  expect_ort_matches(small_deeplab(models::DeepLabHead::AsppV2), {2, 3, 33, 48});
}

// Debian's python3-onnx: its checker with full_check (strict shape inference) on the files.
TEST(OnnxExport, PythonOnnxCheckerAcceptsTheFiles) {
  int status = 0;
  run_command("/usr/bin/python3 -c 'import onnx'", &status);
  if (status != 0) GTEST_SKIP() << "python3-onnx is not installed (apt-get install python3-onnx)";
  TempDir dir;
  infer::export_onnx(dir / "r.onnx", small_mlp_resnet());
  infer::export_onnx(dir / "d.onnx", small_deeplab(models::DeepLabHead::AsppCsg));
  for (const char* name : {"r.onnx", "d.onnx"}) {
    const std::string out = run_command(
        "/usr/bin/python3 -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); "
        "print(\"accepted\")' '" + (dir / name) + "'",
        &status);
    EXPECT_EQ(status, 0) << name << ":\n" << out;
    EXPECT_NE(out.find("accepted"), std::string::npos) << out;
  }
}

#endif  // CSG_WITH_ONNX

}  // namespace
}  // namespace csg
