// harness doctor: what `run` would check, printed without running anything.
#include "base/scratch_net.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/options.hpp"
#include "harness/session/preflight.hpp"
#include "kprobe/tracefs.hpp"
#include "probes/probe_plan.hpp"

#include <cstdlib>
#include <iostream>

namespace harness::cli {

Result<int> cmd_doctor(const Args& args) {
  const std::string usage =
      "doctor [--kernel SPEC] [--backend auto|stap|kprobe] [-r DIR | --module "
      "FILE.ko | --kprobes FILE.kprobes] [IFACE | --veth]";
  std::string backend = "auto";
  po::options_description opts("options");
  session::PreflightRequest req;
  const char* env_stap = std::getenv("HARNESS_STAP");
  const char* env_staprun = std::getenv("HARNESS_STAPRUN");
  if (env_stap && *env_stap)
    req.stap = env_stap;
  if (env_staprun && *env_staprun)
    req.staprun = env_staprun;
  // The same perf as `run` (its --perf, $HARNESS_PERF), or doctor checks another program.
  if (const char* env_perf = std::getenv("HARNESS_PERF"); env_perf && *env_perf)
    req.perf = env_perf;
  opts.add_options()("help,h", "show this help")(
      "kernel", po::value(&req.kernel_spec)->default_value("auto"),
      "the kernel probed (auto: uname -r); its own af_packet.c is looked for by build id")(
      "allow-nearest", po::bool_switch(&req.allow_nearest),
      "check the nearest shipped map against the kernel's DWARF when no exact source exists")(
      "build-dir,r", po::value(&req.build_dir), "check for a cross-build against this tree")(
      "backend", po::value(&backend)->default_value("auto"),
      "tracer to check: stap, kprobe, or auto (the one `run` would pick, then the other)")(
      "module", po::value(&req.module), "check for loading this prebuilt module")(
      "kprobes", po::value(&req.kprobe_defs), "check for installing these kprobe definitions")(
      "plan", po::value(&req.plan), "the prebuilt probes' plan (default NAME.plan.json)")(
      "stap", po::value(&req.stap), "stap program (default $HARNESS_STAP or stap)")(
      "staprun", po::value(&req.staprun), "staprun program (default $HARNESS_STAPRUN or staprun)")(
      "perf", po::value(&req.perf),
      "perf program for kprobe definitions (default $HARNESS_PERF or perf)")(
      "veth", po::bool_switch(&req.veth), "the run would use a throwaway veth pair")(
      "iface", po::value(&req.iface), "interface the run would send on (positional)");
  po::positional_options_description pos;
  pos.add("iface", 1);
  auto parsed = parse_options(args, "doctor", usage, opts, pos);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    std::cout << "\nexit status: 0 all checks pass, else the exit status `harness run` would "
                 "have for the first failing check (3 not root, 4 interface, 5 stap/perf missing, "
                 "6 no debuginfo, 7 lockdown, 8 no line map, 11 no modules/kprobes/kprobe "
                 "events)\n";
    return 0;
  }
  auto chosen = tracer::parse_backend(backend);
  if (!chosen)
    return std::unexpected(chosen.error());
  req.backend = *chosen;
  const std::string artifact = req.module.empty() ? req.kprobe_defs : req.module;
  if (!artifact.empty() && req.plan.empty())
    req.plan = probes::artifact_plan_path(artifact);
  if (req.iface.empty() && !req.veth)
    req.veth = true; // the interface check then describes the default --veth setup
  // Leftovers of killed runs: namespaces whose owner's lock is free. Live runs' stay.
  if (auto removed = remove_stale_scratch_nets(); !removed)
    std::cout << "harness doctor: stale scratch namespaces: " << format_error(removed.error())
              << "\n";
  else
    for (const auto& name : *removed)
      std::cout << "harness doctor: removed network namespace " << name
                << " (and its veth pair) left by a killed run\n";
  session::RealSystem sys;
  const auto result = session::run_preflight(sys, req, session::shipped_map_selector());
  std::cout << "harness doctor: what `harness run` needs on this machine\n"
            << session::format_checks(result);
  // With auto, the tracer `run` would not pick is shown too: its checks say what it would need.
  if (req.backend == tracer::Backend::automatic && artifact.empty() && result.tracer) {
    session::PreflightRequest other = req;
    other.backend = result.tracer->backend == tracer::Backend::stap ? tracer::Backend::kprobe
                                                                    : tracer::Backend::stap;
    const auto alt = session::run_preflight(sys, other, session::shipped_map_selector());
    std::cout << "the other tracer (--backend " << tracer::to_string(other.backend) << "):\n"
              << session::format_checks(alt);
  }
  // What a killed run left in tracefs (kprobe events, instances) is removed here.
  if (auto fs = kprobe::Tracefs::open()) {
    auto removed = kprobe::remove_stale(*fs, kprobe::process_alive, [](const std::string& l) {
      std::cout << "cleanup: " << l << "\n";
    });
    if (!removed)
      std::cout << "cleanup: " << removed.error().what << ": " << removed.error().why << "\n";
  }
  if (const auto* f = result.first_failure()) {
    std::cout << "verdict: `harness run` would stop at \"" << f->name << "\" (exit status "
              << static_cast<int>(f->error.code) << ")\n";
    return static_cast<int>(f->error.code);
  }
  std::cout << "verdict: ready\n";
  return 0;
}

} // namespace harness::cli
