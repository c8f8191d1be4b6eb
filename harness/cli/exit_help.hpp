#pragma once

// The "exit status:" paragraph of a command's --help, made from `Exit` (base/result.hpp): each
// command lists the statuses it can end with, in its own words where the general ones
// (exit_summary) would be vague, so the numbers can never drift from the code.

#include "base/result.hpp"

#include <initializer_list>
#include <string>
#include <string_view>

namespace harness::cli {

struct ExitLine {
  Exit code;
  std::string_view says = {}; // empty: exit_summary(code)
};

// "\nexit status: LEAD0 success, 1 ..., 2 ...\n", wrapped at 100 columns.
std::string exit_help(std::initializer_list<ExitLine> lines, std::string_view lead = {});

} // namespace harness::cli
