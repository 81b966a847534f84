// src/data/dataset_guide.cpp — what each data set is, where its publishers distribute it and the
// layout csg reads, for the error a missing data folder gets (and docs/datasets.md).
#include <filesystem>

#include "csg/data/datasets.h"

namespace csg::data {

namespace {

const char* const kNoDownload =
    "Nothing to download to try csg: `./csg train digits` runs the embedded benchmark, and `./csg make-tiny` writes "
    "a few dozen generated images in this layout (";

std::string visda_guide(const std::string& root) {
  return "VisDA-17 is the classification set of the VisDA 2017 challenge: 12 classes, synthetic renderings of 3D "
         "models to train on (train/, 152,397 images) and real photos cropped from MS COCO to evaluate on "
         "(validation/, 55,388 images). Its publishers distribute it at http://ai.bu.edu/visda-2017/ (development kit: "
         "github.com/VisionLearningGroup/taskcv-2017-public): http://csr.bu.edu/ftp/visda17/clf/train.tar and "
         "validation.tar, each unpacking to a folder with its image_list.txt.\n"
         "The layout csg reads:\n"
         "  " + root + "/train/image_list.txt        one '<image path relative to train/> <label 0..11>' per line\n"
         "  " + root + "/train/<class>/*.png         the synthetic images\n"
         "  " + root + "/validation/image_list.txt   the same for the real images\n"
         "  " + root + "/validation/<class>/*.jpg\n"
         "Put (or link) it at data/visda, the default of --data, or pass --data DIR; `./csg check-data visda --data "
         "DIR` checks it before a long run.\n" +
         kNoDownload + "./csg make-tiny visda data/visda).";
}

std::string gta5_guide(const std::string& root) {
  return "GTA5 (\"Playing for Data\", Richter et al., ECCV 2016) is 24,966 frames of the game Grand Theft Auto V "
         "labelled per pixel with Cityscapes' label ids, the synthetic source of the segmentation task. Its "
         "publishers distribute it at https://download.visinf.tu-darmstadt.de/data/from_games/ as 01_images.zip .. "
         "10_images.zip and 01_labels.zip .. 10_labels.zip, unpacked into one folder.\n"
         "The layout csg reads:\n"
         "  " + root + "/images/NNNNN.png   the frames\n"
         "  " + root + "/labels/NNNNN.png   palette PNGs whose pixel index is the Cityscapes label id\n"
         "  and, optionally, a text list of the images to train on (--train-list, one name such as 00001.png per "
         "line; the reference trains on the official 12,403-image train split)\n"
         "Put (or link) it at data/gta5, the default of `csg train gta5 --data`, or pass --data DIR; `./csg "
         "check-data gta5` checks it before a long run.\n" +
         kNoDownload + "./csg make-tiny gta5 data writes data/gta5 and data/cityscapes).";
}

std::string cityscapes_guide(const std::string& root) {
  return "Cityscapes is 5,000 street scenes from 50 cities with fine pixel labels (2,975 train, 500 val, 1,525 "
         "test), the real target domain of the segmentation task; csg evaluates on val. Its publishers distribute it "
         "at https://www.cityscapes-dataset.com/downloads/ (after a free registration): leftImg8bit_trainvaltest.zip "
         "(the images) and gtFine_trainvaltest.zip (the labels), unpacked into one folder.\n"
         "The layout csg reads:\n"
         "  " + root + "/leftImg8bit/val/<city>/<name>_leftImg8bit.png\n"
         "  " + root + "/gtFine/val/<city>/<name>_gtFine_labelIds.png   (or _gtFine_labelTrainIds.png)\n"
         "Put (or link) it at data/cityscapes, the default of `csg train gta5 --val-data` and `csg eval gta5 "
         "--data`, or pass the flag; `./csg check-data cityscapes` checks it before a long run.\n" +
         kNoDownload + "./csg make-tiny gta5 data writes data/gta5 and data/cityscapes).";
}

}  // namespace

const char* dataset_name(DatasetKind kind) {
  switch (kind) {
    case DatasetKind::Visda: return "VisDA-17";
    case DatasetKind::Gta5: return "GTA5";
    case DatasetKind::Cityscapes: return "Cityscapes";
  }
  return "?";
}

const char* default_data_dir(DatasetKind kind) {
  switch (kind) {
    case DatasetKind::Visda: return "data/visda";
    case DatasetKind::Gta5: return "data/gta5";
    case DatasetKind::Cityscapes: return "data/cityscapes";
  }
  return "data";
}

std::string dataset_guide(DatasetKind kind, const std::string& root) {
  switch (kind) {
    case DatasetKind::Visda: return visda_guide(root);
    case DatasetKind::Gta5: return gta5_guide(root);
    case DatasetKind::Cityscapes: return cityscapes_guide(root);
  }
  return "";
}

void require_dataset_root(DatasetKind kind, const std::string& root) {
  std::error_code ec;
  if (std::filesystem::is_directory(root, ec)) return;
  CSG_FAIL(dataset_name(kind), " not found: '", root, "' is not a folder.\n", dataset_guide(kind, root));
}

}  // namespace csg::data
