#include "stap/module_build.hpp"

#include "base/files.hpp"
#include "base/sha1.hpp"
#include "base/signals.hpp"
#include "kernel/cache_dir.hpp"
#include "kernel/tree_map.hpp"
#include "probes/map_store.hpp"
#include "probes/plan_maker.hpp"
#include "stap/stap_env.hpp"
#include "stap/stap_output.hpp"
#include "stap/verify.hpp"
#include "tracer/tracer_choice.hpp"

#include <cctype>
#include <filesystem>
#include <unistd.h>

namespace harness::stap {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string first_line_with(std::string_view text, std::string_view needle) {
  const auto pos = text.find(needle);
  if (pos == std::string_view::npos)
    return {};
  const auto start = text.rfind('\n', pos);
  const auto end = text.find('\n', pos);
  return std::string(text.substr(start == std::string_view::npos ? 0 : start + 1,
                                 (end == std::string_view::npos ? text.size() : end) -
                                     (start == std::string_view::npos ? 0 : start + 1)));
}

// Never through a symlink or onto a device at TO (fs::copy_file would write through it).
Status copy_into(const std::string& from, const std::string& to) {
  return copy_file_atomic(from, to);
}

} // namespace

bool valid_module_name(std::string_view name) {
  return tracer::valid_artifact_name(name);
}

std::vector<std::string> stap_tree_args(const kernel::KernelTree& tree,
                                        const std::string& runtime) {
  std::vector<std::string> args;
  if (!runtime.empty())
    args.insert(args.end(), {"-R", runtime});
  // -O0 code: stap still sees "-O2 ... -O0" in the producer string, treats the function as
  // optimised and probes before the prologue, where $po reads fault (pitfall 3).
  if (tree.af_packet_O0)
    args.push_back("-P");
  args.push_back("-DSTP_NO_OVERLOAD");
  return args;
}

std::vector<std::string> stap_build_args(const kernel::KernelTree& tree, const std::string& runtime,
                                         const std::string& module_name,
                                         const std::string& script_path) {
  std::vector<std::string> args = {"-r", tree.build_dir};
  const auto tree_args = stap_tree_args(tree, runtime);
  args.insert(args.end(), tree_args.begin(), tree_args.end());
  args.insert(args.end(), {"-p4", "-v", "-m", module_name, script_path});
  return args;
}

Error classify_stap_failure(std::string_view err, const std::string& log) {
  const std::string hint_log = "stap's full output is in " + log;
  // The failure texts stap prints are recognised in one place, shared with `harness run`.
  if (auto d = stap::diagnose_stap_output(err))
    return {d->code, "stap", d->cause + " (stap said: \"" + d->evidence + "\")",
            d->hint + "; " + hint_log};
  // A cross build's own failure: the C compiler rejected the runtime for this kernel.
  if (auto l = first_line_with(err, "error:"); !l.empty())
    return {Exit::tracer_failed, "stap (module compile)", l,
            "the SystemTap runtime may not support this kernel; " + hint_log};
  return {Exit::tracer_failed, "stap", "failed without a recognised message", hint_log};
}

namespace {

void tell(const ModuleBuildRequest& req, const std::string& s) {
  if (req.on_progress)
    req.on_progress(s);
}

long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// NAME.stp, NAME.ko, NAME.stap.log (and NAME.plan.json) in the output directory: the script and
// the plan written now, and NAME.ko, written after minutes of compiling, checked now.
Status place_outputs(const ModuleBuildRequest& req, ModuleBuildResult& res) {
  const std::string& name = req.module_name;
  if (auto s = make_dirs(req.out_dir); !s)
    return s;
  res.script_path = req.out_dir + "/" + name + ".stp";
  res.module_path = req.out_dir + "/" + name + ".ko";
  res.log_path = req.out_dir + "/" + name + ".stap.log";
  if (auto s = check_output_path(res.module_path, ""); !s)
    return s;
  if (auto s = write_file_atomic(res.script_path, req.script_text); !s)
    return s;
  if (req.plan) {
    res.plan_path = probes::artifact_plan_path(res.module_path);
    if (auto s = probes::save_plan(res.plan_path, *req.plan); !s)
      return s;
  }
  return {};
}

// The module cache's key: the script, the kernel's build id, the name, stap's arguments (with
// the runtime by its directory's name) and stap's version.
std::string module_cache_key(const ModuleBuildRequest& req, const kernel::KernelTree& tree,
                             const std::string& runtime_path, const std::string& version) {
  std::string key_args;
  for (const auto& a :
       stap_build_args(tree, fs::path(runtime_path).filename().string(), req.module_name, "S"))
    key_args += a + " ";
  return kernel::cache_key(
      {sha1_hex(req.script_text), tree.build_id, req.module_name, key_args, version});
}

// stap writes NAME.ko into its working directory: a private staging directory with the script
// in it, renamed into the cache when complete, so concurrent builds never see half a module.
Result<std::string> stage_script(const ModuleBuildRequest& req, const std::string& cached_dir) {
  const std::string staging = cached_dir + ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(staging, ec);
  if (auto s = make_dirs(staging); !s)
    return std::unexpected(s.error());
  if (auto s = write_file_atomic(staging + "/" + req.module_name + ".stp", req.script_text); !s)
    return std::unexpected(s.error());
  return staging;
}

// How stap's build ended: its exit status (none: stopped at the time limit or on an interrupt)
// and its stderr.
struct StapRun {
  std::optional<ExitStatus> status;
  bool interrupted = false;
  std::string err_text;
};

// stap -p4 in the staging directory until it ends, the time limit or an interrupt; its command
// and output go to the log, its "Pass N" lines to the progress.
Result<StapRun> run_stap_build(const ModuleBuildRequest& req, const kernel::KernelTree& tree,
                               const std::string& runtime_path, const std::string& staging,
                               const std::string& log_path, Clock::time_point start) {
  const std::string& name = req.module_name;
  ChildSpec spec;
  spec.exe = "stap";
  spec.args = stap_build_args(tree, runtime_path, name, staging + "/" + name + ".stp");
  spec.cwd = staging;
  const std::string stap_dir = stap_data_dir(req.cache_dir);
  (void)make_dirs(stap_dir);
  spec.env.emplace_back("SYSTEMTAP_DIR", stap_dir);
  std::string log_text = "$ stap";
  for (const auto& a : spec.args)
    log_text += " " + a;
  log_text += "\n";
  StapRun run;
  spec.on_stdout = [&](std::string_view l) {
    log_text.append(l).push_back('\n');
  };
  spec.on_stderr = [&](std::string_view l) {
    log_text.append(l).push_back('\n');
    run.err_text.append(l).push_back('\n');
    if (l.starts_with("Pass "))
      tell(req, std::string(l.substr(0, l.find(" using "))));
  };
  tell(req, "building " + name + ".ko for " + tree.release + (tree.af_packet_O0 ? " (-P)" : ""));
  auto child = spawn(spec);
  if (!child)
    return fail(Exit::tool_missing, "stap", child.error().why,
                "apt-get install systemtap (or run `harness demo`)");
  const auto deadline = start + req.timeout;
  while (!run.status && Clock::now() < deadline && !interrupt_requested())
    run.status = (*child)->wait(std::chrono::milliseconds(250));
  run.interrupted = !run.status && interrupt_requested();
  if (!run.status)
    (*child)->terminate(std::chrono::milliseconds(2000));
  (void)write_file_atomic(log_path, log_text);
  return run;
}

// The built NAME.ko copied to the output directory and the staging directory moved into the
// cache; a failed, stopped or empty-handed build explained. The staging directory is gone after.
Status collect_module(const ModuleBuildRequest& req, const StapRun& run, const std::string& staging,
                      const std::string& cached_dir, const ModuleBuildResult& res) {
  const std::string built = staging + "/" + req.module_name + ".ko";
  std::error_code ec;
  auto failed = [&](Error e) {
    fs::remove_all(staging, ec);
    return Status(std::unexpected(std::move(e)));
  };
  if (run.interrupted)
    return failed({Exit::interrupted, "stap", "interrupted while building the module", ""});
  if (!run.status)
    return failed({Exit::tracer_failed, "stap",
                   "did not finish within " + std::to_string(req.timeout.count()) + " s",
                   "stap's output is in " + res.log_path});
  if (!run.status->success() || !fs::exists(built)) {
    auto e = classify_stap_failure(run.err_text, res.log_path);
    if (run.status->success())
      e.why = "exited 0 but left no " + req.module_name + ".ko";
    return failed(std::move(e));
  }
  if (auto s = copy_into(built, res.module_path); !s)
    return failed(s.error());
  if (req.use_cache) {
    fs::remove_all(cached_dir, ec);
    fs::rename(staging, cached_dir, ec);
  }
  fs::remove_all(staging, ec);
  return {};
}

} // namespace

Result<ModuleBuildResult> build_module(const ModuleBuildRequest& req) {
  const auto start = Clock::now();
  if (!valid_module_name(req.module_name))
    return fail(Exit::usage, "module name '" + req.module_name + "'",
                "must be 1-55 characters of [A-Za-z0-9_], not starting with a digit");
  auto tree = kernel::inspect_kernel_tree(req.kernel_build);
  if (!tree)
    return std::unexpected(tree.error());
  auto version = stap_version();
  if (!version)
    return std::unexpected(version.error());
  auto runtime = runtime_for_kernel(tree->task_work_cancel_renamed, req.cache_dir, *version);
  if (!runtime)
    return std::unexpected(runtime.error());
  if (!runtime->note.empty())
    tell(req, runtime->note);

  ModuleBuildResult res;
  res.tree = *tree;
  if (auto s = place_outputs(req, res); !s)
    return std::unexpected(s.error());
  const std::string cached_dir =
      req.cache_dir + "/modules/" + module_cache_key(req, *tree, runtime->path, *version);
  const std::string cached_ko = cached_dir + "/" + req.module_name + ".ko";
  res.stap_args = stap_build_args(*tree, runtime->path, req.module_name, res.script_path);
  if (req.use_cache && fs::exists(cached_ko)) {
    if (auto s = copy_into(cached_ko, res.module_path); !s)
      return std::unexpected(s.error());
    res.cache_hit = true;
    res.elapsed_ms = ms_since(start);
    return res;
  }

  auto hidden = hide_build_host_lockdown();
  if (!hidden)
    return std::unexpected(hidden.error());
  if (*hidden)
    tell(req, "build host is in lockdown: stap runs in a private mount namespace where "
              "/sys/kernel/security/lockdown reads [none] (the module is loaded only on the "
              "target)");
  auto staging = stage_script(req, cached_dir);
  if (!staging)
    return std::unexpected(staging.error());
  auto run = run_stap_build(req, *tree, runtime->path, *staging, res.log_path, start);
  if (!run)
    return std::unexpected(run.error());
  if (auto s = collect_module(req, *run, *staging, cached_dir, res); !s)
    return std::unexpected(s.error());
  res.elapsed_ms = ms_since(start);
  return res;
}

Result<GeneratedForTree> generate_for_tree(const kernel::KernelTree& tree, probes::ProbeSet set,
                                           const std::optional<probes::LineMap>& map_override,
                                           const std::string& kernel_spec,
                                           const std::string& cache_dir) {
  GeneratedForTree out;
  auto chosen = kernel::map_for_tree(tree, kernel_spec, map_override, cache_dir);
  if (!chosen)
    return std::unexpected(chosen.error());
  out.map_note = chosen->note;
  out.map_provenance = chosen->provenance;
  const probes::LineMap& map = chosen->map;
  const std::optional<std::string>& source = chosen->source;
  auto gen = stap::generate_script(map, set, source);
  if (!gen)
    return std::unexpected(gen.error());
  auto listings = list_af_packet_probes(tree.build_dir, cache_dir, tree.build_id);
  if (!listings)
    return std::unexpected(listings.error());
  const auto verified = check_anchors(map, set, listings->statements, listings->functions);
  for (const auto& row : verified.rows)
    if (row.unusable() && gen->plan.find(row.anchor))
      out.dropped.push_back(row.anchor);
  std::vector<std::string> skip = out.dropped;
  for (const auto& a : probes::unneeded_stand_ins(gen->plan, out.dropped))
    skip.push_back(a);
  if (skip.empty()) {
    out.script = std::move(*gen);
    return out;
  }
  // The probe set is known only from the first plan; generating again with the anchors left out
  // is cheap and keeps the script's text the generator's alone.
  auto filtered = stap::generate_script(map, set, source, stap::GenerateOptions{skip});
  if (!filtered)
    return std::unexpected(filtered.error());
  out.script = std::move(*filtered);
  return out;
}

} // namespace harness::stap
