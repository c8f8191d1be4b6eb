#include "vm/demo.hpp"

#include "base/files.hpp"
#include "kernel/debian_kernel.hpp"
#include "kernel/deps.hpp"
#include "kernel/kernel_builder.hpp"
#include "stap/stap_env.hpp"
#include "vm/vm_session.hpp"

#include <filesystem>

namespace harness::vm {
namespace {

using Clock = std::chrono::steady_clock;
using Step = std::function<void(int, const std::string&)>;

// The probe-friendly test kernel: from the cache, or built from linux-source-SERIES.
Result<kernel::EnsureResult> test_kernel(const DemoRequest& req, const Step& step) {
  step(2, "test kernel (linux-source-" + req.series + ", af_packet.c " +
              (req.optimised ? "-O2" : "-O0") + ")");
  kernel::EnsureRequest ensure;
  ensure.series = req.series;
  ensure.optimised = req.optimised;
  ensure.cache_dir = req.cache_dir;
  ensure.on_progress = req.on_progress;
  auto stap = stap::stap_version();
  if (!stap)
    return std::unexpected(stap.error());
  ensure.stap_version = *stap;
  auto kernel = kernel::ensure_debian_kernel(ensure);
  if (kernel && req.on_progress)
    req.on_progress(kernel->cached ? "test kernel from the cache: " + kernel->build_dir
                                   : "test kernel built: " + kernel->build_dir);
  return kernel;
}

// Which kernel the demo boots. A named stock release as it is. Else the stock kernel Debian ships
// now (of the series, when one is named), unless a test kernel is asked for or the tracer cannot
// probe a stock kernel (SystemTap: it would need linux-headers); then the test kernel, whose
// series defaults to 6.1.
Status choose_kernel(DemoRequest& req) {
  if (!req.debian_kernel.empty()) {
    req.series = kernel::debian_kernel_series(req.debian_kernel);
    return {};
  }
  if (req.test_kernel || req.optimised || !tracer_for_debian(req.backend)) {
    if (req.series.empty())
      req.series = "6.1";
    return {};
  }
  auto current = kernel::current_debian_release(req.series);
  if (!current)
    return std::unexpected(current.error());
  const std::string of = req.series.empty() ? "" : req.series + " ";
  req.debian_kernel = *current;
  req.series = kernel::debian_kernel_series(*current);
  if (req.on_progress)
    req.on_progress("kernel: " + *current + ", the stock " + of +
                    "kernel Debian ships now (--test-kernel builds the probe-friendly test kernel "
                    "instead)");
  return {};
}

} // namespace

Result<DemoResult> run_demo(const DemoRequest& request) {
  const auto start = Clock::now();
  DemoRequest req = request;
  if (auto s = choose_kernel(req); !s)
    return std::unexpected(s.error());
  const Step step = [&](int n, const std::string& what) {
    if (req.on_progress)
      req.on_progress("step " + std::to_string(n) + "/3: " + what);
  };
  DemoResult res;
  // A bad --out is said before the packages and the kernel build, not 30 minutes later.
  if (!req.out_dir.empty())
    if (auto s = check_vm_out_dir(std::filesystem::absolute(req.out_dir).string()); !s)
      return std::unexpected(s.error());

  step(1, "packages");
  auto missing = kernel::missing_packages(kernel::demo_packages(req.series));
  if (!missing)
    return std::unexpected(missing.error());
  if (!missing->empty()) {
    if (!req.install) {
      std::string list;
      for (const auto& p : *missing)
        list += " " + p;
      return fail(Exit::usage, "missing packages:" + list, "--no-install was given",
                  "install them (apt-get install" + list + ") or drop --no-install");
    }
    if (auto s = kernel::install_packages(*missing, req.on_progress); !s)
      return std::unexpected(s.error());
  }

  HarnessRunRequest run;
  if (!req.debian_kernel.empty()) {
    step(2, "stock Debian kernel " + req.debian_kernel + " (downloaded once, nothing built)");
    run.vm.debian_kernel = req.debian_kernel;
    res.stock = true;
  } else {
    auto built = test_kernel(req, step);
    if (!built)
      return std::unexpected(built.error());
    res.kernel_build = built->build_dir;
    res.kernel_cached = built->cached;
    run.vm.kernel_build = built->build_dir;
  }

  step(3, "probes for the kernel, then the VM: harness run on a veth pair in the guest");
  run.vm.out_dir =
      req.out_dir.empty() ? timestamped_dir(req.cache_dir + "/vm", "demo") : req.out_dir;
  run.run_args = req.run_args;
  run.probes = probes::ProbeSet::status;
  run.backend = req.backend;
  run.vm.accel = req.accel;
  run.vm.timeout = req.timeout;
  run.vm.cache_dir = req.cache_dir;
  run.echo_output = req.verbose;
  run.vm.on_progress = req.on_progress;
  run.vm.on_console = req.on_console;
  auto r = run_harness_in_vm(run);
  if (!r)
    return std::unexpected(r.error());
  res.run = std::move(*r);
  res.elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  return res;
}

} // namespace harness::vm
