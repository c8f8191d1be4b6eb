// harness vm run  (--kernel-build DIR | --debian-kernel RELEASE) [options] -- <run options>
// harness vm exec (--kernel-build DIR | --debian-kernel RELEASE) [options] -- PROGRAM [ARGS...]
#include "base/files.hpp"
#include "base/signals.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/exit_help.hpp"
#include "harness/cli/options.hpp"
#include "harness/cli/tracer_options.hpp"
#include "kernel/cache_dir.hpp"
#include "kernel/debian_kernel.hpp"
#include "vm/qemu_command.hpp"
#include "vm/vm_runner.hpp"
#include "vm/vm_session.hpp"

#include <filesystem>
#include <iostream>
#include <unistd.h>

namespace harness::cli {
namespace {

const std::string kExitText = exit_help(
    {{Exit::usage},
     {Exit::tool_missing},
     {Exit::no_debuginfo, "no debuginfo in the build tree"},
     {Exit::tracer_failed, "the probes did not build"},
     {Exit::vm_failed, "the VM failed (guest panic, no ready marker, timeout; the console log is "
                       "named)"},
     {Exit::interrupted}},
    "the exit status of the command run in the guest (for `vm run`: harness run's, see `harness "
    "run --help`), else ");

void add_vm_options(po::options_description& opts) {
  opts.add_options()("help,h", "show this help")(
      "kernel-build", po::value<std::string>(),
      "kernel build tree to boot (arch/x86/boot/bzImage; vmlinux for the module)")(
      "debian-kernel", po::value<std::string>(),
      "a stock Debian kernel to boot instead, by release (e.g. 6.1.0-57-amd64): its image and "
      "-dbg packages are downloaded into the cache once (about 1 GB); probed with kprobe "
      "events")("accel", po::value<std::string>()->default_value("auto"),
                "auto (KVM when a probe boot proves it works, else TCG), kvm or tcg")(
      "timeout", po::value<double>()->default_value(300), "seconds before the VM is stopped")(
      "out,o", po::value<std::string>(),
      "new or empty directory shared with the guest: job, console.log, outputs (default "
      "./vm-<time>)")("memory", po::value<int>()->default_value(1024), "guest memory in MiB")(
      "cache", po::value<std::string>()->default_value(""),
      "cache directory (default $HARNESS_CACHE or /var/cache/harness)")(
      "verbose,v", "show the guest's console and the programs' output as they run");
}

struct Common {
  std::string kernel_build, debian_kernel, out, cache;
  vm::AccelRequest accel = vm::AccelRequest::automatic;
  std::chrono::milliseconds timeout{300000};
  int memory = 1024;
  bool verbose = false;
};

std::string value_or_empty(const po::variables_map& vm, const char* name) {
  return vm.count(name) ? vm[name].as<std::string>() : std::string();
}

Result<Common> common_from(const po::variables_map& vm) {
  Common c;
  c.kernel_build = value_or_empty(vm, "kernel-build");
  c.debian_kernel = value_or_empty(vm, "debian-kernel");
  if (c.kernel_build.empty() == c.debian_kernel.empty())
    return fail(Exit::usage, c.kernel_build.empty() ? "the kernel" : "--kernel-build",
                c.kernel_build.empty() ? "is not given" : "and --debian-kernel both given",
                "name the kernel to boot: --kernel-build DIR (a build tree) or --debian-kernel "
                "RELEASE (a stock Debian kernel, e.g. 6.1.0-57-amd64)");
  // Checked before anything is created: a wrong kernel leaves no empty run directory.
  if (!c.debian_kernel.empty() && !kernel::valid_debian_release(c.debian_kernel))
    return std::unexpected(kernel::invalid_debian_release("--debian-kernel", c.debian_kernel));
  if (!c.kernel_build.empty())
    if (auto image = vm::kernel_image_of(c.kernel_build); !image)
      return std::unexpected(image.error());
  auto accel = vm::parse_accel(vm["accel"].as<std::string>());
  if (!accel)
    return std::unexpected(accel.error());
  c.accel = *accel;
  const double t = vm["timeout"].as<double>();
  if (!(t >= 5 && t <= 86400))
    return fail(Exit::usage, "--timeout " + number_text(t), "must be 5 to 86400 seconds");
  c.timeout = std::chrono::milliseconds(static_cast<long>(t * 1000));
  c.memory = vm["memory"].as<int>();
  c.cache = kernel::resolve_cache_dir(vm["cache"].as<std::string>());
  c.verbose = vm.count("verbose") > 0;
  c.out = vm.count("out") ? vm["out"].as<std::string>() : vm::timestamped_dir(".", "vm");
  std::error_code ec;
  c.out = std::filesystem::absolute(c.out, ec).lexically_normal().string();
  if (auto s = vm::check_vm_settings(c.out, c.memory); !s)
    return std::unexpected(s.error());
  return c;
}

// Splits at the first "--": harness's options before, the guest command after.
std::pair<Args, Args> split_at_dashes(const Args& args) {
  const auto it = std::find(args.begin(), args.end(), "--");
  if (it == args.end())
    return {args, {}};
  return {Args(args.begin(), it), Args(it + 1, args.end())};
}

void print_file(const std::string& path, std::ostream& os) {
  if (auto text = read_file(path); text && !text->empty())
    os << *text << std::flush;
}

// `vm run --html FILE`: the guest's `harness run` wrote report.html into its run directory.
Status copy_html_report(const std::string& run_dir, const std::string& to) {
  const std::string from = run_dir + "/report.html";
  auto text = read_file(from);
  if (!text)
    return fail(Exit::io, "--html " + to, "the guest run wrote no " + from,
                "the guest's harness run stopped before its report; see its output above");
  return write_file_atomic(to, *text);
}

auto progress_sink(bool) {
  return [](std::string_view line) {
    std::cerr << "harness: " << line << std::endl;
  };
}

auto console_sink(bool verbose) {
  return verbose ? LineSink([](std::string_view line) { std::cerr << line << "\n"; }) : LineSink{};
}

vm::VmSettings vm_settings(const Common& c) {
  vm::VmSettings vm;
  vm.kernel_build = c.kernel_build;
  vm.debian_kernel = c.debian_kernel;
  vm.out_dir = c.out;
  vm.accel = c.accel;
  vm.timeout = c.timeout;
  vm.memory_mb = c.memory;
  vm.cache_dir = c.cache;
  vm.on_progress = progress_sink(c.verbose);
  vm.on_console = console_sink(c.verbose);
  return vm;
}

Result<int> vm_run(const Args& args) {
  const std::string usage =
      "vm run (--kernel-build DIR | --debian-kernel RELEASE) [--accel auto|kvm|tcg] [--timeout S] "
      "[--out DIR] [--backend "
      "auto|stap|kprobe] [--probes SET | --module FILE.ko | --kprobes FILE.kprobes [--plan FILE]] "
      "[--html FILE] -- [harness run options]";
  auto [ours, theirs] = split_at_dashes(args);
  po::options_description opts("vm run options");
  add_vm_options(opts);
  add_backend_option(opts, "auto (stap where the installed SystemTap supports the tree's "
                           "kernel, else kprobe), stap or kprobe");
  add_prebuilt_options(opts);
  opts.add_options()("probes", po::value<std::string>()->default_value("status"),
                     "probe set of the probes built for the tree: status, call-return or all")(
      "plan", po::value<std::string>(),
      "the prebuilt probes' plan (default NAME.plan.json next to them)")(
      "html", po::value<std::string>(),
      "copy the guest run's HTML report (OUT/run/report.html) to FILE");
  auto parsed = parse_options(ours, "vm", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    std::cout << "\nEverything after `--` goes to `harness run` in the guest, which sends on a "
                 "veth pair it creates there (--veth is added unless --veth, --netns or --iface "
                 "NAME, e.g. lo, is given). The guest's report "
                 "is printed; report files are under OUT/run/.\n"
              << kExitText;
    return 0;
  }
  auto c = common_from(parsed->vm);
  if (!c)
    return std::unexpected(c.error());
  // Checked before the VM boots: minutes of booting and probing must not end in an unwritable
  // file, or overwrite the probes given. A FILE directly in OUT is fine: vm run makes OUT, new
  // or empty (vm::check_vm_out_dir), so nothing is there to overwrite.
  std::vector<std::string> inputs = prebuilt_values(parsed->vm);
  inputs.push_back(value_or_empty(parsed->vm, "plan"));
  if (auto s = check_outputs({{"--html", value_or_empty(parsed->vm, "html")}}, inputs, c->out); !s)
    return std::unexpected(s.error());
  auto set = probes::parse_probe_set(parsed->vm["probes"].as<std::string>());
  if (!set)
    return std::unexpected(set.error());
  install_interrupt_handlers();
  vm::HarnessRunRequest req;
  req.vm = vm_settings(*c);
  req.run_args = theirs;
  req.probes = *set;
  auto pick = tracer_pick(parsed->vm);
  if (!pick)
    return std::unexpected(pick.error());
  req.backend = pick->backend;
  req.artifact = pick->artifact;
  if (parsed->vm.count("plan"))
    req.plan = parsed->vm["plan"].as<std::string>();
  req.echo_output = c->verbose;
  auto res = vm::run_harness_in_vm(req);
  if (!res)
    return std::unexpected(res.error());
  if (!c->verbose)
    print_file(res->run_stderr, std::cerr);
  print_file(res->run_stdout, std::cout);
  std::cerr << "harness: VM run directory " << c->out << " (guest report files in " << res->run_dir
            << ")" << std::endl;
  if (parsed->vm.count("html"))
    if (auto s = copy_html_report(res->run_dir, parsed->vm["html"].as<std::string>()); !s)
      return std::unexpected(s.error());
  return res->exit_code;
}

Result<int> vm_exec(const Args& args) {
  const std::string usage = "vm exec (--kernel-build DIR | --debian-kernel RELEASE) [--accel "
                            "auto|kvm|tcg] [--timeout S] [--out DIR] [--veth] "
                            "[--module FILE.ko] -- PROGRAM [ARGS...]";
  auto [ours, theirs] = split_at_dashes(args);
  po::options_description opts("vm exec options");
  add_vm_options(opts);
  opts.add_options()("veth", "create a veth pair hxv0 (send here) / hxv1 in the guest first")(
      "module", po::value<std::string>(),
      "load this probe module with staprun before PROGRAM (its output: OUT/probes.stdout)");
  auto parsed = parse_options(ours, "vm", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    std::cout << kExitText;
    return 0;
  }
  if (theirs.empty())
    return fail(Exit::usage, "vm exec", "no program to run", "put it after `--`");
  auto c = common_from(parsed->vm);
  if (!c)
    return std::unexpected(c.error());
  if (auto s = vm::check_vm_out_dir(c->out); !s)
    return std::unexpected(s.error());
  install_interrupt_handlers();
  vm::VmJobRequest req;
  req.vm = vm_settings(*c);
  req.job.veth = parsed->vm.count("veth") > 0;
  req.job.echo_output = c->verbose;
  if (parsed->vm.count("module")) {
    const std::string mod = parsed->vm["module"].as<std::string>();
    if (auto fd = open_regular_file(mod); !fd)
      return fail(fd.error().code, "--module " + mod, fd.error().why, fd.error().hint);
    else
      ::close(*fd);
    if (auto s = make_dirs(c->out); !s)
      return std::unexpected(s.error());
    const std::string copy = c->out + "/" + std::filesystem::path(mod).filename().string();
    if (auto s = copy_file_atomic(mod, copy); !s)
      return std::unexpected(s.error());
    vm::GuestStep probes;
    probes.name = "probes";
    probes.argv = {"staprun", copy};
    probes.background = true;
    probes.ready_text = "HX1 READY";
    probes.timeout_ms = 60000;
    req.job.steps.push_back(probes);
  }
  vm::GuestStep step;
  step.name = "exec";
  step.argv = theirs;
  step.timeout_ms = static_cast<int>(c->timeout.count());
  req.job.steps.push_back(step);
  req.job.result_step = "exec";
  auto res = vm::run_job_in_vm(req);
  if (!res)
    return std::unexpected(res.error());
  if (!c->verbose) {
    print_file(c->out + "/exec.stderr", std::cerr);
    print_file(c->out + "/exec.stdout", std::cout);
  }
  for (const auto& s : res->status.steps)
    if (!s.error.empty())
      std::cerr << "harness: guest step " << s.name << ": " << s.error << std::endl;
  return res->status.result < 0 ? static_cast<int>(Exit::vm_failed) : res->status.result;
}

} // namespace

Result<int> cmd_vm(const Args& args) {
  if (args.empty() || args.front() == "--help" || args.front() == "-h") {
    std::cout
        << "usage: harness vm run (--kernel-build DIR | --debian-kernel RELEASE) [options] -- "
           "[harness run options]\n"
           "       harness vm exec (--kernel-build DIR | --debian-kernel RELEASE) [options] -- "
           "PROGRAM [ARGS...]\n\n"
           "Boots a kernel build or a stock Debian kernel under qemu with this machine's "
           "root file system read-only over 9p and harness as the guest's init.\n`harness "
           "vm run --help` "
           "and `harness vm exec --help` list the options.\n"
        << kExitText;
    return args.empty() ? static_cast<int>(Exit::usage) : 0;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args.front() == "run")
    return vm_run(rest);
  if (args.front() == "exec")
    return vm_exec(rest);
  return fail(Exit::usage, "vm " + args.front(), "unknown subcommand", "use `vm run` or `vm exec`");
}

} // namespace harness::cli
