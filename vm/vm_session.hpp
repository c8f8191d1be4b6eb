#pragma once

// What `harness vm run|exec`, `harness demo`, the e2e tests and the VM benchmark share: pick the
// accelerator, boot a kernel build with a job, and turn the outcome into an exit status.
// `run_harness_in_vm` adds the probe module (built for the tree, cached) and the job that runs
// `harness run --module ... --veth` inside the guest.

#include "kernel/debian_kernel.hpp"
#include "stap/module_build.hpp"
#include "tracer/tracer.hpp"
#include "tracer/tracer_choice.hpp"
#include "vm/accel.hpp"
#include "vm/vm_job.hpp"
#include "vm/vm_runner.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace harness::vm {

// What every VM boot needs; both requests below carry one.
struct VmSettings {
  std::string kernel_build;
  std::string debian_kernel; // a stock Debian kernel's release, booted instead of kernel_build
  std::string out_dir;       // the share: job, console log, step outputs, status
  AccelRequest accel = AccelRequest::automatic;
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  int memory_mb = 1024;
  std::string cache_dir;
  std::string init_exe; // the harness binary the guest runs; empty: this one
  LineSink on_progress; // harness's own progress lines
  LineSink on_console;  // raw console lines (verbose)
};

// The kernel a VM boots: a build tree's bzImage, or a stock Debian kernel (fetched into the
// cache) with the modules its initramfs loads (vm/initramfs.hpp).
struct BootKernel {
  std::string image;
  std::vector<std::string> initramfs_modules;
  std::optional<kernel::DebianKernel> debian;
};
Result<BootKernel> boot_kernel(const VmSettings& vm);

struct VmJobRequest {
  VmSettings vm;
  GuestJob job;
  std::optional<AccelChoice> chosen; // already chosen (resolve_accel): used as is
  std::optional<BootKernel> kernel;  // already resolved (boot_kernel): used as is
};

struct VmJobResult {
  AccelChoice accel;
  VmRunOutcome outcome;
  GuestStatus status;
};

// Picks the accelerator for a kernel image (probe boot and cache as accel.hpp describes).
Result<AccelChoice> resolve_accel(const std::string& kernel_image, AccelRequest request,
                                  const std::string& cache_dir, const LineSink& on_progress);

// Errors: the VM could not start, or did not finish properly (panic, no ready marker, timeout,
// no status): Exit::vm_failed with the console log named.
// --out of `vm run` / `vm exec`: new or empty (a file there is make_dirs's error).
Status check_vm_out_dir(const std::string& out_dir);
Result<VmJobResult> run_job_in_vm(const VmJobRequest& req);

struct HarnessRunRequest {
  VmSettings vm;
  std::vector<std::string> run_args; // options for `harness run` in the guest
  probes::ProbeSet probes = probes::ProbeSet::status;
  // Prebuilt probes (NAME.ko, NAME.kprobes; NAME.plan.json next to them) of tracer `backend`;
  // empty: built for the tree by the chosen tracer.
  std::string artifact;
  std::string plan;                        // with `artifact`: its plan (default next to it)
  const tracer::Tracer* backend = nullptr; // --backend; nullptr: auto
  bool echo_output = false;
};

struct HarnessRunResult {
  VmJobResult vm;
  int exit_code = 0;      // the guest's `harness run` exit status
  std::string run_dir;    // out_dir/run: report.txt, report.json, trace, sender records
  std::string run_stdout; // path of the guest run's stdout (the text report)
  std::string run_stderr;
  std::string module_path; // the probes the guest loaded: NAME.ko or NAME.kprobes
  bool module_from_cache = false;
  tracer::BackendChoice tracer;
  std::vector<std::string> dropped; // probes the tree cannot place
};

Result<HarnessRunResult> run_harness_in_vm(const HarnessRunRequest& req);

// Pure: the guest job for `harness run` inside the VM (exposed for tests). The verdict does not
// depend on the machine's speed (no timing thresholds: docs/report-schema.md), so TCG and KVM
// get the same run arguments. `probes` is the artifact: NAME.ko (stap) or NAME.kprobes (kprobe
// tracer).
GuestJob harness_run_job(const std::string& harness_exe, const std::string& probes,
                         const std::string& plan, const std::string& run_dir,
                         const std::vector<std::string>& run_args, bool echo_output);

// The tracer for a stock Debian kernel: kprobe events (auto, or asked for); another one asked
// for is refused, saying why.
Result<tracer::BackendChoice> tracer_for_debian(const tracer::Tracer* requested);

// A directory name for a run: PREFIX-YYYYmmdd-HHMMSS-PID.
std::string timestamped_dir(const std::string& parent, const std::string& prefix);

} // namespace harness::vm
