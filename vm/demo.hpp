#pragma once

// `harness demo`: the whole chain on a fresh Debian 12 machine. Installs the missing packages,
// downloads the stock Debian kernel of the series (once; nothing built) or gets the
// probe-friendly test kernel from the cache (built from linux-source-<series> the first time),
// makes the status probes for it,
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
  // A stock Debian kernel unless a test kernel is asked for: the probe-friendly test kernel
  // (af_packet.c at -O0, built from linux-source-<series> once), or its -O2 variant.
  bool test_kernel = false;
  bool optimised = false; // the -O2 test kernel variant (a test kernel even without test_kernel)
  // Debian's kernel series, 6.1 or 6.12; empty: none named (the stock kernel Debian ships by
  // default, or the 6.1 test kernel).
  std::string series;
  // A stock Debian kernel's release: booted as it is, nothing built (kernel/debian_kernel.hpp);
  // `series` is then its own.
  std::string debian_kernel;
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
