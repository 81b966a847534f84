// src/infer/engine.cpp — running a compiled network.
//
// One walk over the compiled layers (forward.h), written once against three backends:
//   OneDnnBackend  (onednn_backend.cpp) the CPU with oneDNN: activations stay in oneDNN's layout
//                  from the first convolution to the head, bias, residual add and ReLU fused;
//   CpuBackend     float32 NCHW on the CPU without oneDNN: conv2d_cpu::forward_fused with the same
//                  epilogue, every activation in a BufferPool buffer, released after its last reader;
//   OpsBackend     the differentiable ops of csg/ops.h on any device (CUDA) under NoGradGuard,
//                  with the same folded weights.
#include <algorithm>

#include "csg/autograd.h"
#include "csg/error.h"
#include "csg/infer.h"
#include "src/infer/buffer_pool.h"
#include "src/infer/cpu_layers.h"
#include "src/infer/forward.h"
#include "src/infer/fused_conv.h"
#include "src/infer/onednn_backend.h"
#include "src/ops/conv2d_cpu.h"
#include "src/ops/onednn/context.h"

namespace csg::infer {

namespace {

// float32 NCHW on the CPU without oneDNN (a DNNL=0 build, or under onednn::PlainPathGuard).
class CpuBackend {
 public:
  using Act = Tensor;
  explicit CpuBackend(BufferPool& pool) : pool_(pool) {}
  Tensor input(const Tensor& x) { return x; }
  Tensor output(const Tensor& y) { return y; }
  Tensor empty(const Shape& s) { return pool_.acquire(s); }
  void release(const Tensor& t) { pool_.release(t); }

  Tensor conv(const FusedConv& f, const Tensor& x, const Tensor& residual = Tensor()) {
    const kernels::Conv2dShape s = conv_shape(f, x.shape());
    Tensor y = pool_.acquire({s.N, s.O, s.OH, s.OW});
    run_conv(f, s, x, residual, y.data<float>(), 0);
    pool_.release(residual);  // consumed
    return y;
  }
  // Writes conv(x) into channels [offset, offset + O) of dst [N, C_total, OH, OW].
  void conv_into(const FusedConv& f, const Tensor& x, const Tensor& dst, int64_t offset) {
    const kernels::Conv2dShape s = conv_shape(f, x.shape());
    const int64_t plane = s.OH * s.OW;
    run_conv(f, s, x, Tensor(), dst.data<float>() + offset * plane, dst.size(1) * plane);
  }
  Tensor max_pool(const Tensor& x, const Pool2dOptions& o) {
    const int64_t OH = (x.size(2) + 2 * o.pad_h - o.kernel_h) / o.stride_h + 1;
    const int64_t OW = (x.size(3) + 2 * o.pad_w - o.kernel_w) / o.stride_w + 1;
    Tensor y = pool_.acquire({x.size(0), x.size(1), OH, OW});
    cpu::max_pool(x.data<float>(), y.data<float>(), x.size(0) * x.size(1), x.size(2), x.size(3), o, OH, OW);
    return y;
  }
  Tensor global_pool(const Tensor& x) {  // [N,C,H,W] -> [N,C,1,1]
    Tensor y = pool_.acquire({x.size(0), x.size(1), 1, 1});
    cpu::mean_of_planes(x.data<float>(), y.data<float>(), x.size(0) * x.size(1), x.size(2) * x.size(3));
    return y;
  }
  Tensor dense(const Dense& d, const Tensor& x) {  // x [N,I,...] -> [N,O]
    const int64_t N = x.size(0), I = d.weight.size(1), O = d.weight.size(0);
    Tensor y = pool_.acquire({N, O});
    cpu::dense(x.data<float>(), d.weight.data<float>(), d.bias.data<float>(), y.data<float>(), N, I, O, d.relu);
    return y;
  }
  // dst[:, offset + c, :, :] = v[:, c, 0, 0].
  void broadcast_into(const Tensor& v, const Tensor& dst, int64_t offset) {
    const int64_t plane = dst.size(2) * dst.size(3);
    cpu::broadcast_planes(v.data<float>(), dst.data<float>() + offset * plane, dst.size(0), v.size(1), plane,
                          dst.size(1) * plane);
  }
  Tensor upsample(const Tensor& x, int64_t H, int64_t W) {
    Tensor y = pool_.acquire({x.size(0), x.size(1), H, W});
    cpu::upsample_align_corners(x.data<float>(), y.data<float>(), x.size(0) * x.size(1), x.size(2), x.size(3), H, W);
    return y;
  }

 private:
  void run_conv(const FusedConv& f, const kernels::Conv2dShape& s, const Tensor& x, const Tensor& residual, float* y,
                int64_t y_image_stride) {
    conv2d_cpu::Epilogue<float> e;
    e.residual = residual.defined() ? residual.data<float>() : nullptr;
    e.relu = f.relu;
    e.y_image_stride = y_image_stride;
    conv2d_cpu::forward_fused<float>(s, x.data<float>(), f.weight.data<float>(), f.bias.data<float>(), y, e);
  }
  BufferPool& pool_;
};

// The differentiable ops of csg/ops.h on any device (CUDA), under NoGradGuard.
class OpsBackend {
 public:
  using Act = Tensor;
  explicit OpsBackend(Device dev) : dev_(dev) {}
  Tensor input(const Tensor& x) { return x; }
  Tensor output(const Tensor& y) { return y; }
  Tensor empty(const Shape& s) { return csg::empty(s, {DType::F32, dev_}); }
  void release(const Tensor&) {}
  Tensor conv(const FusedConv& f, const Tensor& x, const Tensor& residual = Tensor()) {
    conv_shape(f, x.shape());
    Tensor y = conv2d(x, f.weight, f.bias, f.opt);
    if (residual.defined()) y = add(y, residual);
    return f.relu ? relu(y) : y;
  }
  void conv_into(const FusedConv& f, const Tensor& x, const Tensor& dst, int64_t offset) {
    Tensor(dst.slice(1, offset, offset + f.weight.size(0))).copy_(conv(f, x));
  }
  Tensor max_pool(const Tensor& x, const Pool2dOptions& o) { return max_pool2d(x, o); }
  Tensor global_pool(const Tensor& x) { return adaptive_avg_pool2d(x, 1, 1); }
  Tensor dense(const Dense& d, const Tensor& x) {
    Tensor y = linear(x.flatten(1), d.weight, d.bias);
    return d.relu ? relu(y) : y;
  }
  void broadcast_into(const Tensor& v, const Tensor& dst, int64_t offset) {
    Tensor slice = dst.slice(1, offset, offset + v.size(1));
    slice.copy_(v.expand(slice.shape()));
  }
  Tensor upsample(const Tensor& x, int64_t H, int64_t W) { return upsample_bilinear2d(x, H, W, true); }

 private:
  Device dev_;
};

}  // namespace

struct Engine::Impl {
  ModelInfo info;
  CompiledNetwork net;
  Device device = Device::CPU;
  BufferPool pool{Device::CPU};
  OneDnnRunner onednn;  // holds the CPU weights in oneDNN's layout: cleared when they move
  Precision precision = Precision::F32;
  Tensor input;  // preprocess()'s buffer, grown when a larger batch comes
  uint64_t input_allocations = 0;
};

Engine::Engine(const ModelWeights& m, Device device) : Engine(*build_network(m), m.info, device) {}

Engine::Engine(const nn::Module& net, const ModelInfo& info, Device device) : impl_(std::make_unique<Impl>()) {
  info.validate("Engine");
  impl_->info = info;
  impl_->net = compile(net);
  to(device);
}

Engine::~Engine() = default;

const ModelInfo& Engine::info() const { return impl_->info; }
Device Engine::device() const { return impl_->device; }

Precision parse_precision(const std::string& name) {
  if (name == "f32" || name == "fp32") return Precision::F32;
  if (name == "bf16") return Precision::BF16;
  CSG_FAIL("unknown precision '", name, "': f32 or bf16");
}

const char* precision_name(Precision p) { return p == Precision::BF16 ? "bf16" : "f32"; }

void Engine::set_precision(Precision p) {
  if (p == Precision::BF16) {
    CSG_CHECK(impl_->device == Device::CPU, "bf16 inference runs on the CPU (oneDNN); this model is on ",
              device_name(impl_->device), ": use f32 there");
    std::string why;
    CSG_CHECK(onednn::has_bf16(&why) && onednn::active(), "bf16 inference: ", why.empty() ? "oneDNN is off" : why);
  }
  impl_->precision = p;
}

Precision Engine::precision() const { return impl_->precision; }

void Engine::to(Device device) {
  CSG_CHECK(device == Device::CPU || impl_->precision == Precision::F32,
            "bf16 inference runs on the CPU (oneDNN): set the precision to f32 before moving the model to ",
            device_name(device));
  impl_->net.to(device);
  impl_->device = device;
  impl_->pool.clear();
  impl_->onednn.clear();
  impl_->input = Tensor();
}

Tensor Engine::run(const Tensor& x) {
  CSG_CHECK(x.defined() && x.dim() == 4 && x.size(1) == 3 && x.dtype() == DType::F32, "Engine::run: expected ",
            "an f32 input [N,3,H,W], got ", x.defined() ? x.describe() : std::string("an undefined tensor"));
  CSG_CHECK(x.size(0) >= 1 && x.size(2) >= 1 && x.size(3) >= 1, "Engine::run: empty input ", x.describe());
  NoGradGuard no_grad;
  if (impl_->device != Device::CPU) {
    OpsBackend be(impl_->device);
    return forward(be, impl_->net, x.to(impl_->device).contiguous());
  }
  Tensor in = x.device() == Device::CPU ? x.contiguous() : x.to(Device::CPU);
  impl_->pool.begin(in.shape());
  if (onednn::active()) return impl_->onednn.run(impl_->net, in, impl_->pool, impl_->precision == Precision::BF16);
  CSG_CHECK(impl_->precision == Precision::F32,
            "bf16 inference needs oneDNN, which is switched off here (onednn::PlainPathGuard)");
  CpuBackend be(impl_->pool);
  return forward(be, impl_->net, in);
}

std::array<int, 2> Engine::input_size(int width, int height) const {
  const ModelInfo& m = impl_->info;
  if (m.task() == Task::Classification) return {m.crop, m.crop};
  if (m.input_width > 0) return {m.input_width, m.input_height};
  return {width, height};
}

Tensor Engine::preprocess(const std::vector<image::Image>& images) {
  CSG_CHECK(!images.empty(), "Engine::preprocess: no images");
  const ModelInfo& m = impl_->info;
  const std::array<int, 2> size = input_size(images[0].width, images[0].height);
  const int64_t N = static_cast<int64_t>(images.size()), plane = int64_t(size[0]) * size[1];
  const Shape shape = {N, 3, size[1], size[0]};
  if (!impl_->input.defined() || impl_->input.numel() < shape_numel(shape)) {
    impl_->input = empty({shape_numel(shape)});
    ++impl_->input_allocations;
  }
  Tensor x = make_view(impl_->input, shape, contiguous_strides(shape), 0);
  float* out = x.data<float>();
  for (int64_t n = 0; n < N; ++n) {
    const image::Image& src = images[n];
    CSG_CHECK(src.width >= 1 && src.height >= 1 && src.rgb.size() == size_t(src.width) * src.height * 3,
              "Engine::preprocess: image ", n, " is empty or its pixel buffer does not hold width*height*3 bytes");
    image::Image resized;
    const image::Image* im = &src;
    if (m.task() == Task::Classification) {
      resized = image::center_crop(image::resize_shorter_side(src, m.resize), m.crop, m.crop);
      im = &resized;
    } else if (m.input_width > 0 && (src.width != m.input_width || src.height != m.input_height)) {
      resized = image::resize_bilinear(src, m.input_width, m.input_height);
      im = &resized;
    }
    CSG_CHECK(im->width == size[0] && im->height == size[1], "Engine::preprocess: image ", n, " is ", im->width, "x",
              im->height, " but image 0 is ", size[0], "x", size[1],
              "; a segmentation batch needs images of one size (or a model with a fixed input size)");
    // ToTensor + Normalize, as image::to_tensor computes it.
    for (int c = 0; c < 3; ++c) {
      float* dst = out + (n * 3 + c) * plane;
      for (int64_t i = 0; i < plane; ++i)
        dst[i] = (static_cast<float>(im->rgb[i * 3 + c]) / 255.0f - m.mean[c]) / m.std[c];
    }
  }
  return x;
}

uint64_t Engine::buffer_allocations() const { return impl_->pool.allocations() + impl_->input_allocations; }

std::vector<int64_t> class_ids(const Tensor& logits) {
  CSG_CHECK(logits.dim() == 2, "class_ids: expected logits [N,C], got ", logits.describe());
  std::vector<float> v = logits.to_float_vector();
  const int64_t N = logits.size(0), C = logits.size(1);
  std::vector<int64_t> ids(N);
  for (int64_t n = 0; n < N; ++n)
    ids[n] = std::max_element(v.begin() + n * C, v.begin() + (n + 1) * C) - (v.begin() + n * C);
  return ids;
}

std::vector<image::LabelMap> label_maps(const Tensor& logits) {
  CSG_CHECK(logits.dim() == 4 && logits.size(1) <= 256, "label_maps: expected logits [N,C,H,W] with C <= 256, got ",
            logits.describe());
  Tensor l = logits.to(Device::CPU).contiguous();
  const int64_t N = l.size(0), C = l.size(1), H = l.size(2), W = l.size(3), plane = H * W;
  const float* p = l.data<float>();
  std::vector<image::LabelMap> maps(N);
  for (int64_t n = 0; n < N; ++n) {
    image::LabelMap& m = maps[n];
    m.width = static_cast<int>(W), m.height = static_cast<int>(H);
    m.values.assign(plane, 0);
    std::vector<float> best(p + n * C * plane, p + n * C * plane + plane);
    for (int64_t c = 1; c < C; ++c) {
      const float* row = p + (n * C + c) * plane;
      for (int64_t i = 0; i < plane; ++i)
        if (row[i] > best[i]) best[i] = row[i], m.values[i] = static_cast<uint8_t>(c);
    }
  }
  return maps;
}

}  // namespace csg::infer
