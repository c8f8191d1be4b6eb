#include "probes/drift.hpp"

#include "probes/anchors.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace harness::probes {
namespace {

// Statement text compared without whitespace differences (re-indentation is not drift).
std::string squeeze(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space)
      out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string line_text(int line) {
  return line > 0 ? std::to_string(line) : "-";
}

} // namespace

std::string_view to_string(DriftState s) {
  switch (s) {
  case DriftState::same:
    return "same";
  case DriftState::moved:
    return "moved";
  case DriftState::text_changed:
    return "text changed";
  case DriftState::lost:
    return "lost";
  case DriftState::added:
    return "new";
  }
  return "same";
}

bool DriftReport::drifted() const {
  return std::any_of(rows.begin(), rows.end(),
                     [](const DriftRow& r) { return r.state != DriftState::same; });
}

DriftReport compare_maps(const LineMap& old_map, const LocateReport& located) {
  DriftReport r;
  r.old_identity = map_identity(old_map);
  r.new_identity = map_identity(located.map);
  for (const auto& def : anchors()) {
    DriftRow row;
    row.anchor = std::string(def.name);
    if (const auto* o = old_map.anchor(def.name)) {
      row.old_line = o->line;
      row.old_text = o->text;
    }
    if (const auto* n = located.map.anchor(def.name)) {
      row.new_line = n->line;
      row.new_text = n->text;
    }
    for (const auto& p : located.problems)
      if (p.anchor == def.name)
        row.problem = p.message;
    const bool had = row.old_line > 0, has = row.new_line > 0;
    if (!had && !has)
      row.state = row.problem.empty() ? DriftState::same : DriftState::lost;
    else if (had && !has)
      row.state = DriftState::lost;
    else if (!had && has)
      row.state = DriftState::added;
    else if (squeeze(row.old_text) != squeeze(row.new_text))
      row.state = DriftState::text_changed;
    else if (row.old_line != row.new_line)
      row.state = DriftState::moved;
    else
      row.state = DriftState::same;
    r.rows.push_back(std::move(row));
  }
  return r;
}

std::string drift_to_text(const DriftReport& r) {
  std::string out = "map:    " + r.old_identity + "\nsource: " + r.new_identity + "\n\n";
  size_t w = 6;
  for (const auto& row : r.rows)
    w = std::max(w, row.anchor.size());
  auto pad = [](std::string s, size_t n) {
    s.resize(std::max(s.size(), n), ' ');
    return s;
  };
  out += pad("anchor", w) + "  " + pad("old", 6) + pad("new", 6) + pad("state", 13) + "statement\n";
  size_t changed = 0;
  for (const auto& row : r.rows) {
    if (row.state != DriftState::same)
      ++changed;
    const std::string delta = row.state == DriftState::moved
                                  ? " (" + std::string(row.new_line > row.old_line ? "+" : "") +
                                        std::to_string(row.new_line - row.old_line) + ")"
                                  : "";
    std::string stmt = row.new_line > 0 ? row.new_text : row.old_text;
    if (row.state == DriftState::text_changed)
      stmt = "was `" + row.old_text + "`, now `" + row.new_text + "`";
    if (!row.problem.empty())
      stmt = row.problem;
    out += pad(row.anchor, w) + "  " + pad(line_text(row.old_line), 6) +
           pad(line_text(row.new_line), 6) + pad(std::string(to_string(row.state)) + delta, 13) +
           stmt + "\n";
  }
  out += "\n";
  out += changed == 0 ? "no drift: every anchor is where the map says\n"
                      : std::to_string(changed) + " of " + std::to_string(r.rows.size()) +
                            " anchors drifted\n";
  return out;
}

std::string drift_to_json(const DriftReport& r) {
  using ojson = nlohmann::ordered_json;
  ojson j = ojson::object();
  j["schema"] = "harness.drift/1";
  j["map"] = r.old_identity;
  j["source"] = r.new_identity;
  j["drifted"] = r.drifted();
  ojson rows = ojson::array();
  for (const auto& row : r.rows) {
    ojson o = ojson::object();
    o["anchor"] = row.anchor;
    o["old_line"] = row.old_line;
    o["new_line"] = row.new_line;
    o["state"] = to_string(row.state);
    o["old_text"] = row.old_text;
    o["new_text"] = row.new_text;
    if (!row.problem.empty())
      o["problem"] = row.problem;
    rows.push_back(std::move(o));
  }
  j["anchors"] = std::move(rows);
  return j.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

} // namespace harness::probes
