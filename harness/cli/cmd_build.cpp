// harness build --kernel-build DIR [--probes SET] [--kernel VER | --map FILE | --script FILE]
//               [-m NAME] [-o DIR] [--cache DIR] [--no-cache]
#include "base/files.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/exit_help.hpp"
#include "harness/cli/options.hpp"
#include "harness/cli/tracer_options.hpp"
#include "harness/cli/tree_options.hpp"
#include "kernel/cache_dir.hpp"
#include "kernel/kernel_tree.hpp"
#include "probes/line_map.hpp"
#include "probes/probe_plan.hpp"
#include "tracer/tracer_choice.hpp"
#include "tracers/tracers.hpp"

#include <cstdio>
#include <iostream>

namespace harness::cli {
namespace {

// --map, --kernel or --script (with --plan): where the probes' lines come from.
Status read_sources(const po::variables_map& vm, tracer::TreeRequest& req) {
  auto where = tree_map_options(vm);
  if (!where)
    return std::unexpected(where.error());
  req.map = std::move(where->map);
  req.kernel_spec = where->kernel_spec;
  if (!vm.count("script"))
    return {};
  auto text = read_input("--script", vm["script"].as<std::string>(),
                         "give a SystemTap script, e.g. one `harness generate -o FILE` wrote");
  if (!text)
    return std::unexpected(text.error());
  req.script = std::move(*text);
  if (vm.count("plan")) {
    auto plan =
        load_input(probes::load_plan, "--plan", vm["plan"].as<std::string>(), probes::kPlanHint);
    if (!plan)
      return std::unexpected(plan.error());
    req.script_plan = std::move(*plan);
  }
  return {};
}

// The tracer: the one asked for; with --script under auto, the first that takes a script; else
// the first whose tools support the tree's kernel.
Result<const tracer::Tracer*> build_tracer(const tracer::Tracer* asked,
                                           const tracer::TreeRequest& req,
                                           const std::function<void(std::string_view)>& progress) {
  if (asked)
    return asked;
  if (req.script) {
    for (const auto* t : tracers::all())
      if (t->takes_script())
        return t;
    return fail(Exit::usage, "--script", "no tracer builds from a script");
  }
  auto tree = kernel::inspect_kernel_tree(req.kernel_build);
  if (!tree)
    return std::unexpected(tree.error());
  auto choice = tracers::choose_for_tree(tree->release, nullptr);
  if (!choice)
    return std::unexpected(choice.error());
  progress("tracer " + choice->reason);
  return choice->tracer;
}

void say_map(const tracer::TreeProbes& res, const std::function<void(std::string_view)>& progress) {
  if (!res.map_provenance.empty())
    progress("af_packet.c: " + res.map_provenance);
  if (!res.map_note.empty())
    progress("note: " + res.map_note);
  if (res.dropped.empty())
    return;
  std::string list;
  for (const auto& a : res.dropped)
    list += " " + a;
  progress("dropped " + std::to_string(res.dropped.size()) +
           " probe(s) whose line has no line-table entry in this build:" + list +
           " (see `harness verify`); the report marks their phases missing where no stand-in "
           "shows them");
}

// The options of `harness build`.
void add_build_options(po::options_description& opts) {
  opts.add_options()("help,h", "show this help");
  add_tree_map_options(opts, "to build for; needs vmlinux with DWARF");
  add_backend_option(opts, "stap (NAME.ko), kprobe (NAME.kprobes: kprobe_events definitions "
                           "from perf probe -D), or auto (stap where the installed SystemTap "
                           "supports the kernel, else kprobe)");
  opts.add_options()("probes", po::value<std::string>()->default_value("status"),
                     "probe set to generate: status, call-return or all")(
      "script", po::value<std::string>(), "build this SystemTap script instead of generating")(
      "plan", po::value<std::string>(), "with --script: its plan (copied to NAME.plan.json)")(
      "name,m", po::value<std::string>()->default_value("harness_probes"),
      "module name; the file stays NAME.ko (staprun loads it by that name)")(
      "output,o", po::value<std::string>()->default_value("."),
      "directory for NAME.ko (or NAME.kprobes), NAME.plan.json, NAME.stp and NAME.stap.log")(
      "cache", po::value<std::string>()->default_value(""),
      "cache directory (default $HARNESS_CACHE or /var/cache/harness)")(
      "no-cache",
      "always run stap, do not reuse or store a cached module")("quiet,q", "no progress on stderr");
}

// What --help says after the options: where the line map comes from, the exit statuses.
void print_build_help_tail() {
  std::cout << "\n"
            << kTreeMapText
            << exit_help({{Exit::ok, "the probes were built (or taken from the cache)"},
                          {Exit::usage},
                          {Exit::tool_missing},
                          {Exit::no_debuginfo, "no vmlinux with DWARF in the build tree"},
                          {Exit::no_map},
                          {Exit::tracer_failed, "the probes did not build"},
                          {Exit::unsupported, "the tracer cannot probe this kernel"},
                          {Exit::io},
                          {Exit::interrupted, "interrupted (nothing half-written is kept)"}});
}

} // namespace

Result<int> cmd_build(const Args& args) {
  const std::string usage =
      "build --kernel-build DIR [--backend auto|stap|kprobe] [--probes SET] [--kernel VER | --map "
      "FILE | --script FILE [--plan FILE]] [-m NAME] [-o DIR] [--cache DIR] [--no-cache]";
  po::options_description opts("options");
  add_build_options(opts);
  auto parsed = parse_options(args, "build", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    print_build_help_tail();
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

  tracer::TreeRequest req;
  req.kernel_build = vm["kernel-build"].as<std::string>();
  auto set = probes::parse_probe_set(vm["probes"].as<std::string>());
  if (!set)
    return std::unexpected(set.error());
  req.probes = *set;
  req.name = vm["name"].as<std::string>();
  if (!tracer::valid_artifact_name(req.name))
    return fail(Exit::usage, "--name " + req.name.substr(0, 64), "not a valid name",
                "use letters, digits and _ (at most 55), starting with a letter or _");
  req.out_dir = vm["output"].as<std::string>();
  req.cache_dir = kernel::resolve_cache_dir(vm["cache"].as<std::string>());
  req.use_cache = !vm.count("no-cache");
  req.on_progress = progress;
  auto asked = tracers::parse(vm["backend"].as<std::string>());
  if (!asked)
    return std::unexpected(asked.error());
  // Before any file is read: the tracer asked for cannot take a script at all.
  if (*asked && vm.count("script") && !(*asked)->takes_script())
    return fail(Exit::usage, "--script",
                "is a SystemTap script; the " + std::string((*asked)->name()) +
                    " tracer builds from a map",
                "drop --script, or use --backend stap");
  if (auto s = read_sources(vm, req); !s)
    return std::unexpected(s.error());
  auto tracer = build_tracer(*asked, req, progress);
  if (!tracer)
    return std::unexpected(tracer.error());
  auto res = (*tracer)->build_for_tree(req);
  if (!res)
    return std::unexpected(res.error());
  say_map(*res, progress);
  std::cout << res->artifact << "\n";
  if (!res->plan_path.empty())
    std::cout << res->plan_path << "\n";
  progress(res->summary);
  return 0;
}

} // namespace harness::cli
