#include "stap/stap_listing.hpp"

#include <charconv>

namespace harness::stap {
namespace {

std::vector<ListedVariable> parse_variables(std::string_view rest) {
  // " $a:type words $b:type": variables start at " $"; a type may contain spaces.
  std::vector<ListedVariable> vars;
  size_t pos = rest.find(" $");
  while (pos != std::string_view::npos) {
    const size_t next = rest.find(" $", pos + 2);
    std::string_view item =
        rest.substr(pos + 2, next == std::string_view::npos ? rest.npos : next - pos - 2);
    const auto colon = item.find(':');
    ListedVariable v;
    v.name = std::string(item.substr(0, colon));
    if (colon != std::string_view::npos)
      v.type = std::string(item.substr(colon + 1));
    while (!v.type.empty() && (v.type.back() == ' ' || v.type.back() == '\r'))
      v.type.pop_back();
    if (!v.name.empty())
      vars.push_back(std::move(v));
    pos = next;
  }
  return vars;
}

} // namespace

bool ListedProbe::has_variable(std::string_view name) const {
  for (const auto& v : variables)
    if (v.name == name)
      return true;
  return false;
}

bool path_has_suffix(std::string_view path, std::string_view suffix) {
  if (!path.ends_with(suffix))
    return false;
  if (path.size() == suffix.size())
    return true;
  return path[path.size() - suffix.size() - 1] == '/';
}

std::vector<ListedProbe> parse_stap_listing(std::string_view text) {
  std::vector<ListedProbe> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ListedProbe p;
    std::string_view head;
    if (line.starts_with("kernel.statement(\"")) {
      head = line.substr(18);
    } else if (line.starts_with("kernel.function(\"")) {
      p.is_function = true;
      head = line.substr(17);
    } else {
      continue;
    }
    const auto close = head.find("\")");
    if (close == std::string_view::npos)
      continue;
    const std::string_view spec = head.substr(0, close);
    const auto at = spec.find('@');
    const auto colon = spec.rfind(':');
    if (at == std::string_view::npos || colon == std::string_view::npos || colon < at)
      continue;
    p.function = std::string(spec.substr(0, at));
    p.file = std::string(spec.substr(at + 1, colon - at - 1));
    const std::string_view num = spec.substr(colon + 1);
    const auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), p.line);
    if (ec != std::errc{} || ptr != num.data() + num.size() || p.line <= 0)
      continue;
    p.variables = parse_variables(head.substr(close + 2));
    out.push_back(std::move(p));
  }
  return out;
}

} // namespace harness::stap
