#pragma once

// The options that name a kernel build tree and the line map for it, shared by `build` and
// `verify`: --kernel-build DIR, --kernel VER (that release's shipped map), --map FILE (how the
// map is then chosen: kTreeMapText, kernel/tree_map.hpp).

#include "harness/cli/options.hpp"
#include "probes/line_map.hpp"

#include <optional>
#include <string>

namespace harness::cli {

// `tree_help`: what the tree is for ("to build for; needs vmlinux with DWARF").
void add_tree_map_options(po::options_description& opts, const std::string& tree_help);

struct TreeMapOptions {
  std::string kernel_build;
  std::string kernel_spec;            // --kernel; empty: the tree's own map
  std::optional<probes::LineMap> map; // --map, loaded and checked
};

// --map and --kernel exclude each other; a --map file that does not load is bad input.
Result<TreeMapOptions> tree_map_options(const po::variables_map& vm);

} // namespace harness::cli
