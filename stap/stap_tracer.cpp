#include "stap/stap_tracer.hpp"

#include "base/files.hpp"
#include "kernel/cache_dir.hpp"
#include "stap/generate.hpp"
#include "stap/module_build.hpp"
#include "stap/stap_checks.hpp"
#include "stap/stap_env.hpp"
#include "stap/stap_supervisor.hpp"
#include "tracer/tracer_choice.hpp"

#include <array>
#include <cstdlib>
#include <filesystem>
#include <sys/utsname.h>
#include <unistd.h>

namespace harness::stap {
namespace {

namespace fs = std::filesystem;

using tracer::BackendFacts;
using tracer::Obstacle;

std::string version_text(std::pair<int, int> v) {
  return std::to_string(v.first) + "." + std::to_string(v.second);
}

// SystemTap release -> newest kernel its runtime was tested with (docs/DESIGN.md "Tracers").
constexpr std::array<std::pair<std::pair<int, int>, std::pair<int, int>>, 8> kStapRange = {{
    {{4, 8}, {6, 1}},
    {{4, 9}, {6, 3}},
    {{5, 0}, {6, 6}},
    {{5, 1}, {6, 9}},
    {{5, 2}, {6, 12}},
    {{5, 3}, {6, 15}},
    {{5, 4}, {6, 18}},
    {{5, 5}, {7, 0}},
}};

// The SYSTEMTAP_DIR harness gives a run's stap: the harness cache's (stap_data_dir), unless the
// user set one ("": theirs is inherited). Read-only (a VM guest's view of the host's cache) is
// fine: stap then only reads it.
std::string cache_stap_dir() {
  if (const char* own = std::getenv("SYSTEMTAP_DIR"); own && *own)
    return {};
  const std::string dir = stap_data_dir(kernel::resolve_cache_dir(""));
  return fs::is_directory(dir) || make_dirs(dir) ? dir : std::string();
}

// A variable as the child gets it: set in its spec, else inherited.
std::string env_of(const ChildSpec& spec, const std::string& key) {
  for (const auto& [k, v] : spec.env)
    if (k == key)
      return v;
  const char* inherited = std::getenv(key.c_str());
  return inherited ? inherited : "";
}

// stap compiling the run's script, or staprun loading the prebuilt module.
ChildSpec stap_command(const tracer::StartRequest& req) {
  ChildSpec spec;
  // The transport buffer per CPU in whole MB: staprun -b for a prebuilt module, stap -s.
  const std::string mb = std::to_string(std::max<std::uint64_t>((req.buffer_kb + 1023) / 1024, 1));
  const auto& tools = req.tools;
  if (req.probes.prebuilt) {
    spec.exe = tools.staprun;
    spec.args = {"-b", mb};
    spec.args.insert(spec.args.end(), tools.stap_args.begin(), tools.stap_args.end());
    spec.args.push_back(req.probes.artifact);
    return spec;
  }
  spec.exe = tools.stap;
  spec.args = {"-v", "-s", mb};
  if (!req.build_dir.empty()) // absolute: stap runs in the run directory (below)
    spec.args.insert(spec.args.end(),
                     {"-r", fs::absolute(req.build_dir).lexically_normal().string()});
  // Only the installed stap: another one (--stap, a test's stand-in) brings its own runtime.
  if (tools.stap == "stap") {
    const auto tuning = run_compile_options(req.build_dir, req.say);
    spec.args.insert(spec.args.end(), tuning.begin(), tuning.end());
    if (const std::string dir = cache_stap_dir(); !dir.empty())
      spec.env.emplace_back("SYSTEMTAP_DIR", dir);
  }
  spec.args.insert(spec.args.end(), tools.stap_args.begin(), tools.stap_args.end());
  spec.args.push_back(req.probes.artifact);
  if (tools.stap == "stap") {
    // stap names the script's private functions after its path as given, and its cache key
    // holds them: from the run directory as `probes.stp`, every run of the same script on the
    // same tree finds the module compiled before, whatever --out was (docs/tracing-notes.md).
    const fs::path script(req.probes.artifact);
    spec.cwd = script.parent_path().empty() ? "." : script.parent_path().string();
    spec.args.back() = script.filename().string();
  }
  return spec;
}

class StapTracer final : public tracer::Tracer {
public:
  std::string_view name() const override { return "stap"; }
  std::string_view title() const override { return "stap"; }
  std::string_view artifact_option() const override { return "--module"; }
  std::string_view artifact_suffix() const override { return ".ko"; }
  std::string_view artifact_hint() const override {
    return "give the FILE.ko built by `harness build`";
  }
  std::string_view artifact_help() const override {
    return "load this prebuilt probe module (NAME.ko of `harness build`) with staprun, no compile";
  }
  std::string_view log_name() const override { return "stap.log"; }
  std::string_view stop_text() const override { return "SIGINT, then SIGTERM, then SIGKILL"; }
  // A record line of up to about 150 characters; stap's own default of 16 MiB (_stp_nsubbufs).
  tracer::BufferTraits buffer() const override { return {160, 16 << 10, true}; }
  bool takes_script() const override { return true; }
  std::string_view instead() const override { return {}; }

  std::string tool_version(const tracer::Machine& m, const tracer::Tools& t) const override {
    return stap_version_on(m, t.stap);
  }
  Obstacle obstacle(const BackendFacts& f) const override;
  std::string chosen_reason(const BackendFacts& f) const override {
    const std::string v = f.tool_version(name());
    return "stap: SystemTap " + v.substr(0, v.find('/')) + " can build and load its module for " +
           f.kernel_release;
  }
  void check(const tracer::Machine& m, const tracer::CheckRequest& req,
             tracer::Checker& c) const override {
    check_stap(m, req, c);
  }
  Result<tracer::TreeProbes> build_for_tree(const tracer::TreeRequest& req) const override;
  Result<tracer::RunProbes> prepare_here(const tracer::HereRequest& req) const override;
  Status check_artifact(const std::string& artifact, const probes::ProbePlan&,
                        const std::string&) const override {
    // staprun checks the module against the kernel it loads it into.
    auto fd = open_regular_file(artifact);
    if (!fd)
      return std::unexpected(fd.error());
    ::close(*fd);
    return {};
  }
  Result<std::unique_ptr<tracer::TracerSession>>
  start(const tracer::StartRequest& req) const override;
  // A killed stap's module is unloaded by the kernel's staprun cleanup or the next run's; there
  // is nothing of harness's own to remove.
  void remove_leftovers(const tracer::LineSink&) const override {}
};

Obstacle StapTracer::obstacle(const BackendFacts& f) const {
  const std::string version = f.tool_version(name());
  if (version.empty())
    return {"SystemTap is not installed", Exit::tool_missing};
  if (!f.in_vm && f.modules_disabled)
    return {"this kernel does not load modules", Exit::unsupported};
  if (!f.in_vm && !f.lockdown.empty() && f.lockdown != "none")
    return {"the kernel is locked down (" + f.lockdown + ") and refuses unsigned modules",
            Exit::lockdown};
  if (!f.in_vm && f.module_signing_enforced)
    return {"module.sig_enforce refuses unsigned modules such as stap's", Exit::lockdown};
  const auto newest = stap_newest_kernel(version);
  const auto kernel = tracer::kernel_major_minor(f.kernel_release);
  if (newest && kernel && *kernel > *newest)
    return {"SystemTap " + version.substr(0, version.find('/')) +
                " builds modules for kernels up to " + version_text(*newest) + ", this kernel is " +
                f.kernel_release,
            Exit::unsupported};
  return {};
}

// The script for the tree (or the user's --script), cross-compiled into NAME.ko.
Result<tracer::TreeProbes> StapTracer::build_for_tree(const tracer::TreeRequest& req) const {
  ModuleBuildRequest mb;
  mb.kernel_build = req.kernel_build;
  mb.module_name = req.name;
  mb.out_dir = req.out_dir;
  mb.cache_dir = req.cache_dir;
  mb.use_cache = req.use_cache;
  mb.on_progress = req.on_progress;
  tracer::TreeProbes out;
  if (req.script) {
    mb.script_text = *req.script;
    mb.plan = req.script_plan;
  } else {
    auto tree = req.tree ? Result<kernel::KernelTree>(*req.tree)
                         : kernel::inspect_kernel_tree(req.kernel_build);
    if (!tree)
      return std::unexpected(tree.error());
    auto gen = generate_for_tree(*tree, req.probes, req.map, req.kernel_spec, req.cache_dir);
    if (!gen)
      return std::unexpected(gen.error());
    out.dropped = std::move(gen->dropped);
    out.map_note = std::move(gen->map_note);
    out.map_provenance = std::move(gen->map_provenance);
    mb.script_text = std::move(gen->script.text);
    mb.plan = std::move(gen->script.plan);
  }
  auto built = build_module(mb);
  if (!built)
    return std::unexpected(built.error());
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f s", static_cast<double>(built->elapsed_ms) / 1000.0);
  out.artifact = built->module_path;
  out.plan_path = built->plan_path;
  out.from_cache = built->cache_hit;
  out.tree = built->tree;
  out.what = "probe module";
  out.how = built->cache_hit ? "from the cache" : "built";
  out.summary = req.name + ".ko for " + out.tree.release + " (build id " +
                out.tree.build_id.substr(0, 12) + "): " + out.how + " in " + secs +
                (out.tree.af_packet_O0 ? "; af_packet.c at -O0, built with -P" : "");
  return out;
}

// probes.stp and its plan in the run directory; stap compiles it when the run starts.
Result<tracer::RunProbes> StapTracer::prepare_here(const tracer::HereRequest& req) const {
  auto gen = generate_script(req.map, req.probes, std::nullopt);
  if (!gen)
    return std::unexpected(gen.error());
  const std::string script = req.dir + "/probes.stp";
  if (auto s = write_file_atomic(script, gen->text); !s)
    return std::unexpected(s.error());
  if (auto s = probes::save_plan(probes::script_plan_path(script), gen->plan); !s)
    return std::unexpected(s.error());
  return tracer::RunProbes{std::move(gen->plan), script, false};
}

Result<std::unique_ptr<tracer::TracerSession>>
StapTracer::start(const tracer::StartRequest& req) const {
  SupervisorConfig sc;
  sc.spec = stap_command(req);
  sc.trace_path = req.trace_path;
  sc.log_path = req.log_path;
  sc.on_progress = [say = req.say](const StapProgress& p) {
    say(format_stap_progress(p));
  };
  sc.launcher = req.launcher;
  req.say("starting " + describe_command(sc.spec) + " (output: " + req.dir + ")");
  if (!req.probes.prebuilt)
    if (const std::string dir = env_of(sc.spec, "SYSTEMTAP_DIR"); !dir.empty())
      req.say("stap's cache: SYSTEMTAP_DIR=" + dir);
  auto sup = StapSupervisor::start(std::move(sc));
  if (!sup)
    return std::unexpected(sup.error());
  return std::unique_ptr<tracer::TracerSession>(std::move(*sup));
}

} // namespace

std::vector<std::string> run_compile_options(const std::string& build_dir,
                                             const tracer::LineSink& say) {
  std::string dir = build_dir;
  if (dir.empty()) {
    struct utsname u {};
    if (::uname(&u) != 0)
      return {};
    dir = std::string("/lib/modules/") + u.release + "/build";
  }
  const auto tree = kernel::kernel_tree_facts(dir);
  std::string runtime;
  if (auto version = stap_version()) {
    auto rt =
        runtime_for_kernel(tree.task_work_cancel_renamed, kernel::resolve_cache_dir(""), *version);
    if (!rt) {
      say("warning: " + rt.error().why + "; stap uses its installed runtime");
    } else if (!rt->path.empty()) {
      runtime = rt->path;
      say(rt->note);
    }
  }
  if (tree.af_packet_O0)
    say("af_packet.c was built at -O0 (" + tree.af_packet_O0_evidence + "): stap -P");
  return stap_tree_args(tree, runtime);
}

std::optional<std::pair<int, int>> stap_newest_kernel(std::string_view stap_version) {
  const auto v = tracer::kernel_major_minor(stap_version);
  if (!v)
    return std::nullopt;
  for (const auto& [stap, kernel] : kStapRange)
    if (stap == *v)
      return kernel;
  return std::nullopt; // newer than the table: assume it knows its kernels
}

const tracer::Tracer& stap_tracer() {
  static const StapTracer tracer;
  return tracer;
}

} // namespace harness::stap
