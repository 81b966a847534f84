// src/cli/flags.h — value parsers and choice lists shared by the commands' declarations.
#pragma once
#include <CLI/CLI.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "csg/name_table.h"

namespace csg::cli {

// "0.485,0.456,0.406" -> three numbers; errors name the flag.
std::array<float, 3> parse_triple(const std::string& flag, const std::string& s);

// A CLI11 check that runs train::parse_layers, so a bad --layers is a command-line error (exit 2).
CLI::Validator layers_validator();

// --device on a command that computes: `device` starts as "auto" (the default shown in --help).
CLI::Option* add_device_option(CLI::App* c, std::string& device);
// --device as the command runs it, "cpu" or "cuda": "auto" is CUDA when a GPU is usable, else
// the CPU, and one line on stderr (rank 0 under mpirun) says which and why; "cuda" without a
// usable GPU, and "auto" with a GPU the build has no code for, are errors that say why.
std::string resolve_device_flag(const std::string& device);
// Rewords CLI11's PositiveNumber / NonNegativeNumber checks of every option under `app` by the
// option's type: "must be >= 1, got 0" or "abc is not an integer" for integers, "must be > 0"
// or "is not a number" for reals (NaN and infinity refused), instead of CLI11's "Value 0 not in
// range 0.000000 to 1797693...". Run once, after every command is declared.
void reword_number_checks(CLI::App& app);

// --max-image-pixels of train, eval, hse and predict (its help text names the default, PIL's).
CLI::Option* add_max_image_pixels_flag(CLI::App* c, int64_t& value);

extern const std::vector<std::string> kDevices;  // auto, cpu, cuda

// A flag that chooses one value of an enum by the words of its name table (csg/name_table.h):
// --help lists `words` (by default all of the table's) and the current value as the default, a
// word not in the list is a command-line error, and the word is stored as the enum.
template <class E, size_t N>
CLI::Option* add_choice(CLI::App* c, const std::string& flag, E& value, const std::string& help,
                        const Named<E> (&table)[N], const std::vector<std::string>& words) {
  return c
      ->add_option_function<std::string>(
          flag, [&value, &table](const std::string& word) { value = parse_in(table, word, "value"); }, help)
      ->check(CLI::IsMember(words))
      ->default_str(name_in(table, value));
}
template <class E, size_t N>
CLI::Option* add_choice(CLI::App* c, const std::string& flag, E& value, const std::string& help,
                        const Named<E> (&table)[N]) {
  return add_choice(c, flag, value, help, table, names_in(table));
}

}  // namespace csg::cli
