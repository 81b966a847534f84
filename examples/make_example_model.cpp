// examples/make_example_model.cpp — writes what `make examples-test` runs the examples on: a
// small classifier with random weights (ResNet-18 at width 8, 10 classes "digit-0".."digit-9",
// exported as a csg-model file) and a generated 48x40 image, and prints the line the examples
// must print for it, computed by the training-time network (not the inference engine).
//
//   make_example_model MODEL_OUT IMAGE_OUT
#include <cstdio>
#include <string>

#include <csg/autograd.h>
#include <csg/image.h>
#include <csg/infer.h>
#include <csg/models/resnet.h>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL_OUT IMAGE_OUT\n", argv[0]);
    return 2;
  }
  try {
    csg::models::ResNetOptions o;
    o.depth = 18, o.width = 8, o.num_classes = 10, o.seed = 7;
    csg::models::ResNet net(o);
    csg::infer::ModelWeights m;
    m.info.arch = "resnet18", m.info.width = 8, m.info.num_classes = 10, m.info.head = "fc";
    m.info.resize = 40, m.info.crop = 32;
    for (int c = 0; c < 10; ++c) m.info.class_names.push_back("digit-" + std::to_string(c));
    m.tensors = net.state_dict();
    csg::infer::export_model(argv[1], m);

    csg::image::Image im;
    im.width = 48, im.height = 40;
    for (int y = 0; y < im.height; ++y)
      for (int x = 0; x < im.width; ++x)
        for (int c = 0; c < 3; ++c) im.rgb.push_back(static_cast<uint8_t>((x * 5 + y * 3 * (c + 1) + 40 * c) % 256));
    csg::image::save_png(argv[2], im);

    net.eval();
    csg::NoGradGuard no_grad;
    const csg::image::Image crop = csg::image::center_crop(csg::image::resize_shorter_side(im, 40), 32, 32);
    const csg::Tensor logits = net.forward(csg::image::to_tensor(crop).unsqueeze(0));
    const int64_t id = csg::infer::class_ids(logits)[0];
    std::printf("%s: %s (class %lld, logit %.4f)\n", argv[2], m.info.class_names[id].c_str(),
                static_cast<long long>(id), logits.to_float_vector()[id]);
  } catch (const csg::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
