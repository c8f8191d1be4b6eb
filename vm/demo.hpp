#pragma once

// `harness demo`: the whole chain on a fresh Debian 12 machine. Installs the missing packages,
// gets the probe-friendly test kernel from the cache (building it from linux-source-6.1 the
// first time) or a stock Debian kernel (downloaded, not built), makes the status probes for it,
// boots it under qemu and runs `harness run --frames 2` on a veth pair inside, printing the
// report.

#include "base/child_proc.hpp"
#include "base/result.hpp"
#include "vm/accel.hpp"
#include "vm/vm_session.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace harness::vm {

struct DemoRequest {
  std::string cache_dir;
  std::string out_dir; // empty: <cache>/vm/demo-<time>
  AccelRequest accel = AccelRequest::automatic;
  bool optimised = false;     // the -O2 kernel variant: shows the phases it cannot see
  std::string series = "6.1"; // Debian's linux-source-<series>: 6.1 or 6.12
  // A stock Debian kernel's release: booted instead of a test kernel, nothing built
  // (kernel/debian_kernel.hpp); `series` is then its own.
  std::string debian_kernel;
  // No kernel named: the stock kernel Debian ships now (kernel::current_debian_release).
  bool current_stock_kernel = false;
  const tracer::Tracer* backend = nullptr; // auto (nullptr): stap on 6.1, kprobe on 6.12
  bool install = true;                     // apt-get install what is missing
  std::vector<std::string> run_args = {"--frames", "2", "--tpacket", "v2", "--ring-frames", "8"};
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  bool verbose = false;
  LineSink on_progress;
  LineSink on_console;
};

struct DemoResult {
  HarnessRunResult run;
  std::string kernel_build;
  bool kernel_cached = false;
  bool stock = false; // a stock Debian kernel was booted
  long elapsed_ms = 0;
};

Result<DemoResult> run_demo(const DemoRequest& req);

} // namespace harness::vm
