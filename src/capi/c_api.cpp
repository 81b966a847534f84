// src/capi/c_api.cpp — include/csg/c_api.h over csg::infer::Engine. Every entry point catches
// everything: a C caller sees a status and csg_last_error(), never an exception.
#include "csg/c_api.h"

#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "csg/error.h"
#include "csg/image.h"
#include "csg/infer.h"
#include "csg/predict.h"
#include "src/infer/threads.h"

struct csg_model {
  std::unique_ptr<csg::infer::Engine> engine;
  int threads = 0;  // 0: the default
  int64_t max_image_pixels = CSG_DEFAULT_MAX_IMAGE_PIXELS;
};

static_assert(CSG_DEFAULT_MAX_IMAGE_PIXELS == csg::image::kDefaultMaxPixels, "the C API's default is the library's");

namespace {

thread_local std::string g_last_error;

// An error with the status the C caller gets.
struct ApiError {
  csg_status status;
  std::string message;
};

[[noreturn]] void fail(csg_status status, std::string message) { throw ApiError{status, std::move(message)}; }

// Runs f; maps what it throws to a status and the thread's last error. `kind` is the status of
// a csg::Error (a malformed model in csg_model_open, an internal error elsewhere).
template <class F>
csg_status guarded(csg_status kind, F&& f) {
  try {
    f();
    g_last_error.clear();
    return CSG_OK;
  } catch (const ApiError& e) {
    g_last_error = e.message;
    return e.status;
  } catch (const csg::OutOfMemory& e) {
    g_last_error = e.what();
    return CSG_ERR_OUT_OF_MEMORY;
  } catch (const csg::Error& e) {
    g_last_error = e.what();
    return kind;
  } catch (const std::bad_alloc&) {
    g_last_error = "out of host memory";
    return CSG_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    g_last_error = std::string("internal error: ") + e.what();
    return CSG_ERR_INTERNAL;
  } catch (...) {
    g_last_error = "internal error: unknown exception";
    return CSG_ERR_INTERNAL;
  }
}

void require(bool ok, const char* what) {
  if (!ok) fail(CSG_ERR_INVALID_ARGUMENT, what);
}

std::vector<csg::image::Image> copy_images(const csg_image* images, int n) {
  std::vector<csg::image::Image> out(n);
  for (int i = 0; i < n; ++i) {
    const csg_image& src = images[i];
    if (!src.rgb || src.width < 1 || src.height < 1 || src.width > 65536 || src.height > 65536)
      fail(CSG_ERR_INVALID_ARGUMENT, "image " + std::to_string(i) + ": null pixels or a size outside 1 .. 65536");
    const size_t row = size_t(src.width) * 3;
    const size_t stride = src.stride > 0 ? size_t(src.stride) : row;
    if (stride < row) fail(CSG_ERR_INVALID_ARGUMENT, "image " + std::to_string(i) + ": stride below width * 3");
    out[i].width = src.width, out[i].height = src.height;
    out[i].rgb.resize(row * src.height);
    for (int y = 0; y < src.height; ++y) std::memcpy(&out[i].rgb[y * row], src.rgb + y * stride, row);
  }
  return out;
}

std::vector<csg::image::Image> load_images(const char* const* paths, int n, int64_t max_pixels) {
  std::vector<csg::image::Image> out;
  for (int i = 0; i < n; ++i) {
    if (!paths[i]) fail(CSG_ERR_INVALID_ARGUMENT, "path " + std::to_string(i) + " is NULL");
    try {
      out.push_back(csg::image::load(paths[i], max_pixels));
    } catch (const csg::Error& e) {
      fail(CSG_ERR_IMAGE, e.what());
    }
  }
  return out;
}

// Preprocesses and runs one batch; the logits stay valid until the model's next run.
csg::Tensor run_batch(csg_model& m, const std::vector<csg::image::Image>& images) {
  const csg::infer::ThreadsScope threads(m.threads);
  csg::Tensor x;
  try {
    x = m.engine->preprocess(images);
  } catch (const csg::Error& e) {
    fail(CSG_ERR_IMAGE, e.what());
  }
  return m.engine->run(x).to(csg::Device::CPU).contiguous();
}

void classify(csg_model* model, const std::vector<csg::image::Image>& images, float* logits, int* class_ids) {
  if (model->engine->info().task() != csg::infer::Task::Classification)
    fail(CSG_ERR_WRONG_TASK, "this is a segmentation model: call csg_segment_images / csg_segment_files");
  csg::Tensor out = run_batch(*model, images);
  const int64_t n = out.size(0), C = out.size(1);
  const float* p = out.data<float>();
  if (logits) std::memcpy(logits, p, sizeof(float) * n * C);
  if (class_ids)
    for (int64_t i = 0; i < n; ++i) {
      int64_t best = 0;
      for (int64_t c = 1; c < C; ++c)
        if (p[i * C + c] > p[i * C + best]) best = c;
      class_ids[i] = static_cast<int>(best);
    }
}

void segment(csg_model* model, const std::vector<csg::image::Image>& images, uint8_t* labels, float* logits) {
  if (model->engine->info().task() != csg::infer::Task::Segmentation)
    fail(CSG_ERR_WRONG_TASK, "this is a classification model: call csg_classify_images / csg_classify_files");
  csg::Tensor out = run_batch(*model, images);
  const int64_t n = out.size(0), C = out.size(1), plane = out.size(2) * out.size(3);
  const float* p = out.data<float>();
  if (logits) std::memcpy(logits, p, sizeof(float) * n * C * plane);
  if (labels)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < plane; ++k) {
        const float* v = p + i * C * plane + k;
        int64_t best = 0;
        for (int64_t c = 1; c < C; ++c)
          if (v[c * plane] > v[best * plane]) best = c;
        labels[i * plane + k] = static_cast<uint8_t>(best);
      }
}

}  // namespace

extern "C" {

const char* csg_version(void) { return "0.1.0"; }

const char* csg_last_error(void) { return g_last_error.c_str(); }

csg_status csg_model_open(const char* path, const char* arch, csg_model** out) {
  return guarded(CSG_ERR_MODEL, [&] {
    require(out != nullptr, "csg_model_open: out is NULL");
    *out = nullptr;
    require(path != nullptr, "csg_model_open: path is NULL");
    auto m = std::make_unique<csg_model>();
    try {
      m->engine = std::make_unique<csg::infer::Engine>(csg::infer::read_model(path, arch ? arch : ""));
    } catch (const csg::OutOfMemory&) {
      throw;
    } catch (const csg::Error& e) {  // every message names the file, even one raised deep in a loader
      const std::string msg = e.what();
      fail(CSG_ERR_MODEL, msg.find(path) == std::string::npos ? std::string(path) + ": " + msg : msg);
    }
    *out = m.release();
  });
}

void csg_model_free(csg_model* model) { delete model; }

csg_status csg_model_set_threads(csg_model* model, int n) {
  return guarded(CSG_ERR_INTERNAL, [&] {
    require(model != nullptr, "csg_model_set_threads: model is NULL");
    model->threads = n > 0 ? n : 0;
  });
}

csg_status csg_model_set_max_image_pixels(csg_model* model, int64_t max_pixels) {
  return guarded(CSG_ERR_INTERNAL, [&] {
    require(model != nullptr, "csg_model_set_max_image_pixels: model is NULL");
    model->max_image_pixels = max_pixels > 0 ? max_pixels : CSG_DEFAULT_MAX_IMAGE_PIXELS;
  });
}

csg_status csg_model_set_precision(csg_model* model, const char* precision) {
  return guarded(CSG_ERR_DEVICE, [&] {
    require(model != nullptr && precision != nullptr, "csg_model_set_precision: model or precision is NULL");
    const std::string name = precision;
    require(name == "f32" || name == "bf16", "csg_model_set_precision: precision must be \"f32\" or \"bf16\"");
    model->engine->set_precision(csg::infer::parse_precision(name));
  });
}

csg_status csg_model_set_device(csg_model* model, const char* device) {
  return guarded(CSG_ERR_DEVICE, [&] {
    require(model != nullptr && device != nullptr, "csg_model_set_device: model or device is NULL");
    const std::string name = device;
    require(name == "cpu" || name == "cuda", "csg_model_set_device: device must be \"cpu\" or \"cuda\"");
    model->engine->to(csg::parse_device(name));
  });
}

int csg_model_task(const csg_model* model) {
  if (!model) return -1;
  return model->engine->info().task() == csg::infer::Task::Segmentation ? CSG_TASK_SEGMENTATION
                                                                         : CSG_TASK_CLASSIFICATION;
}

int csg_model_num_classes(const csg_model* model) {
  return model ? static_cast<int>(model->engine->info().num_classes) : -1;
}

const char* csg_model_class_name(const csg_model* model, int c) {
  if (!model || c < 0 || c >= csg_model_num_classes(model)) return nullptr;
  return model->engine->info().class_names[c].c_str();
}

const char* csg_model_arch(const csg_model* model) { return model ? model->engine->info().arch.c_str() : nullptr; }

csg_status csg_model_input_size(const csg_model* model, int width, int height, int* out_width, int* out_height) {
  return guarded(CSG_ERR_INTERNAL, [&] {
    require(model && out_width && out_height, "csg_model_input_size: model or an output is NULL");
    require(width >= 1 && height >= 1, "csg_model_input_size: width and height must be >= 1");
    const std::array<int, 2> s = model->engine->input_size(width, height);
    *out_width = s[0], *out_height = s[1];
  });
}

csg_status csg_classify_images(csg_model* model, const csg_image* images, int n, float* logits, int* class_ids) {
  return guarded(CSG_ERR_INTERNAL, [&] {
    require(model && images && n >= 1, "csg_classify_images: model or images is NULL, or n < 1");
    classify(model, copy_images(images, n), logits, class_ids);
  });
}

csg_status csg_classify_files(csg_model* model, const char* const* paths, int n, float* logits, int* class_ids) {
  return guarded(CSG_ERR_INTERNAL, [&] {
    require(model && paths && n >= 1, "csg_classify_files: model or paths is NULL, or n < 1");
    classify(model, load_images(paths, n, model->max_image_pixels), logits, class_ids);
  });
}

csg_status csg_segment_images(csg_model* model, const csg_image* images, int n, uint8_t* labels, float* logits) {
  return guarded(CSG_ERR_INTERNAL, [&] {
    require(model && images && n >= 1, "csg_segment_images: model or images is NULL, or n < 1");
    segment(model, copy_images(images, n), labels, logits);
  });
}

csg_status csg_segment_files(csg_model* model, const char* const* paths, int n, uint8_t* labels, float* logits) {
  return guarded(CSG_ERR_INTERNAL, [&] {
    require(model && paths && n >= 1, "csg_segment_files: model or paths is NULL, or n < 1");
    segment(model, load_images(paths, n, model->max_image_pixels), labels, logits);
  });
}

csg_status csg_image_size(const char* path, int* width, int* height) {
  return guarded(CSG_ERR_IMAGE, [&] {
    require(path && width && height, "csg_image_size: path or an output is NULL");
    const csg::image::Image im = csg::image::load(path);
    *width = im.width, *height = im.height;
  });
}

csg_status csg_export(const char* path, const char* arch, const char* out_path) {
  return guarded(CSG_ERR_MODEL, [&] {
    require(path && out_path, "csg_export: path or out_path is NULL");
    csg::infer::export_model_file(path, out_path, arch ? arch : "");
  });
}

}  // extern "C"
