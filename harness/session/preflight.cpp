#include "harness/session/preflight.hpp"

#include "kernel/line_map_select.hpp"
#include "probes/anchors.hpp"
#include "probes/probe_plan.hpp"
#include "tracers/tracers.hpp"

#include <sstream>

namespace harness::session {
namespace {

using tracer::Checker;
using tracer::trim;

void check_root(const SystemView& sys, Checker& c) {
  if (sys.euid() == 0)
    c.ok("root", "running as root");
  else
    c.failed("root", Exit::not_root, "not root",
             "probing the kernel and using a TX ring need root (uid " + std::to_string(sys.euid()) +
                 ")",
             "run with sudo");
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
  if (!req.artifact.empty()) {
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
  if (!req.artifact.empty() && req.backend)
    return tracer::BackendChoice{req.backend, std::string(req.backend->name()) + " (prebuilt " +
                                                  req.artifact + ")"};
  return tracers::choose(req.backend, tracers::gather_facts(sys, req.tools, release, false));
}

} // namespace

const Check* PreflightResult::first_failure() const {
  for (const auto& c : checks)
    if (c.state == CheckState::fail)
      return &c;
  return nullptr;
}

MapSelector shipped_map_selector() {
  return [](std::string_view spec, std::string_view release,
            const probes::KernelSource* source) -> Result<probes::MapSelection> {
    return kernel::select_line_map(
        {.kernel_spec = std::string(spec), .release = std::string(release), .source = source});
  };
}

PreflightResult run_preflight(const SystemView& sys, const PreflightRequest& req,
                              const MapSelector& select) {
  PreflightResult out;
  Checker c{out.checks};
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
  if (tracer) {
    c.ok("tracer", tracer->reason);
    out.tracer = *tracer;
  } else {
    c.failed("tracer", tracer.error().code, tracer.error().what, tracer.error().why,
             tracer.error().hint);
  }
  // The tracer asked for still gets its checks listed when it cannot probe: doctor shows all
  // that it lacks.
  if (const tracer::Tracer* t = tracer ? tracer->tracer : req.backend)
    t->check(sys, {release, req.build_dir, req.artifact, req.tools}, c);
  check_interface(sys, req, c);
  check_map(sys, req, release, select, out, c);
  return out;
}

std::string format_checks(const PreflightResult& r) {
  std::ostringstream o;
  for (const auto& c : r.checks) {
    std::string name = c.name;
    name.resize(std::max<std::size_t>(name.size(), 15), ' ');
    const auto state = check_state_name(c.state);
    o << "  " << std::string(state) << std::string(state.size() < 6 ? 6 - state.size() : 1, ' ')
      << name << " " << c.detail;
    if (c.state == CheckState::warn && !c.error.why.empty() && c.error.why != c.detail)
      o << ": " << c.error.why;
    o << "\n";
    if (c.state != CheckState::ok && c.state != CheckState::skip && !c.error.hint.empty())
      o << "        hint: " << c.error.hint << "\n";
  }
  return o.str();
}

} // namespace harness::session
