// harness doctor: what `run` would check, printed without running anything.
#include "base/scratch_net.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/exit_help.hpp"
#include "harness/cli/options.hpp"
#include "harness/cli/tracer_options.hpp"
#include "harness/session/preflight.hpp"
#include "probes/map_store.hpp"
#include "probes/probe_plan.hpp"
#include "tracers/tracers.hpp"

#include <cstdlib>
#include <iostream>

namespace harness::cli {

namespace {

// The options, with `req` holding their values; the programs default as `run`'s do.
void add_doctor_options(po::options_description& opts, session::PreflightRequest& req) {
  // The same programs as `run` (its --stap, $HARNESS_STAP, ...), or doctor checks others.
  for (auto [env, field] : {std::pair{"HARNESS_STAP", &req.tools.stap},
                            std::pair{"HARNESS_STAPRUN", &req.tools.staprun},
                            std::pair{"HARNESS_PERF", &req.tools.perf}})
    if (const char* v = std::getenv(env); v && *v)
      *field = v;
  opts.add_options()("help,h", "show this help")(
      "kernel", po::value(&req.kernel_spec)->default_value("auto"),
      "the kernel probed (auto: uname -r); its own af_packet.c is looked for by build id")(
      "allow-nearest", po::bool_switch(&req.allow_nearest),
      "check the nearest shipped map against the kernel's DWARF when no exact source exists")(
      "build-dir,r", po::value(&req.build_dir), "check for a cross-build against this tree")(
      "plan", po::value(&req.plan), "the prebuilt probes' plan (default NAME.plan.json)")(
      "stap", po::value(&req.tools.stap), "stap program (default $HARNESS_STAP or stap)")(
      "staprun", po::value(&req.tools.staprun),
      "staprun program (default $HARNESS_STAPRUN or staprun)")(
      "perf", po::value(&req.tools.perf),
      "perf program for kprobe definitions (default $HARNESS_PERF or perf)")(
      "veth", po::bool_switch(&req.veth), "the run would use a throwaway veth pair")(
      "iface", po::value(&req.iface), "interface the run would send on (positional)");
  add_backend_option(opts, "the one to check: stap, kprobe, or auto (the one `run` would pick, "
                           "then the others)");
  add_prebuilt_options(opts);
}

void print_doctor_exits() {
  std::cout << exit_help({{Exit::not_root},
                          {Exit::interface},
                          {Exit::tool_missing},
                          {Exit::no_debuginfo},
                          {Exit::lockdown},
                          {Exit::no_map},
                          {Exit::unsupported}},
                         "0 all checks pass, else the exit status `harness run` would have for "
                         "the first failing check: ");
}

// The tracer, the kernel and the interface asked for, checked as `run` checks them.
Status complete_request(const po::variables_map& vm, session::PreflightRequest& req) {
  auto pick = tracer_pick(vm);
  if (!pick)
    return std::unexpected(pick.error());
  req.backend = pick->backend;
  req.artifact = pick->artifact;
  if (!req.artifact.empty() && req.plan.empty())
    req.plan = probes::artifact_plan_path(req.artifact);
  if (auto s = probes::check_kernel_spec(req.kernel_spec); !s)
    return std::unexpected(s.error());
  if (req.veth && !req.iface.empty())
    return fail(Exit::usage, "--veth",
                "checks a run on its own throwaway veth pair, so it takes no interface '" +
                    req.iface + "'",
                "drop the interface, or drop --veth");
  if (req.iface.empty() && !req.veth)
    req.veth = true; // the interface check then describes the default --veth setup
  return {};
}

// Leftovers of killed runs: namespaces whose owner's lock is free. Live runs' stay.
void remove_stale_namespaces() {
  if (auto removed = remove_stale_scratch_nets(); !removed)
    std::cout << "harness doctor: stale scratch namespaces: " << format_error(removed.error())
              << "\n";
  else
    for (const auto& name : *removed)
      std::cout << "harness doctor: removed network namespace " << name
                << " (and its veth pair) left by a killed run\n";
}

// The checks `run` would make, printed; with auto, those of the other tracers too.
session::PreflightResult print_checks(const session::PreflightRequest& req) {
  session::RealSystem sys;
  auto result = session::run_preflight(sys, req, session::shipped_map_selector());
  std::cout << "harness doctor: what `harness run` needs on this machine\n"
            << session::format_checks(result);
  // With auto, the tracers `run` would not pick are shown too: their checks say what they need.
  if (!req.backend && req.artifact.empty() && result.tracer)
    for (const auto* t : tracers::all()) {
      if (t == result.tracer->tracer)
        continue;
      session::PreflightRequest other = req;
      other.backend = t;
      const auto alt = session::run_preflight(sys, other, session::shipped_map_selector());
      std::cout << "another tracer (--backend " << t->name() << "):\n"
                << session::format_checks(alt);
    }
  return result;
}

// What a killed run left behind (kprobe events, tracefs instances) is removed here.
void remove_tracer_leftovers() {
  for (const auto* t : tracers::all())
    t->remove_leftovers([](std::string_view l) { std::cout << "cleanup: " << l << "\n"; });
}

} // namespace

Result<int> cmd_doctor(const Args& args) {
  const std::string usage =
      "doctor [--kernel SPEC] [--backend auto|stap|kprobe] [-r DIR | --module "
      "FILE.ko | --kprobes FILE.kprobes] [IFACE | --veth]";
  po::options_description opts("options");
  session::PreflightRequest req;
  add_doctor_options(opts, req);
  po::positional_options_description pos;
  pos.add("iface", 1);
  auto parsed = parse_options(args, "doctor", usage, opts, pos);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    print_doctor_exits();
    return 0;
  }
  if (auto s = complete_request(parsed->vm, req); !s)
    return std::unexpected(s.error());
  remove_stale_namespaces();
  const auto result = print_checks(req);
  remove_tracer_leftovers();
  if (const auto* f = result.first_failure()) {
    std::cout << "verdict: `harness run` would stop at \"" << f->name << "\" (exit status "
              << static_cast<int>(f->error.code) << ")\n";
    return static_cast<int>(f->error.code);
  }
  std::cout << "verdict: ready\n";
  return 0;
}

} // namespace harness::cli
