// tools/fuzz/fuzz_model_open.cpp — libFuzzer target: csg_model_open of the C API on any bytes
// (exported models, training checkpoints, state dicts): a status and a message, or a model
// whose description can be queried, never a crash. Running the network is left to the tests
// (a well-formed file may ask for any input size).
#include "csg/c_api.h"
#include "tools/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = csg_fuzz::mem_file().write(data, size);
  csg_model* model = nullptr;
  const csg_status status = csg_model_open(path.c_str(), nullptr, &model);
  if (status != CSG_OK) {
    // A failed open leaves no model and says why, naming the file.
    if (model != nullptr || std::string(csg_last_error()).find(path) == std::string::npos) std::abort();
    return 0;
  }
  const int classes = csg_model_num_classes(model);
  for (int c = 0; c < classes; ++c)
    if (csg_model_class_name(model, c) == nullptr) std::abort();
  int w = 0, h = 0;
  csg_model_input_size(model, 640, 480, &w, &h);
  csg_model_free(model);
  return 0;
}
