#include "stap/module_build.hpp"

#include "base/files.hpp"
#include "base/sha1.hpp"
#include "base/signals.hpp"
#include "kernel/cache_dir.hpp"
#include "kernel/tree_map.hpp"
#include "probes/map_store.hpp"
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
  auto note = [&](const std::string& s) {
    if (req.on_progress)
      req.on_progress(s);
  };

  auto runtime = runtime_for_kernel(tree->task_work_cancel_renamed, req.cache_dir, *version);
  if (!runtime)
    return std::unexpected(runtime.error());
  if (!runtime->note.empty())
    note(runtime->note);

  ModuleBuildResult res;
  res.tree = *tree;
  const std::string name = req.module_name;
  if (auto s = make_dirs(req.out_dir); !s)
    return std::unexpected(s.error());
  res.script_path = req.out_dir + "/" + name + ".stp";
  res.module_path = req.out_dir + "/" + name + ".ko";
  res.log_path = req.out_dir + "/" + name + ".stap.log";
  // NAME.ko is written after minutes of compiling: a path it cannot take fails now.
  if (auto s = check_output_path(res.module_path, ""); !s)
    return std::unexpected(s.error());
  if (auto s = write_file_atomic(res.script_path, req.script_text); !s)
    return std::unexpected(s.error());
  if (req.plan) {
    res.plan_path = probes::artifact_plan_path(res.module_path);
    if (auto s = probes::save_plan(res.plan_path, *req.plan); !s)
      return std::unexpected(s.error());
  }

  const std::string key_args = [&] {
    std::string s;
    for (const auto& a :
         stap_build_args(*tree, fs::path(runtime->path).filename().string(), name, "S"))
      s += a + " ";
    return s;
  }();
  const std::string key =
      kernel::cache_key({sha1_hex(req.script_text), tree->build_id, name, key_args, *version});
  const std::string cached_dir = req.cache_dir + "/modules/" + key;
  const std::string cached_ko = cached_dir + "/" + name + ".ko";
  res.stap_args = stap_build_args(*tree, runtime->path, name, res.script_path);
  if (req.use_cache && fs::exists(cached_ko)) {
    if (auto s = copy_into(cached_ko, res.module_path); !s)
      return std::unexpected(s.error());
    res.cache_hit = true;
    res.elapsed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    return res;
  }

  auto hidden = hide_build_host_lockdown();
  if (!hidden)
    return std::unexpected(hidden.error());
  if (*hidden)
    note("build host is in lockdown: stap runs in a private mount namespace where "
         "/sys/kernel/security/lockdown reads [none] (the module is loaded only on the target)");

  // stap writes NAME.ko into its working directory: a private staging directory, renamed into
  // the cache when complete, so concurrent builds never see half a module.
  const std::string staging = cached_dir + ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(staging, ec);
  if (auto s = make_dirs(staging); !s)
    return std::unexpected(s.error());
  const std::string staged_script = staging + "/" + name + ".stp";
  if (auto s = write_file_atomic(staged_script, req.script_text); !s)
    return std::unexpected(s.error());

  ChildSpec spec;
  spec.exe = "stap";
  spec.args = stap_build_args(*tree, runtime->path, name, staged_script);
  spec.cwd = staging;
  const std::string stap_dir = stap_data_dir(req.cache_dir);
  (void)make_dirs(stap_dir);
  spec.env.emplace_back("SYSTEMTAP_DIR", stap_dir);
  std::string log_text = "$ stap";
  for (const auto& a : spec.args)
    log_text += " " + a;
  log_text += "\n";
  std::string err_text;
  spec.on_stdout = [&](std::string_view l) {
    log_text.append(l).push_back('\n');
  };
  spec.on_stderr = [&](std::string_view l) {
    log_text.append(l).push_back('\n');
    err_text.append(l).push_back('\n');
    if (l.starts_with("Pass "))
      note(std::string(l.substr(0, l.find(" using "))));
  };
  note("building " + name + ".ko for " + tree->release + (tree->af_packet_O0 ? " (-P)" : ""));
  auto child = spawn(spec);
  if (!child)
    return fail(Exit::tool_missing, "stap", child.error().why,
                "apt-get install systemtap (or run `harness demo`)");
  std::optional<ExitStatus> st;
  const auto deadline = start + req.timeout;
  while (!st && Clock::now() < deadline && !interrupt_requested())
    st = (*child)->wait(std::chrono::milliseconds(250));
  const bool interrupted = !st && interrupt_requested();
  if (!st)
    (*child)->terminate(std::chrono::milliseconds(2000));
  (void)write_file_atomic(res.log_path, log_text);
  auto cleanup = [&] {
    fs::remove_all(staging, ec);
  };
  if (interrupted) {
    cleanup();
    return fail(Exit::interrupted, "stap", "interrupted while building the module");
  }
  if (!st) {
    cleanup();
    return fail(Exit::tracer_failed, "stap",
                "did not finish within " + std::to_string(req.timeout.count()) + " s",
                "stap's output is in " + res.log_path);
  }
  if (!st->success() || !fs::exists(staging + "/" + name + ".ko")) {
    cleanup();
    auto e = classify_stap_failure(err_text, res.log_path);
    if (st->success())
      e.why = "exited 0 but left no " + name + ".ko";
    return std::unexpected(e);
  }
  if (auto s = copy_into(staging + "/" + name + ".ko", res.module_path); !s) {
    cleanup();
    return std::unexpected(s.error());
  }
  if (req.use_cache) {
    fs::remove_all(cached_dir, ec);
    fs::rename(staging, cached_dir, ec);
  }
  cleanup();
  res.elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
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
  if (out.dropped.empty()) {
    out.script = std::move(*gen);
    return out;
  }
  // The probe set is known only from the first plan; generating again with the anchors left out
  // is cheap and keeps the script's text the generator's alone.
  auto filtered = stap::generate_script(map, set, source, stap::GenerateOptions{out.dropped});
  if (!filtered)
    return std::unexpected(filtered.error());
  out.script = std::move(*filtered);
  return out;
}

} // namespace harness::stap
