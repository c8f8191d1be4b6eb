#include "probe_filter.hpp"

#include "sha1.hpp"

#include <algorithm>
#include <vector>

namespace harness::kernel {
namespace {

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos)
      nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

} // namespace

Result<stap::GeneratedScript> drop_probes(const stap::GeneratedScript& in,
                                          std::span<const std::string> anchors) {
  if (anchors.empty())
    return in;
  stap::GeneratedScript out = in;
  std::vector<std::string> lines = split(in.text);
  for (const auto& name : anchors) {
    auto it = std::find_if(out.plan.anchors.begin(), out.plan.anchors.end(),
                           [&](const stap::PlannedProbe& p) { return p.anchor == name; });
    if (it == out.plan.anchors.end())
      return fail(Exit::usage, "anchor " + name, "is not probed by this script");
    const std::string head = "probe " + it->probe_point + " {";
    auto begin = std::find(lines.begin(), lines.end(), head);
    if (begin == lines.end())
      return fail(Exit::stap_failed, "generated script", "has no line `" + head + "` to remove",
                  "a harness bug: please report it");
    auto end = std::find(begin, lines.end(), "}");
    if (end == lines.end())
      return fail(Exit::stap_failed, "generated script", "probe for " + name + " is not closed");
    // The comment block directly above the probe (anchor line, quoted source).
    auto first = begin;
    while (first != lines.begin() && (first - 1)->starts_with("//"))
      --first;
    lines.erase(first, end + 1);
    if (first != lines.begin() && first != lines.end() && (first - 1)->empty() && first->empty())
      lines.erase(first);
    const std::string hits_key = "\"" + name + "\", hx_hits[\"" + name + "\"]";
    std::erase_if(lines, [&](const std::string& l) {
      return l.find("HITS") != std::string::npos && l.find(hits_key) != std::string::npos;
    });
    out.plan.absent.push_back(name);
    out.plan.anchors.erase(it);
  }
  if (!anchors.empty()) {
    std::string note = "// dropped, not probeable in this kernel build (see `harness verify`):";
    for (const auto& a : anchors)
      note += " " + a;
    auto at = std::find_if(lines.begin(), lines.end(),
                           [](const std::string& l) { return l.starts_with("// probes:"); });
    lines.insert(at == lines.end() ? lines.begin() : at + 1, note);
  }
  out.text.clear();
  for (const auto& l : lines)
    out.text += l + "\n";
  std::string id_input = in.plan.plan_id;
  for (const auto& a : anchors)
    id_input += "\n-" + a;
  out.plan.plan_id = sha1_hex(id_input).substr(0, 16);
  // The READY record carries the plan id.
  const auto pos = out.text.find("\"" + in.plan.plan_id + "\"");
  if (pos != std::string::npos)
    out.text.replace(pos + 1, in.plan.plan_id.size(), out.plan.plan_id);
  return out;
}

} // namespace harness::kernel
