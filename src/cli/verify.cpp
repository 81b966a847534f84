// src/cli/verify.cpp — `csg verify FILE...`: every byte of each checkpoint or model file checked
// against the checksums it carries (csg/io/verify.h), no network built.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "csg/io/verify.h"
#include "src/cli/app.h"

namespace csg::cli {

void add_verify_command(CLI::App& root, Invocation& inv) {
  auto files = std::make_shared<std::vector<std::string>>();
  CLI::App* c = root.add_subcommand(
      "verify",
      "check checkpoints and model files against their checksums without building a network; exit status 1 when "
      "any is damaged or unreadable");
  c->add_option("files", *files,
                "csg checkpoints (.ckpt), csg export's .safetensors, .pth or .safetensors state dicts")
      ->required();
  c->callback([files, &inv] {
    inv.action = [files] {
      int damaged = 0, unverified = 0;
      for (const std::string& path : *files) {
        const FileVerdict v = verify_file(path);
        if (v.state == FileVerdict::State::Damaged || v.state == FileVerdict::State::Unreadable) {
          ++damaged;
          std::printf("%s: %s (%s)\n", path.c_str(), verdict_name(v.state), v.kind.c_str());
          for (const std::string& d : v.damage) std::printf("  %s\n", d.c_str());
          continue;
        }
        if (v.state == FileVerdict::State::Unverified) ++unverified;
        std::printf("%s: %s, %s, %s\n", path.c_str(), verdict_name(v.state), v.kind.c_str(), v.summary.c_str());
      }
      if (files->size() > 1 || unverified > 0)
        std::printf("%zu files: %zu intact, %d without checksums (read whole, not verifiable), %d damaged or "
                    "unreadable\n",
                    files->size(), files->size() - unverified - damaged, unverified, damaged);
      return damaged > 0 ? 1 : 0;
    };
  });
}

}  // namespace csg::cli
