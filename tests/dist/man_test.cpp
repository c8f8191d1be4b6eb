// The man pages (dist/man/*.scd) list exactly the options each command's --help lists.
#include "base/files.hpp"
#include "help_options.hpp"

#include <algorithm>
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
    const auto man = man_options(man_source("harness-" + cmd));
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
    EXPECT_EQ(exit_paragraph(man_source("harness-" + cmd)), help) << cmd;
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
