#include "harness/cli/tree_options.hpp"

#include "base/files.hpp"
#include "probes/map_store.hpp"

namespace harness::cli {

void add_tree_map_options(po::options_description& opts, const std::string& tree_help) {
  opts.add_options()("kernel-build", po::value<std::string>()->required(),
                     ("the kernel build tree (O= directory) " + tree_help).c_str())(
      "kernel", po::value<std::string>(),
      "use the shipped map of this release instead of the tree's own (3.13, 6.1, ...)")(
      "map", po::value<std::string>(), "use this line map file (harness.map/1)");
}

Result<TreeMapOptions> tree_map_options(const po::variables_map& vm) {
  if (vm.count("map") && vm.count("kernel"))
    return fail(Exit::usage, "--map and --kernel", "exclude each other",
                "give the map file, or the release whose shipped map to use");
  TreeMapOptions out;
  out.kernel_build = vm["kernel-build"].as<std::string>();
  if (vm.count("kernel"))
    out.kernel_spec = vm["kernel"].as<std::string>();
  if (vm.count("map")) {
    auto m = load_input(probes::load_line_map, "--map", vm["map"].as<std::string>(),
                        probes::kLineMapHint);
    if (!m)
      return std::unexpected(m.error());
    out.map = std::move(*m);
  }
  return out;
}

} // namespace harness::cli
