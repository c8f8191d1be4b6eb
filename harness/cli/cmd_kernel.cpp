// harness kernel prepare --source DIR [--build DIR] [--minimal] [--from-debian 6.1|6.12] ...
// harness kernel build --build DIR [-j N]
// harness kernel ensure [--from-debian 6.1|6.12] [--optimised] [--cache DIR] [-j N]
#include "base/files.hpp"
#include "base/signals.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/exit_help.hpp"
#include "harness/cli/options.hpp"
#include "kernel/cache_dir.hpp"
#include "kernel/debian_kernel.hpp"
#include "kernel/kernel_builder.hpp"
#include "stap/stap_env.hpp"

#include <cstdio>
#include <iostream>

namespace harness::cli {
namespace {

const std::string kExitText =
    exit_help({{Exit::ok, "done"},
               {Exit::usage, "bad options or not a kernel tree"},
               {Exit::kernel_build, "the kernel could not be prepared or built (the log is named)"},
               {Exit::io},
               {Exit::interrupted, "interrupted (a later build resumes)"}});

void progress(std::string_view line) {
  std::cerr << "harness: " << line << std::endl;
}

// -j N of `kernel build` and `kernel ensure`: 0 (the CPUs) to 512, checked before any work.
Result<int> jobs_option(const po::variables_map& vm) {
  const int jobs = vm["jobs"].as<int>();
  if (jobs < 0 || jobs > 512)
    return fail(Exit::usage, "--jobs " + std::to_string(jobs), "must be 0 to 512",
                "give the number of parallel make jobs, or 0 for one per CPU");
  return jobs;
}

std::string seconds(long ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ldm%02lds", ms / 60000, (ms / 1000) % 60);
  return buf;
}

Result<int> kernel_prepare(const Args& args) {
  const std::string usage = "kernel prepare --source DIR [--build DIR] [--minimal] "
                            "[--from-debian 6.1|6.12] [--optimised] [--fragment FILE]";
  po::options_description opts("kernel prepare options");
  opts.add_options()("help,h", "show this help")(
      "source", po::value<std::string>()->required(),
      "kernel source tree (created by --from-debian when missing)")(
      "build", po::value<std::string>(), "build (O=) directory (default SOURCE/build-harness)")(
      "minimal", "start from tinyconfig: a small, fast test kernel for qemu")(
      "from-debian", po::value<std::string>(),
      "unpack Debian's linux-source-6.1 or -6.12 package into --source first")(
      "optimised", "the -O2 variant: af_packet.c keeps the default optimisation (inlined)")(
      "fragment", po::value<std::string>(),
      "Kconfig fragment to merge (default: harness's probe-kernel.config)");
  auto parsed = parse_options(args, "kernel", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    std::cout << "\nAdds `CFLAGS_af_packet.o = -O0` to net/packet/Makefile (once), merges the "
                 "fragment (DWARF, kprobes, unsigned modules, debugfs, relay, veth/netns, "
                 "virtio, 9p) and runs make olddefconfig, checking that every option stuck.\n"
              << kExitText;
    return 0;
  }
  const auto& vm = parsed->vm;
  kernel::PrepareRequest req;
  req.source_dir = vm["source"].as<std::string>();
  if (vm.count("build"))
    req.build_dir = vm["build"].as<std::string>();
  req.minimal = vm.count("minimal") > 0;
  req.optimised = vm.count("optimised") > 0;
  if (vm.count("from-debian"))
    req.from_debian = vm["from-debian"].as<std::string>();
  req.fragment_origin =
      vm.count("fragment") ? vm["fragment"].as<std::string>() : kernel::fragment_path();
  auto fragment = read_input("--fragment", req.fragment_origin,
                             "give a kernel config fragment (CONFIG_X=y lines)");
  if (!fragment)
    return std::unexpected(fragment.error());
  req.fragment_text = std::move(*fragment);
  req.on_progress = progress;
  install_interrupt_handlers();
  auto res = kernel::prepare_kernel(req);
  if (!res)
    return std::unexpected(res.error());
  std::cout << res->build_dir << "\n";
  progress("prepared " + res->build_dir + " (config from " + res->config_base +
           "); next: " + "harness kernel build --build " + res->build_dir);
  return 0;
}

Result<int> kernel_build(const Args& args) {
  const std::string usage = "kernel build --build DIR [-j N]";
  po::options_description opts("kernel build options");
  opts.add_options()("help,h", "show this help")("build", po::value<std::string>()->required(),
                                                 "the prepared build (O=) directory")(
      "jobs,j", po::value<int>()->default_value(0), "parallel make jobs (default: CPUs)")(
      "debian-kernel", po::value<std::string>(),
      "a stock Debian kernel instead, by release (e.g. 6.1.0-57-amd64): its image and -dbg "
      "packages downloaded into the cache when not there (about 1 GB, nothing built); prints "
      "its cache directory");
  auto parsed = parse_options(args, "kernel", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    std::cout << kExitText;
    return 0;
  }
  kernel::BuildRequest req;
  req.build_dir = parsed->vm["build"].as<std::string>();
  auto jobs = jobs_option(parsed->vm);
  if (!jobs)
    return std::unexpected(jobs.error());
  req.jobs = *jobs;
  req.on_progress = progress;
  install_interrupt_handlers();
  auto res = kernel::build_kernel(req);
  if (!res)
    return std::unexpected(res.error());
  std::cout << req.build_dir << "\n";
  progress("built " + req.build_dir + " in " + seconds(res->elapsed_ms) + " (" +
           std::to_string(res->compiled) + " files compiled)");
  return 0;
}

// `kernel ensure --debian-kernel RELEASE`: a stock kernel in the cache (downloaded when it is
// not there or its entry is broken; nothing built), its cache directory printed. CI fetches the
// stock kernels this way while the test kernel builds (scripts/test-all).
Result<int> ensure_stock_kernel(const po::variables_map& vm) {
  const std::string release = vm["debian-kernel"].as<std::string>();
  if (!kernel::valid_debian_release(release))
    return std::unexpected(kernel::invalid_debian_release("--debian-kernel", release));
  for (const char* other : {"from-debian", "optimised", "variant", "jobs"})
    if (vm.count(other) && !vm[other].defaulted())
      return fail(Exit::usage, "--" + std::string(other) + " with --debian-kernel",
                  "they choose a test kernel to build; --debian-kernel fetches a stock one",
                  "give one of them");
  install_interrupt_handlers();
  auto k = kernel::fetch_debian_kernel(
      {.release = release,
       .cache_dir = kernel::resolve_cache_dir(vm["cache"].as<std::string>()),
       .on_progress = progress});
  if (!k)
    return std::unexpected(k.error());
  std::cout << k->dir << "\n";
  return 0;
}

Result<int> kernel_ensure(const Args& args) {
  const std::string usage =
      "kernel ensure [--from-debian 6.1|6.12] [--optimised] [--variant FILE] [--cache DIR] "
      "[-j N] | --debian-kernel RELEASE [--cache DIR]";
  po::options_description opts("kernel ensure options");
  opts.add_options()("help,h", "show this help")("from-debian",
                                                 po::value<std::string>()->default_value("6.1"),
                                                 "which Debian linux-source package: 6.1 or 6.12")(
      "optimised", "the -O2 variant (af_packet.c inlined) instead of -O0")(
      "variant", po::value<std::string>(),
      "a bug-zoo variant: FILE holding af_packet.c edits (tests/e2e/zoo/README.md), built "
      "and cached under its own key")(
      "cache", po::value<std::string>()->default_value(""),
      "cache directory (default $HARNESS_CACHE or /var/cache/harness)")(
      "jobs,j", po::value<int>()->default_value(0), "parallel make jobs (default: CPUs)")(
      "debian-kernel", po::value<std::string>(),
      "a stock Debian kernel instead, by release (e.g. 6.1.0-57-amd64): its image and -dbg "
      "packages downloaded into the cache when not there (about 1 GB, nothing built); prints "
      "its cache directory");
  auto parsed = parse_options(args, "kernel", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    std::cout << "\nPrints the build directory of a minimal probe-friendly test kernel from "
                 "Debian's sources, building it into the cache when it is not there (keyed by "
                 "package version, variant, config fragment, gcc and stap versions).\n"
              << kExitText;
    return 0;
  }
  if (parsed->vm.count("debian-kernel"))
    return ensure_stock_kernel(parsed->vm);
  auto jobs = jobs_option(parsed->vm);
  if (!jobs)
    return std::unexpected(jobs.error());
  kernel::EnsureRequest req;
  req.series = parsed->vm["from-debian"].as<std::string>();
  if (req.series != "6.1" && req.series != "6.12")
    return fail(Exit::usage, "--from-debian " + req.series, "must be 6.1 or 6.12");
  req.optimised = parsed->vm.count("optimised") > 0;
  if (parsed->vm.count("variant")) {
    auto v = kernel::load_variant(parsed->vm["variant"].as<std::string>());
    if (!v)
      return std::unexpected(v.error());
    req.variant = std::move(*v);
  }
  req.cache_dir = kernel::resolve_cache_dir(parsed->vm["cache"].as<std::string>());
  req.jobs = *jobs;
  req.on_progress = progress;
  auto stap = stap::stap_version();
  if (!stap)
    return std::unexpected(stap.error());
  req.stap_version = *stap;
  install_interrupt_handlers();
  auto res = kernel::ensure_debian_kernel(req);
  if (!res)
    return std::unexpected(res.error());
  std::cout << res->build_dir << "\n";
  progress(res->cached ? "test kernel from the cache: " + res->build_dir
                       : "built " + res->build_dir + " in " + seconds(res->elapsed_ms));
  return 0;
}

} // namespace

Result<int> cmd_kernel(const Args& args) {
  if (args.empty() || args.front() == "--help" || args.front() == "-h") {
    std::cout << "usage: harness kernel prepare --source DIR [--build DIR] [--minimal] "
                 "[--from-debian 6.1|6.12] [--optimised]\n"
                 "       harness kernel build --build DIR [-j N]\n"
                 "       harness kernel ensure [--from-debian 6.1|6.12] [--optimised] "
                 "[--cache DIR] | --debian-kernel RELEASE\n\nPrepare "
                 "and build a probe-friendly kernel (af_packet.c at "
                 "-O0, DWARF, kprobes, unsigned modules) to boot with `harness vm`.\n"
              << kExitText;
    return args.empty() ? static_cast<int>(Exit::usage) : 0;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args.front() == "prepare")
    return kernel_prepare(rest);
  if (args.front() == "build")
    return kernel_build(rest);
  if (args.front() == "ensure")
    return kernel_ensure(rest);
  return fail(Exit::usage, "kernel " + args.front(), "unknown subcommand",
              "use `kernel prepare`, `kernel build` or `kernel ensure`");
}

} // namespace harness::cli
