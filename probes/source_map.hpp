#pragma once

// The line map for a kernel whose own af_packet.c is at hand (a build tree): its line numbers
// come from that file, not from a shipped map of a neighbouring version. A shipped entry is used
// when it holds the same file (same sha1, whatever its release string says); otherwise the
// anchors are located in the source itself, and the note names the nearest shipped map and how
// far its lines are off, so a rebuilt kernel never gets the previous kernel's probe lines.

#include "base/result.hpp"
#include "probes/map_store.hpp"

#include <span>
#include <string>
#include <string_view>

namespace harness::probes {

struct KernelSource {
  std::string path; // where the text was read, for messages
  std::string text; // af_packet.c
};

// `spec` is `--kernel` (`auto` or empty: the target's own release). Without a source (null),
// this is select_map. A spec naming another kernel keeps select_map's choice (the user asked
// for that map), with a note when its source differs from the tree's. Errors: a spec select_map
// refuses; a source the locator cannot place (Exit::no_map, listing the locator's problems,
// with a hint to pass --map or --kernel).
Result<MapSelection> select_map_for_source(std::span<const MapEntry> entries, std::string_view spec,
                                           std::string_view release, const KernelSource* source);

} // namespace harness::probes
