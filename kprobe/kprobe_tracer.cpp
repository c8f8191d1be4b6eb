#include "kprobe/kprobe_tracer.hpp"

#include "kernel/build_id.hpp"
#include "kernel/cache_dir.hpp"
#include "kprobe/definitions.hpp"
#include "kprobe/kprobe_checks.hpp"
#include "kprobe/kprobe_for_tree.hpp"
#include "kprobe/kprobe_session.hpp"
#include "kprobe/tracefs.hpp"
#include "probes/plan_maker.hpp"

namespace harness::kprobe {
namespace {

using tracer::BackendFacts;
using tracer::Obstacle;

// The running kernel's GNU build id (kprobe definitions are for one vmlinux); empty if unknown.
std::string running_build_id() {
  auto id = kernel::running_kernel_build_id();
  return id ? *id : std::string();
}

// The vmlinux with DWARF perf reads for the kernel a run probes: the -r tree's, else the
// distribution's debug package's.
Result<KprobeBuildRequest> vmlinux_here(const tracer::HereRequest& req) {
  KprobeBuildRequest kb;
  if (!req.build_dir.empty()) {
    auto tree = kernel::inspect_kernel_tree(req.build_dir);
    if (!tree)
      return std::unexpected(tree.error());
    kb.vmlinux = req.build_dir + "/vmlinux";
    kb.build_id = tree->build_id;
    kb.release = tree->release;
    return kb;
  }
  kb.release = req.machine->kernel_release();
  auto vmlinux = tracer::find_debug_vmlinux(*req.machine, kb.release);
  if (!vmlinux)
    return fail(Exit::no_debuginfo, "kernel " + kb.release, "no vmlinux with DWARF",
                "apt-get install linux-image-" + kb.release + "-dbg, or give -r BUILD_DIR");
  kb.vmlinux = *vmlinux;
  auto id = kernel::build_id_of_elf(*vmlinux);
  kb.build_id = id ? *id : "";
  return kb;
}

class KprobeTracer final : public tracer::Tracer {
public:
  std::string_view name() const override { return "kprobe"; }
  std::string_view title() const override { return "the kprobe tracer"; }
  std::string_view artifact_option() const override { return "--kprobes"; }
  std::string_view artifact_suffix() const override { return ".kprobes"; }
  std::string_view artifact_hint() const override {
    return "give the FILE.kprobes built by `harness build --backend kprobe`";
  }
  std::string_view artifact_help() const override {
    return "install these prebuilt kprobe definitions (NAME.kprobes of `harness build --backend "
           "kprobe`)";
  }
  std::string_view log_name() const override { return "kprobe.log"; }
  std::string_view stop_text() const override { return "events disabled and removed"; }
  // An event with its ring buffer header and up to eight 8-byte fetches; 4 MiB, what the tracer
  // used before harness sized it.
  tracer::BufferTraits buffer() const override { return {96, 4096, false}; }
  bool takes_script() const override { return false; }
  std::string_view instead() const override { return "kprobe events need no module"; }

  // perf is needed only to make definitions: pre-flight checks it (kprobe_checks.cpp).
  std::string tool_version(const tracer::Machine&, const tracer::Tools&) const override {
    return {};
  }
  Obstacle obstacle(const BackendFacts& f) const override {
    if (!f.in_vm && f.lockdown == "confidentiality")
      return {"lockdown=confidentiality refuses kprobes too", Exit::lockdown};
    return {};
  }
  std::string chosen_reason(const BackendFacts&) const override {
    return "kprobe: kprobe events need no module";
  }
  void check(const tracer::Machine& m, const tracer::CheckRequest& req,
             tracer::Checker& c) const override {
    check_kprobe(m, req, c);
  }
  Result<tracer::TreeProbes> build_for_tree(const tracer::TreeRequest& req) const override;
  Result<tracer::RunProbes> prepare_here(const tracer::HereRequest& req) const override;
  Status check_artifact(const std::string& artifact, const probes::ProbePlan& plan,
                        const std::string& running_build_id) const override;
  Result<std::unique_ptr<tracer::TracerSession>>
  start(const tracer::StartRequest& req) const override;
  // The kprobe events and tracefs instances of runs whose process is gone. Only where tracefs
  // is mounted (doctor mounts nothing): harness's runs mount it and leave it mounted.
  void remove_leftovers(const tracer::LineSink& say) const override {
    auto fs = Tracefs::find();
    if (!fs)
      return;
    auto removed = remove_stale(*fs, process_alive, [&say](const std::string& l) { say(l); });
    if (!removed)
      say(removed.error().what + ": " + removed.error().why);
  }
};

Result<tracer::TreeProbes> KprobeTracer::build_for_tree(const tracer::TreeRequest& req) const {
  if (req.script)
    return fail(Exit::usage, "--script",
                "is a SystemTap script; the kprobe tracer builds from a map",
                "drop --script, or use --backend stap");
  KprobeTreeRequest kr;
  kr.kernel_build = req.kernel_build;
  kr.tree = req.tree;
  kr.probes = req.probes;
  kr.map_override = req.map;
  kr.kernel_spec = req.kernel_spec;
  kr.out_dir = req.out_dir;
  kr.name = req.name;
  kr.cache_dir = req.cache_dir;
  kr.use_cache = req.use_cache;
  kr.on_progress = req.on_progress;
  auto built = kprobe_defs_for_tree(kr);
  if (!built)
    return std::unexpected(built.error());
  tracer::TreeProbes out;
  out.artifact = built->built.defs_path;
  out.plan_path = built->built.plan_path;
  out.from_cache = built->built.cache_hit;
  out.dropped = built->built.defs.dropped;
  out.map_provenance = built->map_provenance;
  out.map_note = built->map_note;
  out.tree = built->tree;
  out.what = "kprobe definitions";
  out.how = out.from_cache ? "from the cache" : "made with perf probe";
  out.summary = req.name + ".kprobes for " + out.tree.release + " (build id " +
                out.tree.build_id.substr(0, 12) +
                "): " + std::to_string(built->built.defs.events.size()) + " event(s), " + out.how;
  return out;
}

// Definitions made here for the kernel the run probes (perf probe against its vmlinux with DWARF):
// probes.kprobes and plan.json in the run directory.
Result<tracer::RunProbes> KprobeTracer::prepare_here(const tracer::HereRequest& req) const {
  auto plan = probes::make_plan(req.map, req.probes);
  if (!plan)
    return std::unexpected(plan.error());
  auto kb = vmlinux_here(req);
  if (!kb)
    return std::unexpected(kb.error());
  kb->map = req.map;
  kb->plan = std::move(*plan);
  kb->out_dir = req.dir;
  kb->name = "probes";
  kb->cache_dir = kernel::resolve_cache_dir("");
  kb->perf = req.tools.perf;
  kb->on_progress = req.say;
  req.say("making kprobe definitions with `" + req.tools.perf + " probe -k " + kb->vmlinux +
          " -D ...`");
  auto built = build_kprobe_defs(*kb);
  if (!built)
    return std::unexpected(built.error());
  if (auto s = probes::save_plan(probes::run_plan_path(req.dir), built->plan); !s)
    return std::unexpected(s.error());
  return tracer::RunProbes{std::move(built->plan), built->defs_path, false};
}

Status KprobeTracer::check_artifact(const std::string& artifact, const probes::ProbePlan& plan,
                                    const std::string& running_build_id) const {
  auto d = load_defs(artifact);
  if (!d)
    return std::unexpected(d.error());
  if (d->plan_id != plan.plan_id)
    return fail(Exit::usage, "--kprobes " + artifact,
                "implements plan " + d->plan_id + ", the plan given is " + plan.plan_id,
                "give the plan written next to the definitions");
  return check_defs_kernel(*d, running_build_id);
}

Result<std::unique_ptr<tracer::TracerSession>>
KprobeTracer::start(const tracer::StartRequest& req) const {
  auto defs = load_defs(req.probes.artifact);
  if (!defs)
    return std::unexpected(defs.error());
  KprobeSessionConfig kc;
  kc.defs = std::move(*defs);
  kc.plan = req.probes.plan;
  kc.trace_path = req.trace_path;
  kc.raw_path = req.dir + "/trace.tracefs.txt";
  kc.log_path = req.log_path;
  kc.running_build_id = running_build_id();
  kc.sleep_comms = req.sleep_comms;
  kc.buffer_kb = static_cast<unsigned>(req.buffer_kb);
  kc.on_progress = [say = req.say](std::string_view l) {
    say(l);
  };
  req.say("installing " + std::to_string(kc.defs.events.size()) +
          " kprobe event(s) (output: " + req.dir + ")");
  auto k = KprobeSession::start(std::move(kc));
  if (!k)
    return std::unexpected(k.error());
  return std::unique_ptr<tracer::TracerSession>(std::move(*k));
}

} // namespace

const tracer::Tracer& kprobe_tracer() {
  static const KprobeTracer tracer;
  return tracer;
}

} // namespace harness::kprobe
