#include "harness/cli/exit_help.hpp"

namespace harness::cli {

std::string exit_help(std::initializer_list<ExitLine> lines, std::string_view lead) {
  std::string text = "exit status: " + std::string(lead);
  bool first = true;
  for (const auto& l : lines) {
    text += first ? "" : ", ";
    first = false;
    text += std::to_string(static_cast<int>(l.code)) + " " +
            std::string(l.says.empty() ? exit_summary(l.code) : l.says);
  }
  // Wrapped at the last blank before column 100.
  std::string out = "\n";
  while (text.size() > 100) {
    const auto cut = text.rfind(' ', 100);
    if (cut == std::string::npos || cut == 0)
      break;
    out += text.substr(0, cut) + "\n";
    text.erase(0, cut + 1);
  }
  return out + text + "\n";
}

} // namespace harness::cli
