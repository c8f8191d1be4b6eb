// harness map (--source PATH | --build-id ID) [--kernel RELEASE] [--package TEXT] [-o FILE]
#include "base/files.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/exit_help.hpp"
#include "harness/cli/options.hpp"
#include "harness/cli/source_input.hpp"
#include "kernel/build_id.hpp"
#include "kernel/cache_dir.hpp"
#include "kernel/kernel_source.hpp"
#include "probes/line_map.hpp"
#include "probes/locator.hpp"
#include "probes/source_release.hpp"

#include <iostream>

namespace harness::cli {
namespace {

Result<probes::LineMap> map_of_source(const std::string& source, const std::string& kernel) {
  auto in = read_source_input(source, kernel);
  if (!in)
    return std::unexpected(in.error());
  return locate_source(*in);
}

// The kernel's own af_packet.c by build id (kernel/kernel_source.hpp), its anchors located
// (a shipped map of the same file gives the same lines).
Result<probes::LineMap> map_of_build_id(const std::string& text, const std::string& kernel) {
  auto id = kernel::parse_build_id(text);
  if (!id)
    return std::unexpected(id.error());
  auto exact = kernel::exact_map_by_build_id(*id, kernel, kernel::resolve_cache_dir(""));
  if (!exact)
    return std::unexpected(exact.error());
  std::cerr << "harness: af_packet.c of build id " << *id << ": " << exact->selection.provenance
            << "\n";
  if (!exact->source)
    return std::move(exact->selection.entry.map); // a shipped map listing this build id
  auto map = probes::locate(exact->source->source.text, exact->selection.entry.map.release);
  if (!map) {
    auto e = map.error();
    e.what = exact->source->source.path;
    return std::unexpected(e);
  }
  // The file came by this build id's own DWARF: the map is proven for that kernel.
  map->build_ids = {*id};
  map->package = "build id " + *id;
  return map;
}

} // namespace

Result<int> cmd_map(const Args& args) {
  const std::string usage = "map (--source PATH | --build-id ID) [--kernel RELEASE] [--package "
                            "TEXT] [--note TEXT] [-o FILE]";
  po::options_description opts("options");
  opts.add_options()("help,h", "show this help")("source", po::value<std::string>(),
                                                 "af_packet.c to map")(
      "build-id", po::value<std::string>(),
      "map the kernel with this build id (another machine's): its own af_packet.c from the "
      "harness cache or DEBUGINFOD_URLS")(
      "kernel", po::value<std::string>(),
      "kernel release the source belongs to (default: read from the kernel tree's Makefile)")(
      "package", po::value<std::string>(),
      "where the source came from, recorded in the map (e.g. \"linux-source-6.1 6.1.192-2\")")(
      "note", po::value<std::string>(), "free text recorded in the map")(
      "output,o", po::value<std::string>(), "write the map here instead of stdout");
  auto parsed = parse_options(args, "map", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    std::cout << exit_help({{Exit::ok, "the map was written"},
                            {Exit::usage},
                            {Exit::no_map, "the anchors could not be placed, or no af_packet.c "
                                           "for that build id"},
                            {Exit::io}});
    return 0;
  }
  const auto& vm = parsed->vm;
  const std::string kernel = vm.count("kernel") ? vm["kernel"].as<std::string>() : "";
  if (vm.count("source") == vm.count("build-id"))
    return fail(Exit::usage, "map", "needs exactly one of --source PATH and --build-id ID",
                "e.g. `harness map --source linux/net/packet/af_packet.c`");
  if (vm.count("output")) {
    const std::string out = vm["output"].as<std::string>();
    if (auto s = check_output_path(out, "-o"); !s)
      return std::unexpected(s.error());
    if (vm.count("source"))
      if (auto s = check_output_not_input(out, "-o", {vm["source"].as<std::string>()}); !s)
        return std::unexpected(s.error());
  }
  auto map = vm.count("source") ? map_of_source(vm["source"].as<std::string>(), kernel)
                                : map_of_build_id(vm["build-id"].as<std::string>(), kernel);
  if (!map)
    return std::unexpected(map.error());
  if (vm.count("package")) {
    map->package = vm["package"].as<std::string>();
    if (map->package.size() > 200 || map->package.find_first_of("\n\r\t") != std::string::npos)
      return fail(Exit::usage, "--package", "at most 200 printable characters");
  }
  if (vm.count("note")) {
    map->note = vm["note"].as<std::string>();
    if (map->note.size() > 2000 || map->note.find_first_of("\n\r\t") != std::string::npos)
      return fail(Exit::usage, "--note", "at most 2000 printable characters on one line");
  }
  std::string absent;
  for (const auto& a : map->anchors)
    if (!a.present())
      absent += " " + a.name;
  if (!absent.empty())
    std::cerr << "harness: not in this source (absent, line 0):" << absent << "\n";
  const std::string json = probes::line_map_to_json(*map);
  if (vm.count("output")) {
    const std::string out = vm["output"].as<std::string>();
    if (auto s = write_file_atomic(out, json); !s)
      return std::unexpected(s.error());
    std::cerr << "harness: map of " << probes::map_identity(*map) << " written to " << out << "\n";
  } else {
    std::cout << json;
  }
  return 0;
}

} // namespace harness::cli
