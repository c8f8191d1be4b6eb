// harness generate (--kernel VER | --source PATH | --build-id ID) [--probes status|call-return|all]
// [-o FILE]
#include "base/files.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/exit_help.hpp"
#include "harness/cli/options.hpp"
#include "harness/cli/source_input.hpp"
#include "kernel/build_id.hpp"
#include "kernel/cache_dir.hpp"
#include "kernel/kernel_source.hpp"
#include "kernel/line_map_select.hpp"
#include "probes/locator.hpp"
#include "probes/map_store.hpp"
#include "probes/source_release.hpp"
#include "stap/generate.hpp"

#include <iostream>
#include <unistd.h>

namespace harness::cli {
namespace {

struct BuildIdMap {
  probes::MapEntry entry;
  std::optional<std::string> source_text;
};

// The exact map of the kernel with this build id (kernel/kernel_source.hpp); says where its
// lines come from on stderr.
Result<BuildIdMap> map_by_build_id(const std::string& text, const std::string& release) {
  auto id = kernel::parse_build_id(text);
  if (!id)
    return std::unexpected(id.error());
  auto exact = kernel::exact_map_by_build_id(*id, release, kernel::resolve_cache_dir(""));
  if (!exact)
    return std::unexpected(exact.error());
  auto& sel = exact->selection;
  std::cerr << "harness: af_packet.c of build id " << *id << ": " << sel.provenance << "\n";
  if (!sel.note.empty())
    std::cerr << "harness: note: " << sel.note << "\n";
  BuildIdMap out{std::move(sel.entry), std::nullopt};
  if (exact->source)
    out.source_text = std::move(exact->source->source.text);
  return out;
}

} // namespace

namespace {

// "6.1" names 6.1.192 and 6.1.0-28-amd64; "6.1.192" names itself.
bool release_matches(const std::string& release, const std::string& spec) {
  return release == spec || release.starts_with(spec + ".") || release.starts_with(spec + "-");
}

void add_generate_options(po::options_description& opts) {
  opts.add_options()("help,h", "show this help")(
      "kernel", po::value<std::string>(),
      "use the shipped line map for this kernel: 3.13, 5.x, 6.1, a full release, or auto "
      "(uname -r); with --source: the source's release")(
      "source", po::value<std::string>(),
      "locate the anchors in this af_packet.c instead (its lines are quoted above the probes)")(
      "build-id", po::value<std::string>(),
      "the kernel with this build id (another machine's): its own af_packet.c from the harness "
      "cache or DEBUGINFOD_URLS; with --kernel: its release")(
      "allow-nearest",
      "with --kernel and no shipped map of that kernel: write the nearest map's probes anyway "
      "(their lines are not proven for it)")("probes",
                                             po::value<std::string>()->default_value("status"),
                                             "probe set: status, call-return or all")(
      "output,o", po::value<std::string>(),
      "write the script here and its plan to FILE.plan.json (default: script to stdout)");
}

// The lines the script is made for and, when known, the af_packet.c they are in (quoted above
// the probes).
struct ScriptInput {
  probes::LineMap map;
  std::optional<std::string> source_text;
};

// --source: the anchors located in this af_packet.c, labelled with --kernel or its tree's release.
Result<ScriptInput> input_from_source(const std::string& source, const std::string& kernel) {
  auto in = read_source_input(source, kernel);
  if (!in)
    return std::unexpected(in.error());
  // --kernel names the script's kernel; a source whose own tree says otherwise is refused.
  auto tree = probes::release_for_source(source, "");
  if (tree && !kernel.empty() && !release_matches(*tree, kernel))
    return fail(Exit::usage, source,
                "is the af_packet.c of kernel " + *tree + ", not of --kernel " + kernel,
                "drop --kernel (the source's tree names its release) or give that kernel's "
                "af_packet.c");
  if (!tree)
    std::cerr << "harness: note: no kernel tree around " << source
              << " says its release; the script is labelled " << in->release
              << " as --kernel says\n";
  auto located = locate_source(*in);
  if (!located)
    return std::unexpected(located.error());
  return ScriptInput{std::move(*located), std::move(in->text)};
}

// --kernel alone: its shipped map; the nearest one only with --allow-nearest.
Result<ScriptInput> input_from_kernel(const std::string& kernel, bool allow_nearest) {
  auto sel = harness::kernel::select_line_map({.kernel_spec = kernel, .running_kernel = true});
  if (!sel)
    return std::unexpected(sel.error());
  if (!sel->exact && !allow_nearest)
    return fail(Exit::no_map, "--kernel " + kernel,
                "no shipped map is that kernel's; the nearest, " + sel->entry.map.release +
                    ", is refused: its line numbers may not match " + kernel,
                "give that kernel's own af_packet.c: --source PATH, or --build-id ID with "
                "DEBUGINFOD_URLS set; --allow-nearest writes the nearest map's probes anyway "
                "(lines not proven)");
  if (!sel->exact)
    std::cerr << "harness: note: lines not proven: " << sel->note << "\n";
  return ScriptInput{std::move(sel->entry.map), std::nullopt};
}

Result<ScriptInput> script_input(const po::variables_map& vm, const std::string& kernel) {
  if (vm.count("source"))
    return input_from_source(vm["source"].as<std::string>(), kernel);
  if (vm.count("build-id")) {
    auto sel = map_by_build_id(vm["build-id"].as<std::string>(), kernel);
    if (!sel)
      return std::unexpected(sel.error());
    return ScriptInput{std::move(sel->entry.map), std::move(sel->source_text)};
  }
  if (!kernel.empty())
    return input_from_kernel(kernel, vm.count("allow-nearest") > 0);
  return fail(Exit::usage, "generate", "needs --kernel VER, --source PATH or --build-id ID",
              "e.g. `harness generate --kernel 6.1 -o tx.stp`");
}

// -o FILE: the script and its plan (FILE.plan.json), both or neither.
Result<int> write_script(const po::variables_map& vm, const stap::GeneratedScript& script,
                         probes::ProbeSet set) {
  const std::string out = vm["output"].as<std::string>();
  const std::string plan_path = probes::script_plan_path(out);
  // Both outputs are checked before either is written: no script without its plan.
  for (const auto& [path, what] : {std::pair{out, "-o"}, std::pair{plan_path, "plan"}}) {
    if (auto s = check_output_path(path, what); !s)
      return std::unexpected(s.error());
    if (auto s = check_output_not_input(path, what,
                                        {vm.count("source") ? vm["source"].as<std::string>() : ""});
        !s)
      return std::unexpected(s.error());
  }
  if (auto s = write_file_atomic(out, script.text); !s)
    return std::unexpected(s.error());
  if (auto s = probes::save_plan(plan_path, script.plan); !s) {
    ::unlink(out.c_str()); // a script without its plan cannot be reported on
    return std::unexpected(s.error());
  }
  std::cerr << "harness: " << script.plan.anchors.size() << " probes (" << probes::to_string(set)
            << ") for " << script.plan.map << " written to " << out << "; plan in " << plan_path
            << "\n";
  return 0;
}

} // namespace

Result<int> cmd_generate(const Args& args) {
  const std::string usage =
      "generate (--kernel VER | --source PATH | --build-id ID) [--probes status|call-return|all] "
      "[-o FILE]";
  po::options_description opts("options");
  add_generate_options(opts);
  auto parsed = parse_options(args, "generate", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    std::cout << exit_help({{Exit::ok, "the script was written"},
                            {Exit::usage},
                            {Exit::no_map, "no line map proven for that kernel or build id"},
                            {Exit::io}});
    return 0;
  }
  const auto& vm = parsed->vm;
  auto set = probes::parse_probe_set(vm["probes"].as<std::string>());
  if (!set)
    return std::unexpected(set.error());
  const std::string kernel = vm.count("kernel") ? vm["kernel"].as<std::string>() : "";
  auto input = script_input(vm, kernel);
  if (!input)
    return std::unexpected(input.error());
  auto script = stap::generate_script(input->map, *set, input->source_text);
  if (!script)
    return std::unexpected(script.error());
  if (!vm.count("output")) {
    std::cout << script->text;
    std::cerr << "harness: plan not written (script on stdout); use -o FILE to get "
                 "FILE.plan.json too\n";
    return 0;
  }
  return write_script(vm, *script, *set);
}

} // namespace harness::cli
