#include "preflight.hpp"

#include "anchors.hpp"
#include "probe_plan.hpp"

#include <sstream>

namespace harness::run {
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

void check_map(const SystemView& sys, const PreflightRequest& req, const std::string& release,
               const MapSelector& select, PreflightResult& out, Checker& c) {
  if (!req.module.empty()) {
    auto plan = stap::load_plan(req.plan);
    if (!plan) {
      c.failed("plan", Exit::usage, "plan " + req.plan, plan.error().why,
               "give the module's NAME.plan.json with --plan (written next to it by "
               "`harness build`)");
      return;
    }
    if (!plan->kernel.empty() && plan->kernel != release)
      c.warn("plan", "plan " + plan->plan_id + " for " + plan->kernel,
             "the module's plan is for kernel " + plan->kernel + ", this kernel is " + release,
             "staprun will refuse a module built for another kernel");
    else
      c.ok("plan", "plan " + plan->plan_id + " (" + std::string(stap::to_string(plan->probes)) +
                       ") for " + plan->kernel);
    return;
  }
  const std::string spec = req.kernel_spec.empty() ? "auto" : req.kernel_spec;
  // A build tree's own af_packet.c (O= trees link it as source/) gives the lines themselves;
  // one in the object tree itself comes first, as in Kbuild (a bug-zoo variant's edited copy).
  std::optional<stap::KernelSource> source;
  if (!req.build_dir.empty())
    for (const std::string& dir : {req.build_dir, req.build_dir + "/source"})
      if (auto text = sys.read(dir + "/" + std::string(stap::af_packet_path))) {
        source = stap::KernelSource{dir + "/" + std::string(stap::af_packet_path), *text};
        break;
      }
  auto sel = select(spec == "auto" ? release : spec, release, source ? &*source : nullptr);
  if (!sel) {
    c.failed("line map", Exit::no_map, "kernel " + (spec == "auto" ? release : spec),
             sel.error().why,
             sel.error().hint.empty()
                 ? "make one: `harness map --source af_packet.c --kernel " + release + "`"
                 : sel.error().hint);
    return;
  }
  if (sel->exact)
    c.ok("line map", sel->entry.map.release + " (" +
                         (sel->note.empty() ? "exact match, " + sel->entry.file : sel->note) + ")");
  else
    c.warn("line map", "nearest: " + sel->entry.map.release,
           sel->note.empty() ? "no exact map for " + spec + "; using " + sel->entry.map.release
                             : sel->note,
           "check the lines with `harness drift` before trusting a silent probe");
  out.map = std::move(*sel);
}

} // namespace

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
            const stap::KernelSource* source) -> Result<stap::MapSelection> {
    auto maps = stap::load_shipped_maps();
    if (!maps)
      return std::unexpected(maps.error());
    return stap::select_map_for_source(*maps, spec, release, source);
  };
}

PreflightResult run_preflight(const SystemView& sys, const PreflightRequest& req,
                              const MapSelector& select) {
  PreflightResult out;
  Checker c{out};
  check_root(sys, c);
  check_tools(sys, req, c);

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

  check_kernel_support(sys, c);
  check_lockdown(sys, c);
  if (req.module.empty())
    check_debuginfo(sys, release, req.build_dir, c);
  else if (!sys.exists(req.module))
    c.failed("module", Exit::usage, "module " + req.module, "no such file",
             "give the FILE.ko built by `harness build`");
  else
    c.ok("module", req.module);
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

} // namespace harness::run
