// src/digits/font_split.cpp — which faces the synthetic training digits come from and which
// are kept for the held-out-fonts split. A face never seen in training is a closer proxy for
// a domain shift than val_synthetic, whose digits come from the training faces.
#include <cctype>
#include <filesystem>

#include "csg/digits/data.h"

namespace csg::data {

namespace {

// Style words that end a family name written without a '-' (FreeSerifBoldItalic).
constexpr const char* kStyles[] = {"Bold", "Italic", "Oblique", "Regular", "ExtraLight", "Light"};

}  // namespace

std::string font_family(const std::string& font_file) {
  std::string stem = std::filesystem::path(font_file).stem().string();
  stem = stem.substr(0, stem.find('-'));
  // Only style words are cut: DejaVuSansCondensed and LiberationSansNarrow stay families.
  for (size_t i = 1; i < stem.size(); ++i) {
    if (!std::isupper(static_cast<unsigned char>(stem[i]))) continue;
    for (const char* style : kStyles) {
      const std::string w = style;
      if (stem.compare(i, w.size(), w) == 0) return stem.substr(0, i);
    }
  }
  return stem;
}

DigitFontSplit split_digit_fonts(const std::vector<std::string>& font_files) {
  DigitFontSplit split;
  for (const std::string& f : font_files)
    (font_family(f).rfind("DejaVu", 0) == 0 ? split.train : split.heldout).push_back(f);
  return split;
}

}  // namespace csg::data
