// harness verify --kernel-build DIR [--probes SET] [--kernel VER | --map FILE] [--json]
#include "base/files.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/exit_help.hpp"
#include "harness/cli/options.hpp"
#include "harness/cli/tree_options.hpp"
#include "kernel/cache_dir.hpp"
#include "kernel/kernel_tree.hpp"
#include "kernel/tree_map.hpp"
#include "probes/map_store.hpp"
#include "stap/verify.hpp"

#include <iostream>
#include <nlohmann/json.hpp>

namespace harness::cli {
namespace {

std::string verify_json(const stap::VerifyResult& r, const kernel::KernelTree& tree) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : r.rows)
    rows.push_back({{"anchor", row.anchor},
                    {"function", row.function},
                    {"line", row.line},
                    {"state", std::string(stap::to_string(row.state))},
                    {"nearest_line", row.nearest_line},
                    {"visible", row.visible},
                    {"missing_fields", row.missing_fields},
                    {"in_set", row.in_set},
                    {"usable", !row.unusable()}});
  nlohmann::json j{{"schema", "harness.verify/1"},
                   {"kernel_build", tree.build_dir},
                   {"release", tree.release},
                   {"build_id", tree.build_id},
                   {"af_packet_O0", tree.af_packet_O0},
                   {"map", r.map_identity},
                   {"probes", std::string(probes::to_string(r.set))},
                   {"anchors", rows},
                   {"unusable", r.unusable()}};
  return j.dump(2) + "\n";
}

} // namespace

Result<int> cmd_verify(const Args& args) {
  const std::string usage =
      "verify --kernel-build DIR [--probes SET] [--kernel VER | --map FILE] [--json]";
  po::options_description opts("options");
  opts.add_options()("help,h", "show this help");
  add_tree_map_options(opts, "whose DWARF to check");
  opts.add_options()("probes", po::value<std::string>()->default_value("all"),
                     "the anchors that must be probeable: status, call-return or all")(
      "json", "print the result as JSON (harness.verify/1)")(
      "cache", po::value<std::string>()->default_value(""),
      "cache directory (stap's cache goes to its stap/ subdirectory)");
  auto parsed = parse_options(args, "verify", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    std::cout << "\n"
              << kTreeMapText
              << exit_help({{Exit::ok, "every anchor of the set can be probed"},
                            {Exit::anomaly, "some cannot (the table names the nearest probeable "
                                            "line)"},
                            {Exit::usage},
                            {Exit::no_debuginfo},
                            {Exit::tool_missing}});
    return 0;
  }
  const auto& vm = parsed->vm;
  auto where = tree_map_options(vm);
  if (!where)
    return std::unexpected(where.error());
  auto set = probes::parse_probe_set(vm["probes"].as<std::string>());
  if (!set)
    return std::unexpected(set.error());
  auto tree = kernel::inspect_kernel_tree(where->kernel_build);
  if (!tree)
    return std::unexpected(tree.error());
  auto chosen = kernel::map_for_tree(*tree, where->kernel_spec, where->map);
  if (!chosen)
    return std::unexpected(chosen.error());
  const probes::LineMap& map = chosen->map;
  const std::string& note = chosen->note;
  const std::string cache = kernel::resolve_cache_dir(vm["cache"].as<std::string>());
  auto listings = stap::list_af_packet_probes(tree->build_dir, cache, tree->build_id);
  if (!listings)
    return std::unexpected(listings.error());
  const auto result = stap::check_anchors(map, *set, listings->statements, listings->functions);
  if (vm.count("json")) {
    std::cout << verify_json(result, *tree);
  } else {
    if (!note.empty())
      std::cerr << "harness: note: " << note << "\n";
    std::cout << "kernel build: " << tree->build_dir << " (" << tree->release << ", af_packet.c "
              << (tree->af_packet_O0 ? "-O0" : "optimised") << ")\n"
              << stap::format_verify_table(result);
  }
  return result.unusable() ? 1 : 0;
}

} // namespace harness::cli
