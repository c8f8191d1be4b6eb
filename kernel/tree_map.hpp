#pragma once

// The line map for a kernel build tree, as `build` and `verify` use it: an explicit map, else
// the af_packet.c kernel/kernel_source.hpp's search finds (the tree's own file, then by the
// tree's build id: harness cache, Debian source package, debuginfod) located or matched by sha1
// (probes/source_map.hpp), else a shipped map listing the build id, else the shipped map of its
// release. A tree without a build id is searched in the tree only.

#include "base/result.hpp"
#include "kernel/kernel_tree.hpp"
#include "probes/line_map.hpp"

#include <optional>
#include <string>

namespace harness::kernel {

struct TreeMap {
  probes::LineMap map;
  std::string note;                  // empty when the map is exactly the tree's source
  std::optional<std::string> source; // the kernel's af_packet.c when it is the map's source
  std::string provenance;            // where that file came from (empty: no source)
};

// `kernel_spec` empty: the tree's release. `map_override` wins over both.
// `cache_dir` empty: resolve_cache_dir("").
Result<TreeMap> map_for_tree(const KernelTree& tree, const std::string& kernel_spec,
                             const std::optional<probes::LineMap>& map_override,
                             const std::string& cache_dir = "");

} // namespace harness::kernel
