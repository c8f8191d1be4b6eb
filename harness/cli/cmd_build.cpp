// harness build --kernel-build DIR [--probes SET] [--kernel VER | --map FILE | --script FILE]
//               [-m NAME] [-o DIR] [--cache DIR] [--no-cache]
#include "base/files.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/options.hpp"
#include "kernel/cache_dir.hpp"
#include "kprobe/kprobe_for_tree.hpp"
#include "stap/module_build.hpp"
#include "vm/vm_session.hpp"

#include <cstdio>
#include <iostream>

namespace harness::cli {
namespace {

// --backend kprobe: NAME.kprobes and NAME.plan.json for the tree (kprobe/perf_probe.hpp).
Result<int> build_kprobe_defs(const po::variables_map& vm,
                              const std::function<void(std::string_view)>& progress) {
  kprobe::KprobeTreeRequest req;
  req.kernel_build = vm["kernel-build"].as<std::string>();
  auto set = probes::parse_probe_set(vm["probes"].as<std::string>());
  if (!set)
    return std::unexpected(set.error());
  req.probes = *set;
  if (vm.count("map")) {
    auto m = load_input(probes::load_line_map, "--map", vm["map"].as<std::string>(),
                        probes::kLineMapHint);
    if (!m)
      return std::unexpected(m.error());
    req.map_override = std::move(*m);
  }
  if (vm.count("kernel"))
    req.kernel_spec = vm["kernel"].as<std::string>();
  req.name = vm["name"].as<std::string>();
  if (!stap::valid_module_name(req.name))
    return fail(Exit::usage, "--name " + req.name.substr(0, 64), "not a valid name",
                "use letters, digits and _ (at most 55), starting with a letter or _");
  req.out_dir = vm["output"].as<std::string>();
  req.cache_dir = kernel::resolve_cache_dir(vm["cache"].as<std::string>());
  req.use_cache = !vm.count("no-cache");
  req.on_progress = progress;
  auto res = kprobe::kprobe_defs_for_tree(req);
  if (!res)
    return std::unexpected(res.error());
  if (!res->map_note.empty())
    progress("note: " + res->map_note);
  std::cout << res->built.defs_path << "\n" << res->built.plan_path << "\n";
  progress(req.name + ".kprobes for " + res->tree.release + " (build id " +
           res->tree.build_id.substr(0, 12) +
           "): " + std::to_string(res->built.defs.events.size()) + " event(s), " +
           (res->built.cache_hit ? "from the cache" : "made with perf probe"));
  return 0;
}

} // namespace

Result<int> cmd_build(const Args& args) {
  const std::string usage =
      "build --kernel-build DIR [--backend auto|stap|kprobe] [--probes SET] [--kernel VER | --map "
      "FILE | --script FILE [--plan FILE]] [-m NAME] [-o DIR] [--cache DIR] [--no-cache]";
  po::options_description opts("options");
  opts.add_options()("help,h", "show this help")(
      "kernel-build", po::value<std::string>()->required(),
      "the kernel build tree (O= directory) to build for; needs vmlinux with DWARF")(
      "backend", po::value<std::string>()->default_value("auto"),
      "tracer: stap (NAME.ko), kprobe (NAME.kprobes: kprobe_events definitions from perf "
      "probe -D), or auto (stap where the installed SystemTap supports the kernel, else kprobe)")(
      "probes", po::value<std::string>()->default_value("status"),
      "probe set to generate: status, call-return or all")(
      "kernel", po::value<std::string>(),
      "use the shipped map for this release instead of the tree's own (3.13, 6.1, ...)")(
      "map", po::value<std::string>(), "use this line map file (harness.map/1)")(
      "script", po::value<std::string>(), "build this SystemTap script instead of generating")(
      "plan", po::value<std::string>(), "with --script: its plan (copied to NAME.plan.json)")(
      "name,m", po::value<std::string>()->default_value(std::string(stap::default_module_name)),
      "module name; the file stays NAME.ko (staprun loads it by that name)")(
      "output,o", po::value<std::string>()->default_value("."),
      "directory for NAME.ko (or NAME.kprobes), NAME.plan.json, NAME.stp and NAME.stap.log")(
      "cache", po::value<std::string>()->default_value(""),
      "cache directory (default $HARNESS_CACHE or /var/cache/harness)")(
      "no-cache",
      "always run stap, do not reuse or store a cached module")("quiet,q", "no progress on stderr");
  auto parsed = parse_options(args, "build", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    std::cout << "\n" << kTreeMapText;
    return 0;
  }
  const auto& vm = parsed->vm;
  if (vm.count("script") + vm.count("map") + vm.count("kernel") > 1)
    return fail(Exit::usage, "build", "--script, --map and --kernel exclude each other",
                "see `harness build --help`");
  if (vm.count("plan") && !vm.count("script"))
    return fail(Exit::usage, "--plan", "only goes with --script");
  const bool quiet = vm.count("quiet") > 0;
  auto progress = [quiet](std::string_view line) {
    if (!quiet)
      std::cerr << "harness: " << line << "\n";
  };

  auto backend = tracer::parse_backend(vm["backend"].as<std::string>());
  if (!backend)
    return std::unexpected(backend.error());
  if (*backend == tracer::Backend::kprobe && vm.count("script"))
    return fail(Exit::usage, "--script",
                "is a SystemTap script; the kprobe tracer builds from a map",
                "drop --script, or use --backend stap");
  if (*backend != tracer::Backend::stap && !vm.count("script")) {
    auto tree = kernel::inspect_kernel_tree(vm["kernel-build"].as<std::string>());
    if (!tree)
      return std::unexpected(tree.error());
    auto choice = vm::tracer_for_tree(tree->release, *backend);
    if (!choice)
      return std::unexpected(choice.error());
    progress("tracer " + choice->reason);
    if (choice->backend == tracer::Backend::kprobe)
      return build_kprobe_defs(vm, progress);
  }

  stap::ModuleBuildRequest req;
  req.kernel_build = vm["kernel-build"].as<std::string>();
  req.module_name = vm["name"].as<std::string>();
  req.out_dir = vm["output"].as<std::string>();
  req.cache_dir = kernel::resolve_cache_dir(vm["cache"].as<std::string>());
  req.use_cache = !vm.count("no-cache");
  req.on_progress = progress;

  if (vm.count("script")) {
    auto text = read_input("--script", vm["script"].as<std::string>(),
                           "give a SystemTap script, e.g. one `harness generate -o FILE` wrote");
    if (!text)
      return std::unexpected(text.error());
    req.script_text = std::move(*text);
    if (vm.count("plan")) {
      auto plan =
          load_input(probes::load_plan, "--plan", vm["plan"].as<std::string>(), probes::kPlanHint);
      if (!plan)
        return std::unexpected(plan.error());
      req.plan = std::move(*plan);
    }
  } else {
    auto set = probes::parse_probe_set(vm["probes"].as<std::string>());
    if (!set)
      return std::unexpected(set.error());
    auto tree = kernel::inspect_kernel_tree(req.kernel_build);
    if (!tree)
      return std::unexpected(tree.error());
    std::optional<probes::LineMap> map;
    if (vm.count("map")) {
      auto m = load_input(probes::load_line_map, "--map", vm["map"].as<std::string>(),
                          probes::kLineMapHint);
      if (!m)
        return std::unexpected(m.error());
      map = std::move(*m);
    }
    auto gen = stap::generate_for_tree(
        *tree, *set, map, vm.count("kernel") ? vm["kernel"].as<std::string>() : "", req.cache_dir);
    if (!gen)
      return std::unexpected(gen.error());
    if (!gen->map_provenance.empty())
      progress("af_packet.c: " + gen->map_provenance);
    if (!gen->map_note.empty())
      progress("note: " + gen->map_note);
    if (!gen->dropped.empty()) {
      std::string list;
      for (const auto& a : gen->dropped)
        list += " " + a;
      progress("dropped " + std::to_string(gen->dropped.size()) +
               " probe(s) whose line has no line-table entry in this build:" + list +
               " (see `harness verify`); the report will mark their phases missing");
    }
    req.script_text = std::move(gen->script.text);
    req.plan = std::move(gen->script.plan);
  }

  auto res = stap::build_module(req);
  if (!res)
    return std::unexpected(res.error());
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f s", static_cast<double>(res->elapsed_ms) / 1000.0);
  std::cout << res->module_path << "\n";
  if (!res->plan_path.empty())
    std::cout << res->plan_path << "\n";
  progress(req.module_name + ".ko for " + res->tree.release + " (build id " +
           res->tree.build_id.substr(0, 12) +
           "): " + (res->cache_hit ? "from the cache" : "built") + " in " + secs +
           (res->tree.af_packet_O0 ? "; af_packet.c at -O0, built with -P" : ""));
  return 0;
}

} // namespace harness::cli
