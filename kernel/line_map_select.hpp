#pragma once

// The one entry point for "the line map for this kernel" from the shipped maps: what the caller
// knows about the kernel (its --kernel SPEC, its release, its own af_packet.c when found) ->
// the selection. `generate`/`drift --kernel`, pre-flight (its default MapSelector) and
// map_for_tree (`build`, `verify`, `kprobe`) use it; the steps it runs are
// probes::select_map_for_source and, without a source, probes::select_map. Finding the
// kernel's af_packet.c is kernel/kernel_source.hpp's search; an explicit --map FILE stays with
// the caller (it is loaded with the caller's wording, nothing is selected).

#include "base/result.hpp"
#include "probes/map_store.hpp"
#include "probes/source_map.hpp"

#include <string>

namespace harness::kernel {

struct MapQuery {
  std::string kernel_spec; // --kernel SPEC: "auto", a release or a prefix; empty: "auto"
  std::string release;     // the target kernel's release
  const probes::KernelSource* source = nullptr; // the kernel's own af_packet.c, when found
  // `generate --kernel SPEC` and `drift --kernel SPEC`: no target but the spec, "auto" being
  // the running kernel (uname); `release` and `source` are not used.
  bool running_kernel = false;
};

// Loads the shipped maps and selects (probes/source_map.hpp): errors are theirs, unchanged.
Result<probes::MapSelection> select_line_map(const MapQuery& q);

} // namespace harness::kernel
