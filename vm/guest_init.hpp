#pragma once

// The guest side of a harness VM: what `harness vm-guest` does as PID 1 of the guest kernel.
// It mounts what SystemTap and harness need (proc, sysfs, devtmpfs, debugfs for staprun's relay
// channel, tmpfs on /run for network namespaces and scratch: TMPDIR=/run/tmp, so the host's /tmp
// stays visible), mounts the writable share at the same path it has on the host, reads the job
// (vm_job.hpp), creates the veth pair, runs the steps (argv, never a shell), writes status.json,
// syncs and powers off. Progress markers go to the console (console_log.hpp) so the host can
// tell how far the guest got.

#include "base/result.hpp"
#include "vm/vm_job.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace harness::vm {

struct GuestOptions {
  std::string share; // absolute path of the share (host path == guest path)
  // Run outside a VM (tests): no mounts, no veth, no reboot; steps and status work the same.
  bool not_init = false;
};

// Console output: one line per call, without the newline.
using ConsoleWriter = std::function<void(std::string_view line)>;

// Runs the job in `share` and returns the status written there. Step failures are recorded in
// the status, not returned as errors; an error means the guest could not even read its job or
// write its status (the caller prints it on the console).
Result<GuestStatus> run_guest_job(const GuestOptions& opts, const ConsoleWriter& console);

// PID 1 only: the mounts listed above, then the share. Each failure is fatal for the run.
Status mount_guest_filesystems(const std::string& share);

// PID 1 only: sync, then reboot (qemu runs with -no-reboot, so this ends qemu); falls back to
// power off and halt. Never returns.
[[noreturn]] void power_off_guest();

// Milliseconds since boot (CLOCK_BOOTTIME).
long uptime_ms();

} // namespace harness::vm
