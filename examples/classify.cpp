// examples/classify.cpp — classifies images with a csg model through the C++ API (csg/infer.h):
// load once, preprocess as the model file says, run the compiled network, argmax.
//
//   classify MODEL IMAGE...     prints "IMAGE: CLASS (class ID, logit L)" per image
//
// Build against an installed csg: c++ -std=c++17 classify.cpp $(pkg-config --cflags --libs csg)
#include <cstdio>
#include <string>
#include <vector>

#include <csg/image.h>
#include <csg/infer.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
    return 2;
  }
  try {
    csg::infer::Engine engine(csg::infer::read_model(argv[1]));
    const csg::infer::ModelInfo& info = engine.info();
    if (info.task() != csg::infer::Task::Classification) {
      std::fprintf(stderr, "error: %s is a segmentation model\n", argv[1]);
      return 1;
    }
    std::vector<csg::image::Image> images;
    for (int i = 2; i < argc; ++i) images.push_back(csg::image::load(argv[i]));
    const csg::Tensor logits = engine.run(engine.preprocess(images));  // [N, classes]
    const std::vector<int64_t> ids = csg::infer::class_ids(logits);
    const std::vector<float> values = logits.to_float_vector();
    for (size_t i = 0; i < ids.size(); ++i)
      std::printf("%s: %s (class %lld, logit %.4f)\n", argv[i + 2], info.class_names[ids[i]].c_str(),
                  static_cast<long long>(ids[i]), values[i * info.num_classes + ids[i]]);
  } catch (const csg::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
