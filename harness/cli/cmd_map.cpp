// harness map --source PATH [--kernel RELEASE] [--package TEXT] [-o FILE]
#include "commands.hpp"
#include "files.hpp"
#include "line_map.hpp"
#include "locator.hpp"
#include "options.hpp"
#include "source_release.hpp"

#include <iostream>

namespace harness::cli {

Result<int> cmd_map(const Args& args) {
  const std::string usage =
      "map --source PATH [--kernel RELEASE] [--package TEXT] [--note TEXT] [-o FILE]";
  po::options_description opts("options");
  opts.add_options()("help,h", "show this help")("source", po::value<std::string>()->required(),
                                                 "af_packet.c to map")(
      "kernel", po::value<std::string>(),
      "kernel release the source belongs to (default: read from the kernel tree's Makefile)")(
      "package", po::value<std::string>(),
      "where the source came from, recorded in the map (e.g. \"linux-source-6.1 6.1.192-2\")")(
      "note", po::value<std::string>(), "free text recorded in the map")(
      "output,o", po::value<std::string>(), "write the map here instead of stdout");
  auto parsed = parse_options(args, "map", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help)
    return 0;
  const auto& vm = parsed->vm;
  const std::string source = vm["source"].as<std::string>();
  if (vm.count("output")) {
    const std::string out = vm["output"].as<std::string>();
    if (auto s = check_output_path(out, "-o"); !s)
      return std::unexpected(s.error());
    if (auto s = check_output_not_input(out, "-o", {source}); !s)
      return std::unexpected(s.error());
  }
  auto text = read_file(source);
  if (!text)
    return std::unexpected(text.error());

  auto release = stap::release_for_source(
      source, vm.count("kernel") ? vm["kernel"].as<std::string>() : std::string());
  if (!release)
    return std::unexpected(release.error());
  auto map = stap::locate(*text, *release);
  if (!map) {
    auto e = map.error();
    e.what = source;
    return std::unexpected(e);
  }
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
  const std::string json = stap::line_map_to_json(*map);
  if (vm.count("output")) {
    const std::string out = vm["output"].as<std::string>();
    if (auto s = write_file_atomic(out, json); !s)
      return std::unexpected(s.error());
    std::cerr << "harness: map of " << stap::map_identity(*map) << " written to " << out << "\n";
  } else {
    std::cout << json;
  }
  return 0;
}

} // namespace harness::cli
