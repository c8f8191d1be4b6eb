#include "help_options.hpp"

#include "base/child_proc.hpp"

#include <gtest/gtest.h>
#include <regex>
#include <sstream>

namespace harness::dist_testing {

std::string harness_exe() {
  return std::string(HARNESS_BINARY_DIR) + "/bin/harness";
}

std::string help_of(const std::vector<std::string>& args) {
  ChildSpec spec{.exe = harness_exe(), .args = args};
  spec.args.push_back("--help");
  auto r = run_captured(spec, std::chrono::seconds(30));
  EXPECT_TRUE(r && r->status.success()) << describe_command(spec);
  return r ? r->out : "";
}

std::vector<std::string> commands_in(const std::string& help) {
  std::vector<std::string> out;
  std::istringstream in(help);
  bool in_list = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "commands:")
      in_list = true;
    else if (line.empty())
      in_list = false;
    else if (in_list && line.starts_with("  "))
      out.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return out;
}

std::vector<std::string> subcommands_in(const std::string& command, const std::string& help) {
  std::vector<std::string> out;
  const std::regex usage("^(usage:)? *harness " + command + " ([a-z][a-z-]*)( .*)?$");
  std::istringstream in(help);
  std::smatch m;
  for (std::string line; std::getline(in, line);)
    if (std::regex_match(line, m, usage))
      out.push_back(m[2]);
  return out;
}

std::set<std::string> options_in(const std::string& help) {
  std::set<std::string> out;
  // "  -c [ --count ] arg ..." or "  --kernel arg (=auto) ..." or "  -v ..."
  const std::regex row(
      R"(^  (-[A-Za-z0-9]) \[ (--[a-z0-9-]+) \].*|^  (--?[a-z0-9][a-z0-9-]*)\b.*)");
  std::istringstream in(help);
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (!std::regex_match(line, m, row))
      continue;
    for (int i : {1, 2, 3})
      if (m[i].matched)
        out.insert(m[i]);
  }
  return out;
}

} // namespace harness::dist_testing
