// harness demo [--kernel 6.1|6.12] [--test-kernel] [--debian-kernel RELEASE] [--cache DIR]
//              [--accel ...]
//              [--optimised] [--no-install] [-v]
//              [-- harness run options]
#include "base/files.hpp"
#include "base/printable.hpp"
#include "base/signals.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/exit_help.hpp"
#include "harness/cli/options.hpp"
#include "kernel/cache_dir.hpp"
#include "kernel/debian_kernel.hpp"
#include "tracers/tracers.hpp"
#include "vm/demo.hpp"

#include <cstdio>
#include <iostream>

namespace harness::cli {

namespace {

// `--debian-kernel RELEASE`: that stock kernel, which excludes what picks another kernel
// (--kernel, --test-kernel, --optimised); its series is its own source package's. Without it
// the demo (vm::run_demo) boots the stock kernel Debian ships now, or the test kernel.
Status take_debian_kernel(const po::variables_map& vm, vm::DemoRequest& req) {
  if (!vm.count("debian-kernel"))
    return {};
  req.debian_kernel = vm["debian-kernel"].as<std::string>();
  if (!kernel::valid_debian_release(req.debian_kernel))
    return std::unexpected(kernel::invalid_debian_release("--debian-kernel", req.debian_kernel));
  for (const char* other : {"kernel", "test-kernel", "optimised"})
    if (vm.count(other))
      return fail(Exit::usage, "--" + std::string(other) + " with --debian-kernel",
                  "--debian-kernel names the kernel to boot already", "give one of them");
  req.series = kernel::debian_kernel_series(req.debian_kernel);
  if (req.series != "6.1" && req.series != "6.12")
    return fail(Exit::usage, "--debian-kernel " + req.debian_kernel,
                "its source, linux-source-" + req.series + ", is not in Debian 12's archive",
                "use a 6.1 or 6.12 kernel (e.g. 6.1.0-57-amd64, 6.12.118+deb12-amd64)");
  return {};
}

void add_demo_options(po::options_description& opts) {
  opts.add_options()("help,h", "show this help")(
      "kernel", po::value<std::string>(),
      "Debian's kernel series, 6.1 or 6.12: the stock kernel of that series Debian ships now "
      "(6.1: the one linux-image-amd64 depends on, 6.12: linux-image-6.12-amd64's); with "
      "--test-kernel, the test kernel built from linux-source-SERIES")(
      "test-kernel",
      "build the probe-friendly test kernel (af_packet.c at -O0, about 6-12 minutes on 2 CPUs "
      "once, then cached) and boot it instead of a stock kernel: SystemTap can probe it too")(
      "debian-kernel", po::value<std::string>(),
      "boot this stock Debian kernel, by release (e.g. 6.1.0-57-amd64): downloaded once (about "
      "1 GB), probed with kprobe events. Without it, --test-kernel, --optimised or --backend "
      "stap, the demo boots the stock kernel Debian ships now")(
      "backend", po::value<std::string>()->default_value("auto"),
      "tracer: auto (stap where SystemTap supports the kernel, else kprobe), stap or kprobe")(
      "cache", po::value<std::string>()->default_value(""),
      "cache directory for the kernels, probes and runs (default $HARNESS_CACHE or "
      "/var/cache/harness)")("accel", po::value<std::string>()->default_value("auto"),
                             "qemu accelerator: auto, kvm, tcg")(
      "optimised", "build and boot the test kernel's -O2 variant (af_packet.c inlined, as "
                   "distributions build it)")(
      "no-install", "do not apt-get install missing packages; fail instead")(
      "out,o", po::value<std::string>(),
      "new or empty directory for this run (default CACHE/vm/demo-<time>)")(
      "timeout", po::value<double>()->default_value(300),
      "seconds before the VM is stopped")("verbose,v", "show the guest's console as it runs");
}

void print_demo_help() {
  std::cout << "\nOn a fresh Debian 12 machine: installs what is missing, downloads the stock "
               "kernel Debian ships now (the one linux-image-amd64 depends on) with its debug "
               "symbols once (about 1 GB), and runs 2 frames through a TX ring in a qemu VM with "
               "the status probes loaded (kprobe events), printing the report: every phase of "
               "every frame. A warm run takes about 10-30 s. --kernel 6.12 boots Debian's "
               "stock 6.12 instead; --test-kernel builds the probe-friendly test kernel from "
               "linux-source-6.1 (about 5-12 minutes on 2 CPUs, once), which SystemTap can "
               "probe too.\n"
               "Arguments after `--` replace the default run options (--frames 2 --tpacket "
               "v2).\n"
            << exit_help({{Exit::not_root, "packages missing and not root"},
                          {Exit::tool_missing},
                          {Exit::no_debuginfo},
                          {Exit::tracer_failed, "the probes did not build"},
                          {Exit::vm_failed},
                          {Exit::kernel_build}},
                         "harness run's (`harness run --help`); before it runs: ");
}

// The demo's request from its options; `run_args`: those after `--`, for `harness run`.
Result<vm::DemoRequest> demo_request(const po::variables_map& vm, const Args& run_args) {
  vm::DemoRequest req;
  req.cache_dir = kernel::resolve_cache_dir(vm["cache"].as<std::string>());
  auto accel = vm::parse_accel(vm["accel"].as<std::string>());
  if (!accel)
    return std::unexpected(accel.error());
  req.accel = *accel;
  req.optimised = vm.count("optimised") > 0;
  req.test_kernel = vm.count("test-kernel") > 0;
  if (vm.count("kernel")) {
    req.series = vm["kernel"].as<std::string>();
    if (req.series != "6.1" && req.series != "6.12")
      return fail(Exit::usage, "--kernel " + printable_bounded(req.series, 40),
                  "not a kernel series harness knows",
                  "use 6.1 or 6.12 (Debian's linux-source-6.1 / linux-source-6.12)");
  }
  if (auto s = take_debian_kernel(vm, req); !s)
    return std::unexpected(s.error());
  auto backend = tracers::parse(vm["backend"].as<std::string>());
  if (!backend)
    return std::unexpected(backend.error());
  req.backend = *backend;
  req.install = vm.count("no-install") == 0;
  if (vm.count("out"))
    req.out_dir = vm["out"].as<std::string>();
  if (!run_args.empty())
    req.run_args = run_args;
  const double t = vm["timeout"].as<double>();
  if (!(t >= 5 && t <= 86400))
    return fail(Exit::usage, "--timeout " + number_text(t), "must be 5 to 86400 seconds");
  req.timeout = std::chrono::milliseconds(static_cast<long>(t * 1000));
  req.verbose = vm.count("verbose") > 0;
  req.on_progress = [](std::string_view l) {
    std::cerr << "harness demo: " << l << std::endl;
  };
  if (req.verbose)
    req.on_console = [](std::string_view l) {
      std::cerr << l << "\n";
    };
  return req;
}

// The demo run, its report printed and where its files are.
Result<int> run_and_print(vm::DemoRequest req) {
  install_interrupt_handlers();
  auto res = vm::run_demo(req);
  if (!res)
    return std::unexpected(res.error());
  if (auto text = read_file(res->run.run_stdout))
    std::cout << *text << std::flush;
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f s", static_cast<double>(res->elapsed_ms) / 1000.0);
  const char* kernel = res->stock           ? "stock Debian"
                       : res->kernel_cached ? "from the cache"
                                            : "built now";
  std::cerr << "harness demo: done in " << secs << " (kernel " << kernel << "); report files in "
            << res->run.run_dir << std::endl;
  return res->run.exit_code;
}

} // namespace

Result<int> cmd_demo(const Args& all) {
  const std::string usage = "demo [--kernel 6.1|6.12] [--test-kernel] [--debian-kernel RELEASE] "
                            "[--backend "
                            "auto|stap|kprobe] [--cache DIR] "
                            "[--accel auto|kvm|tcg] [--optimised] [--no-install] [--out DIR] [-v] "
                            "[-- harness run options]";
  const auto dashes = std::find(all.begin(), all.end(), "--");
  const Args args(all.begin(), dashes);
  const Args run_args = dashes == all.end() ? Args{} : Args(dashes + 1, all.end());
  po::options_description opts("options");
  add_demo_options(opts);
  auto parsed = parse_options(args, "demo", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    print_demo_help();
    return 0;
  }
  auto req = demo_request(parsed->vm, run_args);
  if (!req)
    return std::unexpected(req.error());
  return run_and_print(std::move(*req));
}

} // namespace harness::cli
