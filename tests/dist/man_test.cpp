// The man pages: dist/man/*.scd hold the prose, and the build takes each page's synopsis, options
// and exit statuses from the built harness's --help (dist/man/render-page); these tests check that
// the rendered pages say what --help says, whole.
#include "base/files.hpp"
#include "help_options.hpp"

#include <algorithm>
#include <cctype>
#include <gtest/gtest.h>
#include <map>
#include <regex>
#include <sstream>

namespace harness::dist_testing {
namespace {

std::string man_source(const std::string& page) {
  auto text = read_file(std::string(HARNESS_SOURCE_DIR) + "/dist/man/" + page + ".1.scd");
  EXPECT_TRUE(text) << page;
  return text ? *text : "";
}

// The scdoc source the build rendered from man_source and --help.
std::string man_rendered(const std::string& page) {
  auto text = read_file(std::string(HARNESS_BINARY_DIR) + "/man/scd/" + page + ".1.scd");
  EXPECT_TRUE(text) << page;
  return text ? *text : "";
}

// Text without its white space, scdoc's escapes and bold marks: what a reader sees, to compare
// with --help whatever the line breaks.
std::string bare(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size())
      out += text[++i];
    else if (!std::isspace(static_cast<unsigned char>(text[i])) && text[i] != '*' && text[i] != '`')
      out += text[i];
  }
  return out;
}

// Options of each OPTIONS (sub)section: "" for a page without subsections, else the
// subcommand ("## harness kernel prepare" -> "prepare").
std::map<std::string, std::set<std::string>> man_options(const std::string& scd) {
  std::map<std::string, std::set<std::string>> out;
  std::istringstream in(scd);
  bool in_options = false;
  std::string section;
  const std::regex name(R"(\*(-[A-Za-z0-9-]+)\*)");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# "))
      in_options = line == "# OPTIONS";
    else if (in_options && line.starts_with("## "))
      section = line.substr(line.rfind(' ') + 1);
    else if (in_options && line.starts_with("*-"))
      for (std::sregex_iterator it(line.begin(), line.end(), name), end; it != end; ++it)
        out[section].insert((*it)[1]);
  }
  return out;
}

TEST(ManPages, EveryCommandHasAPageListingExactlyItsHelpOptions) {
  const auto commands = commands_in(help_of({}));
  ASSERT_GE(commands.size(), 10u);
  for (const auto& cmd : commands) {
    SCOPED_TRACE(cmd);
    const auto man = man_options(man_rendered("harness-" + cmd));
    const auto subs = subcommands_in(cmd, help_of({cmd}));
    if (subs.empty()) {
      ASSERT_TRUE(man.contains("")) << "harness-" << cmd << ".1.scd has no OPTIONS";
      EXPECT_EQ(man.at(""), options_in(help_of({cmd})));
      continue;
    }
    for (const auto& sub : subs) {
      SCOPED_TRACE(sub);
      ASSERT_TRUE(man.contains(sub)) << "no '## harness " << cmd << " " << sub << "' section";
      EXPECT_EQ(man.at(sub), options_in(help_of({cmd, sub})));
    }
    EXPECT_EQ(man.size(), subs.size()) << "a section for a subcommand --help does not list";
  }
}

// The paragraph `exit status: ...` of a text, on one line, `code` as scdoc's *code*; "" if none.
std::string exit_paragraph(const std::string& text) {
  const auto at = text.find("exit status:");
  if (at == std::string::npos)
    return {};
  std::string p = text.substr(at, text.find("\n\n", at) - at);
  while (!p.empty() && p.back() == '\n')
    p.pop_back();
  std::replace(p.begin(), p.end(), '\n', ' ');
  return std::regex_replace(p, std::regex("`([^`]*)`"), "*$1*");
}

// Each page says the exit statuses its command's --help prints (made from `Exit`).
TEST(ManPages, ExitStatusesAreTheHelps) {
  for (const auto& cmd : commands_in(help_of({}))) {
    const auto subs = subcommands_in(cmd, help_of({cmd}));
    const std::string help =
        exit_paragraph(help_of(subs.empty() ? std::vector<std::string>{cmd}
                                            : std::vector<std::string>{cmd, *subs.begin()}));
    EXPECT_FALSE(help.empty()) << "`harness " << cmd << " --help` has no exit statuses";
    // scdoc escapes its markup characters (\\_); a reader sees the help's text.
    const std::string page = std::regex_replace(exit_paragraph(man_rendered("harness-" + cmd)),
                                                std::regex(R"(\\(.))"), "$1");
    EXPECT_EQ(page, help) << cmd;
  }
}

// Each option's description on the page is its --help description, whole (a description that
// wraps over several help lines is one paragraph on the page).
TEST(ManPages, EveryDescriptionIsTheHelpsWhole) {
  for (const auto& cmd : commands_in(help_of({}))) {
    const auto subs = subcommands_in(cmd, help_of({cmd}));
    std::string helps = bare(help_of({cmd}));
    for (const auto& sub : subs)
      helps += bare(help_of({cmd, sub}));
    std::istringstream page(man_rendered("harness-" + cmd));
    int described = 0;
    for (std::string line, last; std::getline(page, line); last = line) {
      if (!last.starts_with("*-") || !line.starts_with("\t"))
        continue;
      std::string text = line.substr(1);
      if (const auto d = text.rfind(" (default: "); d != std::string::npos)
        text = text.substr(0, d); // help puts the default next to the option: (=300)
      EXPECT_NE(helps.find(bare(text)), std::string::npos) << cmd << ": " << text;
      ++described;
    }
    EXPECT_GE(described, 2) << cmd;
  }
}

// The pages in the source tree say none of it themselves: a hand-copied option list drifted
// (harness-vm(1)'s --module) and a synopsis lost options (doctor's --backend, map's --build-id).
TEST(ManPages, SourcesTakeSynopsisOptionsAndExitStatusesFromTheHelp) {
  for (const auto& cmd : commands_in(help_of({}))) {
    const std::string src = man_source("harness-" + cmd);
    for (const char* marker : {"@SYNOPSIS@", "@OPTIONS@", "@EXIT_STATUS@"})
      EXPECT_NE(src.find(marker), std::string::npos) << "harness-" << cmd << " lacks " << marker;
    EXPECT_EQ(src.find("\n*-"), std::string::npos) << "harness-" << cmd << " lists an option";
    EXPECT_EQ(src.find("exit status:"), std::string::npos) << "harness-" << cmd;
  }
}

TEST(ManPages, TheMainPageNamesEveryCommand) {
  const std::string page = man_source("harness");
  for (const auto& cmd : commands_in(help_of({})))
    EXPECT_NE(page.find("*harness-" + cmd + "*(1)"), std::string::npos) << cmd;
}

TEST(ManPages, ScdocBuiltEveryPage) {
  for (const auto& cmd : commands_in(help_of({}))) {
    auto page = read_file(std::string(HARNESS_BINARY_DIR) + "/man/harness-" + cmd + ".1");
    ASSERT_TRUE(page) << cmd;
    EXPECT_NE(page->find(".SH OPTIONS"), std::string::npos) << cmd;
  }
}

} // namespace
} // namespace harness::dist_testing
