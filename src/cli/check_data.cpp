// src/cli/check_data.cpp — `csg check-data visda|gta5|cityscapes`: a data set's lists and files
// checked before a long run (csg/data/check.h); exit status 1 when it finds problems.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "csg/data/check.h"
#include "src/cli/app.h"

namespace csg::cli {

namespace {

struct CheckFlags {
  std::string data, train_list, split;
  std::vector<std::string> splits = {"train", "validation"};
  data::CheckOptions opt;
};

int report(const data::DataCheckReport& r) {
  std::printf("%s", r.text().c_str());
  return r.problems() == 0 ? 0 : 1;
}

}  // namespace

void add_check_data_command(CLI::App& root, Invocation& inv) {
  CLI::App* check = root.add_subcommand(
      "check-data",
      "check a data set before a long run: counts per class and split, files missing or unreadable, labels out of "
      "range, label maps whose size differs from their image (exit status 1 when it finds any)");
  check->require_subcommand(1);
  const std::vector<std::pair<data::DatasetKind, std::string>> kinds = {
      {data::DatasetKind::Visda, "VisDA-17: the image lists of its splits and their images"},
      {data::DatasetKind::Gta5, "GTA5: every image (or those --train-list names) and its label"},
      {data::DatasetKind::Cityscapes, "Cityscapes: the images of a split and their gtFine labels"}};
  for (const auto& [each_kind, description] : kinds) {
    const data::DatasetKind kind = each_kind;  // a structured binding cannot be captured in C++17
    auto f = std::make_shared<CheckFlags>();
    const std::string word = kind == data::DatasetKind::Visda  ? "visda"
                             : kind == data::DatasetKind::Gta5 ? "gta5"
                                                               : "cityscapes";
    CLI::App* c = check->add_subcommand(word, description);
    f->data = data::default_data_dir(kind);
    c->add_option("--data", f->data, std::string(data::dataset_name(kind)) + " root (docs/datasets.md)");
    if (kind == data::DatasetKind::Visda)
      c->add_option("--splits", f->splits, "split folders under --data, each with its image_list.txt")
          ->delimiter(',')
          ->type_name("SPLIT,...");
    if (kind == data::DatasetKind::Gta5)
      c->add_option("--train-list", f->train_list, "only the images this list names (as csg train gta5 --train-list)");
    if (kind == data::DatasetKind::Cityscapes) {
      f->split = "val";
      c->add_option("--split", f->split, "the split folder under leftImg8bit/ and gtFine/");
    }
    c->add_flag("--decode", f->opt.decode,
                "decode every image and label map (slower): also finds files cut short after their header, label "
                "values out of range and, for segmentation, the pixels of each class");
    c->add_flag("--quiet", f->opt.quiet, "no progress bar");
    c->callback([f, kind, &inv] {
      inv.action = [f, kind] {
        if (kind == data::DatasetKind::Visda) return report(data::check_visda(f->data, f->splits, f->opt));
        if (kind == data::DatasetKind::Gta5) return report(data::check_gta5(f->data, f->train_list, f->opt));
        return report(data::check_cityscapes(f->data, f->split, f->opt));
      };
    });
  }
}

}  // namespace csg::cli
