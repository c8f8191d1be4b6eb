#include "vm/vm_session.hpp"

#include "base/files.hpp"
#include "kprobe/definitions.hpp"
#include "kprobe/kprobe_for_tree.hpp"
#include "probes/probe_plan.hpp"
#include "stap/stap_env.hpp"
#include "vm/qemu_command.hpp"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <unistd.h>

namespace harness::vm {
namespace {

namespace fs = std::filesystem;

std::string absolute(const std::string& p) {
  std::error_code ec;
  auto a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

bool has_arg(const std::vector<std::string>& args, std::string_view name) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
    return a == name || a.starts_with(std::string(name) + "=");
  });
}

// The prebuilt probes given to `vm run`, checked on the host before the VM directory is made:
// booting a guest (minutes under TCG) only for its `harness run` to refuse them would waste the
// boot and leave the directory behind. The guest's run checks them again, against its kernel.
Status check_prebuilt(const std::string& given, bool kprobes, const std::string& given_plan) {
  const std::string option = kprobes ? "--kprobes " : "--module ";
  const std::string suffix = kprobes ? ".kprobes" : ".ko";
  if (!given.ends_with(suffix))
    return fail(Exit::usage, option + given, "is not a NAME" + suffix + " file",
                kprobes ? "give the NAME.kprobes of `harness build --backend kprobe`"
                        : "give the NAME.ko of `harness build` (--kprobes takes NAME.kprobes)");
  std::optional<kprobe::KprobeDefs> defs;
  if (kprobes) {
    auto d = kprobe::load_defs(given);
    if (!d)
      return std::unexpected(d.error());
    defs = std::move(*d);
  } else {
    auto fd = open_regular_file(given);
    if (!fd)
      return std::unexpected(fd.error());
    ::close(*fd);
  }
  const std::string plan_path = given_plan.empty() ? probes::artifact_plan_path(given) : given_plan;
  auto plan = probes::load_plan(plan_path);
  if (!plan)
    return fail(plan.error().code, "plan " + plan_path + " of " + option + given, plan.error().why,
                "give the plan `harness build` wrote next to them with --plan FILE");
  if (defs && defs->plan_id != plan->plan_id)
    return fail(Exit::usage, option + given,
                "implements plan " + defs->plan_id + ", the plan given is " + plan->plan_id,
                "give the plan written next to the definitions");
  return {};
}

// A prebuilt artifact (NAME.ko or NAME.kprobes) and its plan, copied into the share: the guest
// sees the host's files read-only at the same paths, but not those under /tmp or /run, which it
// mounts over. Returns (artifact, plan) paths in the share; plan empty when there is none.
Result<std::pair<std::string, std::string>>
copy_prebuilt(const std::string& given, const std::string& given_plan, const std::string& out_dir) {
  const std::string name = fs::path(given).filename().string();
  const bool ko = name.ends_with(".ko");
  if (!ko && !name.ends_with(".kprobes"))
    return fail(Exit::usage, given, "is neither a .ko (stap) nor a .kprobes file");
  const std::string copy = out_dir + "/" + name;
  if (absolute(given) != copy)
    if (auto s = copy_file_atomic(given, copy); !s)
      return std::unexpected(s.error());
  const std::string plan = given_plan.empty() ? probes::artifact_plan_path(given) : given_plan;
  const std::string plan_copy = probes::artifact_plan_path(copy);
  if (fs::exists(plan)) {
    if (absolute(plan) != plan_copy)
      if (auto s = copy_file_atomic(plan, plan_copy); !s)
        return std::unexpected(s.error());
    return std::pair{copy, plan_copy};
  }
  if (!given_plan.empty())
    return fail(Exit::usage, "--plan " + given_plan, "does not exist");
  return std::pair{copy, std::string()};
}

void note_dropped(const std::vector<std::string>& dropped,
                  const std::function<void(const std::string&)>& note) {
  if (dropped.empty())
    return;
  std::string list;
  for (const auto& a : dropped)
    list += " " + a;
  note("this build cannot place " + std::to_string(dropped.size()) +
       " probe(s) (no line-table entry):" + list + "; their phases will be missing");
}

} // namespace

std::string timestamped_dir(const std::string& parent, const std::string& prefix) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return parent + "/" + prefix + "-" + buf + "-" + std::to_string(::getpid());
}

Result<AccelChoice> resolve_accel(const std::string& kernel_build, AccelRequest request,
                                  const std::string& cache_dir, const LineSink& on_progress) {
  auto image = kernel_image_of(kernel_build);
  if (!image)
    return std::unexpected(image.error());
  SystemAccelProber prober(cache_dir, *image);
  if (request == AccelRequest::automatic && !prober.cached()) {
    std::string why;
    if (prober.kvm_device_usable(why) && on_progress)
      on_progress("/dev/kvm is present: a 15 s probe boot checks whether KVM really runs this "
                  "guest (once per machine)");
  }
  auto accel = choose_accel(request, prober);
  if (accel && on_progress)
    on_progress("accelerator " + accel->reason + (accel->from_cache ? " (cached)" : ""));
  return accel;
}

Status check_vm_out_dir(const std::string& out_dir) {
  std::error_code ec;
  if (fs::is_directory(out_dir, ec) && !fs::is_empty(out_dir, ec))
    return fail(Exit::usage, "VM directory " + out_dir,
                "is not empty: the VM writes its console log, job files and results there and "
                "overwrites nothing it did not make",
                "choose a new or empty --out");
  return {};
}

Result<VmJobResult> run_job_in_vm(const VmJobRequest& req) {
  auto image = kernel_image_of(req.vm.kernel_build);
  if (!image)
    return std::unexpected(image.error());
  auto note = [&](const std::string& s) {
    if (req.vm.on_progress)
      req.vm.on_progress(s);
  };
  auto accel = req.chosen ? Result<AccelChoice>(*req.chosen)
                          : resolve_accel(req.vm.kernel_build, req.vm.accel, req.vm.cache_dir,
                                          req.vm.on_progress);
  if (!accel)
    return std::unexpected(accel.error());

  VmRunRequest run;
  run.kernel_image = *image;
  run.share_dir = absolute(req.vm.out_dir);
  run.job = req.job;
  run.accel = accel->accel;
  run.timeout = req.vm.timeout;
  run.memory_mb = req.vm.memory_mb;
  run.init_exe = req.vm.init_exe;
  run.on_console = req.vm.on_console;
  auto out = boot_vm(run);
  if (!out)
    return std::unexpected(out.error());
  auto status = judge_vm_run(*out, req.vm.timeout);
  if (!status)
    return std::unexpected(status.error());
  char secs[64];
  std::snprintf(secs, sizeof secs, "%.1f s (guest ready after %.1f s)",
                static_cast<double>(out->wall_ms) / 1000.0,
                static_cast<double>(out->ready_ms) / 1000.0);
  note("VM finished in " + std::string(secs));
  return VmJobResult{*accel, std::move(*out), std::move(*status)};
}

Result<tracer::BackendChoice> tracer_for_tree(const std::string& release,
                                              tracer::Backend requested) {
  tracer::BackendFacts facts;
  facts.kernel_release = release;
  facts.in_vm = true;
  if (auto v = stap::stap_version())
    facts.stap_version = *v;
  return tracer::choose_backend(requested, facts);
}

GuestJob harness_run_job(const std::string& harness_exe, const std::string& probes,
                         const std::string& plan, const std::string& run_dir,
                         const std::vector<std::string>& run_args, bool echo_output) {
  GuestJob job;
  job.echo_output = echo_output;
  GuestStep step;
  step.name = "run";
  step.argv = {harness_exe, "run", probes.ends_with(".ko") ? "--module" : "--kprobes", probes};
  if (!plan.empty()) {
    step.argv.push_back("--plan");
    step.argv.push_back(plan);
  }
  step.argv.push_back("--out");
  step.argv.push_back(run_dir);
  // `run --exec -- PROGRAM ARGS`: what follows `--` is the program's, never harness's options.
  const auto dashes = std::find(run_args.begin(), run_args.end(), "--");
  const std::vector<std::string> options(run_args.begin(), dashes);
  step.argv.insert(step.argv.end(), options.begin(), options.end());
  // The guest has no network device but `lo` and the veth pair `harness run --veth` makes; a
  // named interface is given as `--iface NAME` (a bare IFACE cannot be told from an option's
  // value here).
  if (!has_arg(options, "--veth") && !has_arg(options, "--netns") && !has_arg(options, "--iface"))
    step.argv.push_back("--veth");
  step.argv.insert(step.argv.end(), dashes, run_args.end());
  step.timeout_ms = 240000;
  job.steps.push_back(std::move(step));
  job.result_step = "run";
  // Fault injection for tests (HARNESS_FAULT_*, docs/DESIGN.md) reaches the guest's run.
  for (char** e = environ; e && *e; ++e)
    if (std::string_view kv(*e); kv.starts_with("HARNESS_FAULT_") && kv.find('=') != kv.npos)
      job.env.emplace_back(std::string(kv.substr(0, kv.find('='))),
                           std::string(kv.substr(kv.find('=') + 1)));
  return job;
}

namespace {

using Note = std::function<void(const std::string&)>;
using ProbeFiles = std::pair<std::string, std::string>; // the tracer artifact and its plan

// What both tracers say about the line map they used and the probes the tree cannot place.
void note_map(const std::string& provenance, const std::string& map_note,
              const std::vector<std::string>& dropped, HarnessRunResult& res, const Note& note) {
  if (!provenance.empty())
    note("af_packet.c: " + provenance);
  if (!map_note.empty())
    note("note: " + map_note);
  res.dropped = dropped;
  note_dropped(res.dropped, note);
}

Result<ProbeFiles> kprobes_for_vm(const HarnessRunRequest& req, const kernel::KernelTree& tree,
                                  const std::string& out_dir, HarnessRunResult& res,
                                  const Note& note) {
  kprobe::KprobeTreeRequest kr;
  kr.kernel_build = req.vm.kernel_build;
  kr.tree = tree;
  kr.probes = req.probes;
  kr.out_dir = out_dir;
  kr.cache_dir = req.vm.cache_dir;
  kr.on_progress = req.vm.on_progress;
  auto built = kprobe::kprobe_defs_for_tree(kr);
  if (!built)
    return std::unexpected(built.error());
  note_map(built->map_provenance, built->map_note, built->built.defs.dropped, res, note);
  res.module_from_cache = built->built.cache_hit;
  note(std::string("kprobe definitions ") +
       (built->built.cache_hit ? "from the cache" : "made with perf probe") + ": " +
       built->built.defs_path);
  return ProbeFiles{built->built.defs_path, built->built.plan_path};
}

Result<ProbeFiles> stap_module_for_vm(const HarnessRunRequest& req, const kernel::KernelTree& tree,
                                      const std::string& out_dir, HarnessRunResult& res,
                                      const Note& note) {
  auto gen = stap::generate_for_tree(tree, req.probes, std::nullopt, "", req.vm.cache_dir);
  if (!gen)
    return std::unexpected(gen.error());
  note_map(gen->map_provenance, gen->map_note, gen->dropped, res, note);
  stap::ModuleBuildRequest mb;
  mb.kernel_build = req.vm.kernel_build;
  mb.script_text = std::move(gen->script.text);
  mb.plan = std::move(gen->script.plan);
  mb.out_dir = out_dir;
  mb.cache_dir = req.vm.cache_dir;
  mb.on_progress = req.vm.on_progress;
  auto built = stap::build_module(mb);
  if (!built)
    return std::unexpected(built.error());
  res.module_from_cache = built->cache_hit;
  note(std::string("probe module ") + (built->cache_hit ? "from the cache" : "built") + ": " +
       built->module_path);
  return ProbeFiles{built->module_path, built->plan_path};
}

// The probes the guest loads: prebuilt, or built for the tree with the chosen tracer.
Result<ProbeFiles> probes_for_vm(const HarnessRunRequest& req, const std::string& out_dir,
                                 HarnessRunResult& res, const Note& note) {
  const std::string prebuilt = req.module.empty() ? req.kprobe_defs : req.module;
  if (!prebuilt.empty()) {
    res.tracer = {prebuilt.ends_with(".ko") ? tracer::Backend::stap : tracer::Backend::kprobe,
                  "prebuilt " + prebuilt};
    return copy_prebuilt(prebuilt, req.plan, out_dir);
  }
  auto tree = kernel::inspect_kernel_tree(req.vm.kernel_build); // once, for both tracers
  if (!tree)
    return std::unexpected(tree.error());
  auto choice = tracer_for_tree(tree->release, req.backend);
  if (!choice)
    return std::unexpected(choice.error());
  res.tracer = *choice;
  note("tracer " + choice->reason);
  if (choice->backend == tracer::Backend::kprobe)
    return kprobes_for_vm(req, *tree, out_dir, res, note);
  return stap_module_for_vm(req, *tree, out_dir, res, note);
}

} // namespace

Result<HarnessRunResult> run_harness_in_vm(const HarnessRunRequest& req) {
  HarnessRunResult res;
  for (const char* own : {"--out", "-o", "--module", "--kprobes", "--plan", "--build-dir", "-r",
                          "--kernel", "--backend"})
    if (has_arg(req.run_args, own))
      return fail(Exit::usage, std::string(own) + " after `--`",
                  "is set by `harness vm run` itself for the run inside the guest",
                  "use `harness vm run --out DIR` / `--backend` / `--module FILE.ko` / `--kprobes "
                  "FILE.kprobes` before the `--`");
  const std::string out_dir = absolute(req.vm.out_dir);
  // Everything the user gave is checked before the VM directory is made (and kept).
  if (auto s = check_vm_settings(out_dir, req.vm.memory_mb); !s)
    return std::unexpected(s.error());
  if (!req.module.empty() || !req.kprobe_defs.empty())
    if (auto s = check_prebuilt(req.module.empty() ? req.kprobe_defs : req.module,
                                req.module.empty(), req.plan);
        !s)
      return std::unexpected(s.error());
  if (auto s = check_vm_out_dir(out_dir); !s)
    return std::unexpected(s.error());
  if (auto s = make_dirs(out_dir); !s)
    return std::unexpected(s.error());
  auto note = [&](const std::string& s) {
    if (req.vm.on_progress)
      req.vm.on_progress(s);
  };
  std::string init = req.vm.init_exe;
  if (init.empty()) {
    auto exe = self_exe();
    if (!exe)
      return std::unexpected(exe.error());
    init = *exe;
  }

  auto probes = probes_for_vm(req, out_dir, res, note);
  if (!probes)
    return std::unexpected(probes.error());
  const std::string module = probes->first;
  const std::string plan = probes->second;
  res.module_path = module;
  res.run_dir = out_dir + "/run";

  auto accel =
      resolve_accel(req.vm.kernel_build, req.vm.accel, req.vm.cache_dir, req.vm.on_progress);
  if (!accel)
    return std::unexpected(accel.error());
  VmJobRequest vr;
  vr.vm = req.vm;
  vr.vm.out_dir = out_dir;
  vr.vm.init_exe = init;
  vr.job = harness_run_job(init, module, plan, res.run_dir, req.run_args, req.echo_output);
  vr.chosen = *accel;
  auto vm = run_job_in_vm(vr);
  if (!vm)
    return std::unexpected(vm.error());
  res.vm = std::move(*vm);
  res.exit_code = res.vm.status.result;
  res.run_stdout = out_dir + "/run.stdout";
  res.run_stderr = out_dir + "/run.stderr";
  for (const auto& s : res.vm.status.steps)
    if (s.name == "run" && (!s.started || s.timed_out))
      return fail(Exit::vm_failed, "harness run in the VM",
                  s.timed_out ? "did not finish within its time limit" : s.error,
                  "its output is in " + res.run_stderr);
  return res;
}

} // namespace harness::vm
