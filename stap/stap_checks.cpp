// What the SystemTap tracer needs on the machine the probes run on, as pre-flight lists it
// (harness/session/preflight.hpp): stap (or staprun for a prebuilt module), module loading and
// kprobes, no lockdown or module signing, and the kernel's headers and debuginfo.
#include "stap/stap_checks.hpp"

#include "stap/stap_env.hpp"

namespace harness::stap {
namespace {

using tracer::Checker;
using tracer::Machine;
using tracer::trim;

void check_tools(const Machine& m, const tracer::CheckRequest& req, Checker& c) {
  if (!req.artifact.empty()) {
    auto p = m.find_program(req.tools.staprun);
    if (!p)
      c.failed("staprun", Exit::tool_missing, "staprun (" + req.tools.staprun + ")",
               "not installed or not executable", "apt-get install systemtap-runtime");
    else
      c.ok("staprun", *p);
    return;
  }
  auto p = m.find_program(req.tools.stap);
  if (!p) {
    c.failed("stap", Exit::tool_missing, "stap (" + req.tools.stap + ")",
             "SystemTap is not installed or not executable", "apt-get install systemtap");
    return;
  }
  auto v = m.run({*p, "--version"});
  std::string version = tracer::first_line(v.err.empty() ? v.out : v.err);
  if (auto pos = version.find("(version "); pos != std::string::npos)
    version = "stap " + version.substr(pos + 9, version.find(')', pos) - pos - 9);
  if (v.code != 0 || version.empty())
    c.warn("stap", *p, "`" + *p + " --version` did not answer", "check the installation");
  else
    c.ok("stap", version + " (" + *p + ")");
}

void check_kprobes(const Machine& m, Checker& c) {
  const std::string running = m.kernel_release();
  if (auto en = m.read("/sys/kernel/debug/kprobes/enabled")) {
    if (trim(*en) == "0")
      c.failed("kprobes", Exit::unsupported, "kprobes", "kprobes are disabled",
               "echo 1 > /sys/kernel/debug/kprobes/enabled");
    else
      c.ok("kprobes", "enabled");
    return;
  }
  const std::string k = tracer::kernel_config(m, running, "", "CONFIG_KPROBES");
  if (k == "y")
    c.ok("kprobes", "CONFIG_KPROBES=y");
  else if (k.empty())
    c.warn("kprobes", "unknown",
           "cannot tell whether the kernel has kprobes (no kernel config found)",
           "mount debugfs on /sys/kernel/debug");
  else
    c.failed("kprobes", Exit::unsupported, "kernel " + running,
             "the kernel has no kprobes (CONFIG_KPROBES is not set)",
             "run the probes in a VM with a probe-friendly kernel (`harness vm run`)");
}

// Modules and kprobes are needed where the probes run: this machine.
void check_kernel_support(const Machine& m, Checker& c) {
  if (!m.exists("/proc/modules")) {
    c.failed("modules", Exit::unsupported, "kernel " + m.kernel_release(),
             "this kernel cannot load modules (no /proc/modules: CONFIG_MODULES is off)",
             "run the probes in a VM with a probe-friendly kernel: `harness vm run "
             "--kernel-build DIR -- run ...`");
    return;
  }
  if (auto d = m.read("/proc/sys/kernel/modules_disabled"); d && trim(*d) == "1") {
    c.failed("modules", Exit::unsupported, "kernel " + m.kernel_release(),
             "module loading is disabled (kernel.modules_disabled=1)",
             "it stays off until reboot; run the probes in a VM (`harness vm run`)");
    return;
  }
  c.ok("modules", "module loading enabled");
  check_kprobes(m, c);
}

void check_lockdown(const Machine& m, Checker& c) {
  if (auto text = m.read("/sys/kernel/security/lockdown"); !text) {
    // Without securityfs its absence says nothing: the kernel may still be locked down.
    if (!tracer::securityfs_mounted(m)) {
      c.unknown("lockdown", "securityfs is not mounted, so lockdown cannot be read",
                "mount it to check (mount -t securityfs securityfs /sys/kernel/security)");
      c.unknown("module signing",
                "with lockdown unknown, whether unsigned modules load is unknown too",
                "mount securityfs to check (a locked-down kernel refuses them)");
      return;
    } else {
      c.ok("lockdown", "no LSM lockdown (/sys/kernel/security/lockdown absent)");
    }
  } else if (const std::string mode = tracer::lockdown_mode(*text);
             mode.empty() || mode == "none") {
    c.ok("lockdown", "lockdown: none");
  } else {
    c.failed("lockdown", Exit::lockdown, "kernel lockdown (" + mode + ")",
             "the kernel is locked down (" + mode +
                 "): it refuses unsigned modules, so the probes cannot load",
             "disable Secure Boot, or run the probes in a VM (`harness vm run`)");
    return;
  }
  if (auto sig = m.read("/sys/module/module/parameters/sig_enforce");
      sig && (trim(*sig) == "Y" || trim(*sig) == "1")) {
    c.failed("module signing", Exit::lockdown, "module signing",
             "module.sig_enforce is on: the kernel refuses unsigned modules such as stap's",
             "boot without module.sig_enforce=1, or sign stap's modules (stap --use-server / "
             "MOK), or run in a VM (`harness vm run`)");
    return;
  }
  c.ok("module signing", "unsigned modules accepted");
}

void check_tree_debuginfo(const Machine& m, const std::string& build_dir, Checker& c) {
  const std::string vmlinux = build_dir + "/vmlinux";
  auto dbg = m.has_debug_info(vmlinux);
  if (!dbg)
    c.failed("debuginfo", Exit::no_debuginfo, "-r " + build_dir,
             "no readable vmlinux in the build tree",
             "build the kernel first (`harness kernel build`)");
  else if (!*dbg)
    c.failed("debuginfo", Exit::no_debuginfo, vmlinux, "has no DWARF debug info",
             "enable CONFIG_DEBUG_INFO (`harness kernel prepare` does) and rebuild");
  else
    c.ok("debuginfo", vmlinux + " has DWARF");
}

void check_debuginfo(const Machine& m, const std::string& release, const std::string& build_dir,
                     Checker& c) {
  if (!build_dir.empty()) {
    check_tree_debuginfo(m, build_dir, c);
    return;
  }
  const std::string build = "/lib/modules/" + release + "/build";
  if (!m.exists(build)) {
    c.failed("kernel headers", Exit::no_debuginfo, "kernel " + release,
             "no build tree at " + build + " (stap compiles its module against it)",
             "apt-get install linux-headers-" + release + ", or give -r BUILD_DIR");
    return;
  }
  c.ok("kernel headers", build);
  for (const auto& p : {"/usr/lib/debug/boot/vmlinux-" + release,
                        "/usr/lib/debug/lib/modules/" + release + "/vmlinux",
                        "/boot/vmlinux-" + release, build + "/vmlinux"}) {
    auto dbg = m.has_debug_info(p);
    if (dbg && *dbg) {
      c.ok("debuginfo", p);
      return;
    }
  }
  c.failed("debuginfo", Exit::no_debuginfo, "kernel " + release,
           "no kernel debuginfo (looked for a vmlinux with DWARF in /usr/lib/debug, /boot and the "
           "build tree)",
           "apt-get install linux-image-" + release + "-dbg, or give -r BUILD_DIR");
}

} // namespace

void check_stap(const Machine& m, const tracer::CheckRequest& req, Checker& c) {
  check_tools(m, req, c);
  check_kernel_support(m, c);
  check_lockdown(m, c);
  if (req.artifact.empty())
    check_debuginfo(m, req.release, req.build_dir, c);
  else if (!m.exists(req.artifact))
    c.failed("module", Exit::usage, "module " + req.artifact, "no such file",
             "give the FILE.ko built by `harness build`");
  else
    c.ok("module", req.artifact);
}

std::string stap_version_on(const Machine& m, const std::string& stap) {
  auto p = m.find_program(stap);
  if (!p)
    return {};
  auto v = m.run({*p, "--version"});
  // The version line is on stdout or stderr (releases differ), and a warning may come first on
  // stderr (a read-only home: "failed to create systemtap data directory").
  const std::string version = parse_stap_version(v.err + "\n" + v.out);
  // Installed but silent about its version (another build, a wrapper): no range to check.
  if (v.code != 0 || version.empty())
    return "unknown";
  return version;
}

} // namespace harness::stap
