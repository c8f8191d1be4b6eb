// harness drift --source PATH (--kernel VER | --map FILE) [--update] [--json]
#include "base/files.hpp"
#include "base/sha1.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/exit_help.hpp"
#include "harness/cli/options.hpp"
#include "kernel/line_map_select.hpp"
#include "probes/drift.hpp"
#include "probes/line_map.hpp"
#include "probes/locator.hpp"
#include "probes/map_store.hpp"
#include "probes/source_release.hpp"

#include <iostream>

namespace harness::cli {

namespace {

void add_drift_options(po::options_description& opts) {
  opts.add_options()("help,h", "show this help")("source", po::value<std::string>()->required(),
                                                 "af_packet.c to check")(
      "kernel", po::value<std::string>(),
      "compare with the shipped line map for this kernel (3.13, 5.x, 6.1, a release, auto)")(
      "map", po::value<std::string>(), "compare with this line map file")(
      "update", "rewrite the map entry with the located lines (exact entries only)")(
      "json", "print the table as JSON (harness.drift/1)");
}

void print_drift_exits() {
  std::cout << exit_help({{Exit::ok, "nothing moved"},
                          {Exit::anomaly, "drift found (also after --update)"},
                          {Exit::usage},
                          {Exit::io}});
}

// The map compared with: --map FILE, or the shipped map of --kernel (`exact`: that kernel's own,
// not the nearest one's).
struct OldMap {
  probes::LineMap map;
  std::string file;
  bool exact = true;
};

Result<OldMap> old_map_of(const po::variables_map& vm) {
  OldMap old;
  if (vm.count("map")) {
    old.file = vm["map"].as<std::string>();
    auto m = load_input(probes::load_line_map, "--map", old.file, probes::kLineMapHint);
    if (!m)
      return std::unexpected(m.error());
    old.map = std::move(*m);
    return old;
  }
  auto sel = kernel::select_line_map(
      {.kernel_spec = vm["kernel"].as<std::string>(), .running_kernel = true});
  if (!sel)
    return std::unexpected(sel.error());
  if (!sel->exact)
    std::cerr << "harness: note: " << sel->note << "\n";
  old.exact = sel->exact;
  old.file = sel->entry.file;
  old.map = std::move(sel->entry.map);
  return old;
}

// --update: the located lines written into the map, when they are of the map's own kernel.
Status update_map(const std::string& source, const OldMap& old, probes::LocateReport& located,
                  bool same_source, bool release_known, const std::string& new_release) {
  if (!located.ok())
    return fail(Exit::usage, source,
                std::to_string(located.problems.size()) +
                    " anchors could not be placed; not updating " + old.file,
                "fix the anchor rules or the source first (see the table above)");
  if (!old.exact)
    return fail(Exit::usage, old.file,
                "not updating the entry of another kernel (" + old.map.release + ")",
                "add an entry for this kernel instead: `harness map --source " + source +
                    " -o probes/maps/NAME.json`");
  // A map holds the lines of one kernel's af_packet.c: never write another kernel's into it.
  if (!same_source && new_release != old.map.release)
    return fail(Exit::usage, old.file,
                "is the map of " + old.map.release + "; the source is " +
                    (release_known ? "of kernel " + new_release
                                   : "of an unknown release (no kernel tree Makefile above "
                                     "it) with another sha1 (" +
                                         located.map.source_sha1.substr(0, 12) + ")") +
                    "; not writing its lines into this map",
                "make a map for that kernel: `harness map --source " + source +
                    " -o probes/maps/NAME.json`" +
                    (release_known ? std::string()
                                   : "; if it is " + old.map.release +
                                         ", give the af_packet.c inside its kernel tree"));
  located.map.note = old.map.note;
  if (auto s = probes::save_line_map(old.file, located.map); !s)
    return std::unexpected(s.error());
  std::cerr << "harness: updated " << old.file << "\n";
  return {};
}

Result<int> drift(const Args& args) {
  const std::string usage = "drift --source PATH (--kernel VER | --map FILE) [--update] [--json]";
  po::options_description opts("options");
  add_drift_options(opts);
  auto parsed = parse_options(args, "drift", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    print_drift_exits();
    return 0;
  }
  const auto& vm = parsed->vm;
  if (vm.count("kernel") == vm.count("map"))
    return fail(Exit::usage, "drift", "give exactly one of --kernel VER and --map FILE",
                "see `harness drift --help`");
  const std::string source = vm["source"].as<std::string>();
  auto text = read_input("--source", source, probes::kAfPacketSourceHint);
  if (!text)
    return std::unexpected(text.error());

  auto old = old_map_of(vm);
  if (!old)
    return std::unexpected(old.error());
  const probes::LineMap& old_map = old->map;

  // The source is labelled with its own release when its kernel tree says which; with the
  // map's only when it is the very file the map was made from (same sha1); else "unknown".
  auto release = probes::release_for_source(source, "");
  const bool release_known = release && !release->empty();
  const bool same_source = sha1_hex(*text) == old_map.source_sha1;
  const std::string new_release = release_known ? *release
                                  : same_source ? old_map.release
                                                : "unknown-release";
  auto located = probes::locate_all(*text, new_release);
  if (located.map.functions.empty())
    return fail(Exit::usage, source,
                "none of the anchored functions (__packet_set_status, __packet_get_status, "
                "tpacket_destruct_skb, tpacket_snd) is defined here: this is not "
                "net/packet/af_packet.c",
                std::string(probes::kAfPacketSourceHint));
  if (new_release == old_map.release)
    located.map.package = old_map.package;
  const auto report = probes::compare_maps(old_map, located);
  std::cout << (vm.count("json") ? probes::drift_to_json(report) : probes::drift_to_text(report));

  if (vm.count("update") && report.drifted())
    if (auto s = update_map(source, *old, located, same_source, release_known, new_release); !s)
      return std::unexpected(s.error());
  return report.drifted() ? 1 : 0;
}

} // namespace

// drift is made for scripts: 0 nothing moved, 1 drift, 2 any error (whatever its cause).
Result<int> cmd_drift(const Args& args) {
  auto r = drift(args);
  if (!r)
    r.error().code = Exit::usage;
  return r;
}

} // namespace harness::cli
