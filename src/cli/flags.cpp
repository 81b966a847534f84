// src/cli/flags.cpp — see flags.h.
#include "src/cli/flags.h"

#include <cstdio>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "csg/distributed.h"
#include "csg/error.h"
#include "csg/tensor.h"
#include "src/train/settings.h"

namespace csg::cli {

const std::vector<std::string> kDevices = {"auto", "cpu", "cuda"};

CLI::Option* add_max_image_pixels_flag(CLI::App* c, int64_t& value) {
  return c
      ->add_option("--max-image-pixels", value,
                   "refuse an image with more pixels (width x height), from its header, before decoding it; the "
                   "default is PIL's limit (2 x 89,478,485)")
      ->check(CLI::PositiveNumber);
}

CLI::Validator layers_validator() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        try {
          train::parse_layers(s);
        } catch (const Error& e) {
          const std::string what = e.what();
          return what.substr(0, what.rfind(" ("));  // without the source location
        }
        return "";
      },
      "LAYERS");
}

CLI::Option* add_device_option(CLI::App* c, std::string& device) {
  device = "auto";
  return c->add_option("--device", device,
                       "where to compute: auto (a usable GPU, else the CPU, saying why), cpu or cuda")
      ->check(CLI::IsMember(kDevices));
}

std::string resolve_device_flag(const std::string& device) {
  std::string why;
  const Device dev = parse_device(device, &why);
  if (device == "auto" && dist::world().rank() == 0)
    std::fprintf(stderr, "device: %s (--device auto: %s)\n", device_name(dev), why.c_str());
  return device_name(dev);
}

namespace {

// The check for a value that must be positive (`strict`) or non-negative, as text.
std::string check_number(const std::string& in, bool integer, bool strict) {
  errno = 0;
  char* end = nullptr;
  if (integer) {
    const long long v = std::strtoll(in.c_str(), &end, 10);
    if (in.empty() || *end != '\0' || errno == ERANGE) return in + " is not an integer";
    if (strict ? v < 1 : v < 0) return std::string("must be >= ") + (strict ? "1" : "0") + ", got " + in;
    return "";
  }
  const double v = std::strtod(in.c_str(), &end);
  if (in.empty() || *end != '\0') return in + " is not a number";
  if (!std::isfinite(v) || (strict ? !(v > 0) : !(v >= 0)))
    return std::string("must be ") + (strict ? "> 0" : ">= 0") + " (a finite number), got " + in;
  return "";
}

void reword_option(CLI::Option* o) {
  const std::string type = o->get_type_name();
  const bool integer = type.rfind("INT", 0) == 0 || type.rfind("UINT", 0) == 0;
  for (int i = 0;; ++i) {
    CLI::Validator* v = nullptr;
    try {
      v = o->get_validator(i);
    } catch (const CLI::OptionNotFound&) {
      return;
    }
    const std::string d = v->get_description();
    if (d == "POSITIVE" || d == "NONNEGATIVE") {
      const bool strict = d == "POSITIVE";
      v->operation([integer, strict](std::string& in) { return check_number(in, integer, strict); });
    }
  }
}

}  // namespace

void reword_number_checks(CLI::App& app) {
  for (CLI::Option* o : app.get_options()) reword_option(o);
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) reword_number_checks(*sub);
}

std::array<float, 3> parse_triple(const std::string& flag, const std::string& s) {
  std::array<float, 3> v{};
  std::stringstream ss(s);
  std::string item;
  int i = 0;
  while (std::getline(ss, item, ',')) {
    CSG_CHECK(i < 3, "option ", flag, " takes three comma-separated numbers, got '", s, "'");
    char* end = nullptr;
    v[i++] = std::strtof(item.c_str(), &end);
    CSG_CHECK(!item.empty() && end == item.c_str() + item.size(), "option ", flag,
              " takes three comma-separated numbers, got '", s, "'");
  }
  CSG_CHECK(i == 3, "option ", flag, " takes three comma-separated numbers, got '", s, "'");
  return v;
}

}  // namespace csg::cli
