#include "kprobe/kprobe_checks.hpp"

namespace harness::kprobe {
namespace {

using tracer::Checker;
using tracer::Machine;
using tracer::trim;

std::string kprobe_events_path(const Machine& m) {
  for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
    if (m.exists(std::string(root) + "/kprobe_events"))
      return std::string(root) + "/kprobe_events";
  return {};
}

// tracefs exists but is not mounted: a run mounts it; doctor does not (it changes nothing, and
// a second doctor must say the same). The kernel's config tells whether kprobe events exist.
void check_unmounted_tracefs(const Machine& m, Checker& c) {
  const std::string config =
      tracer::kernel_config(m, m.kernel_release(), "", "CONFIG_KPROBE_EVENTS");
  if (config == "y")
    c.ok("kprobe events", "CONFIG_KPROBE_EVENTS=y; tracefs not mounted yet (a run mounts it)");
  else if (!config.empty())
    c.failed("kprobe events", Exit::unsupported, "kernel " + m.kernel_release(),
             "the kernel has no kprobe events (CONFIG_KPROBE_EVENTS is not set)",
             "run the probes in a VM with a probe-friendly kernel (`harness vm run`)");
  else
    c.unknown("kprobe events",
              "tracefs is not mounted and the kernel's config is not readable, so kprobe events "
              "cannot be seen",
              "mount it to check (mount -t tracefs nodev /sys/kernel/tracing)");
}

void check_tracefs(const Machine& m, Checker& c) {
  const std::string events = kprobe_events_path(m);
  if (events.empty() && !m.exists("/sys/kernel/tracing") && !m.exists("/sys/kernel/debug/tracing"))
    c.failed("kprobe events", Exit::unsupported, "tracefs",
             "no tracefs at /sys/kernel/tracing or /sys/kernel/debug/tracing",
             "mount it (mount -t tracefs nodev /sys/kernel/tracing); the kernel needs "
             "CONFIG_KPROBE_EVENTS");
  else if (events.empty() && m.exists("/sys/kernel/tracing/instances"))
    c.failed("kprobe events", Exit::unsupported, "tracefs",
             "tracefs has no kprobe_events: the kernel lacks CONFIG_KPROBE_EVENTS",
             "run the probes in a VM with a probe-friendly kernel (`harness vm run`)");
  else if (!events.empty())
    c.ok("kprobe events", events);
  else
    check_unmounted_tracefs(m, c);
  if (auto en = m.read("/sys/kernel/debug/kprobes/enabled"); en && trim(*en) == "0")
    c.failed("kprobes", Exit::unsupported, "kprobes", "kprobes are disabled",
             "echo 1 > /sys/kernel/debug/kprobes/enabled");
}

void check_debuginfo(const Machine& m, const std::string& release, const std::string& build_dir,
                     Checker& c) {
  const std::string vmlinux = build_dir.empty()
                                  ? tracer::find_debug_vmlinux(m, release).value_or("")
                                  : build_dir + "/vmlinux";
  if (vmlinux.empty()) {
    c.failed("debuginfo", Exit::no_debuginfo, "kernel " + release,
             "no vmlinux with DWARF for this kernel (perf probe reads its lines and variables)",
             "apt-get install linux-image-" + release + "-dbg (Debian; Ubuntu: linux-image-" +
                 release + "-dbgsym), or give -r BUILD_DIR");
    return;
  }
  auto dbg = m.has_debug_info(vmlinux);
  if (!dbg || !*dbg)
    c.failed("debuginfo", Exit::no_debuginfo, vmlinux,
             !dbg ? "no readable vmlinux" : "has no DWARF debug info",
             "build the kernel with CONFIG_DEBUG_INFO (`harness kernel prepare` does)");
  else
    c.ok("debuginfo", vmlinux + " has DWARF");
}

} // namespace

// kprobe events where the probes run: tracefs with kprobe_events, kprobes not switched off,
// and (unless the definitions are prebuilt) perf and the kernel's DWARF to make them.
void check_kprobe(const Machine& m, const tracer::CheckRequest& req, Checker& c) {
  check_tracefs(m, c);
  if (!req.artifact.empty()) {
    if (!m.exists(req.artifact))
      c.failed("kprobe definitions", Exit::usage, "--kprobes " + req.artifact, "no such file",
               "give the NAME.kprobes built by `harness build --backend kprobe`");
    else
      c.ok("kprobe definitions", req.artifact);
    return;
  }
  if (auto p = m.find_program(req.tools.perf))
    c.ok("perf", *p);
  else
    c.failed("perf", Exit::tool_missing, "perf (" + req.tools.perf + ")",
             "not installed: the kprobe tracer makes its definitions with `perf probe`",
             "apt-get install linux-perf, or build them elsewhere: `harness build --backend "
             "kprobe`");
  check_debuginfo(m, req.release, req.build_dir, c);
}

} // namespace harness::kprobe
