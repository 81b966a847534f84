// tests/test_imagenet_weights.cpp — the weights a run starts from: SHA-256 against FIPS 180-4's
// examples, torchvision's file names and the checksum each carries, the lookup in data/weights/
// and what its errors say (which file, from where, where to put it, --weights none).
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "tests/testing.h"

using namespace csg;
namespace fs = std::filesystem;

using csg::testing::contains;
using csg::testing::error_of;

TEST(Sha256, MatchesTheStandardsExamples) {
  EXPECT_EQ(io::sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(io::sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(io::sha256_hex(two_blocks.data(), two_blocks.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // A million 'a' fed in uneven pieces: the buffering across update() calls.
  io::Sha256 h;
  const std::string piece(997, 'a');
  size_t fed = 0;
  for (; fed + piece.size() <= 1000000; fed += piece.size()) h.update(piece.data(), piece.size());
  h.update(piece.data(), 1000000 - fed);
  EXPECT_EQ(io::to_hex(h.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(ImagenetWeights, TorchvisionNamesForEachBackbone) {
  EXPECT_EQ(train::imagenet_backbone(train::Arch::ResNet50), "resnet50");
  EXPECT_EQ(train::imagenet_backbone(train::Arch::DeepLab101), "resnet101");  // DeepLabv2 starts from the ImageNet ResNet
  EXPECT_EQ(train::torchvision_weights("resnet18").front().file, "resnet18-f37072fd.pth");
  EXPECT_EQ(train::torchvision_weights("resnet34").front().file, "resnet34-b627a593.pth");
  EXPECT_EQ(train::torchvision_weights("resnet50").front().file, "resnet50-0676ba61.pth");
  EXPECT_EQ(train::torchvision_weights("resnet101").front().file, "resnet101-63fe2227.pth");
  EXPECT_TRUE(train::torchvision_weights("resnet152").empty());
  EXPECT_EQ(train::torchvision_url("resnet18-f37072fd.pth"), "https://download.pytorch.org/models/resnet18-f37072fd.pth");
}

TEST(ImagenetWeights, TheChecksumInATorchvisionNameIsChecked) {
  csg::testing::TempDir tmp;
  // A name that is not torchvision's is not checked, whatever digits it holds.
  const std::string mine = tmp / "run-2.pth";
  std::ofstream(mine) << "weights";
  EXPECT_FALSE(train::check_torchvision_checksum(mine));
  // torchvision's name over other bytes (a cut-short download): refused, naming both and the fix.
  const std::string damaged = tmp / "resnet18-f37072fd.pth";
  std::ofstream(damaged) << "the first bytes of a download that stopped";
  const std::string got = io::sha256_file_hex(damaged).substr(0, 8);
  const std::string msg = error_of([&] { train::check_torchvision_checksum(damaged); });
  for (const std::string& w : std::vector<std::string>{damaged, "SHA-256 begins " + got, "not f37072fd",
                                                      "download it again from",
                                                      "https://download.pytorch.org/models/resnet18-f37072fd.pth"})
    EXPECT_TRUE(contains(msg, w)) << w << " not in: " << msg;
  // Given explicitly, the same file is refused the same way.
  EXPECT_TRUE(contains(error_of([&] { train::resolve_weights(damaged, train::Arch::ResNet18, 64); }), "not f37072fd"));
  EXPECT_EQ(io::sha256_file_hex(mine), io::sha256_hex("weights", 7));
}

TEST(ImagenetWeights, DefaultLookupNamesTheFileToDownloadAndWhereToPutIt) {
  csg::testing::TempDir tmp;
  const std::string dir = tmp / "data/weights";
  EXPECT_EQ(train::resolve_weights("none", train::Arch::ResNet101, 64, dir), "") << "none: random initialisation";
  const std::string given = tmp / "mine.safetensors";
  EXPECT_EQ(train::resolve_weights(given, train::Arch::ResNet101, 64, dir), given) << "a file given is taken as it is";
  const std::string msg = error_of([&] { train::resolve_weights("", train::Arch::ResNet101, 64, dir); });
  for (const std::string& w : std::vector<std::string>{
           "no ImageNet weights for --arch resnet101 in " + dir, "resnet101-63fe2227.pth",
           "wget -P " + dir + " https://download.pytorch.org/models/resnet101-63fe2227.pth", "--weights none"})
    EXPECT_TRUE(contains(msg, w)) << w << " not in: " << msg;
  // DeepLab's backbone is the ImageNet ResNet of its depth.
  EXPECT_TRUE(contains(error_of([&] { train::resolve_weights("", train::Arch::DeepLab50, 64, dir); }), "resnet50-0676ba61.pth"));
  // A width torchvision does not publish cannot start from its weights: say --weights none.
  const std::string narrow = error_of([&] { train::resolve_weights("", train::Arch::ResNet18, 8, dir); });
  EXPECT_TRUE(contains(narrow, "--width 8") && contains(narrow, "--weights none")) << narrow;
  // The file found there is checked before it is used.
  fs::create_directories(dir);
  std::ofstream(dir + "/resnet18-f37072fd.pth") << "not the weights";
  EXPECT_TRUE(contains(error_of([&] { train::resolve_weights("", train::Arch::ResNet18, 64, dir); }), "not f37072fd"));
  // V2 files are checked when given, never picked by default: the paper starts from V1.
  std::ofstream(dir + "/resnet50-11ad3fa6.pth") << "v2";
  EXPECT_TRUE(contains(error_of([&] { train::resolve_weights("", train::Arch::ResNet50, 64, dir); }), "no ImageNet weights"));
}
