// harness generate (--kernel VER | --source PATH) [--probes status|call-return|all] [-o FILE]
#include "commands.hpp"
#include "files.hpp"
#include "generate.hpp"
#include "locator.hpp"
#include "map_store.hpp"
#include "options.hpp"
#include "source_release.hpp"

#include <iostream>
#include <unistd.h>

namespace harness::cli {

namespace {

// "6.1" names 6.1.192 and 6.1.0-28-amd64; "6.1.192" names itself.
bool release_matches(const std::string& release, const std::string& spec) {
  return release == spec || release.starts_with(spec + ".") || release.starts_with(spec + "-");
}

} // namespace

Result<int> cmd_generate(const Args& args) {
  const std::string usage =
      "generate (--kernel VER | --source PATH) [--probes status|call-return|all] [-o FILE]";
  po::options_description opts("options");
  opts.add_options()("help,h", "show this help")(
      "kernel", po::value<std::string>(),
      "use the shipped line map for this kernel: 3.13, 5.x, 6.1, a full release, or auto "
      "(uname -r); with --source: the source's release")(
      "source", po::value<std::string>(),
      "locate the anchors in this af_packet.c instead (its lines are quoted above the probes)")(
      "probes", po::value<std::string>()->default_value("status"),
      "probe set: status, call-return or all")(
      "output,o", po::value<std::string>(),
      "write the script here and its plan to FILE.plan.json (default: script to stdout)");
  auto parsed = parse_options(args, "generate", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help)
    return 0;
  const auto& vm = parsed->vm;
  auto set = stap::parse_probe_set(vm["probes"].as<std::string>());
  if (!set)
    return std::unexpected(set.error());
  const std::string kernel = vm.count("kernel") ? vm["kernel"].as<std::string>() : "";

  stap::LineMap map;
  std::optional<std::string> source_text;
  if (vm.count("source")) {
    const std::string source = vm["source"].as<std::string>();
    auto text = read_file(source);
    if (!text)
      return std::unexpected(text.error());
    auto release = stap::release_for_source(source, kernel);
    if (!release)
      return std::unexpected(release.error());
    // --kernel names the script's kernel; a source whose own tree says otherwise is refused.
    auto tree = stap::release_for_source(source, "");
    if (tree && !kernel.empty() && !release_matches(*tree, kernel))
      return fail(Exit::usage, source,
                  "is the af_packet.c of kernel " + *tree + ", not of --kernel " + kernel,
                  "drop --kernel (the source's tree names its release) or give that kernel's "
                  "af_packet.c");
    if (!tree)
      std::cerr << "harness: note: no kernel tree around " << source
                << " says its release; the script is labelled " << *release
                << " as --kernel says\n";
    auto located = stap::locate(*text, *release);
    if (!located) {
      auto e = located.error();
      e.what = source;
      return std::unexpected(e);
    }
    map = std::move(*located);
    source_text = std::move(*text);
  } else if (!kernel.empty()) {
    auto sel = stap::select_map(kernel);
    if (!sel)
      return std::unexpected(sel.error());
    if (!sel->exact)
      std::cerr << "harness: note: " << sel->note << "\n";
    map = std::move(sel->entry.map);
  } else {
    return fail(Exit::usage, "generate", "needs --kernel VER or --source PATH",
                "e.g. `harness generate --kernel 6.1 -o tx.stp`");
  }

  auto script = stap::generate_script(map, *set, source_text);
  if (!script)
    return std::unexpected(script.error());
  if (!vm.count("output")) {
    std::cout << script->text;
    std::cerr << "harness: plan not written (script on stdout); use -o FILE to get "
                 "FILE.plan.json too\n";
    return 0;
  }
  const std::string out = vm["output"].as<std::string>();
  const std::string plan_path = stap::plan_path_for(out);
  // Both outputs are checked before either is written: no script without its plan.
  for (const auto& [path, what] : {std::pair{out, "-o"}, std::pair{plan_path, "plan"}}) {
    if (auto s = check_output_path(path, what); !s)
      return std::unexpected(s.error());
    if (auto s = check_output_not_input(path, what,
                                        {vm.count("source") ? vm["source"].as<std::string>() : ""});
        !s)
      return std::unexpected(s.error());
  }
  if (auto s = write_file_atomic(out, script->text); !s)
    return std::unexpected(s.error());
  if (auto s = stap::save_plan(plan_path, script->plan); !s) {
    ::unlink(out.c_str()); // a script without its plan cannot be reported on
    return std::unexpected(s.error());
  }
  std::cerr << "harness: " << script->plan.anchors.size() << " probes (" << stap::to_string(*set)
            << ") for " << script->plan.map << " written to " << out << "; plan in " << plan_path
            << "\n";
  return 0;
}

} // namespace harness::cli
