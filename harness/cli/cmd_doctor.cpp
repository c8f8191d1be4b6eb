// harness doctor: what `run` would check, printed without running anything.
#include "commands.hpp"
#include "options.hpp"
#include "preflight.hpp"
#include "scratch_net.hpp"

#include <cstdlib>
#include <iostream>

namespace harness::cli {

Result<int> cmd_doctor(const Args& args) {
  const std::string usage = "doctor [--kernel SPEC] [-r DIR | --module FILE.ko] [IFACE | --veth]";
  po::options_description opts("options");
  run::PreflightRequest req;
  const char* env_stap = std::getenv("HARNESS_STAP");
  const char* env_staprun = std::getenv("HARNESS_STAPRUN");
  if (env_stap && *env_stap)
    req.stap = env_stap;
  if (env_staprun && *env_staprun)
    req.staprun = env_staprun;
  opts.add_options()("help,h", "show this help")(
      "kernel", po::value(&req.kernel_spec)->default_value("auto"),
      "line map to check: 3.13, 6.1, a full release, or auto (uname -r)")(
      "build-dir,r", po::value(&req.build_dir), "check for a cross-build against this tree")(
      "module", po::value(&req.module), "check for loading this prebuilt module")(
      "plan", po::value(&req.plan), "the module's plan (default FILE.plan.json)")(
      "stap", po::value(&req.stap), "stap program (default $HARNESS_STAP or stap)")(
      "staprun", po::value(&req.staprun), "staprun program (default $HARNESS_STAPRUN or staprun)")(
      "veth", po::bool_switch(&req.veth), "the run would use a throwaway veth pair")(
      "iface", po::value(&req.iface), "interface the run would send on (positional)");
  po::positional_options_description pos;
  pos.add("iface", 1);
  auto parsed = parse_options(args, "doctor", usage, opts, pos);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    std::cout << "\nexit status: 0 all checks pass, else the exit status `harness run` would "
                 "have for the first failing check (3 not root, 4 interface, 5 stap missing, "
                 "6 no debuginfo, 7 lockdown, 8 no line map, 11 no modules/kprobes)\n";
    return 0;
  }
  if (!req.module.empty() && req.plan.empty()) {
    std::string base = req.module;
    if (base.size() > 3 && base.compare(base.size() - 3, 3, ".ko") == 0)
      base.resize(base.size() - 3);
    req.plan = base + ".plan.json";
  }
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
  run::RealSystem sys;
  const auto result = run::run_preflight(sys, req, run::shipped_map_selector());
  std::cout << "harness doctor: what `harness run` needs on this machine\n"
            << run::format_checks(result);
  if (const auto* f = result.first_failure()) {
    std::cout << "verdict: `harness run` would stop at \"" << f->name << "\" (exit status "
              << static_cast<int>(f->error.code) << ")\n";
    return static_cast<int>(f->error.code);
  }
  std::cout << "verdict: ready\n";
  return 0;
}

} // namespace harness::cli
