// src/infer/onnx_export.cpp — `csg export --format onnx`: the compiled inference network
// (fused_conv.h: batch norm folded into each convolution) as an ONNX model, built with Debian's
// compiled ONNX schema (libonnx-dev, onnx/onnx_pb.h) and checked with libonnx's checker before it
// is written. The graph comes from the walk the engine itself runs (forward.h), here with a
// backend whose activations are graph values: the ONNX file cannot drift from the engine's network.
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <array>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "csg/error.h"
#include "csg/infer.h"
#include "csg/version.h"
#include "src/infer/forward.h"
#include "src/infer/fused_conv.h"
#include "src/io/atomic_file.h"
#include "src/io/json.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ONNX raw_data is little-endian: add a byte swap");

namespace csg::infer {

namespace {

// A value of the graph: its name, and its shape for the traced input. The shape serves the
// checks and the channel offsets only; the graph keeps the batch (and, for a segmentation model
// without a fixed input size, height and width) symbolic.
struct GraphValue {
  std::string name;
  Shape shape;
  int64_t size(int d) const { return shape.at(static_cast<size_t>(d)); }
};

// Names of the folded layers after the training-time modules they come from (conv1 holds conv1 +
// bn1, layer1.0.downsample holds downsample.0 + .1), so that a graph viewer shows familiar names.
std::map<const void*, std::string> layer_names(const CompiledNetwork& net, const ModelInfo& info) {
  std::map<const void*, std::string> names;
  names[&net.stem] = "conv1";
  size_t i = 0;
  for (int s = 0; s < 4; ++s)
    for (int b = 0; b < net.backbone.stages[s].blocks; ++b, ++i) {
      CSG_CHECK(i < net.blocks.size(), "ONNX export: ", info.arch, " has fewer residual blocks than expected");
      const FusedBlock& fb = net.blocks[i];
      const std::string prefix = "layer" + std::to_string(s + 1) + "." + std::to_string(b) + ".";
      for (size_t j = 0; j < fb.convs.size(); ++j) names[&fb.convs[j]] = prefix + "conv" + std::to_string(j + 1);
      if (fb.has_down) names[&fb.down] = prefix + "downsample";
    }
  CSG_CHECK(i == net.blocks.size(), "ONNX export: ", info.arch, " has more residual blocks than expected");
  if (net.classifier.size() == 1) names[&net.classifier[0]] = "fc";
  if (net.classifier.size() == 2) names[&net.classifier[0]] = "head.0", names[&net.classifier[1]] = "head.2";
  for (size_t k = 0; k < net.v2.size(); ++k) names[&net.v2[k]] = "fc_new.conv2d_list." + std::to_string(k);
  for (size_t k = 0; k < net.aspp.size(); ++k) names[&net.aspp[k]] = "aspp." + std::to_string(k);
  names[&net.aspp_pool] = "aspp.pool";
  names[&net.project] = "project";
  names[&net.refine] = "refine";
  names[&net.seg_classifier] = "classifier";
  return names;
}

void set_ints(onnx::NodeProto* n, const char* name, const std::vector<int64_t>& v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
void set_int(onnx::NodeProto* n, const char* name, int64_t v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
void set_string(onnx::NodeProto* n, const char* name, const std::string& v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

// The backend forward.h walks: every call appends nodes (and their weights as initializers).
class OnnxBackend {
 public:
  using Act = GraphValue;
  OnnxBackend(onnx::GraphProto& g, std::map<const void*, std::string> names) : g_(g), names_(std::move(names)) {}

  GraphValue input(const Tensor& x) {
    input_ = {"input", x.shape()};
    used_.insert(input_.name);
    return input_;
  }
  // Renames the node output that holds the logits to "logits", the graph's output.
  Tensor output(const GraphValue& y) {
    for (int i = g_.node_size() - 1; i >= 0; --i)
      if (g_.node(i).output(0) == y.name) {
        g_.mutable_node(i)->set_output(0, "logits");
        output_shape_ = y.shape;
        return Tensor();
      }
    CSG_FAIL("ONNX export: the logits ", y.name, " come from no node");
  }
  void release(const GraphValue&) {}

  GraphValue conv(const FusedConv& f, const GraphValue& x, const GraphValue& residual = GraphValue()) {
    const kernels::Conv2dShape s = conv_shape(f, x.shape);
    const std::string& layer = names_.at(&f);
    onnx::NodeProto* n = node("Conv", {use(x), weight(layer + ".weight", f.weight), weight(layer + ".bias", f.bias)},
                              layer);
    set_ints(n, "kernel_shape", {s.KH, s.KW});
    set_ints(n, "strides", {s.stride_h, s.stride_w});
    set_ints(n, "pads", {s.pad_h, s.pad_w, s.pad_h, s.pad_w});
    set_ints(n, "dilations", {s.dilation_h, s.dilation_w});
    GraphValue y{n->output(0), {s.N, s.O, s.OH, s.OW}};
    if (!residual.name.empty()) y.name = node("Add", {y.name, use(residual)}, layer + ".add")->output(0);
    if (f.relu) y.name = node("Relu", {y.name}, layer + ".relu")->output(0);
    return y;
  }
  // A concatenation along channels is written as its parts arrive and emitted when first read.
  GraphValue empty(const Shape& s) {
    GraphValue v{fresh("concat"), s};
    pending_[v.name];
    return v;
  }
  void conv_into(const FusedConv& f, const GraphValue& x, const GraphValue& dst, int64_t offset) {
    pending_.at(dst.name)[offset] = conv(f, x);
  }
  // The pooled branch [N,C,1,1] expanded to the concatenation's height and width.
  void broadcast_into(const GraphValue& v, const GraphValue& dst, int64_t offset) {
    std::map<int64_t, GraphValue>& parts = pending_.at(dst.name);
    CSG_CHECK(!parts.empty(), "ONNX export: a broadcast into a concatenation without a spatial part");
    const std::string batch_channels = slice(shape_of(v.name), 0, 2);
    const std::string height_width = slice(shape_of(parts.begin()->second.name), 2, 4);
    onnx::NodeProto* sizes = node("Concat", {batch_channels, height_width}, v.name + ".expand_shape");
    set_int(sizes, "axis", 0);
    GraphValue e{node("Expand", {use(v), sizes->output(0)}, v.name + ".expand")->output(0),
                 {v.size(0), v.size(1), dst.size(2), dst.size(3)}};
    parts[offset] = e;
  }
  GraphValue max_pool(const GraphValue& x, const Pool2dOptions& o) {
    onnx::NodeProto* n = node("MaxPool", {use(x)}, "maxpool");
    set_ints(n, "kernel_shape", {o.kernel_h, o.kernel_w});
    set_ints(n, "strides", {o.stride_h, o.stride_w});
    set_ints(n, "pads", {o.pad_h, o.pad_w, o.pad_h, o.pad_w});
    return {n->output(0),
            {x.size(0), x.size(1), (x.size(2) + 2 * o.pad_h - o.kernel_h) / o.stride_h + 1,
             (x.size(3) + 2 * o.pad_w - o.kernel_w) / o.stride_w + 1}};
  }
  GraphValue global_pool(const GraphValue& x) {
    return {node("GlobalAveragePool", {use(x)}, "avgpool")->output(0), {x.size(0), x.size(1), 1, 1}};
  }
  GraphValue dense(const Dense& d, const GraphValue& x) {
    std::string in = use(x);
    if (x.shape.size() != 2) {
      onnx::NodeProto* flat = node("Flatten", {in}, "flatten");
      set_int(flat, "axis", 1);
      in = flat->output(0);
    }
    const std::string& layer = names_.at(&d);
    onnx::NodeProto* n = node("Gemm", {in, weight(layer + ".weight", d.weight), weight(layer + ".bias", d.bias)}, layer);
    set_int(n, "transB", 1);
    GraphValue y{n->output(0), {x.size(0), d.weight.size(0)}};
    if (d.relu) y.name = node("Relu", {y.name}, layer + ".relu")->output(0);
    return y;
  }
  // Bilinear, align_corners (DeepLab's upsampling) to the input's height and width.
  GraphValue upsample(const GraphValue& x, int64_t H, int64_t W) {
    onnx::NodeProto* sizes =
        node("Concat", {slice(shape_of(x.name), 0, 2), slice(shape_of(input_.name), 2, 4)}, "upsample.sizes");
    set_int(sizes, "axis", 0);
    onnx::NodeProto* n = node("Resize", {use(x), "", "", sizes->output(0)}, "upsample");
    set_string(n, "mode", "linear");
    set_string(n, "coordinate_transformation_mode", "align_corners");
    return {n->output(0), {x.size(0), x.size(1), H, W}};
  }

  const Shape& output_shape() const { return output_shape_; }

 private:
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int k = 2; used_.count(name); ++k) name = base + "_" + std::to_string(k);
    used_.insert(name);
    return name;
  }
  // A node with one output named after it (made unique).
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& inputs, const std::string& name) {
    onnx::NodeProto* n = g_.add_node();
    n->set_op_type(op);
    n->set_name(fresh(name));
    for (const std::string& in : inputs) n->add_input(in);
    n->add_output(n->name());
    return n;
  }
  std::string weight(const std::string& name, const Tensor& t) {
    const Tensor c = t.to(Device::CPU).contiguous();
    CSG_CHECK(c.dtype() == DType::F32, "ONNX export: ", name, " is ", c.describe(), ", expected f32");
    onnx::TensorProto* p = g_.add_initializer();
    p->set_name(fresh(name));
    p->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : c.shape()) p->add_dims(d);
    p->set_raw_data(c.data<float>(), static_cast<size_t>(c.numel()) * sizeof(float));
    return p->name();
  }
  std::string int64s(const std::string& name, const std::vector<int64_t>& v) {
    onnx::TensorProto* p = g_.add_initializer();
    p->set_name(fresh(name));
    p->set_data_type(onnx::TensorProto::INT64);
    p->add_dims(static_cast<int64_t>(v.size()));
    for (int64_t x : v) p->add_int64_data(x);
    return p->name();
  }
  std::string shape_of(const std::string& value) {
    auto it = shapes_.find(value);
    if (it == shapes_.end()) it = shapes_.emplace(value, node("Shape", {value}, value + ".shape")->output(0)).first;
    return it->second;
  }
  // Elements [begin, end) of a 1-D int64 value.
  std::string slice(const std::string& value, int64_t begin, int64_t end) {
    const std::string key = std::to_string(begin) + ":" + std::to_string(end);
    if (!slice_bounds_.count(key))
      slice_bounds_[key] = {int64s("slice_begin_" + std::to_string(begin), {begin}),
                            int64s("slice_end_" + std::to_string(end), {end})};
    const auto& b = slice_bounds_[key];
    return node("Slice", {value, b.first, b.second}, value + "[" + key + "]")->output(0);
  }
  // The name to read `v` by: a pending concatenation is emitted first.
  std::string use(const GraphValue& v) {
    auto it = pending_.find(v.name);
    if (it == pending_.end()) return v.name;
    int64_t next = 0;
    std::vector<std::string> parts;
    for (const auto& [offset, part] : it->second) {
      CSG_CHECK(offset == next, "ONNX export: the parts of ", v.name, " leave channels ", next, "..", offset, " empty");
      parts.push_back(part.name);
      next += part.size(1);
    }
    CSG_CHECK(next == v.size(1), "ONNX export: the parts of ", v.name, " fill ", next, " of ", v.size(1), " channels");
    onnx::NodeProto* n = g_.add_node();
    n->set_op_type("Concat");
    n->set_name(v.name);
    for (const std::string& p : parts) n->add_input(p);
    n->add_output(v.name);
    set_int(n, "axis", 1);
    pending_.erase(it);
    return v.name;
  }

  onnx::GraphProto& g_;
  std::map<const void*, std::string> names_;
  std::set<std::string> used_;
  std::map<std::string, std::map<int64_t, GraphValue>> pending_;  // concatenation -> parts by channel offset
  std::map<std::string, std::string> shapes_;                     // value -> its Shape node's output
  std::map<std::string, std::pair<std::string, std::string>> slice_bounds_;
  GraphValue input_;
  Shape output_shape_;
};

// dims: a number, or a name for a symbolic axis.
void declare(onnx::ValueInfoProto* v, const std::string& name, const std::vector<std::string>& dims,
             const std::string& doc) {
  v->set_name(name);
  v->set_doc_string(doc);
  onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (const std::string& d : dims) {
    onnx::TensorShapeProto_Dimension* dim = t->mutable_shape()->add_dim();
    if (!d.empty() && d.find_first_not_of("0123456789") == std::string::npos)
      dim->set_dim_value(std::stoll(d));
    else
      dim->set_dim_param(d);
  }
}

// The shortest decimal that reads back as the same float: 0.485, not 0.485000014.
std::string shortest(float v) {
  char buf[32];
  for (int digits = 6; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, double(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

std::string json_triple(const std::array<float, 3>& v) {
  return "[" + shortest(v[0]) + "," + shortest(v[1]) + "," + shortest(v[2]) + "]";
}

void add_metadata(onnx::ModelProto& model, const ModelInfo& m) {
  const bool seg = m.task() == Task::Segmentation;
  std::string names = "[";
  for (size_t i = 0; i < m.class_names.size(); ++i) names += (i ? "," : "") + io::json::quote(m.class_names[i]);
  names += "]";
  std::vector<std::pair<std::string, std::string>> props = {
      {"csg.model", model_info_to_json(m)},
      {"task", seg ? "segmentation" : "classification"},
      {"num_classes", std::to_string(m.num_classes)},
      {"class_names", names},
      {"input_layout", "NCHW"},
      {"input_channels", "RGB"},
      {"input_normalization", "x = (pixel / 255 - mean) / std, per channel"},
      {"mean", json_triple(m.mean)},
      {"std", json_triple(m.std)},
      {"output", seg ? "logits [batch, classes, height, width] at the input size; argmax over classes is the label map"
                     : "logits [batch, classes]; softmax gives probabilities"}};
  if (seg) {
    props.push_back({"input_width", std::to_string(m.input_width)});    // 0: any size
    props.push_back({"input_height", std::to_string(m.input_height)});
  } else {
    props.push_back({"resize", std::to_string(m.resize)});  // shorter side, bilinear with antialiasing (PIL)
    props.push_back({"crop", std::to_string(m.crop)});      // centre crop, crop x crop
  }
  for (const auto& [k, v] : props) {
    onnx::StringStringEntryProto* e = model.add_metadata_props();
    e->set_key(k);
    e->set_value(v);
  }
}

}  // namespace

bool onnx_export_available() { return true; }

void export_onnx(const std::string& path, const ModelWeights& m) {
  const ModelInfo& info = m.info;
  info.validate("export " + path);
  const CompiledNetwork net = compile(*build_network(m));
  const bool seg = info.task() == Task::Segmentation;
  const bool fixed_size = !seg || info.input_width > 0;
  const std::string H = !seg ? std::to_string(info.crop) : fixed_size ? std::to_string(info.input_height) : "height";
  const std::string W = !seg ? std::to_string(info.crop) : fixed_size ? std::to_string(info.input_width) : "width";
  // The trace: shapes for the checks only (no arithmetic runs); 64x64 stands for any size.
  const Tensor trace = zeros({1, 3, fixed_size ? std::stoll(H) : 64, fixed_size ? std::stoll(W) : 64});

  onnx::ModelProto model;
  model.set_ir_version(7);  // the IR version of opset 13 (ONNX 1.8): the oldest runtime that reads it
  model.set_producer_name("csg");
  model.set_producer_version(version());
  model.set_model_version(1);
  model.set_doc_string("csg " + info.arch + " (" + info.head + " head, " + std::to_string(info.num_classes) +
                       " classes): batch norm folded into the convolutions; preprocessing in metadata_props");
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name(info.arch);
  OnnxBackend be(*g, layer_names(net, info));
  forward(be, net, trace);
  declare(g->add_input(), "input", {"batch", "3", H, W}, "normalised RGB images, NCHW (metadata: mean, std)");
  const std::string classes = std::to_string(info.num_classes);
  CSG_CHECK(be.output_shape().size() == (seg ? 4u : 2u) && be.output_shape()[1] == info.num_classes,
            "ONNX export: the graph's logits are ", shape_str(be.output_shape()), ", expected ", info.num_classes,
            " classes");
  declare(g->add_output(), "logits", seg ? std::vector<std::string>{"batch", classes, H, W}
                                         : std::vector<std::string>{"batch", classes},
          "logits, no softmax");
  add_metadata(model, info);

  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    CSG_FAIL("ONNX export of ", info.arch, ": libonnx's checker rejects the graph csg built (a csg bug): ", e.what());
  }
  const size_t bytes = model.ByteSizeLong();
  CSG_CHECK(bytes <= size_t(INT_MAX), "ONNX export: ", path, " would be ", bytes,
            " bytes, beyond protobuf's 2 GiB limit for one file");
  std::string data;
  CSG_CHECK(model.SerializeToString(&data), "ONNX export: protobuf could not serialise the model for ", path);
  io::AtomicFile out(path);
  out.write(data.data(), data.size());
  out.commit();
}

}  // namespace csg::infer
