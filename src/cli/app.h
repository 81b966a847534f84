// src/cli/app.h — the `csg` command line. Every command and flag is declared once, with CLI11
// (Debian's libcli11-dev, header-only: a maintained parser with subcommands, validators, and
// help generated from the declarations, so a flag cannot exist undocumented). The help text,
// docs/cli.md's flag tables (`csg flags-markdown`, checked by tests/test_cli.cpp) and the parser
// all come from the same declarations.
#pragma once
#include <functional>
#include <memory>
#include <string>

namespace CLI {
class App;
}

namespace csg::cli {

// What the parsed command line asks for: the parse fills `action` and `command_line`.
struct Invocation {
  std::function<int()> action;  // runs the chosen command; returns the exit status
  std::string command_line;     // argv joined, shell-quoted (recorded in a run's config.json)
};

// The whole command tree, its options bound to storage that `inv.action` reads.
std::unique_ptr<CLI::App> make_app(Invocation& inv);

// Parses and runs: 0 on success, 1 on an error while running (csg::Error, printed), 2 on a
// command-line error (printed with the usage of the command), 130 / 143 when a run was stopped by
// SIGINT / SIGTERM after saving its checkpoint (128 + the signal, as shells report it).
int run_cli(int argc, char** argv);

// The flag tables of every command as Markdown (docs/cli.md).
std::string flags_markdown(CLI::App& app);

// ---- the commands, one file each ----
void add_info_command(CLI::App& root, Invocation& inv);
void add_train_commands(CLI::App& root, Invocation& inv);  // train visda|gta5, eval, hse, make-tiny
void add_digits_command(CLI::App& train, Invocation& inv);  // train digits
void add_pretrain_command(CLI::App& root, Invocation& inv);
void add_predict_command(CLI::App& root, Invocation& inv);  // predict, export
void add_export_command(CLI::App& root, Invocation& inv);
void add_gradcam_command(CLI::App& root, Invocation& inv);  // the paper's figures (src/cli/figures.cpp)
void add_segment_command(CLI::App& root, Invocation& inv);
void add_check_data_command(CLI::App& root, Invocation& inv);  // check-data visda|gta5|cityscapes
void add_verify_command(CLI::App& root, Invocation& inv);  // src/cli/verify.cpp

}  // namespace csg::cli
