// src/data/tiny_datasets.cpp — synthetic VisDA-17 / GTA5 / Cityscapes sets in the real layouts.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "csg/data/datasets.h"
#include "csg/data/label_png.h"
#include "csg/data/tiny.h"
#include "csg/random.h"

#include <stb/stb_image_write.h>  // implementation compiled in src/data/image.cpp

namespace fs = std::filesystem;

namespace csg::data {

namespace {

// A counter stream of uniform numbers (csg/random.h), one per generated file.
class Stream {
 public:
  explicit Stream(uint64_t key) : key_(key) {}
  double uniform() { return counter_uniform(key_, counter_++); }
  int range(int lo, int hi) { return lo + std::min(hi - lo, static_cast<int>(uniform() * (hi - lo + 1))); }  // [lo,hi]
  double noise(double amplitude) { return (2.0 * uniform() - 1.0) * amplitude; }

 private:
  uint64_t key_;
  uint64_t counter_ = 0;
};

uint64_t file_key(uint64_t seed, uint64_t kind, uint64_t i) { return mix64(mix64(seed ^ mix64(kind)) ^ mix64(i)); }

uint8_t clamp_byte(double v) { return static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 255.0))); }

void make_dirs(const fs::path& d) {
  std::error_code ec;
  fs::create_directories(d, ec);
  CSG_CHECK(!ec && fs::is_directory(d), d.string(), ": cannot create directory (", ec.message(), ")");
}

std::string numbered(const char* fmt, int i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, i);
  return buf;
}

// ---- VisDA ----------------------------------------------------------------------------

constexpr double kClassColours[3][3] = {{220, 40, 40}, {40, 180, 60}, {40, 70, 220}};

bool inside_shape(int shape, double dx, double dy, double r) {
  switch (shape) {
    case 0: return dx * dx + dy * dy <= r * r;                                       // disk
    case 1: return std::abs(dx) <= 0.85 * r && std::abs(dy) <= 0.85 * r;             // square
    case 2: return dy >= -r && dy <= r && std::abs(dx) <= (dy + r) * 0.5;            // triangle, apex up
    default: { const double d2 = dx * dx + dy * dy; return d2 <= r * r && d2 >= 0.3 * r * r; }  // ring
  }
}

image::Image visda_image(int label, bool real, Stream& rng) {
  image::Image im;
  im.width = rng.range(36, 52);
  im.height = rng.range(36, 52);
  im.rgb.resize(static_cast<size_t>(im.width) * im.height * 3);
  const int shape = label % 4;
  double fg[3], bg[3];
  for (int c = 0; c < 3; ++c) fg[c] = kClassColours[label / 4][c];
  const double r = std::min(im.width, im.height) * (0.25 + 0.12 * rng.uniform());
  const double cx = im.width / 2.0 + rng.noise(im.width / 2.0 - r), cy = im.height / 2.0 + rng.noise(im.height / 2.0 - r);
  double cast[3] = {0, 0, 0}, gx = 0, gy = 0, pixel_noise = 3;
  if (real) {  // photos: cluttered background, colour cast, illumination gradient, sensor noise
    for (int c = 0; c < 3; ++c) {
      bg[c] = 60 + 140 * rng.uniform();
      cast[c] = rng.noise(30);
      fg[c] += rng.noise(25);
    }
    gx = rng.noise(1.5);
    gy = rng.noise(1.5);
    pixel_noise = 22;
  } else {  // renderings: plain light background, flat shading
    const double grey = 215 + rng.noise(15);
    for (double& b : bg) b = grey;
  }
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) {
      const bool in = inside_shape(shape, x + 0.5 - cx, y + 0.5 - cy, r);
      const double light = gx * (x - im.width / 2.0) + gy * (y - im.height / 2.0);
      uint8_t* px = im.at(x, y);
      for (int c = 0; c < 3; ++c) {
        double v = (in ? fg[c] : bg[c]) + cast[c] + light + rng.noise(pixel_noise);
        if (real && !in && ((x / 6 + y / 6) % 2)) v -= 25;  // background texture
        px[c] = clamp_byte(v);
      }
    }
  return im;
}

void write_visda_split(const fs::path& split_dir, uint64_t seed, int n, bool real) {
  CSG_CHECK(n > 0, "write_tiny_visda: need at least one image per split, got ", n);
  const auto& names = visda_class_names();
  for (const char* cls : names) make_dirs(split_dir / cls);
  std::ofstream list(split_dir / "image_list.txt");
  CSG_CHECK(list.good(), (split_dir / "image_list.txt").string(), ": cannot create file");
  for (int i = 0; i < n; ++i) {
    const int label = i % kVisdaNumClasses;
    Stream rng(file_key(seed, real ? 2 : 1, static_cast<uint64_t>(i)));
    const image::Image im = visda_image(label, real, rng);
    const std::string rel = std::string(names[label]) + "/" + names[label] + numbered(real ? "_%04d.jpg" : "_%04d.png", i);
    const std::string path = (split_dir / rel).string();
    const int ok = real ? stbi_write_jpg(path.c_str(), im.width, im.height, 3, im.rgb.data(), 90)
                        : stbi_write_png(path.c_str(), im.width, im.height, 3, im.rgb.data(), im.width * 3);
    CSG_CHECK(ok, path, ": cannot write image");
    list << rel << ' ' << label << '\n';
  }
  CSG_CHECK(list.good(), (split_dir / "image_list.txt").string(), ": write failed");
}

// ---- street scenes ------------------------------------------------------------------------

// Cityscapes label ids used by the scenes.
enum Id : uint8_t {
  kUnlabeled = 0, kEgoVehicle = 1, kStatic = 4, kGround = 6, kRoad = 7, kSidewalk = 8, kBuilding = 11,
  kPole = 17, kTrafficSign = 20, kVegetation = 21, kSky = 23, kPerson = 24, kCar = 26,
};

void fill_rect(LabelMap& m, int x0, int y0, int x1, int y1, uint8_t id) {
  for (int y = std::max(0, y0); y < std::min(m.height, y1); ++y)
    for (int x = std::max(0, x0); x < std::min(m.width, x1); ++x) m.at(x, y) = id;
}

LabelMap street_labels(int w, int h, bool ego_vehicle, Stream& rng) {
  LabelMap m;
  m.width = w;
  m.height = h;
  m.values.assign(static_cast<size_t>(w) * h, kSky);
  const int horizon = static_cast<int>(h * (0.28 + 0.12 * rng.uniform()));
  const int road_top = static_cast<int>(h * (0.62 + 0.1 * rng.uniform()));
  const int split = rng.range(w / 4, 3 * w / 4);
  const bool left_building = rng.uniform() < 0.5;
  fill_rect(m, 0, horizon, split, road_top, left_building ? kBuilding : kVegetation);
  fill_rect(m, split, horizon, w, road_top, left_building ? kVegetation : kBuilding);
  fill_rect(m, 0, road_top, w, h, kRoad);
  fill_rect(m, 0, road_top, rng.range(w / 6, w / 3), h, kSidewalk);
  fill_rect(m, rng.range(w / 2, w - 6), road_top - 2, w, road_top + 1, kGround);
  const int car_x = rng.range(w / 4, w / 2), car_w = rng.range(w / 6, w / 4);
  fill_rect(m, car_x, road_top - h / 8, car_x + car_w, road_top + h / 10, kCar);
  const int person_x = rng.range(2, w / 5);
  fill_rect(m, person_x, road_top - h / 4, person_x + 2, road_top + 1, kPerson);
  const int pole_x = rng.range(w / 2, w - 4);
  fill_rect(m, pole_x, horizon - 3, pole_x + 1, road_top, kPole);
  fill_rect(m, pole_x - 2, horizon - 5, pole_x + 3, horizon - 1, kTrafficSign);
  const int sx = rng.range(0, w - 5), sy = rng.range(horizon, road_top - 3);
  fill_rect(m, sx, sy, sx + 4, sy + 3, kStatic);
  fill_rect(m, 0, 0, rng.range(1, 4), rng.range(1, 4), kUnlabeled);
  if (ego_vehicle) fill_rect(m, 0, h - 2, w, h, kEgoVehicle);
  return m;
}

image::Image street_image(const LabelMap& labels, bool real, Stream& rng) {
  const Palette palette = cityscapes_palette();
  image::Image im;
  im.width = labels.width;
  im.height = labels.height;
  im.rgb.resize(static_cast<size_t>(im.width) * im.height * 3);
  const double gain = real ? 0.7 + 0.2 * rng.uniform() : 1.0;
  const double noise = real ? 18 : 4;
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) {
      const auto& colour = palette[labels.at(x, y)];
      const bool dark_id = colour[0] + colour[1] + colour[2] == 0;
      uint8_t* px = im.at(x, y);
      for (int c = 0; c < 3; ++c) {
        const double base = dark_id ? 40.0 : colour[c];
        const double texture = real && ((x / 3 + y / 2) % 3 == 0) ? -15 : 0;
        px[c] = clamp_byte(base * gain + texture + rng.noise(noise));
      }
    }
  return im;
}

}  // namespace

void write_tiny_visda(const std::string& dir, uint64_t seed, int n_train, int n_val) {
  write_visda_split(fs::path(dir) / "train", seed, n_train, /*real=*/false);
  write_visda_split(fs::path(dir) / "validation", seed, n_val, /*real=*/true);
}

void write_tiny_gta5_cityscapes(const std::string& dir, uint64_t seed, int n_gta5, int n_cityscapes) {
  CSG_CHECK(n_gta5 > 0 && n_cityscapes > 0, "write_tiny_gta5_cityscapes: need at least one image of each, got ",
            n_gta5, " and ", n_cityscapes);
  const fs::path gta5 = fs::path(dir) / "gta5";
  make_dirs(gta5 / "images");
  make_dirs(gta5 / "labels");
  const Palette palette = cityscapes_palette();
  for (int i = 0; i < n_gta5; ++i) {
    Stream rng(file_key(seed, 3, static_cast<uint64_t>(i)));
    const LabelMap labels = street_labels(64, 35, /*ego_vehicle=*/false, rng);
    const image::Image im = street_image(labels, /*real=*/false, rng);
    const std::string name = numbered("%05d.png", i + 1);
    image::save_png((gta5 / "images" / name).string(), im);
    write_palette_png((gta5 / "labels" / name).string(), labels, palette);
  }
  const char* const cities[] = {"frankfurt", "lindau", "munster"};
  const fs::path cs = fs::path(dir) / "cityscapes";
  for (const char* city : cities) {
    make_dirs(cs / "leftImg8bit" / "val" / city);
    make_dirs(cs / "gtFine" / "val" / city);
  }
  for (int i = 0; i < n_cityscapes; ++i) {
    Stream rng(file_key(seed, 4, static_cast<uint64_t>(i)));
    const LabelMap labels = street_labels(64, 32, /*ego_vehicle=*/true, rng);
    const image::Image im = street_image(labels, /*real=*/true, rng);
    const char* city = cities[i % 3];
    const std::string stem = std::string(city) + numbered("_000000_%06d", 19 * (i + 1));
    image::save_png((cs / "leftImg8bit" / "val" / city / (stem + "_leftImg8bit.png")).string(), im);
    write_grey_png((cs / "gtFine" / "val" / city / (stem + "_gtFine_labelIds.png")).string(), labels);
  }
}

}  // namespace csg::data
