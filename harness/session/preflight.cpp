#include "harness/session/preflight.hpp"

#include "probes/anchors.hpp"
#include "probes/probe_plan.hpp"

#include <sstream>

namespace harness::session {
namespace {

std::string first_line(std::string_view s) {
  auto nl = s.find('\n');
  std::string l(s.substr(0, nl));
  while (!l.empty() && (l.back() == '\r' || l.back() == ' '))
    l.pop_back();
  return l;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
    s.pop_back();
  size_t b = 0;
  while (b < s.size() && s[b] == ' ')
    ++b;
  return s.substr(b);
}

struct Checker {
  PreflightResult& out;
  void ok(std::string name, std::string detail) {
    out.checks.push_back({std::move(name), CheckState::ok, std::move(detail), {}});
  }
  void skip(std::string name, std::string detail) {
    out.checks.push_back({std::move(name), CheckState::skip, std::move(detail), {}});
  }
  void warn(std::string name, std::string detail, std::string why, std::string hint = {}) {
    Check c{std::move(name), CheckState::warn, std::move(detail), {}};
    c.error = Error{Exit::ok, c.name, std::move(why), std::move(hint)};
    out.checks.push_back(std::move(c));
  }
  void failed(std::string name, Exit code, std::string what, std::string why, std::string hint) {
    Check c{std::move(name), CheckState::fail, {}, {}};
    c.detail = why;
    c.error = Error{code, std::move(what), std::move(why), std::move(hint)};
    out.checks.push_back(std::move(c));
  }
};

// CONFIG_X from /boot/config-REL or /proc/config.gz: "y", "m", "n" (unset) or "" (unknown).
std::string kernel_config(const SystemView& sys, const std::string& release,
                          const std::string& build_dir, const std::string& option) {
  std::optional<std::string> text;
  if (!build_dir.empty())
    text = sys.read(build_dir + "/.config");
  if (!text)
    text = sys.read("/boot/config-" + release);
  if (!text && build_dir.empty() && sys.exists("/proc/config.gz")) {
    auto r = sys.run({"gzip", "-dc", "/proc/config.gz"});
    if (r.code == 0)
      text = std::move(r.out);
  }
  if (!text)
    return {};
  const std::string key = option + "=";
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0)
      return line.substr(key.size());
    if (line == "# " + option + " is not set")
      return "n";
  }
  return "n";
}

void check_root(const SystemView& sys, Checker& c) {
  if (sys.euid() == 0)
    c.ok("root", "running as root");
  else
    c.failed("root", Exit::not_root, "not root",
             "probing the kernel and using a TX ring need root (uid " + std::to_string(sys.euid()) +
                 ")",
             "run with sudo");
}

// "4.8/0.188" from `stap --version`; empty when stap is missing or does not answer.
std::string stap_version_of(const SystemView& sys, const std::string& stap) {
  auto p = sys.find_program(stap);
  if (!p)
    return {};
  auto v = sys.run({*p, "--version"});
  const std::string text = first_line(v.err.empty() ? v.out : v.err);
  const auto pos = text.find("(version ");
  if (v.code != 0 || pos == std::string::npos)
    return {};
  return text.substr(pos + 9, text.find(')', pos) - pos - 9);
}

std::string kprobe_events_path(const SystemView& sys) {
  for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
    if (sys.exists(std::string(root) + "/kprobe_events"))
      return std::string(root) + "/kprobe_events";
  return {};
}

tracer::BackendFacts backend_facts(const SystemView& sys, const PreflightRequest& req,
                                   const std::string& release) {
  tracer::BackendFacts f;
  f.kernel_release = release;
  f.stap_version = stap_version_of(sys, req.stap);
  // Installed but silent about its version (another build, a wrapper): no range to check.
  if (f.stap_version.empty() && sys.find_program(req.stap))
    f.stap_version = "unknown";
  if (auto text = sys.read("/sys/kernel/security/lockdown"))
    f.lockdown = lockdown_mode(*text);
  auto disabled = sys.read("/proc/sys/kernel/modules_disabled");
  f.modules_disabled = !sys.exists("/proc/modules") || (disabled && trim(*disabled) == "1");
  auto sig = sys.read("/sys/module/module/parameters/sig_enforce");
  f.module_signing_enforced = sig && (trim(*sig) == "Y" || trim(*sig) == "1");
  return f;
}

// kprobe events where the probes run: tracefs with kprobe_events, kprobes not switched off,
// and (unless the definitions are prebuilt) perf to make them.
void check_kprobe_support(const SystemView& sys, const PreflightRequest& req, Checker& c) {
  const std::string events = kprobe_events_path(sys);
  if (events.empty() && !sys.exists("/sys/kernel/tracing") &&
      !sys.exists("/sys/kernel/debug/tracing"))
    c.failed("kprobe events", Exit::unsupported, "tracefs",
             "no tracefs at /sys/kernel/tracing or /sys/kernel/debug/tracing",
             "mount it (mount -t tracefs nodev /sys/kernel/tracing); the kernel needs "
             "CONFIG_KPROBE_EVENTS");
  else if (events.empty() && sys.exists("/sys/kernel/tracing/instances"))
    c.failed("kprobe events", Exit::unsupported, "tracefs",
             "tracefs has no kprobe_events: the kernel lacks CONFIG_KPROBE_EVENTS",
             "run the probes in a VM with a probe-friendly kernel (`harness vm run`)");
  else
    c.ok("kprobe events", events.empty() ? "tracefs not mounted yet (harness mounts it)" : events);
  if (auto en = sys.read("/sys/kernel/debug/kprobes/enabled"); en && trim(*en) == "0")
    c.failed("kprobes", Exit::unsupported, "kprobes", "kprobes are disabled",
             "echo 1 > /sys/kernel/debug/kprobes/enabled");
  if (!req.kprobe_defs.empty()) {
    if (!sys.exists(req.kprobe_defs))
      c.failed("kprobe definitions", Exit::usage, "--kprobes " + req.kprobe_defs, "no such file",
               "give the NAME.kprobes built by `harness build --backend kprobe`");
    else
      c.ok("kprobe definitions", req.kprobe_defs);
    return;
  }
  if (auto p = sys.find_program(req.perf))
    c.ok("perf", *p);
  else
    c.failed("perf", Exit::stap_missing, "perf (" + req.perf + ")",
             "not installed: the kprobe tracer makes its definitions with `perf probe`",
             "apt-get install linux-perf, or build them elsewhere: `harness build --backend "
             "kprobe`");
}

void check_kprobe_debuginfo(const SystemView& sys, const std::string& release,
                            const std::string& build_dir, Checker& c) {
  const std::string vmlinux =
      build_dir.empty() ? find_debug_vmlinux(sys, release).value_or("") : build_dir + "/vmlinux";
  if (vmlinux.empty()) {
    c.failed("debuginfo", Exit::no_debuginfo, "kernel " + release,
             "no vmlinux with DWARF for this kernel (perf probe reads its lines and variables)",
             "apt-get install linux-image-" + release + "-dbg (Debian; Ubuntu: linux-image-" +
                 release + "-dbgsym), or give -r BUILD_DIR");
    return;
  }
  auto dbg = sys.has_debug_info(vmlinux);
  if (!dbg || !*dbg)
    c.failed("debuginfo", Exit::no_debuginfo, vmlinux,
             !dbg ? "no readable vmlinux" : "has no DWARF debug info",
             "build the kernel with CONFIG_DEBUG_INFO (`harness kernel prepare` does)");
  else
    c.ok("debuginfo", vmlinux + " has DWARF");
}

void check_tools(const SystemView& sys, const PreflightRequest& req, Checker& c) {
  if (!req.module.empty()) {
    auto p = sys.find_program(req.staprun);
    if (!p)
      c.failed("staprun", Exit::stap_missing, "staprun (" + req.staprun + ")",
               "not installed or not executable", "apt-get install systemtap-runtime");
    else
      c.ok("staprun", *p);
    return;
  }
  auto p = sys.find_program(req.stap);
  if (!p) {
    c.failed("stap", Exit::stap_missing, "stap (" + req.stap + ")",
             "SystemTap is not installed or not executable", "apt-get install systemtap");
    return;
  }
  auto v = sys.run({*p, "--version"});
  std::string version = first_line(v.err.empty() ? v.out : v.err);
  if (auto pos = version.find("(version "); pos != std::string::npos)
    version = "stap " + version.substr(pos + 9, version.find(')', pos) - pos - 9);
  if (v.code != 0 || version.empty())
    c.warn("stap", *p, "`" + *p + " --version` did not answer", "check the installation");
  else
    c.ok("stap", version + " (" + *p + ")");
}

void check_kernel_support(const SystemView& sys, Checker& c) {
  // Modules and kprobes are needed where the probes run: this machine.
  if (!sys.exists("/proc/modules")) {
    c.failed("modules", Exit::unsupported, "kernel " + sys.kernel_release(),
             "this kernel cannot load modules (no /proc/modules: CONFIG_MODULES is off)",
             "run the probes in a VM with a probe-friendly kernel: `harness vm run "
             "--kernel-build DIR -- run ...`");
    return;
  }
  if (auto d = sys.read("/proc/sys/kernel/modules_disabled"); d && trim(*d) == "1") {
    c.failed("modules", Exit::unsupported, "kernel " + sys.kernel_release(),
             "module loading is disabled (kernel.modules_disabled=1)",
             "it stays off until reboot; run the probes in a VM (`harness vm run`)");
    return;
  }
  c.ok("modules", "module loading enabled");
  const std::string running = sys.kernel_release();
  if (auto en = sys.read("/sys/kernel/debug/kprobes/enabled")) {
    if (trim(*en) == "0")
      c.failed("kprobes", Exit::unsupported, "kprobes", "kprobes are disabled",
               "echo 1 > /sys/kernel/debug/kprobes/enabled");
    else
      c.ok("kprobes", "enabled");
  } else {
    const std::string k = kernel_config(sys, running, "", "CONFIG_KPROBES");
    if (k == "y")
      c.ok("kprobes", "CONFIG_KPROBES=y");
    else if (k.empty())
      c.warn("kprobes", "unknown",
             "cannot tell whether the kernel has kprobes (no kernel config "
             "found)",
             "mount debugfs on /sys/kernel/debug");
    else
      c.failed("kprobes", Exit::unsupported, "kernel " + running,
               "the kernel has no kprobes (CONFIG_KPROBES is not set)",
               "run the probes in a VM with a probe-friendly kernel (`harness vm run`)");
  }
}

void check_lockdown(const SystemView& sys, Checker& c) {
  auto text = sys.read("/sys/kernel/security/lockdown");
  if (!text) {
    c.ok("lockdown", "no LSM lockdown (/sys/kernel/security/lockdown absent)");
  } else {
    const std::string mode = lockdown_mode(*text);
    if (mode.empty() || mode == "none") {
      c.ok("lockdown", "lockdown: none");
    } else {
      c.failed("lockdown", Exit::lockdown, "kernel lockdown (" + mode + ")",
               "the kernel is locked down (" + mode +
                   "): it refuses unsigned modules, so the probes cannot load",
               "disable Secure Boot, or run the probes in a VM (`harness vm run`)");
      return;
    }
  }
  if (auto sig = sys.read("/sys/module/module/parameters/sig_enforce");
      sig && (trim(*sig) == "Y" || trim(*sig) == "1")) {
    c.failed("module signing", Exit::lockdown, "module signing",
             "module.sig_enforce is on: the kernel refuses unsigned modules such as stap's",
             "boot without module.sig_enforce=1, or sign stap's modules (stap --use-server / "
             "MOK), or run in a VM (`harness vm run`)");
    return;
  }
  c.ok("module signing", "unsigned modules accepted");
}

void check_debuginfo(const SystemView& sys, const std::string& release,
                     const std::string& build_dir, Checker& c) {
  if (!build_dir.empty()) {
    const std::string vmlinux = build_dir + "/vmlinux";
    auto dbg = sys.has_debug_info(vmlinux);
    if (!dbg)
      c.failed("debuginfo", Exit::no_debuginfo, "-r " + build_dir,
               "no readable vmlinux in the build tree",
               "build the kernel first (`harness kernel build`)");
    else if (!*dbg)
      c.failed("debuginfo", Exit::no_debuginfo, vmlinux, "has no DWARF debug info",
               "enable CONFIG_DEBUG_INFO (`harness kernel prepare` does) and rebuild");
    else
      c.ok("debuginfo", vmlinux + " has DWARF");
    return;
  }
  const std::string build = "/lib/modules/" + release + "/build";
  if (!sys.exists(build)) {
    c.failed("kernel headers", Exit::no_debuginfo, "kernel " + release,
             "no build tree at " + build + " (stap compiles its module against it)",
             "apt-get install linux-headers-" + release + ", or give -r BUILD_DIR");
    return;
  }
  c.ok("kernel headers", build);
  const std::vector<std::string> candidates = {"/usr/lib/debug/boot/vmlinux-" + release,
                                               "/usr/lib/debug/lib/modules/" + release + "/vmlinux",
                                               "/boot/vmlinux-" + release, build + "/vmlinux"};
  for (const auto& p : candidates) {
    auto dbg = sys.has_debug_info(p);
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

void check_interface(const SystemView& sys, const PreflightRequest& req, Checker& c) {
  if (req.attach_pid != 0) {
    c.skip("interface",
           "the program attached to (pid " + std::to_string(req.attach_pid) + ") uses its own");
    return;
  }
  if (req.veth) {
    c.ok("interface", "throwaway veth pair in its own network namespace (made at run time)");
    return;
  }
  if (req.iface.empty()) {
    c.failed("interface", Exit::usage, "interface", "no interface given",
             "name one (e.g. `harness run eth0`) or use --veth");
    return;
  }
  if (!req.netns_path.empty()) {
    c.skip("interface", req.iface + " in " + req.netns_path + " (checked by the sender)");
    return;
  }
  const std::string dir = "/sys/class/net/" + req.iface;
  if (!sys.exists(dir)) {
    c.failed("interface", Exit::interface, "interface " + req.iface, "no such interface",
             "list them with `ip link`, or use --veth");
    return;
  }
  auto flags = sys.read(dir + "/flags");
  unsigned long f = 0;
  if (flags)
    f = std::strtoul(flags->c_str(), nullptr, 0);
  if (flags && !(f & 0x1)) {
    c.failed("interface", Exit::interface, "interface " + req.iface, "is down",
             "ip link set " + req.iface + " up");
    return;
  }
  auto oper = sys.read(dir + "/operstate");
  c.ok("interface", req.iface + " up" + (oper ? " (operstate " + trim(*oper) + ")" : ""));
}

// `--kernel SPEC` agrees with the target: auto, its release, or a prefix of it ("6.1").
bool spec_names(const std::string& spec, const std::string& release) {
  if (spec == "auto" || spec == release)
    return true;
  const auto want = probes::release_numbers(spec), have = probes::release_numbers(release);
  return !want.empty() && spec.find_first_not_of("0123456789.") == std::string::npos &&
         want.size() <= have.size() && std::equal(want.begin(), want.end(), have.begin());
}

constexpr std::string_view kGetSource =
    "get the kernel's own source: its distribution's source or debug symbols package with "
    "DEBUGINFOD_URLS set, or its build tree with -r DIR";

// --allow-nearest without the kernel's source: the nearest shipped map, only once every anchor
// of the probe set passed the DWARF check (stap/verify.hpp); marked not proven.
void check_nearest(const SystemView& sys, const PreflightRequest& req, const std::string& spec,
                   const std::string& release, const MapSelector& select, PreflightResult& out,
                   Checker& c) {
  auto sel = select(spec == "auto" ? release : spec, release, nullptr);
  if (!sel) {
    c.failed("line map", Exit::no_map, "kernel " + spec, sel.error().why, sel.error().hint);
    return;
  }
  sel->exact = false;
  sel->provenance.clear();
  auto checked = sys.verify_anchors(sel->entry.map, req.probes, release, req.build_dir);
  if (!checked) {
    c.failed("line map", Exit::no_map, "--allow-nearest " + sel->entry.map.release,
             "its anchors could not be checked against the kernel's DWARF: " + checked.error().why,
             "install the kernel's debug symbols, or get its source: " + std::string(kGetSource));
    return;
  }
  if (checked->unusable() > 0) {
    std::string names;
    for (const auto& a : checked->unusable_anchors())
      names += (names.empty() ? "" : ", ") + a;
    c.failed("line map", Exit::no_map, "--allow-nearest " + sel->entry.map.release,
             "the nearest map's lines are not probeable in this kernel: " + names,
             std::string(kGetSource));
    return;
  }
  c.warn("line map", "nearest: " + sel->entry.map.release + ", lines not proven",
         "no source proven to be this kernel's; the nearest map's " +
             std::to_string(checked->rows.size()) +
             " anchors passed the DWARF check, but a probe may still sit on another statement",
         std::string(kGetSource));
  out.map = std::move(*sel);
  out.lines_not_proven = true;
}

// The lines come from the target kernel's own af_packet.c (kernel/kernel_source.hpp); without
// it the run stops here, unless --allow-nearest and every anchor passes the DWARF check.
void check_line_map(const SystemView& sys, const PreflightRequest& req, const std::string& release,
                    const MapSelector& select, PreflightResult& out, Checker& c) {
  const std::string spec = req.kernel_spec.empty() ? "auto" : req.kernel_spec;
  const auto search = sys.find_kernel_source(release, req.build_dir);
  if (search.exact() && !spec_names(spec, release)) {
    c.failed("line map", Exit::no_map, "--kernel " + spec,
             "the probes run on kernel " + release + ", whose own af_packet.c is found (" +
                 (search.found ? search.found->provenance : search.proven_map->file) + "); no " +
                 spec + " source is this kernel's",
             "drop --kernel (or give --kernel auto) to probe this kernel's own lines");
    return;
  }
  if (search.found) {
    auto sel = select(release, release, &search.found->source);
    if (!sel) {
      c.failed("line map", Exit::no_map, sel.error().what, sel.error().why, sel.error().hint);
      return;
    }
    sel->provenance = search.found->provenance;
    c.ok("line map", sel->entry.map.release + " (exact: " + search.found->provenance +
                         (sel->note.empty() ? "" : "; " + sel->note) + ")");
    out.map = std::move(*sel);
    return;
  }
  if (search.proven_map) {
    auto sel = kernel::proven_selection(*search.proven_map, search.build_id, release);
    c.ok("line map", sel.entry.map.release + " (exact: " + sel.provenance + ")");
    out.map = std::move(sel);
    return;
  }
  if (req.allow_nearest) {
    check_nearest(sys, req, spec, release, select, out, c);
    return;
  }
  Error e = search.not_found_error();
  if (spec != "auto" && spec != release)
    e.what += " (--kernel " + spec + ")";
  c.failed("line map", e.code, e.what, e.why, e.hint);
}

void check_map(const SystemView& sys, const PreflightRequest& req, const std::string& release,
               const MapSelector& select, PreflightResult& out, Checker& c) {
  if (!req.module.empty() || !req.kprobe_defs.empty()) {
    auto plan = probes::load_plan(req.plan);
    if (!plan) {
      c.failed("plan", Exit::usage, "plan " + req.plan, plan.error().why,
               "give the module's NAME.plan.json with --plan (written next to it by "
               "`harness build`)");
      return;
    }
    if (!plan->kernel.empty() && plan->kernel != release)
      c.warn("plan", "plan " + plan->plan_id + " for " + plan->kernel,
             "the probes' plan is for kernel " + plan->kernel + ", this kernel is " + release,
             "probes are built for one kernel: build them for this one (`harness build`)");
    else
      c.ok("plan", "plan " + plan->plan_id + " (" + std::string(probes::to_string(plan->probes)) +
                       ") for " + plan->kernel);
    return;
  }
  check_line_map(sys, req, release, select, out, c);
}

// A prebuilt artifact decides the tracer; otherwise the request and the machine do.
Result<tracer::BackendChoice> choose_tracer(const SystemView& sys, const PreflightRequest& req,
                                            const std::string& release) {
  if (!req.module.empty())
    return tracer::BackendChoice{tracer::Backend::stap,
                                 "stap (prebuilt module " + req.module + ")"};
  if (!req.kprobe_defs.empty())
    return tracer::BackendChoice{tracer::Backend::kprobe,
                                 "kprobe (prebuilt definitions " + req.kprobe_defs + ")"};
  return tracer::choose_backend(req.backend, backend_facts(sys, req, release));
}

void check_stap_tracer(const SystemView& sys, const PreflightRequest& req,
                       const std::string& release, Checker& c) {
  check_tools(sys, req, c);
  check_kernel_support(sys, c);
  check_lockdown(sys, c);
  if (req.module.empty())
    check_debuginfo(sys, release, req.build_dir, c);
  else if (!sys.exists(req.module))
    c.failed("module", Exit::usage, "module " + req.module, "no such file",
             "give the FILE.ko built by `harness build`");
  else
    c.ok("module", req.module);
}

void check_kprobe_tracer(const SystemView& sys, const PreflightRequest& req,
                         const std::string& release, Checker& c) {
  check_kprobe_support(sys, req, c);
  if (req.kprobe_defs.empty())
    check_kprobe_debuginfo(sys, release, req.build_dir, c);
}

} // namespace

std::optional<std::string> find_debug_vmlinux(const SystemView& sys, const std::string& release) {
  for (const std::string& p :
       {"/usr/lib/debug/boot/vmlinux-" + release,
        "/usr/lib/debug/lib/modules/" + release + "/vmlinux", "/boot/vmlinux-" + release})
    if (auto dbg = sys.has_debug_info(p); dbg && *dbg)
      return p;
  return std::nullopt;
}

std::string_view check_state_name(CheckState s) {
  switch (s) {
  case CheckState::ok:
    return "ok";
  case CheckState::warn:
    return "warn";
  case CheckState::fail:
    return "FAIL";
  case CheckState::skip:
    return "skip";
  }
  return "?";
}

std::string lockdown_mode(std::string_view text) {
  const auto l = text.find('[');
  const auto r = text.find(']', l == std::string_view::npos ? 0 : l);
  if (l == std::string_view::npos || r == std::string_view::npos)
    return {};
  return std::string(text.substr(l + 1, r - l - 1));
}

const Check* PreflightResult::first_failure() const {
  for (const auto& c : checks)
    if (c.state == CheckState::fail)
      return &c;
  return nullptr;
}

MapSelector shipped_map_selector() {
  return [](std::string_view spec, std::string_view release,
            const probes::KernelSource* source) -> Result<probes::MapSelection> {
    auto maps = probes::load_shipped_maps();
    if (!maps)
      return std::unexpected(maps.error());
    return probes::select_map_for_source(*maps, spec, release, source);
  };
}

PreflightResult run_preflight(const SystemView& sys, const PreflightRequest& req,
                              const MapSelector& select) {
  PreflightResult out;
  Checker c{out};
  check_root(sys, c);

  // The kernel the probes are built for: the build tree's, else the running one.
  std::string release = sys.kernel_release();
  if (!req.build_dir.empty()) {
    auto rel = sys.read(req.build_dir + "/include/config/kernel.release");
    if (!rel) {
      c.failed("kernel", Exit::no_debuginfo, "-r " + req.build_dir,
               "not a kernel build tree (no include/config/kernel.release)",
               "give the O= directory of a built kernel (`harness kernel build`)");
    } else {
      release = trim(*rel);
      c.ok("kernel", release + " (build tree " + req.build_dir + ")");
    }
  } else {
    c.ok("kernel", release + " (running)");
  }
  out.target_release = release;

  auto tracer = choose_tracer(sys, req, release);
  if (!tracer) {
    c.failed("tracer", tracer.error().code, tracer.error().what, tracer.error().why,
             tracer.error().hint);
    // The tracer asked for still gets its checks listed: doctor shows all that it lacks.
    if (req.backend == tracer::Backend::stap)
      check_stap_tracer(sys, req, release, c);
    else if (req.backend == tracer::Backend::kprobe)
      check_kprobe_tracer(sys, req, release, c);
  } else {
    c.ok("tracer", tracer->reason);
    out.tracer = *tracer;
    if (tracer->backend == tracer::Backend::kprobe)
      check_kprobe_tracer(sys, req, release, c);
    else
      check_stap_tracer(sys, req, release, c);
  }
  check_interface(sys, req, c);
  check_map(sys, req, release, select, out, c);
  return out;
}

std::string format_checks(const PreflightResult& r) {
  std::ostringstream o;
  for (const auto& c : r.checks) {
    std::string name = c.name;
    name.resize(std::max<std::size_t>(name.size(), 15), ' ');
    o << "  " << std::string(check_state_name(c.state))
      << std::string(6 - check_state_name(c.state).size(), ' ') << name << " " << c.detail;
    if (c.state == CheckState::warn && !c.error.why.empty() && c.error.why != c.detail)
      o << ": " << c.error.why;
    o << "\n";
    if ((c.state == CheckState::fail || c.state == CheckState::warn) && !c.error.hint.empty())
      o << "        hint: " << c.error.hint << "\n";
  }
  return o.str();
}

} // namespace harness::session
