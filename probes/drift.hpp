#pragma once

// Drift: compares a map entry (the lines a script would probe) with the anchors located in a
// source. One row per anchor of the table.

#include "probes/line_map.hpp"
#include "probes/locator.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace harness::probes {

enum class DriftState {
  same,         // same line, same text (or absent in both)
  moved,        // same text, other line
  text_changed, // the statement text differs (line may or may not differ)
  lost,         // in the map, not found in the source
  added,        // not in the map (absent), found in the source; printed "new"
};

std::string_view to_string(DriftState state); // "same", "moved", "text changed", "lost", "new"

struct DriftRow {
  std::string anchor;
  int old_line = 0; // 0 = absent
  int new_line = 0;
  std::string old_text;
  std::string new_text;
  DriftState state = DriftState::same;
  std::string problem; // the locator's message when the anchor could not be placed
};

struct DriftReport {
  std::string old_identity; // map_identity() of the map entry
  std::string new_identity; // of the located source
  std::vector<DriftRow> rows;
  bool drifted() const; // any row not `same`
};

// `located` is the locator's report on the new source (problems become `lost` rows).
DriftReport compare_maps(const LineMap& old_map, const LocateReport& located);

std::string drift_to_text(const DriftReport& report); // aligned table + summary line
std::string drift_to_json(const DriftReport& report); // `harness.drift/1`, ends with newline

} // namespace harness::probes
