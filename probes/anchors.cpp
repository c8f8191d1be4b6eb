// Lookups over the anchor table (anchors.hpp, the one place each anchor is described).
#include "probes/anchors.hpp"

#include <vector>

namespace harness::probes {

std::span<const AnchorDef> anchors() {
  return std::span(anchor_table).first(af_packet_anchor_count);
}

std::span<const AnchorDef> kernel_event_anchors() {
  return std::span(anchor_table).subspan(af_packet_anchor_count);
}

const AnchorDef* find_any_anchor(std::string_view name) {
  for (const auto& a : anchor_table)
    if (a.name == name)
      return &a;
  return nullptr;
}

const AnchorDef* find_anchor(std::string_view name) {
  const AnchorDef* a = find_any_anchor(name);
  return a && !is_kernel_event(*a) ? a : nullptr;
}

std::vector<std::string_view> stand_ins_for(std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& a : anchor_table)
    for (auto s : a.stands_in_for)
      if (s == name)
        out.push_back(a.name);
  return out;
}

std::span<const FunctionDef> anchored_functions() {
  return anchor_rows::kFunctions;
}

const FunctionDef* find_function(std::string_view name) {
  for (const auto& f : anchor_rows::kFunctions) {
    if (f.canonical == name)
      return &f;
    for (auto n : f.names)
      if (n == name)
        return &f;
  }
  return nullptr;
}

} // namespace harness::probes
