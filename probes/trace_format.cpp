#include "probes/trace_format.hpp"

namespace harness::probes::trace {

std::optional<RecordHead> record_head(std::string_view line) {
  if (!line.starts_with(line_prefix))
    return std::nullopt;
  std::string_view rest = line.substr(line_prefix.size());
  auto word = [&rest] {
    const auto sp = rest.find(separator);
    const std::string_view w = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    return w;
  };
  RecordHead h;
  h.kind = word();
  if (h.kind.empty())
    return std::nullopt;
  if (h.kind != kind::event)
    return h;
  for (int i = 0; i < event_positional_fields - 1; ++i)
    word(); // ts cpu pid tid
  h.anchor = word();
  const std::string key = " " + std::string(record_key::seq) + key_value;
  h.numbered = (" " + std::string(rest)).find(key) != std::string::npos;
  return h;
}

} // namespace harness::probes::trace
