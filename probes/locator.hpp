#pragma once

// The locator: finds each anchored function's body in an af_packet.c (brace matching that
// skips comments, strings, character literals and preprocessor lines), then each anchor inside
// it by the anchor's rule (anchors.cpp). An anchor matches exactly once, is reported absent when
// its rule says it does not exist in this version, or is an error naming the anchor, the
// function and its lines, and the match count/lines.

#include "base/result.hpp"
#include "probes/line_map.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace harness::probes {

// What to do when a file given as af_packet.c cannot be read or is not af_packet.c.
inline constexpr std::string_view kAfPacketSourceHint =
    "give the path of a kernel tree's net/packet/af_packet.c";

struct LocateProblem {
  std::string anchor;       // anchor (or function) name
  std::string message;      // "anchor snd.len_sum: 0 matches in tpacket_snd (lines 2783-2979)"
  bool consequence = false; // follows from another problem (its function was not found)
};

struct LocateReport {
  LineMap map; // problem anchors are left absent (line 0)
  std::vector<LocateProblem> problems;
  bool ok() const { return problems.empty(); }
};

// Locates every anchor; never fails as a whole (drift needs partial results to report `lost`).
LocateReport locate_all(std::string_view source_text, std::string release);

// Strict: the map, or an error listing every problem (Exit::no_map).
Result<LineMap> locate(std::string_view source_text, std::string release);

// The release of a kernel tree's Makefile (VERSION.PATCHLEVEL.SUBLEVEL EXTRAVERSION), used when
// `harness map` is given no --kernel; nullopt-like empty string when it cannot be read.
std::string release_from_makefile(std::string_view makefile_text);

} // namespace harness::probes
