#pragma once

// The host side of a harness VM: write the job into the share, boot qemu (qemu_command.hpp)
// with the harness binary as the guest's init, keep the serial console in a log file, enforce
// an overall timeout, and judge what happened from the console (console_log.hpp) and the
// status file the guest wrote (vm_job.hpp).

#include "base/child_proc.hpp"
#include "base/result.hpp"
#include "vm/accel.hpp"
#include "vm/console_log.hpp"
#include "vm/qemu_command.hpp"
#include "vm/vm_job.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace harness::vm {

struct VmRunRequest {
  std::string kernel_image; // bzImage
  // A stock kernel's modules (vm/initramfs.hpp guest_module_files): the guest then boots from
  // an initramfs, written into the share, that loads them. Empty: a harness test kernel.
  std::vector<std::string> initramfs_modules;
  std::string share_dir; // absolute; created; receives job.json, console.log, outputs
  GuestJob job;
  Accel accel = Accel::tcg;
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  int memory_mb = 1024;
  std::string init_exe; // the harness binary the guest runs as init; empty: this executable
  LineSink on_console;  // every console line as it arrives (may be empty)
};

struct VmRunOutcome {
  ConsoleFindings console;
  std::optional<GuestStatus> status; // nullopt when the guest wrote none
  std::string status_error;          // why status.json could not be read
  std::string console_log;           // path of the saved console log
  bool timed_out = false;
  bool interrupted = false;
  long wall_ms = 0;
  long ready_ms = -1; // host time from qemu start to the guest's ready marker
};

// Boots and waits. Errors only when the VM could not be started at all (qemu missing, bad
// paths, share not writable); everything that happens inside is in the outcome.
Result<VmRunOutcome> boot_vm(const VmRunRequest& req);

// Pure: the guest's status when the run finished properly; otherwise the Error that says how
// far the guest got (Exit::vm_failed; Exit::interrupted after Ctrl-C), naming the console log.
Result<GuestStatus> judge_vm_run(const VmRunOutcome& outcome, std::chrono::milliseconds timeout);

// The host's TSC rate in kHz, measured against CLOCK_MONOTONIC_RAW over 50 ms (0 when the
// host has no invariant TSC). TCG guests see the host's TSC.
long host_tsc_khz();

// harness was built with AddressSanitizer: the guest then starts harness-vm-preinit (next to
// the harness binary) as PID 1, which mounts /proc and execs harness.
bool sanitized_build();

// The absolute path of the running executable (/proc/self/exe).
Result<std::string> self_exe();

// bzImage of a kernel build tree, checked to exist.
Result<std::string> kernel_image_of(const std::string& kernel_build);

// The real AccelProber: /dev/kvm check, a 15 s probe boot of `kernel_image` under KVM, the
// verdict cached in <cache>/accel/.
class SystemAccelProber final : public AccelProber {
public:
  SystemAccelProber(std::string cache_dir, std::string kernel_image);
  bool kvm_device_usable(std::string& why) override;
  bool kvm_boots(std::string& why) override;
  std::optional<AccelChoice> cached() override;
  void store(const AccelChoice& choice) override;

private:
  std::string cache_file() const;
  std::string cache_dir_, kernel_image_;
};

} // namespace harness::vm
