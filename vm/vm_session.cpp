#include "vm/vm_session.hpp"

#include "base/files.hpp"
#include "probes/probe_plan.hpp"
#include "tracers/tracers.hpp"
#include "vm/initramfs.hpp"
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
Status check_prebuilt(const tracer::Tracer& t, const std::string& given,
                      const std::string& given_plan) {
  const std::string option = std::string(t.artifact_option()) + " ";
  const std::string suffix(t.artifact_suffix());
  if (!given.ends_with(suffix))
    return fail(Exit::usage, option + given, "is not a NAME" + suffix + " file",
                std::string(t.artifact_hint()));
  const std::string plan_path = given_plan.empty() ? probes::artifact_plan_path(given) : given_plan;
  auto plan = probes::load_plan(plan_path);
  if (!plan)
    return fail(plan.error().code, "plan " + plan_path + " of " + option + given, plan.error().why,
                "give the plan `harness build` wrote next to them with --plan FILE");
  return t.check_artifact(given, *plan, ""); // the guest's kernel is not this one
}

// A prebuilt artifact (NAME.ko or NAME.kprobes) and its plan, copied into the share: the guest
// sees the host's files read-only at the same paths, but not those under /tmp or /run, which it
// mounts over. Returns (artifact, plan) paths in the share; plan empty when there is none.
Result<std::pair<std::string, std::string>>
copy_prebuilt(const std::string& given, const std::string& given_plan, const std::string& out_dir) {
  const std::string name = fs::path(given).filename().string();
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
       " probe(s) (no line-table entry):" + list +
       "; their phases are missing where no stand-in shows them");
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

Result<BootKernel> boot_kernel(const VmSettings& vm) {
  BootKernel k;
  if (vm.debian_kernel.empty()) {
    auto image = kernel_image_of(vm.kernel_build);
    if (!image)
      return std::unexpected(image.error());
    k.image = *image;
    return k;
  }
  auto debian = kernel::fetch_debian_kernel(
      {.release = vm.debian_kernel, .cache_dir = vm.cache_dir, .on_progress = vm.on_progress});
  if (!debian)
    return std::unexpected(debian.error());
  auto modules = guest_module_files(debian->modules);
  if (!modules)
    return std::unexpected(modules.error());
  k.image = debian->image;
  k.initramfs_modules = std::move(*modules);
  k.debian = std::move(*debian);
  return k;
}

Result<AccelChoice> resolve_accel(const std::string& kernel_image, AccelRequest request,
                                  const std::string& cache_dir, const LineSink& on_progress) {
  SystemAccelProber prober(cache_dir, kernel_image);
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
  auto kernel = req.kernel ? Result<BootKernel>(*req.kernel) : boot_kernel(req.vm);
  if (!kernel)
    return std::unexpected(kernel.error());
  auto note = [&](const std::string& s) {
    if (req.vm.on_progress)
      req.vm.on_progress(s);
  };
  auto accel =
      req.chosen ? Result<AccelChoice>(*req.chosen)
                 : resolve_accel(kernel->image, req.vm.accel, req.vm.cache_dir, req.vm.on_progress);
  if (!accel)
    return std::unexpected(accel.error());

  VmRunRequest run;
  run.kernel_image = kernel->image;
  run.initramfs_modules = kernel->initramfs_modules;
  run.share_dir = absolute(req.vm.out_dir);
  run.job = req.job;
  // The guest sees this machine's files at the same paths, the cache read-only: its harness uses
  // the same cache, so what the host prepared there (stap's patched runtime, compiled modules in
  // stap's cache) is found, also when the cache is not the default one ($HARNESS_CACHE).
  const bool has_cache = std::any_of(run.job.env.begin(), run.job.env.end(),
                                     [](const auto& kv) { return kv.first == "HARNESS_CACHE"; });
  if (!req.vm.cache_dir.empty() && !has_cache)
    run.job.env.emplace_back("HARNESS_CACHE", absolute(req.vm.cache_dir));
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

GuestJob harness_run_job(const std::string& harness_exe, const std::string& probes,
                         const std::string& plan, const std::string& run_dir,
                         const std::vector<std::string>& run_args, bool echo_output) {
  GuestJob job;
  job.echo_output = echo_output;
  GuestStep step;
  step.name = "run";
  const tracer::Tracer* t = tracers::for_artifact(probes);
  step.argv = {harness_exe, "run", std::string((t ? t : tracers::all().front())->artifact_option()),
               probes};
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

// A stock Debian kernel is probed with kprobe events: they need only its -dbg vmlinux, while a
// SystemTap module needs the kernel's headers package too (not fetched yet).
Result<tracer::BackendChoice> tracer_for_debian(const tracer::Tracer* requested) {
  auto kprobe = tracers::parse("kprobe");
  if (!kprobe)
    return std::unexpected(kprobe.error());
  if (requested && requested != *kprobe)
    return fail(Exit::usage, "--backend " + tracers::name_of(requested),
                "cannot probe a stock Debian kernel yet: its probe module would need the "
                "kernel's linux-headers package, which harness does not fetch",
                "use --backend kprobe (the default for --debian-kernel)");
  return tracer::BackendChoice{*kprobe, "kprobe: a stock Debian kernel, probed with kprobe "
                                        "events from its -dbg vmlinux"};
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

// The probes the guest loads: prebuilt, or built for the kernel with the chosen tracer.
Result<ProbeFiles> probes_for_vm(const HarnessRunRequest& req, const BootKernel& boot,
                                 const std::string& out_dir, HarnessRunResult& res,
                                 const Note& note) {
  if (!req.artifact.empty()) {
    res.tracer = {req.backend, "prebuilt " + req.artifact};
    return copy_prebuilt(req.artifact, req.plan, out_dir);
  }
  // Inspected once, for the choice and the build.
  auto tree = boot.debian ? Result<kernel::KernelTree>(kernel::tree_of(*boot.debian))
                          : kernel::inspect_kernel_tree(req.vm.kernel_build);
  if (!tree)
    return std::unexpected(tree.error());
  auto choice = boot.debian ? tracer_for_debian(req.backend)
                            : tracers::choose_for_tree(tree->release, req.backend);
  if (!choice)
    return std::unexpected(choice.error());
  res.tracer = *choice;
  note("tracer " + choice->reason);
  tracer::TreeRequest tr;
  tr.kernel_build = tree->build_dir;
  tr.tree = *tree;
  tr.probes = req.probes;
  tr.out_dir = out_dir;
  tr.cache_dir = req.vm.cache_dir;
  tr.on_progress = req.vm.on_progress;
  auto built = choice->tracer->build_for_tree(tr);
  if (!built)
    return std::unexpected(built.error());
  note_map(built->map_provenance, built->map_note, built->dropped, res, note);
  res.module_from_cache = built->from_cache;
  note(built->what + " " + built->how + ": " + built->artifact);
  return ProbeFiles{built->artifact, built->plan_path};
}

// Options after `--` that `vm run` sets itself for the run inside the guest.
Status check_guest_run_args(const std::vector<std::string>& run_args) {
  std::vector<std::string> own = {"--out", "-o",       "--plan",   "--build-dir",
                                  "-r",    "--kernel", "--backend"};
  std::string prebuilt_options;
  for (const auto* t : tracers::all()) {
    own.emplace_back(t->artifact_option());
    prebuilt_options += " / `" + std::string(t->artifact_option()) + " FILE" +
                        std::string(t->artifact_suffix()) + "`";
  }
  for (const auto& o : own)
    if (has_arg(run_args, o))
      return fail(Exit::usage, o + " after `--`",
                  "is set by `harness vm run` itself for the run inside the guest",
                  "use `harness vm run --out DIR` / `--backend`" + prebuilt_options +
                      " before the `--`");
  return {};
}

} // namespace

Result<HarnessRunResult> run_harness_in_vm(const HarnessRunRequest& req) {
  HarnessRunResult res;
  if (auto s = check_guest_run_args(req.run_args); !s)
    return std::unexpected(s.error());
  const std::string out_dir = absolute(req.vm.out_dir);
  // Everything the user gave is checked before the VM directory is made (and kept).
  if (auto s = check_vm_settings(out_dir, req.vm.memory_mb); !s)
    return std::unexpected(s.error());
  if (!req.artifact.empty()) {
    if (!req.backend)
      return fail(Exit::usage, req.artifact, "prebuilt probes of no known tracer");
    if (auto s = check_prebuilt(*req.backend, req.artifact, req.plan); !s)
      return std::unexpected(s.error());
  }
  // The kernel (a stock one fetched now) and a tracer that cannot probe it, before the directory.
  auto boot = boot_kernel(req.vm);
  if (!boot)
    return std::unexpected(boot.error());
  if (boot->debian && req.artifact.empty())
    if (auto t = tracer_for_debian(req.backend); !t)
      return std::unexpected(t.error());
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

  auto probes = probes_for_vm(req, *boot, out_dir, res, note);
  if (!probes)
    return std::unexpected(probes.error());
  const std::string module = probes->first;
  const std::string plan = probes->second;
  res.module_path = module;
  res.run_dir = out_dir + "/run";

  auto accel = resolve_accel(boot->image, req.vm.accel, req.vm.cache_dir, req.vm.on_progress);
  if (!accel)
    return std::unexpected(accel.error());
  VmJobRequest vr;
  vr.vm = req.vm;
  vr.vm.out_dir = out_dir;
  vr.vm.init_exe = init;
  vr.job = harness_run_job(init, module, plan, res.run_dir, req.run_args, req.echo_output);
  vr.chosen = *accel;
  vr.kernel = *boot;
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
