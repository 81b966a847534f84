// tests/test_file_errors.cpp — every error a user's file causes names that file, on every path
// that reads it: the malformed model files the other tests build (tests/test_c_api.cpp,
// data/fixtures/pth/errors.txt, a damaged checksum) plus a weight of the wrong shape, a missing
// tensor, another architecture and a directory, each through predict, export, train --weights,
// eval --weights and the C API; images, lists and label maps through the commands that read them.
#include <filesystem>
#include <fstream>

#include "csg/c_api.h"
#include "csg/data/datasets.h"
#include "csg/data/label_png.h"
#include "csg/data/tiny.h"
#include "csg/image.h"
#include "csg/infer.h"
#include "csg/io/safetensors.h"
#include "csg/models/resnet.h"
#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;
using csg::testing::CliResult;
using csg::testing::run_cli_captured;

namespace {

using csg::testing::contains;

std::vector<NamedTensor> resnet_state(int depth, uint64_t seed = 1) {
  models::ResNetOptions o;
  o.depth = depth, o.width = 8, o.num_classes = 5, o.seed = seed;
  return models::ResNet(o).state_dict();
}

// A malformed model file and a phrase its error must hold beside the file's name ("" for none).
struct BadFile {
  std::string path, says;
};

std::vector<BadFile> bad_model_files(const csg::testing::TempDir& tmp) {
  std::vector<BadFile> files;
  auto write = [&](const std::string& name, const std::string& bytes, const std::string& says) {
    std::ofstream(tmp / name, std::ios::binary) << bytes;
    files.push_back({tmp / name, says});
  };
  const std::string good = tmp / "good.safetensors";
  save_safetensors(good, resnet_state(18));
  const std::string bytes = csg::testing::read_file_bytes(good);
  // tests/test_c_api.cpp's cases.
  write("garbage.bin", "not a model at all", "");
  write("empty.pth", "", "");
  write("truncated.safetensors", bytes.substr(0, bytes.size() / 2), "truncated");
  write("header_only.safetensors", bytes.substr(0, 200), "");
  files.push_back({tmp / "missing.safetensors", "cannot open"});
  // A flipped byte in the data.
  csg::testing::write_with_flipped_byte(good, tmp / "flipped.safetensors", bytes.size() - 100);
  files.push_back({tmp / "flipped.safetensors", "fails its CRC-32C check"});
  // The two: a weight of the wrong shape, a missing tensor.
  std::vector<NamedTensor> shape = resnet_state(18);
  for (NamedTensor& t : shape)
    if (t.name == "bn1.running_mean") t.tensor = zeros({7});
  save_safetensors(tmp / "wrong_shape.safetensors", shape);
  files.push_back({tmp / "wrong_shape.safetensors", "bn1.running_mean has shape [7] in the file but [8]"});
  std::vector<NamedTensor> missing;
  for (const NamedTensor& t : resnet_state(18))
    if (t.name != "layer1.0.conv1.weight") missing.push_back(t);
  save_safetensors(tmp / "missing_tensor.safetensors", missing);
  files.push_back({tmp / "missing_tensor.safetensors", "layer1.0.conv1.weight"});
  // Another architecture (issue 30, item 5) and a folder (item 12).
  save_safetensors(tmp / "resnet50.safetensors", resnet_state(50));
  files.push_back({tmp / "resnet50.safetensors", "resnet50.safetensors holds a resnet50 but resnet18 was asked for"});
  files.push_back({tmp.subdir("weights_dir"), " is a directory"});
  // The malformed torch.save files of tests/test_pth.cpp.
  std::ifstream list("data/fixtures/pth/errors.txt");
  for (std::string line; std::getline(list, line);)
    if (!line.empty()) files.push_back({"data/fixtures/pth/" + line.substr(0, line.find('\t')), ""});
  return files;
}

}  // namespace

TEST(FileErrors, EveryMalformedModelFileIsNamedOnEveryPath) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("tiny");
  data::write_tiny_visda(data, 1, 12, 12);
  image::Image im;
  im.width = im.height = 40;
  im.rgb.assign(40 * 40 * 3, 90);
  const std::string picture = tmp / "picture.png";
  image::save_png(picture, im);
  const std::vector<BadFile> files = bad_model_files(tmp);
  ASSERT_GE(files.size(), 20u);
  int run = 0;
  for (const BadFile& f : files) {
    SCOPED_TRACE(f.path);
    const std::string out = tmp / ("run" + std::to_string(run++));
    const std::vector<std::vector<std::string>> commands = {
        {"predict", "--model", f.path, "--arch", "resnet18", "--quiet", picture},
        {"export", "--checkpoint", f.path, "--out", tmp / "exported.safetensors", "--arch", "resnet18"},
        {"train", "visda", "--data", data, "--out", out, "--weights", f.path, "--arch", "resnet18", "--width", "8",
         "--image-size", "32", "--batch-size", "4", "--queue-size", "64", "--max-steps", "1", "--no-eval", "--quiet",
         "--workers", "0"},
        {"eval", "visda", "--data", data, "--weights", f.path, "--arch", "resnet18", "--width", "8", "--image-size",
         "32", "--quiet", "--workers", "0"},
    };
    for (const std::vector<std::string>& cmd : commands) {
      const CliResult r = run_cli_captured(cmd);
      EXPECT_EQ(r.status, 1) << cmd[0] << ": " << r.err;
      EXPECT_TRUE(contains(r.err, f.path)) << cmd[0] << " does not name the file: " << r.err;
      EXPECT_TRUE(contains(r.err, f.says)) << cmd[0] << " does not say \"" << f.says << "\": " << r.err;
    }
    csg_model* m = nullptr;
    EXPECT_NE(csg_model_open(f.path.c_str(), "resnet18", &m), CSG_OK);
    EXPECT_TRUE(contains(csg_last_error(), f.path)) << csg_last_error();
    EXPECT_TRUE(contains(csg_last_error(), f.says)) << csg_last_error();
  }
  EXPECT_FALSE(fs::exists(tmp / "exported.safetensors"));
}

TEST(FileErrors, AFolderWhereAFileIsExpectedSaysIsADirectory) {
  csg::testing::TempDir tmp;
  const std::string data = tmp.subdir("tiny"), seg = tmp.subdir("seg");
  data::write_tiny_visda(data, 2, 12, 12);
  data::write_tiny_gta5_cityscapes(seg, 2);
  const std::string run = tmp.subdir("run");
  const std::string folder = data + "/";  // as a user types it
  const std::string picture = data + "/train/" + [&] {
    std::ifstream list(data + "/train/image_list.txt");
    std::string path;
    list >> path;
    return path;
  }();
  struct Case {
    std::vector<std::string> args;
    std::string dir;
  };
  const std::vector<Case> cases = {
      {{"eval", "visda", "--data", data, "--checkpoint", run, "--quiet"}, run},
      {{"train", "visda", "--data", data, "--out", tmp / "r1", "--weights", folder, "--arch", "resnet18",
        "--batch-size", "4", "--quiet"},
       folder},
      {{"train", "gta5", "--data", seg + "/gta5", "--val-data", seg + "/cityscapes", "--out", tmp / "r2",
        "--train-list", folder, "--weights", "none", "--arch", "deeplab18", "--quiet"},
       folder},
      {{"predict", "--model", folder, picture}, folder},
      {{"export", "--checkpoint", run, "--out", tmp / "m.safetensors"}, run},
      {{"verify", run}, run},
  };
  for (const Case& c : cases) {
    const CliResult r = run_cli_captured(c.args);
    EXPECT_EQ(r.status, 1) << c.args[0] << " " << c.args[1];
    EXPECT_TRUE(contains(r.err + r.out, c.dir + " is a directory")) << c.args[0] << ": " << r.err << r.out;
  }
  // The readers themselves.
  for (const std::function<void()>& read : std::vector<std::function<void()>>{
           [&] { image::load(folder); }, [&] { data::read_label_png(folder); },
           [&] { data::read_image_list(folder, data, 12); }, [&] { load_safetensors(folder); }}) {
    try {
      read();
      ADD_FAILURE() << "a directory was read";
    } catch (const Error& e) {
      EXPECT_TRUE(contains(e.what(), folder + " is a directory")) << e.what();
    }
  }
  csg_model* m = nullptr;
  EXPECT_EQ(csg_model_open(folder.c_str(), nullptr, &m), CSG_ERR_MODEL);
  EXPECT_TRUE(contains(csg_last_error(), folder + " is a directory")) << csg_last_error();
}
