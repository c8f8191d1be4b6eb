#pragma once

// A text's lines, without their '\n': what tests compare output and generated files by.
#include <sstream>
#include <string>
#include <vector>

namespace harness::testing {

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

} // namespace harness::testing
