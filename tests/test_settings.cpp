// tests/test_settings.cpp — the typed settings (csg/settings.h): each enum's one name table read
// both ways, and the table of settings (src/train/setting_table.cpp) reading back what it prints,
// which is what evaluating a checkpoint relies on.
#include <gtest/gtest.h>

#include "tests/testing.h"

using namespace csg;

namespace {

template <class E, size_t N>
void expect_round_trip(const Named<E> (&table)[N], E (*parse)(const std::string&)) {
  for (const Named<E>& n : table) {
    EXPECT_EQ(parse(n.name), n.value) << n.name;
    EXPECT_STREQ(name_in(table, n.value), n.name);
  }
  const std::string msg = csg::testing::error_of([&] { parse("no-such-word"); });
  EXPECT_NE(msg.find("'no-such-word'"), std::string::npos) << msg;
  EXPECT_NE(msg.find(table[N - 1].name), std::string::npos) << msg << " should list every word";
}

}  // namespace

TEST(Settings, EveryEnumWordReadsBackAsItsValue) {
  expect_round_trip(train::kTaskNames, train::parse_task);
  expect_round_trip(train::kArchNames, train::parse_arch);
  expect_round_trip(train::kPrecisionNames, train::parse_precision);
  expect_round_trip(train::kRandAugmentGeometryNames, train::parse_randaug_geometry);
  expect_round_trip(train::kDataCheckNames, train::parse_data_check);
  expect_round_trip(train::kPoolNames, train::parse_pool);
  expect_round_trip(models::kStemNames, models::parse_stem);
  expect_round_trip(models::kDeepLabHeadNames, models::parse_deeplab_head);
  expect_round_trip(method::kRegularizerNames, method::parse_regularizer);
  EXPECT_EQ(csg::testing::error_of([] { models::parse_stem("tiny"); }).rfind(
                "unknown stem 'tiny'; expected imagenet, small or cifar", 0),
            0u);
}

TEST(Settings, ArchitecturesKnowTheirTaskAndDepth) {
  EXPECT_EQ(train::depth_of(train::Arch::ResNet101), 101);
  EXPECT_EQ(train::depth_of(train::Arch::DeepLab50), 50);
  EXPECT_EQ(train::depth_of(train::Arch::DeepLab18), 18);
  EXPECT_TRUE(train::is_deeplab(train::Arch::DeepLab34));
  EXPECT_FALSE(train::is_deeplab(train::Arch::ResNet34));
  EXPECT_EQ(train::arch_names(train::Task::Visda),
            (std::vector<std::string>{"resnet18", "resnet34", "resnet50", "resnet101"}));
  EXPECT_EQ(train::arch_names(train::Task::Gta5),
            (std::vector<std::string>{"deeplab18", "deeplab34", "deeplab50", "deeplab101"}));
}

TEST(Settings, EverySettingReadsBackWhatItPrints) {
  train::Config c = train::default_config(train::Task::Gta5);
  c.seg_head = train::SegHead::AsppV2;
  c.regularizer = train::Regularizer::SynapticIntelligence;
  c.precision = train::Precision::Bf16;
  c.randaug_geometry = train::RandAugmentGeometry::Relative;
  c.layers = {1, 3, 4};
  c.apool = false;
  c.lr = 0.1;
  c.seed = 7;
  c.data = "/some/where";
  for (const train::SettingDef& s : train::setting_table()) {
    train::Config back = train::default_config(train::Task::Visda);
    s.parse(back, s.print(c));
    EXPECT_EQ(s.print(back), s.print(c)) << s.key;
  }
  const std::vector<train::Setting> all = train::settings_of(c);
  ASSERT_EQ(all.size(), train::setting_table().size());
  EXPECT_EQ(all[0].key, "task");
  EXPECT_EQ(all[0].value, "gta5");
}

TEST(Settings, EvaluationTakesTheNetworkFromTheCheckpoint) {
  train::Config trained = train::default_config(train::Task::Visda);
  trained.arch = train::Arch::ResNet18;
  trained.stem = train::Stem::Small;
  trained.width = 8;
  trained.layers = {4};
  trained.apool = false;
  trained.image_size = 32;
  const std::map<std::string, std::string> meta = train::settings_metadata(trained);
  EXPECT_EQ(meta.at("config.arch"), "resnet18");
  EXPECT_EQ(meta.at("config.stem"), "small");
  EXPECT_EQ(meta.at("config.pool"), "gap");
  const train::Config e =
      train::with_checkpoint_network_settings(train::default_config(train::Task::Visda), meta, "a.ckpt", {});
  EXPECT_EQ(e.arch, train::Arch::ResNet18);
  EXPECT_EQ(e.stem, train::Stem::Small);
  EXPECT_EQ(e.width, 8);
  EXPECT_EQ(e.layers, std::vector<int>{4});
  EXPECT_FALSE(e.apool);
  EXPECT_EQ(e.image_size, 32);
  EXPECT_EQ(e.lr, train::default_config(train::Task::Visda).lr) << "only the network's settings are taken";
  // A flag given on the command line must agree with the checkpoint.
  const std::string given = csg::testing::error_of(
      [&] { train::with_checkpoint_network_settings(train::default_config(train::Task::Visda), meta, "a.ckpt", {"arch"}); });
  EXPECT_NE(given.find("a.ckpt was trained with --arch resnet18, this command asks for resnet101"), std::string::npos)
      << given;
  // A damaged record names the file and the setting.
  std::map<std::string, std::string> damaged = meta;
  damaged["config.width"] = "eight";
  const std::string msg = csg::testing::error_of(
      [&] { train::with_checkpoint_network_settings(train::default_config(train::Task::Visda), damaged, "a.ckpt", {}); });
  EXPECT_NE(msg.find("a.ckpt: recorded width: 'eight' is not an integer"), std::string::npos) << msg;
  EXPECT_EQ(train::network_setting_keys(),
            (std::vector<std::string>{"image-size", "arch", "width", "stem", "num-classes", "seg-head", "csg", "layers",
                                      "pool", "embed-dim"}));
}
