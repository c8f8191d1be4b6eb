// harness verify --kernel-build DIR [--probes SET] [--kernel VER | --map FILE] [--json]
#include "base/files.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/options.hpp"
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
  opts.add_options()("help,h",
                     "show this help")("kernel-build", po::value<std::string>()->required(),
                                       "the kernel build tree (O= directory) whose DWARF to check")(
      "probes", po::value<std::string>()->default_value("all"),
      "the anchors that must be probeable: status, call-return or all")(
      "kernel", po::value<std::string>(), "check the shipped map of this release instead")(
      "map", po::value<std::string>(),
      "check this line map file")("json", "print the result as JSON (harness.verify/1)")(
      "cache", po::value<std::string>()->default_value(""),
      "cache directory (stap's cache goes to its stap/ subdirectory)");
  auto parsed = parse_options(args, "verify", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    std::cout << "\n"
              << kTreeMapText
              << "\nExit status: 0 every anchor of the set can be probed; 1 some cannot (the "
                 "table names the nearest probeable line).\n";
    return 0;
  }
  const auto& vm = parsed->vm;
  if (vm.count("map") && vm.count("kernel"))
    return fail(Exit::usage, "verify", "--map and --kernel exclude each other");
  auto set = probes::parse_probe_set(vm["probes"].as<std::string>());
  if (!set)
    return std::unexpected(set.error());
  auto tree = kernel::inspect_kernel_tree(vm["kernel-build"].as<std::string>());
  if (!tree)
    return std::unexpected(tree.error());
  std::optional<probes::LineMap> given;
  if (vm.count("map")) {
    auto m = load_input(probes::load_line_map, "--map", vm["map"].as<std::string>(),
                        probes::kLineMapHint);
    if (!m)
      return std::unexpected(m.error());
    given = std::move(*m);
  }
  auto chosen = kernel::map_for_tree(
      *tree, vm.count("kernel") ? vm["kernel"].as<std::string>() : std::string(), given);
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
