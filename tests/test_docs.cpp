// tests/test_docs.cpp — the documentation's links resolve: every relative link in README.md and
// docs/*.md names a file of the repository (and, into a Markdown file, one of its headings), every
// docs/*.md reference in a source comment does too, and no source file points at a file outside
// the repository. Runs from the repository root, as `make test` does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing.h"

namespace fs = std::filesystem;
using csg::testing::read_text;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The Markdown pages whose links are checked: README.md and docs/*.md.
std::vector<fs::path> markdown_pages() {
  std::vector<fs::path> pages = {"README.md"};
  for (const fs::directory_entry& e : fs::directory_iterator("docs"))
    if (e.is_regular_file() && e.path().extension() == ".md") pages.push_back(e.path());
  std::sort(pages.begin(), pages.end());
  return pages;
}

// The lines of a page that are prose: fenced code blocks dropped, inline code spans blanked (a
// `[i](j)` inside backticks is code, not a link). Indented code blocks are left in: a link there
// would be checked, never missed.
std::vector<std::string> prose_lines(const std::string& text) {
  std::vector<std::string> out;
  bool fenced = false;
  for (std::string line : lines_of(text)) {
    const size_t first = line.find_first_not_of(' ');
    if (first != std::string::npos && line.compare(first, 3, "```") == 0) {
      fenced = !fenced;
      out.emplace_back();
      continue;
    }
    if (fenced) {
      out.emplace_back();
      continue;
    }
    for (size_t open = line.find('`'); open != std::string::npos; open = line.find('`', open)) {
      const size_t close = line.find('`', open + 1);
      if (close == std::string::npos) break;
      std::fill(line.begin() + open, line.begin() + close + 1, ' ');
      open = close + 1;
    }
    out.push_back(line);
  }
  return out;
}

// GitHub's anchor of a heading: lower case, spaces to '-', every character but letters, digits, '-'
// and '_' dropped. Non-ASCII characters are dropped too: right for punctuation and symbols (dashes,
// arrows), wrong for accented letters, which a heading linked to should then avoid.
std::string heading_anchor(const std::string& heading) {
  std::string out;
  for (unsigned char c : heading) {
    if (c >= 0x80) continue;
    if (std::isalnum(c)) out += static_cast<char>(std::tolower(c));
    else if (c == ' ' || c == '-') out += '-';
    else if (c == '_') out += '_';
  }
  return out;
}

// The anchors of a page's headings, with GitHub's -1, -2 suffixes for repeated ones.
std::set<std::string> anchors_of(const fs::path& page) {
  static const std::regex heading(R"(^#{1,6}\s+(.*?)\s*#*\s*$)");
  std::set<std::string> anchors;
  std::map<std::string, int> seen;
  bool fenced = false;
  for (const std::string& line : lines_of(read_text(page))) {
    if (line.rfind("```", 0) == 0) fenced = !fenced;
    std::smatch m;
    if (fenced || !std::regex_match(line, m, heading)) continue;
    const std::string a = heading_anchor(m[1].str());
    const int n = seen[a]++;
    anchors.insert(n == 0 ? a : a + "-" + std::to_string(n));
  }
  return anchors;
}

// "where: target" for a target that does not resolve; empty when it does. `target` is relative to
// `base` (a folder inside the repository); an anchor after '#' must name a heading of a .md target.
std::string check_target(const std::string& where, const fs::path& base, const std::string& target) {
  const size_t hash = target.find('#');
  const std::string path_part = target.substr(0, hash), anchor = hash == std::string::npos ? "" : target.substr(hash + 1);
  const fs::path resolved = path_part.empty() ? base : (base / path_part).lexically_normal();
  const std::string rel = resolved.generic_string();
  if (rel.rfind("..", 0) == 0 || resolved.is_absolute())
    return where + ": " + target + " points outside the repository";
  if (!fs::exists(resolved)) return where + ": " + target + " -> " + rel + " does not exist";
  if (!anchor.empty() && resolved.extension() == ".md" && !anchors_of(resolved).count(anchor))
    return where + ": " + target + " -> no heading of " + rel + " has the anchor #" + anchor;
  return "";
}

bool is_external(const std::string& target) {
  return target.find("://") != std::string::npos || target.rfind("mailto:", 0) == 0;
}

// The source, build and tool files a reader of comments meets.
std::vector<fs::path> source_files() {
  std::vector<fs::path> files = {"Makefile", ".ci/run"};
  const std::set<std::string> exts = {".h", ".cpp", ".cu", ".cuh", ".c", ".py", ".sh", ".in", ".supp", ".mk"};
  for (const char* dir : {"src", "include", "kernels", "tests", "tools", "examples"})
    for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file() && exts.count(e.path().extension().string())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string joined(const std::vector<std::string>& problems) {
  std::string s;
  for (const std::string& p : problems) s += "\n  " + p;
  return s;
}

}  // namespace

TEST(Docs, RelativeLinksResolve) {
  ASSERT_TRUE(fs::exists("README.md") && fs::is_directory("docs")) << "run the tests from the repository root (make test does)";
  // [text](target) and [text](target "title"), images included; reference definitions [label]: target.
  static const std::regex inline_link(R"(\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\))");
  static const std::regex reference_definition(R"(^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?)");
  std::vector<std::string> problems;
  size_t checked = 0;
  for (const fs::path& page : markdown_pages()) {
    const std::vector<std::string> lines = prose_lines(read_text(page));
    for (size_t i = 0; i < lines.size(); ++i) {
      std::vector<std::string> targets;
      for (std::sregex_iterator it(lines[i].begin(), lines[i].end(), inline_link), end; it != end; ++it)
        targets.push_back((*it)[1].str());
      std::smatch m;
      if (std::regex_search(lines[i], m, reference_definition)) targets.push_back(m[1].str());
      for (const std::string& t : targets) {
        if (is_external(t)) continue;
        ++checked;
        const std::string where = page.generic_string() + ":" + std::to_string(i + 1);
        // "#anchor" alone is a heading of the page itself.
        const std::string target = t[0] == '#' ? page.filename().generic_string() + t : t;
        const std::string problem = check_target(where, page.parent_path(), target);
        if (!problem.empty()) problems.push_back(problem);
      }
    }
  }
  EXPECT_GT(checked, 50u) << "the pages hold hardly any relative links: is the link pattern still right?";
  EXPECT_TRUE(problems.empty()) << problems.size() << " link(s) do not resolve:" << joined(problems);
}

TEST(Docs, SourceCommentsNameExistingDocsSections) {
  // docs/<page>.md, optionally with #anchor, wherever it appears in a source file.
  static const std::regex docs_reference(R"(docs/[A-Za-z0-9_.-]+\.md(#[A-Za-z0-9_-]+)?)");
  std::vector<std::string> problems;
  size_t checked = 0;
  for (const fs::path& file : source_files()) {
    const std::vector<std::string> lines = lines_of(read_text(file));
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find("docs/") == std::string::npos) continue;
      for (std::sregex_iterator it(lines[i].begin(), lines[i].end(), docs_reference), end; it != end; ++it) {
        ++checked;
        const std::string where = file.generic_string() + ":" + std::to_string(i + 1);
        const std::string problem = check_target(where, ".", it->str());
        if (!problem.empty()) problems.push_back(problem);
      }
    }
  }
  EXPECT_GT(checked, 5u) << "hardly any source comment names a docs page: is the pattern still right?";
  EXPECT_TRUE(problems.empty()) << problems.size() << " docs reference(s) do not resolve:" << joined(problems);
}

TEST(Docs, NothingPointsOutsideTheRepository) {
  // Notes kept beside a checkout are not part of it; the project's own words live in docs/. The
  // names are assembled so that this file does not match itself.
  const std::vector<std::string> outside = {std::string("csg-") + "reference.md", std::string("csg-") + "paper.md",
                                            std::string("/work/") + "shared"};
  std::vector<fs::path> files = source_files();
  for (const fs::path& page : markdown_pages()) files.push_back(page);
  std::vector<std::string> problems;
  for (const fs::path& file : files) {
    const std::vector<std::string> lines = lines_of(read_text(file));
    for (size_t i = 0; i < lines.size(); ++i)
      for (const std::string& name : outside)
        if (lines[i].find(name) != std::string::npos)
          problems.push_back(file.generic_string() + ":" + std::to_string(i + 1) + " names " + name +
                             ": point at docs/paper-notes.md instead");
  }
  EXPECT_TRUE(problems.empty()) << joined(problems);
}

TEST(Docs, WalkthroughLinksTheSourceItTeaches) {
  // The course names the files to open: at least ten distinct files of the library, its kernels
  // and its tests, each a link that RelativeLinksResolve checks.
  static const std::regex source_link(R"(\]\(\.\./((?:src|include|kernels|tests|tools|examples)/[^)#\s]+)\))");
  const std::string text = read_text("docs/walkthrough.md");
  ASSERT_FALSE(text.empty()) << "docs/walkthrough.md is missing";
  std::set<std::string> files;
  for (std::sregex_iterator it(text.begin(), text.end(), source_link), end; it != end; ++it) files.insert((*it)[1].str());
  EXPECT_GE(files.size(), 10u) << "docs/walkthrough.md links " << files.size() << " source files";
}
