// src/cli/app.cpp — the command tree, parsing, errors and exit codes, and the Markdown tables.
#include "src/cli/app.h"

#include <CLI/CLI.hpp>

#include <cstdio>

#include "csg/distributed.h"
#include "csg/error.h"
#include "csg/version.h"
#include "src/cli/flags.h"

namespace csg::cli {

namespace {

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=,:+@%") ==
                        std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Every leaf command (one that runs something) under `app`, depth first, in declaration order.
void leaf_commands(CLI::App* app, std::vector<CLI::App*>& out) {
  std::vector<CLI::App*> subs = app->get_subcommands([](CLI::App*) { return true; });
  if (subs.empty() && app->get_parent() != nullptr) out.push_back(app);
  for (CLI::App* s : subs) leaf_commands(s, out);
}

std::string full_name(const CLI::App* app) {
  std::string name;
  for (const CLI::App* a = app; a != nullptr; a = a->get_parent()) name = a->get_name() + (name.empty() ? "" : " ") + name;
  return name;
}

std::string table_cell(std::string s) {
  for (size_t p = 0; (p = s.find('|', p)) != std::string::npos; p += 2) s.replace(p, 1, "\\|");
  return s;
}

// After a parse error: when the deepest command given needs a subcommand and got none (or an
// unknown word), name the ones it has.
void print_missing_subcommand(CLI::App* app) {
  for (std::vector<CLI::App*> parsed = app->get_subcommands(); !parsed.empty(); parsed = app->get_subcommands())
    app = parsed.front();
  std::vector<CLI::App*> subs = app->get_subcommands([](CLI::App* s) { return !s->get_group().empty(); });
  if (subs.empty()) return;
  std::string names;
  for (CLI::App* s : subs) names += (names.empty() ? "" : ", ") + s->get_name();
  std::fprintf(stderr, "%s: expected one of: %s\n", full_name(app).c_str(), names.c_str());
}

}  // namespace

std::unique_ptr<CLI::App> make_app(Invocation& inv) {
  auto app = std::make_unique<CLI::App>(
      "csg: Contrastive Syn-to-Real Generalization (Chen et al., ICLR 2021), from scratch in C++ and CUDA.\n"
      "`csg <command> --help` lists a command's flags with their defaults.",
      "csg");
  app->set_version_flag("--version", [] { return "csg " + version() + "\nbuilt with: " + build_features(); },
                        "print the version (git describe) and the build's backends, then exit");
  app->require_subcommand(1);
  app->fallthrough(false);
  app->get_formatter()->column_width(34);
  // Scripts append an override to a base command: a single-valued flag given twice takes its last
  // value (flags that collect a list take every value). Every command's help says so.
  app->option_defaults()->always_capture_default()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app->footer("A flag given more than once takes its last value (`--epochs 5 --epochs 10` trains 10 epochs); "
              "flags that take a list collect every value.");
  add_info_command(*app, inv);
  add_train_commands(*app, inv);
  add_check_data_command(*app, inv);
  add_pretrain_command(*app, inv);
  add_predict_command(*app, inv);
  add_export_command(*app, inv);
  add_gradcam_command(*app, inv);
  add_segment_command(*app, inv);
  add_verify_command(*app, inv);
  reword_number_checks(*app);
  // Hidden (empty group): prints docs/cli.md's flag tables from these declarations.
  CLI::App* md = app->add_subcommand("flags-markdown", "the flag tables of every command, as Markdown")->group("");
  CLI::App* root = app.get();
  md->callback([&inv, root] {
    inv.action = [root] {
      std::printf("%s", flags_markdown(*root).c_str());
      return 0;
    };
  });
  return app;
}

std::string flags_markdown(CLI::App& app) {
  std::vector<CLI::App*> leaves;
  leaf_commands(&app, leaves);
  std::string md;
  for (CLI::App* cmd : leaves) {
    if (cmd->get_group().empty()) continue;  // hidden
    md += "#### `" + full_name(cmd) + "`\n\n" + cmd->get_description() + "\n\n";
    std::vector<CLI::Option*> opts = cmd->get_options([cmd](CLI::Option* o) { return o != cmd->get_help_ptr(); });
    if (opts.empty()) {
      md += "(no flags)\n\n";
      continue;
    }
    md += "| flag | meaning | default |\n|---|---|---|\n";
    for (CLI::Option* o : opts) {
      std::string name = o->get_positional() ? o->get_name() : "--" + o->get_lnames().front();
      if (!o->get_positional() && o->get_expected_min() > 0) name += " " + o->get_type_name();
      const std::string def = o->get_required()            ? "(required)"
                              : o->get_expected_min() == 0 ? ""
                                                           : "`" + table_cell(o->get_default_str()) + "`";
      md += "| `" + table_cell(name) + "` | " + table_cell(o->get_description()) + " | " +
            (def == "``" ? "" : def) + " |\n";
    }
    md += "\n";
  }
  return md;
}

int run_cli(int argc, char** argv) {
  Invocation inv;
  for (int i = 0; i < argc; ++i) inv.command_line += (i ? " " : "") + shell_quote(argv[i]);
  std::unique_ptr<CLI::App> app = make_app(inv);
  try {
    app->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app->exit(e);  // prints help / version (0) or the error and a hint (non-zero)
    if (code != 0) print_missing_subcommand(app.get());
    return code == 0 ? 0 : 2;
  } catch (const csg::Error& e) {  // a validator that reads a file
    std::fprintf(stderr, "csg: error: %s\n", e.what());
    return 2;
  }
  if (!inv.action) {
    std::fprintf(stderr, "%s", app->help().c_str());
    return 2;
  }
  try {
    return inv.action();
  } catch (const csg::Error& e) {
    std::fprintf(stderr, "csg: error%s: %s\n", csg::dist::rank_suffix().c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {  // e.g. std::filesystem errors: still a message, never an abort
    std::fprintf(stderr, "csg: error%s: %s\n", csg::dist::rank_suffix().c_str(), e.what());
    return 1;
  }
}

}  // namespace csg::cli
