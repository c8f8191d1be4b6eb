#include "kprobe/perf_anchor.hpp"

// The pure readers of perf probe's listings (perf_anchor.hpp): -V's variables, -L's lines.

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace harness::kprobe::detail {
namespace {

// Each line of `out`, without leading and trailing blanks.
template <class Fn> void for_each_trimmed_line(std::string_view out, Fn&& fn) {
  std::size_t start = 0;
  while (start < out.size()) {
    std::size_t nl = out.find('\n', start);
    if (nl == std::string_view::npos)
      nl = out.size();
    std::string_view line = out.substr(start, nl - start);
    start = nl + 1;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
      line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
      line.remove_suffix(1);
    fn(line);
  }
}

} // namespace

std::optional<std::set<std::string>> visible_variables(std::string_view out) {
  if (out.find("Available variables at") == std::string_view::npos)
    return std::nullopt;
  std::optional<std::set<std::string>> all; // the intersection of the blocks so far
  std::set<std::string> block;
  bool in_block = false;
  auto close_block = [&] {
    if (!in_block)
      return;
    if (!all)
      all = block;
    else
      std::erase_if(*all, [&](const std::string& n) { return !block.contains(n); });
    block.clear();
  };
  for_each_trimmed_line(out, [&](std::string_view line) {
    if (line.starts_with("@<")) {
      close_block();
      in_block = true;
    } else if (in_block && !line.empty() && !line.starts_with("(No matched")) {
      // "TYPE<TAB>NAME"; an optimised variable's TYPE may be "(unknown_type)".
      const auto sep = line.find_last_of(" \t");
      if (sep != std::string_view::npos)
        block.emplace(line.substr(sep + 1));
    }
  });
  close_block();
  return all;
}

std::string base_variable(std::string_view expr) {
  std::size_t n = 0;
  while (n < expr.size() && (std::isalnum(static_cast<unsigned char>(expr[n])) || expr[n] == '_'))
    ++n;
  return std::string(expr.substr(0, n));
}

std::string first_line(std::string_view s) {
  while (!s.empty() && (s.front() == '\n' || s.front() == ' '))
    s.remove_prefix(1);
  return std::string(s.substr(0, std::min(s.find('\n'), std::size_t{200})));
}

std::optional<std::set<int>> placeable_lines(std::string_view out) {
  // "<FUNC@FILE:0>" heads the listing; a line perf can probe starts with its number relative to
  // the function's first line, the others with blanks only.
  if (!out.starts_with("<") || out.find("@") == std::string_view::npos)
    return std::nullopt;
  std::set<int> lines;
  const std::string_view body = out.substr(std::min(out.size(), out.find('\n') + 1));
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t nl = body.find('\n', start);
    if (nl == std::string_view::npos)
      nl = body.size();
    std::string_view line = body.substr(start, nl - start);
    start = nl + 1;
    std::size_t i = 0;
    while (i < line.size() && line[i] == ' ')
      ++i;
    std::size_t j = i;
    while (j < line.size() && std::isdigit(static_cast<unsigned char>(line[j])))
      ++j;
    if (j > i && j - i <= 6 && (j == line.size() || line[j] == ' ' || line[j] == '\t'))
      lines.insert(std::atoi(std::string(line.substr(i, j - i)).c_str()));
  }
  return lines;
}

} // namespace harness::kprobe::detail
