#include "vm/vm_runner.hpp"

#include "base/files.hpp"
#include "base/signals.hpp"
#include "kernel/cache_dir.hpp"
#include "vm/initramfs.hpp"

#include <cstdio>
#include <ctime>
#include <memory>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <x86intrin.h>

namespace harness::vm {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t).count();
}

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string seconds_text(long ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  return buf;
}

} // namespace

bool sanitized_build() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#else
  return false;
#endif
}

long host_tsc_khz() {
  if (auto cpuinfo = read_file("/proc/cpuinfo");
      !cpuinfo || cpuinfo->find(" constant_tsc") == std::string::npos ||
      cpuinfo->find(" nonstop_tsc") == std::string::npos)
    return 0;
  timespec a{}, b{};
  ::clock_gettime(CLOCK_MONOTONIC_RAW, &a);
  const unsigned long long t0 = __rdtsc();
  timespec pause{0, 50'000'000};
  ::nanosleep(&pause, nullptr);
  ::clock_gettime(CLOCK_MONOTONIC_RAW, &b);
  const unsigned long long t1 = __rdtsc();
  const double ns =
      static_cast<double>(b.tv_sec - a.tv_sec) * 1e9 + static_cast<double>(b.tv_nsec - a.tv_nsec);
  if (ns <= 0 || t1 <= t0)
    return 0;
  return static_cast<long>(static_cast<double>(t1 - t0) / ns * 1e6 + 0.5);
}

Result<std::string> self_exe() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    return fail(Exit::io, "/proc/self/exe", errno_text(errno));
  return std::string(buf, static_cast<size_t>(n));
}

Result<std::string> kernel_image_of(const std::string& kernel_build) {
  const std::string image = kernel_build + "/arch/x86/boot/bzImage";
  if (::access(image.c_str(), R_OK) != 0)
    return fail(Exit::usage, "--kernel-build " + kernel_build, "no arch/x86/boot/bzImage in it",
                "build it first: `harness kernel build --build " + kernel_build + "`");
  return image;
}

namespace {

// What the guest starts as PID 1: harness itself; harness-vm-preinit first under ASan (which
// cannot start without /proc) and as a stock kernel's initramfs /init (it loads the modules and
// mounts the root), writing that initramfs into the share.
Result<QemuConfig> guest_start(const VmRunRequest& req) {
  std::string init = req.init_exe;
  if (init.empty()) {
    auto exe = self_exe();
    if (!exe)
      return std::unexpected(exe.error());
    init = *exe;
  }
  QemuConfig cfg;
  cfg.kernel_image = req.kernel_image;
  cfg.share_dir = req.share_dir;
  cfg.init = init;
  cfg.init_args = {"vm-guest", "--share", req.share_dir};
  const std::string preinit = init.substr(0, init.rfind('/') + 1) + "harness-vm-preinit";
  const bool needs_preinit = sanitized_build() || !req.initramfs_modules.empty();
  if (needs_preinit && ::access(preinit.c_str(), X_OK) != 0)
    return fail(Exit::vm_failed, preinit, "not found next to " + init,
                "this guest (a harness built with AddressSanitizer, or a stock kernel) needs the "
                "shim harness builds (target harness-vm-preinit)");
  if (!req.initramfs_modules.empty()) {
    cfg.initrd = req.share_dir + "/initramfs.cpio";
    if (auto s = write_guest_initramfs(cfg.initrd, preinit, req.initramfs_modules); !s)
      return std::unexpected(s.error());
    cfg.init_args.insert(cfg.init_args.begin(), init);
    cfg.init = "/init";
  } else if (sanitized_build()) {
    cfg.init_args.insert(cfg.init_args.begin(), init);
    cfg.init = preinit;
  }
  return cfg;
}

// The share directory, made when missing; never under what the guest mounts over.
Status check_share_dir(const std::string& share_dir) {
  if (auto s = make_dirs(share_dir); !s)
    return s;
  if (!is_dir(share_dir))
    return fail(Exit::io, share_dir, "not a directory");
  for (const char* reserved : {"/run", "/proc", "/sys", "/dev"})
    if (share_dir == reserved || share_dir.starts_with(std::string(reserved) + "/"))
      return fail(Exit::usage, "VM directory " + share_dir,
                  std::string("is under ") + reserved + ", which the guest mounts over",
                  "choose a directory elsewhere (e.g. under /var/tmp)");
  return {};
}

// qemu's arguments for the request: the guest's start, accelerator and memory.
Result<std::vector<std::string>> qemu_command(const VmRunRequest& req) {
  auto cfg = guest_start(req);
  if (!cfg)
    return std::unexpected(cfg.error());
  cfg->accel = req.accel;
  cfg->memory_mb = req.memory_mb;
  if (req.accel == Accel::tcg)
    cfg->tsc_khz = host_tsc_khz();
  return qemu_arguments(*cfg);
}

// Waits for qemu until it ends, the deadline passes or the user interrupts (stopping it then).
void wait_for_qemu(ChildProc& child, Clock::time_point deadline, VmRunOutcome& out) {
  std::optional<ExitStatus> st;
  while (!st) {
    const auto now = Clock::now();
    if (now >= deadline) {
      out.timed_out = true;
      break;
    }
    if (interrupt_requested()) {
      out.interrupted = true;
      break;
    }
    st = child.wait(
        std::min(milliseconds(200), std::chrono::duration_cast<milliseconds>(deadline - now)));
  }
  if (!st)
    child.terminate(milliseconds(1000));
}

// The status the guest wrote into the share, or why there is none.
void read_guest_status(const std::string& status_path, VmRunOutcome& out) {
  if (auto text = read_file(status_path)) {
    auto status = status_from_json(*text, status_path);
    if (status)
      out.status = *status;
    else
      out.status_error = status.error().why;
  } else {
    out.status_error = "the guest wrote no " + std::string(status_file_name);
  }
}

} // namespace

Result<VmRunOutcome> boot_vm(const VmRunRequest& req) {
  const auto qemu = find_program("qemu-system-x86_64");
  if (!qemu)
    return fail(Exit::vm_failed, "qemu-system-x86_64", "not installed",
                "apt-get install qemu-system-x86 (or run `harness demo`, which installs it)");
  if (auto s = check_share_dir(req.share_dir); !s)
    return std::unexpected(s.error());
  auto args = qemu_command(req);
  if (!args)
    return std::unexpected(args.error());

  const std::string status_path = req.share_dir + "/" + std::string(status_file_name);
  ::unlink(status_path.c_str()); // a stale status from an earlier run must not count
  if (auto s =
          write_file_atomic(req.share_dir + "/" + std::string(job_file_name), job_to_json(req.job));
      !s)
    return std::unexpected(s.error());

  VmRunOutcome out;
  out.console_log = req.share_dir + "/console.log";
  std::FILE* log = std::fopen(out.console_log.c_str(), "w");
  if (!log)
    return fail(Exit::io, out.console_log, errno_text(errno));
  auto log_closer = std::unique_ptr<std::FILE, int (*)(std::FILE*)>(log, &std::fclose);

  const auto start = Clock::now();
  long ready_ms = -1;
  std::string console_text;
  ChildSpec spec;
  spec.exe = *qemu;
  spec.args = *args;
  auto sink = [&](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), log);
    std::fputc('\n', log);
    std::fflush(log);
    console_text.append(line).push_back('\n');
    if (ready_ms < 0 && line.find(marker::ready) != std::string_view::npos)
      ready_ms = ms_since(start);
    if (req.on_console)
      req.on_console(line);
  };
  spec.on_stdout = sink;
  spec.on_stderr = sink; // qemu's own complaints belong next to the console they concern
  auto child = spawn(spec);
  if (!child)
    return std::unexpected(child.error());
  wait_for_qemu(**child, start + req.timeout, out);
  out.wall_ms = ms_since(start);
  out.ready_ms = ready_ms;
  out.console = scan_console(console_text);
  read_guest_status(status_path, out);
  return out;
}

Result<GuestStatus> judge_vm_run(const VmRunOutcome& o, milliseconds timeout) {
  const std::string hint = "the guest's console is in " + o.console_log;
  if (o.interrupted)
    return fail(Exit::interrupted, "VM run", "interrupted; qemu was stopped", hint);
  const auto& c = o.console;
  if (c.verdict == ConsoleVerdict::panic)
    return fail(Exit::vm_failed, "VM run", explain(c), hint);
  if (o.timed_out) {
    std::string why = "timed out after " + seconds_text(timeout.count()) + ": ";
    why += c.ready ? explain(c) : explain(c);
    return fail(Exit::vm_failed, "VM run", why,
                hint + (c.verdict == ConsoleVerdict::no_kernel
                            ? "; if it used KVM, try --accel tcg"
                            : "; raise --timeout if the guest was only slow"));
  }
  if (!c.ready)
    return fail(Exit::vm_failed, "VM run", explain(c), hint);
  if (!o.status) {
    std::string why = o.status_error;
    if (!c.errors.empty())
      why += "; guest error: " + c.errors.front();
    else if (!c.done)
      why += "; " + explain(c);
    return fail(Exit::vm_failed, "VM run", why, hint);
  }
  if (!o.status->error.empty() && o.status->result < 0)
    return fail(Exit::vm_failed, "VM guest", o.status->error, hint);
  return *o.status;
}

SystemAccelProber::SystemAccelProber(std::string cache_dir, std::string kernel_image)
    : cache_dir_(std::move(cache_dir)), kernel_image_(std::move(kernel_image)) {}

bool SystemAccelProber::kvm_device_usable(std::string& why) {
  return vm::kvm_device_usable(why);
}

std::string SystemAccelProber::cache_file() const {
  struct utsname u {};
  ::uname(&u);
  std::string qemu_version;
  ChildSpec spec;
  spec.exe = "qemu-system-x86_64";
  spec.args = {"--version"};
  if (auto r = run_captured(spec, std::chrono::seconds(10)); r && r->status.success())
    qemu_version = r->out.substr(0, r->out.find('\n'));
  return cache_dir_ + "/accel/" + kernel::cache_key({u.release, u.version, qemu_version});
}

std::optional<AccelChoice> SystemAccelProber::cached() {
  auto text = read_file(cache_file());
  if (!text)
    return std::nullopt;
  return accel_from_cache_text(*text);
}

void SystemAccelProber::store(const AccelChoice& choice) {
  const std::string file = cache_file();
  if (make_dirs(file.substr(0, file.rfind('/'))))
    (void)write_file_atomic(file, accel_cache_text(choice));
}

bool SystemAccelProber::kvm_boots(std::string& why) {
  char tmpl[] = "/var/tmp/harness-kvm-probe-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    why = "cannot create a probe directory: " + errno_text(errno);
    return false;
  }
  VmRunRequest req;
  req.kernel_image = kernel_image_;
  req.share_dir = tmpl;
  req.accel = Accel::kvm;
  req.timeout = std::chrono::seconds(15);
  auto out = boot_vm(req);
  bool ok = false;
  if (!out) {
    why = "the probe boot could not start: " + out.error().why;
  } else if (out->console.ready) {
    ok = true;
    why = "a probe boot reached the guest init in " + seconds_text(out->ready_ms);
  } else {
    why = "a probe boot under KVM " +
          std::string(out->timed_out ? "timed out after 15 s: " : "failed: ") +
          explain(out->console);
  }
  for (const char* f : {"job.json", "status.json", "console.log"})
    ::unlink((std::string(tmpl) + "/" + f).c_str());
  ::rmdir(tmpl);
  return ok;
}

} // namespace harness::vm
