#pragma once

// `harness verify`: every anchor of a line map checked against a kernel build's DWARF, as
// SystemTap sees it (`stap -r BUILD -L`). A statement anchor is usable when its line has a
// line-table entry inside its function; otherwise the nearest probeable line is named. For each
// usable anchor the variables visible there are compared with the fields its probe reads.

#include "base/result.hpp"
#include "probes/line_map.hpp"
#include "probes/probe_plan.hpp"
#include "stap/stap_listing.hpp"

#include <chrono>
#include <span>
#include <string>
#include <vector>

namespace harness::stap {

enum class AnchorState {
  ok,            // probeable, every field's variable visible
  degraded,      // probeable, some fields will print `?` (variables optimised out)
  not_probeable, // no line-table entry at that line in the function (nearest_line says where)
  no_function,   // the function has no probeable code at all in this kernel
  absent,        // the map says this kernel version has no such statement
  bound,         // a function start/end line: reported, never probed
};
std::string_view to_string(AnchorState s);

struct AnchorCheck {
  std::string anchor;
  std::string function; // name in this kernel
  int line = 0;
  AnchorState state = AnchorState::ok;
  int nearest_line = 0;                    // not_probeable: closest probeable line (0: none)
  std::vector<std::string> visible;        // variables visible at the line
  std::vector<std::string> reads;          // variables its probe reads (from its fields)
  std::vector<std::string> missing_fields; // trace keys whose variable is not visible
  bool in_set = false;                     // part of the probe set being checked
  // Unusable: in the set, present in the map, but cannot be probed.
  bool unusable() const {
    return in_set && (state == AnchorState::not_probeable || state == AnchorState::no_function);
  }
};

struct VerifyResult {
  std::string map_identity;
  probes::ProbeSet set = probes::ProbeSet::all;
  std::vector<AnchorCheck> rows;
  int unusable() const;
  std::vector<std::string> unusable_anchors() const;
};

// Pure. `statements`: the listing of kernel.statement("*@net/packet/af_packet.c:*");
// `functions`: the listing of kernel.function("*@net/packet/af_packet.c").
VerifyResult check_anchors(const probes::LineMap& map, probes::ProbeSet set,
                           std::span<const ListedProbe> statements,
                           std::span<const ListedProbe> functions);

// Runs the two `stap -r BUILD -L` listings (about 1 s each) with SYSTEMTAP_DIR=<cache>/stap.
// The listings depend only on the kernel build: with a build id they are kept in
// <cache>/listings/<build id>.{statements,functions}.txt and reused.
struct DwarfListings {
  std::vector<ListedProbe> statements;
  std::vector<ListedProbe> functions;
  bool from_cache = false;
};
Result<DwarfListings> list_af_packet_probes(const std::string& kernel_build,
                                            const std::string& cache_dir,
                                            const std::string& build_id = {});

// The table `harness verify` prints.
std::string format_verify_table(const VerifyResult& r);

} // namespace harness::stap
