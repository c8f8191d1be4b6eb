#pragma once

// What the installation tests compare with: the commands and options harness itself lists in
// its --help output (boost::program_options' format, see harness/cli/options.cpp).

#include <set>
#include <string>
#include <vector>

namespace harness::dist_testing {

// The harness binary of this build tree.
std::string harness_exe();
// stdout of `harness ARGS... --help` (the test fails when it does not exit 0).
std::string help_of(const std::vector<std::string>& args);
// "send", "map", ... from `harness --help`.
std::vector<std::string> commands_in(const std::string& help);
// "prepare", "build", ... from the usage lines of `harness kernel --help`; empty when none.
std::vector<std::string> subcommands_in(const std::string& command, const std::string& help);
// Every long option ("--count") and short option ("-c") of an options table.
std::set<std::string> options_in(const std::string& help);

} // namespace harness::dist_testing
